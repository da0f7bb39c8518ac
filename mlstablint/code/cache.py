"""A content-hash cache of per-file results, under `.mlstablint_cache/` at the project root.

A file's entry is keyed by the SHA-256 of its bytes and of everything else its results depend
on: the mlstablint version and the bytes of its code path and rule catalogue (so an edited rule
in a development checkout is never served stale results), the enabled rules, the per-file
ignores that apply to it and whether it is read as a notebook. The value is the file's findings
and errors as JSON *without* its path: the display path and the fingerprint (which hashes the
project-relative path) are recomputed on a hit, so a file that moves keeps correct paths. An entry
also holds what the file's results depended on besides its bytes (`deps`: the other project files
its function summaries were read from, with their SHA-256, and how its imports resolved): the runner
serves it only while that still holds, so editing a helper re-checks its callers (runner.py).

Writes are atomic (a temporary file, then `os.replace`), so parallel workers and interrupted
runs never leave a half-written entry; an entry that is unreadable or malformed is a miss,
never an error. The directory holds a `.gitignore` of `*`. Files outside the root are never
cached. This module does not import libcst: a fully cached run never loads the parser.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlstablint import __version__
from mlstablint.findings import Finding, FixInfo, Report, ToolError, code_fingerprint

CACHE_DIR = ".mlstablint_cache"
# Bump when the entry layout changes.
FORMAT = 2


def _build_digest() -> str:
    """The bytes of the code path and the rule catalogue (what results are computed from)."""
    from mlstablint.catalog import catalog_dir

    package = Path(__file__).resolve().parent.parent
    sources = [*sorted((package / "code").rglob("*.py")), package / "findings.py"]
    sources += sorted(catalog_dir().glob("MSL*.md"))
    h = hashlib.sha256()
    for path in sources:
        try:
            h.update(path.name.encode())
            h.update(path.read_bytes())
        except OSError:
            h.update(b"?")
    return h.hexdigest()


@dataclass(frozen=True)
class ResultCache:
    root: Path  # resolved
    settings: str  # digest of everything but the file's own bytes and ignores

    @property
    def folder(self) -> Path:
        return self.root / CACHE_DIR

    @classmethod
    def open(cls, root: Path, enabled: set[str], limits: Iterable[str] = ()) -> ResultCache | None:
        """The cache of a project root, or None if its directory cannot be created. `limits` (e.g.
        "max-nesting=500") are settings that change a file's result: they are part of every key."""
        root = root.resolve()
        folder = root / CACHE_DIR
        try:
            folder.mkdir(exist_ok=True)
            ignore = folder / ".gitignore"
            if not ignore.exists():
                _atomic_write(ignore, b"# Created by mlstablint: the cache ignores itself.\n*\n")
        except OSError:
            return None
        h = hashlib.sha256()
        for part in (str(FORMAT), __version__, _build_digest(), *sorted(enabled), *limits):
            h.update(part.encode())
            h.update(b"\0")
        return cls(root, h.hexdigest())

    def covers(self, path: Path) -> bool:
        """Only files inside the root are cached."""
        try:
            path.resolve().relative_to(self.root)
        except (ValueError, OSError, RuntimeError):
            return False
        return True

    def key(self, data: bytes, ignored: list[str], display: str, package: str | None = None) -> str:
        """`package`: where the file's relative imports start (modules.Module.package)."""
        h = hashlib.sha256(self.settings.encode())
        h.update(b"\0nb" if display.endswith(".ipynb") else b"\0py")
        h.update(f"\0{package or ''}".encode())
        for selector in sorted(ignored):
            h.update(b"\0" + selector.encode())
        h.update(b"\0\0")
        h.update(data)
        return h.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key[2:]}.json"

    def load(self, key: str, display: str, fingerprint_path: str,
             valid: Callable[[dict[str, Any]], bool] | None = None) -> Report | None:
        """The cached report of a file, placed at `display`; None on a miss, a bad entry, or an entry whose
        dependencies `valid` rejects (an entry with dependencies and no `valid` is a miss)."""
        try:
            raw = json.loads(self._entry(key).read_bytes())
            if raw.get("format") != FORMAT:
                return None
            deps = raw["deps"]
            if not isinstance(deps, dict) or (deps and (valid is None or not valid(deps))):
                return None
            report = Report(files_checked=1)
            for item in raw["findings"]:
                f = dict(item)
                context, occurrence = f.pop("context"), f.pop("occurrence")
                fix = f.pop("fix", None)
                if not (isinstance(context, list) and all(isinstance(c, str) for c in context)
                        and isinstance(occurrence, int)):
                    return None
                finding = Finding(path=display, **f, fix=FixInfo.from_json(fix) if fix is not None else None)
                finding.fingerprint = code_fingerprint(finding.rule, fingerprint_path, context, occurrence)
                report.findings.append(finding)
            for message in raw["errors"]:
                if not isinstance(message, str):
                    return None
                report.errors.append(ToolError(display, message))
            return report
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def store(self, key: str, report: Report, inputs: dict[int, tuple[list[str], int]],
              deps: dict[str, Any] | None = None) -> None:
        """Save a file's report; `inputs` are its findings' fingerprint inputs (FileChecker), `deps` what else its
        results depend on (JSON, checked by the `valid` given to `load`)."""
        findings: list[dict[str, Any]] = []
        for f in report.findings:
            if f.confirmation is not None or id(f) not in inputs:
                return  # not a plain code finding: do not cache what cannot be reproduced
            context, occurrence = inputs[id(f)]
            findings.append({
                "rule": f.rule, "severity": f.severity, "message": f.message, "line": f.line, "column": f.column,
                "end_line": f.end_line, "end_column": f.end_column, "evidence": f.evidence, "cell": f.cell,
                "cell_line": f.cell_line, "cell_column": f.cell_column, "context": context, "occurrence": occurrence,
                "fix": f.fix.to_json() if f.fix is not None else None,
            })
        entry = {"format": FORMAT, "findings": findings, "errors": [e.message for e in report.errors],
                 "deps": deps or {}}
        path = self._entry(key)
        try:
            data = json.dumps(entry, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass")
            path.parent.mkdir(exist_ok=True)
            _atomic_write(path, data)
        except (OSError, ValueError, TypeError):
            pass  # a cache that cannot be written is only slower


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
