"""Apply the fixes of findings to source text, check the result, and write it back atomically.

Edits come from the findings (`Finding.fix`): spans of the file replaced by new text, which
leaves every other byte of the file as it was. A file is fixed in passes, as ruff does: the
fixes whose spans do not overlap are applied together, the text is checked again, and the
remaining fixes (a nested finding, one whose span overlapped) get the next pass. Every pass's
result must parse, or nothing is written.
"""

from __future__ import annotations

import ast
import difflib
import os
import stat
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from mlstablint.code import notebook
from mlstablint.code.discover import SourceFile
from mlstablint.code.engine import FileChecker, parse_or_none
from mlstablint.code.fixes import apply_edits
from mlstablint.code.textio import decode_source
from mlstablint.findings import Finding, Report, ToolError

MAX_PASSES = 10


class FixError(Exception):
    """A fix could not be applied to a file (reported in one line; the file is left untouched)."""


@dataclass
class FileFix:
    """The outcome of fixing one file."""

    path: Path
    display: str
    before: bytes
    after: bytes
    fixed: int  # findings fixed
    remaining: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.after != self.before

    def diff(self) -> str:
        old = self.before.decode("utf-8-sig", "surrogateescape").splitlines(keepends=True)
        new = self.after.decode("utf-8-sig", "surrogateescape").splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, f"a/{self.display}", f"b/{self.display}")
        return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
                       for line in lines)


def fix_text(
    checker: FileChecker, text: str, path: str, ignored: Sequence[str], wanted: Callable[[Finding], bool]
) -> tuple[str, int, Report]:
    """Fix `text` in passes; returns the fixed text, how many findings were fixed, and the report of
    the fixed text (what remains)."""
    fixed = 0
    report = checker.check_source(text, path, ignored)
    for _ in range(MAX_PASSES):
        if report.errors:
            break
        groups = [f.fix.edits for f in report.findings if f.fix is not None and wanted(f)]
        if not groups:
            break
        new, applied = apply_edits(text, groups)
        if new == text:
            break
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(new)
            cst.parse_module(new)
        except (SyntaxError, cst.ParserSyntaxError) as exc:
            raise FixError(f"the fixed code does not parse ({exc.__class__.__name__}); nothing written") from None
        text, fixed = new, fixed + applied
        report = checker.check_source(text, path, ignored)
    return text, fixed, report


def _encode(text: str, original: bytes) -> bytes:
    return (b"\xef\xbb\xbf" if original.startswith(b"\xef\xbb\xbf") else b"") + text.encode("utf-8")


def fix_file(
    checker: FileChecker, path: Path, display: str, ignored: Sequence[str], wanted: Callable[[Finding], bool]
) -> FileFix:
    """Fix one file in memory (nothing is written here); raises FixError with a one-line reason."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FixError(f"cannot read file: {exc.strerror or exc}") from None
    if display.endswith(".ipynb"):
        return _fix_notebook(checker, path, display, data, ignored, wanted)
    try:
        text = decode_source(data)
    except ValueError:
        return FileFix(path, display, data, data, 0)  # the check reports why it cannot be read
    new, fixed, report = fix_text(checker, text, display, ignored, wanted)
    if new == text:
        return FileFix(path, display, data, data, 0, report.findings)
    if _encoded_as(data) != "utf-8":
        raise FixError(f"not fixed: the file is encoded as {_encoded_as(data)}, and only UTF-8 files are rewritten")
    return FileFix(path, display, data, _encode(new, data), fixed, report.findings)


def _encoded_as(data: bytes) -> str:
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        return "unknown"
    return "utf-8" if encoding in ("utf-8", "utf-8-sig") else encoding


def _fix_notebook(
    checker: FileChecker, path: Path, display: str, data: bytes, ignored: Sequence[str],
    wanted: Callable[[Finding], bool],
) -> FileFix:
    try:
        raw = data.decode("utf-8-sig")
        joined = notebook.join(raw)
    except (UnicodeDecodeError, notebook.NotebookError) as exc:
        raise FixError(f"not a notebook this tool can fix: {exc}") from None
    if parse_or_none(joined.text) is None:
        raise FixError("a code cell does not parse; notebook not fixed")
    new, fixed, report = fix_text(checker, joined.text, display, ignored, wanted)
    if new == joined.text:
        return FileFix(path, display, data, data, 0, report.findings)
    rewritten = notebook.replace_sources(raw, joined, new)
    return FileFix(path, display, data, _encode(rewritten, data), fixed, report.findings)


def write_fixed(result: FileFix) -> None:
    """Write a fixed file atomically, unless it changed on disk since it was read (FixError then)."""
    try:
        current = result.path.read_bytes()
    except OSError as exc:
        raise FixError(f"cannot read file again before writing: {exc.strerror or exc}") from None
    if current != result.before:
        raise FixError("changed on disk while it was being fixed; not written (run again)")
    folder = result.path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{result.path.name}.", suffix=".mlstablint-fix", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(result.after)
        os.chmod(tmp, stat.S_IMODE(result.path.stat().st_mode))
        os.replace(tmp, result.path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise FixError(f"cannot write the fixed file: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class FixPolicy:
    """Which fixes a run applies: safe ones of fixable rules, and unsafe ones when asked for."""

    unsafe: bool
    fixable: Callable[[str], bool]

    def applies(self, finding: Finding) -> bool:
        fix = finding.fix
        return fix is not None and self.fixable(finding.rule) and (fix.safety == "safe" or self.unsafe)


@dataclass
class FixRun:
    files: list[FileFix] = field(default_factory=list)  # the files a fix changes
    errors: list[ToolError] = field(default_factory=list)

    @property
    def fixed(self) -> int:
        return sum(f.fixed for f in self.files)


def run_fixes(
    files: Sequence[SourceFile], ignored_for: Callable[[str], list[str]], enabled: set[str], max_nesting: int,
    policy: FixPolicy, *, write: bool,
) -> FixRun:
    """Fix the given files (with `write`, in place); a file that cannot be fixed is reported and left as it is."""
    run = FixRun()
    if not files:
        return run
    checker = FileChecker(enabled, max_nesting=max_nesting)
    for source in files:
        try:
            result = fix_file(checker, source.path, source.display, ignored_for(source.config_rel), policy.applies)
            if result.changed and write:
                write_fixed(result)
        except FixError as exc:
            run.errors.append(ToolError(source.display, str(exc)))
            continue
        if result.changed:
            run.files.append(result)
    return run
