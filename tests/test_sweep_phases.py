"""Phases on constructed loss curves whose phase boundaries and onsets are known by construction."""

from __future__ import annotations

import math

import numpy as np

from mlstablint.sweep import phases


def _curve() -> dict[str, list[float]]:
    # warm-up 1-10 (flat), descent 11-40, plateau 41-60, divergence from 61 (geometric growth), inf at 80.
    loss = [1.0] * 10 + [math.exp(-0.1 * t) for t in range(1, 31)]
    floor = loss[-1]
    loss += [floor] * 20
    loss += [floor * 1.3 ** t for t in range(1, 20)]
    loss += [math.inf]
    grad = [1.0] * 10 + [math.exp(-0.1 * t) for t in range(1, 31)] + [0.05] * 15
    grad += [0.05 * 1.3 ** t for t in range(1, 25)] + [math.inf]  # the gradient starts growing at 56, 5 earlier
    update = [0.1 * g for g in grad]
    return {"loss": loss, "grad_norm": grad, "update_norm": update}


def test_constructed_run_has_its_phases_and_onsets_within_two_epochs() -> None:
    h = _curve()
    assert len(h["loss"]) == len(h["grad_norm"]) == 80
    ph = phases.detect(h)
    names = [p.name for p in ph.phases]
    assert names == ["warm-up", "stable descent", "plateau", "divergence", "blow-up"], ph.phases
    bounds = {p.name: (p.start, p.end) for p in ph.phases}
    assert abs(bounds["stable descent"][0] - 11) <= 2
    assert abs(bounds["plateau"][0] - 41) <= 2
    assert ph.onset is not None and abs(ph.onset - 61) <= 2
    assert ph.blow_up == 80 and bounds["blow-up"] == (80, 80)
    assert ph.onsets["grad_norm"] is not None and abs(ph.onsets["grad_norm"] - 56) <= 2
    assert ph.leading == "grad_norm"
    assert "grad norm showed it first (by 5 epochs)" in ph.text()


def test_oscillation_needs_the_loss_and_the_update_norm_to_reverse() -> None:
    t = np.arange(60)
    loss = list(np.exp(-0.05 * t[:20])) + list(0.4 + 0.05 * (-1.0) ** t[20:])
    bouncing = list(np.full(20, 0.1)) + list(0.1 + 0.02 * (-1.0) ** t[20:])
    steady = [0.1] * 60
    ph = phases.detect({"loss": loss, "grad_norm": [1.0] * 60, "update_norm": bouncing})
    osc = [p for p in ph.phases if p.name == "oscillation"]
    assert len(osc) == 1 and abs(osc[0].start - 21) <= 2 and osc[0].end == 60
    assert ph.onset is None and ph.blow_up is None
    flat = phases.detect({"loss": loss, "grad_norm": [1.0] * 60, "update_norm": steady})
    assert "oscillation" not in [p.name for p in flat.phases]


def test_a_jump_past_the_stable_lr_is_a_divergence_from_the_first_epoch() -> None:
    loss = [0.69, 4e5, 1.6e6, 1.2e6, 3e5, 2e6]
    ph = phases.detect({"loss": loss, "grad_norm": [1.0] * 6, "update_norm": [1.0] * 6})
    assert ph.onset == 1 and [p.name for p in ph.phases] == ["divergence"]


def test_converging_run_has_no_onset() -> None:
    loss = list(np.exp(-0.1 * np.arange(100)) + 0.2)
    ph = phases.detect({"loss": loss, "grad_norm": loss, "update_norm": loss})
    assert ph.onset is None and ph.leading is None
    assert [p.name for p in ph.phases] == ["stable descent", "plateau"]
