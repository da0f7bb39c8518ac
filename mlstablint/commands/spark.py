"""`mlstablint audit --engine spark`: read each table with Spark and audit it with the Spark engine.

What Spark reads: a local or mounted parquet path (through the local reader's checks first: it refuses
pickles and tells parquet from CSV; Spark then reads the very same parquet parts), a URI (`s3://`,
`abfss://`, `dbfs:/`... as given, parquet or Delta), a Delta table (a folder with `_delta_log/`, through
`spark.read.format("delta")` where the session has the Delta Lake connector — built into Databricks, the
`delta-spark` package elsewhere — and otherwise as the parquet files of the version deltalake lists:
`_delta_files`), or a catalog table (`spark.read.table("catalog.schema.table")`). `as_of` time-travels a
Delta table (`versionAsOf` / `timestampAsOf`, or deltalake's version). CSV is refused: Spark infers its column
types differently from the local reader, so the two engines would not audit the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlstablint.config import ConfigError
from mlstablint.data.audit import AuditOptions, report_of
from mlstablint.data.identity import statistics_digest
from mlstablint.data.read import (
    CSV_SUFFIXES,
    DataError,
    Source,
    TableRef,
    delta_snapshot,
    digest,
    display_path,
    first_line,
    open_source,
    table_suffix,
)
from mlstablint.dataset import Role, TableIdentity
from mlstablint.findings import Report, ToolError
from mlstablint.sources import DataSource, SourceError, parse_as_of, parse_source
from mlstablint.spark.session import SparkUnavailable, get_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from mlstablint.data.sample import Sample
    from mlstablint.spark.scan import Scan


def read_parquet(spark: SparkSession, path: Path) -> tuple[DataFrame, Source]:
    """A local parquet table (a file or a directory of parts) as a DataFrame, with its source."""
    source = open_source(path)
    if source.kind != "parquet":
        raise DataError(f"the Spark engine reads parquet (a file or a directory of parts), not {source.kind}: "
                        f"convert the table, or audit it with --engine local")
    files = [str(f) for f in source.files]
    return _spark_call(lambda: spark.read.parquet(*files)), source


@dataclass
class SparkTable:
    """A table as Spark reads it, with what its identity needs besides the statistics."""

    df: DataFrame
    display: str
    format: str  # parquet, delta, table (a catalog table), spark (a DataFrame handed to the API)
    structure: str
    version: int | None = None
    as_of: str | None = None
    files: list[str] | None = None  # the local parquet files behind `df`, when the command resolved them
    _scan: Scan | None = field(default=None, init=False, repr=False)

    def scan(self) -> Scan:
        """How the engine's passes read the table (`mlstablint.spark.scan`), decided once."""
        if self._scan is None:
            from mlstablint.spark.scan import scan_of

            self._scan = scan_of(self.df, self.files)
        return self._scan

    def identity(self, role: Role, partial: Any) -> TableIdentity:
        return TableIdentity(role=role, source=self.display, format=self.format, rows=partial.rows,
                             columns=len(self.df.columns), structure=self.structure,
                             statistics=statistics_digest(partial), version=self.version, as_of=self.as_of)


def dataframe_table(df: DataFrame, display: str) -> SparkTable:
    """A DataFrame handed to the API: its schema is all that is known of it besides its statistics."""
    return SparkTable(df, display, "spark", digest("spark", df.schema.simpleString()))


