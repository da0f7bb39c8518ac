"""Configuration: `[tool.mlstablint]` in the nearest pyproject.toml, overridden by CLI flags.

Rule selection follows ruff: selectors are rule ids or prefixes (`MSL1`, `MSL20`), `ALL`
means every rule, and when both `select` and `ignore` match a rule the more specific
(longer) selector wins; on a tie, `ignore` wins.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mlstablint.sources import DataSource, parse_source
from mlstablint.thresholds import ThresholdError, Thresholds

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef]


class ConfigError(Exception):
    """Bad configuration or bad selectors: reported in one line, exit 2."""


# Keys accepted in [tool.mlstablint]; anything else is an error, as a typo would otherwise
# silently disable what the user meant to configure.
KNOWN_KEYS = {"select", "ignore", "per-file-ignores", "exclude", "extend-exclude",
              # the data auditor (mlstablint.data): tables, target, test table, design options, thresholds
              "data", "target", "test-data", "features", "intercept", "thresholds",
              # the confirmation micro-sweeps (mlstablint.sweep.confirm): their total time budget in seconds
              "sweep-budget",
              # where the data auditor runs: "local" or "spark" (mlstablint.spark), and the Spark master URL
              "engine", "spark-master",
              # per-file limits of the code checker (docs/security.md): bytes, and expression nesting depth
              "max-file-size", "max-nesting",
              # autofix (mlstablint.code.fixer): apply fixes by default, allow unsafe ones, which rules may be fixed
              "fix", "unsafe-fixes", "fixable", "unfixable"}

ENGINES = ("local", "spark")

# A source file larger than this is skipped with a notification: libcst's parse of generated code that
# size takes minutes and its tree ~100x the text in memory.
DEFAULT_MAX_FILE_SIZE = 10_000_000
# Expressions nested deeper than this are skipped with a notification: libcst's native parser takes
# time superlinear in the depth (measured: a 1,000-term `a + b + ...` chain 1.1 s, 2,000 terms 12 s, 3,500
# terms 71 s), and that parse cannot be interrupted. Hand-written code rarely nests beyond ~30.
DEFAULT_MAX_NESTING = 500

# Directories never descended into when walking (explicitly given paths are still checked).
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", ".eggs", "*.egg-info",
    "build", "dist", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".mlstablint_cache", ".ipynb_checkpoints", "node_modules", "site-packages", "__pypackages__",
)


@dataclass
class Config:
    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    # Directory that relative patterns (exclude, per-file-ignores) are anchored at.
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None
    # Data auditor settings (paths resolved against the configuration's folder; URIs kept as written).
    data: list[DataSource] = field(default_factory=list)
    target: str | None = None
    test_data: DataSource | None = None
    features: list[str] | None = None
    intercept: bool = True
    thresholds: dict[str, Any] = field(default_factory=dict)
    sweep_budget: float | None = None  # seconds for all confirmation experiments (None: the default)
    engine: str = "local"  # where tables are audited: "local" or "spark"
    spark_master: str | None = None  # the Spark master URL (None: the active session's, or local[*])
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; larger source files are skipped with a notification
    max_nesting: int = DEFAULT_MAX_NESTING  # syntax tree depth; deeper files are skipped with a notification
    fix: bool = False  # `check` applies fixes as with --fix
    unsafe_fixes: bool = False  # unsafe fixes count as applicable, as with --unsafe-fixes
    fixable: list[str] = field(default_factory=lambda: ["ALL"])  # rules whose fixes may be applied...
    unfixable: list[str] = field(default_factory=list)  # ...except these (the more specific selector wins)

    def enabled_rules(self, known: Iterable[str], opt_in: Iterable[str] = ()) -> set[str]:
        """The selected rules; an `opt_in` rule (outside the default set) needs a selector other than
        ALL that matches it (`MSL109`, `MSL1`, `MSL`), as ruff's preview rules need opting in."""
        outside = set(opt_in)
        return {rule for rule in known if is_selected(rule, self.select, self.ignore) and (
            rule not in outside or _best(rule, [s for s in self.select if s != "ALL"]) >= 0)}

    def is_fixable(self, rule: str) -> bool:
        return is_selected(rule, self.fixable, self.unfixable)

    def ignored_for(self, rel_path: str) -> list[str]:
        """Selectors that per-file-ignores applies to the file at `rel_path` (POSIX, relative to root)."""
        out: list[str] = []
        for pattern, selectors in self.per_file_ignores.items():
            if path_matches(rel_path, pattern):
                out.extend(selectors)
        return out

    def is_excluded(self, rel_path: str) -> bool:
        return any(path_matches(rel_path, p) for p in self.exclude)

    def fingerprint(self) -> str:
        """Everything that changes results, for cache keys."""
        return repr((sorted(self.select), sorted(self.ignore), sorted(self.per_file_ignores.items())))


def path_matches(rel_path: str, pattern: str) -> bool:
    """Glob match of a POSIX relative path; a pattern without '/' also matches any path component."""
    pattern = pattern.strip()
    if pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = pattern.rstrip("/")
    if fnmatch.fnmatchcase(rel_path, pattern):
        return True
    parts = PurePosixPath(rel_path).parts
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in parts)
    # A directory pattern excludes everything beneath it.
    return any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), pattern) for i in range(len(parts)))


