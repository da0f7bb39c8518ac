"""What the Spark engine reads besides parquet paths: catalog tables (`--table`, `mlstablint.audit("db.t")`),
`file://` URIs, and the Python API's confirmations.

The catalog table is a parquet table saved with `saveAsTable` into a local Spark catalog (an external table
under the test's temporary folder); the figures are checked against pandas on the frame the test wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlstablint
from mlstablint.report import render
from mlstablint.sources import parse_source
from tests.test_spark import spark  # noqa: F401  (the session fixture: one local[2] session for the file)


def _frame(seed: int = 0, rows: int = 400, repeats: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows).round(3), "b": rng.integers(0, 50, size=rows).astype(float),
                          "y": rng.integers(0, 2, size=rows)})
    tail = frame.iloc[:repeats].copy()
    tail["y"] = 1 - tail["y"]  # the copies carry the other label: conflicting duplicates
    return pd.concat([frame, tail], ignore_index=True)


def _duplicated(frame: pd.DataFrame) -> int:
    return int(frame.drop(columns="y").duplicated().sum())


@pytest.fixture(scope="module")
def catalog_table(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pd.DataFrame]:  # noqa: F811
    folder = tmp_path_factory.mktemp("catalog")
    frame = _frame()
    spark.sql(f"CREATE DATABASE IF NOT EXISTS mlsl_tests LOCATION '{folder / 'db'}'")
    (spark.createDataFrame(frame).write.mode("overwrite").format("parquet")
     .option("path", str(folder / "train")).saveAsTable("mlsl_tests.train"))
    return "mlsl_tests.train", frame


def _rule(report: Any, rule: str) -> Any:
    found = [f for f in report.findings if f.rule == rule]
    return found[0] if found else None


def test_catalog_table_through_the_auditor(spark: Any, catalog_table: tuple[str, pd.DataFrame]) -> None:  # noqa: F811
    from mlstablint.commands.spark import SparkAuditor
    from mlstablint.data.audit import AuditOptions

    name, frame = catalog_table
    report = SparkAuditor(spark).audit([parse_source(name, table=True)], AuditOptions(target="y"))
    assert not report.errors, report.errors
    finding = _rule(report, "MSL601")
    assert finding is not None and finding.path == name
    assert finding.evidence["duplicated_rows"] == _duplicated(frame) == 60
    assert _rule(report, "MSL602") is not None
    (table,) = report.dataset.tables
    assert (table.source, table.format, table.rows, table.columns) == (name, "table", len(frame), 3)


def test_api_catalog_table_by_name_runs_the_confirmations(spark: Any,  # noqa: F811
                                                          catalog_table: tuple[str, pd.DataFrame]) -> None:
    name, frame = catalog_table
    report = mlstablint.audit(name, target="y", sweep_budget=20)
    duplicates = _rule(report, "MSL601")
    assert duplicates is not None and duplicates.evidence["duplicated_rows"] == _duplicated(frame)
    assert duplicates.confirmation is not None and duplicates.confirmation.status in ("confirmed", "not-confirmed")
    unconfirmed = mlstablint.audit(spark.table(name), target="y", confirm=False)
    assert all(f.confirmation is None for f in unconfirmed.findings)
    # The same table, by name or as a DataFrame: the same statistics, so the same statistics digest.
    assert report.dataset.tables[0].statistics == unconfirmed.dataset.tables[0].statistics
    document = json.loads(render(report, "json"))
    assert document["dataset"]["tables"][0]["rows"] == len(frame)
    sarif = json.loads(render(report, "sarif"))
    assert sarif["runs"][0]["properties"]["dataset"] == document["dataset"]
    assert f"dataset: {name} (table, " in render(report, "text")


def test_dataframe_and_local_engine_same_statistics_digest(spark: Any, tmp_path: Path) -> None:  # noqa: F811
    frame = _frame(seed=3)
    local = mlstablint.audit(frame, target="y", confirm=False)
    on_spark = mlstablint.audit(spark.createDataFrame(frame), target="y", confirm=False)
    assert local.dataset.tables[0].statistics == on_spark.dataset.tables[0].statistics
    assert local.dataset.tables[0].rows == on_spark.dataset.tables[0].rows == len(frame)


def test_file_uri_on_spark(spark: Any, tmp_path: Path) -> None:  # noqa: F811
    from mlstablint.commands.spark import read_table

    frame = _frame(seed=4)
    path = tmp_path / "train.parquet"
    frame.to_parquet(path)
    uri = path.absolute().as_uri()
    table = read_table(spark, parse_source(uri))
    assert (table.display, table.format, table.df.count()) == (uri, "parquet", len(frame))
