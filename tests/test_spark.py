"""The Spark engine against the local engine: same findings, same figures (to rounding), on a real
local[2] Spark session; and the engine's figures against pandas/numpy references.

One Spark session serves the whole file (start-up takes 10-20 s). Without pyspark or Java the Spark
tests skip, unless MLSTABLINT_REQUIRE_SPARK=1 (CI) makes that a failure.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlstablint
from mlstablint.data.partials import Layout, Options, Partial, make_layout
from mlstablint.findings import Report
from mlstablint.report import render
from tests.conftest import ROOT, run_cli

INCIDENT = ROOT / "fixtures" / "exploding_infinities" / "train.parquet"
REQUIRED = os.environ.get("MLSTABLINT_REQUIRE_SPARK") == "1"


def _spark_missing() -> str | None:
    from mlstablint.spark.session import SparkUnavailable, require_java, require_pyspark

    try:
        require_java(require_pyspark())
    except SparkUnavailable as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    missing = _spark_missing()
    if missing is not None:
        if REQUIRED:
            pytest.fail(f"MLSTABLINT_REQUIRE_SPARK=1 but {missing}")
        pytest.skip(missing)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("mlstablint-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# ---- tables


def nan_table(rows: int = 3000, seed: int = 1) -> pd.DataFrame:
    """NaN, ±inf, nulls, -0.0 next to 0.0, a nullable integer, text with nulls, a boolean; about a third
    of the rows repeat an earlier row's features (some with -0.0 for 0.0, NaN for null), many with
    another target."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, rows).round(1)
    b = rng.normal(1e4, 5e3, rows).round(0)
    c = rng.normal(0, 1e-3, rows)
    a[rng.choice(rows, 40, replace=False)] = np.nan
    b[rng.choice(rows, 7, replace=False)] = np.inf
    b[rng.choice(rows, 5, replace=False)] = -np.inf
    a[rng.choice(rows, 30, replace=False)] = 0.0
    k = pd.array(rng.integers(0, 4, rows), dtype="Int64")
    k[rng.choice(rows, 25, replace=False)] = pd.NA
    text = pd.array(rng.choice(["red", "green", "blue"], rows), dtype="string")
    text[rng.choice(rows, 20, replace=False)] = pd.NA
    flag = rng.random(rows) < 0.3
    y = a * 2 + rng.normal(0, 1, rows)
    label = rng.integers(0, 3, rows)
    frame = pd.DataFrame({"a": a, "b": b, "c.1": c, "k": k, "text": text, "flag": flag, "y": y, "label": label})
    # Repeat rows: copies of earlier rows' features with -0.0 for 0.0 and, sometimes, a new target.
    copies = rng.choice(rows // 2, rows // 3)
    dup = frame.iloc[copies].copy()
    dup["a"] = np.where(dup["a"] == 0.0, -0.0, dup["a"])
    dup["y"] = np.where(rng.random(len(dup)) < 0.6, rng.normal(0, 1, len(dup)), dup["y"])
    dup["label"] = np.where(rng.random(len(dup)) < 0.5, rng.integers(0, 3, len(dup)), dup["label"])
    frame = pd.concat([frame.iloc[:rows - len(dup)], dup], ignore_index=True)
    frame.loc[rng.choice(rows, 9, replace=False), "y"] = np.nan
    return frame


FEATURES = ["a", "b", "c.1", "k", "text", "flag"]  # a dot in a name is no struct path


def write_parquet(frame: pd.DataFrame, path: Path, parts: int = 1) -> Path:
    """One parquet file, or a directory of `parts` files (rows in order across the parts)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if parts == 1:
        pq.write_table(table, path)
        return path
    path.mkdir(parents=True)
    bounds = np.linspace(0, table.num_rows, parts + 1).astype(int)
    for i in range(parts):
        pq.write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]), path / f"part-{i:05d}.parquet")
    return path


# ---- comparing reports


def audit(*args: Any, **kwargs: Any) -> Report:
    """The API without its confirmations: these tests compare the engines' findings and figures."""
    return mlstablint.audit(*args, confirm=False, **kwargs)


def as_json(report: Report) -> dict[str, Any]:
    """The JSON report without `dataset`: a DataFrame and a path name the same rows differently."""
    data: dict[str, Any] = json.loads(render(report, "json"))
    data.pop("dataset", None)
    return data


def as_text(report: Report) -> str:
    return "".join(line for line in render(report, "text").splitlines(True)
                   if not line.startswith(("dataset: ", "test dataset: ")))


def same(a: Any, b: Any, where: str = "") -> None:
    """Equal JSON, numbers to 1e-5 relative (evidence is rounded to 6 significant digits)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(float(a), float(b), rel_tol=1e-5, abs_tol=1e-12), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def evidence(report: Report) -> dict[str, dict[str, Any]]:
    return {f.rule: f.evidence for f in report.findings}


# ---- Spark against local


def test_incident_fixture_same_findings_and_figures(spark: Any) -> None:
    local = audit(INCIDENT, target="y", name="train")
    on_spark = audit(spark.read.parquet(str(INCIDENT)).repartition(5), target="y", name="train")
    assert {"MSL601", "MSL602", "MSL603", "MSL605", "MSL606", "MSL607"} <= {f.rule for f in local.findings}
    same(as_json(local), as_json(on_spark))


@pytest.mark.parametrize("read_by", ["executors", "spark"])
def test_nan_inf_table_and_many_parts(spark: Any, tmp_path: Path, read_by: str) -> None:
    """Both ways the engine reads a table: the executors read the parquet parts of a plain
    `spark.read.parquet`; Spark reads any other DataFrame (here one with a projection on top)."""
    from mlstablint.spark.scan import scan_of

    frame = nan_table()
    one = write_parquet(frame, tmp_path / "one.parquet")
    parts = write_parquet(frame, tmp_path / "parts", parts=7)
    local = audit(one, target="y", name="t")
    assert {"MSL601", "MSL602", "MSL605", "MSL608"} <= {f.rule for f in local.findings}
    # Rows with NaN/inf make the Gram matrix unusable: the condition number comes from the TSQR pass
    # over the complete rows, here against numpy's on the same rows.
    design = np.column_stack([np.ones(len(frame)), frame[["a", "b", "c.1", "k", "flag", "label"]].astype(float)])
    complete = np.isfinite(design).all(axis=1)
    cond = evidence(local)["MSL605"]
    assert cond["rows_used"] == int(complete.sum()) < len(frame)
    assert math.isclose(cond["cond"], np.linalg.cond(design[complete]), rel_tol=1e-5)
    df = spark.read.parquet(str(parts))
    if read_by == "spark":
        df = df.select("*")
        assert df.rdd.getNumPartitions() > 1
    assert (scan_of(df).parts is not None) == (read_by == "executors")
    same(as_json(local), as_json(audit(parts, target="y", name="t")))
    same(as_json(local), as_json(audit(df, target="y", name="t")))


def test_which_tables_the_executors_read(spark: Any, tmp_path: Path) -> None:
    """Only a DataFrame that is exactly a scan of local parquet files, with their columns, is read by the
    executors; any other is read by Spark, whose rows are then the table."""
    from mlstablint.spark.scan import scan_of

    frame = nan_table(rows=400)
    parts = write_parquet(frame, tmp_path / "parts", parts=3)
    df = spark.read.parquet(str(parts))
    scan = scan_of(df)
    assert scan.parts is not None and len(scan.parts.files) == 3 and len(scan.parts.units) == 3
    df.createOrReplaceTempView("plain_view")
    assert scan_of(spark.table("plain_view")).parts is not None
    others = [df.where("a > 0"), df.select("a", "b"), df.repartition(2), df.union(df),
              spark.read.schema("a double, b double").parquet(str(parts)),
              spark.createDataFrame(frame.drop(columns=["text"]))]
    partitioned = tmp_path / "partitioned"
    (partitioned / "g=1").mkdir(parents=True)
    write_parquet(frame, partitioned / "g=1" / "part.parquet")
    others.append(spark.read.parquet(str(partitioned)))
    for other in others:
        assert scan_of(other).parts is None, other.schema.simpleString()


def test_nan_inf_table_figures_against_pandas(spark: Any, tmp_path: Path) -> None:
    """The Spark engine's counts against pandas on the same table (NaN ≡ null, -0.0 ≡ 0.0)."""
    frame = nan_table()
    path = write_parquet(frame, tmp_path / "t.parquet")
    report = audit(spark.read.parquet(str(path)), target="label", features=FEATURES, name="t")
    ev = evidence(report)
    features = frame.drop(columns=["y", "label"]).copy()
    for name in ("a", "b", "c.1"):
        features[name] = features[name] + 0.0  # -0.0 → 0.0
    features["k"] = features["k"].astype("float64")  # null → NaN, like the design's float64 view
    duplicated = features.duplicated()
    assert ev["MSL601"]["duplicated_rows"] == int(duplicated.sum())
    groups = features.groupby(list(features.columns), dropna=False).size()
    assert ev["MSL601"]["duplicate_groups"] == int((groups > 1).sum())
    assert ev["MSL601"]["largest_group"] == int(groups.max())
    keyed = features.assign(label=frame["label"])
    per_group = keyed.groupby(list(features.columns), dropna=False)["label"]
    labels, sizes = per_group.nunique(), per_group.size()
    assert ev["MSL602"]["conflicting_groups"] == int((labels > 1).sum())
    assert ev["MSL602"]["rows_affected"] == int(sizes[labels > 1].sum())
    best = keyed.groupby([*features.columns, "label"], dropna=False).size().groupby(
        level=list(range(len(features.columns))), dropna=False).max().sum()
    assert math.isclose(ev["MSL602"]["best_achievable_accuracy"], best / len(frame), rel_tol=1e-5)
    non_finite = ev["MSL608"]["columns"]
    assert non_finite["b"] == {"null": 0, "nan": 0, "+inf": int(np.isposinf(frame["b"]).sum()),
                               "-inf": int(np.isneginf(frame["b"]).sum())}
    assert non_finite["k"]["null"] == int(frame["k"].isna().sum())


def test_classification_target_matches_local(spark: Any, tmp_path: Path) -> None:
    path = write_parquet(nan_table(seed=2), tmp_path / "t.parquet")
    local = audit(path, target="label", features=FEATURES, name="t")
    assert {"MSL602", "MSL611"} & {f.rule for f in local.findings} == {"MSL602"}
    on_spark = audit(spark.read.parquet(str(path)), target="label", features=FEATURES, name="t")
    same(as_json(local), as_json(on_spark))


def test_train_test_overlap_and_drift(spark: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"u": rng.normal(0, 1, 4000).round(2), "v": rng.normal(5, 2, 4000).round(2),
                          "w": rng.integers(0, 5, 4000)})
    train["y"] = train["u"] - train["v"] + rng.normal(0, 0.1, 4000)
    fresh = pd.DataFrame({"u": rng.normal(0.8, 1, 1500).round(2), "v": rng.normal(5, 2, 1500).round(2),
                          "w": rng.integers(0, 5, 1500)})
    fresh["y"] = 0.0
    test = pd.concat([fresh, train.iloc[rng.choice(4000, 500, replace=False)]], ignore_index=True)
    train_path = write_parquet(train, tmp_path / "train.parquet")
    test_path = write_parquet(test, tmp_path / "test", parts=3)
    local = audit(train_path, target="y", test=test_path, name="train", test_name="test")
    ev = evidence(local)
    train_rows = set(map(tuple, train[["u", "v", "w"]].to_numpy()))
    expected = sum(tuple(r) in train_rows for r in test[["u", "v", "w"]].to_numpy())
    assert ev["MSL612"]["overlapping_rows"] == expected
    assert "MSL613" in ev
    # As in the README's notebook example: tables by name.
    spark.read.parquet(str(train_path)).repartition(3).createOrReplaceTempView("train")
    spark.read.parquet(str(test_path)).createOrReplaceTempView("test")
    on_spark = audit(spark.table("train"), target="y", test=spark.table("test"), name="train",
                                test_name="test")
    same(as_json(local), as_json(on_spark))
    assert as_text(on_spark) == as_text(local)


