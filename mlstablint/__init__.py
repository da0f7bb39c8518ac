"""mlstablint: is the model wrong, or is the computation unstable?

A linter for numerically unstable patterns in ML pipeline code, with a data auditor
and empirical confirmation (see DESIGN.md in the project's shared folder).

`mlstablint.audit(table, target="y")` audits a training table from Python (a notebook): a Spark
DataFrame on the Spark engine, a pandas DataFrame or a path on the local one. Everything it needs is
imported when it is called, so that `import mlstablint` (and the code-only `mlstablint check`) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlstablint.findings import Report

__version__ = "0.1.0"

__all__ = ["__version__", "audit"]


def audit(data: Any, target: str | None = None, *, test: Any = None, features: list[str] | None = None,
          intercept: bool = True, select: list[str] | None = None, thresholds: dict[str, Any] | None = None,
          name: str | None = None, test_name: str | None = None, confirm: bool = True,
          sweep_budget: float | None = None, as_of: str | int | None = None, engine: str | None = None) -> Report:
    """Audit one training table, confirm its findings as the command line does, and return the report.

    `data` is a Spark DataFrame (audited on its Spark session), a pandas DataFrame, a path or URI of a
    parquet, CSV, Arrow or Delta table (audited locally; `s3://...` and the like as given), or a catalog
    table name (`"main.ml.train"`, read with `spark.read.table` when a Spark session is active or
    `engine="spark"`). `test` is the test table, of the same kinds (a Spark training table also accepts a
    pandas DataFrame or a path as its test table). `as_of` reads a Delta table at a version or timestamp.
    `confirm` runs the confirmation experiments within `sweep_budget` seconds (default 30). `select` lists
    the data rules to report (default: all); `thresholds` overrides `[tool.mlstablint.thresholds]` keys;
    `name` and `test_name` are how findings name the tables. `engine="spark"` reads paths and URIs with
    Spark too. The report renders with `mlstablint.report.render(report, "text" | "json" | "sarif")`, and
    `report.dataset` names what was audited. A table that cannot be audited raises
    `mlstablint.data.read.DataError` with a one-line message.
    """
    from mlstablint.commands.api import audit_table

    return audit_table(data, target, test=test, features=features, intercept=intercept, select=select,
                       thresholds=thresholds, name=name, test_name=test_name, confirm=confirm,
                       sweep_budget=sweep_budget, as_of=as_of, engine=engine)