def read_table(spark: SparkSession, table: TableRef) -> SparkTable:
    """Any table the Spark engine reads (see the module's docstring)."""
    ref = table if isinstance(table, DataSource) else parse_source(table)
    try:
        when = parse_as_of(ref.as_of)
        local = ref.local_path
    except SourceError as exc:
        raise DataError(str(exc)) from None
    if ref.kind == "table":
        reader = _time_travel(spark.read, when)
        df = _spark_call(lambda: reader.table(ref.text))
        return SparkTable(df, ref.text, "table", digest("table", ref.text, df.schema.simpleString(), str(when)),
                          when if isinstance(when, int) else None, ref.as_of)
    if local is not None and not (local / "_delta_log").is_dir():
        if when is not None:
            raise DataError("--as-of reads a Delta table at a version, and this is not a Delta table (no _delta_log/)")
        df, source = read_parquet(spark, local)
        return SparkTable(df, source.display if ref.kind == "path" else ref.text, "parquet", source.structure,
                          files=[str(f.absolute()) for f in source.files])
    location = str(local.absolute()) if local is not None else ref.text
    display = ref.text if ref.kind == "uri" else display_path(local) if local is not None else ref.text
    if local is not None or when is not None or _has_delta_log(spark, ref.text):
        reader = _time_travel(spark.read.format("delta"), when)
        try:
            df = _spark_call(lambda: reader.load(location), delta=True)
        except _NoDeltaConnector:
            return _delta_files(spark, location, display, ref.as_of)
        return SparkTable(df, display, "delta", digest("delta", location, df.schema.simpleString(), str(when)),
                          when if isinstance(when, int) else None, ref.as_of)
    if table_suffix(Path(ref.text)) in CSV_SUFFIXES:
        raise DataError("the Spark engine reads parquet and Delta tables, not CSV: convert the table, or audit it "
                        "with --engine local")
    df = _spark_call(lambda: spark.read.parquet(ref.text))
    return SparkTable(df, ref.text, "parquet", digest("parquet", ref.text, df.schema.simpleString()))


NO_CONNECTOR = ("reading this Delta table on Spark needs the Delta Lake connector (built into Databricks; elsewhere "
                "the delta-spark package and its jars)")
# Reader features that change nothing about reading a version's parquet files as they are.
_PLAIN_READER_FEATURES = frozenset({"timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"})


class _NoDeltaConnector(DataError):
    """The session has no Delta data source."""


def _delta_files(spark: SparkSession, location: str, display: str, as_of: str | None) -> SparkTable:
    """A Delta table on a session without the Delta data source: the files of the version asked for, listed by
    deltalake (the local engine's reader: the same version, structure and identity), read by Spark as parquet
    (or by the executors themselves: `scan`). Only where those files are the table as they are: not
    partitioned (the partition values live in the log, not in the files), and no deletion vectors, column
    mapping or other reader feature that changes what the files mean."""
    try:
        snap = delta_snapshot(location, as_of)
    except DataError as exc:
        if "needs the deltalake package" in str(exc):
            raise DataError(f"{NO_CONNECTOR}, or the deltalake package (pip install 'mlstablint[delta]')") from None
        raise
    features = snap.reader_features - _PLAIN_READER_FEATURES
    if features:
        raise DataError(f"{NO_CONNECTOR}: without it the version's parquet files are read as they are, and this "
                        f"table's {', '.join(sorted(features))} would be ignored")
    if snap.partition_columns:
        raise DataError(f"{NO_CONNECTOR}: without it the version's parquet files are read as they are, and this "
                        f"table is partitioned by {', '.join(snap.partition_columns)} (values kept in its log)")
    files = snap.files
    if not files:
        raise DataError("the table has no rows (no data files at this version)")
    names = list(snap.dataset.schema.names)
    # Files written before a column was added lack it: the union of their schemas, in the table's order.
    df = _spark_call(lambda: spark.read.option("mergeSchema", "true").parquet(*files))
    if df.columns != names:
        from mlstablint.spark.scan import column

        missing = sorted(set(names) - set(df.columns))
        if missing:
            raise DataError(f"the Delta table's column {missing[0]!r} is in none of its version's files")
        df = df.select(*[column(n) for n in names])
    paths = [local_file(uri) for uri in files]
    return SparkTable(df, display, "delta", snap.structure, snap.version, as_of,
                      files=[p for p in paths if p is not None] if None not in paths else None)


def local_file(uri: str) -> str | None:
    """The local path of a file deltalake lists (a plain absolute path, or a `file:` URI), else None."""
    if uri.startswith("/"):
        return uri
    from mlstablint.spark.scan import local_path

    return local_path(uri)


def _time_travel(reader: Any, when: int | str | None) -> Any:
    if when is None:
        return reader
    return reader.option("versionAsOf" if isinstance(when, int) else "timestampAsOf", str(when))


def _has_delta_log(spark: SparkSession, uri: str) -> bool:
    """Whether the folder behind a URI holds a `_delta_log/` (Spark lists it when the reader is made)."""
    try:
        _ = spark.read.format("text").load(uri.rstrip("/") + "/_delta_log").schema  # Spark Connect analyses lazily
    except Exception as exc:  # PATH_NOT_FOUND (an AnalysisException), or any listing error: not Delta
        if not _from_spark(exc):
            raise
        return False
    return True


