"""Render a sweep: text for people, JSON for programs, a PNG of the loss curves. No computation here.

JSON (stable keys, byte-deterministic for the same inputs; non-finite numbers as the strings "inf",
"-inf" and "nan" so the document stays valid JSON; history values rounded to 6 significant digits):

    {"version", "task", "data", "settings": {"epochs", "batch_size", "seed", "rows", "features", "axes", "grid"},
     "condition_number_xtx", "condition_number_xtx_scaled", "rank",
     "runs": [{"dtype", "lr", "lambda", "scaling", "loss_form", "status", "epoch", "loss", "reason",
               "fp_warnings": {"divide", "invalid", "overflow", "underflow"},
               "history": {"loss": [...], "grad_norm": [...], "update_norm": [...]}}],
     "recommendation": {"text", "because": [...]}, "notes": [...]}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mlstablint.sweep.lab import SweepResult, fmt_hyper
from mlstablint.sweep.signatures import fmt


def _num(x: float) -> float | str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.6g}")


def to_json(result: SweepResult) -> dict[str, Any]:
    from mlstablint import __version__

    runs = []
    for run in result.runs:
        runs.append({
            "dtype": run.arm.dtype,
            "lr": run.arm.lr,
            "lambda": run.arm.lam,
            "scaling": run.arm.scaling,
            "loss_form": run.arm.loss,
            "status": run.verdict.status,
            "epoch": run.verdict.epoch,
            "loss": _num(run.verdict.loss),
            "reason": run.verdict.reason,
            "fp_warnings": dict(run.warnings),
            "history": {key: [_num(v) for v in run.history[key]] for key in ("loss", "grad_norm", "update_norm")},
        })
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
    }


def render_json(result: SweepResult) -> str:
    return json.dumps(to_json(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_text(result: SweepResult) -> str:
    batch = "full-batch GD" if result.batch_size is None else f"mini-batch GD (batch {result.batch_size})"
    fixed = ""
    if result.runs:  # the settings that the Run lines do not show: scaling and loss form when not swept
        arm = result.runs[0].arm
        shown = [f"{axis}={arm.value(axis)}" for axis in ("scaling", "loss") if axis not in result.axes]
        fixed = f"; {', '.join(shown)}" if shown else ""
    lines = [f"Stability lab: {result.task} on {result.source} ({result.rows} rows × {result.features} features, "
             f"{batch}, {result.epochs} epochs, seed {result.seed}{fixed})"]
    lines.extend(f"Note: {note}" for note in result.notes)
    for run in result.runs:
        lines.append(f"Run {run.arm.label(result.axes)}: {run.verdict.status} ({run.verdict.reason})")
    cond = f"Condition number(X^T X): {fmt(result.condition_number)}"
    if result.rank < result.features + 1:
        cond += f", rank {result.rank} of {result.features + 1} columns with the intercept"
    cond += f" (standardised: {fmt(result.condition_number_scaled)})"
    lines.append(cond)
    lines.append(f"Recommendation: {result.recommendation.text}")
    lines.extend(f"  because {why}" for why in result.recommendation.because)
    return "\n".join(lines) + "\n"


class PlotError(Exception):
    """The plot cannot be written (matplotlib missing, or the file not writable)."""


def write_plot(result: SweepResult, path: Path) -> None:
    """A PNG of the per-run loss curves: one panel per dtype (and scaling/loss form when swept), log scale."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError("--plot needs matplotlib: pip install 'mlstablint[plot]'") from None

    def panel_key(run: Any) -> tuple[str, ...]:
        key = [run.arm.dtype]
        if "scaling" in result.axes:
            key.append(run.arm.scaling)
        if "loss" in result.axes:
            key.append(f"{run.arm.loss} loss")
        return tuple(key)

    panels: dict[tuple[str, ...], list[Any]] = {}
    for run in result.runs:
        panels.setdefault(panel_key(run), []).append(run)
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, (key, runs) in zip(axes.flat, panels.items(), strict=False):
        for run in runs:
            ys = [v if math.isfinite(v) and v > 0 else math.nan for v in run.history["loss"]]
            xs = list(range(1, len(ys) + 1))
            label = f"lr={fmt_hyper(run.arm.lr)} lambda={fmt_hyper(run.arm.lam)}: {run.verdict.status}"
            (line,) = ax.plot(xs, ys, label=label, linewidth=1.2)
            finite = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
            if run.verdict.status != "converged" and finite:
                ax.plot(*finite[-1], marker="x", color=line.get_color())
        ax.set_yscale("log")
        ax.set_title(" · ".join(key), fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(fontsize=6, loc="best")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{result.task} on {result.source}: {result.recommendation.text}", fontsize=10)
    fig.tight_layout()
    try:
        fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    except OSError as exc:
        raise PlotError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
