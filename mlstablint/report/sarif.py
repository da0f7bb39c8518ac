"""SARIF 2.1.0 output for GitHub code scanning (see DESIGN.md, "SARIF", and docs/github.md).

The log is built with the `sarif-om` object model and serialised here: sarif-om has no
serialiser, and `jschema_to_python.to_json` drops every field equal to its schema default,
`level` included, so a warning under a rule whose default level is `error` would be uploaded
as an error. `_to_json` drops only absent fields and the defaults nobody asked for, and always
writes `level`.

One run; every result has a rule, an explicit level, a full-sentence message, exactly one
location relative to the repository root (`%SRCROOT%`) with a 1-based region, and a
partial fingerprint. Tool problems go to `invocations[0].toolExecutionNotifications`.
The output is byte-deterministic: no timestamps, no absolute paths, a stable order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlstablint import __version__
from mlstablint.catalog import RuleDoc, _plain, load_catalog
from mlstablint.findings import Finding, Report, ToolError, data_fingerprint
from mlstablint.report.paths import Locator

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "mlstablint"
INFORMATION_URI = "https://github.com/mlstablint/mlstablint"  # [project.urls] Homepage
DEFAULT_CATEGORY = "mlstablint/"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "mlstablintFingerprint/v1"
# libcst columns count Unicode code points, 1-based here (Finding columns are 1-based).
COLUMN_KIND = "unicodeCodePoints"
MAX_DESCRIPTION = 1024  # GitHub truncates longer rule descriptions
# SARIF result levels and GitHub's `problem.severity` (which has no "note").
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}
# Fields written even when they equal the schema default (see the module docstring).
_ALWAYS_WRITTEN = frozenset({"level"})
_HELP_SECTIONS = ("What it finds", "Why it breaks", "Fix safety", "How it is confirmed", "References")


def category_id(category: str | None) -> str:
    """`automationDetails.id`: a category ends with '/' (no run id after it)."""
    category = (category or DEFAULT_CATEGORY).strip()
    return category if category.endswith("/") else category + "/"


def _clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def _sentence(text: str) -> str:
    text = " ".join(text.split()) or "mlstablint reported a problem here."
    return text if text.endswith((".", "!", "?")) else text + "."


def precision(doc_id: str, severity: str, confirmed_by: str) -> str:
    """GitHub's `precision`: how often a result of the rule is a true positive.

    Code rules (MSL1xx-MSL5xx) fire only on names resolved through imports and on values
    followed through assignments (precision beats recall): "high". Data rules (MSL6xx) measure
    the table: "high" when a confirmation experiment can show the failure on the data, or when
    the rule's severity is `error` (an exact defect: non-finite values, a rank-deficient design);
    "medium" for a `warning` (a measured hazard whose harm depends on the model fitted);
    "low" for a `note`.
    """
    if not doc_id.startswith("MSL6") or confirmed_by:
        return "high"
    return {"error": "high", "warning": "medium"}.get(severity, "low")


def _rule_properties(doc_id: str, severity: str, tags: tuple[str, ...], confirmed_by: str) -> dict[str, Any]:
    return {
        "tags": list(tags)[:20],
        "precision": precision(doc_id, severity, confirmed_by),
        "problem.severity": PROBLEM_SEVERITY[severity],
    }


def _descriptor(doc: RuleDoc) -> Any:
    from sarif_om import MultiformatMessageString, ReportingConfiguration, ReportingDescriptor

    help_text = "\n\n".join(
        f"{name}: {plain}" for name in _HELP_SECTIONS if (plain := _plain(doc.sections.get(name, "")))
    )
    return ReportingDescriptor(
        id=doc.id,
        name=doc.name,
        short_description=MultiformatMessageString(text=_clip(_plain(doc.summary)), markdown=_clip(doc.summary)),
        full_description=MultiformatMessageString(text=_clip(doc.full_description)),
        help=MultiformatMessageString(text=help_text or _plain(doc.summary), markdown=doc.markdown),
        default_configuration=ReportingConfiguration(level=doc.severity),
        properties=_rule_properties(doc.id, doc.severity, doc.tags, doc.confirmed_by),
    )


def _unknown_descriptor(rule_id: str, severity: str) -> Any:
    """A minimal descriptor for a rule id the catalogue does not know (yet)."""
    from sarif_om import MultiformatMessageString, ReportingConfiguration, ReportingDescriptor

    text = f"mlstablint rule {rule_id} (no catalogue page in this version)."
    return ReportingDescriptor(
        id=rule_id,
        name=rule_id,
        short_description=MultiformatMessageString(text=text),
        full_description=MultiformatMessageString(text=text),
        help=MultiformatMessageString(text=text),
        default_configuration=ReportingConfiguration(level=severity),
        properties=_rule_properties(rule_id, severity, (), ""),
    )


def _plain_json(value: Any) -> Any:
    """Evidence as plain JSON: non-finite floats as strings ("inf", "-inf", "nan"), numpy scalars
    and arrays as Python values, tuples as lists, keys as strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays, without importing numpy
    if callable(tolist):
        return _plain_json(tolist())
    return str(value)


