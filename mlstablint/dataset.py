"""What a report audited: each table's source, format, size and fingerprint (the dataset's identity).

Two audits of the same table give the same fingerprint, and a report names exactly what it audited:
the source as the user named it, the Delta version read (and the `--as-of` asked for), the row and
column counts, and a fingerprint made of the table's structure (the Delta version, or the parquet
footers' row counts and schemas; a CSV's schema and byte size) and a content hash of the statistics
the audit computed (`mlstablint.data.identity`). Pure Python, part of the shared report model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["train", "test"]


@dataclass(frozen=True)
class TableIdentity:
    """One audited table."""

    role: Role
    source: str  # as the user named it: a display path, a URI, a table name, "<pandas DataFrame>"
    format: str  # parquet, csv, arrow-file, arrow-stream, delta, or spark (a DataFrame or a catalog table)
    rows: int
    columns: int
    structure: str  # hex digest of what the table is without its rows (see the module's docstring)
    statistics: str  # hex digest of the audit's statistics of the table
    version: int | None = None  # the Delta version read
    as_of: str | None = None  # the version or timestamp asked for (`--as-of`)

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for part in (self.format, self.structure, self.statistics):
            h.update(part.encode("ascii"))
            h.update(b"\0")
        return h.hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "source": self.source, "format": self.format, "rows": self.rows,
                               "columns": self.columns, "fingerprint": self.fingerprint,
                               "structure": self.structure[:32], "statistics": self.statistics[:32]}
        if self.version is not None:
            out["version"] = self.version
        if self.as_of is not None:
            out["as_of"] = self.as_of
        return out

    def describe(self) -> str:
        """One line for people: `train.parquet (parquet, 1,000 rows × 12 columns, fingerprint 3f2a…)`."""
        version = f", version {self.version}" if self.version is not None else ""
        as_of = f" as of {self.as_of}" if self.as_of is not None and self.as_of != str(self.version) else ""
        return (f"{self.source} ({self.format}{version}{as_of}, {self.rows:,} rows × {self.columns:,} columns, "
                f"fingerprint {self.fingerprint[:16]})")


@dataclass
class Dataset:
    """Every table one report audited, training tables first, in the order they were audited."""

    tables: list[TableIdentity] = field(default_factory=list)

    def extend(self, other: Dataset) -> None:
        self.tables.extend(t for t in other.tables if t not in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {"tables": [t.to_json() for t in self.tables]}
