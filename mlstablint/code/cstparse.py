"""libcst's parse without validating each node it builds.

Every libcst node runs `_validate()` in `__post_init__` (parentheses balanced, whitespace where the grammar
needs it): that guards trees built by hand (our fixes build theirs with validation on), but the parser's own
output is valid by construction — libcst's source says so next to the call ("It might make more sense to move
validation work into the visitor, which would allow us to avoid validating the tree when parsing a file").
Measured on scikit-learn's sources: 1.8 M node validations, a quarter of the parse's time. The text given
here has already been accepted by CPython's parser (engine.py, summaries.py), so a validation error could
only be a libcst bug. tests/test_perf_invariants.py checks that the trees are equal to libcst's validated ones
and print back to the same text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import libcst as cst
from libcst._nodes.base import CSTNode


def _no_validation(self: CSTNode) -> None:
    return None


@contextmanager
def _unvalidated() -> Iterator[None]:
    validate = CSTNode.__dict__["__post_init__"]
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        CSTNode.__post_init__ = validate  # type: ignore[method-assign]


def parse_module(text: str) -> cst.Module:
    """`libcst.parse_module(text)` without validating the nodes (the same tree; the same syntax errors)."""
    with _unvalidated():
        return cst.parse_module(text)
