"""The import layering of the package (DESIGN.md, "Layout"), read from the sources with `ast`.

The configuration model and the shared finding model sit at the bottom floor and import no engine; the
engines (`code/`, `data/`, `spark/`, `sweep/`) and the reporters never import each other (beyond the
edges listed in ALLOWED, each with its reason) nor the command layer (`commands/`, `cli.py`); only
`commands/`, the command line and the package's Python API (`mlstablint/__init__.py`) know several
engines. Lazy imports inside functions count as much as module-level ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mlstablint"

BOTTOM = {"findings", "config", "thresholds", "catalog", "sources", "dataset"}
ENGINES = {"code", "data", "spark", "sweep"}
REPORTERS = {"report"}
# `mlstablint.lab` is Python API like `mlstablint.audit`: per-layer probes for a user's torch model (sweep/).
TOP = {"commands", "cli", "__main__", "__init__", "lab"}

# Edges between engines that are part of the design, by (importer, imported module prefix).
ALLOWED = {
    # The Spark engine computes the data auditor's mergeable partials per partition and hands the merged
    # partial to the data auditor's analysis: it is the data engine on Spark, not a peer of it.
    ("spark", "mlstablint.data"),
    # The confirmation experiments draw their sample through the data auditor's sampler and reader, the
    # conditioning sweep drops one dummy per one-hot group found the auditor's way, and the lab reads a
    # table with the auditor's reader (so that both read a file the same way).
    ("sweep", "mlstablint.data.read"),
    ("sweep", "mlstablint.data.sample"),
    ("sweep", "mlstablint.data.onehot"),
}


def _layer(module: str) -> str:
    """The layer of a dotted module name inside the package: its first component after `mlstablint`."""
    parts = module.split(".")
    if parts[0] != "mlstablint":
        return ""
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1] if len(parts) > 1 else parts
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    return imports_of(path.read_text(encoding="utf-8"), package)


def imports_of(text: str, package: str) -> list[tuple[int, str]]:
    """(line, imported module) of every import in `text`, a module of `package`, relative imports resolved."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from mlstablint import data` imports the subpackage
                candidate = f"{base}.{alias.name}"
                sub = PACKAGE.parent / Path(*candidate.split("."))
                out.append((node.lineno, candidate if sub.is_dir() or sub.with_suffix(".py").is_file() else base))
    return out


def _allowed(importer: str, imported: str) -> bool:
    target = _layer(imported)
    if not target or target == importer or target in BOTTOM:
        return True
    if importer in TOP:
        return importer != "commands" or target != "cli"
    if imported == "mlstablint":  # `from mlstablint import __version__`
        return True
    return any(importer == who and (imported == what or imported.startswith(what + "."))
               for who, what in ALLOWED)


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    layers = {_layer(_module_name(p)) for p in _sources()}
    assert layers <= BOTTOM | ENGINES | REPORTERS | TOP, layers - (BOTTOM | ENGINES | REPORTERS | TOP)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    importer = _layer(_module_name(path))
    wrong = [f"line {line}: {imported}" for line, imported in _imports(path) if not _allowed(importer, imported)]
    assert not wrong, f"{path.relative_to(PACKAGE)} ({importer}) imports across the layers: {wrong}"


def test_the_checker_sees_a_violation() -> None:
    """The checker itself: lazy and relative imports across the layers are caught, allowed ones are not."""
    text = ("import numpy\n"
            "def f():\n"
            "    from ..code import notebook\n"
            "    from mlstablint.commands.locate import find_load\n"
            "    from . import partials\n")
    found = imports_of(text, "mlstablint.data")
    assert found == [(1, "numpy"), (3, "mlstablint.code.notebook"), (4, "mlstablint.commands.locate"),
                     (5, "mlstablint.data.partials")]
    assert [_allowed("data", m) for _, m in found] == [True, False, False, True]
    assert not _allowed("code", "mlstablint.data")
    assert not _allowed("sweep", "mlstablint.spark.engine")
    assert not _allowed("config", "mlstablint.data.thresholds")
    assert not _allowed("commands", "mlstablint.cli")
    assert _allowed("commands", "mlstablint.code.notebook")
    assert _allowed("spark", "mlstablint.data.partials")
