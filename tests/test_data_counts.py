"""Counts against pandas on generated tables: duplicates, conflicting labels, label-noise floor,
train/test overlap, non-finite and overflow counts; one-hot groups found from the data whatever
the column names and order; rank deficiency beyond one-hot groups; imbalance; drift."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.data_support import ROOT, analyse, by_rule, run_audit

sys.path.insert(0, str(ROOT / "fixtures" / "exploding_infinities"))
import make_data as incident

sys.path.pop(0)


def generated(rows: int, seed: int, *, nan: bool = True, classes: bool = True) -> pd.DataFrame:
    """Few distinct values per column, so rows repeat; a text column; NaNs; a label that sometimes disagrees."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "a": rng.integers(0, 3, rows).astype(float),
        "b": rng.integers(0, 2, rows),
        "c": rng.choice(["x", "y", "z"], rows),
        "d": rng.choice([0.5, 1.5], rows),
    })
    if nan:
        df.loc[rng.random(rows) < 0.1, "a"] = np.nan
    base = (df["b"] + (df["d"] > 1)).to_numpy()
    noise = rng.random(rows) < 0.2
    df["y"] = np.where(noise, rng.integers(0, 3, rows), base) if classes else base + rng.normal(0, 0.1, rows).round(1)
    return df


def pandas_duplicates(df: pd.DataFrame, features: list[str], target: str) -> dict[str, float]:
    n = len(df)
    sizes = df.groupby(features, dropna=False).size()
    labels = df.groupby(features, dropna=False)[target].nunique(dropna=False)
    conflicting = labels[labels > 1].index
    rows_affected = int(sizes.loc[conflicting].sum())
    best = df.groupby([*features, target], dropna=False).size().groupby(level=features, dropna=False).max().sum()
    return {"duplicated": int(df[features].duplicated().sum()), "groups": int((sizes > 1).sum()),
            "largest": int(sizes.max()), "conflicting": len(conflicting), "rows_affected": rows_affected,
            "accuracy": best / n}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["t.parquet", "t.csv"])
def test_duplicates_and_conflicts_equal_pandas(tmp_path: Path, seed: int, name: str) -> None:
    df = generated(3000, seed)
    truth = pandas_duplicates(df, ["a", "b", "c", "d"], "y")
    found = by_rule(run_audit(df, tmp_path, name, target="y", batch_size=257))
    dup = found["MSL601"].evidence
    assert (dup["duplicated_rows"], dup["duplicate_groups"], dup["largest_group"]) == (
        truth["duplicated"], truth["groups"], truth["largest"])
    conf = found["MSL602"].evidence
    assert (conf["conflicting_groups"], conf["rows_affected"]) == (truth["conflicting"], truth["rows_affected"])
    assert conf["best_achievable_accuracy"] == pytest.approx(truth["accuracy"], rel=1e-5)
    assert conf["label_noise_floor"] == pytest.approx(1 - truth["accuracy"], rel=1e-5)


def test_regression_noise_floor_equals_pandas(tmp_path: Path) -> None:
    df = generated(2000, 5, nan=False, classes=False)
    features = ["a", "b", "c", "d"]
    found = by_rule(run_audit(df, tmp_path, target="y"))
    ev = found["MSL602"].evidence
    group_mean = df.groupby(features)["y"].transform("mean")
    ss = float(((df["y"] - group_mean) ** 2).sum())
    sizes = df.groupby(features).size()
    assert ev["mse_floor"] == pytest.approx(ss / len(df), rel=1e-5)
    assert ev["within_group_variance"] == pytest.approx(ss / float((sizes[sizes > 1] - 1).sum()), rel=1e-5)
    assert ev["target_variance"] == pytest.approx(df["y"].var(ddof=0), rel=1e-5)
    truth = pandas_duplicates(df, features, "y")
    assert ev["conflicting_groups"] == truth["conflicting"]


