"""The stability lab's page, from `sweep`'s JSON document, read by the fields present: runs are faceted by
dtype and learning rate when the runs carry them, and the other settings that vary name the lines."""

from __future__ import annotations

from typing import Any

from mlstablint.report.html import charts
from mlstablint.report.html.charts import num
from mlstablint.report.html.page import Section

FACETS = ("dtype", "lr")
# Run fields that are outcomes or logs, not settings.
OUTCOME_FIELDS = frozenset({"status", "epoch", "loss", "reason", "fp_warnings", "history"})


def _settings(runs: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    for r in runs:
        keys.extend(k for k, v in r.items() if k not in OUTCOME_FIELDS and k not in keys
                    and (v is None or isinstance(v, str | int | float | bool)))
    varying = [k for k in keys if len({repr(r.get(k)) for r in runs}) > 1]
    facets = [k for k in FACETS if k in keys and k in varying]
    series = [k for k in varying if k not in facets]
    return facets, series


def build_lab(doc: dict[str, Any]) -> tuple[list[Section], dict[str, Any]]:
    runs = [r for r in doc.get("runs") or [] if isinstance(r, dict)]
    facets, series = _settings(runs)
    lab_section = Section("lab", "Lab")
    chart = charts.lab_curves(runs, facets, series)
    if chart is not None:
        lab_section.charts.append(chart)
    settings = doc.get("settings") or {}
    facts = [("task", str(doc.get("task", ""))), ("data", str(doc.get("data", "")))]
    facts += [(str(k), num(v) if not isinstance(v, dict | list) else ", ".join(map(str, v)))
              for k, v in settings.items() if not isinstance(v, dict)]
    facts += [(k.replace("_", " "), num(v)) for k, v in doc.items()
              if k.startswith("condition_number") or k == "rank"]
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[str(r.get("status"))] = statuses.get(str(r.get("status")), 0) + 1
    recommendation = doc.get("recommendation") or {}
    lab = {"facts": facts, "statuses": sorted(statuses.items()), "recommendation": recommendation.get("text"),
           "because": list(recommendation.get("because") or []), "notes": list(doc.get("notes") or []),
           "version": doc.get("version")}
    return [Section("summary", "Summary"), lab_section], lab