def finding_fingerprint(f: Finding) -> str:
    """The finding's own fingerprint (code engine, data auditor), else one from the data it names."""
    if f.fingerprint:
        return f.fingerprint
    columns = f.evidence.get("columns")
    columns = [str(c) for c in columns] if isinstance(columns, (list, tuple)) else []
    return data_fingerprint(f.rule, str(f.evidence.get("dataset") or f.path), columns)


def _region(f: Finding) -> Any:
    from sarif_om import Region

    start_line = max(f.line, 1)
    start_column = max(f.column, 1)
    end_line = max(f.end_line, start_line)
    end_column = max(f.end_column, 1)
    if end_line == start_line:
        end_column = max(end_column, start_column)
    return Region(start_line=start_line, start_column=start_column, end_line=end_line, end_column=end_column)


def _location(uri: str, region: Any = None) -> Any:
    from sarif_om import ArtifactLocation, Location, PhysicalLocation

    return Location(physical_location=PhysicalLocation(
        artifact_location=ArtifactLocation(uri=uri, uri_base_id=SRCROOT), region=region))


def _fixes(f: Finding, uri: str) -> list[Any] | None:
    """The finding's fix as one SARIF `fix`: replacements of regions of the file. A notebook's are regions
    of the .ipynb text itself, their text JSON-escaped as it goes into the file (`FixInfo.file_edits`)."""
    edits = f.fix.edits if f.fix is not None and f.cell is None else f.fix.file_edits if f.fix is not None else ()
    if f.fix is None or not edits:
        return None
    from sarif_om import ArtifactChange, ArtifactContent, ArtifactLocation, Fix, Message, Region, Replacement

    replacements = [
        Replacement(deleted_region=Region(start_line=e.line, start_column=e.column, end_line=e.end_line,
                                          end_column=e.end_column),
                    inserted_content=ArtifactContent(text=e.text))
        for e in edits
    ]
    description = (f"Apply the {f.fix.safety} fix of {f.rule}"
                   + (": it can change results (see the rule's Fix safety section)." if f.fix.safety == "unsafe"
                      else "."))
    return [Fix(description=Message(text=description), artifact_changes=[ArtifactChange(
        artifact_location=ArtifactLocation(uri=uri, uri_base_id=SRCROOT), replacements=replacements)])]


def _result(f: Finding, uri: str, rule_index: int) -> Any:
    from sarif_om import Message, Result

    properties: dict[str, Any] = {"evidence": _plain_json(f.evidence)}
    if f.confirmation is not None:
        properties["confirmation"] = _plain_json(f.confirmation.to_json())
    if f.cell is not None:
        properties["cell"] = f.cell
        properties["cellLine"] = f.cell_line
    return Result(
        rule_id=f.rule,
        rule_index=rule_index,
        level=f.severity,
        message=Message(text=_sentence(
            f"Cell {f.cell}, line {f.cell_line}: {f.message}" if f.cell is not None else f.message)),
        locations=[_location(uri, _region(f))],
        partial_fingerprints={FINGERPRINT_KEY: finding_fingerprint(f)},
        properties=properties,
        fixes=_fixes(f, uri),
    )


