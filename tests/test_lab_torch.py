"""`mlstablint.lab.attach_probes` on a real torch model (skipped where torch is not installed)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from mlstablint.lab import attach_probes  # noqa: E402


def test_probes_name_the_saturated_layer_of_a_torch_mlp() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.Sigmoid(),
        torch.nn.Linear(8, 8), torch.nn.Sigmoid(),
        torch.nn.Linear(8, 8), torch.nn.Sigmoid(),
        torch.nn.Linear(8, 2),
    )
    with torch.no_grad():
        model[4].weight.mul_(1000.0)  # layer 3: a saturating initialisation
    X = torch.randn(256, 6)
    y = (X[:, 0] > 0).long()
    probes = attach_probes(model)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        probes.before_step()
        optimiser.step()
        optimiser.zero_grad()
        probes.after_step()
        probes.end_epoch()
    trace = probes.trace()
    probes.remove()
    assert trace.failing_layer == 3, trace.diagnosis
    assert "of sigmoid units saturated by epoch 1" in trace.diagnosis
    assert len(trace.grad_norm) == 5 and len(trace.grad_norm[0]) == 4


def test_a_model_without_weights_is_refused() -> None:
    with pytest.raises(ValueError, match="no layer with a weight matrix"):
        attach_probes(torch.nn.Sequential(torch.nn.ReLU()))
