"""The measured error of both forms of every numeric autofix: the figures on the catalogue pages.

    python bench/fix_errors.py [--samples 2000]

For each fixable rule, the flagged expression and the tool's own rewrite of it (mlstablint's fixer,
not a hand-written stand-in) are evaluated on seeded inputs in the safe range and at the edge of
float64, and compared with mpmath at 50 significant digits computed from the same float inputs.
Printed per rule and range: the largest relative error of the original and of the fixed form
(inf when a form returns inf, -inf or NaN, 1.0 when it returns 0 or loses every digit). Figures
only: tests/test_fix_numerics.py asserts the bounds the pages state.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import mpmath as mp
import numpy as np

from mlstablint.code.engine import FileChecker
from mlstablint.code.fixer import fix_text
from mlstablint.code.rules import ALL_RULES

mp.mp.dps = 50
CHECKER = FileChecker({rule.id for rule in ALL_RULES})


def forms(rule: str, params: str, body: str, imports: str = "import numpy as np") -> tuple[Callable[..., Any], ...]:
    source = f"{imports}\n\n\ndef f({params}):\n{body}"
    fixed = fix_text(CHECKER, source, "snippet.py", (), lambda finding: finding.rule == rule)[0]
    assert fixed != source, rule
    out = []
    for text in (source, fixed):
        namespace: dict[str, Any] = {}
        exec(compile(text, "snippet.py", "exec"), namespace)
        out.append(namespace["f"])
    return tuple(out)


def error(value: Any, reference: Any) -> float:
    values = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    references = reference if isinstance(reference, list) else [reference]
    worst = 0.0
    for v, r in zip(values, references, strict=True):
        if not np.isfinite(v):
            return float("inf")
        worst = max(worst, float(abs(mp.mpf(float(v)) - r) / abs(r)) if r != 0 else float(abs(v)))
    return worst


def measure(name: str, rule: str, pair: tuple[Callable[..., Any], ...], inputs: Iterable[tuple[Any, ...]],
            reference: Callable[..., Any]) -> None:
    worst = [0.0, 0.0]
    count = 0
    for args in inputs:
        ref = reference(*args)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k, form in enumerate(pair):
                worst[k] = max(worst[k], error(form(*args), ref))
        count += 1
    print(f"{rule}  {name:<44} n={count:<5} original {worst[0]:9.2e}   fixed {worst[1]:9.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    n = parser.parse_args().samples
    rng = np.random.default_rng(20261207)

    def uniform(low: float, high: float, k: int = n) -> list[tuple[float]]:
        return [(float(v),) for v in rng.uniform(low, high, k)]

    def log_uniform(low: float, high: float, k: int = n, signed: bool = True) -> list[tuple[float]]:
        signs = rng.choice([-1.0, 1.0], k) if signed else np.ones(k)
        return [(float(s * 10.0 ** e),) for s, e in zip(signs, rng.uniform(np.log10(low), np.log10(high), k),
                                                        strict=True)]

    lse = lambda values: mp.log(mp.fsum(mp.exp(mp.mpf(float(v))) for v in values))  # noqa: E731
    pair = forms("MSL101", "x", "    return np.log(1 + x)\n")
    measure("safe: x in [1e-3, 1e6]", "MSL101", pair, uniform(1e-3, 1e6), lambda x: mp.log1p(x))
    measure("edge: |x| in [1e-300, 1e-17]", "MSL101", pair, log_uniform(1e-300, 1e-17), lambda x: mp.log1p(x))
    pair = forms("MSL102", "x", "    return np.exp(x) - 1\n")
    measure("safe: x in [0.5, 700]", "MSL102", pair, uniform(0.5, 700), lambda x: mp.expm1(x))
    measure("edge: |x| in [1e-300, 1e-17]", "MSL102", pair, log_uniform(1e-300, 1e-17), lambda x: mp.expm1(x))
    pair = forms("MSL103", "x", "    return np.log(np.sum(np.exp(x), axis=-1))\n")
    measure("safe: 10 values in [-50, 50]", "MSL103", pair, [(rng.uniform(-50, 50, 10),) for _ in range(n // 4)], lse)
    measure("edge: 10 values in [710, 1e5]", "MSL103", pair, [(rng.uniform(710, 1e5, 10),) for _ in range(n // 4)],
            lse)
    pair = forms("MSL104", "x", "    return np.log(softmax(x))\n",
                 "import numpy as np\nfrom scipy.special import softmax")

    def log_softmax(x: np.ndarray) -> list[Any]:
        total = lse(x)
        return [mp.mpf(float(v)) - total for v in x]
    measure("safe: 10 logits in [-20, 20]", "MSL104", pair, [(rng.uniform(-20, 20, 10),) for _ in range(n // 4)],
            log_softmax)
    measure("edge: logits 0 and 9 in [-1e4, -746]", "MSL104", pair,
            [(np.r_[0.0, rng.uniform(-1e4, -746, 9)],) for _ in range(n // 4)], log_softmax)
    sigmoid = lambda x: 1 / (1 + mp.exp(-mp.mpf(x)))  # noqa: E731
    pair = forms("MSL105", "x", "    return 1 / (1 + np.exp(-x))\n")
    measure("safe: 1/(1+exp(-x)), x in [-30, 30]", "MSL105", pair, uniform(-30, 30), sigmoid)
    measure("edge: 1/(1+exp(-x)), x in [-1e4, -710]", "MSL105", pair, uniform(-1e4, -710), sigmoid)
    pair = forms("MSL105", "x", "    return np.exp(x) / (1 + np.exp(x))\n")
    measure("safe: exp(x)/(1+exp(x)), x in [-30, 30]", "MSL105", pair, uniform(-30, 30), sigmoid)
    measure("edge: exp(x)/(1+exp(x)), x in [710, 1e6]", "MSL105", pair, uniform(710, 1e6), sigmoid)
    pair = forms("MSL106", "x", "    return np.log(1 + np.exp(x))\n")
    softplus = lambda x: mp.log1p(mp.exp(mp.mpf(x)))  # noqa: E731
    measure("safe: x in [-1, 30]", "MSL106", pair, uniform(-1, 30), softplus)
    measure("below: x in [-700, -40] (1 + exp(x) rounds to 1)", "MSL106", pair, uniform(-700, -40), softplus)
    measure("edge: x in [710, 1e6]", "MSL106", pair, uniform(710, 1e6), softplus)
    pair = forms("MSL107", "x", "    return np.log(expit(x))\n", "import numpy as np\nfrom scipy.special import expit")
    log_sigmoid = lambda x: -mp.log1p(mp.exp(-mp.mpf(x)))  # noqa: E731
    measure("safe: x in [-30, 5]", "MSL107", pair, uniform(-30, 5), log_sigmoid)
    measure("above: x in [37, 700] (expit rounds to 1)", "MSL107", pair, uniform(37, 700), log_sigmoid)
    measure("edge: x in [-1e4, -746]", "MSL107", pair, uniform(-1e4, -746), log_sigmoid)
    pair = forms("MSL108", "x", "    e = np.exp(x)\n    return e / e.sum(axis=-1, keepdims=True)\n")

    def softmax(x: np.ndarray) -> list[Any]:
        total = lse(x[0])
        return [mp.exp(mp.mpf(float(v)) - total) for v in x[0]]
    measure("safe: 5 logits in [-30, 30]", "MSL108", pair, [(rng.uniform(-30, 30, (1, 5)),) for _ in range(n // 4)],
            softmax)
    measure("edge: 5 logits in [710, 800]", "MSL108", pair, [(rng.uniform(710, 800, (1, 5)),) for _ in range(n // 4)],
            softmax)
    pair = forms("MSL111", "p", "    return -np.sum(p * np.log(p))\n")

    def entropy(p: np.ndarray) -> Any:
        return -mp.fsum(mp.mpf(float(v)) * mp.log(mp.mpf(float(v))) for v in p if v > 0)

    def probabilities(zeros: int) -> np.ndarray:
        w = np.r_[rng.uniform(1e-3, 1, 10), np.zeros(zeros)]
        return w / w.sum()
    measure("safe: 10 probabilities > 0", "MSL111", pair, [(probabilities(0),) for _ in range(n // 4)], entropy)
    measure("edge: 10 probabilities and 3 zeros", "MSL111", pair, [(probabilities(3),) for _ in range(n // 4)], entropy)
    pair = forms("MSL112", "x", "    return np.mean(x**2) - np.mean(x)**2\n")

    def variance(x: np.ndarray) -> Any:
        xs = [mp.mpf(float(v)) for v in x]
        mean = mp.fsum(xs) / len(xs)
        return mp.fsum((v - mean) ** 2 for v in xs) / len(xs)
    measure("safe: 50 values, mean 0, std ~0.6", "MSL112", pair, [(rng.uniform(-1, 1, 50),) for _ in range(n // 4)],
            variance)
    measure("edge: 50 values, mean in [1e8, 1e10], std ~0.6", "MSL112", pair,
            [(rng.uniform(1e8, 1e10) + rng.uniform(-1, 1, 50),) for _ in range(n // 4)], variance)
    pair = forms("MSL114", "x, y", "    return np.sqrt(x**2 + y**2)\n")
    hypot = lambda x, y: mp.sqrt(mp.mpf(float(x)) ** 2 + mp.mpf(float(y)) ** 2)  # noqa: E731

    def both(low: float, high: float) -> list[tuple[np.float64, np.float64]]:
        a, b = log_uniform(low, high), log_uniform(low, high)
        return [(np.float64(x[0]), np.float64(y[0])) for x, y in zip(a, b, strict=True)]
    measure("safe: |x|, |y| in [1e-100, 1e100]", "MSL114", pair, both(1e-100, 1e100), hypot)
    measure("edge: |x|, |y| in [1.4e154, 1e307]", "MSL114", pair, both(1.4e154, 1e307), hypot)
    measure("edge: |x|, |y| in [1e-300, 1e-170]", "MSL114", pair, both(1e-300, 1e-170), hypot)
    linear_algebra(rng, n)


def linear_algebra(rng: np.random.Generator, n: int) -> None:
    def matrix(size: int, condition: float, rows: int | None = None) -> np.ndarray:
        u, _ = np.linalg.qr(rng.standard_normal((rows or size, size)))
        v, _ = np.linalg.qr(rng.standard_normal((size, size)))
        return (u * np.logspace(0, -np.log10(condition), size)) @ v.T

    def backward(A: np.ndarray, b: np.ndarray) -> Callable[[np.ndarray], float]:
        Am, bm = mp.matrix(A.tolist()), mp.matrix(b.tolist())
        return lambda x: float(mp.norm(bm - Am * mp.matrix(x.tolist())) / (mp.mnorm(Am, 1) * mp.norm(
            mp.matrix(x.tolist()))))

    pair = forms("MSL201", "A, b", "    return np.linalg.inv(A) @ b\n")
    for condition in (10.0, 1e14):
        worst = [0.0, 0.0]
        for _ in range(n // 20):
            A = matrix(6, condition)
            b = A @ rng.standard_normal(6)
            measure_one = backward(A, b)
            worst = [max(w, measure_one(form(A, b))) for w, form in zip(worst, pair, strict=True)]
        print(f"MSL201  backward error ||b - Ax|| / (||A|| ||x||), cond {condition:.0e}  n={n // 20:<5} "
              f"original {worst[0]:9.2e}   fixed {worst[1]:9.2e}")
    pair = forms("MSL202", "X, y", "    return np.linalg.solve(X.T @ X, X.T @ y)\n")
    for condition in (10.0, 1e10):
        worst = [0.0, 0.0]
        for _ in range(n // 20):
            X = matrix(4, condition, rows=12)
            y = X @ rng.uniform(-1, 1, 4)  # consistent: lstsq's error is then ~cond(X) * eps
            with mp.workdps(150):
                Xm, ym = mp.matrix(X.tolist()), mp.matrix(y.tolist())
                reference = mp.lu_solve(Xm.T * Xm, Xm.T * ym)
            for k, form in enumerate(pair):
                try:
                    w = form(X, y)
                    e = float(mp.norm(mp.matrix(w.tolist()) - reference) / mp.norm(reference))
                except np.linalg.LinAlgError:
                    e = float("inf")
                worst[k] = max(worst[k], e)
        print(f"MSL202  forward error ||w - w*|| / ||w*||, cond(X) {condition:.0e}  n={n // 20:<5} "
              f"original {worst[0]:9.2e}   fixed {worst[1]:9.2e}")
    pair = forms("MSL204", "A", "    return np.log(np.linalg.det(A))\n")
    for low, high, size in ((0.5, 2.0, 10), (0.001, 0.01, 200), (100.0, 1000.0, 200)):
        worst = [0.0, 0.0]
        for _ in range(max(1, n // 100)):
            A = np.triu(rng.uniform(-1, 1, (size, size)), 1) + np.diag(rng.uniform(low, high, size))
            reference = mp.fsum(mp.log(mp.mpf(float(d))) for d in np.diag(A))
            with np.errstate(all="ignore"):
                worst = [max(w, error(form(A), reference)) for w, form in zip(worst, pair, strict=True)]
        print(f"MSL204  triangular n={size}, diagonal in [{low}, {high}]  n={max(1, n // 100):<5} "
              f"original {worst[0]:9.2e}   fixed {worst[1]:9.2e}")


if __name__ == "__main__":
    main()