def test_wide_design_sparse_gram_matches_local(spark: Any, tmp_path: Path) -> None:
    """Above max-design-columns the partials carry a sparse Gram matrix (encoded as its nonzeros)."""
    from tests.test_sparse_design import wide_onehot

    path = write_parquet(wide_onehot(rows=1500, levels=[60, 40, 20], copies=2), tmp_path / "wide", parts=3)
    thresholds = {"max-design-columns": 50}
    local = audit(path, target="y", thresholds=thresholds, name="t")
    assert {"MSL603", "MSL604"} <= {f.rule for f in local.findings}
    on_spark = audit(spark.read.parquet(str(path)), target="y", thresholds=thresholds, name="t")
    same(as_json(local), as_json(on_spark))


# ---- the API and the command line


def test_api_pandas_and_path_agree(tmp_path: Path) -> None:
    frame = nan_table(rows=1500)
    path = write_parquet(frame, tmp_path / "t.parquet")
    from_path = audit(path, target="y", name="t")
    from_pandas = audit(frame, target="y", name="t")
    assert from_path.findings
    same(as_json(from_path), as_json(from_pandas))
    assert {f.path for f in audit(frame, target="y").findings} == {"<pandas DataFrame>"}


def findings_and_statuses(stdout: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JSON report without its confirmations (their timings differ run to run), and their statuses."""
    report = json.loads(stdout)
    statuses = {f["rule"]: (f.pop("confirmation", None) or {}).get("status") for f in report["findings"]}
    return report, statuses


def test_cli_engine_spark_matches_local_with_confirmations(spark: Any, tmp_path: Path) -> None:
    path = write_parquet(nan_table(rows=1500), tmp_path / "t.parquet")
    args = ("audit", str(path), "--target", "label", "--features", ",".join(FEATURES), "--format", "json")
    local = run_cli(*args, cwd=tmp_path)
    on_spark = run_cli(*args, "--engine", "spark", "--spark-master", "local[1]", cwd=tmp_path,
                       env={"PYSPARK_PYTHON": sys.executable})
    assert local.returncode == on_spark.returncode == 1, on_spark.stderr
    local_report, local_statuses = findings_and_statuses(local.stdout)
    spark_report, spark_statuses = findings_and_statuses(on_spark.stdout)
    same(local_report, spark_report)
    # The confirmation experiments ran on Spark's sample, with the local engine's verdicts.
    assert spark_statuses == local_statuses
    assert any(s not in (None, "skipped") for s in spark_statuses.values()), on_spark.stdout


def test_spark_submit_as_in_the_readme(spark: Any, tmp_path: Path) -> None:
    path = write_parquet(nan_table(rows=1500), tmp_path / "train.parquet")
    main = Path(mlstablint.__file__).parent / "__main__.py"
    spark_submit = Path(sys.executable).parent / "spark-submit"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run([str(spark_submit), "--master", "local[1]", str(main), "audit", str(path), "--target",
                             "y", "--engine", "spark", "--format", "json", "-o", "report.json"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    local = run_cli("audit", str(path), "--target", "y", "--format", "json", cwd=tmp_path)
    assert result.returncode == local.returncode == 1, result.stderr[-2000:]
    local_report, local_statuses = findings_and_statuses(local.stdout)
    spark_report, spark_statuses = findings_and_statuses((tmp_path / "report.json").read_text())
    same(local_report, spark_report)
    assert spark_statuses == local_statuses


def test_spark_engine_refuses_csv(spark: Any, tmp_path: Path) -> None:
    from mlstablint.commands.spark import read_parquet
    from mlstablint.data.read import DataError

    path = tmp_path / "t.csv"
    nan_table(rows=200).to_csv(path, index=False)
    with pytest.raises(DataError, match="the Spark engine reads parquet"):
        read_parquet(spark, path)


def test_without_pyspark_one_line_and_exit_2(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['pyspark'] = None; from mlstablint.cli import main; "
            f"sys.argv = ['mlstablint', 'audit', {str(INCIDENT)!r}, '--engine', 'spark']; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'mlstablint[spark]'" in lines[0], result.stderr


def test_old_java_one_line_and_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n')
    java.chmod(0o755)
    result = run_cli("audit", str(INCIDENT), "--engine", "spark", cwd=tmp_path,
                     env={"JAVA_HOME": str(java.parent.parent)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Java 17 or later" in lines[0] and "11" in lines[0], result.stderr


def test_engine_in_the_configuration(tmp_path: Path) -> None:
    from mlstablint.config import ConfigError, load_config

    (tmp_path / "pyproject.toml").write_text('[tool.mlstablint]\nengine = "spark"\nspark-master = "local[2]"\n')
    cfg = load_config(None, [], cwd=tmp_path)
    assert (cfg.engine, cfg.spark_master) == ("spark", "local[2]")
    (tmp_path / "pyproject.toml").write_text('[tool.mlstablint]\nengine = "gpu"\n')
    with pytest.raises(ConfigError, match="engine must be one of 'local', 'spark'"):
        load_config(None, [], cwd=tmp_path)


def test_import_mlstablint_stays_light() -> None:
    code = ("import sys, mlstablint; heavy = [m for m in ('pandas', 'pyarrow', 'pyspark', 'numpy') "
            "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


# ---- the codec


def _layout_and_batch() -> tuple[Layout, pa.RecordBatch]:
    frame = nan_table(rows=800, seed=4)
    batch = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks().to_batches()[0]
    return make_layout(batch.schema, "label", None), batch


def test_codec_round_trip_keeps_every_statistic() -> None:
    from mlstablint.spark import codec

    layout, batch = _layout_and_batch()
    options = Options(gram=True, hashes=True, sample_rows=50)
    partial = Partial(layout, options)
    partial.update(batch)
    back = codec.decode_partial(codec.encode_partial(partial), layout, options)
    for name, value in vars(partial).items():
        other = getattr(back, name)
        if name in ("feature_hashes", "target_keys"):
            np.testing.assert_array_equal(np.concatenate(value), np.concatenate(other))
        elif name == "distinct":
            assert len(value) == len(other)
            for x, y in zip(value, other, strict=True):
                assert (x is None and y is None) or np.array_equal(x, y)
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, other)
        else:
            assert value == other, name
    assert back.other_distinct == [{"red", "green", "blue"}]
    assert back.class_counts is not None and sum(back.class_counts.values()) == 800


def test_codec_refuses_nothing_but_arrow() -> None:
    import pickle

    from mlstablint.spark import codec

    layout, _batch = _layout_and_batch()
    with pytest.raises(pa.ArrowInvalid):
        codec.decode_partial(pickle.dumps({"rows": 1}), layout, Options())


# ---- the confirmation sample


@pytest.mark.parametrize("read_by", ["spark", "executors"])
def test_spark_sample_is_the_local_sample(spark: Any, tmp_path: Path, read_by: str) -> None:
    from mlstablint.data.sample import sample_design
    from mlstablint.spark.sample import spark_sample
    from mlstablint.spark.scan import Scan, scan_of

    frame = nan_table(rows=3000, seed=5)
    path = write_parquet(frame, tmp_path / "parts", parts=5)
    local = sample_design(path, "label", FEATURES, True, max_rows=700, seed=3)
    df = spark.read.parquet(str(path))
    scan = scan_of(df) if read_by == "executors" else Scan(df)
    assert (scan.parts is not None) == (read_by == "executors")
    on_spark = spark_sample(scan, "t", "label", FEATURES, True, max_rows=700, seed=3)
    assert 0 < local.rows <= 700 and on_spark.table_rows == local.table_rows == 3000
    order_l, order_s = np.lexsort((local.hashes, local.keys)), np.lexsort((on_spark.hashes, on_spark.keys))
    np.testing.assert_array_equal(local.keys[order_l], on_spark.keys[order_s])
    np.testing.assert_array_equal(local.X[order_l], on_spark.X[order_s])
    assert local.labels is not None and on_spark.labels is not None
    np.testing.assert_array_equal(local.labels[order_l], on_spark.labels[order_s])
    assert local.classes == on_spark.classes
