"""Jupyter notebooks: join the code cells into one module with a line map, IPython syntax masked.

Nothing is executed and no Jupyter machinery is needed: the `.ipynb` file is JSON. Its code
cells are joined so that a name imported in cell 1 resolves in cell 7; each line keeps where it
came from (cell, line in cell, line and column in the raw file, which is what GitHub renders).
IPython-only lines (magics, shell escapes, `?` help, auto-call) become `pass` with the same
indentation, so line numbers are kept and the rest of the cell is still linted.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from dataclasses import dataclass, field

from mlstablint.findings import Edit

# Cell magics whose body is Python (the rest of the cell is linted); any other cell magic
# (%%bash, %%html, %%sql, %%writefile...) makes the whole cell something else.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "memit", "debug", "python", "python3"})
_LINE_MAGIC = re.compile(r"^\s*%(?!%)")
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.\[\], ]+\s*=\s*[%!]")
_SHELL = re.compile(r"^\s*!")
_HELP = re.compile(r"^\s*(\?{1,2}\s*[\w.]+|[\w.]+\s*\?{1,2})\s*$")
_AUTOCALL = re.compile(r"^\s*[/,;][A-Za-z_]")
_NEWLINE = re.compile(r"\r\n?|\n")  # line ends as a SARIF consumer counts them in the raw file


class NotebookError(ValueError):
    """The file is not a notebook this tool can read (reported in one line)."""


@dataclass(frozen=True)
class LineOrigin:
    cell: int  # 1-based index among all cells
    cell_line: int  # 1-based line inside the cell's source
    raw_line: int  # 1-based line in the .ipynb file
    raw_column: int  # 1-based column in the .ipynb file of the line's first character


@dataclass
class CodeCell:
    index: int  # 1-based among all cells
    lines: list[str]  # source lines without their line endings
    origins: list[tuple[int, int]]  # (raw line, raw column) of each line
    # (start, end) offsets in the raw text of each JSON string of the cell's `source`, and whether the
    # source is a list of strings (nbformat's usual layout) rather than one string: what a fix rewrites.
    strings: list[tuple[int, int]] = field(default_factory=list)
    is_list: bool = True


@dataclass
class JoinedNotebook:
    text: str
    origins: list[LineOrigin]  # one per line of `text`
    cells: list[CodeCell]
    masked: list[bool]  # per line of `text`: IPython syntax replaced by `pass`
    raw_lines: list[str]  # the .ipynb file's lines

    def origin(self, line: int) -> LineOrigin:
        return self.origins[min(max(line, 1), len(self.origins)) - 1]

    def raw_column(self, line: int, column: int) -> int:
        """The raw-file column of a 1-based column of a joined line: JSON escapes before it count."""
        origin = self.origin(line)
        lines = self.text.split("\n")
        prefix = lines[line - 1][: column - 1] if 1 <= line <= len(lines) else ""
        raw = self.raw_lines[origin.raw_line - 1] if origin.raw_line <= len(self.raw_lines) else ""
        for ascii_only in (False, True):  # nbformat writes UTF-8; other writers escape to ASCII
            encoded = json.dumps(prefix, ensure_ascii=ascii_only)[1:-1]
            if raw.startswith(encoded, origin.raw_column - 1):
                return origin.raw_column + len(encoded)
        return origin.raw_column + column - 1  # lines after the first of a one-string source


class _PositionedJSON:
    """Enough of a JSON reader to know where each string of a cell's `source` starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.decoder = json.JSONDecoder()
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self.line_starts)
        while lo + 1 < hi:  # bisect for the line holding `offset`
            mid = (lo + hi) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid
        return lo + 1, offset - self.line_starts[lo] + 1

    def _ws(self, i: int) -> int:
        text = self.text
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def cells(self) -> list[tuple[str, list[tuple[str, int, int]]]]:
        """(cell_type, [(source string, offset of its opening quote, offset after its closing quote)])
        for every cell, in order."""
        root, _ = self.decoder.raw_decode(self.text, self._ws(0))
        if not isinstance(root, dict):
            raise NotebookError("not a notebook: the top level is not a JSON object")
        if "cells" not in root:
            if "worksheets" in root:
                raise NotebookError(
                    "nbformat 3 notebooks are not supported; convert with `jupyter nbconvert --to notebook`")
            raise NotebookError("not a notebook: no 'cells' list")
        if not isinstance(root["cells"], list):
            raise NotebookError("not a notebook: 'cells' is not a list")
        # Walk the raw text again, object by object, to find each cell's source strings.
        return self._walk_cells()

    def _walk_cells(self) -> list[tuple[str, list[tuple[str, int, int]]]]:
        text, i = self.text, self._ws(0)
        i = self._expect(i, "{")
        out: list[tuple[str, list[tuple[str, int, int]]]] = []
        while True:
            i = self._ws(i)
            if text[i] == "}":
                return out
            key, i = self._string(i)
            i = self._expect(self._ws(i), ":")
            i = self._ws(i)
            if key == "cells":
                i = self._expect(i, "[")
                while True:
                    i = self._ws(i)
                    if text[i] == "]":
                        i += 1
                        break
                    cell, i = self._cell(i)
                    out.append(cell)
                    i = self._ws(i)
                    if text[i] == ",":
                        i += 1
            else:
                _, i = self.decoder.raw_decode(text, i)
            i = self._ws(i)
            if text[i] == ",":
                i += 1

    def _cell(self, i: int) -> tuple[tuple[str, list[tuple[str, int, int]]], int]:
        text = self.text
        i = self._expect(i, "{")
        cell_type, sources = "", list[tuple[str, int, int]]()
        while True:
            i = self._ws(i)
            if text[i] == "}":
                return (cell_type, sources), i + 1
            key, i = self._string(i)
            i = self._ws(self._expect(self._ws(i), ":"))
            if key == "source" and text[i] == "[":
                i += 1
                while True:
                    i = self._ws(i)
                    if text[i] == "]":
                        i += 1
                        break
                    start = i
                    value, i = self._string(i)
                    sources.append((value, start, i))
                    i = self._ws(i)
                    if text[i] == ",":
                        i += 1
            elif key == "source" and text[i] == '"':
                start = i
                value, i = self._string(i)
                sources.append((value, start, -i))  # a negative end marks a one-string source
            else:
                value, i = self.decoder.raw_decode(text, i)
                if key == "cell_type" and isinstance(value, str):
                    cell_type = value
            i = self._ws(i)
            if text[i] == ",":
                i += 1

    def _string(self, i: int) -> tuple[str, int]:
        if self.text[i] != '"':
            raise NotebookError(f"not a notebook: expected a string at offset {i}")
        value, end = self.decoder.raw_decode(self.text, i)
        return value, end

    def _expect(self, i: int, char: str) -> int:
        if i >= len(self.text) or self.text[i] != char:
            raise NotebookError(f"not a notebook: expected {char!r} at offset {i}")
        return i + 1


