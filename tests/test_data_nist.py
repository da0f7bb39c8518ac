"""Accuracy against external truth: NIST StRD designs and summary statistics.

Designs (as the StRD documents them): Longley = intercept + x1..x6; Norris, Pontius, Filip and
Wampler1-5 = Vandermonde of x with degree = parameters - 1. Our condition number must agree with
`numpy.linalg.cond` of the same design within 1 % where that is below 1e14, Filip and Wampler must be
flagged ill-conditioned and Norris not. NumAcc1-4 means and standard deviations must match the
certified values to at least 8 significant digits (log relative error ≥ 8), whatever the batching.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data_support import NIST, analyse, by_rule, run_audit

REGRESSION = ["Norris", "Pontius", "Longley", "Filip", "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5"]


def read_regression(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(y, predictors, parameters) from the header's stated data line range."""
    lines = (NIST / f"{name}.dat").read_text().splitlines()
    header = "\n".join(lines[:60])
    first, last = map(int, re.search(r"Data\s+\(lines (\d+) to (\d+)\)", header).groups())
    params = int(re.search(r"(\d+) Parameters", header).group(1))
    data = np.array([[float(v) for v in line.split()] for line in lines[first - 1:last]])
    return data[:, 0], data[:, 1:], params


def design_table(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The table to audit (features + target y) and the full design [1 | X] numpy sees."""
    y, x, params = read_regression(name)
    if name == "Longley":
        features = {f"x{k + 1}": x[:, k] for k in range(x.shape[1])}
    else:
        features = {f"x^{k}": x[:, 0] ** k for k in range(1, params)}
    table = pd.DataFrame({**features, "y": y})
    design = np.column_stack([np.ones(len(y)), *features.values()])
    return table, design


def read_univariate(name: str) -> tuple[np.ndarray, float, float]:
    lines = (NIST / f"{name}.dat").read_text().splitlines()
    number = r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$"
    mean = next(float(re.search(number, ln).group(1)) for ln in lines if ln.startswith("Sample Mean"))
    std = next(float(re.search(number, ln).group(1)) for ln in lines if ln.startswith("Sample Standard Deviation"))
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Data: Y"))
    values = [float(ln) for ln in lines[start + 1:] if ln.strip() and not ln.strip().startswith("-")]
    n = next(int(re.search(r"(\d+)\s*$", ln).group(1)) for ln in lines if ln.startswith("Number of Observations"))
    assert len(values) == n
    return np.array(values), mean, std


def lre(value: float, certified: float) -> float:
    """Log relative error: the number of correct significant digits (∞ when exact)."""
    if value == certified:
        return math.inf
    return -math.log10(abs(value - certified) / abs(certified))


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_condition_number_matches_numpy(tmp_path: Path, name: str, fmt: str) -> None:
    table, design = design_table(name)
    ctx = analyse(table, tmp_path, f"{name}.{fmt}", target="y")
    cond = ctx.conditioning
    assert cond is not None and cond.columns == design.shape[1]
    expected = np.linalg.cond(design)
    if expected < 1e14:
        assert cond.cond == pytest.approx(expected, rel=0.01), (name, cond.cond, expected)
    else:
        assert cond.cond > 1e14
    # The equilibrated figure agrees with numpy's on the unit-norm design as well.
    scaled = design / np.linalg.norm(design, axis=0)
    assert cond.cond_equilibrated == pytest.approx(np.linalg.cond(scaled), rel=0.01)


@pytest.mark.parametrize("name,flagged", [("Norris", False), ("Filip", True)] +
                         [(f"Wampler{i}", True) for i in range(1, 6)] + [("Longley", True)])
def test_ill_conditioned_designs_are_flagged(tmp_path: Path, name: str, flagged: bool) -> None:
    table, design = design_table(name)
    found = by_rule(run_audit(table, tmp_path, target="y"))
    assert ("MSL605" in found) is flagged
    if flagged:
        evidence = found["MSL605"].evidence
        expected = np.linalg.cond(design)
        if expected < 1e14:
            assert evidence["cond"] == pytest.approx(expected, rel=0.01)
        assert evidence["columns"] == design.shape[1]


def test_norris_reports_its_condition_number_when_asked(tmp_path: Path) -> None:
    """A zero threshold makes MSL605 report the figure of a well-conditioned design too."""
    table, design = design_table("Norris")
    found = by_rule(run_audit(table, tmp_path, target="y", thresholds={"cond": 0}))
    assert found["MSL605"].evidence["cond"] == pytest.approx(np.linalg.cond(design), rel=0.01)


@pytest.mark.parametrize("name", ["NumAcc1", "NumAcc2", "NumAcc3", "NumAcc4"])
@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_numacc_mean_and_std(tmp_path: Path, name: str, batch_size: int) -> None:
    values, mean, std = read_univariate(name)
    # Written as CSV text, exactly as the certified data (no binary round trip to help us).
    path = tmp_path / f"{name}.csv"
    path.write_text("y\n" + "\n".join(repr(float(v)) for v in values) + "\n")
    from mlstablint.data.audit import analyse_table
    from tests.data_support import options

    ctx = analyse_table(path, options(batch_size=batch_size))
    p = ctx.partial
    assert lre(float(p.mean[0]), mean) >= 8
    assert lre(math.sqrt(float(p.variance[0])), std) >= 8


def test_numacc4_defeats_a_one_pass_sum_of_squares() -> None:
    """The test has teeth: the textbook one-pass formula gets NumAcc4's spread wrong."""
    values, _mean, std = read_univariate("NumAcc4")
    n = len(values)
    naive = (np.sum(values**2) - np.sum(values) ** 2 / n) / (n - 1)
    assert naive <= 0 or lre(math.sqrt(naive), std) < 2
