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
    from mlstablint.code.discover import SourceFile
    from mlstablint.config import Config
    from mlstablint.findings import Report, ToolError

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
    html = "html"


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


def _command_line() -> list[str]:
    """The invocation as the HTML report shows it (the program by its name, not its install path)."""
    return ["mlstablint", *sys.argv[1:]]


def _require_format(fmt: str) -> None:
    """Fail before any work when the format's optional dependencies are missing (exit 2, nothing written)."""
    if fmt == "html":
        from mlstablint.report.html import HtmlUnavailable, require

        try:
            require()
        except HtmlUnavailable as exc:
            raise UsageError(str(exc)) from None


def _emit(report: Report, fmt: Format, output: Path | None, category: str | None) -> NoReturn:
    """Tool errors on stderr (one line each), the report on stdout or --output, and the exit code:
    2 when an input could not be checked, else 1 with findings, else 0."""
    from mlstablint.report import render

    for error in report.errors:
        _err(f"{error.path}: {error.message}")
    color = output is None and fmt is Format.text and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    _write_output(render(report, fmt.value, color=color, category=category, command=_command_line()), output)
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
    data: Optional[list[str]] = typer.Option(
        None, "--data", metavar="PATH_OR_URI",
        help="Also audit this training table (parquet, CSV, Arrow/Feather, Delta; a path or a URI); repeatable."),
    target: Optional[str] = typer.Option(None, "--target", help="The target column of --data (for label checks)."),
    test_data: Optional[str] = typer.Option(
        None, "--test-data", metavar="PATH_OR_URI", help="A test table: train/test overlap and drift."),
    as_of: Optional[str] = typer.Option(
        None, "--as-of", metavar="VERSION_OR_TIMESTAMP", help="Read the Delta tables of --data at this version "
        "(0, 1, ...) or ISO-8601 timestamp."),
    features: Optional[str] = typer.Option(None, "--features", help="Comma-separated feature columns of --data."),
    no_intercept: bool = typer.Option(False, "--no-intercept", help="Audit the design without an intercept."),
    confirm: Optional[bool] = typer.Option(
        None, "--confirm/--no-confirm", help="Run the confirmation experiments (default: on with --data, off for "
        "code only, to keep pre-commit fast)."),
    sweep_budget: Optional[float] = typer.Option(
        None, "--sweep-budget", min=0.0, metavar="SECONDS", help="Time budget of all confirmation experiments "
        "(default 30)."),
    fix: Optional[bool] = typer.Option(
        None, "--fix/--no-fix", help="Apply the safe fixes in place (with --unsafe-fixes, the unsafe ones too) and "
        "report what remains."),
    unsafe_fixes: Optional[bool] = typer.Option(
        None, "--unsafe-fixes/--no-unsafe-fixes", help="Also apply (and mark as available) the unsafe fixes: "
        "numeric rewrites that change low-order bits or non-finite results."),
    diff: bool = typer.Option(
        False, "--diff", help="Print a unified diff of what --fix would change and write nothing; exit 1 when "
        "there is something to fix."),
) -> None:
    """Check Python files for numerically unstable patterns (and, with --data, audit a training table)."""
    from mlstablint.commands.check import run_check
    from mlstablint.commands.data import DataArgs
    from mlstablint.config import ConfigError

    _require_format(fmt.value)
    cfg, known = _configure(config, select, ignore)
    unsafe = unsafe_fixes if unsafe_fixes is not None else cfg.unsafe_fixes
    fixing = diff or (fix if fix is not None else cfg.fix)

    def fix_code(report: Report, files: list[SourceFile], errors: list[ToolError], enabled: set[str]) -> Report:
        """Between the code half and the data half: fixes offered, applied (--fix) or shown (--diff)."""
        report.keep_fixes(cfg.is_fixable)
        if fixing:
            report = _fix(report, files, errors, cfg, enabled, unsafe, diff=diff, jobs=jobs, use_cache=not no_cache)
        report.unsafe_fixes = unsafe
        return report

    try:
        report = run_check(list(paths or [Path(".")]), cfg, known,
                           DataArgs(data, target, test_data, features, no_intercept, as_of=as_of), jobs,
                           not no_cache, confirm, sweep_budget, after_code=fix_code)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    _emit(report, fmt, output, category)


