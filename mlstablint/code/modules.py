"""The checked project's modules: which file a dotted module name stands for (cross-module summaries).

A file's module name follows the package structure, as Python's and mypy's: `pkg/sub/mod.py` is
`pkg.sub.mod` when `pkg/` and `pkg/sub/` hold an `__init__.py`, and its relative imports start from
`pkg.sub`. The folders above, up to the project root, give further names (`src.pkg.sub.mod`, and
`scripts.train` for a script folder without `__init__.py`), for projects run from another folder; a
name that two files claim stands for neither. Only the files being checked are the project's modules:
a helper outside the checked paths is unknown to its callers, as a library function is.

This module reads no file and imports no parser: the runner builds the index before any check.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlstablint.code.words import is_word_char


@dataclass(frozen=True)
class Module:
    name: str  # the name its package structure gives it
    path: str  # absolute, as found
    display: str  # as reports show it
    rel: str  # relative to the project root, POSIX (what the cache stores)
    # Where relative imports start (`pkg.sub` for `pkg/sub/mod.py` and `pkg/sub/__init__.py`); None for a
    # top-level module, whose relative imports Python rejects.
    package: str | None


@dataclass
class ModuleIndex:
    by_name: dict[str, Module] = field(default_factory=dict)
    by_path: dict[str, Module] = field(default_factory=dict)
    # Last component of a module's names (`helpers` for `pkg.helpers`, `pkg` for `pkg/__init__.py`) -> modules:
    # a file that imports a module names it by that word.
    by_last: dict[str, list[Module]] = field(default_factory=dict)

    def of_path(self, path: Path | str) -> Module | None:
        return self.by_path.get(os.path.abspath(path))

    def find(self, dotted: str) -> tuple[Module, str] | None:
        """`pkg.helpers.f` -> (the module `pkg.helpers`, "f"): a module of the project and one name in it."""
        module, _, name = dotted.rpartition(".")
        found = self.by_name.get(module) if module else None
        return (found, name) if found is not None else None

    def mentions(self, present: frozenset[str] | None) -> dict[str, list[str]] | None:
        """The words of a file (`words.text_words`) that name modules here, with those modules' files (None when
        the text could not bound its words)."""
        if present is None:
            return None
        return {last: sorted(m.rel for m in self.by_last[last]) for last in sorted(present & self.by_last.keys())}

    def digest(self) -> str:
        """What module names stand for which files (part of every cache key: resolution depends on it)."""
        h = hashlib.sha256()
        for name in sorted(self.by_name):
            h.update(f"{name}={self.by_name[name].rel}\0".encode())
        return h.hexdigest()


# A relative import (`from . import f`, `from ..sub import g`): it names a module without spelling its name. The
# word boundary before `from` is checked apart: a pattern that starts with `\b` is not searched for its literal
# prefix (measured 30x slower on scikit-learn).
_RELATIVE = re.compile(r"from[\s\\]*\.")


def package_words(package: str | None, text: str) -> frozenset[str]:
    """The words a file's relative imports stand for: the components of its package when its text may hold one
    (`from . import f` in pkg/sub/mod.py imports from `pkg.sub`, `from .. import f` from `pkg`)."""
    if package is None or not any(match.start() == 0 or not is_word_char(text[match.start() - 1])
                                  for match in _RELATIVE.finditer(text)):
        return frozenset()
    return frozenset(package.split("."))


def _identifier_path(parts: list[str]) -> bool:
    return bool(parts) and all(part.isidentifier() for part in parts)


def build_index(files: Iterable[tuple[Path, str]], root: Path) -> ModuleIndex:
    """The modules of the checked files (`(path, display)` pairs; `.py` files only: stubs and notebooks are
    not imported as the project's code)."""
    root = Path(os.path.abspath(root))
    packages: dict[Path, bool] = {}

    def is_package(folder: Path) -> bool:
        if folder not in packages:
            packages[folder] = (folder / "__init__.py").is_file()
        return packages[folder]

    claims: dict[str, list[Module]] = {}
    index = ModuleIndex()
    for path, display in files:
        if path.suffix != ".py":
            continue
        absolute = Path(os.path.abspath(path))
        init = absolute.name == "__init__.py"
        parts = [] if init else [absolute.stem]
        folder = absolute.parent
        if init:
            parts.insert(0, folder.name)
            folder = folder.parent
        while is_package(folder) and folder != folder.parent:
            parts.insert(0, folder.name)
            folder = folder.parent
        if not _identifier_path(parts):
            continue
        primary = ".".join(parts)
        package = primary if init else (primary.rpartition(".")[0] or None)
        try:
            rel = absolute.relative_to(root).as_posix()
        except ValueError:
            rel = absolute.as_posix()
        module = Module(primary, str(absolute), display, rel, package)
        index.by_path[str(absolute)] = module
        names = [primary]
        while folder != root and root in folder.parents and folder.name.isidentifier():
            parts.insert(0, folder.name)
            names.append(".".join(parts))
            folder = folder.parent
        for name in names:
            claims.setdefault(name, []).append(module)
    for name, modules in claims.items():
        if len(modules) == 1:
            index.by_name[name] = modules[0]
            index.by_last.setdefault(name.rpartition(".")[2], [])
            if modules[0] not in index.by_last[name.rpartition(".")[2]]:
                index.by_last[name.rpartition(".")[2]].append(modules[0])
    return index
