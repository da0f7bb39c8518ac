"""The pattern experiments ("edge-of-dtype"): the flagged *pattern* against its stable form, on synthetic
inputs at the edge of float64's and float32's range. Numpy only (plus mlstablint.sweep.primitives).

They show what the pattern does where it breaks, not what the user's code does (which is never run):
the summary says so. Each case evaluates the naive form and the stable form under
`np.errstate(all="ignore")` and compares both with a reference value computed independently (an
identity or a float64 evaluation of the exact formula), when the answer is representable.

Verdict rule: `confirmed` when, in some dtype, the naive form gives a non-finite value or a relative
error above 1e-3 (or, for a count, the wrong count) while the stable form is finite with a relative
error of at most 1e-5; `not-confirmed` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlstablint.findings import Confirmation, Finding
from mlstablint.sweep.confirm import Session, clean, verdict

EXPERIMENT = "edge-of-dtype"
NAIVE_ERROR = 1e-3
STABLE_ERROR = 1e-5
WHERE = "shown on synthetic inputs at the dtype's edge, not on your code or data"

Array = NDArray[Any]
Form = Callable[[Array], Any]


@dataclass(frozen=True)
class Case:
    dtype: str
    inputs: tuple[Any, ...]  # one input array (or several, for two-argument patterns)
    reference: Any  # the exact answer where representable (None: not representable, e.g. exp(710))


@dataclass(frozen=True)
class Pattern:
    naive_text: str
    stable_text: str
    naive: Callable[..., Any]
    stable: Callable[..., Any]
    cases: tuple[Case, ...]


def _c(dtype: str, reference: Any, *inputs: Any) -> Case:
    return Case(dtype, tuple(inputs), reference)


def _prim() -> Any:
    from mlstablint.sweep import primitives

    return primitives


def _xlogy(x: Array, y: Array) -> Array:
    """x * log(y) with 0 * log(0) = 0 (scipy.special.xlogy's definition)."""
    out: Array = np.where(x == 0, np.zeros_like(x), x * np.log(np.where(x == 0, np.ones_like(y), y)))
    return out


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


E1 = math.exp(-1.0)

PATTERNS: dict[str, Pattern] = {
    "MSL101": Pattern("log(1 + x)", "log1p(x)", lambda x: np.log(1 + x), np.log1p,
                      (_c("float64", [1e-18], [1e-18]), _c("float32", [1e-9], [1e-9]))),
    "MSL102": Pattern("exp(x) - 1", "expm1(x)", lambda x: np.exp(x) - 1, np.expm1,
                      (_c("float64", [1e-18], [1e-18]), _c("float32", [1e-9], [1e-9]))),
    "MSL103": Pattern("log(sum(exp(x)))", "logsumexp(x)", lambda x: np.log(np.sum(np.exp(x))),
                      lambda x: _prim().logsumexp(x),
                      (_c("float64", 1000 + math.log(2), [1000.0, 1000.0]),
                       _c("float32", 100 + math.log(2), [100.0, 100.0]))),
    "MSL104": Pattern("log(softmax(x))", "log_softmax(x)", lambda x: np.log(np.exp(x) / np.sum(np.exp(x))),
                      lambda x: _prim().log_softmax(x),
                      (_c("float64", [0.0, -1000.0], [0.0, -1000.0]), _c("float32", [0.0, -200.0], [0.0, -200.0]))),
    "MSL105": Pattern("1 / (1 + exp(-x)) and exp(x) / (1 + exp(x))", "expit(x)",
                      lambda x: np.concatenate([1 / (1 + np.exp(-x[:1])), np.exp(x[1:]) / (1 + np.exp(x[1:]))]),
                      lambda x: _prim().sigmoid(x),
                      # sigmoid(-750) and, in float32, sigmoid(-110) round to 0: the naive form's 0 is right and
                      # its exp(-x) = inf on the way is the overflow; exp(x) / (1 + exp(x)) is inf/inf = NaN for
                      # an answer of 1.
                      (_c("float64", [0.0, 1.0], [-750.0, 750.0]),
                       _c("float32", [0.0, 1.0], [-110.0, 110.0]))),
    "MSL106": Pattern("log(1 + exp(x))", "logaddexp(0, x)", lambda x: np.log(1 + np.exp(x)),
                      lambda x: np.logaddexp(np.zeros_like(x), x),
                      (_c("float64", [800.0], [800.0]), _c("float32", [100.0], [100.0]))),
    "MSL107": Pattern("log(sigmoid(x))", "log_sigmoid(x)", lambda x: np.log(_prim().sigmoid(x)),
                      lambda x: _prim().log_sigmoid(x),
                      (_c("float64", [-800.0], [-800.0]), _c("float32", [-120.0], [-120.0]))),
    "MSL108": Pattern("exp(x) / sum(exp(x))", "softmax(x)", lambda x: np.exp(x) / np.sum(np.exp(x)),
                      lambda x: _prim().softmax(x),
                      (_c("float64", [1 / (1 + E1), E1 / (1 + E1)], [1000.0, 999.0]),
                       _c("float32", [1 / (1 + E1), E1 / (1 + E1)], [100.0, 99.0]))),
    "MSL109": Pattern("exp(x)", "exp(clip(x, -limit, limit))", np.exp,
                      lambda x: np.exp(np.clip(x, -np.floor(np.log(np.finfo(x.dtype).max)),
                                               np.floor(np.log(np.finfo(x.dtype).max)))),
                      (_c("float64", None, [710.0]), _c("float32", None, [89.0]))),
    "MSL110": Pattern("log(p)", "log(clip(p, eps, 1))", np.log,
                      lambda p: np.log(np.clip(p, np.finfo(p.dtype).eps, 1)),
                      (_c("float64", None, [0.0, 0.5, 1.0]), _c("float32", None, [0.0, 0.5, 1.0]))),
    "MSL111": Pattern("x * log(y)", "xlogy(x, y)", lambda x, y: x * np.log(y), _xlogy,
                      (_c("float64", [0.0, 0.5 * math.log(0.5)], [0.0, 0.5], [0.0, 0.5]),
                       _c("float32", [0.0, 0.5 * math.log(0.5)], [0.0, 0.5], [0.0, 0.5]))),
    "MSL112": Pattern("mean(x**2) - mean(x)**2", "var(x)", lambda x: np.mean(x**2) - np.mean(x) ** 2, np.var,
                      (_c("float64", 2 / 3, [1e9 + 1, 1e9 + 2, 1e9 + 3]),
                       _c("float32", 2 / 3, [1e4 + 1, 1e4 + 2, 1e4 + 3]))),
    "MSL113": Pattern("count of x == nan", "count of isnan(x)", lambda x: np.count_nonzero(x == np.nan),
                      lambda x: np.count_nonzero(np.isnan(x)),
                      (_c("float64", 1, [1.0, math.nan]), _c("float32", 1, [1.0, math.nan]))),
    "MSL114": Pattern("sqrt(x**2 + y**2)", "hypot(x, y)", lambda x, y: np.sqrt(x**2 + y**2), np.hypot,
                      (_c("float64", math.sqrt(2) * 1e200, [1e200], [1e200]),
                       _c("float32", math.sqrt(2) * 1e20, [1e20], [1e20]))),
    "MSL204": Pattern("log(det(A))", "slogdet(A).logabsdet", lambda a: np.log(np.linalg.det(a)),
                      lambda a: np.linalg.slogdet(a)[1],
                      (_c("float64", 400 * math.log(0.1), "0.1 * eye(400)"),
                       _c("float32", 50 * math.log(0.1), "0.1 * eye(50)"))),
}


def _array(value: Any, dtype: str) -> Array:
    if isinstance(value, str):  # "0.1 * eye(n)"
        n = int(value.split("eye(")[1].rstrip(")"))
        eye: Array = (np.float64(0.1) * np.eye(n)).astype(dtype)
        return eye
    out: Array = np.asarray(value, dtype=dtype)
    return out


def floats(value: Any) -> list[float]:
    """An array or number as a flat list of Python floats."""
    return [float(v) for v in np.ravel(np.asarray(value, dtype=np.float64))]


def _rel_error(got: list[float], ref: list[float]) -> float:
    worst = 0.0
    for g, r in zip(got, ref, strict=True):
        if not math.isfinite(g):
            return math.inf
        scale = abs(r)
        err = abs(g - r) / scale if scale > 0 else abs(g)
        worst = max(worst, err)
    return worst


def evaluate(rule: str) -> tuple[bool, dict[str, Any], list[str]]:
    """Run one pattern's cases: (confirmed?, figures, one short text per case)."""
    pattern = PATTERNS[rule]
    figures: dict[str, Any] = {"naive": pattern.naive_text, "stable": pattern.stable_text, "inputs": "synthetic"}
    texts: list[str] = []
    confirmed = False
    for case in pattern.cases:
        args = [_array(v, case.dtype) for v in case.inputs]
        with np.errstate(all="ignore"):
            naive = floats(pattern.naive(*args))
            stable = floats(pattern.stable(*args))
        if case.reference is None:
            ref = None
            naive_err = stable_err = None
            naive_bad = not all(math.isfinite(v) for v in naive)
            stable_ok = all(math.isfinite(v) for v in stable)
        else:
            ref = floats(case.reference)
            naive_err, stable_err = _rel_error(naive, ref), _rel_error(stable, ref)
            naive_bad = naive_err > NAIVE_ERROR
            stable_ok = stable_err <= STABLE_ERROR
        confirmed |= naive_bad and stable_ok
        shown_input = case.inputs[0] if len(case.inputs) == 1 else list(case.inputs)
        entry: dict[str, Any] = {"input": shown_input, "naive": naive, "stable": stable,
                                 "naive_non_finite": sum(1 for v in naive if not math.isfinite(v)),
                                 "stable_non_finite": sum(1 for v in stable if not math.isfinite(v))}
        if ref is not None:
            entry.update({"reference": ref, "naive_relative_error": naive_err,
                          "stable_relative_error": stable_err})
        figures[case.dtype] = entry
        error = ""
        if naive_err is not None and math.isfinite(naive_err) and not isinstance(case.reference, int):
            error = f" (relative error {naive_err:.2g})"
        texts.append(f"{case.dtype} at {_short(shown_input)}: {pattern.naive_text} = {format_values(naive)}{error}, "
                     f"{pattern.stable_text} = {format_values(stable)}")
    return confirmed, figures, texts


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], list):
        return ", ".join(_short(v) for v in value)
    items = value if isinstance(value, list) else [value]
    return "[" + ", ".join(f"{v:.10g}" for v in items) + "]" if len(items) > 1 else f"{items[0]:.10g}"


def format_values(values: list[float]) -> str:
    """A value or a short list of them, 6 significant digits, for a summary."""
    text = [("nan" if math.isnan(v) else f"{v:.6g}") for v in values]
    return text[0] if len(text) == 1 else "[" + ", ".join(text) + "]"


def confirm_pattern(session: Session, finding: Finding) -> Confirmation:
    """The flagged pattern against its stable form at the dtype's edge (cached per rule: it is the same
    experiment for every occurrence)."""
    key = ("pattern", finding.rule)
    if key not in session.cache:
        confirmed, figures, texts = evaluate(finding.rule)
        summary = f"{WHERE}: {'; '.join(texts)}"
        session.cache[key] = Confirmation(verdict(confirmed), EXPERIMENT, clean(figures), summary)
    result: Confirmation = session.cache[key]
    return result