def code_cells(raw: str) -> list[CodeCell]:
    reader = _PositionedJSON(raw)
    try:
        cells = reader.cells()
    except (json.JSONDecodeError, IndexError) as exc:
        raise NotebookError(f"not valid notebook JSON: {exc}") from None
    out = []
    for index, (cell_type, sources) in enumerate(cells, start=1):
        if cell_type != "code":
            continue
        lines: list[str] = []
        origins: list[tuple[int, int]] = []
        strings = [(offset, abs(end)) for _, offset, end in sources]
        for value, offset, _ in sources:
            raw_line, raw_col = reader.position(offset + 1)  # after the opening quote
            parts = value.split("\n")
            if parts and parts[-1] == "":
                parts.pop()
            for part in parts:
                lines.append(part.rstrip("\r"))
                # Lines of a one-string source all sit on that string's raw line.
                origins.append((raw_line, raw_col))
        out.append(CodeCell(index, lines, origins, strings, not sources or sources[0][2] >= 0))
    return out


def mask_ipython(lines: list[str]) -> tuple[list[str], list[bool]]:
    """Replace IPython-only lines by `pass` (same indentation); a non-Python cell magic masks the cell."""
    masked_lines, flags = list(lines), [False] * len(lines)
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)
        whole_cell = not magic or magic[0] not in PYTHON_CELL_MAGICS
        for k in range(len(lines)) if whole_cell else range(1):
            masked_lines[k], flags[k] = "pass", True
        if whole_cell:
            return masked_lines, flags
    continued = False
    for k, line in enumerate(lines):
        if flags[k]:
            continue
        ipython = not continued and (
            _LINE_MAGIC.match(line) or _SHELL.match(line) or _HELP.match(line) or _AUTOCALL.match(line)
            or _ASSIGNED_MAGIC.match(line))
        if ipython:
            indent = line[: len(line) - len(line.lstrip())]
            masked_lines[k], flags[k] = f"{indent}pass", True
        continued = line.rstrip().endswith("\\")
    return masked_lines, flags


