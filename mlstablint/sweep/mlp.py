"""`--task mlp`: a small multi-layer perceptron in numpy, and which of its layers fails first, and why.

The network: hidden layers of the given widths with one activation (relu, tanh or sigmoid), then a linear
output layer with a softmax cross-entropy over the classes of the target. Weights are initialised
`xavier` (normal, std √(2/(fan_in+fan_out))), `he` (std √(2/fan_in)) or `normal` (std 1), each layer's
std multiplied by its *gain* (default 1: a gain of 8 on one layer is the classic saturating init).
Training is full-batch or mini-batch gradient descent under the arm's precision policy (see `precision`):
the same arithmetic, loss scaling and master weights as the linear tasks.

Per layer and epoch (on the full data at the start of the epoch) the trace keeps the activation range,
the saturated share (sigmoid outputs below `SAT_LOW` or above 1 - `SAT_LOW`, tanh outputs beyond
±(1 - `SAT_LOW`); for relu the share of *dead* units, zero on every row), the gradient norm of the layer's
weights and the ratio ‖ΔW‖/‖W‖ of the update it received, and the first layer where a non-finite value
appears (forward pass first, then backward). The diagnosis names the layer that failed first — the
earliest epoch at which a layer went non-finite, saturated (≥ `SATURATION_ALERT` of its units), died
(relu, ≥ `DEAD_ALERT`), or saw its gradient norm grow by `EXPLODE_FACTOR` — and the layers up to it whose
updates stayed below the resolution of the weights' dtype from then on (‖ΔW‖ ≤ eps·‖W‖): the gradient that
reached them was too small to move them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mlstablint.sweep import primitives as P
from mlstablint.sweep.precision import EPS, Arithmetic, policy_of
from mlstablint.sweep.signatures import Monitor, Verdict, fmt

if TYPE_CHECKING:
    from mlstablint.sweep.lab import Arm, Problem, Run

Array = npt.NDArray[Any]
ACTIVATIONS = ("relu", "tanh", "sigmoid")
INITS = ("xavier", "he", "normal")
SAT_LOW = 0.01
SATURATION_ALERT = 0.9
DEAD_ALERT = 0.5
EXPLODE_FACTOR = 1e4


@dataclass(frozen=True)
class Net:
    hidden: tuple[int, ...] = (16, 16, 16)
    activation: str = "tanh"
    init: str = "xavier"
    gains: tuple[float, ...] = ()  # per layer (hidden layers, then the output layer); missing ones are 1

    def gain(self, layer: int) -> float:
        return self.gains[layer] if layer < len(self.gains) else 1.0

    def label(self) -> str:
        gains = f", gains {','.join(f'{g:g}' for g in self.gains)}" if any(g != 1 for g in self.gains) else ""
        return f"{'-'.join(str(h) for h in self.hidden)} {self.activation}, {self.init} init{gains}"


@dataclass
class LayerTrace:
    """Per layer (1-based in text, 0-based in the lists) and epoch: what each layer did."""

    activation: str
    widths: list[int]
    act_min: list[list[float]] = field(default_factory=list)  # [epoch][layer]
    act_max: list[list[float]] = field(default_factory=list)
    saturation: list[list[float]] = field(default_factory=list)  # saturated (or dead) share, hidden layers
    grad_norm: list[list[float]] = field(default_factory=list)
    update_ratio: list[list[float]] = field(default_factory=list)
    first_non_finite: dict[str, Any] | None = None  # {"epoch", "layer", "pass"}
    failing_layer: int | None = None  # 1-based
    diagnosis: str = ""

    def to_json(self) -> dict[str, Any]:
        def rows(table: list[list[float]]) -> list[list[float | str]]:
            from mlstablint.sweep.signatures import json_number

            return [[json_number(v) for v in row] for row in table]

        return {"activation": self.activation, "widths": list(self.widths), "act_min": rows(self.act_min),
                "act_max": rows(self.act_max), "saturation": rows(self.saturation),
                "grad_norm": rows(self.grad_norm), "update_ratio": rows(self.update_ratio),
                "first_non_finite": self.first_non_finite, "failing_layer": self.failing_layer,
                "diagnosis": self.diagnosis}


def _activate(kind: str, z: Array) -> Array:
    if kind == "relu":
        return np.maximum(z, np.zeros((), dtype=z.dtype))
    if kind == "tanh":
        return np.tanh(z)
    return P.sigmoid(z)


def _derivative(kind: str, z: Array, a: Array) -> Array:
    one = np.ones((), dtype=a.dtype)
    if kind == "relu":
        return (z > 0).astype(a.dtype)
    if kind == "tanh":
        return np.asarray(one - a * a)
    return np.asarray(a * (one - a))


def saturated_share(kind: str, a: Array) -> float:
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.nan
    if kind == "relu":
        return float(np.mean(np.all(a <= 0, axis=0)))  # dead units: zero on every row
    a64 = a.astype(np.float64)
    if kind == "tanh":
        return float(np.mean(np.abs(a64) >= 1 - SAT_LOW))
    return float(np.mean((a64 <= SAT_LOW) | (a64 >= 1 - SAT_LOW)))


def init_weights(net: Net, d: int, k: int, seed: int) -> list[tuple[Array, Array]]:
    rng = np.random.default_rng([seed, 7])
    sizes = [d, *net.hidden, k]
    params = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        std = {"xavier": math.sqrt(2.0 / (fan_in + fan_out)), "he": math.sqrt(2.0 / fan_in),
               "normal": 1.0}[net.init] * net.gain(i)
        params.append((rng.normal(0.0, std, (fan_in, fan_out)), np.zeros(fan_out)))
    return params


def _norm(a: Array) -> float:
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.sum(np.square(a.astype(np.float64)))))


class _Network:
    """Forward and backward passes of the MLP under one precision policy."""

    def __init__(self, net: Net, arith: Arithmetic, y: Array, k: int, naive: bool) -> None:
        self.net, self.arith, self.naive = net, arith, naive
        self.loss_dt = np.dtype(np.float32) if arith.policy.accumulate == "float32" else arith.compute
        self.yidx = np.asarray(y, dtype=np.intp)
        self.Y = np.eye(k, dtype=self.loss_dt)[self.yidx]

    def forward(self, X: Array, params: list[tuple[Array, Array]]) -> tuple[list[Array], list[Array]]:
        zs, acts = [], [X]
        for i, (W, b) in enumerate(params):
            z = self.arith.dot(acts[-1], W) + b
            zs.append(z)
            acts.append(z if i == len(params) - 1 else _activate(self.net.activation, z))
        return zs, acts

    def backward(self, zs: list[Array], acts: list[Array], params: list[tuple[Array, Array]],
                 rows: Array | None) -> tuple[Array, list[tuple[Array, Array]]]:
        """(loss, [(dW, db) per layer]) of the mean cross-entropy, scaled by the loss scale."""
        arith = self.arith
        logits = zs[-1].astype(self.loss_dt, copy=False)
        yi = self.yidx if rows is None else self.yidx[rows]
        Y = self.Y if rows is None else self.Y[rows]
        if self.naive:
            loss, p = P.naive_softmax_cross_entropy(yi, logits), P.naive_softmax(logits, axis=1)
        else:
            loss, p = P.softmax_cross_entropy(yi, logits), P.softmax(logits, axis=1)
        dz = ((p - Y) * np.asarray(arith.scale / len(logits), dtype=self.loss_dt)).astype(arith.compute)
        grads: list[tuple[Array, Array]] = []
        for i in range(len(params) - 1, -1, -1):
            grads.append((arith.dot(acts[i].T, dz), arith.total(dz, axis=0)))
            if i:
                da = arith.dot(dz, params[i][0].T)
                dz = da * _derivative(self.net.activation, zs[i - 1], acts[i])
        return loss, grads[::-1]


def train_mlp(problem: Problem, arm: Arm, X: Array, epochs: int, batch_size: int | None, seed: int,
              convergence_tol: float, counter: Any) -> tuple[Verdict, Monitor, LayerTrace, Any]:
    """Train the problem's MLP for one arm; the caller owns the floating-point warning counter."""
    net: Net = problem.net if problem.net is not None else Net()
    arith = Arithmetic(policy_of(arm.dtype))
    k = max(problem.n_outputs, 2)
    monitor = Monitor(arith.policy.master, convergence_tol,
                      loss_dtype="float32" if arith.policy.accumulate == "float32" else arith.policy.compute)
    trace = LayerTrace(net.activation, [*net.hidden, k])
    masters = [(arith.to_master(W), arith.to_master(b)) for W, b in init_weights(net, X.shape[1], k, seed)]
    lr, lam = np.asarray(arm.lr, dtype=arith.master), np.asarray(arm.lam, dtype=arith.master)
    network = _Network(net, arith, problem.y, k, arm.loss == "naive")
    Xc = arith.cast(X)
    n = len(Xc)
    verdict: Verdict | None = None
    for epoch in range(1, epochs + 1):
        params = [(arith.cast(W), arith.cast(b)) for W, b in masters]
        zs, acts = network.forward(Xc, params)
        loss, grads = _gradients(network, zs, acts, params, None)
        loss = loss + 0.5 * float(arm.lam) * sum(float(np.sum(np.square(W.astype(np.float64)))) for W, _ in masters)
        unscaled = [(arith.unscale(gW) + lam * Wm, arith.unscale(gb)) for (gW, gb), (Wm, _) in zip(grads, masters,
                                                                                                   strict=True)]
        start = [(W.copy(), b.copy()) for W, b in masters]
        if batch_size is None or batch_size >= n:
            for g, _ in grads:
                arith.count(g, None)
            masters = [(arith.step(Wm, gW, lr), arith.step(bm, gb, lr))
                       for (Wm, bm), (gW, gb) in zip(masters, unscaled, strict=True)]
            arith.end_step()
        else:
            order = np.random.default_rng([seed, epoch - 1]).permutation(n)
            for s in range(0, n, batch_size):
                rows = order[s:s + batch_size]
                bp = [(arith.cast(W), arith.cast(b)) for W, b in masters]
                bz, ba = network.forward(Xc[rows], bp)
                _, bg = _gradients(network, bz, ba, bp, rows)
                masters = [(arith.step(Wm, arith.unscale(gW) + lam * Wm, lr), arith.step(bm, arith.unscale(gb), lr))
                           for (Wm, bm), (gW, gb) in zip(masters, bg, strict=True)]
                arith.end_step()
        _record(trace, epoch, zs, acts, unscaled, start, masters)
        grad_norm = math.sqrt(sum(_norm(gW) ** 2 + _norm(gb) ** 2 for gW, gb in unscaled))
        update_norm = math.sqrt(sum(_norm(W - W0) ** 2 + _norm(b - b0) ** 2
                                    for (W, b), (W0, b0) in zip(masters, start, strict=True)))
        param_norm = math.sqrt(sum(_norm(W) ** 2 + _norm(b) ** 2 for W, b in start))
        finite = all(bool(np.all(np.isfinite(W)) and np.all(np.isfinite(b))) for W, b in masters)
        verdict = monitor.observe(float(loss), grad_norm, update_norm, param_norm, finite, counter.close_epoch())
        if verdict is not None:
            break
    if verdict is None:
        verdict = monitor.finish()
    diagnose(trace, arith.policy.master)
    return verdict, monitor, trace, arith.stats


