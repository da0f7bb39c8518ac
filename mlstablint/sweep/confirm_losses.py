"""The loss experiments ("loss-at-the-edge"): the flagged loss wiring against the correct one, on synthetic
logits at the edge of the dtype, with the loss *and its gradient* with respect to the logits, in numpy (no
deep-learning framework is needed or imported). The user's code is never run: the summary says so.

Each experiment evaluates the naive wiring and the stable one under `np.errstate(all="ignore")` and compares
both with a float64 reference of the correct loss (closed forms: softplus, log-softmax, sigmoid - y,
softmax - onehot).

Verdict rule: `confirmed` when the naive loss or gradient is non-finite, or differs from the reference by more
than 1e-3 (relative, or absolute for a reference of 0), or its gradient is more than 1000 times smaller than
the reference gradient (it has flattened), while the stable form is finite and within 1e-5 of the reference
(absolute below 1, relative above); `not-confirmed` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlstablint.findings import Confirmation, Finding
from mlstablint.sweep.confirm import Session, clean, verdict
from mlstablint.sweep.confirm_patterns import floats, format_values

EXPERIMENT = "loss-at-the-edge"
NAIVE_ERROR = 1e-3
STABLE_ERROR = 1e-5
FLATTENED = 1e-3
WHERE = "shown on synthetic logits at the dtype's edge, not on your code or data"
# torch's BCELoss clamps its log at -100 (documented), so the naive loss saturates at 100 instead of inf.
TORCH_LOG_FLOOR = -100.0

Array = NDArray[Any]


def _softmax(z: Array) -> Array:
    e = np.exp(z - np.max(z))
    out: Array = e / np.sum(e)
    return out


def _log_softmax(z: Array) -> Array:
    shifted = z - np.max(z)
    out: Array = shifted - np.log(np.sum(np.exp(shifted)))
    return out


def _sigmoid(z: Array) -> Array:
    out: Array = np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))
    return out


def _softmax_jacobian_t(p: Array, g: Array) -> Array:
    """J(p)^T g for the softmax Jacobian J = diag(p) - p p^T (symmetric)."""
    out: Array = p * g - p * np.dot(p, g)
    return out


def _onehot(k: int, n: int, dtype: Any) -> Array:
    out: Array = np.zeros(n, dtype=dtype)
    out[k] = 1
    return out


# Each case: (name, dtype, naive (loss, grad), stable (loss, grad), reference (loss, grad) in float64).
Case = tuple[str, str, tuple[Array, Array], tuple[Array, Array], tuple[Array, Array]]


def _binary_cross_entropy() -> list[Case]:
    """MSL501: -(y log p + (1 - y) log(1 - p)) with p = sigmoid(z), at z = 40 in float32 (p rounds to 1)."""
    z32, y32 = np.array([40.0, 40.0], np.float32), np.array([1.0, 0.0], np.float32)
    p = _sigmoid(z32)
    naive_loss = -(y32 * np.log(p) + (1 - y32) * np.log(1 - p))
    naive_grad = (-(y32 / p) + (1 - y32) / (1 - p)) * (p * (1 - p))
    stable_loss = np.logaddexp(np.float32(0), z32) - y32 * z32
    stable_grad = p - y32
    z, y = z32.astype(np.float64), y32.astype(np.float64)
    reference = (np.logaddexp(0.0, z) - y * z, _sigmoid(z) - y)
    softmax_z = np.array([0.0, 120.0], np.float32)  # the categorical form: target 0, its probability underflows
    q = _softmax(softmax_z)
    cat_naive = (np.array([-np.log(q[0])]), q - _onehot(0, 2, np.float32))
    cat_stable = (np.array([-_log_softmax(softmax_z)[0]]), q - _onehot(0, 2, np.float32))
    z64 = softmax_z.astype(np.float64)
    cat_reference = (np.array([-_log_softmax(z64)[0]]), _softmax(z64) - _onehot(0, 2, np.float64))
    return [("binary, z = [40, 40], y = [1, 0]", "float32", (naive_loss, naive_grad), (stable_loss, stable_grad),
             reference),
            ("categorical, z = [0, 120], target 0", "float32", cat_naive, cat_stable, cat_reference)]


def _double_softmax() -> list[Case]:
    """MSL502 (and MSL505's softmax + from_logits=True): cross-entropy applied to softmax(z) instead of z."""
    out = []
    for dtype in (np.float32, np.float64):
        z = np.array([0.0, 10.0, 0.0], dtype)  # confidently wrong: the class the loss must push up is 0
        target = _onehot(0, 3, dtype)
        p = _softmax(z)
        naive_loss = -_log_softmax(p)[0]
        naive_grad = _softmax_jacobian_t(p, _softmax(p) - target)
        stable = (np.array([-_log_softmax(z)[0]]), p - target)
        z64 = z.astype(np.float64)
        reference = (np.array([-_log_softmax(z64)[0]]), _softmax(z64) - _onehot(0, 3, np.float64))
        out.append(("logits [0, 10, 0], target 0", np.dtype(dtype).name, (np.array([naive_loss]), naive_grad),
                    stable, reference))
    return out


def _sigmoid_then_bce() -> list[Case]:
    """MSL503: BCE on sigmoid(z) (torch's clamp of the log at -100) against the loss on the logits, z = -120."""
    z32, y32 = np.array([-120.0], np.float32), np.array([1.0], np.float32)
    p = _sigmoid(z32)  # 0 in float32
    naive_loss = -np.maximum(np.log(p), TORCH_LOG_FLOOR)
    # torch's backward: (p - y) / max(p (1 - p), 1e-12) times dp/dz = p (1 - p) = 0.
    naive_grad = (p - y32) / np.maximum(p * (1 - p), np.float32(1e-12)) * (p * (1 - p))
    stable = (np.logaddexp(np.float32(0), -z32), p - y32)
    z = z32.astype(np.float64)
    reference = (np.logaddexp(0.0, -z), _sigmoid(z) - 1.0)
    return [("z = -120, y = 1 (log clamped at -100 as torch's BCELoss does)", "float32", (naive_loss, naive_grad),
             stable, reference)]


def _nll_on_probabilities() -> list[Case]:
    """MSL504: nll_loss(softmax(z)) = -p[target] against the cross-entropy -log_softmax(z)[target]."""
    z = np.array([0.0, 10.0, 0.0], np.float32)
    target = _onehot(0, 3, np.float32)
    p = _softmax(z)
    naive = (np.array([-p[0]]), -_softmax_jacobian_t(p, target))
    stable = (np.array([-_log_softmax(z)[0]]), p - target)
    z64 = z.astype(np.float64)
    reference = (np.array([-_log_softmax(z64)[0]]), _softmax(z64) - _onehot(0, 3, np.float64))
    return [("logits [0, 10, 0], target 0", "float32", naive, stable, reference)]


def _logits_as_probabilities() -> list[Case]:
    """MSL505's other half: Keras' probability cross-entropy on logits (normalised by their sum, clipped to
    [1e-7, 1 - 1e-7]) against the loss on logits."""
    z = np.array([2.0, -1.0, 0.5], np.float32)
    eps = np.float32(1e-7)
    normalised = np.clip(z / np.sum(z), eps, 1 - eps)
    naive_loss = np.array([-np.log(normalised[0])])
    # The clip holds z[0] / sum(z) = 1.33 at 1 - eps: no gradient flows to the logits.
    naive_grad = np.zeros(3, np.float32)
    target = _onehot(0, 3, np.float32)
    stable = (np.array([-_log_softmax(z)[0]]), _softmax(z) - target)
    z64 = z.astype(np.float64)
    reference = (np.array([-_log_softmax(z64)[0]]), _softmax(z64) - _onehot(0, 3, np.float64))
    return [("logits [2, -1, 0.5] read as probabilities, target 0", "float32", (naive_loss, naive_grad), stable,
             reference)]


def _eps_below_precision() -> list[Case]:
    """MSL115: log(p + 1e-8) with p in float16 (the eps is 0 there), and clamp(p, 1e-8, 1 - 1e-8) in float32
    (the upper bound is 1): the guard does nothing. The stable form computes the same formula in float32 /
    float64; the gradient is d/dp log(p + eps) = 1 / (p + eps)."""
    p16 = np.array([0.0, 0.5], np.float16)
    naive16 = p16 + np.float16(1e-8)
    p = p16.astype(np.float64)
    p32 = p16.astype(np.float32)
    stable = (np.log(p32 + np.float32(1e-8)), 1 / (p32 + np.float32(1e-8)))
    reference = (np.log(p + 1e-8), 1 / (p + 1e-8))
    q32 = np.array([1.0], np.float32)
    upper32 = np.clip(q32, np.float32(1e-8), np.float32(1 - 1e-8))
    q = q32.astype(np.float64)
    upper64 = np.clip(q, 1e-8, 1 - 1e-8)
    return [("log(p + 1e-8), p = [0, 0.5]", "float16", (np.log(naive16), 1 / naive16), stable, reference),
            ("log(1 - clamp(p, 1e-8, 1 - 1e-8)), p = 1", "float32", (np.log(1 - upper32), -1 / (1 - upper32)),
             (np.log(1 - upper64), -1 / (1 - upper64)), (np.log(1 - upper64), -1 / (1 - upper64)))]


def _low_precision_exp_log() -> list[Case]:
    """MSL116: exp(12) in float16 (above 65504: inf) and log(1e-8) in float16 (1e-8 is stored as 0: -inf),
    against the same in float32; the gradients are exp(x) and 1 / x."""
    x16 = np.array([12.0, 0.0], np.float16)
    x32, x64 = x16.astype(np.float32), x16.astype(np.float64)
    small16 = np.array([1e-8], np.float16)
    small32 = np.array([1e-8], np.float32)
    return [("exp([12, 0])", "float16", (np.exp(x16), np.exp(x16)), (np.exp(x32), np.exp(x32)),
             (np.exp(x64), np.exp(x64))),
            ("log(1e-8)", "float16", (np.log(small16), 1 / small16), (np.log(small32), 1 / small32),
             (np.log(np.array([1e-8])), 1 / np.array([1e-8])))]


CASES: dict[str, Callable[[], list[Case]]] = {
    "MSL501": _binary_cross_entropy, "MSL502": _double_softmax, "MSL503": _sigmoid_then_bce,
    "MSL504": _nll_on_probabilities, "MSL505": lambda: [*_double_softmax()[:1], *_logits_as_probabilities()],
    "MSL115": _eps_below_precision, "MSL116": _low_precision_exp_log,
}


def _error(got: list[float], ref: list[float]) -> float:
    """Worst error: absolute where |reference| < 1, relative above; inf for a non-finite value."""
    worst = 0.0
    for g, r in zip(got, ref, strict=True):
        if not math.isfinite(g):
            return math.inf
        worst = max(worst, abs(g - r) / max(1.0, abs(r)))
    return worst


def _norm(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values)) if all(math.isfinite(v) for v in values) else math.inf


