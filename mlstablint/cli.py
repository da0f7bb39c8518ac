"""The command line: `mlstablint check`, `mlstablint rules`, `mlstablint rule ID`.

Exit codes: 0 nothing found, 1 findings, 2 usage or tool error (a tool error wins over findings).
Only the code path is imported at start-up: pre-commit runs this on every commit.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Optional

import typer

from mlstablint import __version__

if TYPE_CHECKING:
    from mlstablint.config import Config
    from mlstablint.findings import Report
    from mlstablint.sweep.confirm import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Find numerically unstable computation in ML pipelines before it explodes.",
)


class Engine(str, Enum):
    local = "local"
    spark = "spark"


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class UsageError(Exception):
    """A one-line error about how the tool was called or configured (exit 2)."""


def _err(message: str) -> None:
    sys.stderr.write(f"mlstablint: error: {message}\n")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlstablint {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an internal error."),
) -> None:
    """mlstablint: is the model wrong, or is the computation unstable?"""


def _write_output(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    tmp = output.with_name(f".{output.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


def _confirm(report: Report, wanted: bool, budget: float | None, configured: float | None, tables: list[Table]) -> None:
    """The confirmation micro-sweeps, after both halves produced their findings and before rendering.
    Imported only when they run: numpy (and, for data experiments, scipy/scikit-learn) load only then."""
    if not wanted or not report.findings:
        return
    from mlstablint.sweep.confirm import DEFAULT_BUDGET_S, confirm

    seconds = budget if budget is not None else configured if configured is not None else DEFAULT_BUDGET_S
    confirm(report, tables, seconds)


def _configure(config: Path | None, select: str | None, ignore: str | None) -> tuple[Config, list[str]]:
    """The configuration file's settings with --select/--ignore applied (they replace the configured lists)."""
    from mlstablint.catalog import load_catalog
    from mlstablint.config import ConfigError, load_config, split_selectors, validate_selectors

    known = list(load_catalog())
    try:
        cfg = load_config(config, known)
        cli_select, cli_ignore = split_selectors(select), split_selectors(ignore)
        if cli_select is not None:
            cfg.select = validate_selectors(cli_select, known, "--select")
        if cli_ignore is not None:
            cfg.ignore = validate_selectors(cli_ignore, known, "--ignore")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return cfg, known


def _emit(report: Report, fmt: Format, output: Path | None, category: str | None) -> NoReturn:
    """Tool errors on stderr (one line each), the report on stdout or --output, and the exit code:
    2 when an input could not be checked, else 1 with findings, else 0."""
    from mlstablint.report import render

    for error in report.errors:
        _err(f"{error.path}: {error.message}")
    color = output is None and fmt is Format.text and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    _write_output(render(report, fmt.value, color=color, category=category), output)
    raise typer.Exit(2 if report.errors else 1 if report.findings else 0)


