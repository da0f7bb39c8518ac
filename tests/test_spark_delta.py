"""Delta tables on a Spark session without the Delta Lake connector (no delta-spark jars here): the files of
the version asked for are listed by deltalake and read as parquet, by Spark or by the executors themselves.

The table is written with deltalake in four versions — a first write, an append, a delete that rewrites a
file (the removed file stays on disk until a vacuum), and an append that adds a column — so that reading
the folder's parquet files as they lie would count rows no version holds. At each version asked for (the
latest, a version number, a timestamp) the Spark engine must report the local engine's findings and figures
and the same identity (version, rows, columns, fingerprint), and its row count must be pandas' on the
frames the test wrote.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlstablint.data.read import DataError
from mlstablint.sources import DataSource
from tests.test_spark import as_json, audit, nan_table, same, spark  # noqa: F401  (spark: the session fixture)

deltalake = pytest.importorskip("deltalake")


def _commit(path: Path, frame: pd.DataFrame, **kwargs: Any) -> None:
    deltalake.write_deltalake(str(path), frame, **kwargs)
    time.sleep(0.02)  # distinct commit times (milliseconds): a timestamp names one version


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, pd.DataFrame]]:
    """The table's folder and, per version, the rows it holds as pandas sees them."""
    path = tmp_path_factory.mktemp("delta") / "train"
    frame = nan_table(rows=1500, seed=7)
    first, second, third = frame.iloc[:700], frame.iloc[700:1200], frame.iloc[1200:].copy()
    _commit(path, first)
    _commit(path, second, mode="append")
    deltalake.DeltaTable(str(path)).delete("k = 2")  # rewrites the files holding k = 2; nulls stay
    time.sleep(0.02)
    third["extra"] = np.arange(len(third), dtype=np.float64) % 7  # a column the older files lack
    _commit(path, third, mode="append", schema_mode="merge")
    kept = pd.concat([first, second], ignore_index=True)
    kept = kept[~(kept["k"] == 2).fillna(False)]
    latest = pd.concat([kept.assign(extra=np.nan), third], ignore_index=True)
    return path, {0: first, 1: pd.concat([first, second]), 2: kept, 3: latest}


def _both(path: Path, as_of: str | None) -> tuple[Any, Any]:
    local = audit(DataSource(str(path), "path", as_of=as_of), target="y", name="t")
    on_spark = audit(DataSource(str(path), "path", as_of=as_of), target="y", name="t", engine="spark")
    assert not local.errors and not on_spark.errors, (local.errors, on_spark.errors)
    return local, on_spark


def _committed_at(path: Path, version: int) -> str:
    """A moment at which `version` is the table's latest by both clocks a reader may go by: the commit's own
    timestamp (the history) and its log file's modification time, which can come later on a loaded machine (a
    reader going by the file then saw the version before at the history's time)."""
    (commit,) = [c for c in deltalake.DeltaTable(str(path)).history() if c["version"] == version]
    written = (path / "_delta_log" / f"{version:020d}.json").stat().st_mtime * 1000
    moment = max(commit["timestamp"], math.ceil(written))
    return datetime.fromtimestamp(moment / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


@pytest.mark.parametrize("as_of", [None, "1", "2"])
def test_spark_reads_the_version_deltalake_lists(spark: Any, versions: tuple[Path, dict[int, pd.DataFrame]],  # noqa: F811
                                                 as_of: str | None) -> None:
    path, frames = versions
    local, on_spark = _both(path, as_of)
    version = 3 if as_of is None else int(as_of)
    same(as_json(local), as_json(on_spark))
    (mine,), (theirs,) = local.dataset.tables, on_spark.dataset.tables
    assert theirs.rows == len(frames[version]) == mine.rows
    assert theirs.columns == len(frames[version].columns) == mine.columns
    assert (theirs.format, theirs.version, theirs.as_of) == ("delta", version, as_of)
    assert theirs.fingerprint == mine.fingerprint
    duplicates = {f.rule: f for f in on_spark.findings}["MSL601"].evidence["duplicated_rows"]
    assert duplicates == _duplicated(frames[version])


def _duplicated(frame: pd.DataFrame) -> int:
    """pandas' duplicated feature rows, with the design's equalities: -0.0 is 0.0, a null integer is NaN."""
    features = frame.drop(columns=["y"]).copy()
    for name in ("a", "b", "c.1"):
        features[name] = features[name] + 0.0
    features["k"] = features["k"].astype("float64")
    return int(features.duplicated().sum())


def test_timestamp_as_of_on_spark(spark: Any, versions: tuple[Path, dict[int, pd.DataFrame]]) -> None:  # noqa: F811
    path, frames = versions
    when = _committed_at(path, 2)
    local, on_spark = _both(path, when)
    same(as_json(local), as_json(on_spark))
    assert on_spark.dataset.tables[0].version == local.dataset.tables[0].version == 2
    assert on_spark.dataset.tables[0].rows == len(frames[2])


def test_which_versions_the_executors_read(spark: Any, versions: tuple[Path, dict[int, pd.DataFrame]]  # noqa: F811
                                           ) -> None:
    """Files of one schema are read by the executors; once a column was added (older files lack it) Spark
    reads them, merging their schemas, and gives the older rows nulls there."""
    from mlstablint.commands.spark import read_table

    path, frames = versions
    old = read_table(spark, DataSource(str(path), "path", as_of="2"))
    assert old.files is not None and old.scan().parts is not None
    assert len(old.files) == len(deltalake.DeltaTable(str(path), version=2).file_uris())
    latest = read_table(spark, DataSource(str(path), "path"))
    assert latest.scan().parts is None
    assert latest.df.columns == list(frames[3].columns)
    assert latest.df.where("extra is null").count() == int(frames[3]["extra"].isna().sum())
    # The files on disk: every file ever written, the removed ones too.
    on_disk = len(list(path.glob("*.parquet")))
    assert on_disk > len(deltalake.DeltaTable(str(path)).file_uris())


def test_partitioned_delta_needs_the_connector(spark: Any, tmp_path: Path) -> None:  # noqa: F811
    """A partitioned table's partition values are in its log, not in its files: without the connector the
    Spark engine says so in one line (the local engine reads it through deltalake)."""
    from mlstablint.commands.spark import read_table

    frame = nan_table(rows=300, seed=2).assign(g=lambda f: f["label"].astype(str))
    path = tmp_path / "partitioned"
    deltalake.write_deltalake(str(path), frame, partition_by=["g"])
    try:
        read_table(spark, DataSource(str(path), "path"))
    except DataError as exc:
        message = str(exc)
        assert message.startswith("reading this Delta table on Spark needs the Delta Lake connector")
        assert "partitioned by g" in message and "\n" not in message
    else:  # pragma: no cover - only where delta-spark and its jars are installed
        pytest.skip("delta-spark is on the classpath: Spark reads the partitioned table itself")
    local = audit(DataSource(str(path), "path"), target="y")
    assert local.dataset.tables[0].rows == len(frame)


def test_as_of_on_a_plain_parquet_table(spark: Any, tmp_path: Path) -> None:  # noqa: F811
    from mlstablint.commands.spark import read_table

    plain = tmp_path / "plain.parquet"
    nan_table(rows=50).to_parquet(plain)
    with pytest.raises(DataError, match="not a Delta table"):
        read_table(spark, DataSource(str(plain), "path", as_of="1"))
