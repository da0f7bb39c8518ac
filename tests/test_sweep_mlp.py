"""`--task mlp`: gradients against finite differences, and the per-layer attribution on constructed failures."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from mlstablint.sweep import lab, mlp, synthetic
from mlstablint.sweep.lab import Arm
from mlstablint.sweep.precision import POLICIES, Arithmetic
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def problem() -> lab.Problem:
    p = synthetic.make_problem("mlp", rows=400)
    return dataclasses.replace(p, X=lab.standardise(p.X))


@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
def test_backward_pass_matches_central_differences(problem: lab.Problem, activation: str) -> None:
    net = mlp.Net((5, 4), activation, "xavier")
    network = mlp._Network(net, Arithmetic(POLICIES["float64"]), problem.y, 2, naive=False)
    params = [(W, b + 0.1) for W, b in mlp.init_weights(net, problem.X.shape[1], 2, seed=3)]
    zs, acts = network.forward(problem.X, params)
    _, grads = network.backward(zs, acts, params, None)

    def loss_at(ps: list[tuple[np.ndarray, np.ndarray]]) -> float:
        z, a = network.forward(problem.X, ps)
        return float(network.backward(z, a, ps, None)[0])

    rng = np.random.default_rng(0)
    h = 1e-6
    for layer in range(len(params)):
        W = params[layer][0]
        for _ in range(3):
            i, j = rng.integers(W.shape[0]), rng.integers(W.shape[1])
            plus = [(w.copy(), c) for w, c in params]
            minus = [(w.copy(), c) for w, c in params]
            plus[layer][0][i, j] += h
            minus[layer][0][i, j] -= h
            numeric = (loss_at(plus) - loss_at(minus)) / (2 * h)
            assert grads[layer][0][i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_saturating_init_in_one_layer_is_named(problem: lab.Problem) -> None:
    for activation in ("sigmoid", "tanh"):
        net = mlp.Net((8, 8, 8, 8), activation, "xavier", (1, 1, 1000, 1, 1))
        run = lab.train(dataclasses.replace(problem, net=net), Arm("float32", 0.5, 0.0, "standard"), epochs=30,
                        X=problem.X)
        trace = run.layers
        assert trace is not None and trace.failing_layer == 3, trace.diagnosis
        assert trace.diagnosis.startswith("layer 3: 99.")
        assert f"of {activation} units saturated by epoch 1" in trace.diagnosis
        assert trace.saturation[0][2] >= mlp.SATURATION_ALERT
        assert all(row[i] < 0.05 for row in trace.saturation[:1] for i in (0, 1, 3))
        if activation == "sigmoid":  # σ' ≤ e^-|z| with |z| in the hundreds: the layer's own updates are lost
            assert "updates of layer 3 below float32 resolution" in trace.diagnosis
    healthy = lab.train(dataclasses.replace(problem, net=mlp.Net((8, 8, 8, 8), "tanh")),
                        Arm("float32", 0.5, 0.0, "standard"), epochs=30, X=problem.X)
    assert healthy.layers is not None and healthy.layers.failing_layer is None and healthy.layers.diagnosis == ""


def test_first_non_finite_layer_is_named(problem: lab.Problem) -> None:
    # Layer 2's init is huge: its relu outputs overflow float16 (max 65504) in the forward pass.
    net = mlp.Net((8, 8, 8), "relu", "he", (1, 1e4, 1, 1))
    run = lab.train(dataclasses.replace(problem, net=net), Arm("float16", 0.1, 0.0, "standard"), epochs=10,
                    X=problem.X)
    trace = run.layers
    assert trace is not None and trace.first_non_finite is not None
    assert trace.first_non_finite["layer"] in (2, 3) and trace.first_non_finite["pass"] == "forward"
    assert trace.failing_layer == trace.first_non_finite["layer"]
    assert run.verdict.status in ("overflow", "nan", "diverged")


def test_dead_relus_are_named_in_the_layer_they_die_in() -> None:
    trace = mlp.LayerTrace("relu", [4, 4, 2], saturation=[[0.0, 0.0], [0.0, 0.75]], grad_norm=[[1, 1, 1]] * 2,
                           update_ratio=[[1e-3, 1e-3, 1e-3]] * 2)
    mlp.diagnose(trace, "float32")
    assert trace.failing_layer == 2
    assert trace.diagnosis == "layer 2: 75 % of units dead (zero on every row) by epoch 2"


def test_mlp_command_reports_layers_and_recommends_the_layer() -> None:
    out = run_cli("sweep", "--task", "mlp", "--sweep", "lr", "--lr", "0.5", "--scaling", "standard",
                  "--activation", "sigmoid", "--hidden", "8,8,8,8", "--init-gain", "1,1,1000", "--epochs", "20",
                  "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    (run,) = doc["runs"]
    assert run["layers"]["failing_layer"] == 3
    assert len(run["layers"]["grad_norm"]) == run["epoch"] and len(run["layers"]["grad_norm"][0]) == 5
    assert doc["recommendation"]["text"].startswith("fix layer 3")
    bad = run_cli("sweep", "--task", "mlp", "--hidden", "8,x")
    assert bad.returncode == 2 and "--hidden:" in bad.stderr


def test_mlp_runs_are_deterministic_for_a_seed(problem: lab.Problem) -> None:
    net = dataclasses.replace(problem, net=mlp.Net((6, 6), "tanh"))
    a = lab.train(net, Arm("float32", 0.3, 0.0, "standard"), epochs=15, batch_size=64, seed=4, X=problem.X)
    b = lab.train(net, Arm("float32", 0.3, 0.0, "standard"), epochs=15, batch_size=64, seed=4, X=problem.X)
    c = lab.train(net, Arm("float32", 0.3, 0.0, "standard"), epochs=15, batch_size=64, seed=5, X=problem.X)
    assert a.history == b.history and a.layers is not None and b.layers is not None
    assert a.layers.to_json() == b.layers.to_json()
    assert a.history != c.history  # another seed: another initialisation and batch order