def _from_spark(exc: BaseException) -> bool:
    """pyspark's own errors and the JVM's (through py4j): reported in one line, not as internal errors."""
    return any(cls.__module__.startswith(("pyspark", "py4j")) for cls in type(exc).__mro__)


def spark_message(exc: BaseException) -> str:
    """The one line that says what went wrong: py4j's first line only names the JVM call
    ("An error occurred while calling o1078.load."), the JVM's exception follows it."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("An error occurred while calling"):
        return lines[1].lstrip(": ").strip()[:300]
    return first_line(exc)


def _spark_call(call: Callable[[], DataFrame], delta: bool = False) -> DataFrame:
    try:
        df = call()
        _ = df.schema  # Spark Connect analyses lazily: a missing table or source fails here, not later
        return df
    except Exception as exc:  # pyspark's AnalysisException and the JVM's errors: one line for the user
        if not _from_spark(exc):
            raise
        line, full = spark_message(exc), str(exc)
        if delta and ("DATA_SOURCE_NOT_FOUND" in full or "Failed to find the data source: delta" in full):
            raise _NoDeltaConnector(NO_CONNECTOR) from None
        raise DataError(f"Spark cannot read the table: {line}") from None


class SparkAuditor:
    """The Spark engine behind `run_data`: an `audit(sources, options)` like the local one, and the
    confirmation experiments' sampler of each table."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def audit(self, sources: list[TableRef], options: AuditOptions | None = None) -> Report:
        options = options or AuditOptions()
        report = Report()
        for path in sources:
            try:
                table = read_table(self.spark, path)
                test = None
                if options.test_data is not None:
                    try:
                        test = read_table(self.spark, options.test_data)
                    except DataError as exc:
                        raise DataError(str(exc), path=display_path(options.test_data)) from None
                try:
                    ctx = analyse(table, options, test)
                except DataError:
                    raise
                except Exception as exc:  # a failed Spark job (an executor without mlstablint, say): one line
                    if not _from_spark(exc):
                        raise
                    raise DataError(f"the Spark job failed: {spark_message(exc)}") from None
                report.extend(report_of(ctx, options))
            except DataError as exc:
                report.errors.append(ToolError(exc.path or display_path(path), str(exc)))
        return report.finalize()

    def sampler(self, path: TableRef, options: AuditOptions) -> Callable[[int, int], Sample]:
        """The table's confirmation sample, drawn by Spark when an experiment first needs it."""
        return sampler_of(lambda: read_table(self.spark, path), options)


def sampler_of(table: SparkTable | Callable[[], SparkTable], options: AuditOptions) -> Callable[[int, int], Sample]:
    """A Spark table's confirmation sample, drawn per partition when an experiment first needs it (`table`
    may be a function that reads the table then)."""

    def sample(max_rows: int, seed: int) -> Sample:
        from mlstablint.spark.sample import spark_sample

        read = table if isinstance(table, SparkTable) else table()
        try:
            return spark_sample(read.scan(), read.display, options.target, options.features, options.intercept,
                                max_rows, seed)
        except Exception as exc:  # a Spark job that failed: the experiments skip with this reason
            if not _from_spark(exc):
                raise
            raise DataError(f"Spark could not sample the table: {spark_message(exc)}") from None

    return sample


def analyse(table: SparkTable, options: AuditOptions, test: SparkTable | None = None) -> Any:
    """The Spark engine's analysis of a table (and its test table), with their identities."""
    from mlstablint.spark.engine import analyse_dataframe

    ctx = analyse_dataframe(table.scan(), table.display, options, test.scan() if test is not None else None,
                            test.display if test is not None else "")
    ctx.identity.append(table.identity("train", ctx.partial))
    if test is not None and ctx.test is not None:
        ctx.identity.append(test.identity("test", ctx.test))
    return ctx


def spark_auditor(master: str | None) -> SparkAuditor:
    """The Spark engine on the active or a new session; ConfigError when pyspark or Java is missing."""
    try:
        return SparkAuditor(get_session(master))
    except SparkUnavailable as exc:
        raise ConfigError(str(exc)) from None
