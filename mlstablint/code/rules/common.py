"""Small helpers for rule messages."""

from __future__ import annotations

import libcst as cst

from mlstablint.code.exprs import source
from mlstablint.code.names import Resolver

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


# ---- helpers of the rules' fixes ----------------------------------------------------------------

_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)


def bare(node: cst.BaseExpression) -> str:
    """The source of an expression without its own parentheses (for a call argument, which needs none)."""
    return source(node.with_changes(lpar=[], rpar=[])) if node.lpar else source(node)


def operand(node: cst.BaseExpression) -> str:
    """The source of an expression, parenthesised unless it is an atom (safe inside any operator)."""
    text = source(node)
    return text if isinstance(node, _ATOMS) or node.lpar else f"({text})"


def negated(node: cst.BaseExpression) -> str:
    """`-x` for x, `x` for `-x`, `-(a + b)` for `a + b`."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and not node.lpar:
        return bare(node.expression)
    return f"-{operand(node)}"


def is_pure(node: cst.BaseExpression) -> bool:
    """A name or attribute chain: evaluating it twice costs nothing and has no effect."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def names_in(node: cst.CSTNode) -> set[str]:
    """Every identifier in an expression (keyword names too: looking them up only makes a fix rarer)."""
    import libcst.matchers as matchers  # imported on use: ~0.2 s, which most runs never pay
    return {name.value for name in matchers.findall(node, matchers.Name()) if isinstance(name, cst.Name)}


def module_of(qualname: str | None) -> str:
    return qualname.rpartition(".")[0] if qualname else ""


def call_text(func: str, call: cst.Call) -> str:
    """`call` with its function replaced by `func` (arguments and their spacing kept)."""
    return source(call.with_changes(func=cst.parse_expression(func), lpar=[], rpar=[]))


def keyword_args(
    call: cst.Call, skip: int, positional: tuple[str, ...], allowed: frozenset[str]
) -> dict[str, str] | None:
    """The arguments after the first `skip` as {keyword: source}, positional ones named by `positional`;
    None when an argument is starred or not in `allowed` (the fix would not know what it means)."""
    out: dict[str, str] = {}
    rest = call.args[skip:]
    for index, arg in enumerate(rest):
        if arg.star:
            return None
        if arg.keyword is None:
            if index >= len(positional):
                return None
            name = positional[index]
        else:
            name = arg.keyword.value
        if name not in allowed:
            return None
        out[name] = source(arg.value)
    return out


def unchanged_since(resolver: Resolver, node: cst.CSTNode, before: int) -> bool:
    """Every name in `node` still means what it meant at `before` (so the expression can move here)."""
    return all(resolver.lookup(name, before) is resolver.lookup(name) for name in names_in(node))
