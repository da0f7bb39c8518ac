"""Positions of flagged nodes without libcst's PositionProvider over the whole module.

PositionProvider regenerates the code of the whole module with position tracking and walks
the tree once more through MetadataWrapper: measured ~0.7 s for a 3000-line scikit-learn file,
more than parsing it. A finding only needs the positions inside the *top-level statement*
that holds it, so this runs the same position-tracking codegen (libcst's own
`PositionProvidingCodegenState`, hence the same numbers) over that statement alone, starting
at line 1, and shifts the lines by where the statement starts in the file.

Where a statement starts comes from the `ast` (its keyword's line, less the lines that
libcst's codegen emits before that keyword: leading comments and decorators), and is then
*verified*: the statement's generated code must be exactly the file's text at that line. If
anything does not line up, the caller falls back to the whole-module PositionProvider.
tests/test_perf_invariants.py compares both on corpus files.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import cast

import libcst as cst
from libcst._position import CodePosition, CodeRange
from libcst.metadata import PositionProvider
from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState


def _ast_firsts(module: cst.Module, tree: ast.Module) -> list[int] | None:
    """The ast line of each libcst top-level statement (None if the two do not line up)."""
    out: list[int] = []
    body = tree.body
    i = 0
    for stmt in module.body:
        if i >= len(body):
            return None
        out.append(body[i].lineno)
        i += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
    return out if i == len(body) else None


def statement_positions(
    module: cst.Module, text: str, tree: ast.Module, flagged: Mapping[int, Sequence[cst.CSTNode]]
) -> dict[cst.CSTNode, CodeRange] | None:
    """Positions of the nodes in `flagged` (top-level statement index -> nodes in it), as
    PositionProvider gives them; None when they cannot be computed this way."""
    firsts = _ast_firsts(module, tree)
    if firsts is None:
        return None
    line_starts = [0, *(m.end() for m in NEWLINE_RE.finditer(text))]
    last = len(module.body) - 1
    out: dict[cst.CSTNode, CodeRange] = {}
    for index, nodes in flagged.items():
        stmt = module.body[index]
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent, default_newline=module.default_newline, provider=provider)
        stmt._codegen(state)
        computed = cast("dict[cst.CSTNode, CodeRange]", provider._computed)
        if stmt not in computed:
            return None
        shift = firsts[index] - computed[stmt].start.line  # the statement's code starts at line shift + 1
        if not 0 <= shift < len(line_starts):
            return None
        code = "".join(state.tokens)
        offset = line_starts[shift]
        if not text.startswith(code, offset):
            # The module drops the newline after the last statement of a file that has none.
            if not (index == last and not module.has_trailing_newline
                    and text.startswith("".join(state.tokens[:-1]), offset)):
                return None
        for node in nodes:
            pos = computed.get(node)
            if pos is None:
                return None
            out[node] = CodeRange(CodePosition(pos.start.line + shift, pos.start.column),
                                  CodePosition(pos.end.line + shift, pos.end.column))
    return out
