"""The lab's recommendation, derived from the arms that converged and the arms that did not.

The evidence is always a *matched pair*: two runs that differ in one swept setting only (same dtype, lr,
lambda, scaling and loss form otherwise, same rows, same initial weights, same batch order). A pair
counts when one run converged and the other did not. Per axis:

* scaling: standardised converged where raw did not → "scale features";
* loss: the stable form converged where the naive one did not → "use the stable loss";
* precision: a wider dtype converged where a narrower one did not → "use float64" (or "float32 or wider"
  when only float16 failed against a wider dtype);
* lr: a smaller lr converged where a larger one did not → "lower lr (≤ the largest lr that converged in
  such a pair)"; a larger lr converged where a smaller one did not (too slow, or stagnated) → "raise lr
  (≥ …)"; both → "use lr in [a, b]" (or "use lr=a") when the range is consistent;
* lambda: a larger lambda converged where a smaller one did not → "add L2 (lambda ≥ the smallest such
  lambda)".

The scaling control arms that `lab.sweep` adds count as swept (`SweepResult.compared`), and the "scale
features" evidence starts with how much standardising lowers cond(XᵀX). When the precision policies were
evaluated (`precision_report`), the precision item names the cheapest policy that matched float64 there.
When most runs of the MLP task blamed one layer first, "fix layer k" leads the recommendation.

If no run converged and none was still improving at the last epoch, the settings are not the problem
the sweep can fix: "the model or data is at fault: check the audit"; if some were still improving, the
budget ran out first: "train longer". If every run converged, nothing needs to change. If some converged but no
pair singles out a setting, the best converged configuration is named.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlstablint.sweep.precision import COST
from mlstablint.sweep.signatures import fmt

if TYPE_CHECKING:
    from mlstablint.sweep.lab import Arm, Run, SweepResult

_DTYPE_RANK = COST  # policies in order of cost: float16 first, float64 last
# With nothing converged and scaling not swept, this condition number of [X | 1]ᵀ[X | 1] suggests sweeping it.
COND_SCALING_HINT = 1e8


@dataclass
class Recommendation:
    items: list[str] = field(default_factory=list)
    because: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " + ".join(self.items)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "because": list(self.because)}


def _converged(run: Run) -> bool:
    return run.verdict.status == "converged"


def _pairs(runs: list[Run], axis: str, safer: Callable[[Any, Any], bool]) -> list[tuple[Run, Run]]:
    """Matched (risky, safe) pairs along `axis`: the safe run converged, the risky one did not, and the two
    differ in `axis` only. `safer(a, b)` says whether value b is on the safe side of value a."""
    out = []
    for risky in runs:
        if _converged(risky):
            continue
        for safe in runs:
            matched = safe.arm == risky.arm.replace(axis, safe.arm.value(axis))
            if matched and _converged(safe) and safer(risky.arm.value(axis), safe.arm.value(axis)):
                out.append((risky, safe))
    return out


def _example(pairs: list[tuple[Run, Run]], axis: str, swept: tuple[str, ...], shown: Any = None,
             among: list[tuple[Run, Run]] | None = None) -> str:
    """One line of evidence: one matched pair, and how many there were.

    The pair shown is taken from `among` (default: all pairs), has the safe value `shown` when given (the
    threshold the item names), and is a float64 one if possible.
    """
    from mlstablint.sweep.lab import fmt_hyper

    def value(arm: Arm) -> str:
        v = arm.value(axis)
        return f"{axis}={fmt_hyper(v)}" if axis in ("lr", "lambda") else str(v)

    pool = among or pairs
    candidates = [pair for pair in pool if shown is None or pair[1].arm.value(axis) == shown] or pool
    risky, safe = min(candidates, key=lambda pair: -_DTYPE_RANK[pair[1].arm.dtype])
    n = len(pairs)
    return (f"{value(safe.arm)} converged where {value(risky.arm)} {_VERBS[risky.verdict.status]} "
            f"({safe.arm.label(swept, omit=axis)}; {n} matched pair{'s' if n != 1 else ''})")


_VERBS = {"diverged": "diverged", "overflow": "overflowed", "nan": "went NaN", "stagnated": "stagnated",
          "unconverged": "had not converged"}


def _policy_item(rec: Recommendation, result: SweepResult) -> None:
    """The cheapest precision policy that matched float64 at the best float64 run's settings, in place of
    the matched-pair precision item (which speaks of other settings)."""
    report = result.policies
    if report is None or report.cheapest is None:
        return
    rec.items[:] = [item for item in rec.items if not item.startswith("use float")]
    best = next(o for o in report.outcomes if o.policy == report.cheapest)
    failed = [f"{o.policy} {_VERBS.get(o.status, o.status)}" if not o.matches and o.status != "converged"
              else f"{o.policy} off by {fmt(100 * o.relative_gap)} %"
              for o in report.outcomes if not o.matches]
    rec.items.append(f"use {report.cheapest}" + (" (the cheapest precision that matches float64)"
                                                  if report.cheapest != "float64" else ""))
    rec.because.append(f"at {report.reference}, {report.cheapest}'s final loss is within "
                       f"{fmt(100 * report.tolerance)} % of float64's ({fmt(100 * best.relative_gap)} %)"
                       + (f"; cheaper or other policies: {', '.join(failed)}" if failed else ""))


def _layer_item(rec: Recommendation, result: SweepResult) -> None:
    """The layer most runs named as failing first (MLP task), when a majority of runs named one."""
    named = [r for r in result.runs if r.layers is not None and r.layers.failing_layer is not None]
    if not named or 2 * len(named) < len(result.runs):
        return
    counts = Counter(r.layers.failing_layer for r in named)
    layer, n = min(counts.items(), key=lambda item: (-item[1], item[0]))
    example = next(r for r in named if r.layers.failing_layer == layer)
    rec.items.insert(0, f"fix layer {layer} (its initialisation or activation)")
    rec.because.insert(0, f"{n} of {len(result.runs)} runs failed first at layer {layer}, e.g. "
                          f"{example.arm.label(result.compared)}: {example.layers.diagnosis}")


def _cond_drop(result: SweepResult) -> str:
    """'standardising lowers cond(X^T X) from 1e15 to 1.149 (×1e-15); ' when it lowers it at all."""
    raw, scaled = result.condition_number, result.condition_number_scaled
    if not scaled < raw:
        return ""
    factor = f"×{fmt(scaled / raw)}" if math.isfinite(raw) and raw > 0 else "from rank-deficient"
    return f"standardising lowers cond(X^T X) from {fmt(raw)} to {fmt(scaled)} ({factor}); "


def recommend(result: SweepResult) -> Recommendation:
    from mlstablint.sweep.lab import fmt_hyper

    runs, swept = result.runs, result.compared
    rec = Recommendation()
    converged = [r for r in runs if _converged(r)]
    if not converged:
        counts = Counter(r.verdict.status for r in runs)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        slow = [r for r in runs if r.verdict.status == "unconverged"]
        if slow:  # still improving at the last epoch: the budget, not the arithmetic, ran out
            best = min(slow, key=lambda r: (r.verdict.loss, r.arm.label(swept)))
            rec.items.append("train longer (--epochs)")
            rec.because.append(f"none of the {len(runs)} runs converged ({summary}); {len(slow)} were still improving "
                               f"at the last epoch, e.g. {best.arm.label(swept)} ({best.verdict.reason})")
        else:
            rec.items.append("the model or data is at fault: check the audit")
            rec.because.append(f"none of the {len(runs)} runs converged ({summary})")
        if "scaling" not in swept and result.condition_number > COND_SCALING_HINT:
            rec.items.append("sweep scaling too")
            rec.because.append(f"cond(X^T X) = {fmt(result.condition_number)} and only raw features were tried")
        if result.source != "synthetic" and not slow:
            rec.because.append(f"audit the table: mlstablint audit {result.source}")
        _layer_item(rec, result)
        return rec
    if len(converged) == len(runs) and not any(r.layers is not None and r.layers.failing_layer for r in runs):
        rec.items.append("no change needed")
        rec.because.append(f"all {len(runs)} runs converged")
        return rec

    if "scaling" in swept:
        pairs = _pairs(runs, "scaling", lambda a, b: a == "raw" and b == "standard")
        if pairs:
            rec.items.append("scale features")
            rec.because.append(_cond_drop(result) + _example(pairs, "scaling", swept)
                               + (" — control arms the lab added" if "scaling" in result.controls else ""))
    if "loss" in swept:
        pairs = _pairs(runs, "loss", lambda a, b: a == "naive" and b == "stable")
        if pairs:
            rec.items.append("use the stable loss")
            rec.because.append(_example(pairs, "loss", swept))
    if "precision" in swept:
        pairs = _pairs(runs, "precision", lambda a, b: _DTYPE_RANK[b] > _DTYPE_RANK[a])
        if pairs:
            worst_failing = max(_DTYPE_RANK[r.arm.dtype] for r, _ in pairs)
            cheapest = min((s.arm.dtype for r, s in pairs if _DTYPE_RANK[r.arm.dtype] == worst_failing),
                           key=_DTYPE_RANK.__getitem__)
            rec.items.append({"float64": "use float64", "float32": "use float32 or wider"}.get(cheapest,
                                                                                               f"use {cheapest}"))
            widest = [pair for pair in pairs if _DTYPE_RANK[pair[0].arm.dtype] == worst_failing]
            rec.because.append(_example(pairs, "precision", swept, among=widest))
        _policy_item(rec, result)
    if "lr" in swept:
        lower = _pairs(runs, "lr", lambda a, b: b < a)
        higher = _pairs(runs, "lr", lambda a, b: b > a)
        hi = max((s.arm.lr for _, s in lower), default=None)
        lo = min((s.arm.lr for _, s in higher), default=None)
        if hi is not None and lo is not None and lo <= hi:
            rec.items.append(f"use lr in [{fmt_hyper(lo)}, {fmt_hyper(hi)}]" if lo < hi else f"use lr={fmt_hyper(lo)}")
        else:
            if hi is not None:
                rec.items.append(f"lower lr (≤ {fmt_hyper(hi)})")
            if lo is not None:
                rec.items.append(f"raise lr (≥ {fmt_hyper(lo)})")
        if lower:
            rec.because.append(_example(lower, "lr", swept, hi))
        if higher:
            rec.because.append(_example(higher, "lr", swept, lo))
    if "lambda" in swept:
        pairs = _pairs(runs, "lambda", lambda a, b: b > a)
        if pairs:
            least = min(s.arm.lam for _, s in pairs)
            verb = "raise" if all(r.arm.lam > 0 for r, _ in pairs) else "add"
            rec.items.append(f"{verb} L2 (lambda ≥ {fmt_hyper(least)})")
            rec.because.append(_example(pairs, "lambda", swept, least))
    _layer_item(rec, result)
    if not rec.items and converged:
        best = min(converged, key=lambda r: (r.verdict.loss, r.verdict.epoch))
        rec.items.append(f"use a configuration that converged: {best.arm.label(swept)}")
        rec.because.append(f"{len(converged)} of {len(runs)} runs converged, and no single swept setting separates "
                           "them from the others")
    return rec
