"""No test, fixture or benchmark reads a path outside the checkout: a plain clone in an empty folder must
pass the README's test command (CI runs it exactly so). This catches the ways it went wrong before:
paths built from the checkout's parent folder and fixed paths under /tmp that some other step filled."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py"), *(ROOT / "fixtures").rglob("*.py")])


def _outside_reads(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        # ROOT.parent / "...": the folder that holds the checkout is not the project's.
        if (isinstance(node, ast.Attribute) and node.attr == "parent" and isinstance(node.value, ast.Name)
                and node.value.id == "ROOT"):
            found.append(f"line {node.lineno}: ROOT.parent")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text.startswith(("/tmp/", "/work/", "../shared")) or text == "shared":
                found.append(f"line {node.lineno}: {text!r}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_reads_nothing_outside_the_checkout(path: Path) -> None:
    if path.name == "test_self_contained.py":
        return
    assert _outside_reads(ast.parse(path.read_text(encoding="utf-8"))) == []
