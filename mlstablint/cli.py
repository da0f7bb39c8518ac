"""The command line: `mlstablint check`, `mlstablint rules`, `mlstablint rule ID`.

Exit codes: 0 nothing found, 1 findings, 2 usage or tool error (a tool error wins over findings).
Only the code path is imported at start-up: pre-commit runs this on every commit.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from mlstablint import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Find numerically unstable computation in ML pipelines before it explodes.",
)


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


@app.command()
def check(
    paths: Optional[list[Path]] = typer.Argument(None, help="Files or directories to check (default: .)."),
    fmt: Format = typer.Option(Format.text, "--format", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    category: Optional[str] = typer.Option(
        None, "--category", help="SARIF automationDetails.id, the code-scanning category (default: mlstablint/)."),
    select: Optional[str] = typer.Option(
        None, help="Comma-separated rule ids or prefixes to enable (e.g. MSL1,MSL201)."),
    ignore: Optional[str] = typer.Option(None, help="Comma-separated rule ids or prefixes to disable."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="Worker processes (default: the core count)."),
    config: Optional[Path] = typer.Option(
        None, "--config", help="Configuration file (default: nearest pyproject.toml)."),
    data: Optional[list[Path]] = typer.Option(
        None, "--data", help="Also audit this training table (parquet, CSV, Arrow/Feather); repeatable."),
    target: Optional[str] = typer.Option(None, "--target", help="The target column of --data (for label checks)."),
    test_data: Optional[Path] = typer.Option(None, "--test-data", help="A test table: train/test overlap and drift."),
    features: Optional[str] = typer.Option(None, "--features", help="Comma-separated feature columns of --data."),
    no_intercept: bool = typer.Option(False, "--no-intercept", help="Audit the design without an intercept."),
) -> None:
    """Check Python files for numerically unstable patterns (and, with --data, audit a training table)."""
    from mlstablint.catalog import load_catalog
    from mlstablint.code.discover import discover
    from mlstablint.code.runner import check_files
    from mlstablint.config import ConfigError, load_config, split_selectors, validate_selectors
    from mlstablint.report import render

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
    enabled = cfg.enabled_rules(known)
    files, errors = discover(list(paths or [Path(".")]), cfg)
    report = check_files(files, cfg, enabled, jobs)
    if data or cfg.data:  # the data half: imported only when there is data to audit
        from mlstablint.data.command import DataArgs, run_data

        try:
            report.extend(run_data(cfg, DataArgs(data, target, test_data, features, no_intercept), enabled,
                                   [(f.display, f.path) for f in files]))
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    report.errors.extend(errors)
    report.finalize()
    for error in report.errors:
        _err(f"{error.path}: {error.message}")
    color = output is None and fmt is Format.text and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    _write_output(render(report, fmt.value, color=color, category=category), output)
    raise typer.Exit(2 if report.errors else 1 if report.findings else 0)


@app.command("audit")
def audit_data(
    data: Optional[list[Path]] = typer.Argument(
        None, metavar="DATA...", help="Tables to audit: parquet (file or directory), CSV, Arrow IPC/Feather."),
    target: Optional[str] = typer.Option(None, "--target", help="The target column (label checks need it)."),
    test_data: Optional[Path] = typer.Option(None, "--test-data", help="A test table: train/test overlap and drift."),
    features: Optional[str] = typer.Option(None, "--features", help="Comma-separated feature columns (default: all "
                                           "but the target)."),
    no_intercept: bool = typer.Option(False, "--no-intercept", help="Audit the design without an intercept column."),
    fmt: Format = typer.Option(Format.text, "--format", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    category: Optional[str] = typer.Option(
        None, "--category", help="SARIF automationDetails.id, the code-scanning category (default: mlstablint/)."),
    select: Optional[str] = typer.Option(None, help="Comma-separated rule ids or prefixes to enable (e.g. MSL601)."),
    ignore: Optional[str] = typer.Option(None, help="Comma-separated rule ids or prefixes to disable."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Rows per record batch (default 65536)."),
    no_confirm: bool = typer.Option(False, "--no-confirm", help="Skip confirmation experiments (accepted; a no-op "
                                    "until micro-sweeps land)."),
    config: Optional[Path] = typer.Option(None, "--config",
                                          help="Configuration file (default: nearest pyproject.toml)."),
) -> None:
    """Audit training tables for what breaks fitting: duplicates, one-hot traps, conditioning, overflow..."""
    from mlstablint.catalog import load_catalog
    from mlstablint.config import ConfigError, load_config, split_selectors, validate_selectors
    from mlstablint.data.command import DataArgs, run_data
    from mlstablint.report import render

    known = list(load_catalog())
    try:
        cfg = load_config(config, known)
        cli_select, cli_ignore = split_selectors(select), split_selectors(ignore)
        if cli_select is not None:
            cfg.select = validate_selectors(cli_select, known, "--select")
        if cli_ignore is not None:
            cfg.ignore = validate_selectors(cli_ignore, known, "--ignore")
        report = run_data(cfg, DataArgs(data, target, test_data, features, no_intercept, batch_size),
                          cfg.enabled_rules(known))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    for error in report.errors:
        _err(f"{error.path}: {error.message}")
    color = output is None and fmt is Format.text and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    _write_output(render(report, fmt.value, color=color, category=category), output)
    raise typer.Exit(2 if report.errors else 1 if report.findings else 0)


@app.command("rules")
def list_rules() -> None:
    """List every rule: id, name, severity and a one-line summary."""
    from mlstablint.catalog import load_catalog

    docs = load_catalog().values()
    width = max(len(d.name) for d in docs)
    for d in docs:
        typer.echo(f"{d.id}  {d.name:<{width}}  {d.severity:<7}  {d.summary}")


@app.command("rule")
def show_rule(rule_id: str = typer.Argument(..., metavar="ID", help="A rule id, e.g. MSL101.")) -> None:
    """Explain one rule: its catalogue page."""
    from mlstablint.catalog import load_catalog

    doc = load_catalog().get(rule_id.strip().upper())
    if doc is None:
        raise UsageError(f"unknown rule {rule_id!r} (see `mlstablint rules`)")
    header = f"Severity: {doc.severity} · Family: {doc.family} · Fix safety: {doc.fix_safety}"
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
