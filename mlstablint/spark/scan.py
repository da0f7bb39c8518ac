"""What the Spark engine's passes run over: a DataFrame's rows, or a parquet table's row groups that the
executors read themselves.

`mapInArrow` hands a function a DataFrame's rows as Arrow batches that the JVM builds value by value; on
the 300-column benchmark table that conversion alone costs more CPU than the local engine's whole audit
(`bench/bench_spark.py`). When the table is plain parquet files on a path the executors can open (a local
or mounted path, `file://`, `/dbfs/...`) — a path the command line was given, or a DataFrame that is exactly
`spark.read.parquet(...)` or a catalog table of such files — the executors read the row groups with
pyarrow, the local engine's reader (`data.read.parquet_batches`), and Spark schedules the tasks (one range
of row groups each) and aggregates what they return. Any other DataFrame (filtered, joined, partitioned,
Delta, behind `s3a://` or `dbfs:/`, or on Spark Connect, which shows no plan) is read by Spark.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from mlstablint.data.partials import block_rows, make_layout
from mlstablint.data.read import DataError, parquet_batches

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

# A pass over one partition: its Arrow batches (columns under their own names) in, the pass's rows out.
Task = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]
TASKS_PER_CORE = 4  # row-group tasks per core: small enough to balance, few enough to merge cheaply


def column(name: str) -> Column:
    """A column by its name as it is: dots and backticks in a name are not struct paths or quoting."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def columns(df: DataFrame, names: list[str] | tuple[str, ...]) -> DataFrame:
    """The named columns, renamed `_0`, `_1`...: `mapInArrow` cannot resolve a name with a dot in it
    (pyspark 4.3). The executors put the names back with `renamed`."""
    return df.select(*[column(n).alias(f"_{i}") for i, n in enumerate(names)])


def renamed(batches: Iterator[pa.RecordBatch], names: list[str] | tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield batch.rename_columns(list(names))


def arrow_schema(df: DataFrame) -> pa.Schema:
    """The Arrow schema of the batches `mapInArrow` hands over, which the layout is decided from."""
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        return to_arrow_schema(df.schema)
    except Exception as exc:  # pyspark raises its own errors for types Arrow cannot carry
        raise DataError(f"the DataFrame's schema cannot be read through Arrow: {exc}") from None


@dataclass(frozen=True)
class RowGroups:
    """Parquet files by local path and their row groups in table order; shipped with every task."""

    files: tuple[str, ...]
    units: tuple[tuple[int, int], ...]  # (index in files, row group)
    schema: pa.Schema  # the first file's, which the local engine makes its layout from


def row_groups(files: list[str] | list[Path]) -> RowGroups | None:
    """The row groups of local parquet files, read from their footers on the driver; None without rows, or
    when the files do not all hold the same columns (a Delta table's older files may lack added columns: Spark
    reads those as nulls)."""
    units: list[tuple[int, int]] = []
    schema = None
    for i, path in enumerate(files):
        meta = pq.read_metadata(path)
        if schema is None:
            schema = meta.schema.to_arrow_schema()
        elif meta.schema.to_arrow_schema().names != schema.names:
            return None
        units.extend((i, g) for g in range(meta.num_row_groups) if meta.row_group(g).num_rows)
    if schema is None or not units:
        return None
    return RowGroups(tuple(str(f) for f in files), tuple(units), schema)


@dataclass(frozen=True)
class Scan:
    """A table the passes map over: `df` read by Spark, or, with `parts`, its row groups read by the executors."""

    df: DataFrame
    parts: RowGroups | None = None

    @property
    def schema(self) -> pa.Schema:
        return self.parts.schema if self.parts is not None else arrow_schema(self.df)

    def map(self, names: list[str] | tuple[str, ...], task: Task, schema: str) -> DataFrame:
        """`task` over every partition's batches of the columns `names`, with Spark's output `schema`."""
        if self.parts is None:
            return columns(self.df, names).mapInArrow(functools.partial(_over_rows, tuple(names), task), schema)
        spark = self.df.sparkSession
        tasks = max(1, min(len(self.parts.units), TASKS_PER_CORE * _cores(spark)))
        ids = spark.range(0, len(self.parts.units), 1, numPartitions=tasks)
        return ids.mapInArrow(functools.partial(_over_row_groups, self.parts, list(names), task), schema)


def _cores(spark: SparkSession) -> int:
    try:
        return int(spark.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect has no SparkContext on the client
        return int(spark.conf.get("spark.default.parallelism", "2") or 2)


# ---- on the executors


def _over_rows(names: tuple[str, ...], task: Task, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield from task(renamed(batches, names))


def _over_row_groups(parts: RowGroups, names: list[str], task: Task, ids: Iterator[pa.RecordBatch]
                     ) -> Iterator[pa.RecordBatch]:
    """`task` over the row groups whose numbers this partition holds (a range of `spark.range`)."""
    rows = block_rows(len(names) + 1)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in ids:
            for unit in batch.column(0).to_pylist():
                index, group = parts.units[unit]
                path = parts.files[index]
                yield from parquet_batches(path, path, names, rows, [group])

    yield from task(batches())


# ---- recognising plain parquet files


def local_path(uri: str) -> str | None:
    """The local path of a `file:` URI Spark lists (`file:/tmp/a%20b.parquet`), else None."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return unquote(parts.path)


def parquet_files(df: DataFrame) -> list[str] | None:
    """The local parquet files `df` is exactly a scan of — `spark.read.parquet(...)`, or a view or catalog
    table of it, with no partition columns and the files' own column names — else None. The plan is read
    from the JVM (classic sessions only); anything unexpected there means None: Spark reads the table."""
    try:
        plan = df._jdf.queryExecution().analyzed()
        while plan.getClass().getSimpleName() in ("SubqueryAlias", "View"):
            plan = plan.child()
        if plan.getClass().getSimpleName() != "LogicalRelation":
            return None
        relation = plan.relation()
        if (relation.getClass().getSimpleName() != "HadoopFsRelation"
                or relation.fileFormat().getClass().getSimpleName() != "ParquetFileFormat"
                or relation.partitionSchema().length() != 0 or relation.bucketSpec().isDefined()):
            return None
        uris = list(df.inputFiles())
    except Exception:  # Spark Connect (no _jdf), another Spark's plan classes, a py4j error: Spark reads it
        return None
    paths = [local_path(uri) for uri in uris]
    if not paths or any(p is None for p in paths):
        return None
    return sorted(p for p in paths if p is not None)


def scan_of(df: DataFrame, files: list[str] | list[Path] | None = None) -> Scan:
    """How the passes read `df`: the executors read `files` (a local parquet table the caller resolved), or the
    files `df` is a plain scan of, when their columns are `df`'s; otherwise Spark reads `df`."""
    found = files if files is not None else parquet_files(df)
    if not found:
        return Scan(df)
    try:
        parts = row_groups(found)
    except (OSError, pa.ArrowException):  # a footer the driver cannot read: let Spark try, and say why
        return Scan(df)
    if parts is None or not _same_columns(parts.schema, arrow_schema(df)):
        return Scan(df)
    return Scan(df, parts)


def _same_columns(files: pa.Schema, frame: pa.Schema) -> bool:
    """The files hold `df`'s columns in its order, each a design column in both or in neither (a schema given to
    the reader may select or retype columns)."""
    if files.names != frame.names:
        return False
    try:
        return make_layout(files, None, None).design == make_layout(frame, None, None).design
    except DataError:  # no design column: the audit says so, whoever reads the table
        return False
