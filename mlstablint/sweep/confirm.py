"""Confirmation micro-sweeps: small, seeded, time-boxed experiments that try to reproduce a finding.

`confirm(report, tables, budget_s, seed)` attaches a `Confirmation` to every finding that has an
experiment (in place); a finding without one keeps `confirmation = None`. The experiments are
pure numpy / scipy / scikit-learn computations on arrays: the flagged *pattern* on inputs at the
edge of the dtype's range, or the standard computation (OLS solvers, K-fold scores, a
scaling-sensitive solver, `exp`) on a seeded row sample of the audited table. User code is never
run, imported or read here.

Order and budget: findings are confirmed in a fixed order (pattern experiments, which take
microseconds, first; then the data experiments; each group in the report's sorted order). The
global budget is checked before each finding and the experiments check it between their arms;
once it is spent, the findings left get status "skipped" and the summary "sweep budget of N s
exhausted". Results shared by several findings (the conditioning sweep of one table serves
MSL603/604/605 and the code's MSL201/202/203) are computed once.

Each data experiment also has its own time box (half the global budget, at least EXPERIMENT_BOX_S; within
the global budget), so that a larger `--sweep-budget` lets a slow machine finish every arm: arms it
could not start are reported as not run, and the verdict is made on what ran (or the status is
"skipped" when the arms it needs did not run). While they run, BLAS/LAPACK and OpenMP are pinned to
one thread (`one_thread`) and the arms are spread over at most two worker threads: the figures, which
sit at machine precision, do not depend on the core count, and two runs give the same JSON.

The registry (`EXPERIMENTS`) maps a rule id to the function that confirms it; the functions live in
the `confirm_*.py` modules next to this one and are imported only when a finding needs them, so
the pattern experiments cost a numpy import and nothing else.

When it runs (mlstablint/commands/check.py): `check --data` and `audit` confirm by default; `check` on code alone
does not (pre-commit stays free of numpy), unless `--confirm` is given; `--no-confirm` turns it off
(every confirmation stays null); `--sweep-budget SECONDS` or `sweep-budget` in [tool.mlstablint] sets
the global budget (DEFAULT_BUDGET_S).
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlstablint.findings import Confirmation, Finding, Report

if TYPE_CHECKING:
    from mlstablint.data.sample import Sample
    from mlstablint.sources import DataSource

DEFAULT_BUDGET_S = 30.0
# A single experiment's time box: half the global budget, and at least this (the default budget gives 15 s).
EXPERIMENT_BOX_S = 15.0
SAMPLE_ROWS = 20_000

Status = Literal["confirmed", "not-confirmed", "skipped"]


@dataclass
class Table:
    """One audited table as the experiments need it (built by the data half of the command line)."""

    path: Path | DataSource  # the table as given (a file or folder, a URI, a catalog table)
    display: str  # its display path (what data findings name before they are relocated)
    target: str | None = None
    features: list[str] | None = None
    intercept: bool = True
    max_classes: int = 50
    findings: list[Finding] = field(default_factory=list)  # its findings: the same objects as in the report
    # How an engine other than the local one samples the table: (max_rows, seed) -> Sample.
    sampler: Callable[[int, int], Sample] | None = None


class Skip(Exception):
    """An experiment could not run (no target, budget spent, unreadable sample...): status "skipped"."""


class BudgetSpent(Skip):
    pass


@dataclass
class Session:
    """What the experiments of one `confirm` call share: the clock, the seed, the samples, cached results."""

    budget_s: float
    seed: int = 0
    tables: list[Table] = field(default_factory=list)
    sample_rows: int = SAMPLE_ROWS
    started: float = field(default_factory=time.monotonic)
    cache: dict[tuple[str, str], Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def deadline(self) -> float:
        return self.started + self.budget_s

    def spent(self) -> bool:
        return time.monotonic() >= self.deadline

    def box(self) -> float:
        """The deadline of an experiment starting now: its own time box, within the global budget."""
        return min(self.deadline, time.monotonic() + max(EXPERIMENT_BOX_S, self.budget_s / 2))

    def budget_message(self) -> str:
        return f"sweep budget of {self.budget_s:g} s exhausted"

    def table_for(self, finding: Finding) -> Table | None:
        """The table a finding is about: its own for data findings; for code findings the table whose
        findings sit in the same file (the one the code loads), else the first table."""
        for table in self.tables:
            if any(f is finding for f in table.findings):
                return table
        for table in self.tables:
            if any(f.path == finding.path for f in table.findings):
                return table
        return self.tables[0] if self.tables else None

    def sample(self, table: Table) -> Sample:
        """The table's row sample (built once, by a second streaming pass; its time counts)."""
        key = ("sample", table.display)
        if key not in self.cache:
            from mlstablint.data.read import DataError
            from mlstablint.data.sample import SampleTimeout, sample_design

            t0 = time.monotonic()
            try:
                if table.sampler is not None:
                    self.cache[key] = table.sampler(self.sample_rows, self.seed)
                else:
                    self.cache[key] = sample_design(table.path, table.target, table.features, table.intercept,
                                                    self.sample_rows, self.seed, deadline=self.deadline)
            except SampleTimeout:
                self.cache[key] = Skip(self.budget_message())
            except DataError as exc:
                self.cache[key] = Skip(f"the table could not be sampled: {exc}")
            except MemoryError:
                self.cache[key] = Skip("out of memory while sampling the table")
            self.timings["sample"] = self.timings.get("sample", 0.0) + time.monotonic() - t0
        value = self.cache[key]
        if isinstance(value, Skip):
            raise Skip(str(value))
        return value  # type: ignore[no-any-return]

    def shared(self, name: str, table: Table, compute: Callable[[], Any]) -> Any:
        """A result computed once per (experiment, table); a Skip is cached like a result."""
        key = (name, table.display)
        if key not in self.cache:
            try:
                self.cache[key] = compute()
            except Skip as exc:
                self.cache[key] = exc
        value = self.cache[key]
        if isinstance(value, Skip):
            raise value
        return value


