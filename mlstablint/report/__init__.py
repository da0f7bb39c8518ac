"""Reporters: render a finished `Report`; they never compute findings."""

from __future__ import annotations

from mlstablint.findings import Report

FORMATS = ("text", "json", "sarif", "github", "html")


def render(report: Report, fmt: str, *, color: bool = False, category: str | None = None,
           command: list[str] | None = None) -> str:
    """`category` is the SARIF `automationDetails.id`, `command` the command line the HTML page shows (other
    formats ignore them)."""
    if fmt == "html":
        from mlstablint.report.html import render_html

        return render_html(report, command=command)
    if fmt == "json":
        from mlstablint.report.json_report import render_json

        return render_json(report)
    if fmt == "sarif":
        from mlstablint.report.sarif import render_sarif

        return render_sarif(report, category=category)
    if fmt == "github":
        from mlstablint.report.github import render_github

        return render_github(report)
    from mlstablint.report.text import render_text

    return render_text(report, color=color)
