"""What a data argument names: a local path, a URI, or a catalog table. One resolver for both engines.

`s3://bucket/train`, `gs://…`, `abfss://container@account.dfs.core.windows.net/…`, `dbfs:/mnt/…`,
`hdfs://…`, `file:///…` are kept exactly as given (a filesystem path type would fold `s3://b/t` into
`s3:/b/t`); a table name (`catalog.schema.table`) is only ever read by the Spark engine. Pure Python,
below every engine: the command line and the configuration call it before any engine is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

# A scheme of two or more characters followed by ":/" (a one-letter "scheme" is a Windows drive, C:/data).
_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]+):/")
# `name`, `schema.name` or `catalog.schema.name`; a part is an identifier or a back-quoted name.
_PART = r"(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)"
_TABLE = re.compile(rf"^{_PART}(?:\.{_PART}){{0,2}}$")

Kind = Literal["path", "uri", "table"]


class SourceError(ValueError):
    """A data argument that names nothing readable (one line)."""


@dataclass(frozen=True)
class DataSource:
    """A table as the user named it. `text` is kept verbatim; `as_of` is a Delta version or timestamp."""

    text: str
    kind: Kind
    scheme: str | None = None  # lower-case URI scheme
    as_of: str | None = None

    @property
    def local_path(self) -> Path | None:
        """The local file or folder: a path, or a `file://` URI; None for other URIs and tables."""
        if self.kind == "path":
            return Path(self.text)
        if self.scheme == "file":
            parts = urlsplit(self.text)
            if parts.netloc not in ("", "localhost"):
                raise SourceError(f"{self.text}: file:// URIs name a local path (file:///abs/path), not host "
                                  f"{parts.netloc!r}")
            return Path(unquote(parts.path))
        return None

    def __str__(self) -> str:
        return self.text


def parse_source(text: str | Path, *, table: bool = False, as_of: str | None = None) -> DataSource:
    """Classify a data argument. `table=True`: `text` is a catalog table name (`--table`)."""
    if isinstance(text, Path):
        return DataSource(str(text), "path", as_of=as_of)
    if table:
        name = text.strip()
        if not _TABLE.match(name):
            raise SourceError(f"{text!r} is not a table name (expected name, schema.name or catalog.schema.name)")
        return DataSource(name, "table", as_of=as_of)
    if not text:
        raise SourceError("an empty data path")
    m = _URI.match(text)
    if m:
        return DataSource(text, "uri", m.group("scheme").lower(), as_of=as_of)
    return DataSource(text, "path", as_of=as_of)


def parse_as_of(text: str | None) -> int | str | None:
    """`--as-of`: a Delta table version (a non-negative integer) or an ISO-8601 timestamp, validated."""
    if text is None:
        return None
    value = text.strip()
    if value.isdigit():
        return int(value)
    from datetime import datetime

    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(f"--as-of {text!r} is neither a table version (0, 1, ...) nor an ISO-8601 timestamp "
                          f"(2024-05-01 or 2024-05-01T12:00:00Z)") from None
    return value