@app.command()
def check(
    paths: Optional[list[Path]] = typer.Argument(
        None, readable=False, help="Files or directories to check (default: .)."),
    fmt: Format = typer.Option(Format.text, "--format", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    category: Optional[str] = typer.Option(
        None, "--category", help="SARIF automationDetails.id, the code-scanning category (default: mlstablint/)."),
    select: Optional[str] = typer.Option(
        None, help="Comma-separated rule ids or prefixes to enable (e.g. MSL1,MSL201)."),
    ignore: Optional[str] = typer.Option(None, help="Comma-separated rule ids or prefixes to disable."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="Worker processes (default: the core count)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write .mlstablint_cache/."),
    config: Optional[Path] = typer.Option(
        None, "--config", readable=False, help="Configuration file (default: nearest pyproject.toml)."),
    data: Optional[list[Path]] = typer.Option(
        None, "--data", readable=False,
        help="Also audit this training table (parquet, CSV, Arrow/Feather); repeatable."),
    target: Optional[str] = typer.Option(None, "--target", help="The target column of --data (for label checks)."),
    test_data: Optional[Path] = typer.Option(
        None, "--test-data", readable=False, help="A test table: train/test overlap and drift."),
    features: Optional[str] = typer.Option(None, "--features", help="Comma-separated feature columns of --data."),
    no_intercept: bool = typer.Option(False, "--no-intercept", help="Audit the design without an intercept."),
    confirm: Optional[bool] = typer.Option(
        None, "--confirm/--no-confirm", help="Run the confirmation experiments (default: on with --data, off for "
        "code only, to keep pre-commit fast)."),
    sweep_budget: Optional[float] = typer.Option(
        None, "--sweep-budget", min=0.0, metavar="SECONDS", help="Time budget of all confirmation experiments "
        "(default 30)."),
) -> None:
    """Check Python files for numerically unstable patterns (and, with --data, audit a training table)."""
    from mlstablint.catalog import opt_in_rules
    from mlstablint.code.discover import discover
    from mlstablint.code.runner import check_files
    from mlstablint.config import ConfigError

    cfg, known = _configure(config, select, ignore)
    enabled = cfg.enabled_rules(known, opt_in_rules())
    files, errors = discover(list(paths or [Path(".")]), cfg)
    report = check_files(files, cfg, enabled, jobs, use_cache=not no_cache)
    tables: list[Table] = []  # the audited tables, for the confirmation experiments
    if data or cfg.data:  # the data half: imported only when there is data to audit
        from mlstablint.data.command import DataArgs, run_data

        try:
            report.extend(run_data(cfg, DataArgs(data, target, test_data, features, no_intercept), enabled,
                                   [(f.display, f.path) for f in files], tables=tables))
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    report.errors.extend(errors)
    report.finalize()
    _confirm(report, confirm if confirm is not None else bool(data or cfg.data), sweep_budget, cfg.sweep_budget,
             tables)
    _emit(report, fmt, output, category)


@app.command("audit")
def audit_data(
    data: Optional[list[Path]] = typer.Argument(
        None, metavar="DATA...", readable=False,
        help="Tables to audit: parquet (file or directory), CSV, Arrow IPC/Feather."),
    target: Optional[str] = typer.Option(None, "--target", help="The target column (label checks need it)."),
    test_data: Optional[Path] = typer.Option(
        None, "--test-data", readable=False, help="A test table: train/test overlap and drift."),
    features: Optional[str] = typer.Option(None, "--features", help="Comma-separated feature columns (default: all "
                                           "but the target)."),
    no_intercept: bool = typer.Option(False, "--no-intercept", help="Audit the design without an intercept column."),
    fmt: Format = typer.Option(Format.text, "--format", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    category: Optional[str] = typer.Option(
        None, "--category", help="SARIF automationDetails.id, the code-scanning category (default: mlstablint/)."),
    select: Optional[str] = typer.Option(None, help="Comma-separated rule ids or prefixes to enable (e.g. MSL601)."),
    ignore: Optional[str] = typer.Option(None, help="Comma-separated rule ids or prefixes to disable."),
    batch_size: Optional[int] = typer.Option(
        None, "--batch-size", help="Rows read at a time (default 65536); the report does not change."),
    confirm: bool = typer.Option(True, "--confirm/--no-confirm", help="Run the confirmation experiments on a "
                                 "sample of the table (default: on)."),
    sweep_budget: Optional[float] = typer.Option(
        None, "--sweep-budget", min=0.0, metavar="SECONDS", help="Time budget of all confirmation experiments "
        "(default 30)."),
    config: Optional[Path] = typer.Option(None, "--config", readable=False,
                                          help="Configuration file (default: nearest pyproject.toml)."),
    engine: Optional[Engine] = typer.Option(
        None, "--engine", help="Where the tables are audited: local (default) or spark (parquet on Apache Spark; "
        "needs pip install 'mlstablint[spark]' and Java 17+)."),
    spark_master: Optional[str] = typer.Option(
        None, "--spark-master", metavar="URL", help="Spark master URL for --engine spark (default: the active "
        "session's, spark-submit's, or local[*])."),
) -> None:
    """Audit training tables for what breaks fitting: duplicates, one-hot traps, conditioning, overflow..."""
    from mlstablint.catalog import opt_in_rules
    from mlstablint.config import ConfigError
    from mlstablint.data.command import DataArgs, run_data

    cfg, known = _configure(config, select, ignore)
    try:
        tables: list[Table] = []
        args = DataArgs(data, target, test_data, features, no_intercept, batch_size,
                        engine=engine.value if engine is not None else None, spark_master=spark_master)
        report = run_data(cfg, args, cfg.enabled_rules(known, opt_in_rules()), tables=tables)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    _confirm(report, confirm, sweep_budget, cfg.sweep_budget, tables)
    _emit(report, fmt, output, category)


@app.command("sweep")
def sweep_lab(
    task: str = typer.Option("logistic_regression", "--task",
                             help="logistic_regression, linear_regression or softmax_regression."),
    sweep: Optional[str] = typer.Option(None, "--sweep", help="Comma-separated axes to sweep: precision, lr, "
                                        "lambda, scaling, loss (default: precision,lr,lambda,scaling)."),
    data: Optional[Path] = typer.Option(None, "--data", readable=False,
                                        help="Train on this table (default: a built-in badly scaled table)."),
    target: Optional[str] = typer.Option(None, "--target", help="The target column of --data (required with it)."),
    epochs: int = typer.Option(300, "--epochs", help="Epochs per run."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Mini-batch size (default: full batch)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the row sample and the batch order (shared by all runs)."),
    precision: Optional[str] = typer.Option(None, "--precision", help="Dtypes, e.g. float16,float32,float64."),
    lr: Optional[str] = typer.Option(None, "--lr", help="Learning rates, e.g. 0.01,0.2,1."),
    lam: Optional[str] = typer.Option(None, "--lambda", help="L2 strengths, e.g. 0,0.01."),
    scaling: Optional[str] = typer.Option(None, "--scaling", help="raw and/or standard."),
    loss: Optional[str] = typer.Option(None, "--loss", help="stable and/or naive loss formulas."),
    fmt: str = typer.Option("text", "--format", help="Output format: text or json."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a PNG of the loss curves (needs matplotlib)."),
) -> None:
    """The stability lab: train small models over a grid of dtype, lr, L2 and scaling; name each failure."""
    from mlstablint.sweep.command import SweepArgs, SweepUsageError, run

    try:
        text, _ = run(SweepArgs(task, sweep, data, target, epochs, batch_size, seed, precision, lr, lam, scaling, loss,
                                fmt, plot))
    except SweepUsageError as exc:
        raise UsageError(str(exc)) from None
    _write_output(text, output)
    raise typer.Exit(0)


@app.command("rules")
def list_rules() -> None:
    """List every rule: id, name, severity and a one-line summary."""
    from mlstablint.catalog import load_catalog

    docs = load_catalog().values()
    width = max(len(d.name) for d in docs)
    for d in docs:
        opt_in = "" if d.default else " (opt-in: select it by id or prefix)"
        typer.echo(f"{d.id}  {d.name:<{width}}  {d.severity:<7}  {d.summary}{opt_in}")


@app.command("rule")
def show_rule(rule_id: str = typer.Argument(..., metavar="ID", help="A rule id, e.g. MSL101.")) -> None:
    """Explain one rule: its catalogue page."""
    from mlstablint.catalog import load_catalog

    doc = load_catalog().get(rule_id.strip().upper())
    if doc is None:
        raise UsageError(f"unknown rule {rule_id!r} (see `mlstablint rules`)")
    header = f"Severity: {doc.severity} · Family: {doc.family} · Fix safety: {doc.fix_safety}"
    if not doc.default:
        header += " · Not in the default set (opt-in)"
    typer.echo(f"# {doc.id} {doc.name}\n\n{header}\n\n{doc.summary}\n\n{doc.body.strip()}")


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        app()
    except UsageError as exc:
        _err(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if debug:
            raise
        _err(f"internal error: {exc.__class__.__name__}: {exc} (rerun with --debug for the traceback)")
        sys.exit(2)
