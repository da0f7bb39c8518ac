"""The words a file must contain for a rule to fire: the vocabulary of the rules' `requires` declarations.

A rule resolves every name through the file's import table (`names.Resolver.qualname`), so the
operation it looks for is spelled in the file by the last component of a qualified name from an
`apis` set (`from numpy import log as ln` still contains `log`; `la = np.linalg; la.inv(A)`
contains `inv`), by a method or attribute name (`.sum()`, `.T`), by a string the analysis reads
(`activation="softmax"`) or by an operator. The sets below are those words; `prepass.py` checks a
file against the groups each rule declares (`CodeRule.requires`, `CodeRule.requires_at`).

Operators and literals are words too: `+ - * / @ ** == !=` stand for the operator (in the code, or
spelled as a function: `ADD` holds `+` and the last names of `apis.ADD`), `1` for any numeric literal
equal to 1 (`1.0`, `1e0`), and `TINY` for a positive float literal of at most 2**-25, the largest
epsilon that vanishes next to 1 in float32 (MSL115).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from mlstablint.code import apis

# A group is satisfied by any one of its words, or (a predicate) by any word for which it holds.
Group = frozenset[str] | Callable[[str], bool]

ONE = "1"
TINY = "<tiny>"
TINY_LIMIT = 2.0 ** -25
OPERATORS = ("**", "==", "!=", "+", "-", "*", "/", "@")


def finals(*groups: Iterable[str]) -> frozenset[str]:
    """The last components of qualified names (`numpy.linalg.inv` -> `inv`)."""
    return frozenset(name.rsplit(".", 1)[-1] for group in groups for name in group)


LOG = finals(apis.LOG, apis.LOG2, apis.LOG10)
LOG_ONLY = finals(apis.LOG)
EXP = finals(apis.EXP)
POWER = finals(apis.POWER)
SQRT = finals(apis.SQRT) | {"**"}
SUM = finals(apis.SUM) | {"sum"}
MEAN = finals(apis.MEAN) | {"mean"}
ADD = finals(apis.ADD) | {"+"}
SUBTRACT = finals(apis.SUBTRACT) | {"-"}
MULTIPLY = finals(apis.MULTIPLY) | {"*"}
DIVIDE = finals(apis.DIVIDE) | {"/"}
EQUALITY = frozenset({"==", "!="})
ONE_WORDS = frozenset({ONE})
# Functions, layers, methods and activation strings the value analysis reads as a sigmoid / softmax.
SIGMOID = finals(apis.SIGMOID, apis.SIGMOID_LAYERS) | {"sigmoid"}
SOFTMAX = finals(apis.SOFTMAX, apis.SOFTMAX_LAYERS) | {"softmax"}
LOG_ACTIVATIONS = finals(apis.LOG_SOFTMAX, apis.LOG_SIGMOID) | {"log_softmax", "LogSoftmax", "LogSigmoid"}
MATMUL = finals(apis.MATMUL) | {"@", "dot", "matmul", "mm"}
LINEAR_LAYERS = finals(apis.LINEAR_LAYERS) | {"Dense"}
TRANSPOSED = finals(apis.TRANSPOSE) | {"T", "mT", "H", "transpose", "t"}
INV = finals(apis.INV)
DET = finals(apis.DET)
DIRECT_SOLVERS = finals(apis.INV, apis.PINV, apis.SOLVE, apis.LSTSQ)
SOLVERS = DIRECT_SOLVERS | finals(apis.SVD_EIG)
# exprs.is_raw names a source only for a reader call, `.to_numpy()` or `.values`.
RAW = finals(apis.READERS) | {"to_numpy", "values"}
PREDICTIONS = frozenset({"predict", "decision_function"})
NAN = frozenset({"nan", "naN", "nAn", "nAN", "Nan", "NaN", "NAn", "NAN"})  # float("NaN") in any case
FITS = frozenset({"fit", "fit_transform", "fit_resample", "fit_predict", "partial_fit"})
ESTIMATOR_CALLS = FITS | finals(apis.CV_FUNCTIONS)
SCALE_SENSITIVE = finals(apis.SCALE_SENSITIVE)
CLAMPS = frozenset({"clip", "clamp", "clamp_min", "clip_by_value", "maximum", "fmax", "clip_", "clamp_", "clamp_min_"})
# Words that make the analysis give a value a low-precision dtype (values._DTYPE_WORDS, a Keras policy, autocast).
LOW_PRECISION = frozenset({"float16", "half", "bfloat16", "autocast", "mixed_float16", "mixed_bfloat16"})
LOW_PRECISION_OPS = finals(apis.EXP, apis.LOG, apis.SOFTMAX, apis.LOG_SOFTMAX, apis.LOGSUMEXP) | {
    "exp", "log", "softmax", "logsumexp", "log_softmax"}


# ---- the words of a file's text (the pre-pass's first stage, prepass.py) ----------------------------------

WORD = re.compile(r"\w+")  # a word of the text, as every stage of the pre-pass counts them
# Adjacent string literals (implicitly concatenated): their quotes and what separates them. Possessive: a
# comment of many `#` could otherwise be split in exponentially many ways before a non-quote (a `####...`
# banner after a string took minutes).
_ADJACENT = re.compile(r"""["'](?:\s|\\\r?\n|#[^\n]*+)*+[rRbBuUfF]{0,3}["']""")
_LETTER_ESCAPE = re.compile(r"\\(?:\r?\n|[abfnrtv])")
_NUMERIC_ESCAPE = re.compile(r"\\(?:x|u|U|N\{|[0-7])")
_MAYBE_TINY = re.compile(r"[eE]-|\.[0_]{7}")


def _variant_words(text: str) -> list[str]:
    """The words of `text` with adjacent literals joined and letter escapes blanked that are not words of `text`
    as written can only be where it changed: the run of word characters across each place a literal's
    separator was removed, and the one after each escape. Those runs are read there, not in a second copy of
    the whole text (measured: the second `findall` was 40 % of the text stage on scikit-learn)."""
    places: list[int] = []  # where the joined text changed: removed separators, blanked escapes (their ends)
    parts: list[str] = []
    start = 0
    length = 0
    for match in _ADJACENT.finditer(text):
        parts.append(text[start:match.start()])
        length += match.start() - start
        places.append(length)
        start = match.end()
    joined = "".join(parts) + text[start:] if parts else text
    # Each escape becomes as many spaces as it has characters, so that positions in `joined` still hold.
    if "\\" in joined:
        escapes = [match.end() for match in _LETTER_ESCAPE.finditer(joined)]
        variant = _LETTER_ESCAPE.sub(_spaces, joined) if escapes else joined
        places.extend(escapes)
    else:
        variant = joined
    found: list[str] = []
    end = len(variant)
    for place in places:
        first = place
        while first > 0 and is_word_char(variant[first - 1]):
            first -= 1
        last = place
        while last < end and is_word_char(variant[last]):
            last += 1
        if last > first:
            found.append(variant[first:last])
    return found


def _spaces(match: re.Match[str]) -> str:
    return " " * (match.end() - match.start())


def is_word_char(char: str) -> bool:
    """Whether `WORD` counts the character as part of a word (Python's `\\w`: `str.isalnum()` or `_`)."""
    return char.isalnum() or char == "_"


def text_words(text: str) -> frozenset[str] | None:
    """A superset of the words of a file's code, read from its text without parsing: `\\w+` tokens (comments
    and docstrings included; strings as written and again with adjacent literals joined and letter escapes
    blanked, for `"na" "n"` and `"\\tnan"`), every operator present, `1` always, TINY where a literal may be
    tiny. None when the text cannot bound them (a numeric escape such as `"\\x6e"` may spell any letter)."""
    if "\\" in text and _NUMERIC_ESCAPE.search(text):
        return None
    found = set(WORD.findall(text))
    found.update(_variant_words(text))
    found.update(op for op in OPERATORS if op in text)
    found.add(ONE)
    if _MAYBE_TINY.search(text):
        found.add(TINY)
    return frozenset(found)