@pytest.mark.parametrize("numeric", [False, True])
def test_counts_of_hash_partitions_add_up(numeric: bool) -> None:
    """The Spark engine counts each partition of the rows shuffled by feature hash and adds the counts up: the
    sum equals the local count of all rows, a part without duplicates included."""
    import dataclasses
    import functools

    from mlstablint.data.analyze import count_rows, merge_counts

    rng = np.random.default_rng(7)
    fh = np.concatenate([rng.integers(0, 400, 3000), 1000 + np.arange(50)]).astype(np.uint64)
    y = rng.integers(0, 3, fh.size).astype(np.float64) + (0.5 if numeric else 0.0)
    y[::17] = np.nan
    tk = y.view(np.uint64) if numeric else rng.integers(0, 3, fh.size).astype(np.uint64)
    whole = dataclasses.asdict(count_rows(fh, tk, numeric))
    part_of = np.where(fh >= 1000, 5, fh % 5)  # part 5: unique rows only
    parts = [count_rows(fh[part_of == r], tk[part_of == r], numeric, complete=True) for r in range(6)]
    assert parts[5].duplicate_groups == 0
    merged = dataclasses.asdict(functools.reduce(merge_counts, parts))
    ss_whole, ss_merged = whole.pop("ss_within"), merged.pop("ss_within")
    assert merged == whole
    assert ss_merged == pytest.approx(ss_whole, rel=1e-12) if numeric else np.isnan(ss_merged) and np.isnan(ss_whole)
    assert whole["conflicting_groups"] > 0 and whole["group_sizes"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(1, 60), seed=st.integers(0, 10_000), batch=st.sampled_from([1, 3, 64]))
def test_duplicate_counts_property(tmp_path_factory: pytest.TempPathFactory, rows: int, seed: int,
                                   batch: int) -> None:
    df = generated(rows, seed)
    tmp = tmp_path_factory.mktemp("h")
    report = run_audit(df, tmp, target="y", batch_size=batch)
    found = by_rule(report)
    truth = pandas_duplicates(df, ["a", "b", "c", "d"], "y")
    assert (found["MSL601"].evidence["duplicated_rows"] if "MSL601" in found else 0) == truth["duplicated"]
    assert (found["MSL602"].evidence["conflicting_groups"] if "MSL602" in found else 0) == truth["conflicting"]


def test_overlap_equals_pandas_merge(tmp_path: Path) -> None:
    train = generated(2000, 10).drop(columns="y")
    test = generated(500, 11)
    test["b"] = test["b"].astype(float)  # another dtype in the test table: values still compare equal
    expected = test.merge(train.drop_duplicates(), how="left", on=["a", "b", "c", "d"], indicator=True)
    count = int((expected["_merge"] == "both").sum())
    (tmp_path / "test").mkdir()
    test_path = tmp_path / "test" / "test.parquet"
    test.to_parquet(test_path)
    report = run_audit(train, tmp_path, test_data=test_path)
    ev = by_rule(report)["MSL612"].evidence
    assert (ev["overlapping_rows"], ev["test_rows"]) == (count, len(test))
    assert ev["fraction"] == pytest.approx(count / len(test), rel=1e-5)
    assert by_rule(report)["MSL612"].path.endswith("test/test.parquet")


def test_no_overlap_no_drift_on_a_random_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    both = pd.DataFrame({"u": rng.normal(size=8000), "v": rng.uniform(size=8000)})
    both.iloc[::2].to_parquet(tmp_path / "test.parquet")
    found = by_rule(run_audit(both.iloc[1::2], tmp_path, test_data=tmp_path / "test.parquet"))
    assert "MSL612" not in found and "MSL613" not in found


