"""`mlstablint.audit(...)` from Python (a notebook): a Spark DataFrame or a catalog table on Spark, a pandas
DataFrame, a path or a URI on the local engine (or on Spark with `engine="spark"`); then the confirmations,
as the command line runs them."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlstablint.sources import DataSource, SourceError, parse_source

if TYPE_CHECKING:
    from mlstablint.data.audit import AuditOptions
    from mlstablint.data.sample import Sample
    from mlstablint.findings import Report
    from mlstablint.sweep.confirm import Table


def _is_dataframe(obj: Any, package: str) -> bool:
    """A DataFrame class of `package` (or a subclass) — "pyspark.sql" covers classic and Spark Connect —
    recognised without importing the package."""
    return any(cls.__name__ == "DataFrame" and cls.__module__.startswith(package) for cls in type(obj).__mro__)


def _is_spark_dataframe(obj: Any) -> bool:
    return _is_dataframe(obj, "pyspark.sql")


def _is_pandas_dataframe(obj: Any) -> bool:
    return _is_dataframe(obj, "pandas")


def audit_table(data: Any, target: str | None = None, *, test: Any = None, features: list[str] | None = None,
                intercept: bool = True, select: list[str] | None = None, thresholds: dict[str, Any] | None = None,
                name: str | None = None, test_name: str | None = None, confirm: bool = True,
                sweep_budget: float | None = None, as_of: str | int | None = None,
                engine: str | None = None) -> Report:
    """`mlstablint.audit`: see its docstring."""
    from mlstablint.commands.check import confirm_findings
    from mlstablint.data.audit import AuditOptions
    from mlstablint.thresholds import Thresholds

    if engine not in (None, "local", "spark"):
        raise ValueError(f"engine must be 'local' or 'spark', not {engine!r}")
    options = AuditOptions(target=target, features=features, intercept=intercept,
                           thresholds=Thresholds().with_overrides(thresholds or {}, "thresholds"),
                           enabled=set(select) if select is not None else None, progress=False)
    when = None if as_of is None else str(as_of)
    ref = _named(data, when, engine)
    if when is not None and ref is None:
        raise ValueError("as_of reads a Delta table named by its path, URI or catalog name, not a DataFrame")
    tables: list[Table] = []

    def confirmed(report: Report) -> Report:
        confirm_findings(report.finalize(), confirm, sweep_budget, None, tables)
        return report

    if _is_spark_dataframe(data) or engine == "spark" or (ref is not None and ref.kind == "table"):
        return confirmed(_audit_spark(data, ref, test, options, name, test_name, tables))
    if _is_spark_dataframe(test):
        raise TypeError("a Spark test DataFrame needs a Spark training DataFrame")
    with tempfile.TemporaryDirectory(prefix="mlstablint-") as tmp:  # a pandas DataFrame's parquet copy
        return confirmed(_audit_local(ref if ref is not None else data, test, options, name, test_name, tables,
                                      Path(tmp)))


def _named(data: Any, as_of: str | None, engine: str | None) -> DataSource | None:
    """A path, URI or catalog table name given as a string or Path (None for a DataFrame).

    A string that names no local file and reads as `[catalog.]schema.table` is a catalog table when the Spark
    engine is asked for, or when a Spark session is active (a notebook on Databricks)."""
    if isinstance(data, DataSource):
        return data
    if isinstance(data, Path):
        return parse_source(data, as_of=as_of)
    if not isinstance(data, str):
        return None
    ref = parse_source(data, as_of=as_of)
    if ref.kind == "path" and not Path(data).exists() and (engine == "spark" or _active_spark()):
        try:
            return parse_source(data, table=True, as_of=as_of)
        except SourceError:
            return ref
    return ref


def _active_spark() -> bool:
    """A Spark session is running in this process (pyspark is not imported to find out)."""
    if "pyspark.sql" not in sys.modules:
        return False
    return sys.modules["pyspark.sql"].SparkSession.getActiveSession() is not None


def _audit_spark(data: Any, ref: DataSource | None, test: Any, options: AuditOptions, name: str | None,
                 test_name: str | None, tables: list[Table]) -> Report:
    from mlstablint.commands.spark import analyse, dataframe_table, read_table, sampler_of
    from mlstablint.data.audit import report_of
    from mlstablint.spark.session import get_session

    if ref is not None:
        spark = get_session(None)
        table = read_table(spark, ref)
        table.display = name or table.display
    elif _is_pandas_dataframe(data):  # engine="spark" asked for a pandas DataFrame
        spark = get_session(None)
        table = dataframe_table(spark.createDataFrame(data), name or "<pandas DataFrame>")
    else:
        spark = data.sparkSession
        table = dataframe_table(data, name or "<Spark DataFrame>")
    test_table = None
    if test is not None:
        if _is_spark_dataframe(test):
            test_table = dataframe_table(test, test_name or "<Spark test DataFrame>")
        elif _is_pandas_dataframe(test):
            test_table = dataframe_table(spark.createDataFrame(test), test_name or "<pandas test DataFrame>")
        else:
            test_table = read_table(spark, test if isinstance(test, DataSource) else parse_source(test))
            test_table.display = test_name or test_table.display
    report = report_of(analyse(table, options, test_table), options)
    tables.append(_table_for(ref or parse_source(table.display), table.display, options, report,
                             sampler_of(table, options)))
    return report


def _audit_local(data: Any, test: Any, options: AuditOptions, name: str | None, test_name: str | None,
                 tables: list[Table], scratch: Path) -> Report:
    from mlstablint.data.audit import analyse_table, report_of

    path, display = _as_path(data, scratch / "train.parquet", name, "<pandas DataFrame>")
    if test is not None:
        options.test_data, test_name = _as_path(test, scratch / "test.parquet", test_name, "<pandas test DataFrame>")
    report = report_of(analyse_table(path, options, display, test_name), options)
    tables.append(_table_for(path, report.dataset.tables[0].source if report.dataset else str(path), options, report,
                             None))
    return report


def _table_for(path: Path | DataSource, display: str, options: AuditOptions, report: Report,
               sampler: Callable[[int, int], Sample] | None) -> Table:
    """The audited table as the confirmation experiments need it."""
    from mlstablint.sweep.confirm import Table

    return Table(path=path, display=display, target=options.target, features=options.features,
                 intercept=options.intercept, max_classes=options.thresholds.max_classes,
                 findings=list(report.findings), sampler=sampler)


def _as_path(table: Any, scratch: Path, name: str | None, default: str) -> tuple[Path | DataSource, str | None]:
    """A pandas DataFrame written to `scratch` (parquet, without its index), or the path as it is."""
    if isinstance(table, DataSource):
        return table, name
    if not _is_pandas_dataframe(table):
        return parse_source(table if isinstance(table, Path) else str(table)), name
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), scratch)
    return scratch, name or default
