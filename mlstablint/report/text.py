"""Text output for people, in ruff's shape: `path:line:col: ID message`, then a summary line."""

from __future__ import annotations

from collections import Counter

from mlstablint.findings import Finding, Report

_STYLE = {"bold": "\033[1m", "red": "\033[31m", "yellow": "\033[33m", "cyan": "\033[36m", "reset": "\033[0m"}
_SEVERITY_COLOR = {"error": "red", "warning": "yellow", "note": "cyan"}


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLE[style]}{text}{_STYLE['reset']}" if color else text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _available(finding: Finding, unsafe_fixes: bool) -> bool:
    return finding.fix is not None and (finding.fix.safety == "safe" or unsafe_fixes)


def _fix_summary(report: Report) -> list[str]:
    """How many findings --fix (or --fix --unsafe-fixes) would fix, in ruff's words."""
    available = sum(_available(f, report.unsafe_fixes) for f in report.findings)
    hidden = sum(f.fix is not None and not _available(f, report.unsafe_fixes) for f in report.findings)
    out = []
    if available:
        option = "`--fix --unsafe-fixes`" if report.unsafe_fixes else "the `--fix` option"
        out.append(f"[*] {available} fixable with {option}.")
    if hidden:
        fixes = "fix" if hidden == 1 else "fixes"
        out.append(f"{'No fixes available' if not available else 'In addition'}: {hidden} hidden {fixes} can be "
                   "enabled with the `--unsafe-fixes` option.")
    return out


def render_text(report: Report, *, color: bool = False) -> str:
    lines = []
    for f in report.findings:
        where = f"{f.path}:cell {f.cell}:line {f.cell_line}:{f.cell_column}" if f.cell is not None else (
            f"{f.path}:{f.line}:{f.column}")
        code = _paint(f.rule, _SEVERITY_COLOR[f.severity], color)
        mark = "[*] " if _available(f, report.unsafe_fixes) else ""
        lines.append(f"{_paint(where, 'bold', color)}: {code} {mark}{f.message}")
        if f.confirmation is not None:
            lines.append(f"    {f.confirmation.status}: {f.confirmation.summary}")
    for note in report.notes:
        lines.append(f"note: {note}")
    for table in report.dataset.tables if report.dataset is not None else []:
        lines.append(f"{'dataset' if table.role == 'train' else 'test dataset'}: {table.describe()}")
    if report.findings:
        counts = Counter(f.severity for f in report.findings)
        detail = ", ".join(_plural(counts[s], s) for s in ("error", "warning", "note") if counts[s])
        lines.append(f"Found {_plural(len(report.findings), 'finding')} ({detail}) "
                     f"in {_plural(report.files_checked, 'file')} checked.")
        lines.extend(_fix_summary(report))
    elif not report.errors:
        lines.append(f"All checks passed ({_plural(report.files_checked, 'file')} checked).")
    if report.fixed:
        lines.append(f"Fixed {_plural(report.fixed, 'finding')}.")
    if report.errors:
        lines.append(f"{_plural(len(report.errors), 'input')} could not be checked (errors on stderr).")
    return "\n".join(lines) + "\n"