def _gradients(network: _Network, zs: list[Array], acts: list[Array], params: list[tuple[Array, Array]],
               rows: Array | None) -> tuple[Any, list[tuple[Array, Array]]]:
    """The backward pass; under dynamic loss scaling a non-finite gradient halves the scale and is redone."""
    while True:
        loss, grads = network.backward(zs, acts, params, rows)
        if network.arith.scaled_finite(*(g for pair in grads for g in pair)):
            return loss, grads


def _record(trace: LayerTrace, epoch: int, zs: list[Array], acts: list[Array],
            grads: list[tuple[Array, Array]], start: list[tuple[Array, Array]],
            masters: list[tuple[Array, Array]]) -> None:
    layers = len(zs)
    hidden = acts[1:layers]  # the activations of the hidden layers; the output layer's are its logits
    outs = [*hidden, zs[-1]]
    with np.errstate(all="ignore"):
        trace.act_min.append([float(np.min(a.astype(np.float64))) if a.size else math.nan for a in outs])
        trace.act_max.append([float(np.max(a.astype(np.float64))) if a.size else math.nan for a in outs])
    trace.saturation.append([saturated_share(trace.activation, a) for a in hidden])
    trace.grad_norm.append([_norm(gW) for gW, _ in grads])
    trace.update_ratio.append([_norm(W - W0) / max(_norm(W0), 1e-300) for (W, _), (W0, _) in
                               zip(masters, start, strict=True)])
    if trace.first_non_finite is None:
        for i, z in enumerate(zs):
            if not np.all(np.isfinite(z)):
                trace.first_non_finite = {"epoch": epoch, "layer": i + 1, "pass": "forward"}
                return
        for i in range(layers - 1, -1, -1):
            if not np.all(np.isfinite(grads[i][0])):
                trace.first_non_finite = {"epoch": epoch, "layer": i + 1, "pass": "backward"}
                return


