"""Assemble the page's sections from a `Report` (or the lab's JSON document) and render the template.

Sections appear only when they have content; charts come from `charts`, each with its table.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from dataclasses import asdict, dataclass, field, is_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlstablint import __version__
from mlstablint.findings import SEVERITIES, Finding, Report
from mlstablint.report.html import charts
from mlstablint.report.html.charts import Chart, num
from mlstablint.report.html.svg import SCHEME, scope_ids

CONTEXT_LINES = 2  # source lines shown around a code finding
MAX_SOURCE_BYTES = 4 << 20
COLUMN_RULES = ("MSL606", "MSL607", "MSL608", "MSL609", "MSL610", "MSL611")
CONDITIONING_RULES = ("MSL603", "MSL604", "MSL605")
ROW_RULES = ("MSL601", "MSL602", "MSL612", "MSL613")


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)  # {"id", "title", "headers", "rows"}
    blocks: list[dict[str, Any]] = field(default_factory=list)  # confirmation entries, catalogue pages


@lru_cache(maxsize=256)
def _source_lines(path: Path) -> tuple[str, ...]:
    """A Python file's lines, read once per page however many findings it has (empty when unreadable)."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return ()
        return tuple(path.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return ()


def _source_excerpt(f: Finding) -> list[dict[str, Any]]:
    """The flagged lines and a few around them, the flagged span marked (Python files only)."""
    path = Path(f.path)
    if path.suffix != ".py" or f.cell is not None:
        return []
    lines = _source_lines(path)
    first, last = max(1, f.line - CONTEXT_LINES), min(len(lines), f.end_line + CONTEXT_LINES)
    out = []
    for n in range(first, last + 1):
        text = lines[n - 1]
        flagged = f.line <= n <= f.end_line
        start = f.column - 1 if n == f.line else 0
        end = f.end_column - 1 if n == f.end_line else len(text)
        if flagged and 0 <= start <= end <= len(text):
            out.append({"n": n, "before": text[:start], "mark": text[start:end], "after": text[end:], "flagged": True})
        else:
            out.append({"n": n, "before": text, "mark": "", "after": "", "flagged": flagged})
    return out


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested figures as (dotted key, value) rows for a table."""
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for k, v in value.items():
            rows.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return rows
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = []
        for i, v in enumerate(value):
            rows.extend(_flatten(v, f"{prefix}[{i + 1}]"))
        return rows
    if isinstance(value, list):
        return [(prefix, ", ".join(num(v) for v in value))]
    return [(prefix, num(value))]


def _finding(f: Finding, index: int, confirmation_ids: dict[int, str]) -> dict[str, Any]:
    where = f"{f.path}:cell {f.cell}:line {f.cell_line}" if f.cell is not None else f"{f.path}:{f.line}:{f.column}"
    return {
        "id": f"finding-{index + 1}", "rule": f.rule, "severity": f.severity, "message": f.message, "where": where,
        "source": _source_excerpt(f), "evidence": _flatten(f.evidence),
        "confirmation": f.confirmation, "confirmation_id": confirmation_ids.get(index),
        "fix": _fix_text(f),
    }


def _fix_text(f: Finding) -> str | None:
    """The finding's fix for people: its safety and each edit as `line:column: replacement`."""
    fix = f.fix
    if fix is None:
        return None
    lines = []
    for e in fix.edits:
        where = f"cell {e.cell}, line {e.line}:{e.column}" if e.cell is not None else f"line {e.line}:{e.column}"
        action = "insert" if (e.line, e.column) == (e.end_line, e.end_column) else "replace by"
        lines.append(f"{where}: {action} {e.text.rstrip()}")
    edits = "\n".join(lines)
    flag = "--fix" if fix.safety == "safe" else "--fix --unsafe-fixes"
    return f"{fix.safety} fix (`mlstablint check {flag}` applies it):\n{edits}"


def _confirmations(findings: list[Finding]) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """One entry per distinct experiment run, with its chart: findings confirmed by the same run (the same
    figures but for the `code_*` keys that name the finding's own solver) share it, each with its verdict."""
    entries: dict[str, dict[str, Any]] = {}
    ids: dict[int, str] = {}
    for i, f in enumerate(findings):
        c = f.confirmation
        if c is None:
            continue
        shared = {k: v for k, v in c.figures.items() if not k.startswith("code_")}
        key = json.dumps([c.experiment, shared], sort_keys=True, default=str)
        if key not in entries:
            entry_id = f"confirmation-{len(entries) + 1}"
            make = charts.CONFIRMATION_CHARTS.get(c.experiment)
            chart = make(f"chart-{entry_id}", shared) if make is not None and c.status != "skipped" else None
            entries[key] = {"id": entry_id, "experiment": c.experiment, "chart": chart, "figures": _flatten(shared),
                            "findings": []}
        entries[key]["findings"].append({"rule": f.rule, "id": f"finding-{i + 1}", "where": f"{f.path}:{f.line}",
                                         "status": c.status, "summary": c.summary})
        ids[i] = entries[key]["id"]
    return list(entries.values()), ids


def _column_tables(profile: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    cols = profile.get("columns") or []
    tables = []
    nonfinite = [[c["name"], num(c["null"]), num(c["nan"]), num(c["posinf"]), num(c["neginf"])]
                 for c in cols if c["null"] or c["nan"] or c["posinf"] or c["neginf"]]
    if nonfinite:
        tables.append({"id": f"table-nonfinite{suffix}", "title": "Missing and non-finite values",
                       "headers": ["column", "null", "NaN", "+inf", "−inf"], "rows": nonfinite})
    constant = [[c["name"], c["kind"], num(c["min"])] for c in cols if c["kind"] in ("zero", "constant", "all_missing")]
    if constant:
        tables.append({"id": f"table-constant{suffix}", "title": "Constant columns",
                       "headers": ["column", "kind", "value"], "rows": constant})
    overflow = [[c["name"], num(c["above_float32"]), num(c["above_float64"]), num(c["max"])]
                for c in cols if c["above_float32"]]
    if overflow:
        tables.append({"id": f"table-overflow{suffix}", "title": "Columns past exp's limits (88.72 in float32,"
                       " 709.78 in float64)", "headers": ["column", "values > 88.72", "values > 709.78", "max"],
                       "rows": overflow})
    rare_k = profile.get("rare_k")
    rare = [[c["name"], num(c["ones"])] for c in cols
            if c["kind"] == "binary" and rare_k is not None and 0 < (c["ones"] or 0) <= rare_k]
    if rare:
        tables.append({"id": f"table-rare{suffix}", "title": f"Rare indicators (1 on at most {rare_k} rows)",
                       "headers": ["column", "rows with 1"], "rows": sorted(rare, key=lambda r: r[0])})
    return tables


FLOOR_KEYS = ("best_achievable_accuracy", "label_noise_floor", "mse_floor", "max_r2", "target_variance")


def _conflicts_table(dup: dict[str, Any], findings: list[Finding], suffix: str) -> dict[str, Any]:
    """Duplicate groups whose labels disagree, with the noise floor MSL602 reported for them."""
    rows = [["groups with different labels", num(dup["conflicting_groups"])],
            ["rows in those groups", num(dup["conflicting_rows"])]]
    for f in findings:
        if f.rule == "MSL602":
            rows.extend([k.replace("_", " "), num(f.evidence[k])] for k in FLOOR_KEYS if k in f.evidence)
            break
    return {"id": f"table-conflicts{suffix}", "title": "Conflicting labels and the noise floor",
            "headers": ["figure", "value"], "rows": rows}


def _dataset_identity(report: Report) -> list[list[tuple[str, str]]]:
    """The dataset identity the report may carry (source, fingerprint, rows, columns, version), whatever its
    shape: a dataclass, a mapping, or a list of either; looked up by name so reports without one still render."""
    found = getattr(report, "dataset", None)
    if found is None:
        found = getattr(report, "datasets", None)
    if found is None:
        return []
    items = found if isinstance(found, list | tuple) else [found]
    out = []
    for item in items:
        if is_dataclass(item) and not isinstance(item, type):
            item = asdict(item)
        elif hasattr(item, "to_json"):
            item = item.to_json()
        if isinstance(item, dict):
            out.append([(str(k), num(v) if not isinstance(v, dict | list) else json.dumps(v, default=str))
                        for k, v in item.items() if v is not None])
    return out


def _catalogue(rules: list[str]) -> list[dict[str, Any]]:
    from markdown_it import MarkdownIt

    from mlstablint.catalog import load_catalog

    md = MarkdownIt("commonmark", {"html": False})
    pages = []
    catalog = load_catalog()
    for rule in rules:
        doc = catalog.get(rule)
        if doc is None:
            continue
        # Links and bare URLs are printed as text without their scheme: the page never makes a request.
        body = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", doc.body)
        body = SCHEME.sub("", body)
        html = md.render(body)
        html = re.sub(r"<h2>", "<h4>", html).replace("</h2>", "</h4>")
        html = re.sub(r"<h1>.*?</h1>", "", html)
        pages.append({"id": rule, "name": doc.name, "severity": doc.severity, "summary": doc.summary,
                      "fix_safety": doc.fix_safety, "html": html})
    return pages


def build_sections(report: Report) -> tuple[list[Section], dict[str, Any]]:
    _source_lines.cache_clear()  # the files as they are now, not as an earlier page in this process saw them
    findings = report.findings
    confirmations, confirmation_ids = _confirmations(findings)
    items = [_finding(f, i, confirmation_ids) for i, f in enumerate(findings)]
    by_rule = Counter(f.rule for f in findings)
    severities = Counter(f.severity for f in findings)
    statuses = Counter(f.confirmation.status for f in findings if f.confirmation is not None)
    summary = {
        "severities": [(s, severities[s]) for s in SEVERITIES],
        "rules": sorted(by_rule.items()),
        "confirmations": [(s, statuses[s]) for s in ("confirmed", "not-confirmed", "skipped")
                          if statuses and (statuses[s] or s != "skipped")],
        "unconfirmed": sum(1 for f in findings if f.confirmation is None),
        "tables": [(p.get("dataset"), num(p.get("rows")), num(p.get("design_columns")), p.get("target"))
                   for p in report.profiles],
        "datasets": _dataset_identity(report),
        "files_checked": report.files_checked, "errors": report.errors, "notes": report.notes,
    }
    sections = [Section("summary", "Summary")]
    code = [it for it in items if not it["rule"].startswith("MSL6")]
    if code:
        sections.append(Section("code", "Code findings", findings=code))
    multi = len(report.profiles) > 1
    conditioning = Section("conditioning", "Conditioning",
                           findings=[it for it in items if it["rule"] in CONDITIONING_RULES])
    columns = Section("columns", "Columns", findings=[it for it in items if it["rule"] in COLUMN_RULES])
    rows = Section("rows", "Rows", findings=[it for it in items if it["rule"] in ROW_RULES])
    for k, profile in enumerate(report.profiles):
        suffix = f"-{k + 1}"
        label = f" — {profile.get('dataset')}" if multi else ""

        def add(section: Section, chart: Chart | None, suffix: str = suffix, label: str = label) -> None:
            if chart is not None:
                chart.id += suffix
                chart.title += label
                section.charts.append(chart)

        cond = profile.get("conditioning")
        if cond:
            add(conditioning, charts.spectrum(cond))
            add(conditioning, charts.belsley(cond))
            add(conditioning, charts.one_hot(cond))
        add(columns, charts.column_scales(profile.get("columns") or []))
        columns.tables.extend(_column_tables(profile, suffix))
        dup = profile.get("duplicates")
        if dup:
            add(rows, charts.duplicate_sizes(dup))
            if dup.get("conflicting_groups"):
                rows.tables.append(_conflicts_table(dup, findings, suffix))
        if profile.get("drift"):
            add(rows, charts.drift(profile["drift"]))
        overlap = profile.get("overlap")
        if overlap and overlap.get("overlapping_rows"):
            rows.tables.append({"id": f"table-overlap{suffix}", "title": "Train/test overlap",
                                "headers": ["test table", "test rows", "rows also in training", "distinct"],
                                "rows": [[str(overlap["test_dataset"]), num(overlap["test_rows"]),
                                          num(overlap["overlapping_rows"]), num(overlap["distinct_overlapping"])]]})
    for section in (conditioning, columns, rows):
        if section.findings or section.charts or section.tables:
            sections.append(section)
    if confirmations:
        sections.append(Section("confirmation", "Confirmation", blocks=confirmations))
    rules = sorted(by_rule)
    if rules:
        sections.append(Section("catalogue", "Rule catalogue", blocks=_catalogue(rules)))
    return sections, summary


def render_page(title: str, sections: list[Section], summary: dict[str, Any], command: list[str] | None,
                lab: dict[str, Any] | None = None) -> str:
    from importlib.resources import files

    import jinja2

    templates = files("mlstablint.report.html") / "templates"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    template = env.from_string(templates.joinpath("report.html.j2").read_text(encoding="utf-8"))
    css = templates.joinpath("report.css").read_text(encoding="utf-8")
    for section in sections:  # ids unique across the page: each chart's SVG ids scoped by the chart's id
        for chart in [*section.charts, *(b["chart"] for b in section.blocks if b.get("chart"))]:
            chart.svg = scope_ids(chart.svg, chart.id)
    shown = shlex.join(command) if command else None
    return template.render(title=title, sections=sections, summary=summary, css=css, version=__version__,
                           command=shown, lab=lab).lstrip()
