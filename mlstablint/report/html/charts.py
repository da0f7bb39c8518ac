"""The report's charts: each takes plain data (the audit's profile, a confirmation's figures, the lab's
runs) and returns a `Chart` — an inline SVG plus the same numbers as a table. Nothing is computed here
beyond choosing what to draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlstablint.report.html.svg import HATCHES, INK, MARKERS, PALETTE, new_figure, plain, rc_params, to_svg

MAX_HEATMAP_COLUMNS = 40  # Belsley heatmap rows (design columns) drawn; the table lists them all
MAX_HEATMAP_INDICES = 30
MAX_LABELLED_COLUMNS = 3  # extreme columns named on the scale chart


@dataclass
class Chart:
    id: str
    title: str
    caption: str
    svg: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def num(x: Any) -> str:
    """A figure for a table cell: 4 significant digits, ∞ and — for missing."""
    if x is None:
        return "—"
    if isinstance(x, str):
        return {"inf": "∞", "-inf": "−∞", "nan": "NaN"}.get(x, x)
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}".replace(",", "\u202f")
    if isinstance(x, list | tuple):
        return ", ".join(num(v) for v in x)
    if isinstance(x, dict):
        return ", ".join(f"{k}: {num(v)}" for k, v in x.items())
    if not isinstance(x, float):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.4g}"


def positive(x: Any) -> float | None:
    """A value drawable on a log axis (finite and > 0), else None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def _draw(width: float, height: float, label: str, paint: Callable[[Any], None]) -> str:
    from matplotlib import rc_context

    with rc_context(rc_params()):  # type: ignore[arg-type]
        fig = new_figure(width, height)
        paint(fig)
        return to_svg(fig, label)


# ----------------------------------------------------------------------------------------------
# Conditioning


def spectrum(cond: dict[str, Any]) -> Chart | None:
    raw = cond.get("singular_values") or []
    eq = cond.get("singular_values_equilibrated") or []
    if not raw:
        return None
    tol = cond.get("rank_tolerance")
    threshold = cond.get("cond_threshold")

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        for i, (values, name) in enumerate(((raw, "raw columns"), (eq, "columns scaled to unit norm"))):
            pts = [(k + 1, v) for k, v in enumerate(values) if positive(v)]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker=MARKERS[i], markersize=3, linewidth=1,
                        linestyle="-" if i == 0 else "--", color=PALETTE[3 if i == 0 else 5], label=name)
        if positive(tol):
            ax.axhline(tol, color=PALETTE[0], linestyle=":", linewidth=1.2,
                       label=f"rank cut-off (scaled) {num(tol)}")
        if eq and positive(eq[0]) and positive(threshold):
            ax.axhline(eq[0] / threshold, color=PALETTE[2], linestyle="-.", linewidth=1.2,
                       label=f"σ₁ / {num(threshold)} (cond threshold, scaled)")
        ax.set_yscale("log")
        # The rank cut-off sits far below the spectrum when the design has full rank: keep it in view.
        drawn = [v for v in (*raw, *eq, tol) if positive(v)]
        if drawn:
            ax.set_ylim(min(drawn) / 10, max(drawn) * 10)
        ax.set_xlabel("k (singular values, largest first)")
        ax.set_ylabel("σₖ")
        ax.grid(True, which="major")
        ax.legend(fontsize=7, loc="upper right")

    rows = [[str(k + 1), num(raw[k]), num(eq[k]) if k < len(eq) else "—",
             "yes" if k < len(eq) and positive(tol) is not None and eq[k] <= tol else "no"]
            for k in range(len(raw))]
    set_aside = sum(len(v) for v in (cond.get("dropped") or {}).values())
    caption = (f"Singular values of the design ({cond.get('rows_used', 0)} complete rows"
               + (f", {set_aside} exactly dependent columns set aside" if set_aside else "") + "), raw and with columns"
               " scaled to unit norm. Values below the rank cut-off are numerically zero; the gap between the"
               " two curves is what scaling alone fixes.")
    return Chart("chart-spectrum", "Singular-value spectrum", caption,
                 _draw(6.4, 3.4, "Singular-value spectrum on a log scale, raw and equilibrated", paint),
                 ["k", "σ raw", "σ equilibrated", "below rank cut-off"], rows)