def _ranges(layers: list[int]) -> str:
    """[1, 2, 3, 5] → 'layers 1–3, 5'; [2] → 'layer 2'."""
    parts, start = [], layers[0]
    for prev, cur in zip(layers, [*layers[1:], None], strict=True):
        if cur != prev + 1:
            parts.append(f"{start}–{prev}" if prev > start else f"{prev}")
            if cur is not None:
                start = cur
    return ("layers " if len(layers) > 1 else "layer ") + ", ".join(parts)


def diagnose(trace: LayerTrace, master: str) -> None:
    """Name the layer that failed first and why (see the module docstring)."""
    causes: list[tuple[int, int, str]] = []  # (epoch, layer 1-based, text)
    if trace.first_non_finite is not None:
        f = trace.first_non_finite
        causes.append((f["epoch"], f["layer"], f"layer {f['layer']}: first non-finite value in the {f['pass']} pass "
                                               f"at epoch {f['epoch']}"))
    kind = "units dead (zero on every row)" if trace.activation == "relu" else f"{trace.activation} units saturated"
    alert = DEAD_ALERT if trace.activation == "relu" else SATURATION_ALERT
    for layer in range(len(trace.widths) - 1):
        for e, row in enumerate(trace.saturation, start=1):
            if row[layer] >= alert:
                causes.append((e, layer + 1, f"layer {layer + 1}: {fmt(100 * row[layer])} % of {kind} by epoch {e}"))
                break
    first = trace.grad_norm[0] if trace.grad_norm else []
    for layer in range(len(first)):
        for e, row in enumerate(trace.grad_norm, start=1):
            if first[layer] > 0 and math.isfinite(row[layer]) and row[layer] >= EXPLODE_FACTOR * first[layer]:
                causes.append((e, layer + 1, f"layer {layer + 1}: gradient norm grew ×{fmt(row[layer] / first[layer])} "
                                             f"by epoch {e}"))
                break
    if not causes:
        trace.failing_layer, trace.diagnosis = None, ""
        return
    epoch, layer, text = min(causes)
    trace.failing_layer = layer
    eps = EPS[master]
    below = [i + 1 for i in range(layer) if trace.update_ratio and all(
        0 <= row[i] <= eps for row in trace.update_ratio[epoch - 1:])]
    if below:
        text += f"; updates of {_ranges(below)} below {master} resolution (‖ΔW‖ ≤ {fmt(eps)}·‖W‖)"
    trace.diagnosis = text


def to_run(problem: Problem, arm: Arm, X: Array, epochs: int, batch_size: int | None, seed: int,
           convergence_tol: float) -> Run:
    """Train the MLP arm and wrap it as a lab Run (floating-point warnings counted like the linear tasks)."""
    from mlstablint.sweep.lab import Run, _FPCounter

    counter = _FPCounter()
    with np.errstate(all="call", call=counter):
        verdict, monitor, trace, stats = train_mlp(problem, arm, X, epochs, batch_size, seed, convergence_tol,
                                                   counter)
    history = {"loss": monitor.losses, "grad_norm": monitor.grad_norms, "update_norm": monitor.update_norms}
    return Run(arm, verdict, history, counter.totals(), precision=stats, layers=trace)