def evaluate(rule: str) -> tuple[bool, dict[str, Any], list[str]]:
    """Run one rule's cases: (confirmed?, figures, one short text per case)."""
    figures: dict[str, Any] = {"inputs": "synthetic", "cases": []}
    texts: list[str] = []
    confirmed = False
    with np.errstate(all="ignore"):
        cases = CASES[rule]()
    for name, dtype, naive, stable, reference in cases:
        n_loss, n_grad = floats(naive[0]), floats(naive[1])
        s_loss, s_grad = floats(stable[0]), floats(stable[1])
        r_loss, r_grad = floats(reference[0]), floats(reference[1])
        naive_error = max(_error(n_loss, r_loss), _error(n_grad, r_grad))
        stable_error = max(_error(s_loss, r_loss), _error(s_grad, r_grad))
        ref_norm, naive_norm = _norm(r_grad), _norm(n_grad)
        flattened = ref_norm > 0 and naive_norm < FLATTENED * ref_norm
        ok = (naive_error > NAIVE_ERROR or flattened) and stable_error <= STABLE_ERROR
        confirmed |= ok
        figures["cases"].append({
            "case": name, "dtype": dtype, "naive_loss": n_loss, "naive_gradient": n_grad, "stable_loss": s_loss,
            "stable_gradient": s_grad, "reference_loss": r_loss, "reference_gradient": r_grad,
            "naive_error": naive_error, "stable_error": stable_error, "naive_gradient_norm": naive_norm,
            "reference_gradient_norm": ref_norm})
        texts.append(f"{dtype}, {name}: the flagged form gives {format_values(n_loss)} (gradient norm "
                     f"{naive_norm:.3g}), the correct one {format_values(s_loss)} (gradient norm {_norm(s_grad):.3g})")
    return confirmed, figures, texts


def confirm_loss(session: Session, finding: Finding) -> Confirmation:
    """The flagged wiring against the correct loss at the dtype's edge (cached per rule)."""
    key = ("loss", finding.rule)
    if key not in session.cache:
        confirmed, figures, texts = evaluate(finding.rule)
        session.cache[key] = Confirmation(verdict(confirmed), EXPERIMENT, clean(figures),
                                          f"{WHERE}: {'; '.join(texts)}")
    result: Confirmation = session.cache[key]
    return result