Experiment = Callable[[Session, Finding], Confirmation | None]


@dataclass(frozen=True)
class Entry:
    """A registry entry: where the experiment function lives, its name, and whether it needs data."""

    module: str
    function: str
    name: str
    data: bool  # needs an audited table (else: synthetic inputs, microseconds)


_PATTERNS = "mlstablint.sweep.confirm_patterns"
_CONDITIONING = "mlstablint.sweep.confirm_conditioning"
_DUPLICATES = "mlstablint.sweep.confirm_duplicates"
_SCALING = "mlstablint.sweep.confirm_scaling"
_OVERFLOW = "mlstablint.sweep.confirm_overflow"
_LEAKAGE = "mlstablint.sweep.confirm_leakage"
_LOSSES = "mlstablint.sweep.confirm_losses"

EXPERIMENTS: dict[str, Entry] = {
    **{rule: Entry(_PATTERNS, "confirm_pattern", "edge-of-dtype", False)
       for rule in ("MSL101", "MSL102", "MSL103", "MSL104", "MSL105", "MSL106", "MSL107", "MSL108",
                    "MSL110", "MSL111", "MSL112", "MSL113", "MSL114", "MSL204")},
    **{rule: Entry(_LOSSES, "confirm_loss", "loss-at-the-edge", False)
       for rule in ("MSL115", "MSL116", "MSL501", "MSL502", "MSL503", "MSL504", "MSL505")},
    # MSL109: exp of OLS predictions on the data with --data; the pattern at the dtype's edge without.
    "MSL109": Entry(_OVERFLOW, "confirm_unguarded_exp", "exp-of-predictions", True),
    "MSL201": Entry(_CONDITIONING, "confirm_code_solver", "ols-conditioning", True),
    "MSL202": Entry(_CONDITIONING, "confirm_code_solver", "ols-conditioning", True),
    "MSL203": Entry(_CONDITIONING, "confirm_code_solver", "ols-conditioning", True),
    "MSL205": Entry(_SCALING, "confirm_code_scaling", "scaling-solver", True),
    # MSL301/302: the leak and its fix on the table with --data, else on a synthetic table (stated as such).
    "MSL301": Entry(_LEAKAGE, "confirm_leakage", "leakage-optimism", True),
    "MSL302": Entry(_LEAKAGE, "confirm_leakage", "leakage-optimism", True),
    "MSL601": Entry(_DUPLICATES, "confirm_duplicates", "duplicate-optimism", True),
    "MSL602": Entry(_DUPLICATES, "confirm_duplicates", "duplicate-optimism", True),
    "MSL603": Entry(_CONDITIONING, "confirm_conditioning", "ols-conditioning", True),
    "MSL604": Entry(_CONDITIONING, "confirm_conditioning", "ols-conditioning", True),
    "MSL605": Entry(_CONDITIONING, "confirm_conditioning", "ols-conditioning", True),
    "MSL606": Entry(_SCALING, "confirm_scale_disparity", "scaling-solver", True),
    "MSL607": Entry(_OVERFLOW, "confirm_exp_values", "exp-of-values", True),
}


