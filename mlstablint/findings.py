"""The finding model shared by every stage: code rules, the data auditor and the reporters.

Rules produce findings, reporters render them; neither knows about the other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from mlstablint.dataset import Dataset

Severity = Literal["error", "warning", "note"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "note")


@dataclass(frozen=True)
class Confirmation:
    """The verdict of a micro-sweep that tried to reproduce a finding."""

    status: Literal["confirmed", "not-confirmed", "skipped"]
    experiment: str
    figures: dict[str, Any]
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "experiment": self.experiment,
            "figures": self.figures,
            "summary": self.summary,
        }


@dataclass
class Finding:
    """One problem at one place. Lines and columns are 1-based; end_column is exclusive."""

    rule: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    evidence: dict[str, Any] = field(default_factory=dict)
    confirmation: Confirmation | None = None
    fingerprint: str = ""
    # Notebook locations (1-based), set only for findings inside .ipynb files.
    cell: int | None = None
    cell_line: int | None = None
    # Column inside the cell (1-based), for people; JSON keeps the raw-file column.
    cell_column: int | None = field(default=None, compare=False)

    def sort_key(self) -> tuple[str, int, int, str, int, int, str]:
        return (self.path, self.line, self.column, self.rule, self.end_line, self.end_column, self.message)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "evidence": self.evidence,
            "confirmation": self.confirmation.to_json() if self.confirmation else None,
            "fingerprint": self.fingerprint,
        }
        if self.cell is not None:
            out["cell"] = self.cell
            out["cell_line"] = self.cell_line
        return out


@dataclass(frozen=True)
class ToolError:
    """A problem of the tool with an input (unreadable file, syntax error...): one line, no traceback."""

    path: str
    message: str

    def sort_key(self) -> tuple[str, str]:
        return (self.path, self.message)

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass
class Report:
    """Everything one invocation found, in deterministic order once `finalize` has run."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)
    files_checked: int = 0
    # Free-form notes for people (e.g. "no target given: label checks skipped").
    notes: list[str] = field(default_factory=list)
    # The tables audited (source, size, fingerprint); None when no table was.
    dataset: Dataset | None = None
    # One per audited table: the figures behind its findings as plain data (spectra, column statistics,
    # duplicate group sizes, drift tests) for charts. Not part of the JSON/SARIF documents.
    profiles: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: Report) -> None:
        self.findings.extend(other.findings)
        self.errors.extend(other.errors)
        self.files_checked += other.files_checked
        self.notes.extend(other.notes)
        if other.dataset is not None:
            if self.dataset is None:
                self.dataset = Dataset()
            self.dataset.extend(other.dataset)
        self.profiles.extend(other.profiles)

    def finalize(self) -> Report:
        self.findings.sort(key=Finding.sort_key)
        self.errors = sorted(set(self.errors), key=ToolError.sort_key)
        self.notes = sorted(set(self.notes))
        return self


def normalise_source_line(text: str) -> str:
    """Whitespace-insensitive form of a source line, so re-indenting does not change fingerprints."""
    return " ".join(text.split())


def code_fingerprint(rule: str, path: str, context_lines: list[str], occurrence: int) -> str:
    """A fingerprint that survives unrelated lines moving.

    Built from the rule, the path and the normalised text of the flagged line and its
    neighbours (not their line numbers), plus the index of this occurrence among identical
    contexts in the same file.
    """
    h = hashlib.sha256()
    for part in (rule, path, *map(normalise_source_line, context_lines), str(occurrence)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def data_fingerprint(rule: str, dataset: str, columns: list[str]) -> str:
    """Fingerprint of a data finding: the dataset path, the rule and the columns involved."""
    h = hashlib.sha256()
    for part in (rule, dataset, *sorted(columns)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:32]