def join(raw: str) -> JoinedNotebook:
    cells = code_cells(raw)
    text_lines: list[str] = []
    origins: list[LineOrigin] = []
    masked: list[bool] = []
    for cell in cells:
        lines, flags = mask_ipython(cell.lines)
        for k, (line, flag) in enumerate(zip(lines, flags, strict=True)):
            raw_line, raw_col = cell.origins[k]
            text_lines.append(line)
            origins.append(LineOrigin(cell.index, k + 1, raw_line, raw_col))
            masked.append(flag)
    return JoinedNotebook("\n".join(text_lines) + ("\n" if text_lines else ""), origins, cells, masked,
                          raw.splitlines())


def blank_cell(notebook: JoinedNotebook, cell: int) -> str:
    """The joined text with one cell's lines replaced by `pass` (after it failed to parse)."""
    lines = notebook.text.split("\n")
    for k, origin in enumerate(notebook.origins):
        if origin.cell == cell:
            lines[k] = "pass"
    return "\n".join(lines)


def replace_sources(raw: str, notebook: JoinedNotebook, fixed: str) -> str:
    """The raw notebook with the sources of the code cells whose lines `fixed` (the joined text, fixed)
    changed rewritten; everything else — outputs, metadata, the JSON layout, masked IPython lines — is
    kept byte for byte. Raises NotebookError when a change cannot be placed in one cell."""
    out = raw
    for start, end, text in sorted(source_edits(raw, notebook, fixed), reverse=True):
        out = out[:start] + text + out[end:]
    return out


def file_edits(raw: str, notebook: JoinedNotebook, fixed: str) -> tuple[Edit, ...]:
    """What `replace_sources` changes, as edits of the .ipynb text itself: 1-based lines and columns
    (code points) of the raw file, the inserted text JSON-escaped as it must appear in the file, each
    edit cut to the characters it changes. Applied to the file, they give what `replace_sources` writes.
    Raises NotebookError as `replace_sources` does."""
    line_starts = [0, *(m.end() for m in _NEWLINE.finditer(raw))]

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    def inside_crlf(offset: int) -> bool:  # a position between CR and LF is on no line
        return 0 < offset < len(raw) and raw[offset - 1:offset + 1] == "\r\n"

    out: list[Edit] = []
    for start, end, text in sorted(source_edits(raw, notebook, fixed)):
        old = raw[start:end]
        keep = _common_prefix(old, text)
        tail = _common_prefix(old[keep:][::-1], text[keep:][::-1])
        keep -= inside_crlf(start + keep)
        tail -= inside_crlf(end - tail)
        start, end, text = start + keep, end - tail, text[keep:len(text) - tail]
        out.append(Edit(*position(start), *position(end), text))
    return tuple(out)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def source_edits(raw: str, notebook: JoinedNotebook, fixed: str) -> list[tuple[int, int, str]]:
    """(start, end, JSON text) replacements of the raw notebook that make its code cells' sources `fixed`."""
    old = notebook.text.split("\n")[:-1]
    new = fixed.split("\n")
    if new and new[-1] == "":
        new.pop()
    owner = [origin.cell for origin in notebook.origins]  # cell of each old joined line
    first_line = {cell.index: next(k for k, c in enumerate(owner) if c == cell.index) for cell in notebook.cells
                  if cell.lines}
    per_cell: dict[int, list[str]] = {cell.index: [] for cell in notebook.cells}
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                origin = notebook.origins[i1 + k]
                cell = _cell(notebook, origin.cell)
                per_cell[origin.cell].append(cell.lines[origin.cell_line - 1])  # masked lines come back as written
            continue
        if any(notebook.masked[i] for i in range(i1, i2)):
            raise NotebookError("a fix touched a line of IPython syntax; notebook not fixed")
        cells = {owner[i] for i in range(i1, i2)} or {owner[i1 - 1] if i1 > 0 else owner[i1]}
        if len(cells) != 1:
            raise NotebookError("a fix spans two cells; notebook not fixed")
        per_cell[cells.pop()].extend(new[j1:j2])
    ascii_only = raw.isascii()
    edits: list[tuple[int, int, str]] = []
    for cell in notebook.cells:
        lines = per_cell[cell.index]
        if lines == cell.lines or cell.index not in first_line:
            continue
        edits.extend(_source_edits(raw, cell, lines, ascii_only))
    return edits


