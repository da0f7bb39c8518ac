"""Small helpers for rule messages."""

from __future__ import annotations

import libcst as cst

from mlstablint.code.exprs import source

MAX_SNIPPET = 60


def shorten(node: cst.CSTNode) -> str:
    """The flagged source on one line, cut to a readable length."""
    text = " ".join(source(node).split())
    return text if len(text) <= MAX_SNIPPET else text[: MAX_SNIPPET - 3] + "..."


def fix_name(call: cst.Call, name: str) -> str:
    """`name` spelled with the prefix the user wrote (`np.log` -> `np.log1p`, `log` -> `log1p`)."""
    if isinstance(call.func, cst.Attribute):
        return f"{source(call.func.value)}.{name}"
    return name
