"""The loss-family fixes (MSL502-MSL504), run in torch and checked against cross-entropies computed with
mpmath at 50 digits from the same logits (skipped where torch is not installed).

These fixes repair a wrong loss (a second softmax or sigmoid, NLL on probabilities) or a loss that rounds
its sigmoid (BCE on sigmoid(z)); so the property is: the fixed loss is the cross-entropy of the logits to a
stated tolerance, in the safe range and at the dtype's edge, where the original is not. As in
test_fix_numerics.py, the rewrite under test is the tool's own output; the figures are on the pages.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.loss_reference import batches
from tests.loss_reference import binary_cross_entropy as _binary_cross_entropy
from tests.loss_reference import cross_entropy as _cross_entropy
from tests.loss_reference import error as _error
from tests.loss_reference import gap as _gap
from tests.test_fix_numerics import SETTINGS, floats, forms

torch = pytest.importorskip("torch")

IMPORTS = "import torch\nimport torch.nn.functional as F"


def _tensor(values: list[float] | list[list[float]], dtype: object) -> object:
    return torch.tensor(values, dtype=dtype)


# ---- MSL502 F.cross_entropy(F.softmax(z, dim=1), y) -> F.cross_entropy(z, y), and
# ---- MSL504 F.nll_loss(F.softmax(z, dim=1), y) -> F.nll_loss(F.log_softmax(z, dim=1), y) --------------------

CATEGORICAL = {
    "MSL502": forms("MSL502", "z, y", "    return F.cross_entropy(F.softmax(z, dim=1), y)\n", IMPORTS),
    "MSL504": forms("MSL504", "z, y", "    return F.nll_loss(F.softmax(z, dim=1), y)\n", IMPORTS),
}
# Eight ulps of the dtype, scaled by the logits (see `_error`): z - max(z) can be twice as large as |z| and
# rounds there (one ulp of |z|), then the log-sum-exp and the final subtraction round again, each up to two.
SAFE_AND_EDGE = [
    (-10.0, 10.0, "float64", 2e-15),  # the safe range
    (-1e4, 1e4, "float32", 1e-6),  # logits far past exp's float32 limit (88.72)
]


@pytest.mark.parametrize("rule", sorted(CATEGORICAL))
@pytest.mark.parametrize(("low", "high", "dtype", "tolerance"), SAFE_AND_EDGE)
@SETTINGS
@given(data=st.data())
def test_msl502_msl504_fixed_is_the_cross_entropy_of_the_logits(
        rule: str, low: float, high: float, dtype: str, tolerance: float, data: st.DataObject) -> None:
    original, fixed = CATEGORICAL[rule]
    rows, targets = data.draw(batches(low, high))
    if rule == "MSL502":
        assume(all(max(row) - min(row) > 1.0 for row in rows))  # equal logits: both forms give log(classes)
    z, y = _tensor(rows, getattr(torch, dtype)), torch.tensor(targets)
    # The reference from the logits as the dtype holds them.
    reference = _cross_entropy(z.double().tolist(), targets)
    assert _error(float(fixed(z, y)), reference, float(z.abs().max())) <= tolerance
    before = float(original(z, y))
    assert _gap(before, reference) > 1e-3  # MSL502: a softmax of probabilities, a different loss
    if rule == "MSL504":
        assert before <= 0.0 <= reference  # -mean p[target]: never a cross-entropy, which is >= 0


# ---- MSL503 F.binary_cross_entropy(torch.sigmoid(z), y) -> F.binary_cross_entropy_with_logits(z, y) ---------

BCE_ON_SIGMOID = forms("MSL503", "z, y", "    return F.binary_cross_entropy(torch.sigmoid(z), y, reduction='none')\n",
                       IMPORTS)
SIGMOID_TWICE = forms("MSL503", "z, y",
                      "    return F.binary_cross_entropy_with_logits(torch.sigmoid(z), y, reduction='none')\n", IMPORTS)


def _per_element(pair: tuple[object, ...], pairs: list[tuple[float, float]]) -> list[tuple[float, float, float, mp.mpf]]:
    """(fixed, original, z, reference) per element of float64 logits z and labels y."""
    original, fixed = pair
    z, y = _tensor([p[0] for p in pairs], torch.float64), _tensor([p[1] for p in pairs], torch.float64)
    return [(got, before, zi, _binary_cross_entropy(zi, yi))
            for got, before, (zi, yi) in zip(fixed(z, y).tolist(), original(z, y).tolist(), pairs, strict=True)]


@SETTINGS
@given(st.lists(st.tuples(floats(-10.0, 10.0), st.sampled_from([0.0, 1.0])), min_size=1, max_size=8))
def test_msl503_agrees_in_the_safe_range(pairs: list[tuple[float, float]]) -> None:
    for got, before, zi, reference in _per_element(BCE_ON_SIGMOID, pairs):
        assert _error(got, reference, zi) <= 1e-15
        assert _error(before, reference, zi) <= 1e-12  # 1 - sigmoid(z) loses digits as |z| grows, not yet all


@SETTINGS
@given(st.lists(floats(17.5, 80.0), min_size=1, max_size=8))
def test_msl503_at_the_edge(magnitudes: list[float]) -> None:
    # float32: past |z| = 17 the sigmoid rounds to 1 (or to 0 past -88): the wrong-side log is log(0), which
    # torch clamps at -100; the fixed loss is z (to within e^-z), as the reference.
    original, fixed = BCE_ON_SIGMOID
    z = _tensor(magnitudes, torch.float32)
    y = torch.zeros_like(z)
    for got, before, zi in zip(fixed(z, y).tolist(), original(z, y).tolist(), z.double().tolist(), strict=True):
        reference = _binary_cross_entropy(zi, 0.0)
        assert _error(got, reference, zi) <= 5e-7
        assert before == 100.0 and _error(before, reference, zi) > 0.2


@SETTINGS
@given(st.lists(st.tuples(floats(-50.0, 50.0), st.sampled_from([0.0, 1.0])), min_size=1, max_size=8))
def test_msl503_second_sigmoid_removed(pairs: list[tuple[float, float]]) -> None:
    for got, before, zi, reference in _per_element(SIGMOID_TWICE, pairs):
        assert _error(got, reference, zi) <= 1e-15
        if abs(1 / (1 + np.exp(-zi)) - zi) > 0.05:  # sigmoid(z) = z only near z = 0.66
            assert _gap(before, reference) > 1e-4


# ---- MSL501 -(y log(sigmoid(z)) + (1 - y) log(1 - sigmoid(z))) -> -(y logsigmoid(z) + (1 - y) logsigmoid(-z)) ---

HAND_WRITTEN_BCE = forms(
    "MSL501", "z, y", "    return -(y * torch.log(torch.sigmoid(z)) + (1 - y) * torch.log(1 - torch.sigmoid(z)))\n", IMPORTS)


@SETTINGS
@given(st.lists(st.tuples(floats(-10.0, 10.0), st.sampled_from([0.0, 1.0])), min_size=1, max_size=8))
def test_msl501_torch_agrees_in_the_safe_range(pairs: list[tuple[float, float]]) -> None:
    for got, before, zi, reference in _per_element(HAND_WRITTEN_BCE, pairs):
        assert _error(got, reference, zi) <= 1e-15
        assert _error(before, reference, zi) <= 1e-12


@SETTINGS
@given(st.lists(st.tuples(floats(17.5, 80.0), st.sampled_from([0.0, 1.0])), min_size=1, max_size=8))
def test_msl501_torch_at_the_edge(pairs: list[tuple[float, float]]) -> None:
    # float32: past z = 17 the sigmoid rounds to 1, log(1 - 1) = -inf: the original is inf (y = 0) or
    # 0 * -inf = NaN (y = 1); the fixed loss is z or e^-z, as the reference.
    original, fixed = HAND_WRITTEN_BCE
    z = _tensor([p[0] for p in pairs], torch.float32)
    y = _tensor([p[1] for p in pairs], torch.float32)
    for got, before, zi, yi in zip(fixed(z, y).tolist(), original(z, y).tolist(), z.double().tolist(),
                                   y.tolist(), strict=True):
        assert _error(got, _binary_cross_entropy(zi, yi), zi) <= 5e-7
        assert not np.isfinite(before)