def belsley(cond: dict[str, Any]) -> Chart | None:
    vd = cond.get("variance_decomposition") or {}
    columns: list[str] = vd.get("columns") or []
    indices: list[float] = vd.get("indices") or []
    props: list[list[float]] = vd.get("proportions") or []
    high = float(cond.get("variance_proportion_threshold") or 0.5)
    if not indices or not columns:
        return None
    # Highest indices first; the columns that carry a high proportion on any of them.
    order = sorted(range(len(indices)), key=lambda i: -indices[i])[:MAX_HEATMAP_INDICES]
    involved = [j for j in range(len(columns)) if any(props[i][j] > high for i in order)]
    if len(involved) < 2:
        involved = sorted(range(len(columns)), key=lambda j: -max(props[i][j] for i in order))[:2]
    involved = sorted(involved, key=lambda j: (-max(props[i][j] for i in order), columns[j]))
    shown = involved[:MAX_HEATMAP_COLUMNS]

    def paint(fig: Any) -> None:
        import numpy as np

        ax = fig.add_subplot()
        grid = np.array([[props[i][j] for i in order] for j in shown])
        from matplotlib.colors import BoundaryNorm

        # Vector cells and ten discrete colours: the colour bar stays vector too (no embedded raster image).
        norm = BoundaryNorm([k / 10 for k in range(11)], 256)
        image = ax.pcolormesh(np.arange(len(order) + 1) - 0.5, np.arange(len(shown) + 1) - 0.5, grid,
                              cmap="cividis", norm=norm, edgecolors="face")
        ax.invert_yaxis()
        for r, _j in enumerate(shown):
            for c, _i in enumerate(order):
                if grid[r, c] > high:  # marked by text too, not by colour alone
                    ax.text(c, r, f"{grid[r, c]:.2f}", ha="center", va="center", fontsize=6,
                            color="black" if grid[r, c] > 0.6 else "white", fontweight="bold")
        ax.set_xticks(range(len(order)), [f"{indices[i]:.3g}" for i in order], rotation=60, fontsize=7)
        ax.set_yticks(range(len(shown)), [plain(columns[j]) for j in shown], fontsize=7)
        ax.set_xlabel("condition index")
        fig.colorbar(image, ax=ax, label="proportion", shrink=0.8)

    rows = [[columns[j], *[f"{props[i][j]:.3f}" + (" ▲" if props[i][j] > high else "") for i in order]]
            for j in involved]
    caption = (f"Belsley condition indices above {num(cond.get('condition_index_threshold'))} (columns of the"
               f" heatmap) and the share of each column's coefficient variance they carry; proportions above"
               f" {high:g} are printed in the cell (▲ in the table): columns sharing one index are nearly collinear.")
    notes = [f"{len(involved) - len(shown)} more columns in the table"] if len(involved) > len(shown) else []
    return Chart("chart-belsley", "Condition indices and variance-decomposition proportions", caption,
                 _draw(6.4, 1.6 + 0.18 * len(shown), "Heatmap of variance-decomposition proportions", paint),
                 ["column", *[f"η = {indices[i]:.4g}" for i in order]], rows, notes)


def one_hot(cond: dict[str, Any]) -> Chart | None:
    groups = cond.get("one_hot_groups") or []
    if not groups:
        return None
    bars = [("as given (with the one-hot groups)", cond.get("cond")),
            ("one level per group dropped", cond.get("cond_reduced")),
            ("… and columns scaled to unit norm", cond.get("cond_reduced_equilibrated"))]
    finite = [v for v in (positive(value) for _n, value in bars) if v is not None]
    top = max(finite) * 100 if finite else 1e20

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        for k, (_name, value) in enumerate(bars):
            v = positive(value)
            drawn = v if v is not None else top
            ax.barh(k, drawn, color=PALETTE[k], hatch="x" if v is None else HATCHES[k], edgecolor=INK)
            ax.text(drawn, k, f"  {'∞ (singular)' if v is None else num(v)}", va="center", fontsize=8)
        ax.set_yticks(range(len(bars)), [n for n, _v in bars])
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(1, top * 1e3)
        ax.set_xlabel("condition number (2-norm)")
        ax.grid(True, axis="x")

    dropped = (cond.get("dropped") or {}).get("one_hot") or []
    rows = [[str(g + 1), str(len(members)), ", ".join(members[:12]) + (" …" if len(members) > 12 else ""),
             dropped[g] if g < len(dropped) else "—"] for g, members in enumerate(groups)]
    caption = (f"{len(groups)} one-hot groups sum to 1 on every row, so with the intercept the design is singular"
               f" (condition number ∞). Dropping one level per group (the most frequent) leaves the condition numbers"
               f" shown.")
    return Chart("chart-onehot", "One-hot groups and the dummy-variable trap", caption,
                 _draw(6.4, 1.8, "Condition number before and after dropping one level per one-hot group", paint),
                 ["group", "levels", "columns", "level dropped"], rows)


