"""MSL2xx: linear algebra and conditioning (inverses, normal equations, raw features, log-det, scaling)."""

from __future__ import annotations

import libcst as cst

from mlstablint.code import apis, words
from mlstablint.code.exprs import same, source
from mlstablint.code.fixes import Fix, Replacement
from mlstablint.code.names import INFINITY
from mlstablint.code.rule import CodeRule
from mlstablint.code.rules.common import bare, module_of, shorten, unchanged_since
from mlstablint.code.values import INVERSE, KIND_WORDS, RAW
from mlstablint.code.walk import visit

_SOLVERS = ("inv", "pinv", "solve", "lstsq")


def _names(node: cst.CSTNode) -> set[str]:
    """Identifiers an expression mentions (keyword names excluded)."""
    found: set[str] = set()

    class Collector(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

        def visit_Arg(self, arg: cst.Arg) -> bool:
            if arg.keyword is None:  # options such as lower=False name no matrix
                visit(arg.value, self)
            return False

    visit(node, Collector())
    return found


class InvThenMultiply(CodeRule):
    """`inv(A) @ b` forms the inverse explicitly: slower and less accurate than solving."""

    id = "MSL201"
    message = ("`{expr}` multiplies by an explicit inverse, which is slower and loses up to cond(A) more accuracy "
               "than a solve; use `{fix}` (or `scipy.linalg.cho_solve` when A is symmetric positive definite).{why}")
    requires = (words.INV,)
    requires_at = (words.MATMUL,)

    def _check(self, node: cst.BaseExpression) -> None:
        operands = self.x.matmul_operands(node)
        if operands is None:
            return
        left, before = self.x.follow(operands[0])
        inverted = self.x.op_arg(left, "inv", before)
        name = self.r.call_name(left, before)
        head = ""  # `A @ ` of a product chain `A @ inv(K) @ y`
        why = ""
        if inverted is None:
            chain = self.x.matmul_operands(operands[0])
            inner = self.x.op_arg(chain[1], "inv") if chain is not None else None
            if chain is not None and inner is not None and not _names(chain[0]) - {"T", "mT", "H"} <= _names(
                    operands[1]):
                # (Sandwiches of a covariance, A.T @ inv(K) @ A, want the product itself.)
                inverted, head, name = inner, f"{source(chain[0])} @ ", self.r.call_name(chain[1])
                left = chain[1]
            elif isinstance(operands[0], cst.Attribute):
                # An inverse kept on `self` in one method and multiplied in another.
                value = self.v.value(operands[0])
                if value.kind == INVERSE and value.origin in apis.INV and value.argument is not None:
                    inverted, name, why = value.argument, value.origin, f" (Value analysis: {value.reason}.)"
        if inverted is None or self.x.gram_base(inverted, before) is not None:
            return  # the normal equations are MSL202's finding
        if same(inverted, operands[1]) or _names(inverted) <= _names(operands[1]):
            return  # inv(A) @ A (or @ triu(A)) checks an inverse; it solves nothing
        stored = operands[0]
        if isinstance(stored, cst.Attribute) and stored.attr.value in ("T", "mT", "H"):
            stored = stored.value  # `Ainv.T @ B @ Ainv`: the stored inverse, transposed
        if isinstance(stored, cst.Name) and self.ctx.uses(stored.value) > 2:
            return  # an inverse computed once and reused (covariance sandwiches, many right-hand sides)
        prefix = _module_prefix(left, name)
        self.report(node, {"inverse": name}, expr=shorten(node),
                    fix=f"{head}{prefix}solve({source(inverted)}, {source(operands[1])})", why=why)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._check(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._check(node)

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.BaseExpression)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        operands = self.x.matmul_operands(node)
        if not (operands is not None):
            return None  # the trigger changed shape: no fix rather than a wrong one
        inverse, before = self.x.follow(operands[0])
        if not (isinstance(inverse, cst.Call)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        if self.x.op(inverse, before) != "inv":
            return None
        matrix = self.x.arg(inverse)
        library = module_of(self.r.call_name(inverse, before))
        name = _SOLVE_FOR.get(library)
        spelled = self.spell(name) if name else None
        if matrix is None or spelled is None or len(inverse.args) != 1 or not unchanged_since(self.r, matrix, before):
            return None
        return Fix((Replacement(node, f"{spelled.text}({bare(matrix)}, {bare(operands[1])})"),), spelled.imports)


# The solver of the library an inverse was taken with.
_SOLVE_FOR = {
    "numpy.linalg": "numpy.linalg.solve", "scipy.linalg": "scipy.linalg.solve", "torch": "torch.linalg.solve",
    "torch.linalg": "torch.linalg.solve", "jax.numpy.linalg": "jax.numpy.linalg.solve",
    "cupy.linalg": "cupy.linalg.solve", "tensorflow.linalg": "tensorflow.linalg.solve",
}
# Least squares of the library a solve of the normal equations used, and how its solution is read.
_LSTSQ_FOR = {
    "numpy.linalg": ("numpy.linalg.lstsq", ", rcond=None)[0]"), "scipy.linalg": ("scipy.linalg.lstsq", ")[0]"),
    "jax.numpy.linalg": ("jax.numpy.linalg.lstsq", ")[0]"),
    # torch.inverse and torch.linalg.*: a 1-D y gives a 1-D solution, as the product did.
    "torch": ("torch.linalg.lstsq", ").solution"), "torch.linalg": ("torch.linalg.lstsq", ").solution"),
}


def _module_prefix(call: cst.BaseExpression, name: str | None) -> str:
    """`np.linalg.` of `np.linalg.inv(...)`, as the user spelled it (else from the qualified name)."""
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
        return source(call.func).rsplit(".", 1)[0] + "."
    if isinstance(call, cst.Call):
        return ""
    return name.rsplit(".", 1)[0] + "." if name else ""


class NormalEquations(CodeRule):
    """Solving with `X.T @ X` squares the condition number of X."""

    id = "MSL202"
    message = ("`{expr}` inverts, solves or decomposes the Gram matrix X.T @ X, which squares the condition number "
               "of X "
               "(cond 1e8 becomes 1e16, past float64's precision); use `np.linalg.lstsq(X, y)`, a QR "
               "factorisation, or a regularised estimator such as `Ridge`.")
    requires = (words.TRANSPOSED, words.MATMUL)
    requires_at = (words.SOLVERS,)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._note_chain(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._note_chain(node)
        if (self.x.op(node) not in _SOLVERS and self.r.call_name(node) not in apis.SVD_EIG) or not node.args:
            return
        base = self.x.gram_base(node.args[0].value)
        if base is None:
            return
        self.report(node, {"solver": self.r.call_name(node), "matrix": f"{source(base)}.T @ {source(base)}"},
                    expr=shorten(node))

    # ---- fix: the whole normal-equations solve, written out in one expression -> lstsq(X, y) ------------

    def _chains(self) -> dict[int, tuple[cst.BaseExpression, cst.BaseExpression, cst.BaseExpression]]:
        """id(inv call) -> (the product that applies it to X.T and y, that X.T factor, y), for this file."""
        found = self.ctx.analyses.setdefault("msl202_chains", {})
        assert isinstance(found, dict)
        return found

    def _note_chain(self, node: cst.BaseExpression) -> None:
        """Record `(inv(G) @ X.T) @ y` and `inv(G) @ (X.T @ y)` in any product spelling (`@`, `.dot`, `np.dot`).
        Products are visited before their operands, so the outermost one is recorded before the inv call's
        finding asks for it."""
        if isinstance(node, cst.Call) and _callee(node) not in _PRODUCT_NAMES:
            return  # (cheap: resolving every call's name twice per file is not)
        operands = self.x.matmul_operands(node)
        if operands is None:
            return
        inner = self.x.matmul_operands(operands[0])
        if inner is not None:
            inverse, transposed, rhs, applied = inner[0], inner[1], operands[1], operands[0]
        else:
            right = self.x.matmul_operands(operands[1])
            if right is None:
                return
            inverse, transposed, rhs, applied = operands[0], right[0], right[1], operands[1]
        if self.x.op(inverse) == "inv" and not any(_has_options(p) for p in (node, applied)):
            self._chains().setdefault(id(inverse), (node, transposed, rhs))

    def fix(self, node: cst.CSTNode) -> Fix | None:
        # solve(X.T @ X, X.T @ y) and inv(X.T @ X) @ X.T @ y written out -> lstsq(X, y): the same solution (the
        # same shape: lstsq's solution of a 1-D y is 1-D), without squaring cond(X).
        if not (isinstance(node, cst.Call)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        if len(node.args) == 1 and self.x.op(node) == "inv":
            chain = self._chains().get(id(node))
            if chain is None:
                return None
            product, transposed, rhs = chain
            target: cst.BaseExpression = product
        elif self.x.op(node) == "solve" and len(node.args) == 2:
            right = self.x.matmul_operands(node.args[1].value)
            if right is None:
                return None
            target, (transposed, rhs) = node, right
        else:
            return None
        gram = self.x.matmul_operands(node.args[0].value)
        if _has_options(node) or gram is None or _has_options(node.args[0].value):
            return None
        base, other = self.x.transposed(gram[0]), self.x.transposed(transposed)
        if base is None or other is None or not same(base, gram[1]) or not same(base, other):
            return None
        if _conjugated(gram[0]) != _conjugated(transposed) or _has_call(base):
            return None  # X.H with X.T is not least squares; X computed by a call would be evaluated once, not 3x
        found = _LSTSQ_FOR.get(module_of(self.r.call_name(node)))
        spelled = self.spell(found[0]) if found else None
        if found is None or spelled is None:
            return None
        return Fix((Replacement(target, f"{spelled.text}({bare(base)}, {bare(rhs)}{found[1]}"),), spelled.imports)


# The last name of every product spelling `matmul_operands` reads as a call (`.dot`, `np.matmul`, `torch.mm`).
_PRODUCT_NAMES = frozenset({name.rpartition(".")[2] for name in apis.MATMUL} | {"dot", "matmul", "mm"})


def _callee(call: cst.Call) -> str | None:
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None


def _has_options(node: cst.BaseExpression) -> bool:
    """A call with a keyword or starred argument (`np.dot(a, b, out=c)`): rewriting it would drop them."""
    return isinstance(node, cst.Call) and any(a.keyword is not None or a.star for a in node.args)


def _conjugated(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "H"


def _has_call(node: cst.BaseExpression) -> bool:
    import libcst.matchers as matchers  # imported on use: ~0.2 s, which most runs never pay
    return bool(matchers.findall(node, matchers.Call()))


class RawFeaturesToSolver(CodeRule):
    """A direct solver applied to raw, unscaled data columns."""

    id = "MSL203"
    message = ("`{expr}` applies `{solver}` to raw data from {origin} with no scaling on the way: unscaled, "
               "one-hot or duplicated columns make the matrix ill-conditioned or singular and the weights "
               "explode; standardise the features first, or fit `make_pipeline(StandardScaler(), Ridge())`.")
    requires = (KIND_WORDS[RAW],)
    requires_at = (words.DIRECT_SOLVERS,)

    def visit_Call(self, node: cst.Call) -> None:
        op = self.x.op(node)
        if op not in ("inv", "pinv", "solve", "lstsq") or not node.args:
            return
        matrix = node.args[0].value
        origin = self.x.is_raw(matrix)
        if origin is None:
            base = self.x.gram_base(matrix)
            origin = self.x.is_raw(base) if base is not None else None
        if origin is None:
            return
        solver = self.r.call_name(node) or op
        self.report(node, {"solver": solver, "data_source": origin}, expr=shorten(node), solver=solver,
                    origin=f"`{origin}`")


class LogDet(CodeRule):
    """`log(det(A))`: the determinant over- or underflows long before its log does."""

    id = "MSL204"
    message = ("`{expr}` takes the log of a determinant, which overflows to inf or underflows to 0 for "
               "moderate sizes (det of 0.1*I at n=400 is 1e-400); use `{fix}` and its logabsdet.")
    requires = (words.DET,)
    requires_at = (words.LOG,)

    def visit_Call(self, node: cst.Call) -> None:
        if self.x.op(node) != "log" or len(node.args) != 1:
            return
        arg, before = self.x.follow(node.args[0].value)
        inner = self.x.op_arg(arg, "abs", before)
        if inner is not None:
            arg, before = self.x.follow(inner, before)
        if self.x.op(arg, before) != "det":
            return
        assert isinstance(arg, cst.Call)
        name = self.r.call_name(arg, before) or "numpy.linalg.det"
        self.report(node, {"determinant": name}, expr=shorten(node), fix=name.rsplit(".", 1)[0] + ".slogdet")

    def fix(self, node: cst.CSTNode) -> Fix | None:
        # log(det(A)) and log(abs(det(A))), written out -> slogdet(A)[1] (log|det A|, never over- or underflows).
        if not (isinstance(node, cst.Call)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        det = node.args[0].value
        inner = self.x.op_arg(det, "abs")
        if inner is not None:
            det = inner
        if not isinstance(det, cst.Call) or self.x.op(det) != "det" or len(det.args) != 1:
            return None
        name = _SLOGDET_FOR.get(module_of(self.r.call_name(det)))
        spelled = self.spell(name) if name else None
        if spelled is None:
            return None
        return Fix((Replacement(node, f"{spelled.text}({bare(det.args[0].value)})[1]"),), spelled.imports)


_SLOGDET_FOR = {
    "numpy.linalg": "numpy.linalg.slogdet", "torch": "torch.linalg.slogdet", "torch.linalg": "torch.linalg.slogdet",
    "jax.numpy.linalg": "jax.numpy.linalg.slogdet", "cupy.linalg": "cupy.linalg.slogdet",
}


class UnscaledEstimator(CodeRule):
    """A scaling-sensitive estimator fitted on data with no scaler in its pipeline or on the way."""

    id = "MSL205"
    message = ("`{estimator}` is fitted on unscaled data from {origin}: its solver, distances or penalty depend "
               "on feature scale, so large-scale columns dominate and convergence slows or fails; use "
               "`make_pipeline(StandardScaler(), {short}(...))`.")
    libraries = frozenset({"sklearn"})
    value_hazard = False
    requires = (words.SCALE_SENSITIVE, KIND_WORDS[RAW])
    requires_at = (words.ESTIMATOR_CALLS,)

    def _estimator(self, node: cst.BaseExpression, before: int, depth: int = 0) -> str | None:
        """The scale-sensitive estimator an expression builds, unless a scaler (or an unknown step) is in it."""
        if depth > 6:
            return None
        node, before = self.x.follow(node, before)
        if not isinstance(node, cst.Call):
            return None
        name = self.r.qualname(node.func, before)
        if name in apis.SCALE_SENSITIVE:
            return name
        if name in apis.SEARCH_WRAPPERS:
            inner = self.x.arg(node, 0, "estimator")
            return self._estimator(inner, before, depth + 1) if inner is not None else None
        if name == "sklearn.pipeline.make_pipeline":
            steps = [a.value for a in node.args if a.keyword is None]
        elif name == "sklearn.pipeline.Pipeline":
            listing = self.x.arg(node, 0, "steps")
            listing = self.x.follow(listing, before)[0] if listing is not None else None
            if not isinstance(listing, (cst.List, cst.Tuple)):
                return None
            steps = []
            for element in listing.elements:
                pair = element.value
                if not isinstance(pair, cst.Tuple) or len(pair.elements) < 2:
                    return None
                steps.append(pair.elements[1].value)
        else:
            return None
        if not steps:
            return None
        for step in steps[:-1]:
            step_def, step_before = self.x.follow(step, before)
            if not isinstance(step_def, cst.Call):
                return None  # a step we cannot see may be a scaler
            step_name = self.r.qualname(step_def.func, step_before)
            if step_name not in apis.NON_SCALING_STEPS and step_name not in apis.SCALE_SENSITIVE:
                return None
        return self._estimator(steps[-1], before, depth + 1)

    def visit_Call(self, node: cst.Call) -> None:
        estimator_expr: cst.BaseExpression | None = None
        data: cst.BaseExpression | None = None
        if self.x.method(node) in apis.FIT_METHODS:
            estimator_expr = self.x.receiver(node)
            data = self.x.arg(node, 0, "X")
        elif self.r.call_name(node) in apis.CV_FUNCTIONS:
            estimator_expr = self.x.arg(node, 0, "estimator")
            data = self.x.arg(node, 1, "X")
        if estimator_expr is None or data is None:
            return
        estimator = self._estimator(estimator_expr, INFINITY)
        if estimator is None:
            return
        origin = self.x.is_raw(data)
        if origin is None:
            return
        short = estimator.rsplit(".", 1)[1]
        self.report(node, {"estimator": estimator, "data_source": origin}, estimator=short, short=short,
                    origin=f"`{origin}`")


RULES: list[type[CodeRule]] = [InvThenMultiply, NormalEquations, RawFeaturesToSolver, LogDet, UnscaledEstimator]