def test_drift_is_found_and_corrected(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    cols = {f"c{i}": rng.normal(size=6000) for i in range(30)}
    train = pd.DataFrame(cols)
    test = pd.DataFrame({k: rng.normal(size=3000) for k in cols})
    test["c7"] += 0.5
    test.to_parquet(tmp_path / "test.parquet")
    ev = by_rule(run_audit(train, tmp_path, test_data=tmp_path / "test.parquet"))["MSL613"].evidence
    assert list(ev["columns"]) == ["c7"]
    assert ev["tested_columns"] == 30
    assert ev["columns"]["c7"]["smd"] == pytest.approx(0.5, abs=0.1)


def test_one_hot_groups_survive_renaming_and_shuffling(tmp_path: Path) -> None:
    table = incident.make_table(1500, 3).to_pandas().drop(columns="y")
    rng = np.random.default_rng(0)
    names = {c: f"f{i:03d}" for i, c in enumerate(rng.permutation(table.columns))}
    shuffled = table.rename(columns=names)[[names[c] for c in rng.permutation(table.columns)]]
    ctx = analyse(shuffled, tmp_path)
    found = {frozenset(ctx.design[j] for j in g) for g in ctx.groups}
    expected = {frozenset(names[c] for c in table.columns if c.startswith(f"cat{k:02d}_")) for k in range(30)}
    assert found == expected
    assert {f.rule for f in ctx.findings} >= {"MSL603", "MSL605"}
    assert "MSL604" not in {f.rule for f in ctx.findings}  # the trap explains the rank deficiency


def test_one_hot_without_intercept_needs_two_groups(tmp_path: Path) -> None:
    df = pd.DataFrame({"p": [1, 0, 0, 1, 0, 1], "q": [0, 1, 1, 0, 1, 0], "x": [1.0, 2, 3, 5, 8, 13]})
    assert "MSL603" in by_rule(run_audit(df, tmp_path))
    assert "MSL603" not in by_rule(run_audit(df, tmp_path, intercept=False))
    df["r"], df["s"] = [1, 1, 0, 0, 0, 1], [0, 0, 1, 1, 1, 0]
    ev = by_rule(run_audit(df, tmp_path, intercept=False))["MSL603"].evidence
    assert ev["group_count"] == 2 and ev["exact_dependencies"] == 1


def test_rank_deficiency_beyond_one_hot(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"rent": rng.uniform(500, 2000, 300), "bills": rng.uniform(50, 300, 300),
                       "g1": np.tile([1, 0, 0], 100), "g2": np.tile([0, 1, 0], 100), "g3": np.tile([0, 0, 1], 100)})
    df["total"] = df["rent"] + 2 * df["bills"]
    found = by_rule(run_audit(df, tmp_path))
    assert found["MSL603"].evidence["group_count"] == 1
    ev = found["MSL604"].evidence
    assert ev["null_directions"] == 1 and ev["rank"] == ev["columns"] - 2
    direction = ev["directions"][0]
    assert set(direction["columns"]) == {"rent", "bills", "total"}
    coef = direction["coefficients"]
    pivot = direction["columns"][0]
    ratios = {c: coef[c] / coef[pivot] for c in coef}
    # rent + 2·bills − total = 0, up to the pivot's scaling
    expected = {"rent": 1.0, "bills": 2.0, "total": -1.0}
    scale = expected[pivot]
    assert all(ratios[c] == pytest.approx(expected[c] / scale, rel=1e-6) for c in coef)


def test_counts_of_non_finite_overflow_constant_and_rare(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 1000
    x = rng.normal(0, 300, n)
    x[:7] = np.nan
    x[7:10] = np.inf
    x[10] = -np.inf
    df = pd.DataFrame({"x": x, "big": rng.uniform(0, 1000, n), "zero": 0.0, "seven": 7,
                       "rare": (np.arange(n) < 4).astype(int), "ok": rng.normal(size=n)})
    found = by_rule(run_audit(df, tmp_path))
    # pandas → arrow turns NaN into null; both are missing values.
    assert found["MSL608"].evidence["columns"] == {"x": {"null": 7, "nan": 0, "+inf": 3, "-inf": 1}}
    over = found["MSL607"].evidence["columns"]
    for col in ("x", "big"):
        finite = df[col][np.isfinite(df[col])]
        assert over[col]["above_float64"] == int((finite > 709.782712893384).sum())
        assert over[col]["above_float32"] == int((finite > 88.72283905206835).sum())
    assert found["MSL609"].evidence == {"all_zero": ["zero"], "constant": {"seven": 7.0}}
    assert found["MSL610"].evidence["ones"] == {"rare": 4}


def test_class_imbalance(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": np.arange(1000.0), "label": ["ok"] * 950 + ["fraud"] * 30 + ["chargeback"] * 20})
    ev = by_rule(run_audit(df, tmp_path, target="label"))["MSL611"].evidence
    assert ev["classes"] == {"ok": 950, "fraud": 30, "chargeback": 20}
    assert ev["minority"] == "chargeback" and ev["minority_ratio"] == pytest.approx(20 / 950, rel=1e-5)
    balanced = pd.DataFrame({"x": np.arange(100.0), "label": [0, 1] * 50})
    assert "MSL611" not in by_rule(run_audit(balanced, tmp_path, target="label"))