# ----------------------------------------------------------------------------------------------
# Columns and rows


def column_scales(columns: list[dict[str, Any]]) -> Chart | None:
    stds = sorted(((c["name"], positive(c.get("std"))) for c in columns if positive(c.get("std"))),
                  key=lambda nv: (-(nv[1] or 0.0), nv[0]))
    if len(stds) < 2:
        return None

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        xs = list(range(1, len(stds) + 1))
        ax.plot(xs, [v for _n, v in stds], marker="o", markersize=2.5, linewidth=0.8, color=PALETTE[5])
        n = len(stds)
        ends = range(n) if n <= 2 * MAX_LABELLED_COLUMNS else [*range(MAX_LABELLED_COLUMNS),
                                                               *range(n - MAX_LABELLED_COLUMNS, n)]
        for k in ends:  # the extreme columns named, staggered so that neighbours do not overprint
            name, v = stds[k]
            ax.annotate(plain(name[:24]), (k + 1, v), textcoords="offset points", fontsize=6,
                        xytext=(6 + 34 * (k % 3), 6 if k < n / 2 else -9))
        ax.set_yscale("log")
        ax.set_xlabel("columns, largest standard deviation first")
        ax.set_ylabel("standard deviation")
        ax.grid(True, which="major")

    ratio = stds[0][1] / stds[-1][1]  # type: ignore[operator]
    rows = [[n, num(v)] for n, v in stds]
    caption = (f"Standard deviations of the {len(stds)} non-constant columns on a log axis: they span a factor of"
               f" {num(ratio)} ({num(math.log10(ratio))} orders of magnitude).")
    return Chart("chart-scales", "Column scales", caption,
                 _draw(6.4, 3.0, "Column standard deviations, sorted, on a log axis", paint), ["column", "std"], rows)


def duplicate_sizes(dup: dict[str, Any]) -> Chart | None:
    sizes = [(int(s), int(c)) for s, c in dup.get("group_sizes") or []]
    if not sizes:
        return None

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        ax.bar([s for s, _c in sizes], [c for _s, c in sizes], color=PALETTE[1], edgecolor=INK, hatch="/")
        for s, c in sizes:
            ax.text(s, c, f"{c}", ha="center", va="bottom", fontsize=7)
        ax.set_xlabel("rows in the group (identical features)")
        ax.set_ylabel("duplicate groups")
        ax.set_xticks([s for s, _c in sizes][:40])
        ax.grid(True, axis="y")

    rows = [[str(s), num(c), num(s * c)] for s, c in sizes]
    caption = (f"{num(dup.get('duplicate_groups'))} groups of rows with identical features (largest"
               f" {num(dup.get('largest_group'))} rows) among {num(dup.get('rows'))} rows;"
               f" {num(dup.get('conflicting_groups'))} groups carry different labels.")
    return Chart("chart-duplicates", "Duplicate group sizes", caption,
                 _draw(6.4, 2.6, "Histogram of duplicate group sizes", paint), ["group size", "groups", "rows"], rows)


