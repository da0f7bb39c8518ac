"""Where does the checked code load a dataset? A cheap textual search, no execution.

A data finding is placed on the code line that loads its table when one is found: a string
literal equal to the table's path or file name (`pd.read_parquet("train.parquet")`,
`DATA = ROOT / "train.parquet"`). When the literal is assigned to a name (`DATA = ...`), the first
later line that passes that name to a reader (`read_parquet(DATA)`, `read_csv(DATA, ...)`) is
preferred. Lines that call a reader win over other mentions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mlstablint.code import notebook
from mlstablint.code.notebook import JoinedNotebook

_LITERAL = re.compile(r"""(?P<q>['"])(?P<s>[^'"\n\\]{1,300})(?P=q)""")
_READER = re.compile(r"\b(read_\w+|load\w*|open_\w+|dataset|scan_\w+|ParquetFile|from_\w+)\s*\(")
_ASSIGNED = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\s*(?::[^=]+)?=(?!=)")


@dataclass(frozen=True)
class Location:
    path: str  # display path of the code file
    line: int
    column: int  # 1-based
    end_column: int  # exclusive
    # In a notebook: line/column are in the raw .ipynb file; these are the cell, line and column in it.
    cell: int | None = None
    cell_line: int | None = None
    cell_column: int | None = None


def _code_lines(path: Path) -> tuple[list[str], JoinedNotebook | None] | None:
    """The code to search: a module's lines, or a notebook's code cells joined (magics masked)."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix != ".ipynb":
        return raw.splitlines(), None
    try:
        joined = notebook.join(raw)
    except notebook.NotebookError:
        return None
    return joined.text.splitlines(), joined


def _place(display: str, joined: JoinedNotebook | None, line: int, start: int, end: int) -> Location:
    if joined is None:
        return Location(display, line, start, end)
    origin = joined.origin(line)
    return Location(display, origin.raw_line, joined.raw_column(line, start), joined.raw_column(line, end),
                    origin.cell, origin.cell_line, start)


def _matches(literal: str, dataset: str) -> bool:
    lit = literal.replace("\\", "/").strip()
    if not lit:
        return False
    data = PurePosixPath(dataset)
    if lit == dataset or lit.rstrip("/") == dataset.rstrip("/"):
        return True
    lit_path = PurePosixPath(lit)
    return lit_path.name == data.name and (len(lit_path.parts) == 1 or dataset.endswith(lit.lstrip("./")))


def find_load(dataset: str, files: list[tuple[str, Path]]) -> Location | None:
    """The best location in `files` ((display path, path) pairs, in report order) that loads `dataset`."""
    best: tuple[int, Location] | None = None
    for display, path in files:
        code = _code_lines(path)
        if code is None:
            continue
        lines, joined = code
        for number, text in enumerate(lines, start=1):
            for m in _LITERAL.finditer(text):
                if not _matches(m.group("s"), dataset):
                    continue
                here = _place(display, joined, number, m.start() + 1, m.end() + 1)
                if _READER.search(text):
                    return here
                assigned = _ASSIGNED.match(text)
                if assigned:
                    use = _reader_use(lines, number, assigned.group("name"), display, joined)
                    if use is not None:
                        return use
                if best is None:
                    best = (number, here)
    return best[1] if best else None


def _reader_use(
    lines: list[str], after: int, name: str, display: str, joined: JoinedNotebook | None
) -> Location | None:
    call = re.compile(_READER.pattern + rf"\s*{re.escape(name)}\b")
    for number in range(after + 1, len(lines) + 1):
        m = call.search(lines[number - 1])
        if m:
            return _place(display, joined, number, m.start() + 1, m.end() + 1)
    return None
