"""The data half of the commands: `mlstablint audit` and `check --data` (imported lazily).

Flags override `[tool.mlstablint]` (`data`, `target`, `test-data`, `features`, `intercept`,
`[tool.mlstablint.thresholds]`). Errors in how the tool was called raise ConfigError (one line,
exit 2); errors of a table become the report's ToolErrors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlstablint.config import Config, ConfigError
from mlstablint.findings import Finding, Report
from mlstablint.sources import DataSource, SourceError, parse_as_of, parse_source

if TYPE_CHECKING:
    from mlstablint.data.read import TableRef
    from mlstablint.data.sample import Sample
    from mlstablint.sweep.confirm import Table


@dataclass
class DataArgs:
    """The data options as given on the command line (None: not given, use the configuration)."""

    data: list[str] | None = None  # paths and URIs, as typed (a path type would fold s3://b/t into s3:/b/t)
    target: str | None = None
    test_data: str | None = None
    features: str | None = None
    no_intercept: bool = False
    batch_size: int | None = None
    progress: bool = True
    engine: str | None = None  # "local" or "spark" (None: the configuration's)
    spark_master: str | None = None
    tables: list[str] | None = None  # catalog tables (`--table catalog.schema.name`, Spark engine)
    as_of: str | None = None  # a Delta version or timestamp for the training tables


def sources_of(cfg: Config, args: DataArgs) -> list[DataSource]:
    """The training tables: the command line's (paths, URIs, catalog tables), else the configuration's."""
    try:
        named = [parse_source(text, as_of=args.as_of) for text in args.data or []]
        named += [parse_source(name, table=True, as_of=args.as_of) for name in args.tables or []]
        if args.as_of is not None:
            parse_as_of(args.as_of)
    except SourceError as exc:
        raise ConfigError(str(exc)) from None
    if named:
        return named
    return [replace(source, as_of=args.as_of) for source in cfg.data]


def wants_data(cfg: Config, args: DataArgs) -> bool:
    return bool(args.data or args.tables or cfg.data)


def run_data(cfg: Config, args: DataArgs, enabled: set[str], code_files: list[tuple[str, Path]] | None = None,
             tables: list[Table] | None = None) -> Report:
    """Audit the tables named by `args` or the configuration; with `code_files`, place the findings on the
    code line that loads each table. `tables`, when given, receives each readable table with its findings
    (for the confirmation experiments)."""
    from mlstablint.data.audit import AuditOptions, audit
    from mlstablint.data.read import display_path
    from mlstablint.sweep.confirm import Table
    from mlstablint.thresholds import ThresholdError, Thresholds

    sources = sources_of(cfg, args)
    if not sources:
        raise ConfigError("no data to audit: give a table (parquet, CSV, Arrow/Feather, Delta; a path or a URI), "
                          "--table NAME with --engine spark, or set `data` in [tool.mlstablint]")
    features = None
    if args.features is not None:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        if not features:
            raise ConfigError("--features needs at least one column name")
    elif cfg.features is not None:
        features = list(cfg.features)
    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    try:
        thresholds = Thresholds().with_overrides(cfg.thresholds, "[tool.mlstablint.thresholds]")
    except ThresholdError as exc:
        raise ConfigError(str(exc)) from None
    options = AuditOptions(
        target=args.target if args.target is not None else cfg.target,
        features=features,
        intercept=cfg.intercept and not args.no_intercept,
        test_data=_test_source(args.test_data) if args.test_data is not None else cfg.test_data,
        thresholds=thresholds,
        enabled=enabled,
        progress=args.progress,
    )
    if args.batch_size is not None:
        options.batch_size = args.batch_size
    auditor: Callable[[list[TableRef], AuditOptions | None], Report] = audit
    sampler_for: Callable[[TableRef, AuditOptions], Callable[[int, int], Sample]] | None = None
    on_spark = (args.engine or cfg.engine) == "spark"
    if not on_spark and any(s.kind == "table" for s in sources):
        raise ConfigError("--table reads a catalog table, which only the Spark engine can: add --engine spark")
    if on_spark:
        from mlstablint.commands.spark import spark_auditor

        engine = spark_auditor(args.spark_master or cfg.spark_master)
        auditor, sampler_for = engine.audit, engine.sampler
    report = Report()
    for source in sources:  # one table at a time, to know which findings are whose
        part = auditor([source], options)
        if tables is not None and not part.errors:
            tables.append(Table(path=source, display=display_path(source), target=options.target,
                                features=options.features, intercept=options.intercept,
                                max_classes=options.thresholds.max_classes, findings=list(part.findings),
                                sampler=sampler_for(source, options) if sampler_for is not None else None))
        report.extend(part)
    report.finalize()
    if code_files:
        relocate(report.findings, code_files)
    return report


def _test_source(text: str) -> DataSource:
    try:
        return parse_source(text)
    except SourceError as exc:
        raise ConfigError(f"--test-data: {exc}") from None


def relocate(findings: list[Finding], code_files: list[tuple[str, Path]]) -> None:
    """Move each data finding from its table (line 1) to the code line that loads the table, when found."""
    from mlstablint.commands.locate import Location, find_load

    cache: dict[str, Location | None] = {}
    for f in findings:
        if not f.rule.startswith("MSL6"):
            continue
        if f.path not in cache:
            cache[f.path] = find_load(f.path, code_files)
        where = cache[f.path]
        if where is None:
            continue
        f.path = where.path
        f.line = f.end_line = where.line
        f.column = where.column
        f.end_column = where.end_column
        f.cell, f.cell_line, f.cell_column = where.cell, where.cell_line, where.cell_column