def drift(data: dict[str, Any]) -> Chart | None:
    tests = sorted(data.get("tests") or [], key=lambda t: (-t["ks"], t["column"]))
    if not tests:
        return None
    shown = tests[:MAX_HEATMAP_COLUMNS]

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        for k, t in enumerate(shown):
            ax.barh(k, t["ks"], color=PALETTE[3] if t["drifted"] else PALETTE[7],
                    hatch="x" if t["drifted"] else "", edgecolor=INK)
            ax.text(t["ks"], k, "  drifted" if t["drifted"] else "", va="center", fontsize=6)
        ax.axvline(float(data.get("ks_threshold") or 0), color=PALETTE[0], linestyle=":",
                   label=f"KS threshold {num(data.get('ks_threshold'))}")
        ax.set_yticks(range(len(shown)), [plain(t["column"][:24]) for t in shown], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.15)
        ax.set_xlabel("Kolmogorov-Smirnov statistic (train vs test)")
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(True, axis="x")

    rows = [[t["column"], f"{t['ks']:.4f}", num(t["p_adjusted"]), num(t["smd"]), "drifted" if t["drifted"] else "—"]
            for t in tests]
    caption = (f"Per-column two-sample KS tests against {data.get('test_dataset')}; verdicts after"
               f" Benjamini-Hochberg correction at α = {num(data.get('alpha'))} (drifted bars hatched and labelled).")
    return Chart("chart-drift", "Train/test drift", caption,
                 _draw(6.4, 1.2 + 0.17 * len(shown), "KS statistic per column, drifted columns marked", paint),
                 ["column", "KS", "p (BH)", "standardised mean difference", "verdict"], rows)


# ----------------------------------------------------------------------------------------------
# Confirmation experiments


def _solver_arms(figures: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    arms = [(str(k), v) for k, v in (figures.get("arms") or {}).items() if isinstance(v, dict)]
    mitigation = figures.get("mitigation") or {}
    arms += [(f"mitigation/{k}", v) for k, v in mitigation.items() if isinstance(v, dict)]
    return arms


def conditioning_arms(chart_id: str, figures: dict[str, Any]) -> Chart | None:
    arms = _solver_arms(figures)
    if not arms:
        return None

    def paint(fig: Any) -> None:
        left, right = fig.subplots(1, 2, sharey=True, width_ratios=(3, 2))
        for k, (name, arm) in enumerate(arms):
            mitigation = name.startswith("mitigation/")
            w = positive(arm.get("max_abs_w"))
            style = {"color": PALETTE[2] if mitigation else PALETTE[3 if arm.get("fails") else 1],
                     "hatch": "." if mitigation else ("x" if arm.get("fails") else ""), "edgecolor": INK}
            left.barh(k, w or 0, **style)
            left.text(w or 1, k, f" {num(arm.get('max_abs_w'))}", va="center", fontsize=6)
            over = arm.get("exp_overflow_rows")
            right.barh(k, over or 0, **style)
            right.text(over or 0, k, f" {num(over)}", va="center", fontsize=6)
        left.set_yticks(range(len(arms)), [plain(n) + ("  ✗" if a.get("fails") else "") for n, a in arms], fontsize=7)
        left.invert_yaxis()
        left.set_xscale("log")
        left.set_xlabel("max |w| (log)")
        right.set_xlabel("rows where exp(X @ w) overflows")
        for ax in (left, right):
            ax.grid(True, axis="x")

    rows = [[name, str(arm.get("status", "")), num(arm.get("max_abs_w")), num(arm.get("relative_change")),
             num(arm.get("exp_overflow_rows")), "; ".join(arm.get("fails") or []) or "—"] for name, arm in arms]
    recipe = (figures.get("mitigation") or {}).get("recipe")
    caption = ("Each solver × dtype fitted on the table's sample (✗ and cross-hatched: the arm fails its thresholds);"
               " the dotted bars are the mitigation" + (f": {recipe}." if recipe else "."))
    return Chart(chart_id, "Solver arms against the mitigation", caption,
                 _draw(6.8, 1.0 + 0.2 * len(arms), "max |w| and exp overflow per solver arm and the mitigation", paint),
                 ["arm", "status", "max |w|", "relative change of w", "exp overflow rows", "fails"], rows)


def grouped_scores(chart_id: str, figures: dict[str, Any]) -> Chart | None:
    models = {k: v for k, v in (figures.get("models") or {}).items() if isinstance(v, dict)}
    if not models:
        return None
    metric = str(figures.get("metric", "score"))

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        names = list(models)
        arms = (("random_kfold", "random K-fold"), ("grouped_kfold", "grouped by duplicate"))
        for k, (key, label) in enumerate(arms):
            xs = [i + (k - 0.5) * 0.38 for i in range(len(names))]
            values = [float(models[n].get(key) or 0.0) for n in names]
            ax.bar(xs, values, width=0.36, color=PALETTE[1 + 4 * k], hatch=HATCHES[k + 1], edgecolor=INK,
                   label=label)
            for x, v in zip(xs, values, strict=True):
                ax.text(x, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(names)), [plain(n) for n in names], fontsize=7)
        ax.set_ylabel(metric)
        fig.legend(fontsize=7, loc="outside upper center", ncols=2)
        ax.grid(True, axis="y")

    rows = [[n, num(m.get("random_kfold")), num(m.get("grouped_kfold")), num(m.get("optimism"))]
            for n, m in models.items()]
    caption = (f"Cross-validated {metric} with random folds (duplicates on both sides) and with folds grouped by"
               f" duplicate: the difference is the optimism duplicates cause"
               f" (threshold {num(figures.get('optimism_threshold'))}).")
    return Chart(chart_id, "Random vs grouped folds", caption,
                 _draw(6.0, 2.6, "Scores with random and grouped folds per model", paint),
                 ["model", f"random K-fold {metric}", f"grouped K-fold {metric}", "optimism"], rows)


