"""Where tables live: local paths, URIs kept as given, Delta tables (with time travel), fsspec filesystems.

Truth comes from the tables the tests write (pandas counts of duplicates, the rows of each Delta
version), never from the auditor's own output on another source.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlstablint
from mlstablint.data.audit import AuditOptions, audit
from mlstablint.data.read import DataError, open_source
from mlstablint.sources import DataSource, SourceError, parse_as_of, parse_source

ROOT = Path(__file__).resolve().parents[1]


def _table(seed: int, rows: int, duplicates: int) -> pd.DataFrame:
    """A numeric table whose first `duplicates` rows are repeated once at its end (pandas counts them)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.integers(0, 1000, size=rows).astype(float),
                          "y": rng.integers(0, 2, size=rows)})
    return pd.concat([frame, frame.iloc[:duplicates]], ignore_index=True)


def _duplicates(frame: pd.DataFrame) -> int:
    return int(frame.drop(columns="y").duplicated().sum())


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlstablint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


# --- the resolver ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, scheme", [
    ("s3://bucket/train", "s3"), ("gs://bucket/a/b.parquet", "gs"), ("dbfs:/mnt/train", "dbfs"),
    ("abfss://c@acct.dfs.core.windows.net/t", "abfss"), ("hdfs://nn:8020/t", "hdfs"), ("file:///tmp/t", "file"),
])
def test_uris_are_kept_verbatim(text: str, scheme: str) -> None:
    source = parse_source(text)
    assert (source.kind, source.scheme, source.text, str(source)) == ("uri", scheme, text, text)


def test_paths_and_windows_drives_are_paths() -> None:
    assert parse_source("data/train.parquet").kind == "path"
    assert parse_source("C:/data/train.parquet").kind == "path"  # a drive letter is not a scheme
    assert parse_source(Path("x.csv")).local_path == Path("x.csv")


def test_file_uri_is_a_local_path() -> None:
    assert parse_source("file:///data/some%20dir/t.parquet").local_path == Path("/data/some dir/t.parquet")
    with pytest.raises(SourceError, match="local path"):
        _ = parse_source("file://otherhost/t.parquet").local_path


@pytest.mark.parametrize("name", ["train", "ml.train", "main.ml.train", "main.`ml data`.train"])
def test_table_names(name: str) -> None:
    assert parse_source(name, table=True) == DataSource(name, "table")


@pytest.mark.parametrize("name", ["main.ml.train.extra", "s3://b/t", "a..b", ""])
def test_bad_table_names(name: str) -> None:
    with pytest.raises(SourceError):
        parse_source(name, table=True)


def test_as_of() -> None:
    assert parse_as_of("3") == 3
    assert parse_as_of("2024-05-01T12:00:00Z") == "2024-05-01T12:00:00Z"
    with pytest.raises(SourceError, match="ISO-8601"):
        parse_as_of("yesterday")


# --- Delta tables (deltalake) ------------------------------------------------------------------------------

@pytest.fixture
def delta_table(tmp_path: Path) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """Version 0 with duplicated rows, version 1 overwritten with a clean table of another size."""
    deltalake = pytest.importorskip("deltalake")
    v0, v1 = _table(0, 300, 40), _table(1, 250, 0)
    path = tmp_path / "train_delta"
    deltalake.write_deltalake(str(path), v0)
    deltalake.write_deltalake(str(path), v1, mode="overwrite")
    return path, v0, v1


def _evidence(report: Any, rule: str) -> dict[str, Any] | None:
    found = [f for f in report.findings if f.rule == rule]
    return found[0].evidence if found else None


