"""`mlstablint audit --engine spark`: read each table with Spark and audit it with the Spark engine.

Paths go through the local reader's checks first (it refuses pickles and tells parquet from CSV);
the Spark engine then reads the very same parquet parts. Paths are local or mounted (`/dbfs/...` on
Databricks); a table behind a URI is audited from a notebook, `mlstablint.audit(spark.read...)`. CSV
is refused: Spark infers its column types differently from the local reader, so the two engines
would not audit the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlstablint.config import ConfigError
from mlstablint.data.audit import AuditOptions, report_of
from mlstablint.data.read import DataError, display_path, first_line, open_source
from mlstablint.findings import Report, ToolError
from mlstablint.spark.session import SparkUnavailable, get_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from mlstablint.data.sample import Sample

def read_parquet(spark: SparkSession, path: Path) -> tuple[DataFrame, str]:
    """A parquet table (a file or a directory of parts) as a DataFrame, with its display name."""
    source = open_source(path)
    if source.kind != "parquet":
        raise DataError(f"the Spark engine reads parquet (a file or a directory of parts), not {source.kind}: "
                        f"convert the table, or audit it with --engine local")
    files = [str(f) for f in source.files]
    return _spark_call(lambda: spark.read.parquet(*files)), source.display


def _from_spark(exc: BaseException) -> bool:
    """pyspark's own errors and the JVM's (through py4j): reported in one line, not as internal errors."""
    return any(cls.__module__.startswith(("pyspark", "py4j")) for cls in type(exc).__mro__)


def _spark_call(call: Callable[[], DataFrame]) -> DataFrame:
    try:
        return call()
    except Exception as exc:  # pyspark's AnalysisException and the JVM's errors: one line for the user
        if not _from_spark(exc):
            raise
        raise DataError(f"Spark cannot read the table: {first_line(exc)}") from None


class SparkAuditor:
    """The Spark engine behind `run_data`: an `audit(sources, options)` like the local one, and the
    confirmation experiments' sampler of each table."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def audit(self, sources: list[Path], options: AuditOptions | None = None) -> Report:
        from mlstablint.spark.engine import analyse_dataframe

        options = options or AuditOptions()
        report = Report()
        for path in sources:
            try:
                df, display = read_parquet(self.spark, path)
                test, test_display = None, ""
                if options.test_data is not None:
                    try:
                        test, test_display = read_parquet(self.spark, options.test_data)
                    except DataError as exc:
                        raise DataError(str(exc), path=display_path(options.test_data)) from None
                try:
                    ctx = analyse_dataframe(df, display, options, test, test_display)
                except DataError:
                    raise
                except Exception as exc:  # a failed Spark job (an executor without mlstablint, say): one line
                    if not _from_spark(exc):
                        raise
                    raise DataError(f"the Spark job failed: {first_line(exc)}") from None
                report.extend(report_of(ctx, options))
            except DataError as exc:
                report.errors.append(ToolError(exc.path or display_path(path), str(exc)))
        return report.finalize()

    def sampler(self, path: Path, options: AuditOptions) -> Callable[[int, int], Sample]:
        """The table's confirmation sample, drawn by Spark when an experiment first needs it."""

        def sample(max_rows: int, seed: int) -> Sample:
            from mlstablint.spark.sample import spark_sample

            df, display = read_parquet(self.spark, path)
            try:
                return spark_sample(df, display, options.target, options.features, options.intercept, max_rows,
                                    seed)
            except Exception as exc:  # a Spark job that failed: the experiments skip with this reason
                if not _from_spark(exc):
                    raise
                raise DataError(f"Spark could not sample the table: {first_line(exc)}") from None

        return sample


def spark_auditor(master: str | None) -> SparkAuditor:
    """The Spark engine on the active or a new session; ConfigError when pyspark or Java is missing."""
    try:
        return SparkAuditor(get_session(master))
    except SparkUnavailable as exc:
        raise ConfigError(str(exc)) from None
