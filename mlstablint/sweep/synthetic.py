"""The lab's built-in table: six features on scales from 1e-3 to 1e4, and a target for each task.

Deterministic for a given (task, rows, seed). Every feature is positive with a mean far from 0, like
real measurements (a ratio, a rate, a score, a count, an amount, a balance), so the raw design is badly
conditioned twice over: the columns differ in scale by seven orders of magnitude, and each column is
nearly parallel to the intercept. Every value stays below float16's max (65504), so the raw table can be
cast to float16; it is the products and the steps of training that overflow. The target depends on the
standardised features with large effects, so the classes are nearly separable: without L2 the optimum
is far away and flat, with a little L2 it is near and curved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mlstablint.sweep.lab import Problem

# name: (scale, offset) — the column is scale · (offset + u) with u ~ N(0, 1) clipped to ±3.
COLUMNS: dict[str, tuple[float, float]] = {
    "ratio": (1e-3, 4.0),
    "rate": (1e-1, 4.0),
    "score": (1.0, 4.0),
    "visits": (1e2, 4.0),
    "amount": (1e3, 4.0),
    "balance": (1e4, 3.0),
}
# Effects of the standardised features on the logit (or the mean of y for linear regression).
EFFECTS = np.array([3.75, -2.25, 1.5, 0.0, 2.25, 3.0])
CLASS_EFFECTS = np.array([[2.5, -1.5, 1.0, 0.0, 1.5, 2.0],
                          [-2.0, 2.0, 0.5, 1.5, -1.0, 0.0],
                          [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
DEFAULT_ROWS = 2000


def make_features(rows: int = DEFAULT_ROWS, seed: int = 0) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(X, U): the raw table and its standardised latent values."""
    rng = np.random.default_rng(seed)
    U = np.clip(rng.standard_normal((rows, len(COLUMNS))), -3.0, 3.0)
    scales = np.array([s for s, _ in COLUMNS.values()])
    offsets = np.array([o for _, o in COLUMNS.values()])
    X = np.round(scales * (offsets + U), 6)
    return X, U


def make_problem(task: str = "logistic_regression", rows: int = DEFAULT_ROWS, seed: int = 0) -> Problem:
    """The built-in problem for `task`: the same features, a task-specific target."""
    X, U = make_features(rows, seed)
    rng = np.random.default_rng([seed, 1])
    y: npt.NDArray[Any]
    classes: tuple[str, ...] = ()
    if task in ("logistic_regression", "mlp"):  # the mlp task learns the logistic task's classes
        logit = U @ EFFECTS + 0.5
        y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.intp)
        classes = ("0", "1")
    elif task == "softmax_regression":
        scores = U @ CLASS_EFFECTS.T + rng.gumbel(size=(rows, len(CLASS_EFFECTS)))
        y = np.argmax(scores, axis=1).astype(np.intp)
        classes = tuple(str(k) for k in range(len(CLASS_EFFECTS)))
    elif task == "linear_regression":
        y = np.round(10.0 + U @ EFFECTS + rng.normal(0.0, 0.5, rows), 6)
    else:
        raise ValueError(f"unknown task {task!r}")
    return Problem(task, X, y, tuple(COLUMNS), classes, "synthetic")