def _cell(notebook: JoinedNotebook, index: int) -> CodeCell:
    return next(cell for cell in notebook.cells if cell.index == index)


def _source_edits(raw: str, cell: CodeCell, lines: list[str], ascii_only: bool) -> list[tuple[int, int, str]]:
    """Raw-text edits that make a cell's source `lines`: one string per line replaced in place when the
    count of lines is kept, else the list (or the one string) written anew in the same layout."""
    ends_with_newline = bool(cell.strings) and raw[cell.strings[-1][1] - 3: cell.strings[-1][1] - 1] == "\\n"

    def encoded(line: str, last: bool) -> str:
        return json.dumps(line + ("" if last and not ends_with_newline else "\n"), ensure_ascii=ascii_only)

    if cell.is_list and len(cell.strings) == len(cell.lines) == len(lines):
        return [(start, end, encoded(line, k == len(lines) - 1))
                for k, ((start, end), line, before) in enumerate(zip(cell.strings, lines, cell.lines, strict=True))
                if line != before]
    start, end = cell.strings[0][0], cell.strings[-1][1]
    if not cell.is_list:
        text = "\n".join(lines) + ("\n" if ends_with_newline else "")
        return [(start, end, json.dumps(text, ensure_ascii=ascii_only))]
    if len(cell.strings) > 1:
        separator = raw[cell.strings[0][1]: cell.strings[1][0]]
    else:
        line_start = raw.rfind("\n", 0, start) + 1
        separator = ",\n" + raw[line_start:start] if raw[line_start:start].isspace() else ", "
    body = separator.join(encoded(line, k == len(lines) - 1) for k, line in enumerate(lines))
    return [(start, end, body)]
def execution_counts(raw: str) -> dict[int, int]:
    """The saved execution count of each code cell (1-based index among all cells) that has one."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return {}
    cells = doc.get("cells") if isinstance(doc, dict) else None
    out: dict[int, int] = {}
    for index, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        count = cell.get("execution_count") if isinstance(cell, dict) else None
        if isinstance(count, int) and not isinstance(count, bool):
            out[index] = count
    return out


def order_note(notebook: JoinedNotebook, counts: dict[int, int], line: int, related: str) -> dict[str, int] | None:
    """When a finding at joined `line` depends on another statement (`related`, its first line of source) in
    another cell, and the saved execution counts ran the two cells in the other order than written: the
    cells and counts (the written order is what the analysis, and a fresh top-to-bottom run, follows)."""
    lines = notebook.text.split("\n")
    needle = related.strip()
    if not needle:
        return None
    hits = [i + 1 for i, text in enumerate(lines) if needle in " ".join(text.split())]
    if not hits:
        return None
    here = notebook.origin(line).cell
    other = notebook.origin(min(hits, key=lambda h: abs(h - line))).cell
    if other == here or here not in counts or other not in counts:
        return None
    if (here < other) == (counts[here] < counts[other]):
        return None
    return {"cell": here, "cell_count": counts[here], "related_cell": other, "related_count": counts[other]}
