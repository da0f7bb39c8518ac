"""GitHub Actions workflow commands: one annotation per finding, shown on the pull request diff.

`::warning file=src/m.py,line=3,col=5,endLine=3,endColumn=17,title=MSL101::message`
Paths are relative to the repository root (GitHub resolves them against the checkout);
levels map error→error, warning→warning, note→notice. Values are escaped as the Actions
toolkit does (`%`, CR and LF everywhere; `:` and `,` inside properties as well).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mlstablint.findings import Finding, Report
from mlstablint.report.paths import Locator
from mlstablint.report.text import _plural

COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, properties: dict[str, str | int], message: str) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{level} {props}::{escape_data(message)}" if props else f"::{level}::{escape_data(message)}"


def _finding(f: Finding, path: str) -> str:
    message = f.message
    if f.confirmation is not None:
        message += f"\n{f.confirmation.status}: {f.confirmation.summary}"
    properties: dict[str, str | int] = {"file": path, "line": max(f.line, 1), "col": max(f.column, 1),
                                        "endLine": max(f.end_line, f.line, 1), "endColumn": max(f.end_column, 1),
                                        "title": f.rule}
    return _command(COMMAND[f.severity], properties, message)


def render_github(report: Report, *, cwd: Path | None = None) -> str:
    locator = Locator(cwd)
    lines = []
    for f in report.findings:
        # A file outside the repository cannot be annotated; the message still names it.
        path = locator.relative(f.path)
        if path is None:
            lines.append(_command(COMMAND[f.severity], {"title": f.rule}, f"{f.path}:{f.line}:{f.column}: {f.message}"))
        else:
            lines.append(_finding(f, path))
    for error in report.errors:
        path = locator.relative(error.path) if error.path else None
        props: dict[str, str | int] = {"file": path} if path else {}
        lines.append(_command("error", {**props, "title": "mlstablint"}, f"{error.path}: {error.message}"))
    for note in report.notes:
        lines.append(_command("notice", {"title": "mlstablint"}, note))
    counts = Counter(f.severity for f in report.findings)
    detail = ", ".join(_plural(counts[s], s) for s in ("error", "warning", "note") if counts[s])
    lines.append(f"mlstablint: {_plural(len(report.findings), 'finding')}{f' ({detail})' if detail else ''} "
                 f"in {_plural(report.files_checked, 'file')} checked; "
                 f"{_plural(len(report.errors), 'input')} could not be checked.")
    return "\n".join(lines) + "\n"
