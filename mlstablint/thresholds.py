"""Thresholds of the data rules, their defaults (from the literature where there is one) and their
validation. Pure Python, below every engine: the configuration imports this at start-up."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


class ThresholdError(ValueError):
    """A bad `[tool.mlstablint.thresholds]` entry (one line)."""


@dataclass(frozen=True)
class Thresholds:
    # Condition number of the design above which MSL605 fires; statsmodels' OLS summary warns above 1000.
    cond: float = 1000.0
    # Belsley-Kuh-Welsch: condition indices above 30 flag moderate to strong dependencies.
    condition_index: float = 30.0
    # Variance-decomposition proportion above which a column takes part in a dependency (BKW: 0.5).
    variance_proportion: float = 0.5
    # Variance inflation factor reported in MSL605's evidence (rules of thumb: 5 or 10).
    vif: float = 10.0
    # Largest / smallest column standard deviation above which MSL606 fires (three orders of magnitude).
    scale_ratio: float = 1000.0
    # MSL610: a 0/1 column with at most this many ones.
    rare_k: int = 5
    # MSL611: minority / majority class count below this ratio.
    imbalance_ratio: float = 0.1
    # MSL611: a target with at most this many distinct values (integer, boolean or text) is a class label.
    max_classes: int = 50
    # MSL601: fire when the duplicated share of rows is above this fraction (0: any duplicate).
    duplicate_fraction: float = 0.0
    # MSL613: corrected p-value and minimum effect (KS statistic or |standardised mean difference|).
    drift_alpha: float = 0.01
    drift_ks: float = 0.1
    drift_smd: float = 0.2
    # Rows sampled per table for the two-sample tests (bottom-k by row hash: mergeable, seeded).
    sample_rows: int = 20000
    # Above this many design columns the Gram matrix (p² memory, n·p² time) and what needs it are skipped.
    max_design_columns: int = 1000

    def with_overrides(self, table: dict[str, Any], where: str = "thresholds") -> Thresholds:
        """A copy with `table`'s entries (TOML spelling, e.g. `condition-index`) applied and validated."""
        by_key = {f.name.replace("_", "-"): f for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in table.items():
            spec = by_key.get(key)
            if spec is None:
                known = ", ".join(sorted(by_key))
                raise ThresholdError(f"unknown key {key!r} in {where} (known: {known})")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ThresholdError(f"{where}.{key} must be a number")
            if spec.type in ("int", int):
                if not isinstance(value, int) and not float(value).is_integer():
                    raise ThresholdError(f"{where}.{key} must be an integer")
                value = int(value)
                if value < 0:
                    raise ThresholdError(f"{where}.{key} must not be negative")
            else:
                value = float(value)
                if not value >= 0 or value == float("inf"):
                    raise ThresholdError(f"{where}.{key} must be a finite number >= 0")
            changes[spec.name] = value
        return replace(self, **changes)