def raw_vs_standardised(chart_id: str, figures: dict[str, Any]) -> Chart | None:
    raw, std = figures.get("raw"), figures.get("standardised")
    if not isinstance(raw, dict) or not isinstance(std, dict):
        return None
    keys = [k for k, v in raw.items() if isinstance(v, int | float) and not isinstance(v, bool)
            and isinstance(std.get(k), int | float)]
    if not keys:
        return None

    def paint(fig: Any) -> None:
        axes = fig.subplots(1, len(keys), squeeze=False)[0]
        for ax, key in zip(axes, keys, strict=True):
            values = [float(raw[key]), float(std[key])]
            ax.bar([0, 1], values, color=[PALETTE[3], PALETTE[2]], hatch=["x", "."], edgecolor=INK)
            for x, v in enumerate(values):
                ax.text(x, v, num(v), ha="center", va="bottom", fontsize=7)
            ax.set_xticks([0, 1], ["raw", "standardised"], fontsize=7)
            ax.set_title(plain(key.replace("_", " ")), fontsize=8)

    rows = [[k, num(raw[k]), num(std[k])] for k in keys]
    return Chart(chart_id, "Raw vs standardised features", "The same estimator fitted on raw and on standardised"
                 " features.", _draw(min(2.2 * len(keys) + 1, 7.0), 2.4, "Raw against standardised fits", paint),
                 ["figure", "raw", "standardised"], rows)


CONFIRMATION_CHARTS: dict[str, Callable[[str, dict[str, Any]], Chart | None]] = {
    "ols-conditioning": conditioning_arms,
    "duplicate-optimism": grouped_scores,
    "scaling-solver": raw_vs_standardised,
}


# ----------------------------------------------------------------------------------------------
# The stability lab