def _fix(
    report: Report, files: list[SourceFile], unchecked: list[ToolError], cfg: Config, enabled: set[str],
    unsafe: bool, *, diff: bool, jobs: int | None, use_cache: bool,
) -> Report:
    """--fix: fix the files whose findings have applicable fixes and check them again. --diff: print what
    --fix would change, write nothing, and exit (1 when there is something to fix)."""
    from mlstablint.code.fixer import FixPolicy, run_fixes
    from mlstablint.code.runner import check_files

    policy = FixPolicy(unsafe, cfg.is_fixable)
    wanted = {f.path for f in report.findings if policy.applies(f)}
    run = run_fixes([f for f in files if f.display in wanted], cfg.ignored_for, enabled, cfg.max_nesting, policy,
                    write=not diff)
    if diff:
        for error in sorted({*report.errors, *unchecked, *run.errors}, key=lambda e: e.sort_key()):
            _err(f"{error.path}: {error.message}")
        sys.stdout.write("".join(result.diff() for result in run.files))
        sys.stdout.flush()
        count = f"{run.fixed} finding{'' if run.fixed == 1 else 's'}"
        where = f"{len(run.files)} file{'' if len(run.files) == 1 else 's'}"
        sys.stderr.write(f"Would fix {count} in {where}.\n" if run.fixed else "No fixes available.\n")
        raise typer.Exit(2 if run.errors or report.errors or unchecked else 1 if run.fixed else 0)
    if run.files:  # what remains: the fixed files checked again (the others come from the cache)
        report = check_files(files, cfg, enabled, jobs, use_cache=use_cache)
        report.keep_fixes(cfg.is_fixable)
    report.errors.extend(run.errors)  # reported with the others by _emit
    report.fixed = run.fixed
    return report


@app.command("audit")
def audit_data(
    data: Optional[list[str]] = typer.Argument(
        None, metavar="DATA...",
        help="Tables to audit: parquet (file or directory), CSV, Arrow IPC/Feather, Delta; local paths or URIs "
        "(s3://, gs://, abfss://, dbfs:/, hdfs://, file://), kept as typed."),
    table: Optional[list[str]] = typer.Option(
        None, "--table", metavar="CATALOG.SCHEMA.TABLE", help="A catalog table to audit (Spark engine); repeatable."),
    as_of: Optional[str] = typer.Option(
        None, "--as-of", metavar="VERSION_OR_TIMESTAMP", help="Read Delta tables at this version (0, 1, ...) or "
        "ISO-8601 timestamp (time travel); reported in the output."),
    target: Optional[str] = typer.Option(None, "--target", help="The target column (label checks need it)."),
    test_data: Optional[str] = typer.Option(
        None, "--test-data", metavar="PATH_OR_URI", help="A test table: train/test overlap and drift."),
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
        None, "--engine", help="Where the tables are audited: local (default) or spark (Apache Spark; "
        "needs pip install 'mlstablint[spark]' and Java 17+; reads parquet, Delta and catalog tables)."),
    spark_master: Optional[str] = typer.Option(
        None, "--spark-master", metavar="URL", help="Spark master URL for --engine spark (default: the active "
        "session's, spark-submit's, or local[*])."),
) -> None:
    """Audit training tables for what breaks fitting: duplicates, one-hot traps, conditioning, overflow..."""
    from mlstablint.commands.check import run_audit
    from mlstablint.commands.data import DataArgs
    from mlstablint.config import ConfigError

    _require_format(fmt.value)
    cfg, known = _configure(config, select, ignore)
    try:
        args = DataArgs(data, target, test_data, features, no_intercept, batch_size,
                        engine=engine.value if engine is not None else None, spark_master=spark_master,
                        tables=table, as_of=as_of)
        report = run_audit(cfg, known, args, confirm, sweep_budget)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    _emit(report, fmt, output, category)


@app.command("sweep")
def sweep_lab(
    task: str = typer.Option("logistic_regression", "--task",
                             help="logistic_regression, linear_regression, softmax_regression or mlp."),
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
    fmt: str = typer.Option("text", "--format", help="Output format: text, json or html."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a PNG of the loss curves (needs matplotlib)."),
    hidden: Optional[str] = typer.Option(None, "--hidden", help="--task mlp: hidden layer widths (default 16,16,16)."),
    activation: str = typer.Option("tanh", "--activation", help="--task mlp: relu, tanh or sigmoid."),
    init: str = typer.Option("xavier", "--init", help="--task mlp: xavier, he or normal initialisation."),
    init_gain: Optional[str] = typer.Option(None, "--init-gain", help="--task mlp: per-layer init gains, e.g. "
                                            "1,1,30,1 (a large gain saturates that layer)."),
) -> None:
    """The stability lab: train small models over a grid of dtype, lr, L2 and scaling; name each failure."""
    from mlstablint.commands.sweep import SweepArgs, SweepUsageError, run

    html = fmt.strip().lower() == "html"
    _require_format("html" if html else fmt)
    try:
        text, _ = run(SweepArgs(task, sweep, data, target, epochs, batch_size, seed, precision, lr, lam, scaling, loss,
                                "json" if html else fmt, plot, hidden, activation, init, init_gain))
    except SweepUsageError as exc:
        raise UsageError(str(exc)) from None
    if html:  # the page is drawn from the lab's JSON document, its stable data model
        import json

        from mlstablint.report.html import render_lab_html

        text = render_lab_html(json.loads(text), command=_command_line())
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