def _notification(level: str, text: str, uri: str | None = None) -> Any:
    from sarif_om import Message, Notification

    return Notification(
        level=level,
        message=Message(text=_sentence(text)),
        locations=[_location(uri)] if uri is not None else None,
    )


def _error_notification(error: ToolError, locator: Locator) -> Any:
    rel = locator.relative(error.path) if error.path else None
    text = f"{rel or error.path}: {error.message}" if error.path else error.message
    return _notification("error", text, locator.uri(error.path) if rel is not None else None)


def build_log(report: Report, *, category: str | None = None, cwd: Path | None = None) -> Any:
    """The `sarif_om.SarifLog` of one invocation."""
    from sarif_om import Invocation, Run, RunAutomationDetails, SarifLog, Tool, ToolComponent

    locator = Locator(cwd)
    catalog = load_catalog()
    descriptors = [_descriptor(doc) for doc in catalog.values()]
    index = {rule_id: i for i, rule_id in enumerate(catalog)}
    unknown: dict[str, str] = {}
    for f in report.findings:
        if f.rule not in index:
            unknown.setdefault(f.rule, f.severity)
    for rule_id in sorted(unknown):
        index[rule_id] = len(descriptors)
        descriptors.append(_unknown_descriptor(rule_id, unknown[rule_id]))

    results = []
    outside: dict[str, int] = {}
    for f in report.findings:
        uri = locator.uri(f.path)
        if uri is None:  # GitHub rejects a log with a location outside the repository
            outside[f.path] = outside.get(f.path, 0) + 1
            continue
        results.append(_result(f, uri, index[f.rule]))

    notifications = [_error_notification(e, locator) for e in report.errors]
    notifications += [
        _notification("warning", f"{path} lies outside the repository root, so its {n} finding(s) are not in "
                                 "this SARIF log; run mlstablint from the repository that contains it")
        for path, n in sorted(outside.items())
    ]
    notifications += [_notification("note", note) for note in report.notes]

    run = Run(
        tool=Tool(driver=ToolComponent(
            name=TOOL_NAME,
            semantic_version=__version__,
            information_uri=INFORMATION_URI,
            rules=descriptors,
        )),
        automation_details=RunAutomationDetails(id=category_id(category)),
        column_kind=COLUMN_KIND,
        invocations=[Invocation(
            execution_successful=not report.errors,
            tool_execution_notifications=notifications or None,
        )],
        results=results,
        # What the run audited (source, rows, columns, fingerprint of each table): run-level properties.
        properties={"dataset": report.dataset.to_json()} if report.dataset is not None else None,
    )
    return SarifLog(schema_uri=SCHEMA_URI, version=SARIF_VERSION, runs=[run])


def _to_json(value: Any) -> Any:
    """sarif-om objects to JSON values: absent fields and untouched schema defaults are left out,
    `level` is always written."""
    import attr

    if attr.has(type(value)):
        out: dict[str, Any] = {}
        for field in attr.fields(type(value)):
            item = getattr(value, field.name)
            if item is None:
                continue
            if field.name not in _ALWAYS_WRITTEN and field.default is not attr.NOTHING:
                default = field.default
                if hasattr(default, "factory"):  # attr.Factory(list): compare with what it makes
                    default = default.factory()
                if item == default:
                    continue
            out[field.metadata["schema_property_name"]] = _to_json(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def render_sarif(report: Report, *, category: str | None = None, cwd: Path | None = None) -> str:
    log = _to_json(build_log(report, category=category, cwd=cwd))
    # `$schema` and `version` first, as every SARIF producer writes them.
    document = {"$schema": log.pop("$schema"), "version": log.pop("version"), **log}
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
