"""Merged partial statistics → MSL6xx findings, each with its figures in `evidence`.

Rules never print; every figure here comes from the merged partials (and, for conditioning,
from the Gram/TSQR factor computed by `audit`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlstablint.data.linalg import Conditioning
from mlstablint.data.partials import EXP_LIMIT_F32, EXP_LIMIT_F64, Partial
from mlstablint.dataset import TableIdentity
from mlstablint.findings import Finding, Severity, data_fingerprint
from mlstablint.thresholds import Thresholds

MAX_LISTED = 20  # columns / directions listed in one finding's evidence


def sig(x: float, digits: int = 6) -> float | str | None:
    """A float rounded to `digits` significant digits for evidence; ±inf as a string, NaN as null."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return 0.0
    return float(f"{x:.{digits - 1}e}")


def fmt(x: float) -> str:
    """A figure for a message: 3 significant digits."""
    if math.isinf(x):
        return "infinite" if x > 0 else "-infinite"
    if math.isnan(x):
        return "undefined"
    return f"{x:.3g}"


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "0 %"


def _names(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass
class Context:
    dataset: str  # display path of the training table
    partial: Partial
    thresholds: Thresholds
    intercept: bool
    severity: Callable[[str], Severity]
    groups: list[list[int]] = field(default_factory=list)  # design indices
    exact_drops: dict[str, list[int]] = field(default_factory=dict)
    conditioning: Conditioning | None = None
    model_columns: list[str] = field(default_factory=list)  # names of the model's columns (F order)
    test: Partial | None = None
    test_dataset: str = ""
    # Precomputed by an engine that keeps no row hashes in the partial (None: computed from the hashes).
    row_counts: RowCounts | None = None
    overlap_counts: OverlapCounts | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What was audited: the training table and the test table (set by the engine that read them).
    identity: list[TableIdentity] = field(default_factory=list)
    # Every column's two-sample KS test against the test table, recorded by `drift` (for `profile`).
    drift_tests: list[dict[str, Any]] = field(default_factory=list)
    # The figures behind the findings as plain data (for charts), filled by `profile` after the rules ran.
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def design(self) -> tuple[str, ...]:
        return self.partial.layout.design

    def add(self, rule: str, message: str, evidence: dict[str, Any], columns: list[str],
            dataset: str | None = None, severity: Severity | None = None) -> None:
        path = dataset or self.dataset
        message = message[:1].upper() + message[1:]  # a full sentence, whatever the template
        self.findings.append(Finding(
            rule=rule, severity=severity or self.severity(rule), message=message, path=path, line=1, column=1,
            end_line=1, end_column=1, evidence=evidence, fingerprint=data_fingerprint(rule, path, columns)))


# ----------------------------------------------------------------------------------------------
# Column properties


def column_kinds(p: Partial) -> dict[str, list[int]]:
    """Design column indices by property: all-missing, zero, constant, binary (0/1, non-constant, complete)."""
    missing = p.nulls + p.nans + p.posinf + p.neginf
    out: dict[str, list[int]] = {"all_missing": [], "zero": [], "constant": [], "binary": []}
    for j in range(len(p.layout.design)):
        if p.count[j] == 0:
            out["all_missing"].append(j)
        elif p.min[j] == p.max[j]:
            out["zero" if p.min[j] == 0 else "constant"].append(j)
        elif p.nonbinary[j] == 0 and missing[j] == 0:
            out["binary"].append(j)
    return out


def exact_drops(p: Partial, groups: list[list[int]], intercept: bool) -> dict[str, list[int]]:
    """Design columns whose dependency is already explained: zero, constant (with an intercept) and
    one level of each one-hot group (its most frequent level; with no intercept, every group but the first)."""
    kinds = column_kinds(p)
    level_drops = []
    for g, members in enumerate(groups):
        if intercept or g > 0:
            level_drops.append(max(members, key=lambda j: (p.count[j] - p.zeros[j], -j)))
    return {"zero": kinds["zero"], "constant": kinds["constant"] if intercept else [], "one_hot": level_drops}


# ----------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class RowCounts:
    """What MSL601/MSL602 need to know about row identity: duplicate groups of feature rows and, with a
    target, the groups whose labels disagree. The local engine computes it from the partial's row-hash
    arrays (`row_counts`); a distributed engine computes the same counts where the rows live."""

    rows: int
    distinct: int  # distinct feature rows
    duplicate_groups: int  # feature rows that occur more than once
    largest_group: int
    conflicting_groups: int = 0  # groups with more than one target value
    conflicting_rows: int = 0  # rows in those groups
    best_correct: int = 0  # sum over groups of the most frequent target value's count
    ss_within: float = float("nan")  # numeric target: sum of squared deviations from the group means
    within_dof: float = 0.0  # sum over groups with >= 2 finite targets of (count - 1)
    finite_targets: int = 0
    # (group size, number of duplicate groups of that size), sizes >= 2 ascending; empty when not computed.
    group_sizes: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class OverlapCounts:
    """What MSL612 needs: test rows whose features occur in the training table."""

    test_rows: int
    overlapping_rows: int
    distinct_overlapping: int


def row_counts(p: Partial) -> RowCounts:
    """The duplicate and conflict counts of a partial that kept its row hashes."""
    return count_rows(p.hashes(), p.targets() if p.layout.target is not None else None, p.layout.target_numeric)


def count_rows(fh: np.ndarray, tk: np.ndarray | None, numeric: bool, complete: bool = False) -> RowCounts:
    """The counts of rows with feature hashes `fh` and target keys `tk` (None: no target; a numeric target's
    keys are its float64 bits). Without duplicates the target's figures are skipped unless `complete`: a
    distributed engine counts each part of the rows (whole duplicate groups) and adds them (`merge_counts`)."""
    n = int(fh.size)
    uniq, inverse, counts = np.unique(fh, return_inverse=True, return_counts=True)
    duplicated = n - int(uniq.size)
    sizes, groups_of_size = np.unique(counts[counts > 1], return_counts=True)
    base = RowCounts(rows=n, distinct=int(uniq.size), duplicate_groups=int(np.count_nonzero(counts > 1)),
                     largest_group=int(counts.max()) if n else 0,
                     group_sizes=tuple((int(s), int(c)) for s, c in zip(sizes, groups_of_size, strict=True)))
    if tk is None or not (duplicated or complete):
        return base
    order = np.lexsort((tk, inverse))
    g_sorted, t_sorted = inverse[order], tk[order]
    new_pair = np.ones(n, dtype=bool)
    new_pair[1:] = (g_sorted[1:] != g_sorted[:-1]) | (t_sorted[1:] != t_sorted[:-1])
    pair_starts = np.flatnonzero(new_pair)
    pair_counts = np.diff(np.append(pair_starts, n))
    pair_group = g_sorted[pair_starts]
    labels_per_group = np.bincount(pair_group, minlength=uniq.size)
    conflicting = labels_per_group > 1
    group_starts = np.flatnonzero(np.r_[True, pair_group[1:] != pair_group[:-1]])
    best = int(np.maximum.reduceat(pair_counts, group_starts).sum()) if n else 0
    ss_within, dof, n_finite = float("nan"), 0.0, 0
    if numeric:
        y = tk.view(np.float64)
        finite = np.isfinite(y)
        w = np.bincount(inverse, weights=np.where(finite, y, 0.0), minlength=uniq.size)
        c = np.bincount(inverse, weights=finite.astype(np.float64), minlength=uniq.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = w / np.maximum(c, 1)
        dev = np.where(finite, y - means[inverse], 0.0)
        ss_within = float((dev * dev).sum())
        dof = float(np.maximum(c[c >= 2] - 1, 0).sum())
        n_finite = int(finite.sum())
    return RowCounts(rows=n, distinct=base.distinct, duplicate_groups=base.duplicate_groups,
                     largest_group=base.largest_group, conflicting_groups=int(np.count_nonzero(conflicting)),
                     conflicting_rows=int(counts[conflicting].sum()), best_correct=best, ss_within=ss_within,
                     within_dof=dof, finite_targets=n_finite, group_sizes=base.group_sizes)


def merge_counts(a: RowCounts, b: RowCounts) -> RowCounts:
    """The counts of two sets of rows that share no feature hash, each counted with `complete=True`."""
    sizes = dict(a.group_sizes)
    for size, groups in b.group_sizes:
        sizes[size] = sizes.get(size, 0) + groups
    return RowCounts(rows=a.rows + b.rows, distinct=a.distinct + b.distinct,
                     duplicate_groups=a.duplicate_groups + b.duplicate_groups,
                     largest_group=max(a.largest_group, b.largest_group),
                     conflicting_groups=a.conflicting_groups + b.conflicting_groups,
                     conflicting_rows=a.conflicting_rows + b.conflicting_rows,
                     best_correct=a.best_correct + b.best_correct,
                     ss_within=a.ss_within + b.ss_within, within_dof=a.within_dof + b.within_dof,
                     finite_targets=a.finite_targets + b.finite_targets, group_sizes=tuple(sorted(sizes.items())))


def overlap_counts(train: Partial, test: Partial) -> OverlapCounts:
    """Test rows whose feature-row hash occurs among the training table's (both partials kept hashes)."""
    th = test.hashes()
    inside = np.isin(th, np.unique(train.hashes()))
    return OverlapCounts(test_rows=int(th.size), overlapping_rows=int(inside.sum()),
                         distinct_overlapping=int(np.unique(th[inside]).size))


def duplicates(ctx: Context) -> None:
    """MSL601 duplicated feature rows; MSL602 duplicates whose labels disagree."""
    p = ctx.partial
    rc = ctx.row_counts if ctx.row_counts is not None else row_counts(p)
    ctx.row_counts = rc  # kept for `profile`
    n = rc.rows
    if n == 0:
        return
    duplicated = n - rc.distinct
    fraction = duplicated / n
    if duplicated and fraction > ctx.thresholds.duplicate_fraction:
        groups = rc.duplicate_groups
        largest = rc.largest_group
        ctx.add("MSL601",
                f"{duplicated} of {n} rows ({pct(duplicated, n)}) repeat the features of an earlier row "
                f"({groups} group{'s' if groups != 1 else ''}, the largest {largest} rows); copies that land on "
                f"both sides of a split inflate validation scores: deduplicate, or split and cross-validate by "
                f"duplicate group.",
                {"rows": n, "duplicated_rows": duplicated, "fraction": sig(fraction), "duplicate_groups": groups,
                 "largest_group": largest}, list(p.layout.features))
    if p.layout.target is None or not duplicated:
        return
    n_conflicting = rc.conflicting_groups
    if not n_conflicting:
        return
    rows_affected = rc.conflicting_rows
    evidence: dict[str, Any] = {"rows_affected": rows_affected, "fraction": sig(rows_affected / n),
                                "conflicting_groups": n_conflicting}
    if is_classification(p, ctx.thresholds) or not p.layout.target_numeric:
        best = rc.best_correct
        evidence["best_achievable_accuracy"] = sig(best / n)
        evidence["label_noise_floor"] = sig(1 - best / n)
        floor = f"no model of these features can be more than {100 * best / n:.2f} % accurate on this table"
    else:
        ss_within, dof, n_finite = rc.ss_within, rc.within_dof, rc.finite_targets
        tm = p.target_moments
        total_var = tm.m2 / tm.count if tm.count else float("nan")
        mse_floor = ss_within / n_finite if n_finite else float("nan")
        evidence["within_group_variance"] = sig(ss_within / dof if dof else float("nan"))
        evidence["mse_floor"] = sig(mse_floor)
        evidence["target_variance"] = sig(total_var)
        if total_var > 0:
            # Within-group variance <= total variance: below 0 is rounding, which differs with the batching.
            evidence["max_r2"] = sig(max(0.0, 1 - mse_floor / total_var))
        floor = (f"no model of these features can reach a training mean squared error below {fmt(mse_floor)} "
                 f"(target variance {fmt(total_var)})")
    ctx.add("MSL602",
            f"{n_conflicting} groups of rows with identical features carry different values of "
            f"{p.layout.target!r} ({rows_affected} rows, {pct(rows_affected, n)}), so {floor}; check the "
            f"labels for noise or a missing feature, and aggregate or deduplicate the conflicting rows.",
            evidence, [*p.layout.features, p.layout.target])


def is_classification(p: Partial, t: Thresholds) -> bool:
    """Class labels: an integer, boolean, text or categorical target with 2..max-classes distinct values."""
    return bool(p.layout.target_discrete and p.class_counts is not None and 2 <= len(p.class_counts) <= t.max_classes)


def one_hot(ctx: Context) -> None:
    """MSL603 one-hot groups collinear with the intercept."""
    groups = ctx.groups
    if not groups or (not ctx.intercept and len(groups) < 2):
        return
    design = ctx.design
    names = [[design[j] for j in g] for g in groups]
    k = len(groups) if ctx.intercept else len(groups) - 1
    evidence: dict[str, Any] = {"group_count": len(groups), "exact_dependencies": k, "intercept": ctx.intercept,
                                "groups": names[:MAX_LISTED]}
    if len(groups) > MAX_LISTED:
        evidence["groups_not_listed"] = len(groups) - MAX_LISTED
    cond = ctx.conditioning
    if cond is not None:
        evidence.update({"rank": cond.rank, "columns": cond.columns, "cond": sig(cond.cond)})
    what = ("together with the intercept" if ctx.intercept
            else "with each other (each group sums to the same constant)")
    first = names[0]
    ctx.add("MSL603",
            f"{len(groups)} one-hot group{'s' if len(groups) > 1 else ''} of 0/1 columns sum to 1 on every row "
            f"(e.g. {_names(first)}), so {what} the design has {k} exact linear "
            f"dependenc{'ies' if k > 1 else 'y'} (the dummy-variable trap) and XᵀX is singular; drop one level "
            f"per group (drop_first=True) or fit without an intercept.",
            evidence, [c for g in names for c in g])


def rank(ctx: Context) -> None:
    """MSL604 rank deficiency beyond one-hot groups and constant columns."""
    cond = ctx.conditioning
    if cond is None or not cond.null_directions:
        return
    cols = ctx.model_columns
    directions = []
    for d in cond.null_directions[:MAX_LISTED]:
        directions.append({"columns": [cols[c] for c in d.columns],
                           "coefficients": {cols[c]: sig(v) for c, v in zip(d.columns, d.coefficients, strict=True)}})
    evidence: dict[str, Any] = {
        "rank": cond.rank, "columns": cond.columns, "null_directions": len(cond.null_directions),
        "explained_elsewhere": {"one_hot_groups": len(ctx.exact_drops.get("one_hot", [])),
                                "constant_or_zero_columns": len(ctx.exact_drops.get("constant", []))
                                + len(ctx.exact_drops.get("zero", []))},
        "directions": directions,
    }
    first = cond.null_directions[0]
    terms = " + ".join(f"{fmt(v)}·{cols[c]}" for c, v in zip(first.columns[1:4], first.coefficients[1:4], strict=True))
    more = " + …" if len(first.columns) > 4 else ""
    n_dir = len(cond.null_directions)
    ctx.add("MSL604",
            f"the design has {n_dir} exact linear dependenc{'ies' if n_dir > 1 else 'y'} beyond one-hot groups and "
            f"constant columns (numerical rank {cond.rank} of {cond.columns} columns), e.g. "
            f"{cols[first.columns[0]]} ≈ -({terms}{more}); drop or combine the dependent columns, or use a "
            f"rank-revealing, regularised solver.",
            evidence, sorted({cols[c] for d in cond.null_directions for c in d.columns}))


def conditioning(ctx: Context) -> None:
    """MSL605 ill-conditioned design (beyond its exact dependencies)."""
    cond = ctx.conditioning
    if cond is None or not cond.kept:
        return
    t = ctx.thresholds
    c_red, c_red_eq = cond.cond_reduced, cond.cond_reduced_equilibrated
    if not c_red > t.cond:
        return
    cols = ctx.model_columns
    evidence: dict[str, Any] = {
        "cond": sig(cond.cond), "cond_equilibrated": sig(cond.cond_equilibrated), "threshold": t.cond,
        "rank": cond.rank, "columns": cond.columns, "rows_used": cond.rows,
    }
    reduced = len(cond.kept) < cond.columns
    if reduced:
        evidence["cond_without_exact_dependencies"] = sig(c_red)
        evidence["cond_equilibrated_without_exact_dependencies"] = sig(c_red_eq)
    evidence["condition_indices"] = [
        {"index": sig(ci.index, 4), "proportions": {cols[j]: sig(v, 3) for j, v in ci.proportions}}
        for ci in cond.condition_indices[:MAX_LISTED]]
    evidence["max_vif"] = sig(cond.max_vif, 4)
    evidence["vif_above_threshold"] = {cols[j]: sig(v, 4) for j, v in cond.vif[:MAX_LISTED]}
    involved = sorted({cols[j] for ci in cond.condition_indices for j, _v in ci.proportions})
    subject = "the design without its exact dependencies" if reduced else "the design"
    if c_red_eq <= t.cond:
        advice = (f"scaling the columns to unit norm brings it to {fmt(c_red_eq)}, so the problem is the column "
                  f"scales: standardise the features before fitting")
    else:
        where = f" (condition indices above {fmt(t.condition_index)} involve {_names(involved)})" if involved else ""
        advice = (f"it is still {fmt(c_red_eq)} after scaling the columns to unit norm{where}, so the columns are "
                  f"nearly collinear: drop or combine them, or use ridge regularisation")
    ctx.add("MSL605",
            f"{subject} is ill-conditioned (condition number {fmt(c_red)}, threshold {fmt(t.cond)}): solutions "
            f"can lose up to {max(0, int(math.log10(c_red))) if math.isfinite(c_red) else 16} significant digits; "
            f"{advice}.",
            evidence, involved or list(cols))


def scales(ctx: Context) -> None:
    """MSL606 scale disparity between column standard deviations."""
    p = ctx.partial
    std = np.sqrt(p.variance)
    ok = [j for j in range(len(ctx.design)) if np.isfinite(std[j]) and std[j] > 0]
    if len(ok) < 2:
        return
    # Sorted on the reported (rounded) figure, so that rounding differences between batchings cannot reorder ties.
    order = sorted(ok, key=lambda j: (-float(sig(float(std[j])) or 0.0), j))
    hi, lo = order[0], order[-1]
    ratio = float(std[hi] / std[lo])
    if not ratio > ctx.thresholds.scale_ratio:
        return
    design = ctx.design
    shown = order[:5] + [j for j in order[-5:] if j not in order[:5]]
    ctx.add("MSL606",
            f"column standard deviations differ by a factor of {fmt(ratio)} ({fmt(float(std[lo]))} in "
            f"{design[lo]!r} to {fmt(float(std[hi]))} in {design[hi]!r}); gradient-based, regularised and "
            f"distance-based methods then weigh the columns very unequally: standardise the features before fitting.",
            {"ratio": sig(ratio), "threshold": ctx.thresholds.scale_ratio,
             "largest": {"column": design[hi], "std": sig(float(std[hi]))},
             "smallest": {"column": design[lo], "std": sig(float(std[lo]))},
             "std": {design[j]: sig(float(std[j])) for j in shown}},
            [design[hi], design[lo]])


def overflow(ctx: Context) -> None:
    """MSL607 values beyond exp's overflow thresholds."""
    p = ctx.partial
    design = ctx.design
    hits = [j for j in range(len(design)) if p.above_f32[j] > 0]
    if not hits:
        return
    hits.sort(key=lambda j: (-int(p.above_f64[j]), -int(p.above_f32[j]), j))
    columns = {design[j]: {"above_float32": int(p.above_f32[j]), "above_float64": int(p.above_f64[j]),
                           "max": sig(float(p.max[j]))} for j in hits[:MAX_LISTED]}
    n64 = sum(1 for j in hits if p.above_f64[j] > 0)
    top = hits[0]
    ctx.add("MSL607",
            f"{len(hits)} column(s) hold values above {EXP_LIMIT_F32:.2f}, where exp overflows float32, "
            f"{n64} of them above {EXP_LIMIT_F64:.2f}, where it overflows float64 (e.g. {design[top]!r}: "
            f"{int(p.above_f64[top])} of {p.rows} values, max {fmt(float(p.max[top]))}); exp of these columns or "
            f"of a linear model on them gives inf: standardise or log-transform them, and compute exp in log space "
            f"or clipped.",
            {"limits": {"float32": sig(EXP_LIMIT_F32), "float64": sig(EXP_LIMIT_F64)}, "column_count": len(hits),
             "columns": columns},
            [design[j] for j in hits],
            # Ages and prices exceed 88.72 all the time: only a float64 overflow is a warning.
            severity=None if n64 else "note")


def non_finite(ctx: Context) -> None:
    """MSL608 missing, NaN and infinite values in the design and the target."""
    p = ctx.partial
    columns: dict[str, dict[str, int]] = {}
    all_missing = []
    for j, name in enumerate(ctx.design):
        counts = {"null": int(p.nulls[j]), "nan": int(p.nans[j]), "+inf": int(p.posinf[j]), "-inf": int(p.neginf[j])}
        if any(counts.values()):
            columns[name] = counts
            if p.count[j] == 0:
                all_missing.append(name)
    if p.layout.target is not None and (p.target_nulls or p.target_nans):
        columns[p.layout.target] = {"null": p.target_nulls, "nan": p.target_nans}
    if not columns:
        return
    cells = sum(sum(c.values()) for c in columns.values())
    first = next(iter(columns))
    detail = ", ".join(f"{v} {k}" for k, v in columns[first].items() if v)
    extra = f"; {len(all_missing)} column(s) have no finite value at all ({_names(all_missing)})" if all_missing else ""
    listed = dict(list(columns.items())[:MAX_LISTED])
    ctx.add("MSL608",
            f"{len(columns)} column(s) hold missing or infinite values ({cells} cells; {first!r}: {detail}){extra}; "
            f"solvers fail or return NaN on them: impute or drop the missing values, and replace ±inf at the source.",
            {"columns": listed, "column_count": len(columns), "cells": cells, "all_missing": all_missing,
             "rows_with_non_finite_features": p.incomplete_rows},
            list(columns))


def constant(ctx: Context) -> None:
    """MSL609 constant or all-zero columns."""
    p = ctx.partial
    kinds = column_kinds(p)
    zero = [ctx.design[j] for j in kinds["zero"]]
    const = {ctx.design[j]: sig(float(p.min[j])) for j in kinds["constant"]}
    if not zero and not const:
        return
    names = zero + list(const)
    ctx.add("MSL609",
            f"{len(names)} column(s) never change ({_names(names)}): all zero: {len(zero)}, constant: {len(const)}; "
            f"they carry no information and are collinear with the intercept (or zero): drop them.",
            {"all_zero": zero, "constant": const}, names)


def rare(ctx: Context) -> None:
    """MSL610 0/1 columns with at most k ones."""
    p = ctx.partial
    k = ctx.thresholds.rare_k
    kinds = column_kinds(p)
    hits = [(ctx.design[j], int(p.count[j] - p.zeros[j])) for j in kinds["binary"]
            if 0 < p.count[j] - p.zeros[j] <= k]
    if not hits:
        return
    hits.sort(key=lambda h: (h[1], h[0]))
    ctx.add("MSL610",
            f"{len(hits)} indicator column(s) are 1 on at most {k} rows (e.g. {hits[0][0]!r}: {hits[0][1]}); their "
            f"coefficients rest on a handful of rows and are barely identifiable: merge rare levels into an "
            f"'other' level or regularise.",
            {"k": k, "column_count": len(hits), "ones": dict(hits[:MAX_LISTED])}, [h[0] for h in hits])


def imbalance(ctx: Context) -> None:
    """MSL611 class imbalance of a classification target."""
    p = ctx.partial
    if not is_classification(p, ctx.thresholds):
        return
    assert p.class_counts is not None
    items = sorted(((str(k), v) for k, v in p.class_counts.items()), key=lambda kv: (-kv[1], kv[0]))
    majority, minority = items[0], items[-1]
    ratio = minority[1] / majority[1]
    if not ratio < ctx.thresholds.imbalance_ratio:
        return
    ctx.add("MSL611",
            f"the classes of {p.layout.target!r} are imbalanced: {minority[0]!r} has {minority[1]} rows against "
            f"{majority[1]} for {majority[0]!r} (ratio {ratio:.3g}); accuracy and unweighted losses then favour the "
            f"majority: use class weights or resampling inside the training folds, and report per-class metrics.",
            {"classes": dict(items[:MAX_LISTED * 2]), "minority": minority[0], "majority": majority[0],
             "minority_ratio": sig(ratio), "threshold": ctx.thresholds.imbalance_ratio},
            [p.layout.target or ""])


def overlap(ctx: Context) -> None:
    """MSL612 test rows whose features also occur in the training table."""
    test = ctx.test
    if test is None:
        return
    oc = ctx.overlap_counts if ctx.overlap_counts is not None else overlap_counts(ctx.partial, test)
    ctx.overlap_counts = oc  # kept for `profile`
    count = oc.overlapping_rows
    if not count:
        return
    m = oc.test_rows
    ctx.add("MSL612",
            f"{count} of {m} test rows ({pct(count, m)}) have features identical to a row of the training table "
            f"{ctx.dataset!r}; scores on them measure memory, not generalisation: remove them from the test set or "
            f"split by duplicate group.",
            {"test_rows": m, "overlapping_rows": count, "fraction": sig(count / m),
             "distinct_overlapping_rows": oc.distinct_overlapping, "training_table": ctx.dataset},
            list(ctx.partial.layout.features), dataset=ctx.test_dataset)


def drift(ctx: Context) -> None:
    """MSL613 per-column two-sample KS tests between the train and test samples, BH-corrected."""
    test = ctx.test
    if test is None:
        return
    from scipy import stats

    train = ctx.partial
    t = ctx.thresholds
    names, ks, pvals, smd, means = [], [], [], [], []
    for j, name in enumerate(train.layout.design):
        a = train.sample_values[:, j]
        b = test.sample_values[:, j]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if a.size < 20 or b.size < 20:
            continue
        res = stats.ks_2samp(a, b)
        va, vb = train.variance[j], test.variance[j]
        pooled = math.sqrt((va + vb) / 2) if np.isfinite(va) and np.isfinite(vb) else float("nan")
        d = float((test.mean[j] - train.mean[j]) / pooled) if pooled > 0 else 0.0
        names.append(name)
        ks.append(float(res.statistic))
        pvals.append(float(res.pvalue))
        smd.append(d)
        means.append((float(train.mean[j]), float(test.mean[j])))
    if not names:
        return
    adjusted = stats.false_discovery_control(np.array(pvals), method="bh")
    hits = [i for i in range(len(names))
            if adjusted[i] < t.drift_alpha and (ks[i] >= t.drift_ks or abs(smd[i]) >= t.drift_smd)]
    drifted = set(hits)
    ctx.drift_tests = [{"column": names[i], "ks": ks[i], "p_value": pvals[i], "p_adjusted": float(adjusted[i]),
                        "smd": smd[i], "drifted": i in drifted} for i in range(len(names))]
    if not hits:
        return
    hits.sort(key=lambda i: (-ks[i], names[i]))
    columns = {names[i]: {"ks": sig(ks[i], 4), "p_adjusted": sig(float(adjusted[i]), 3), "smd": sig(smd[i], 4),
                          "mean_train": sig(means[i][0]), "mean_test": sig(means[i][1])} for i in hits[:MAX_LISTED]}
    top = hits[0]
    ctx.add("MSL613",
            f"{len(hits)} of {len(names)} columns are distributed differently in the test table than in training "
            f"{ctx.dataset!r} (e.g. {names[top]!r}: KS statistic {ks[top]:.3f}, standardised mean difference "
            f"{smd[top]:.3g}; Benjamini-Hochberg corrected p < {t.drift_alpha:g}); a model fitted on one is "
            f"evaluated out of its domain: check the split and the data pipeline, or reweight.",
            {"test": "Kolmogorov-Smirnov two-sample, Benjamini-Hochberg", "tested_columns": len(names),
             "sample_rows": {"train": int(train.sample_values.shape[0]), "test": int(test.sample_values.shape[0])},
             "columns": columns},
            [names[i] for i in hits], dataset=ctx.test_dataset)


RULES = (duplicates, one_hot, rank, conditioning, scales, overflow, non_finite, constant, rare, imbalance,
         overlap, drift)


def analyse(ctx: Context) -> Context:
    for rule in RULES:
        rule(ctx)
    ctx.profile = profile(ctx)
    return ctx


# ----------------------------------------------------------------------------------------------
# The figures behind the findings, as plain data (lists, dicts, floats) for the HTML report's charts.
# Nothing is recomputed here: it reads the merged partial, the conditioning and what the rules recorded.


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _columns_profile(ctx: Context) -> list[dict[str, Any]]:
    p = ctx.partial
    kinds = column_kinds(p)
    kind_of = {j: kind for kind, js in kinds.items() for j in js}
    out = []
    for j, name in enumerate(ctx.design):
        std = float(np.sqrt(p.variance[j])) if p.count[j] else float("nan")
        out.append({
            "name": name, "kind": kind_of.get(j, "numeric"), "count": int(p.count[j]),
            "std": _finite_or_none(std), "min": _finite_or_none(float(p.min[j])) if p.count[j] else None,
            "max": _finite_or_none(float(p.max[j])) if p.count[j] else None,
            "null": int(p.nulls[j]), "nan": int(p.nans[j]), "posinf": int(p.posinf[j]), "neginf": int(p.neginf[j]),
            "above_float32": int(p.above_f32[j]), "above_float64": int(p.above_f64[j]),
            "ones": int(p.count[j] - p.zeros[j]) if kind_of.get(j) == "binary" else None,
        })
    return out


def _conditioning_profile(ctx: Context) -> dict[str, Any] | None:
    cond = ctx.conditioning
    if cond is None:
        return None
    t = ctx.thresholds
    cols = ctx.model_columns
    kept = [cols[k] for k in cond.kept]
    design = ctx.design
    return {
        "columns": cond.columns, "rows_used": cond.rows, "rank": cond.rank,
        "cond": cond.cond, "cond_equilibrated": cond.cond_equilibrated,
        "cond_reduced": cond.cond_reduced, "cond_reduced_equilibrated": cond.cond_reduced_equilibrated,
        "cond_threshold": t.cond, "condition_index_threshold": t.condition_index,
        "variance_proportion_threshold": t.variance_proportion,
        "singular_values": cond.singular_values, "singular_values_equilibrated": cond.singular_values_equilibrated,
        "rank_tolerance": cond.rank_tolerance,
        "condition_indices": cond.all_condition_indices,
        "variance_decomposition": {"columns": kept, "indices": [eta for eta, _pi in cond.variance_proportions],
                                   "proportions": [pi for _eta, pi in cond.variance_proportions]},
        "one_hot_groups": [[design[j] for j in g] for g in ctx.groups],
        "dropped": {why: [design[j] for j in js] for why, js in ctx.exact_drops.items()},
        "null_directions": [[cols[c] for c in d.columns] for d in cond.null_directions],
    }


def _rows_profile(ctx: Context) -> dict[str, Any] | None:
    rc = ctx.row_counts
    if rc is None:
        return None
    return {"rows": rc.rows, "distinct": rc.distinct, "duplicate_groups": rc.duplicate_groups,
            "largest_group": rc.largest_group, "group_sizes": [list(gs) for gs in rc.group_sizes],
            "conflicting_groups": rc.conflicting_groups, "conflicting_rows": rc.conflicting_rows}


def profile(ctx: Context) -> dict[str, Any]:
    """The audit's figures as plain data: table shape, per-column statistics, conditioning spectra and
    Belsley proportions, duplicate group sizes and the drift tests (only what was computed)."""
    p = ctx.partial
    out: dict[str, Any] = {"dataset": ctx.dataset, "rows": p.rows, "design_columns": len(ctx.design),
                           "target": p.layout.target, "intercept": ctx.intercept, "columns": _columns_profile(ctx),
                           "rare_k": ctx.thresholds.rare_k}
    conditioning_figures = _conditioning_profile(ctx)
    if conditioning_figures is not None:
        out["conditioning"] = conditioning_figures
    rows = _rows_profile(ctx)
    if rows is not None:
        out["duplicates"] = rows
    if ctx.drift_tests:
        t = ctx.thresholds
        out["drift"] = {"test_dataset": ctx.test_dataset, "alpha": t.drift_alpha, "ks_threshold": t.drift_ks,
                        "smd_threshold": t.drift_smd, "tests": ctx.drift_tests}
    if ctx.test is not None and ctx.overlap_counts is not None:
        oc = ctx.overlap_counts
        out["overlap"] = {"test_dataset": ctx.test_dataset, "test_rows": oc.test_rows,
                          "overlapping_rows": oc.overlapping_rows, "distinct_overlapping": oc.distinct_overlapping}
    return out
