"""`mlstablint check` and `mlstablint audit`: the engines in order, then the confirmations.

The code half (`code/`), the data half (`commands/data.py` on `data/` or `spark/`), the data findings
placed on the code line that loads each table, then the confirmation micro-sweeps (`sweep/`). Rendering
and exit codes stay with the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlstablint.catalog import opt_in_rules
from mlstablint.commands.data import DataArgs, wants_data

if TYPE_CHECKING:
    from mlstablint.code.discover import SourceFile
    from mlstablint.config import Config
    from mlstablint.findings import Report, ToolError
    from mlstablint.sweep.confirm import Table


def confirm_findings(report: Report, wanted: bool, budget: float | None, configured: float | None,
                     tables: list[Table]) -> None:
    """The confirmation micro-sweeps, after both halves produced their findings and before rendering.
    Imported only when they run: numpy (and, for data experiments, scipy/scikit-learn) load only then."""
    if not wanted or not report.findings:
        return
    from mlstablint.sweep.confirm import DEFAULT_BUDGET_S, confirm

    seconds = budget if budget is not None else configured if configured is not None else DEFAULT_BUDGET_S
    confirm(report, tables, seconds)


# Run on the code half's report before the data half (the command line's --fix/--diff): it may replace it.
AfterCode = Callable[["Report", "list[SourceFile]", "list[ToolError]", "set[str]"], "Report"]


def run_check(paths: list[Path], cfg: Config, known: list[str], data: DataArgs, jobs: int | None, use_cache: bool,
              confirm: bool | None, sweep_budget: float | None, after_code: AfterCode | None = None) -> Report:
    """Check the code under `paths` (and audit the tables of `data` or the configuration)."""
    from mlstablint.code.discover import discover
    from mlstablint.code.runner import check_files

    enabled = cfg.enabled_rules(known, opt_in_rules())
    files, errors = discover(paths, cfg)
    report = check_files(files, cfg, enabled, jobs, use_cache=use_cache)
    if after_code is not None:
        report = after_code(report, files, errors, enabled)
    tables: list[Table] = []  # the audited tables, for the confirmation experiments
    data_given = wants_data(cfg, data)
    if data_given:  # the data half: imported only when there is data to audit
        from mlstablint.commands.data import run_data

        report.extend(run_data(cfg, data, enabled, [(f.display, f.path) for f in files], tables=tables))
    report.errors.extend(errors)
    report.finalize()
    confirm_findings(report, confirm if confirm is not None else data_given, sweep_budget, cfg.sweep_budget, tables)
    return report


def run_audit(cfg: Config, known: list[str], data: DataArgs, confirm: bool, sweep_budget: float | None) -> Report:
    """Audit the tables of `data` (or the configuration's), then confirm the findings."""
    from mlstablint.commands.data import run_data

    tables: list[Table] = []
    report = run_data(cfg, data, cfg.enabled_rules(known, opt_in_rules()), tables=tables)
    confirm_findings(report, confirm, sweep_budget, cfg.sweep_budget, tables)
    return report
