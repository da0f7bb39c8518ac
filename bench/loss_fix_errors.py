"""The measured error of both forms of the loss-family fixes (MSL501-MSL505): the figures on their pages.

    python bench/loss_fix_errors.py [--samples 200]

Each form is the tool's own rewrite of a snippet, as the tests build it (tests/test_fix_numerics_losses.py
in torch, tests/test_fix_numerics_loss_libraries.py against numpy implementations of the TensorFlow, Keras
and optax formulas, those libraries not being installed). Inputs are seeded; the reference is the
cross-entropy of the logits at 50 digits (mpmath). Printed per case: the largest error |loss - reference| /
(1 + max|z|) of the fixed form, and of the original (or, where the original is a different loss, its
smallest gap |loss - reference|, and how many of its values were not finite). Figures only: the tests
assert the bounds the pages state.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

from tests import test_fix_numerics_loss_libraries as lib
from tests.loss_reference import binary_cross_entropy, cross_entropy, error, gap


def line(rule: str, case: str, fixed: list[float], original: list[float], kind: str = "error") -> None:
    bad = sum(not np.isfinite(v) for v in original)
    print(f"{rule}  {case:<58} fixed {max(fixed):8.2e}   original {kind} {min(original):8.2e} to {max(original):8.2e}"
          f"{f', not finite {bad}/{len(original)}' if bad else ''}")


def batch(rng: np.random.Generator, low: float, high: float, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    k, n = int(rng.integers(2, 7)), int(rng.integers(1, 7))
    return rng.uniform(low, high, (n, k)).astype(dtype), rng.integers(0, k, n)


def binary(rng: np.random.Generator, samples: int, low: float, high: float, labels: tuple[float, ...],
           run: Callable[[list[tuple[float, float]]], list[tuple[float, float, float, Any]]],
           kind: str = "error") -> tuple[list[float], list[float]]:
    fixed, original = [], []
    for _ in range(samples):
        pairs = [(float(z), float(rng.choice(labels))) for z in rng.uniform(low, high, 6)]
        for got, before, scale, reference in run(pairs):
            fixed.append(error(got, reference, scale))
            original.append(error(before, reference, scale) if kind == "error" else gap(before, reference))
    return fixed, original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    n = parser.parse_args().samples
    rng = np.random.default_rng(20261207)
    np.seterr(all="ignore")

    for case, spec in sorted(lib.ON_SIGMOID.items()):
        line("MSL503", f"{case}, z in [-10, 10], float64",
             *binary(rng, n, -10, 10, (0.0, 1.0), lambda p, s=spec: lib._binary(s, p, np.float64)))
        line("MSL503", f"{case}, y = 0, z in [17.5, 80], float32",
             *binary(rng, n, 17.5, 80, (0.0,), lambda p, s=spec: lib._binary(s, p, np.float32)))
    for case, spec in sorted(lib.SIGMOID_TWICE.items()):
        line("MSL503", f"second sigmoid, {case}, z in [-50, 50], float64",
             *binary(rng, n, -50, 50, (0.0, 1.0), lambda p, s=spec: lib._binary(s, p, np.float64), "gap"), "gap")

    for case, (imports, body, labels) in sorted(lib.SOFTMAX_TWICE.items()):
        original, fixed = lib.library_forms("MSL502", "z, y", body, imports)
        for low, high, dtype in ((-10.0, 10.0, np.float64), (-1e4, 1e4, np.float32)):
            errors, gaps = [], []
            for _ in range(n):
                z, t = batch(rng, low, high, dtype)
                if (z.max(1) - z.min(1)).min() <= 1:
                    continue  # equal logits: both forms give log(classes)
                y = np.eye(z.shape[1], dtype=dtype)[t] if labels == "onehot" else t
                reference = cross_entropy(z.astype(np.float64).tolist(), t.tolist())
                errors.append(error(float(np.mean(fixed(z, y))), reference, float(np.abs(z).max())))
                gaps.append(gap(float(np.mean(original(z, y))), reference))
            line("MSL502", f"{case}, logits in [{low:g}, {high:g}], {dtype.__name__}", errors, gaps, "gap")

    for name, (original, fixed), low, high, dtype, probabilities in (
            ("logits out, 'sparse_categorical_crossentropy'", lib.LOGITS_OUT, -10.0, 10.0, np.float64, False),
            ("logits out, 'sparse_categorical_crossentropy'", lib.LOGITS_OUT, -1e4, 1e4, np.float32, False),
            ("softmax out, from_logits=True", lib.PROBABILITIES_OUT, -5.0, 5.0, np.float64, True),
            ("softmax out, from_logits=True", lib.PROBABILITIES_OUT, -5.0, 5.0, np.float32, True)):
        errors, gaps = [], []
        for _ in range(n):
            z, t = batch(rng, low, high, dtype)
            out = np.exp(z - z.max(1, keepdims=True)) if probabilities else z
            out = out / out.sum(1, keepdims=True) if probabilities else out
            reference = cross_entropy(z.astype(np.float64).tolist(), t.tolist())
            errors.append(error(float(fixed(t, out)), reference, float(np.abs(z).max())))
            if not probabilities or (z.max(1) - z.min(1)).min() > 1:
                gaps.append(gap(float(original(t, out)), reference))
        gaps_median = float(np.median([g for g in gaps if np.isfinite(g)]))
        line("MSL505", f"{name}, [{low:g}, {high:g}], {dtype.__name__}", errors, gaps, "gap")
        print(f"MSL505  {'':<58} original gap median {gaps_median:8.2e}")

    original, fixed = lib.HAND_WRITTEN
    for low, high in ((-10.0, 10.0), (37.5, 700.0)):
        line("MSL501", f"binary, numpy, z in [{low:g}, {high:g}], float64",
             *binary(rng, n, low, high, (0.0, 1.0), lib._per_element))
    original, fixed = lib.HAND_WRITTEN_CATEGORICAL
    for low, high in ((-10.0, 10.0), (-2e3, 2e3)):
        errors, before = [], []
        for _ in range(n):
            z, t = batch(rng, low, high, np.float64)
            y = np.eye(z.shape[1])[t]
            for row, target, got, was in zip(z, t, fixed(z, y), original(z, y), strict=True):
                reference = cross_entropy([row.tolist()], [int(target)])
                errors.append(error(float(got), reference, float(np.abs(row).max())))
                before.append(error(float(was), reference, float(np.abs(row).max())))
        line("MSL501", f"categorical, numpy, logits in [{low:g}, {high:g}], float64", errors, before)

    if importlib.util.find_spec("torch") is None:
        print("torch not installed: the torch forms are not measured")
        return
    import torch

    from tests import test_fix_numerics_losses as tl

    original, fixed = tl.HAND_WRITTEN_BCE
    for low, high, dtype in ((-10.0, 10.0, torch.float64), (17.5, 80.0, torch.float32)):
        errors, before = [], []
        for _ in range(n):
            z = torch.tensor(rng.uniform(low, high, 6), dtype=dtype)
            y = torch.tensor(rng.integers(0, 2, 6), dtype=dtype)
            for got, was, zi, yi in zip(fixed(z, y).tolist(), original(z, y).tolist(), z.double().tolist(),
                                        y.tolist(), strict=True):
                reference = binary_cross_entropy(zi, yi)
                errors.append(error(got, reference, zi))
                before.append(error(was, reference, zi))
        line("MSL501", f"binary, torch, z in [{low:g}, {high:g}], {str(dtype)[6:]}", errors, before)


if __name__ == "__main__":
    main()
