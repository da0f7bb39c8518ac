"""libcst parses only the top-level statements a finding can come from, and what they use.

Parsing with libcst and walking the tree cost ~20x `ast.parse` per line, and most of a large module's
defs and classes hold no statement where a selected rule's `requires_at` words hold (prepass.CodeFacts).
Those are left out of what libcst parses, with what they need kept in:

- every top-level statement that is not a def or a class (imports, constants, aliases, script code);
- every def or class holding a unit where a selected rule's words hold (`CodeFacts.statements`);
- every def or class that a kept statement names (a helper the value analysis or the leakage flow
  follows, a base class whose methods set `self.` attributes), transitively, and every def that rebinds a
  module's name (`global`).

The same sets are computed per rule (engine.FileChecker._statements): libcst parses their union, and each
rule walks only its own (the names' resolver walks all), so a class kept for one rule's log is not read by the
leakage flow. Statements left out are blanked, not removed: each run of them becomes one string literal over the
same lines (`blank`), so every kept node keeps its line and column, and positions, fingerprints and fixes are
those of the whole file. Verify mode checks that every finding of the test material lies in a statement its rule keeps;
tests/test_perf_invariants.py and tests/test_narrow.py compare findings with and without the pre-pass on the
test material, generated programs of several defs and classes, and scikit-learn's sources.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from mlstablint.code.prepass import CodeFacts

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


def statement_lines(stmt: ast.stmt) -> tuple[int, int]:
    """The first line of a top-level statement (its first decorator's) and its last line."""
    first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])
    return first, stmt.end_lineno if stmt.end_lineno is not None else stmt.lineno


def kept_statements(tree: ast.Module, facts: CodeFacts, candidates: Iterable[int]) -> set[int]:
    """The top-level statements (indices of `tree.body`) to parse: `candidates`, the statements that are no
    def or class, and the defs and classes those name, transitively."""
    body = tree.body
    keep = {index for index, node in enumerate(body) if not isinstance(node, DEFINITIONS)}
    keep.update(candidates)
    keep.update(index for index, (start, end) in enumerate(facts.tops)
                if any(start <= unit < end for unit in facts.rebinding_units))
    defined: dict[str, list[int]] = {}
    for index, node in enumerate(body):
        if isinstance(node, DEFINITIONS):
            defined.setdefault(node.name, []).append(index)
    pending = list(keep)
    while pending:
        for word in facts.top_words(pending.pop()):
            for index in defined.get(word, ()):
                if index not in keep:
                    keep.add(index)
                    pending.append(index)
    return keep


def blank(text: str, tree: ast.Module, keep: set[int]) -> tuple[str, list[tuple[int | None, int]]]:
    """`text` with each run of consecutive top-level statements not in `keep` made one string literal over the
    same lines (`\"\"\"` on its first and last line, its other lines empty; `""` for a run of one line), and
    per statement of that text, in order, its index in `tree.body` (None for a run) and its first line. Every
    kept statement keeps its lines and columns; libcst reads a run as one token, where blank lines cost it a
    node each (measured: 60,000 blank lines took 0.22 s to parse, a string over them 0.001 s)."""
    lines = _LINE.findall(text)
    order: list[tuple[int | None, int]] = []
    run: list[int] = []

    def close() -> None:
        if not run:
            return
        first, last = statement_lines(tree.body[run[0]])[0], statement_lines(tree.body[run[-1]])[1]
        string_over(lines, first - 1, last - 1)
        order.append((None, first))
        run.clear()

    for index, node in enumerate(tree.body):
        if index in keep:
            close()
            order.append((index, node.lineno))
        else:
            run.append(index)
    close()
    return "".join(lines), order


def string_over(lines: list[str], first: int, last: int) -> None:
    """Make lines `first`..`last` (0-based, inclusive; each with or without its line break, which is kept) one
    string literal: `\"\"\"` on the first and the last, the others empty; `""` when it is one line."""
    for number in range(first, last + 1):
        line = lines[number]
        ending = line[len(line.rstrip("\r\n")):]
        mark = '""' if first == last else '"""' if number in (first, last) else ""
        lines[number] = mark + ending