def _load(entry: Entry) -> Experiment:
    module = importlib.import_module(entry.module)
    function: Experiment = getattr(module, entry.function)
    return function


def confirm(report: Report, tables: Sequence[Table] = (), budget_s: float = DEFAULT_BUDGET_S, seed: int = 0,
            timings: dict[str, float] | None = None, sample_rows: int = SAMPLE_ROWS) -> None:
    """Attach a Confirmation to each finding of `report` that has an experiment (in place).

    `tables` are the audited tables (empty: code only, so the data experiments are skipped with the
    reason "needs --data"); `timings`, when given, receives the wall time spent per experiment name.
    """
    session = Session(budget_s=max(0.0, budget_s), seed=seed, tables=list(tables), sample_rows=sample_rows)
    work = [(f, EXPERIMENTS[f.rule]) for f in sorted(report.findings, key=Finding.sort_key) if f.rule in EXPERIMENTS]
    # Microsecond experiments first, so a small budget is not eaten by the data experiments.
    work.sort(key=lambda item: item[1].data)
    for finding, entry in work:
        if session.spent():
            finding.confirmation = Confirmation("skipped", entry.name, {}, session.budget_message())
            continue
        t0 = time.monotonic()
        try:
            result = _load(entry)(session, finding)
        except Skip as exc:
            result = Confirmation("skipped", entry.name, {}, str(exc))
        except MemoryError:
            result = Confirmation("skipped", entry.name, {}, "out of memory during the experiment")
        except Exception as exc:  # an experiment must never take the run down: one line, status skipped
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            result = Confirmation("skipped", entry.name, {},
                                  f"the experiment failed: {exc.__class__.__name__}{': ' + first if first else ''}")
        elapsed = time.monotonic() - t0
        name = result.experiment if result is not None else entry.name
        session.timings[name] = session.timings.get(name, 0.0) + elapsed
        finding.confirmation = result
    if timings is not None:
        timings.update(session.timings)


@contextmanager
def one_thread() -> Iterator[None]:
    """BLAS/LAPACK and OpenMP pinned to one thread (call after numpy/scipy/sklearn are imported: only loaded
    libraries are limited). The data experiments' figures sit at machine precision: pinned, they do not
    depend on the core count, and the experiment's own worker threads do not oversubscribe the cores."""
    import numpy  # noqa: F401  (threadpoolctl limits the libraries loaded when it is called:
    import scipy.linalg  # noqa: F401  numpy's and scipy's OpenBLAS are two different libraries)

    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
        yield
        return
    with threadpool_limits(limits=1):
        yield


# ------------------------------------------------------------------------------------------------
# Helpers shared by the experiments


def clean(value: Any) -> Any:
    """Figures for JSON: floats rounded to 6 significant digits, ±inf as strings, NaN as null;
    numpy scalars become Python numbers; dicts and lists recursively."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        return clean(item())
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0:
            return 0.0
        return float(f"{value:.5e}")
    return str(value)


def fmt(x: float | None) -> str:
    """A figure for a summary: 3 significant digits."""
    if x is None:
        return "n/a"
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3g}"


def verdict(ok: bool) -> Status:
    return "confirmed" if ok else "not-confirmed"


def synthetic_target(target: str | None) -> str:
    """How the experiments name the synthetic N(0, 1) target they fit when the table's cannot be used."""
    if target is None:
        return "synthetic N(0, 1) (no --target)"
    return f"synthetic N(0, 1) (target {target!r} is neither numeric nor class labels)"


def needs_data(experiment: str) -> Confirmation:
    return Confirmation("skipped", experiment, {}, "needs --data: this experiment runs on the audited table")
