"""Render a sweep: text for people, JSON for programs, a PNG of the loss curves. No computation here.

JSON (stable keys, byte-deterministic for the same inputs; non-finite numbers as the strings "inf",
"-inf" and "nan" so the document stays valid JSON; history values rounded to 6 significant digits):

    {"version", "task", "data", "settings": {"epochs", "batch_size", "seed", "rows", "features", "axes", "grid"},
     "condition_number_xtx", "condition_number_xtx_scaled", "rank",
     "runs": [{"dtype", "lr", "lambda", "scaling", "loss_form", "status", "epoch", "loss", "reason",
               "fp_warnings": {"divide", "invalid", "overflow", "underflow"},
               "history": {"loss": [...], "grad_norm": [...], "update_norm": [...]}}],
     "recommendation": {"text", "because": [...]}, "notes": [...],
     "controls", "control_reason", "lr_bound", "lr_bound_scaled", "lr_edges": [...], "policies": null | {...},
     "divergence_onsets": {...}}

and, per run after "history": "control", "precision" (PrecisionStats), "phases" (phases.Phases) and "layers"
(mlp.LayerTrace, MLP task; else null). New keys are only ever appended: consumers may rely on the old ones.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from mlstablint.sweep.lab import LrEdge, SweepResult, fmt_hyper
from mlstablint.sweep.precision_report import PolicyOutcome
from mlstablint.sweep.signatures import FAILURES, fmt
from mlstablint.sweep.signatures import json_number as _num


def to_json(result: SweepResult) -> dict[str, Any]:
    from mlstablint import __version__

    runs = [run.to_json() for run in result.runs]
    return {
        "version": __version__,
        "task": result.task,
        "data": result.source,
        "settings": {"epochs": result.epochs, "batch_size": result.batch_size, "seed": result.seed,
                     "rows": result.rows, "features": result.features, "axes": list(result.axes),
                     "grid": {axis: list(values) for axis, values in result.values.items()}},
        "condition_number_xtx": _num(result.condition_number),
        "condition_number_xtx_scaled": _num(result.condition_number_scaled),
        "rank": result.rank,
        "runs": runs,
        "recommendation": result.recommendation.to_json(),
        "notes": list(result.notes),
        "controls": list(result.controls),
        "control_reason": result.control_reason,
        "lr_bound": _num(result.lr_bound),
        "lr_bound_scaled": _num(result.lr_bound_scaled),
        "lr_edges": [edge.to_json() for edge in result.lr_edges],
        "policies": result.policies.to_json() if result.policies is not None else None,
        "divergence_onsets": result.phase_summary.to_json() if result.phase_summary is not None else None,
    }


def render_json(result: SweepResult) -> str:
    return json.dumps(to_json(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_text(result: SweepResult) -> str:
    batch = "full-batch GD" if result.batch_size is None else f"mini-batch GD (batch {result.batch_size})"
    fixed = ""
    if result.runs:  # the settings that the Run lines do not show: scaling and loss form when not swept
        arm = result.runs[0].arm
        shown = [f"{axis}={arm.value(axis)}" for axis in ("scaling", "loss") if axis not in result.compared]
        fixed = f"; {', '.join(shown)}" if shown else ""
    lines = [f"Stability lab: {result.task} on {result.source} ({result.rows} rows × {result.features} features, "
             f"{batch}, {result.epochs} epochs, seed {result.seed}{fixed})"]
    lines.extend(f"Note: {note}" for note in result.notes)
    if result.control_reason:
        lines.append(f"Control: {result.control_reason}")
    for run in result.runs:
        mark = " [control]" if run.control else ""
        lines.append(f"Run {run.arm.label(result.compared)}{mark}: {run.verdict.status} ({run.verdict.reason})")
        if run.phases is not None and (run.phases.onset is not None or run.verdict.status in FAILURES):
            lines.append(f"  phases: {run.phases.text()}")
        if run.layers is not None and run.layers.diagnosis:
            lines.append(f"  layers: {run.layers.diagnosis}")
    cond = f"Condition number(X^T X): {fmt(result.condition_number)}"
    if result.rank < result.features + 1:
        cond += f", rank {result.rank} of {result.features + 1} columns with the intercept"
    cond += f" (standardised: {fmt(result.condition_number_scaled)})"
    lines.append(cond)
    if math.isfinite(result.lr_bound):
        lines.append(f"Curvature bound on a stable lr (2/L at the start): {fmt(result.lr_bound)} "
                     f"(standardised: {fmt(result.lr_bound_scaled)})")
    if result.lr_edges:
        lines.append("Learning-rate edge (the largest stable lr below the first unstable one):")
        lines.extend(f"  {_edge_text(edge)}" for edge in result.lr_edges)
    if result.phase_summary is not None and result.phase_summary.text():
        lines.append(result.phase_summary.text())
    if result.policies is not None:
        pol = result.policies
        lines.append(f"Precision policies at {pol.reference} (float64 final loss {fmt(pol.reference_loss)}, "
                     f"tolerance {fmt(100 * pol.tolerance)} %):")
        lines.extend(f"  {_policy_text(o)}" for o in pol.outcomes)
    lines.append(f"Recommendation: {result.recommendation.text}")
    lines.extend(f"  because {why}" for why in result.recommendation.because)
    return "\n".join(lines) + "\n"


def _edge_text(edge: LrEdge) -> str:
    where = f"{edge.dtype} {edge.settings}" + (" [control]" if edge.control else "")
    first = edge.unstable[0] if edge.unstable else None
    failed = f"lr={fmt_hyper(first[0])} {first[1]} at epoch {first[2]}" if first else ""
    if edge.probes:
        lo = f"stable up to lr={fmt(edge.edge)}" if edge.edge is not None else "no stable lr found"
        hi = f"unstable from lr={fmt(edge.first_unstable)}" if edge.first_unstable is not None else \
            "no unstable lr found"
        return f"{where}: {lo}, {hi} ({len(edge.probes)} probe runs); in the grid: {failed or 'all stable'}"
    if edge.edge is None:
        return f"{where}: no stable lr in the grid ({failed})"
    if first is None:
        return f"{where}: stable for every lr tried (up to {fmt_hyper(edge.edge)})"
    return f"{where}: stable up to lr={fmt_hyper(edge.edge)}; {failed}"


def _policy_text(o: PolicyOutcome) -> str:
    verdict = f"{o.status} at epoch {o.epoch}"
    gap = f"final loss {'+' if o.relative_gap >= 0 else ''}{fmt(100 * o.relative_gap)} % vs float64"
    extra = f", underflowed gradients {fmt(100 * o.underflow_fraction)} %, lost updates " \
            f"{fmt(100 * o.lost_update_fraction)} %"
    if o.skipped_steps:
        extra += f", {o.skipped_steps} skipped steps"
    return f"{o.policy}: {verdict}, {gap}{extra}{' — matches' if o.matches else ''}"


PHASE_COLOURS = {"warm-up": "tab:blue", "stable descent": "tab:green", "plateau": "tab:gray",
                 "oscillation": "tab:orange", "divergence": "tab:red", "blow-up": "black"}


class PlotError(Exception):
    """The plot cannot be written (matplotlib missing, or the file not writable)."""


def write_plot(result: SweepResult, path: Path) -> None:
    """A PNG of the per-run loss curves: one panel per dtype (and scaling/loss form when compared), log scale,
    each divergence onset a dashed line and one run's phases shaded per panel; for the MLP task, a last row
    of layer × epoch heatmaps of the gradient norm (log scale) of the runs whose attribution named a layer."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError("--plot needs matplotlib: pip install 'mlstablint[plot]'") from None

    def panel_key(run: Any) -> tuple[str, ...]:
        key = [run.arm.dtype]
        if "scaling" in result.compared:
            key.append(run.arm.scaling + (" (control)" if run.control else ""))
        if "loss" in result.compared:
            key.append(f"{run.arm.loss} loss")
        return tuple(key)

    panels: dict[tuple[str, ...], list[Any]] = {}
    for run in result.runs:
        panels.setdefault(panel_key(run), []).append(run)
    layered = [run for run in result.runs if run.layers is not None and run.layers.grad_norm]
    heatmaps = ([run for run in layered if run.layers.failing_layer is not None] or layered)[:3]
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols) + (1 if heatmaps else 0)
    fig, axes = plt.subplots(rows, max(cols, len(heatmaps)), figsize=(5 * cols, 3.6 * rows), squeeze=False)
    loss_axes = list(axes.flat)[:len(panels)]
    for ax, (key, runs) in zip(loss_axes, panels.items(), strict=True):
        shaded = next((r for r in runs if r.phases is not None and r.phases.onset is not None), runs[0])
        for run in runs:
            ys = [v if math.isfinite(v) and v > 0 else math.nan for v in run.history["loss"]]
            xs = list(range(1, len(ys) + 1))
            label = f"lr={fmt_hyper(run.arm.lr)} lambda={fmt_hyper(run.arm.lam)}: {run.verdict.status}"
            (line,) = ax.plot(xs, ys, label=label, linewidth=1.2)
            finite = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
            if run.verdict.status != "converged" and finite:
                ax.plot(*finite[-1], marker="x", color=line.get_color())
            if run.phases is not None and run.phases.onset is not None:
                ax.axvline(run.phases.onset, color=line.get_color(), linestyle="--", linewidth=0.8)
        if shaded.phases is not None:  # the phases of one run per panel, the first that diverged
            for phase in shaded.phases.phases:
                ax.axvspan(phase.start - 0.5, phase.end + 0.5, color=PHASE_COLOURS[phase.name], alpha=0.15, lw=0)
            ax.text(0.01, 0.01, f"shaded: phases of lr={fmt_hyper(shaded.arm.lr)} lambda={fmt_hyper(shaded.arm.lam)}",
                    transform=ax.transAxes, fontsize=6)
        ax.set_yscale("log")
        ax.set_title(" · ".join(key), fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(fontsize=6, loc="best")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    for ax, run in zip(list(axes[-1]), heatmaps, strict=False):
        with np.errstate(divide="ignore", invalid="ignore"):
            grid = np.log10(np.asarray(run.layers.grad_norm, dtype=np.float64).T)
        grid = np.where(np.isfinite(grid), grid, np.nan)
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest",
                          extent=(0.5, grid.shape[1] + 0.5, 0.5, grid.shape[0] + 0.5))
        fig.colorbar(image, ax=ax, label="log10 |grad W|")
        ax.set_visible(True)
        ax.set_xlabel("epoch")
        ax.set_ylabel("layer")
        ax.set_title(f"{run.arm.label(result.compared)}:\n|grad W| per layer", fontsize=7)
    fig.suptitle(f"{result.task} on {result.source}: {result.recommendation.text}", fontsize=10)
    fig.tight_layout()
    try:
        fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    except OSError as exc:
        raise PlotError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
