"""The content-hash result cache (mlstablint/code/cache.py): hits, misses, robustness, paths."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mlstablint.code import cache as cache_module
from mlstablint.code.cache import CACHE_DIR, ResultCache
from mlstablint.code.discover import discover
from mlstablint.code.engine import FileChecker
from mlstablint.code.rules import ALL_RULES
from mlstablint.code.runner import check_files
from mlstablint.config import load_config
from mlstablint.findings import Report
from tests.conftest import run_cli

ALL = {rule.id for rule in ALL_RULES}
UNSTABLE = "import numpy as np\n\n\ndef f(x):\n    return np.log(1 + x)\n"
TWO = "import numpy as np\ny = np.log(1 + x)\nz = np.exp(x) - 1\n"


def _project(tmp_path: Path, pyproject: str = "[tool.mlstablint]\n") -> Path:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "pyproject.toml").write_text(pyproject)
    (root / "src" / "a.py").write_text(UNSTABLE)
    (root / "src" / "b.py").write_text(TWO)
    (root / "src" / "clean.py").write_text("x = 1\n")
    return root


def _run(root: Path, enabled: set[str] = ALL, use_cache: bool = True, cwd: Path | None = None,
         paths: list[Path] | None = None) -> Report:
    cwd = cwd or root
    cfg = load_config(None, sorted(ALL), cwd=cwd)
    files, errors = discover(paths or [root / "src"], cfg, cwd=cwd)
    assert not errors
    return check_files(files, cfg, enabled, jobs=1, use_cache=use_cache)


def _json(report: Report) -> list[dict[str, object]]:
    return [f.to_json() for f in report.findings] + [e.to_json() for e in report.errors]  # type: ignore[misc]


def _entries(root: Path) -> list[Path]:
    return sorted((root / CACHE_DIR).glob("*/*.json"))


@pytest.fixture
def no_checking(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make any real check fail: what still works was served from the cache."""
    def refuse(*args: object, **kwargs: object) -> Report:
        raise AssertionError("a file was checked although it should have been a cache hit")
    return lambda: monkeypatch.setattr(FileChecker, "check_source", refuse)


def test_hit_serves_identical_results_without_checking(tmp_path: Path, no_checking: Callable[[], None]) -> None:
    root = _project(tmp_path)
    cold = _run(root)
    assert len(_entries(root)) == 3
    no_checking()
    warm = _run(root)
    assert _json(warm) == _json(cold) and [f.rule for f in cold.findings] == ["MSL101", "MSL101", "MSL102"]
    assert warm.files_checked == cold.files_checked == 3


def test_content_change_is_a_miss(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run(root)
    (root / "src" / "a.py").write_text("import numpy as np\ny = np.log1p(x)\n")
    assert [f.path for f in _run(root).findings] == ["src/b.py", "src/b.py"]


def test_config_change_is_a_miss(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run(root)
    assert [f.rule for f in _run(root, enabled=ALL - {"MSL101"}).findings] == ["MSL102"]
    (root / "pyproject.toml").write_text('[tool.mlstablint]\nper-file-ignores = {"src/b.py" = ["MSL102"]}\n')
    assert [f.rule for f in _run(root).findings] == ["MSL101", "MSL101"]


def test_version_change_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    _run(root)
    before = _entries(root)
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    _run(root)
    assert len(_entries(root)) == 2 * len(before)


def test_corrupt_entries_are_ignored(tmp_path: Path) -> None:
    root = _project(tmp_path)
    cold = _json(_run(root))
    garbage = [b"", b"{", b"[]", b'{"format": 1, "findings": [{"rule": 3}], "errors": []}',
               json.dumps({"format": 1, "findings": [], "errors": [7]}).encode(), b"\xff\xfe"]
    for entry, junk in zip(_entries(root), garbage, strict=False):
        entry.write_bytes(junk)
    assert _json(_run(root)) == cold
    for entry in _entries(root):  # rewritten by the misses
        json.loads(entry.read_bytes())
    for entry in _entries(root):
        entry.unlink()
        entry.mkdir()  # unreadable as a file
    assert _json(_run(root)) == cold


def test_no_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run(root, use_cache=False)
    assert not (root / CACHE_DIR).exists()
    result = run_cli("check", "--select", "MSL", "src", "--no-cache", cwd=root)
    assert result.returncode == 1, result.stderr
    assert not (root / CACHE_DIR).exists()


def test_cache_directory_ignores_itself_in_git(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run(root)
    lines = [ln.strip() for ln in (root / CACHE_DIR / ".gitignore").read_text().splitlines()]
    assert "*" in lines


def test_cli_json_is_identical_with_and_without_cache(tmp_path: Path) -> None:
    root = _project(tmp_path)
    runs = [run_cli("check", "--select", "MSL", "src", "--format", "json", *extra, cwd=root) for extra in ((), (), ("--no-cache",))]
    assert [r.returncode for r in runs] == [1, 1, 1], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout
    assert _entries(root)


def test_moved_file_keeps_its_new_path_and_fingerprint(tmp_path: Path, no_checking: Callable[[], None]) -> None:
    root = _project(tmp_path)
    _run(root)
    (root / "src" / "pkg").mkdir()
    shutil.move(root / "src" / "a.py", root / "src" / "pkg" / "moved.py")
    expected = _json(_run(root, use_cache=False))
    no_checking()
    moved = _run(root)
    assert _json(moved) == expected
    assert {f.path for f in moved.findings} == {"src/b.py", "src/pkg/moved.py"}
    # Run from another directory: display paths change, fingerprints (project-relative) do not.
    elsewhere = _run(root, cwd=root / "src", paths=[root / "src"])
    assert {f.path for f in elsewhere.findings} == {"b.py", "pkg/moved.py"}
    assert [f.fingerprint for f in elsewhere.findings] == [f.fingerprint for f in moved.findings]


def test_files_outside_the_root_are_never_cached(tmp_path: Path) -> None:
    root = _project(tmp_path)
    outside = tmp_path / "outside.py"
    outside.write_text(UNSTABLE)
    report = _run(root, paths=[outside])
    assert [f.rule for f in report.findings] == ["MSL101"]
    assert _entries(root) == []
    cache = ResultCache.open(root, ALL)
    assert cache is not None and not cache.covers(outside) and cache.covers(root / "src" / "a.py")


def test_unwritable_cache_directory_is_only_slower(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / CACHE_DIR).write_text("not a directory")
    assert [f.rule for f in _run(root).findings] == ["MSL101", "MSL101", "MSL102"]


def test_a_file_skipped_for_max_nesting_is_checked_once_the_limit_is_raised(tmp_path: Path) -> None:
    """The limit is part of the cache key: a skip cached under one limit is not served under another."""
    root = _project(tmp_path, "[tool.mlstablint]\nmax-nesting = 100\n")
    (root / "src" / "unary.py").write_text("import numpy as np\ny = " + "-" * 250 + "(np.exp(x) - 1)\n")
    for _ in range(2):  # a cold run, then a warm one: the same skip
        skipped = _run(root)
        assert [e.message for e in skipped.errors if e.path.endswith("unary.py")] == [
            "skipped: syntax nested more than 100 deep (max-nesting)"]
    (root / "pyproject.toml").write_text("[tool.mlstablint]\nmax-nesting = 500\n")
    checked = _run(root)
    assert not checked.errors
    assert [(f.rule, f.line) for f in checked.findings if f.path.endswith("unary.py")] == [("MSL102", 2)]
