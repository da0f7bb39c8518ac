"""The phases of a training run, named from its per-epoch log (loss, gradient norm, update norm).

Every epoch gets one label; consecutive epochs with the same label form a phase:

* **blow-up**: from the first epoch with a non-finite loss, gradient norm or update norm to the end;
* **divergence** (its first epoch is the *onset*): from the first epoch from which the loss grows
  monotonically over `WINDOW` epochs, by at least `GROWTH` (relative) over that window, and never falls back
  below its value at the onset before the run ends or blows up; or, for a step far past the stable lr,
  the epoch after which the loss jumps above `JUMP` × its lowest value so far and never comes back;
* before the onset, each epoch is judged on the window of `WINDOW` epochs centred on it:
  **oscillation** when at least `FLIP_SHARE` of the steps of the window reverse the direction of the loss
  *and* of the update norm (the optimiser bounces across a valley), **stable descent** when the loss falls
  by more than `PLATEAU_TOL` (relative) per epoch on average, **plateau** otherwise;
* **warm-up**: the epochs before the first stable descent, when the run does descend later.

Phases shorter than `MIN_PHASE` epochs are merged into the phase before them. The onset is measured the
same way on the gradient norm and on the update norm; the metric whose onset comes first *leads* (the
gradient norm usually does: it reacts to the curvature before the loss does, and this module measures
whether it did).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlstablint.sweep.lab import Run

PHASES = ("warm-up", "stable descent", "plateau", "oscillation", "divergence", "blow-up")
METRICS = ("loss", "grad_norm", "update_norm")
WINDOW = 5  # epochs
GROWTH = 0.05  # relative growth over the window that counts as the start of a divergence
JUMP = 10.0  # ... or a jump above this factor × the lowest value so far, never undone
PLATEAU_TOL = 1e-3  # relative fall of the loss per epoch below which the loss is flat
FLIP_SHARE = 0.6  # share of the window's steps that reverse direction, for an oscillation
MIN_PHASE = 2  # epochs


@dataclass
class Phase:
    name: str
    start: int  # 1-based first epoch
    end: int  # 1-based last epoch (inclusive)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "end": self.end}


@dataclass
class Phases:
    phases: list[Phase] = field(default_factory=list)
    onset: int | None = None  # the loss's divergence onset (1-based epoch)
    onsets: dict[str, int | None] = field(default_factory=dict)  # the same per metric
    leading: str | None = None  # the metric whose onset came first (ties: the loss)
    blow_up: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"phases": [p.to_json() for p in self.phases], "onset": self.onset, "onsets": dict(self.onsets),
                "leading_metric": self.leading, "blow_up": self.blow_up}

    def text(self) -> str:
        parts = [f"{p.name} {p.start}-{p.end}" if p.end > p.start else f"{p.name} {p.start}" for p in self.phases]
        out = ", ".join(parts)
        if self.onset is not None and self.leading is not None:
            lead = self.onset - (self.onsets.get(self.leading) or self.onset)
            first = "the loss" if self.leading == "loss" else f"the {self.leading.replace('_', ' ')}"
            by = "" if self.leading == "loss" else f" (by {lead} epoch{'s' if lead != 1 else ''})"
            out += f"; onset at epoch {self.onset}, {first} showed it first{by}"
        return out


def _finite(x: float) -> bool:
    return math.isfinite(x)


def onset(series: Sequence[float], end: int) -> int | None:
    """The first epoch (1-based) from which `series[:end]` grows monotonically over WINDOW epochs (fewer
    when the run blows up sooner, at least 3 values), by ≥ GROWTH, and never returns below that value; or
    after which it jumps above JUMP × its lowest value so far for good."""
    for t in range(end):
        window = series[t:min(t + WINDOW, end)]
        # a window cut short counts only when the run blew up right after it, and holds 3 values or more
        if len(window) < WINDOW and (end == len(series) or len(window) < 3):
            break
        rising = all(b > a for a, b in itertools.pairwise(window))
        if rising and window[-1] > (1 + GROWTH) * window[0] and min(series[t:end]) >= window[0]:
            return t + 1
        floor = JUMP * min(series[:t + 1])
        if t + 1 < end and floor > 0 and min(series[t + 1:end]) > floor:
            return t + 1
    return None


def _label(loss: Sequence[float], updates: Sequence[float], t: int, end: int) -> str:
    """The label of epoch t (0-based) from the WINDOW epochs centred on it (shifted inside [0, end))."""
    stop = min(max(t - WINDOW // 2, 0) + WINDOW, end)
    start = max(stop - WINDOW, 0)
    window = loss[start:stop]
    steps = [b - a for a, b in itertools.pairwise(window)]
    ups = [b - a for a, b in itertools.pairwise(updates[start:stop])]
    flips = sum(1 for a, b in itertools.pairwise(steps) if a * b < 0)
    up_flips = sum(1 for a, b in itertools.pairwise(ups) if a * b < 0)
    possible = max(len(steps) - 1, 1)
    scale = max(abs(window[0]), 1e-300)
    spread = (max(window) - min(window)) / scale
    if flips / possible >= FLIP_SHARE and up_flips / possible >= FLIP_SHARE and spread > PLATEAU_TOL:
        return "oscillation"
    rate = (window[0] - window[-1]) / max(len(window) - 1, 1) / scale
    return "stable descent" if rate > PLATEAU_TOL else "plateau"


def detect(history: dict[str, list[float]]) -> Phases:
    """The phases of one run from its log (see the module docstring)."""
    loss = history["loss"]
    n = len(loss)
    if n == 0:
        return Phases()
    bad = [t for t in range(n) if not all(_finite(history[m][t]) for m in METRICS if t < len(history[m]))]
    blow_up = bad[0] + 1 if bad else None
    end = bad[0] if bad else n  # the finite prefix
    onsets = {m: onset(history[m], end) for m in METRICS}
    div = onsets["loss"]
    labels: list[str] = []
    last = min(end, (div - 1) if div else end)
    for t in range(last):
        labels.append(_label(loss, history["update_norm"], t, last) if last >= 3 else "plateau")
    if "stable descent" in labels:
        first = labels.index("stable descent")
        labels[:first] = ["warm-up"] * first
    labels += ["divergence"] * (end - last)
    labels += ["blow-up"] * (n - end)
    phases: list[Phase] = []
    for name, group in itertools.groupby(enumerate(labels, start=1), key=lambda item: item[1]):
        epochs = [t for t, _ in group]
        short = len(epochs) < MIN_PHASE and name not in ("divergence", "blow-up")
        if phases and (short or phases[-1].name == name):
            phases[-1].end = epochs[-1]
        else:
            phases.append(Phase(name, epochs[0], epochs[-1]))
    leading = None
    if div is not None:
        known = [(e, METRICS.index(m), m) for m, e in onsets.items() if e is not None]
        leading = min(known)[2]
    return Phases(phases, div, onsets, leading, blow_up)


@dataclass
class LeadSummary:
    """Across the runs whose loss had a divergence onset: which metric showed it first, and by how much."""

    diverging: int = 0
    led_by: dict[str, int] = field(default_factory=dict)  # metric → runs where it came first
    median_lead: dict[str, float] = field(default_factory=dict)  # metric → median epochs ahead of the loss

    def to_json(self) -> dict[str, Any]:
        return {"diverging_runs": self.diverging, "led_by": dict(self.led_by), "median_lead": dict(self.median_lead)}

    def text(self) -> str:
        if not self.diverging:
            return ""
        parts = [f"the loss showed it first in {self.led_by.get('loss', 0)}"]
        for metric in ("grad_norm", "update_norm"):
            if metric in self.median_lead:
                parts.append(f"the {metric.replace('_', ' ')} in {self.led_by.get(metric, 0)} (median lead "
                             f"{self.median_lead[metric]:g} epochs)")
        return f"Divergence onsets in {self.diverging} runs: {'; '.join(parts)}"


def lead_summary(runs: Sequence[Run]) -> LeadSummary:
    """Detects the phases of every run (stored on the run) and summarises which metric led the divergences."""
    summary = LeadSummary()
    leads: dict[str, list[int]] = {"grad_norm": [], "update_norm": []}
    for run in runs:
        run.phases = detect(run.history)
        ph = run.phases
        if ph.onset is None:
            continue
        summary.diverging += 1
        if ph.leading is not None:
            summary.led_by[ph.leading] = summary.led_by.get(ph.leading, 0) + 1
        for metric in leads:
            e = ph.onsets.get(metric)
            if e is not None:
                leads[metric].append(ph.onset - e)
    summary.median_lead = {m: float(statistics.median(v)) for m, v in leads.items() if v}
    return summary