def test_delta_latest_version_reads_only_live_files(delta_table: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    path, _v0, v1 = delta_table
    source = open_source(path)
    assert (source.kind, source.version, source.num_rows) == ("delta", 1, len(v1))
    report = audit([path], AuditOptions(target="y"))
    assert not report.errors
    assert _evidence(report, "MSL601") is None  # v1 has no duplicates; v0's files are still on disk
    assert report.dataset is not None
    table = report.dataset.tables[0]
    assert (table.format, table.version, table.rows, table.columns) == ("delta", 1, len(v1), 3)


def test_delta_as_of_reads_the_old_version(delta_table: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    path, v0, _v1 = delta_table
    report = audit([DataSource(str(path), "path", as_of="0")], AuditOptions(target="y"))
    evidence = _evidence(report, "MSL601")
    assert evidence is not None and evidence["duplicated_rows"] == _duplicates(v0) == 40
    assert report.dataset is not None
    assert (report.dataset.tables[0].version, report.dataset.tables[0].rows) == (0, len(v0))
    assert report.dataset.tables[0].as_of == "0"


def test_delta_as_of_cli_reports_the_version(delta_table: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    path, v0, _v1 = delta_table
    out = _cli("audit", str(path), "--target", "y", "--as-of", "0", "--no-confirm", "--format", "json")
    assert out.returncode == 1, out.stderr
    document = json.loads(out.stdout)
    (table,) = document["dataset"]["tables"]
    assert (table["format"], table["version"], table["as_of"], table["rows"]) == ("delta", 0, "0", len(v0))
    text = _cli("audit", str(path), "--target", "y", "--as-of", "0", "--no-confirm")
    assert "delta, version 0" in text.stdout


def test_as_of_on_a_parquet_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    _table(0, 50, 0).to_parquet(path)
    out = _cli("audit", str(path), "--as-of", "1", "--no-confirm")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "not a Delta table" in out.stderr


def test_missing_version_is_a_one_line_error(delta_table: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    path, _v0, _v1 = delta_table
    report = audit([DataSource(str(path), "path", as_of="7")], AuditOptions())
    assert len(report.errors) == 1 and "Delta" in report.errors[0].message
    assert "\n" not in report.errors[0].message


def test_delta_without_deltalake_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t" / "_delta_log").mkdir(parents=True)
    monkeypatch.setitem(sys.modules, "deltalake", None)
    with pytest.raises(DataError, match=r"deltalake package \(pip install 'mlstablint\[delta\]'\)"):
        open_source(tmp_path / "t")


# --- URIs --------------------------------------------------------------------------------------------------

def test_file_uri_audits_like_the_path(tmp_path: Path) -> None:
    frame = _table(3, 200, 25)
    path = tmp_path / "train.parquet"
    frame.to_parquet(path)
    by_path = audit([path], AuditOptions(target="y"))
    uri = path.absolute().as_uri()
    by_uri = audit([parse_source(uri)], AuditOptions(target="y"))
    assert _evidence(by_uri, "MSL601") == _evidence(by_path, "MSL601")
    assert _evidence(by_uri, "MSL601")["duplicated_rows"] == _duplicates(frame)  # type: ignore[index]
    assert {f.path for f in by_uri.findings} == {uri}
    assert by_uri.dataset is not None and by_path.dataset is not None
    assert by_uri.dataset.tables[0].fingerprint == by_path.dataset.tables[0].fingerprint


def test_unknown_scheme_keeps_the_uri_in_the_error() -> None:
    out = _cli("audit", "nosuchscheme://bucket/t", "--no-confirm")
    assert out.returncode == 2
    assert out.stderr.startswith("mlstablint: error: nosuchscheme://bucket/t: ")
    assert out.stderr.count("\n") == 1


def test_dbfs_on_the_local_engine_says_where_it_is_reachable() -> None:
    out = _cli("audit", "dbfs:/mnt/ml/train", "--no-confirm")
    assert out.returncode == 2
    assert out.stderr.startswith("mlstablint: error: dbfs:/mnt/ml/train: dbfs:/ is reachable from a Databricks")


def test_missing_fsspec_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(DataError, match=r"needs fsspec and s3fs \(pip install fsspec s3fs\)"):
        open_source(parse_source("s3a://bucket/train.parquet"))


@pytest.fixture
def memory_fs() -> Any:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    yield fs
    fs.rm("/lake", recursive=True) if fs.exists("/lake") else None


def test_memory_filesystem_parquet_file_and_folder(memory_fs: Any, tmp_path: Path) -> None:
    frame = _table(5, 300, 30)
    local = tmp_path / "train.parquet"
    frame.to_parquet(local)
    with memory_fs.open("/lake/train.parquet", "wb") as fh:
        fh.write(local.read_bytes())
    for i, part in enumerate((frame.iloc[:150], frame.iloc[150:])):
        with memory_fs.open(f"/lake/parts/part-{i}.parquet", "wb") as fh:
            pq.write_table(pa.Table.from_pandas(part, preserve_index=False), fh)
    with memory_fs.open("/lake/parts/_SUCCESS", "wb") as fh:
        fh.write(b"")
    expected = _evidence(audit([local], AuditOptions(target="y")), "MSL601")
    for uri in ("memory://lake/train.parquet", "memory://lake/parts"):
        report = audit([parse_source(uri)], AuditOptions(target="y"))
        assert not report.errors, report.errors
        assert _evidence(report, "MSL601") == expected
        assert _evidence(report, "MSL601")["duplicated_rows"] == _duplicates(frame)  # type: ignore[index]
        assert report.dataset is not None and report.dataset.tables[0].rows == len(frame)


def test_memory_filesystem_csv(memory_fs: Any) -> None:
    frame = _table(6, 120, 12)
    with memory_fs.open("/lake/train.csv", "wb") as fh:
        fh.write(frame.to_csv(index=False).encode())
    report = audit([parse_source("memory://lake/train.csv")], AuditOptions(target="y"))
    assert not report.errors, report.errors
    assert _evidence(report, "MSL601")["duplicated_rows"] == _duplicates(frame)  # type: ignore[index]


def test_memory_filesystem_refuses_pickles_and_missing_files(memory_fs: Any) -> None:
    with memory_fs.open("/lake/model.pkl", "wb") as fh:
        fh.write(b"\x80\x04payload")
    with pytest.raises(DataError, match="refused"):
        open_source(parse_source("memory://lake/model.pkl"))
    with pytest.raises(DataError, match="no such file"):
        open_source(parse_source("memory://lake/absent.parquet"))


def test_table_on_the_local_engine_is_a_usage_error() -> None:
    out = _cli("audit", "--table", "main.ml.train", "--no-confirm")
    assert out.returncode == 2
    assert out.stderr == ("mlstablint: error: --table reads a catalog table, which only the Spark engine can: "
                          "add --engine spark\n")


# --- dataset identity --------------------------------------------------------------------------------------

def test_fingerprint_is_stable_and_moves_with_the_content(tmp_path: Path) -> None:
    frame = _table(7, 500, 20)
    path = tmp_path / "train.parquet"
    frame.to_parquet(path, row_group_size=128)
    first = audit([path], AuditOptions(target="y"))
    small_batches = AuditOptions(target="y")
    small_batches.batch_size = 37
    again = audit([path], small_batches)
    assert first.dataset is not None and again.dataset is not None
    assert first.dataset.tables[0].fingerprint == again.dataset.tables[0].fingerprint
    changed = frame.copy()
    changed.loc[123, "b"] += 1.0  # one value of one row
    changed_path = tmp_path / "changed.parquet"
    changed.to_parquet(changed_path, row_group_size=128)
    other = audit([changed_path], AuditOptions(target="y"))
    assert other.dataset is not None
    assert other.dataset.tables[0].structure == first.dataset.tables[0].structure  # same footers' shape
    assert other.dataset.tables[0].statistics != first.dataset.tables[0].statistics
    assert other.dataset.tables[0].fingerprint != first.dataset.tables[0].fingerprint


def test_dataset_in_text_json_and_sarif(tmp_path: Path) -> None:
    frame = _table(8, 200, 10)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame.to_csv(train, index=False)
    frame.iloc[:50].to_csv(test, index=False)
    args = ("audit", "train.csv", "--test-data", "test.csv", "--target", "y", "--no-confirm")
    document = json.loads(_cli(*args, "--format", "json", cwd=tmp_path).stdout)
    tables = document["dataset"]["tables"]
    assert [(t["role"], t["source"], t["format"], t["rows"], t["columns"]) for t in tables] == [
        ("train", "train.csv", "csv", len(frame), 3), ("test", "test.csv", "csv", 50, 3)]
    sarif = json.loads(_cli(*args, "--format", "sarif", cwd=tmp_path).stdout)
    assert sarif["runs"][0]["properties"]["dataset"] == document["dataset"]
    text = _cli(*args, cwd=tmp_path).stdout.splitlines()
    fingerprint = tables[0]["fingerprint"][:16]
    assert f"dataset: train.csv (csv, 210 rows × 3 columns, fingerprint {fingerprint})" in text
    assert any(line.startswith("test dataset: test.csv (csv, 50 rows × 3 columns") for line in text)


def test_code_only_json_has_no_dataset(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    document = json.loads(_cli("check", "m.py", "--format", "json", cwd=tmp_path).stdout)
    assert set(document) == {"version", "findings", "errors"}


# --- the Python API ----------------------------------------------------------------------------------------

def test_api_confirms_like_the_cli(tmp_path: Path) -> None:
    frame = _table(9, 300, 45)
    path = tmp_path / "train.parquet"
    frame.to_parquet(path)
    report = mlstablint.audit(str(path), target="y", sweep_budget=20)
    duplicates = [f for f in report.findings if f.rule == "MSL601"]
    assert duplicates and duplicates[0].evidence["duplicated_rows"] == _duplicates(frame)
    assert duplicates[0].confirmation is not None
    cli = json.loads(_cli("audit", str(path), "--target", "y", "--sweep-budget", "20", "--format", "json").stdout)
    by_rule = {f["rule"]: f["confirmation"] for f in cli["findings"]}
    assert duplicates[0].confirmation.to_json() == by_rule["MSL601"]
    from_pandas = mlstablint.audit(frame, target="y", confirm=False)
    assert all(f.confirmation is None for f in from_pandas.findings)
    assert from_pandas.dataset is not None and report.dataset is not None
    assert from_pandas.dataset.tables[0].source == "<pandas DataFrame>"
    assert from_pandas.dataset.tables[0].statistics == report.dataset.tables[0].statistics


def test_api_delta_as_of(delta_table: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    path, v0, _v1 = delta_table
    report = mlstablint.audit(path, target="y", as_of=0, confirm=False)
    assert report.dataset is not None and report.dataset.tables[0].version == 0
    assert [f.evidence["duplicated_rows"] for f in report.findings if f.rule == "MSL601"] == [_duplicates(v0)]


def test_delta_as_of_timestamp(delta_table: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    """A timestamp between the two commits reads version 0; one after both reads version 1."""
    import deltalake

    path, v0, v1 = delta_table
    history = {entry["version"]: entry["timestamp"] for entry in deltalake.DeltaTable(str(path)).history()}
    from datetime import datetime, timezone

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()

    at_first = open_source(DataSource(str(path), "path", as_of=iso(history[0])))
    assert (at_first.version, at_first.num_rows) == (0, len(v0))
    later = open_source(DataSource(str(path), "path", as_of=iso(history[1] + 60_000)))
    assert (later.version, later.num_rows) == (1, len(v1))


def test_configured_data_keeps_uris_and_anchors_paths(tmp_path: Path) -> None:
    from mlstablint.config import load_config

    frame = _table(10, 100, 5)
    (tmp_path / "sub").mkdir()
    frame.to_parquet(tmp_path / "sub" / "train.parquet")
    uri = (tmp_path / "sub" / "train.parquet").as_uri()
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.mlstablint]\ndata = ["sub/train.parquet", "{uri}"]\ntest-data = "s3://bucket/test"\n')
    cfg = load_config(None, [], cwd=tmp_path)
    assert [s.kind for s in cfg.data] == ["path", "uri"]
    assert cfg.data[0].local_path == tmp_path / "sub" / "train.parquet" and cfg.data[1].text == uri
    assert cfg.test_data == DataSource("s3://bucket/test", "uri", "s3")
    (tmp_path / "pyproject.toml").write_text(f'[tool.mlstablint]\ndata = ["sub/train.parquet", "{uri}"]\n')
    document = json.loads(_cli("audit", "--no-confirm", "--format", "json", cwd=tmp_path).stdout)
    assert [t["source"] for t in document["dataset"]["tables"]] == ["sub/train.parquet", uri]
    assert len({t["fingerprint"] for t in document["dataset"]["tables"]}) == 1


def test_api_refuses_as_of_for_a_dataframe_and_unknown_engines() -> None:
    frame = _table(11, 20, 0)
    with pytest.raises(ValueError, match="as_of reads a Delta table"):
        mlstablint.audit(frame, target="y", as_of=1)
    with pytest.raises(ValueError, match="engine must be 'local' or 'spark'"):
        mlstablint.audit(frame, target="y", engine="dask")


def test_py4j_errors_are_reported_by_the_jvm_line() -> None:
    """py4j's first line names only the JVM call; the line after it says what failed."""
    from mlstablint.commands.spark import spark_message

    class Py4JJavaError(Exception):  # stands for py4j.protocol.Py4JJavaError without a JVM
        pass

    Py4JJavaError.__module__ = "py4j.protocol"
    error = Py4JJavaError("An error occurred while calling o1078.load.\n"
                          ": org.apache.spark.SparkClassNotFoundException: [DATA_SOURCE_NOT_FOUND] Failed to find "
                          "the data source: delta.\n\tat org.apache.spark.sql.errors...")
    assert spark_message(error) == ("org.apache.spark.SparkClassNotFoundException: [DATA_SOURCE_NOT_FOUND] Failed "
                                    "to find the data source: delta.")
    assert spark_message(ValueError("one line\nsecond")) == "one line"
