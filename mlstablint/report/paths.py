"""Repository-relative locations for the reporters that GitHub reads (SARIF, workflow annotations).

Findings carry paths relative to the current directory; GitHub wants them relative to the
repository root: the git work tree that contains the current directory, else the current
directory itself. Only relative paths ever leave this module, never an absolute one.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from urllib.parse import quote


def work_tree_root(cwd: Path) -> Path:
    """The nearest folder at or above `cwd` holding `.git` (a folder, or a file in worktrees and
    submodules), else `cwd`. Same answer as `git rev-parse --show-toplevel`, without running git."""
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd


class Locator:
    """Maps paths as reported (relative to `cwd`) to POSIX paths relative to the work-tree root."""

    def __init__(self, cwd: Path | None = None) -> None:
        # os.getcwd() is already free of symlinks; resolve a given cwd the same way so that
        # it compares with the root found above it.
        self.cwd = Path(os.path.realpath(cwd if cwd is not None else os.getcwd()))
        self.root = work_tree_root(self.cwd)

    def relative(self, path: str) -> str | None:
        """`path` relative to the root, POSIX; None when it lies outside the root."""
        full = os.path.normpath(os.path.join(self.cwd, path))
        try:
            rel = os.path.relpath(full, self.root)
        except ValueError:  # another drive on Windows
            return None
        posix = PurePath(rel).as_posix()
        if posix == ".." or posix.startswith("../") or os.path.isabs(rel):
            return None
        return posix

    def uri(self, path: str) -> str | None:
        """A relative URI reference (RFC 3986, percent-encoded UTF-8) for `path`, or None."""
        rel = self.relative(path)
        return None if rel is None else quote(rel, safe="/")
