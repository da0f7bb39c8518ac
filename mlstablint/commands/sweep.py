"""`mlstablint sweep`: parse the command's options, run the lab, render. Raises SweepUsageError (exit 2)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlstablint.sweep.lab import AXES, DEFAULT_EPOCHS, DEFAULT_SEED, DEFAULT_SWEEP, LOSS_FORMS, SCALINGS, TASKS
from mlstablint.sweep.precision import POLICIES

MAX_EPOCHS = 100_000


class SweepUsageError(Exception):
    """A one-line error about how `sweep` was called."""


@dataclass
class SweepArgs:
    task: str = "logistic_regression"
    sweep: str | None = None
    data: Path | None = None
    target: str | None = None
    epochs: int = DEFAULT_EPOCHS
    batch_size: int | None = None
    seed: int = DEFAULT_SEED
    precision: str | None = None
    lr: str | None = None
    lam: str | None = None
    scaling: str | None = None
    loss: str | None = None
    fmt: str = "text"
    plot: Path | None = None
    hidden: str | None = None  # --task mlp: hidden layer widths, e.g. "16,16,16"
    activation: str = "tanh"
    init: str = "xavier"
    init_gain: str | None = None  # per-layer init gains, e.g. "1,1,30,1"


def _axes(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_SWEEP
    axes = tuple(a.strip().lower() for a in text.split(",") if a.strip())
    aliases = {"dtype": "precision", "l2": "lambda", "lam": "lambda", "scale": "scaling"}
    axes = tuple(aliases.get(a, a) for a in axes)
    unknown = [a for a in axes if a not in AXES]
    if unknown or not axes:
        raise SweepUsageError(f"unknown sweep axis {unknown[0]!r} (choose from {', '.join(AXES)})" if unknown
                              else f"--sweep needs at least one axis ({', '.join(AXES)})")
    if len(set(axes)) != len(axes):
        raise SweepUsageError(f"--sweep names an axis twice: {text}")
    return axes


def _numbers(option: str, text: str, lower: float, upper: float) -> tuple[float, ...]:
    values = []
    for part in text.split(","):
        try:
            v = float(part.strip())
        except ValueError:
            raise SweepUsageError(f"{option}: {part.strip()!r} is not a number") from None
        if not lower <= v <= upper:
            raise SweepUsageError(f"{option}: {part.strip()} is outside [{lower:g}, {upper:g}]")
        values.append(v)
    return tuple(dict.fromkeys(values))


def _choices(option: str, text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise SweepUsageError(f"{option}: unknown value {bad[0] if bad else text!r} (choose from {', '.join(allowed)})")
    return values


def values_of(args: SweepArgs, axes: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    given: dict[str, tuple[Any, ...]] = {}
    if args.precision is not None:
        given["precision"] = _choices("--precision", args.precision, tuple(POLICIES))
    if args.lr is not None:
        given["lr"] = _numbers("--lr", args.lr, 1e-30, 1e6)
    if args.lam is not None:
        given["lambda"] = _numbers("--lambda", args.lam, 0.0, 1e6)
    if args.scaling is not None:
        given["scaling"] = _choices("--scaling", args.scaling, SCALINGS)
    if args.loss is not None:
        given["loss"] = _choices("--loss", args.loss, LOSS_FORMS)
    for axis, values in given.items():
        if axis not in axes and len(values) != 1:
            raise SweepUsageError(f"{axis} is not in --sweep, so it takes one value (got {len(values)}); "
                                  f"add it to --sweep to sweep it")
    return given


MLP_DEFAULT_SWEEP = ("precision", "lr")
MAX_WIDTH = 1024
MAX_DEPTH = 16


def net_of(args: SweepArgs) -> Any:
    """The --task mlp network from the command's options (usage errors for anything out of range)."""
    from mlstablint.sweep.mlp import ACTIVATIONS, INITS, Net

    hidden: tuple[int, ...] = (16, 16, 16)
    if args.hidden is not None:
        parts = [p.strip() for p in args.hidden.split(",")]
        if not all(p.isdigit() and 1 <= int(p) <= MAX_WIDTH for p in parts) or not 1 <= len(parts) <= MAX_DEPTH:
            raise SweepUsageError(f"--hidden: 1 to {MAX_DEPTH} layer widths in [1, {MAX_WIDTH}], e.g. 16,16,16")
        hidden = tuple(int(p) for p in parts)
    activation = _choices("--activation", args.activation, ACTIVATIONS)[0]
    init = _choices("--init", args.init, INITS)[0]
    gains: tuple[float, ...] = ()
    if args.init_gain is not None:
        _numbers("--init-gain", args.init_gain, 1e-6, 1e6)  # one-line errors for anything but numbers in range
        gains = tuple(float(part) for part in args.init_gain.split(","))
        if len(gains) > len(hidden) + 1:
            raise SweepUsageError(f"--init-gain: {len(gains)} gains for {len(hidden) + 1} layers")
    return Net(hidden, activation, init, gains)


def run(args: SweepArgs) -> tuple[str, Any]:
    """Validate, run the sweep; return the rendered report and the result."""
    task = args.task.strip().lower()
    if task not in TASKS:
        raise SweepUsageError(f"unknown task {args.task!r} (choose from {', '.join(TASKS)})")
    axes = _axes(args.sweep) if args.sweep is not None or task != "mlp" else MLP_DEFAULT_SWEEP
    values = values_of(args, axes)
    if task != "mlp" and (args.hidden is not None or args.init_gain is not None):
        raise SweepUsageError("--hidden and --init-gain need --task mlp")
    net = net_of(args) if task == "mlp" else None
    if args.fmt not in ("text", "json"):
        raise SweepUsageError(f"unknown format {args.fmt!r} (choose from text, json, html)")
    if not 1 <= args.epochs <= MAX_EPOCHS:
        raise SweepUsageError(f"--epochs must be between 1 and {MAX_EPOCHS}")
    if args.batch_size is not None and args.batch_size < 1:
        raise SweepUsageError("--batch-size must be at least 1")
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise SweepUsageError("--plot needs matplotlib: pip install 'mlstablint[plot]'") from None
    if args.data is None and args.target is not None:
        raise SweepUsageError("--target needs --data (the built-in table has its own target)")

    import numpy as np  # noqa: F401  (the lab's only hard dependency; imported here, not at CLI start-up)

    from mlstablint.sweep import lab, report

    if args.data is not None:
        from mlstablint.sweep.table import TableError, read_table

        if args.target is None:
            raise SweepUsageError("--data needs --target COL (the column to predict)")
        if not args.data.exists():
            raise SweepUsageError(f"{args.data}: no such file or directory")
        try:  # the mlp task learns classes, like softmax_regression
            problem = read_table(args.data, args.target, "softmax_regression" if task == "mlp" else task,
                                 seed=args.seed)
        except TableError as exc:
            raise SweepUsageError(str(exc).replace("softmax_regression", task)) from None
    else:
        from mlstablint.sweep.synthetic import make_problem

        problem = make_problem(task, seed=args.seed)
    if net is not None:
        problem = dataclasses.replace(problem, task="mlp", net=net)
    result = lab.sweep(problem, axes, values, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    if args.plot is not None:
        try:
            report.write_plot(result, args.plot)
        except report.PlotError as exc:
            raise SweepUsageError(str(exc)) from None
    text = report.render_json(result) if args.fmt == "json" else report.render_text(result)
    return text, result
