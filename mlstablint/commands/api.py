"""`mlstablint.audit(...)` from Python (a notebook): a Spark DataFrame on its Spark session, a pandas
DataFrame or a path on the local engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlstablint.data.audit import AuditOptions
    from mlstablint.findings import Report


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
                name: str | None = None, test_name: str | None = None) -> Report:
    """`mlstablint.audit`: see its docstring."""
    from mlstablint.data.audit import AuditOptions, report_of
    from mlstablint.thresholds import Thresholds

    options = AuditOptions(target=target, features=features, intercept=intercept,
                           thresholds=Thresholds().with_overrides(thresholds or {}, "thresholds"),
                           enabled=set(select) if select is not None else None, progress=False)
    if _is_spark_dataframe(data):
        return report_of(_audit_spark(data, test, options, name or "<Spark DataFrame>",
                                      test_name or "<Spark test DataFrame>"), options)
    if _is_spark_dataframe(test):
        raise TypeError("a Spark test DataFrame needs a Spark training DataFrame")
    return _audit_local(data, test, options, name, test_name)


def _audit_spark(df: Any, test: Any, options: AuditOptions, display: str, test_display: str) -> Any:
    from mlstablint.commands.spark import read_parquet
    from mlstablint.spark.engine import analyse_dataframe

    if test is not None and not _is_spark_dataframe(test):
        if _is_pandas_dataframe(test):
            test = df.sparkSession.createDataFrame(test)
        else:
            test, test_display = read_parquet(df.sparkSession, Path(test))
    return analyse_dataframe(df, display, options, test, test_display)


def _audit_local(data: Any, test: Any, options: AuditOptions, name: str | None, test_name: str | None) -> Report:
    import tempfile

    from mlstablint.data.audit import analyse_table, report_of

    with tempfile.TemporaryDirectory(prefix="mlstablint-") as tmp:
        path, display = _as_path(data, Path(tmp) / "train.parquet", name, "<pandas DataFrame>")
        if test is not None:
            options.test_data, test_name = _as_path(test, Path(tmp) / "test.parquet", test_name,
                                                    "<pandas test DataFrame>")
        return report_of(analyse_table(path, options, display, test_name), options)


def _as_path(table: Any, scratch: Path, name: str | None, default: str) -> tuple[Path, str | None]:
    """A pandas DataFrame written to `scratch` (parquet, without its index), or the path as it is."""
    if not _is_pandas_dataframe(table):
        return Path(table), name
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), scratch)
    return scratch, name or default
