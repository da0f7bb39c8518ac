"""What a rule's fix is made of, and how a name is spelled in the file being fixed.

A rule proposes a `Fix`: nodes of the tree to replace by new source text, and the import
statements it needs. Names are spelled the way the module already spells them (its own
aliases: `np.`, `F.`, a name imported from the module); an import is added only where the
name is missing from the file altogether. A rule that cannot spell what it needs offers no fix.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import libcst as cst

from mlstablint.code.names import BUILTIN_NAMES, Resolver, Scope
from mlstablint.findings import Edit

_NEWLINE = re.compile(r"\r\n?|\n")

# Modules whose root import also makes the submodules a fix names available (`import numpy as np`
# gives `np.linalg`, `import torch` gives `torch.nn.functional`, `import tensorflow as tf` gives `tf.nn`
# and `tf.keras.losses`, `import keras` / `from tensorflow import keras` give `keras.losses`);
# `import scipy` is not relied on.
_ROOT_IMPORTS_SUBMODULES = frozenset({"numpy", "torch", "math", "tensorflow", "tensorflow.keras", "keras",
                                      "tf_keras"})


@dataclass(frozen=True)
class Replacement:
    """Replace the source of `node` by `text`."""

    node: cst.CSTNode
    text: str


@dataclass(frozen=True)
class Fix:
    replacements: tuple[Replacement, ...]
    imports: tuple[str, ...] = ()


class Spelling(NamedTuple):
    text: str
    imports: tuple[str, ...]


def _alias_of(resolver: Resolver, module: str) -> str | None:
    """A name bound here to `module` (e.g. `np` for numpy), preferring the innermost scope."""
    scope: Scope | None = resolver.scope
    while scope is not None:
        for name, bindings in sorted(scope.names.items()):
            if bindings and bindings[-1].qualname == module and resolver.lookup(name) is bindings[-1]:
                return name
        scope = scope.parent
    return None


def spell(resolver: Resolver, uses: int, qualname: str) -> Spelling | None:
    """How to write `qualname` at the current point of the walk; `uses` is how often its last
    component occurs in the file (an import is added only when that is 0)."""
    module, _, short = qualname.rpartition(".")
    bound = resolver.lookup(short)
    if bound is not None and bound.qualname == qualname:
        return Spelling(short, ())
    parts = qualname.split(".")
    for k in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:k])
        if prefix != module and prefix not in _ROOT_IMPORTS_SUBMODULES and module not in resolver.imported_modules:
            continue  # (`import scipy.linalg` makes `scipy.linalg.lstsq` reachable from `scipy`)
        alias = _alias_of(resolver, prefix)
        if alias is not None:
            return Spelling(".".join([alias, *parts[k:]]), ())
    if uses == 0 and short not in BUILTIN_NAMES and module:
        return Spelling(short, (f"from {module} import {short}",))
    return None


def import_line(tree: ast.Module) -> int | None:
    """The 1-based line before which an added import goes: after the module's leading imports
    (and its docstring). None when the module has no leading import block to extend, or when the
    last import shares its line with another statement."""
    body = tree.body
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
        body[0].value.value, str
    ):
        i = 1
    last: ast.stmt | None = None
    # `pass` is what a notebook's IPython lines (`%matplotlib inline`) become in the joined cells.
    while i < len(body) and isinstance(body[i], (ast.Import, ast.ImportFrom, ast.Pass)):
        if isinstance(body[i], ast.Pass):
            i += 1
            continue
        last = body[i]
        i += 1
    if last is None or last.end_lineno is None:
        return None
    if i < len(body) and body[i].lineno == last.end_lineno:
        return None
    return last.end_lineno + 1


def _offset(line_starts: Sequence[int], line: int, column: int) -> int:
    return line_starts[line - 1] + column - 1


def apply_edits(text: str, groups: Iterable[Sequence[Edit]]) -> tuple[str, int]:
    """Apply groups of edits (one group = one finding's fix, all or nothing) whose spans do not overlap
    an earlier group's; identical insertions (the same import twice) are made once. Returns the new text
    and the number of groups applied."""
    line_starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]
    taken: list[tuple[int, int, str]] = []
    applied = 0
    for group in groups:
        spans = [(_offset(line_starts, e.line, e.column), _offset(line_starts, e.end_line, e.end_column), e.text)
                 for e in group]
        fresh = [s for s in spans if s not in taken]
        if any((a < d and c < b) or a == b == c == d for a, b, _ in fresh for c, d, _ in taken):
            continue
        taken.extend(fresh)
        applied += 1
    out = text
    for start, end, new in sorted(taken, key=lambda s: (s[0], s[1]), reverse=True):
        out = out[:start] + new + out[end:]
    return out, applied