def _facet_key(run: dict[str, Any], facets: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{f}={run.get(f)}" for f in facets)


def lab_curves(runs: list[dict[str, Any]], facets: Sequence[str], series: Sequence[str]) -> Chart | None:
    """Loss per epoch, one panel per value of `facets` (e.g. dtype × lr), one line per remaining setting; a
    run that did not converge is marked where its status was decided, by a marker per status."""
    curves = [r for r in runs if isinstance((r.get("history") or {}).get("loss"), list)]
    if not curves:
        return None
    panels: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in curves:
        panels.setdefault(_facet_key(r, facets), []).append(r)
    statuses = sorted({str(r.get("status")) for r in curves})
    status_marker = {s: MARKERS[(i + 1) % len(MARKERS)] for i, s in enumerate(statuses)}
    cols = min(3, len(panels))
    nrows = math.ceil(len(panels) / cols)

    def label(r: dict[str, Any]) -> str:
        return " ".join(f"{k}={r.get(k)}" for k in series) or "run"

    def paint(fig: Any) -> None:
        axes = fig.subplots(nrows, cols, squeeze=False)
        for ax, (key, members) in zip(axes.flat, panels.items(), strict=False):  # in the grid's order
            for i, r in enumerate(members):
                ys = [positive(v) for v in r["history"]["loss"]]
                xs = list(range(1, len(ys) + 1))
                ax.plot(xs, [math.nan if v is None else v for v in ys], linewidth=1,
                        linestyle=("-", "--", ":", "-.")[i % 4], color=PALETTE[i % len(PALETTE)],
                        label=plain(f"{label(r)}: {r.get('status')}"))
                if r.get("status") != "converged":
                    finite = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
                    epoch = int(r.get("epoch") or 0)
                    at = [p for p in finite if p[0] <= max(epoch, 1)] or finite
                    if at:
                        ax.plot(*at[-1], marker=status_marker[str(r.get("status"))], markersize=7,
                                color=PALETTE[i % len(PALETTE)], markeredgecolor=INK)
                        ax.annotate(plain(r.get("status")), at[-1], textcoords="offset points", xytext=(3, 3),
                                    fontsize=6)
            ax.set_yscale("log")
            ax.set_title(plain(" · ".join(key)) or "all runs", fontsize=8)
            ax.set_xlabel("epoch", fontsize=7)
            ax.set_ylabel("loss", fontsize=7)
            ax.grid(True, which="major")
            ax.legend(fontsize=5, loc="best")
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)

    rows = [[*[str(r.get(f)) for f in (*facets, *series)], str(r.get("status")), num(r.get("epoch")),
             num(r.get("loss")), str(r.get("reason", ""))] for r in curves]
    caption = (f"Training loss per epoch (log scale), one panel per {' × '.join(facets) or 'sweep'}; a run that"
               f" did not converge is marked, with its status, at the epoch the status was decided.")
    return Chart("chart-lab", "Loss curves", caption,
                 _draw(3.3 * cols, 2.6 * nrows + 0.3, "Loss curves per run, faceted", paint),
                 [*facets, *series, "status", "epoch", "loss", "reason"], rows)


def exp_overflow(chart_id: str, figures: dict[str, Any]) -> Chart | None:
    """exp of the table's columns (per dtype) or of the solvers' predictions (per arm): naive against clipped."""
    entries: list[tuple[str, Any, Any]] = []
    for arm, f in (figures.get("arms") or {}).items():
        if isinstance(f, dict) and "exp_inf" in f:
            entries.append((str(arm), f.get("exp_inf"), f.get("clipped_exp_inf")))
    for column, f in (figures.get("columns") or {}).items():
        for dtype, g in (f.items() if isinstance(f, dict) else []):
            if isinstance(g, dict) and "exp_inf" in g:
                entries.append((f"{column} / {dtype}", g.get("exp_inf"), g.get("clipped_exp_inf")))
    if not entries:
        return None

    def paint(fig: Any) -> None:
        ax = fig.add_subplot()
        for k, (label, idx) in enumerate((("exp (naive)", 1), ("exp of clipped values", 2))):
            ys = [i + (k - 0.5) * 0.38 for i in range(len(entries))]
            values = [float(e[idx] or 0) for e in entries]
            ax.barh(ys, values, height=0.36, color=PALETTE[3 if k == 0 else 2], hatch="x" if k == 0 else ".",
                    edgecolor=INK, label=label)
            for y, v in zip(ys, values, strict=True):
                ax.text(v, y, f" {v:.0f}", va="center", fontsize=6)
        ax.set_yticks(range(len(entries)), [plain(e[0]) for e in entries], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(f"values that overflow to inf (of {num(figures.get('rows'))} rows)")
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(True, axis="x")

    rows = [[label, num(naive), num(clipped)] for label, naive, clipped in entries]
    return Chart(chart_id, "exp overflow: naive against clipped", "Values of exp that overflow to inf, computed"
                 " naively and after clipping to the dtype's limit.",
                 _draw(6.4, 1.0 + 0.3 * len(entries), "Overflow counts of exp, naive and clipped", paint),
                 ["input", "exp → inf", "clipped exp → inf"], rows)


CONFIRMATION_CHARTS["exp-of-values"] = exp_overflow
CONFIRMATION_CHARTS["exp-of-predictions"] = exp_overflow
