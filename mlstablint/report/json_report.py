"""JSON output: a stable document other tools consume (see DESIGN.md, "Findings")."""

from __future__ import annotations

import json

from mlstablint import __version__
from mlstablint.findings import Report


def render_json(report: Report) -> str:
    document: dict[str, object] = {
        "version": __version__,
        "findings": [f.to_json() for f in report.findings],
        "errors": [e.to_json() for e in report.errors],
    }
    if report.dataset is not None:  # what was audited, when a table was
        document["dataset"] = report.dataset.to_json()
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