def selector_length(selector: str) -> int:
    return 0 if selector == "ALL" else len(selector)


def _best(rule: str, selectors: Sequence[str]) -> int:
    return max((selector_length(s) for s in selectors if s == "ALL" or rule.startswith(s)), default=-1)


def is_selected(rule: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    s, i = _best(rule, select), _best(rule, ignore)
    return s >= 0 and s > i


def validate_selectors(selectors: Iterable[str], known: Iterable[str], what: str) -> list[str]:
    known = list(known)
    out = []
    for raw in selectors:
        sel = raw.strip().upper()
        if not sel:
            continue
        if sel != "ALL" and not any(rule.startswith(sel) for rule in known):
            raise ConfigError(f"unknown rule selector {raw!r} in {what} (see `mlstablint rules`)")
        out.append(sel)
    return out


def split_selectors(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a [tool.mlstablint] table."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{candidate}: cannot read configuration: {exc}") from None
            if isinstance(data.get("tool"), dict) and "mlstablint" in data["tool"]:
                return candidate
    return None


def _str_list(value: Any, key: str, source: Path) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: [tool.mlstablint] {key} must be a list of strings")
    return list(value)


def load_config(explicit: Path | None, known_rules: Iterable[str], cwd: Path | None = None) -> Config:
    cwd = cwd or Path.cwd()
    source = explicit if explicit is not None else find_pyproject(cwd)
    if source is None:
        return Config(root=cwd)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: configuration file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read configuration: {exc}") from None
    # pyproject.toml and any file with a [tool.mlstablint] table use it; other files are the table itself.
    tool = data.get("tool")
    if isinstance(tool, dict) and "mlstablint" in tool:
        table = tool["mlstablint"]
    elif source.name == "pyproject.toml":
        table = {}
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.mlstablint] must be a table")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown [tool.mlstablint] key(s): {', '.join(unknown)}")
    known = list(known_rules)
    cfg = Config(root=source.parent.resolve(), source=source)
    if "select" in table:
        cfg.select = validate_selectors(_str_list(table["select"], "select", source), known, str(source))
    if "ignore" in table:
        cfg.ignore = validate_selectors(_str_list(table["ignore"], "ignore", source), known, str(source))
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{source}: [tool.mlstablint] per-file-ignores must be a table of pattern = [ids]")
    cfg.per_file_ignores = {
        pattern: validate_selectors(_str_list(ids, f"per-file-ignores.{pattern}", source), known, str(source))
        for pattern, ids in pfi.items()
    }
    cfg.exclude = _str_list(table.get("exclude", []), "exclude", source) + _str_list(
        table.get("extend-exclude", []), "extend-exclude", source
    )
    _load_data_settings(cfg, table, source)
    if "sweep-budget" in table:
        budget = table["sweep-budget"]
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 <= budget < float("inf"):
            raise ConfigError(f"{source}: [tool.mlstablint] sweep-budget must be a number of seconds >= 0")
        cfg.sweep_budget = float(budget)
    if "engine" in table:
        if table["engine"] not in ENGINES:
            raise ConfigError(f"{source}: [tool.mlstablint] engine must be one of {', '.join(map(repr, ENGINES))}")
        cfg.engine = table["engine"]
    if "spark-master" in table:
        if not isinstance(table["spark-master"], str) or not table["spark-master"]:
            raise ConfigError(f"{source}: [tool.mlstablint] spark-master must be a master URL string")
        cfg.spark_master = table["spark-master"]
    for key in ("fix", "unsafe-fixes"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"{source}: [tool.mlstablint] {key} must be true or false")
            setattr(cfg, key.replace("-", "_"), table[key])
    for key in ("fixable", "unfixable"):
        if key in table:
            setattr(cfg, key, validate_selectors(_str_list(table[key], key, source), known, str(source)))
    for key in ("max-file-size", "max-nesting"):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{source}: [tool.mlstablint] {key} must be a positive integer")
            setattr(cfg, key.replace("-", "_"), value)
    return cfg


def _load_data_settings(cfg: Config, table: dict[str, Any], source: Path) -> None:
    """`data`, `target`, `test-data`, `features`, `intercept` and the `thresholds` table, validated."""
    root = source.parent

    def resolved(text: str) -> DataSource:
        named = parse_source(text)
        return parse_source(root / text) if named.kind == "path" else named

    cfg.data = [resolved(p) for p in _str_list(table.get("data", []), "data", source)]
    for key in ("target", "test-data"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{source}: [tool.mlstablint] {key} must be a string")
    cfg.target = table.get("target")
    cfg.test_data = resolved(table["test-data"]) if "test-data" in table else None
    if "features" in table:
        cfg.features = _str_list(table["features"], "features", source)
    if "intercept" in table:
        if not isinstance(table["intercept"], bool):
            raise ConfigError(f"{source}: [tool.mlstablint] intercept must be true or false")
        cfg.intercept = table["intercept"]
    thresholds = table.get("thresholds", {})
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{source}: [tool.mlstablint] thresholds must be a table")
    try:
        Thresholds().with_overrides(thresholds, "[tool.mlstablint.thresholds]")
    except ThresholdError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    cfg.thresholds = dict(thresholds)
