"""Find the Python files to check under the given paths."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlstablint.config import DEFAULT_EXCLUDE, Config, path_matches
from mlstablint.findings import ToolError

SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as found on disk
    display: str  # relative to the current directory, POSIX, for reports
    config_rel: str  # relative to the configuration root, POSIX, for exclude / per-file-ignores


def display_path(path: Path, cwd: Path) -> str:
    return Path(os.path.relpath(path.absolute(), cwd)).as_posix()


def _config_rel(path: Path, config: Config) -> str:
    try:
        return path.absolute().relative_to(config.root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path.absolute(), config.root)).as_posix()


def _skip_dir(entry: os.DirEntry[str], rel: str, config: Config) -> bool:
    if any(path_matches(entry.name, pattern) for pattern in DEFAULT_EXCLUDE):
        return True
    if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):  # a virtualenv, whatever its name
        return True
    return config.is_excluded(rel)


def discover(paths: list[Path], config: Config, cwd: Path | None = None) -> tuple[list[SourceFile], list[ToolError]]:
    cwd = cwd or Path.cwd()
    files: dict[str, SourceFile] = {}
    errors: list[ToolError] = []

    def add(path: Path, size: int) -> None:
        rel = _config_rel(path, config)
        if config.is_excluded(rel):
            return
        display = display_path(path, cwd)
        if size > config.max_file_size:
            errors.append(ToolError(display, f"skipped: {size:,} bytes is over max-file-size "
                                             f"({config.max_file_size:,} bytes)"))
            return
        files.setdefault(display, SourceFile(path, display, rel))

    for given in paths:
        if not given.exists() and not given.is_symlink():
            errors.append(ToolError(display_path(given, cwd), "no such file or directory"))
            continue
        if given.is_file():
            add(given, given.stat().st_size)
            continue
        if not given.is_dir():
            errors.append(ToolError(display_path(given, cwd), "not a regular file or directory (broken symlink?)"))
            continue
        root = given.absolute()
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                errors.append(ToolError(display_path(folder, cwd), f"cannot list directory: {exc.strerror}"))
                continue
            for entry in entries:
                entry_path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    if not _skip_dir(entry, _config_rel(entry_path, config), config):
                        stack.append(entry_path)
                elif entry.name.endswith(SOURCE_SUFFIXES):
                    if entry.is_symlink():
                        # Never follow a link out of the tree we were asked to check.
                        try:
                            target = entry_path.resolve(strict=True)
                        except (OSError, RuntimeError):
                            message = "broken or looping symlink; skipped"
                            errors.append(ToolError(display_path(entry_path, cwd), message))
                            continue
                        if not target.is_file() or root.resolve() not in target.parents:
                            continue
                    elif not entry.is_file(follow_symlinks=False):
                        # A FIFO or socket named like a source file: opening a FIFO blocks until a writer comes.
                        errors.append(ToolError(display_path(entry_path, cwd), "not a regular file; skipped"))
                        continue
                    try:
                        size = entry.stat().st_size
                    except OSError as exc:
                        errors.append(ToolError(display_path(entry_path, cwd), f"cannot read file: {exc.strerror}"))
                        continue
                    add(entry_path, size)
    return [files[k] for k in sorted(files)], errors
