"""`--format html`: one self-contained page (inline CSS and SVG, no script, no request) for people.

jinja2 renders the page, matplotlib's SVG backend draws the charts and markdown-it renders the catalogue
pages: the `html` extra. `require()` says in one line what to install when one is missing, before any
work is done or any file is written.
"""

from __future__ import annotations

from typing import Any

from mlstablint.findings import Report

EXTRA_HINT = "pip install 'mlstablint[html]'"


class HtmlUnavailable(Exception):
    """A dependency of the HTML report is not installed (one line, naming the extra)."""


def require() -> None:
    missing = []
    for module, package in (("jinja2", "jinja2"), ("matplotlib", "matplotlib"), ("markdown_it", "markdown-it-py")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise HtmlUnavailable(f"--format html needs {' and '.join(missing)}: {EXTRA_HINT}")


def render_html(report: Report, *, command: list[str] | None = None) -> str:
    """The report of `check` or `audit` as an HTML page."""
    require()
    from mlstablint.report.html.page import build_sections, render_page

    sections, summary = build_sections(report)
    return render_page("mlstablint report", sections, summary, command)


def render_lab_html(document: dict[str, Any], *, command: list[str] | None = None) -> str:
    """The stability lab's report (`sweep --format json`'s document) as an HTML page."""
    require()
    from mlstablint.report.html.lab import build_lab
    from mlstablint.report.html.page import render_page

    sections, lab = build_lab(document)
    return render_page("mlstablint stability lab", sections, {}, command, lab=lab)
