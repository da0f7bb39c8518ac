"""The finding model shared by every stage: code rules, the data auditor and the reporters.

Rules produce findings, reporters render them; neither knows about the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, column) up to (end_line, end_column), exclusive, by `text`.
    1-based; an insertion has an empty span. In a notebook, positions are in the code cell `cell`."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str
    cell: int | None = None  # a notebook's code cell: the lines and columns are then the cell's

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "column": self.column, "end_line": self.end_line,
                               "end_column": self.end_column, "text": self.text}
        if self.cell is not None:
            out["cell"] = self.cell
        return out


@dataclass(frozen=True)
class FixInfo:
    """The edits that fix a finding, and whether applying them can change behaviour ("safe" | "unsafe")."""

    safety: str
    edits: tuple[Edit, ...]
    # A notebook finding's fix as edits of the .ipynb text itself (raw lines and columns, text JSON-escaped
    # as in the file): what SARIF `fixes` carry. Empty for .py files, whose `edits` are already the file's.
    file_edits: tuple[Edit, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"safety": self.safety, "edits": [e.to_json() for e in self.edits]}
        if self.file_edits:
            out["file_edits"] = [e.to_json() for e in self.file_edits]
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FixInfo:
        return cls(str(raw["safety"]), tuple(Edit(**e) for e in raw["edits"]),
                   tuple(Edit(**e) for e in raw.get("file_edits", ())))


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
    fix: FixInfo | None = None

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
            "fix": self.fix.to_json() if self.fix is not None else None,
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
    # Autofix: findings fixed in place by --fix (their files are checked again), and whether unsafe
    # fixes are applicable in this run (which fixes the text report marks as available).
    fixed: int = 0
    unsafe_fixes: bool = False

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

    def keep_fixes(self, fixable: Callable[[str], bool]) -> None:
        """Drop the fixes of rules configured as unfixable, so that no report offers them."""
        for finding in self.findings:
            if finding.fix is not None and not fixable(finding.rule):
                finding.fix = None

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
