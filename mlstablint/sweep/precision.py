"""Precision policies: which dtype stores the data, computes, accumulates sums and holds the weights.

A policy (the value of the lab's `precision` axis) fixes four things:

* the **compute** dtype: data, logits, activations, residuals and gradients;
* the **accumulate** dtype: the sums inside matrix products and reductions. A 16-bit dtype that
  accumulates in itself sums as a tree (pairs, pairs of pairs: a reduction kernel without a wider
  accumulator) with every partial sum rounded, so a partial sum can overflow or swamp; "acc32" policies
  sum in float32 and round the result once, as GPU tensor cores and numpy's own float16 `dot` do;
* the **master** dtype: the weights the optimiser updates. The forward pass uses a copy cast to the
  compute dtype, so float32 master weights keep updates smaller than half a 16-bit ulp of the weight;
* **loss scaling**: none; *static* (the loss, hence every gradient, is multiplied by `STATIC_LOSS_SCALE`
  before the backward pass and the gradient divided by it in the master dtype: small gradients no longer
  underflow, large ones may overflow); *dynamic* (start at `DYNAMIC_INIT_SCALE`; a non-finite scaled
  gradient halves the scale and the step is skipped and retried; `DYNAMIC_GROWTH_INTERVAL` good steps in
  a row double it: torch's GradScaler rule, with a growth interval fitted to the lab's few hundred steps).

Every step also counts, per gradient component, whether it *underflowed* (exactly 0 in the compute dtype
while the float64 gradient at the same weights is not: what loss scaling exists to prevent) and whether
the update was *lost* (a non-zero gradient left the master weight unchanged: what master weights prevent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlstablint.sweep.primitives import BFLOAT16

Array = npt.NDArray[Any]

STATIC_LOSS_SCALE = 2.0**12
DYNAMIC_INIT_SCALE = 2.0**16
DYNAMIC_GROWTH_INTERVAL = 50  # good steps in a row before the dynamic scale doubles
DYNAMIC_MAX_RETRIES = 64  # halvings of the dynamic scale within one step before the step is given up


@dataclass(frozen=True)
class Policy:
    name: str
    compute: str
    accumulate: str
    master: str
    loss_scaling: str = "none"  # none | static | dynamic
    description: str = ""


# In order of cost: bytes per weight held and moved, then the extra work (float32 sums, scaling).
POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("float16", "float16", "float16", "float16", description="pure float16"),
    Policy("bfloat16", "bfloat16", "bfloat16", "bfloat16", description="pure bfloat16"),
    Policy("float16-acc32", "float16", "float32", "float16",
           description="float16 with float32 accumulation of sums"),
    Policy("float16-master32", "float16", "float32", "float32",
           description="float16 compute, float32 master weights"),
    Policy("float16-master32-static", "float16", "float32", "float32", "static",
           description=f"float16 compute, float32 master weights, static loss scale {STATIC_LOSS_SCALE:g}"),
    Policy("float16-master32-dynamic", "float16", "float32", "float32", "dynamic",
           description="float16 compute, float32 master weights, dynamic loss scaling"),
    Policy("float32", "float32", "float32", "float32", description="float32"),
    Policy("float64", "float64", "float64", "float64", description="float64 (the reference)"),
)}
COST = {name: rank for rank, name in enumerate(POLICIES)}
HALF = ("float16", "bfloat16")
# Machine epsilon of each dtype a policy computes or stores in.
EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-23, "float64": 2.0**-52}


def tree_sum(a: Array, axis: int) -> Array:
    """The sum along `axis` as a tree reduction in a's own dtype: pairs, then pairs of pairs, every partial sum
    rounded (how a GPU reduction kernel without a wider accumulator sums)."""
    x = np.moveaxis(a, axis, 0)
    if x.shape[0] == 0:
        return np.zeros(x.shape[1:], dtype=a.dtype)
    while x.shape[0] > 1:
        if x.shape[0] % 2:
            x = np.concatenate([x, np.zeros_like(x[:1])])
        x = x[0::2] + x[1::2]
    return np.asarray(x[0])


def dtype_of(name: str) -> np.dtype[Any]:
    return BFLOAT16 if name == "bfloat16" else np.dtype(name)


def policy_of(name: str) -> Policy:
    return POLICIES[name]


@dataclass
class PrecisionStats:
    """What the policy did over a run: the counts behind underflow and lost updates, the loss scale."""

    policy: str
    components: int = 0  # gradient components seen over all steps
    underflowed: int = 0
    lost: int = 0
    skipped_steps: int = 0
    final_loss_scale: float = 1.0

    @property
    def underflow_fraction(self) -> float:
        return self.underflowed / self.components if self.components else 0.0

    @property
    def lost_update_fraction(self) -> float:
        return self.lost / self.components if self.components else 0.0

    def to_json(self) -> dict[str, Any]:
        p = POLICIES[self.policy]
        return {"policy": p.name, "compute": p.compute, "accumulate": p.accumulate, "master": p.master,
                "loss_scaling": p.loss_scaling, "final_loss_scale": self.final_loss_scale,
                "skipped_steps": self.skipped_steps, "underflow_fraction": round(self.underflow_fraction, 6),
                "lost_update_fraction": round(self.lost_update_fraction, 6)}


class Arithmetic:
    """The arithmetic of one policy: casts, products and sums, loss scale, the update of master weights."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.compute = dtype_of(policy.compute)
        self.master = dtype_of(policy.master)
        self._sequential = policy.compute in HALF and policy.accumulate == policy.compute
        self._acc = None if policy.accumulate == policy.compute else dtype_of(policy.accumulate)
        self.scale = {"none": 1.0, "static": STATIC_LOSS_SCALE, "dynamic": DYNAMIC_INIT_SCALE}[policy.loss_scaling]
        self._good_steps = 0
        self.stats = PrecisionStats(policy.name)
        self._epoch = [0, 0]  # components seen, underflowed, this epoch
        self.reference = policy.compute != "float64"  # count underflow against float64 gradients

    def cast(self, a: Array) -> Array:
        return np.asarray(a).astype(self.compute)

    def to_master(self, a: Array) -> Array:
        return np.asarray(a).astype(self.master)

    def dot(self, A: Array, B: Array) -> Array:
        """A @ B in the compute dtype, summed in the accumulate dtype."""
        if self._sequential:
            B2 = B[:, None] if B.ndim == 1 else B
            products = A[:, :, None] * B2[None, :, :]  # rows × inner × cols, each product rounded
            out = tree_sum(products, axis=1)
            return out[:, 0] if B.ndim == 1 else out
        if self._acc is not None:
            return np.asarray(A.astype(self._acc) @ B.astype(self._acc)).astype(self.compute)
        return np.asarray(A @ B).astype(self.compute, copy=False)  # bfloat16 @ returns float32

    def total(self, a: Array, axis: int = 0, keepdims: bool = False) -> Array:
        """The sum of `a` along `axis` in the compute dtype, summed in the accumulate dtype."""
        if self._sequential:
            out = tree_sum(a, axis=axis)
            return np.expand_dims(out, axis) if keepdims else out
        acc = self._acc if self._acc is not None else self.compute
        return np.asarray(np.sum(a, axis=axis, keepdims=keepdims, dtype=acc)).astype(self.compute)

    def residual_factor(self, n: int) -> Array:
        """d(mean loss × scale)/d(per-row loss): scale / n in the compute dtype."""
        return np.asarray(self.scale / n, dtype=self.compute)

    def scaled_finite(self, *grads: Array) -> bool:
        """Whether a scaled gradient can be used; under dynamic scaling a non-finite one halves the scale
        and is skipped (the caller recomputes it), as long as the scale can still shrink."""
        finite = all(bool(np.all(np.isfinite(g))) for g in grads)
        if finite or self.policy.loss_scaling != "dynamic" or self.scale <= 2.0**-DYNAMIC_MAX_RETRIES:
            return True
        self.scale /= 2.0
        self._good_steps = 0
        self.stats.skipped_steps += 1
        return False

    def unscale(self, g: Array) -> Array:
        """A scaled compute-dtype gradient as an unscaled master-dtype one."""
        gm = self.to_master(g)
        return gm if self.scale == 1.0 else gm / np.asarray(self.scale, dtype=self.master)

    def count(self, g_compute: Array, g_reference: Array | None) -> None:
        """Underflow: components that are exactly 0 in the compute dtype but not in float64."""
        self.stats.components += int(g_compute.size)
        self._epoch[0] += int(g_compute.size)
        if g_reference is not None:
            under = int(np.count_nonzero((g_compute == 0) & (g_reference != 0)))
            self.stats.underflowed += under
            self._epoch[1] += under

    def epoch_underflow(self) -> float:
        """The share of gradient components that underflowed since the last call (one epoch)."""
        seen, under = self._epoch
        self._epoch = [0, 0]
        return under / seen if seen else 0.0

    def step(self, W: Array, g: Array, lr: Array) -> Array:
        """W - lr·g in the master dtype; counts the non-zero gradient components whose update was lost."""
        new = W - lr * g
        self.stats.lost += int(np.count_nonzero((g != 0) & (new == W)))
        return np.asarray(new)

    def end_step(self) -> None:
        if self.policy.loss_scaling == "dynamic":
            self._good_steps += 1
            if self._good_steps >= DYNAMIC_GROWTH_INTERVAL:
                self.scale *= 2.0
                self._good_steps = 0
        self.stats.final_loss_scale = self.scale
