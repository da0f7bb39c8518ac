"""Per-layer stability probes for a user's PyTorch model: the `--task mlp` attribution, on a real network.

Optional: torch is never required by mlstablint; this module imports it only when `attach_probes` is called.

    probes = attach_probes(model)            # forward and backward hooks on every layer with weights
    for epoch in range(epochs):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            probes.before_step()             # gradient norms, before the optimiser moves the weights
            optimiser.step(); optimiser.zero_grad()
            probes.after_step()              # update/weight ratios
        probes.end_epoch()
    print(probes.trace().diagnosis)          # "layer 3: 97 % of sigmoid units saturated by epoch 12; ..."
    probes.remove()

A *layer* is a module with a `weight` parameter (Linear, Conv…), in registration order; the activation that
follows it (the next Sigmoid / Tanh / ReLU module, or the activation named in `activation`) is the one whose
saturation is measured. The per-epoch figures are those of the epoch's last batch; the diagnosis is
`mlstablint.sweep.mlp.diagnose`, the same rules as the lab's MLP task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlstablint.sweep.mlp import LayerTrace, diagnose, saturated_share

_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu"}


@dataclass
class Probes:
    """The hooks attached to one model and what they saw (see the module docstring)."""

    layers: list[Any]
    activation: str
    master: str = "float32"
    _handles: list[Any] = field(default_factory=list)
    _act: dict[int, Any] = field(default_factory=dict)  # layer index → last output of its activation
    _out: dict[int, Any] = field(default_factory=dict)  # layer index → last output of the layer
    _grad: list[float] = field(default_factory=list)
    _before: list[Any] = field(default_factory=list)
    _ratio: list[float] = field(default_factory=list)
    _bad_grad: dict[int, bool] = field(default_factory=dict)  # layers whose output gradient went non-finite
    _trace: LayerTrace | None = None
    _epoch: int = 0

    def before_step(self) -> None:
        """Record each layer's weight-gradient norm and keep a copy of its weights."""
        self._grad = [_norm(layer.weight.grad) if layer.weight.grad is not None else 0.0 for layer in self.layers]
        self._before = [layer.weight.detach().clone() for layer in self.layers]

    def after_step(self) -> None:
        """Record each layer's ‖ΔW‖/‖W‖ for the step just taken."""
        self._ratio = [_norm(layer.weight.detach() - before) / max(_norm(before), 1e-300)
                       for layer, before in zip(self.layers, self._before, strict=True)]

    def end_epoch(self) -> None:
        """Close one epoch: append its figures to the trace."""
        self._epoch += 1
        trace = self._trace_object()
        outs = [self._out.get(i) for i in range(len(self.layers))]
        trace.act_min.append([float(np.min(o)) if o is not None and o.size else math.nan for o in outs])
        trace.act_max.append([float(np.max(o)) if o is not None and o.size else math.nan for o in outs])
        trace.saturation.append([saturated_share(self.activation, self._act[i]) if i in self._act else 0.0
                                 for i in range(len(self.layers) - 1)])
        trace.grad_norm.append(list(self._grad) or [math.nan] * len(self.layers))
        trace.update_ratio.append(list(self._ratio) or [math.nan] * len(self.layers))
        if trace.first_non_finite is None:
            for i, o in enumerate(outs):
                if o is not None and not np.all(np.isfinite(o)):
                    trace.first_non_finite = {"epoch": self._epoch, "layer": i + 1, "pass": "forward"}
                    break
            else:
                bad = [i for i in range(len(self.layers) - 1, -1, -1)
                       if self._bad_grad.get(i) or (i < len(self._grad) and not math.isfinite(self._grad[i]))]
                if bad:
                    trace.first_non_finite = {"epoch": self._epoch, "layer": bad[0] + 1, "pass": "backward"}

    def trace(self) -> LayerTrace:
        """The per-layer trace so far, with the diagnosis of the layer that failed first."""
        trace = self._trace_object()
        if trace.grad_norm:
            diagnose(trace, self.master)
        return trace

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _trace_object(self) -> LayerTrace:
        if self._trace is None:
            widths = [int(layer.weight.shape[0]) for layer in self.layers]
            self._trace = LayerTrace(self.activation, widths)
        return self._trace


def _norm(tensor: Any) -> float:
    return float(tensor.detach().double().norm())


def _numpy(tensor: Any) -> Any:
    return tensor.detach().double().cpu().numpy()


def attach_probes(model: Any, activation: str | None = None) -> Probes:
    """Attach per-layer probes to a `torch.nn.Module` (forward hooks on its layers and activations).

    `activation` (relu, tanh or sigmoid) overrides the activation found among the model's modules. Raises
    ImportError when torch is not installed and ValueError when the model has no layer with weights.
    """
    import torch  # noqa: F401  (only to fail early, with torch's own message, when it is missing)

    modules = [m for m in model.modules() if not list(m.children())]
    layers = [m for m in modules if getattr(m, "weight", None) is not None and m.weight.dim() >= 2]
    if not layers:
        raise ValueError("the model has no layer with a weight matrix to probe")
    found = next((_ACTIVATIONS[type(m).__name__] for m in modules if type(m).__name__ in _ACTIVATIONS), "relu")
    probes = Probes(layers, activation or found)
    index = {id(layer): i for i, layer in enumerate(layers)}
    current = -1
    for module in modules:
        if id(module) in index:
            current = index[id(module)]

            def on_output(_m: Any, _inputs: Any, output: Any, i: int = current) -> None:
                probes._out[i] = _numpy(output)

            def on_grad(_m: Any, _grad_in: Any, grad_out: Any, i: int = current) -> None:
                if grad_out and grad_out[0] is not None and not bool(grad_out[0].isfinite().all()):
                    probes._bad_grad.setdefault(i, True)

            probes._handles.append(module.register_forward_hook(on_output))
            probes._handles.append(module.register_full_backward_hook(on_grad))
        elif type(module).__name__ in _ACTIVATIONS and current >= 0:

            def on_activation(_m: Any, _inputs: Any, output: Any, i: int = current) -> None:
                probes._act[i] = _numpy(output).reshape(-1, output.shape[-1]) if output.dim() > 1 else _numpy(output)

            probes._handles.append(module.register_forward_hook(on_activation))
    return probes
