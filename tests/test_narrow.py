"""narrow.py: libcst parses only the top-level statements a selected rule can report in and what they name.
Blanking keeps every kept node where it was, and the findings are those of the whole file: on generated
programs of several defs and classes, on leakage flows through helpers of the file and of the project, and
(tests/test_perf_invariants.py) on the test material and scikit-learn's sources."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlstablint.code.engine import FileChecker
from mlstablint.code.narrow import blank, kept_statements
from mlstablint.code.prepass import CodeFacts
from mlstablint.code.rules import ALL_RULES
from tests.test_perf_invariants import CALLS, IMPORTS, NAMES, _assert_conservative, _expr
from tests.test_summaries import _both_ways, _write

ALL = {rule.id for rule in ALL_RULES}


@pytest.fixture(scope="module")
def full() -> FileChecker:
    return FileChecker(ALL, prefilter=False, fast_positions=False, verify=True)


@pytest.fixture(scope="module")
def fast() -> FileChecker:
    return FileChecker(ALL)


MIXED = (
    "# -*- coding: utf-8 -*-\r\n"
    "import numpy as np\r\n"
    "\r\n"
    "@decorator(\r\n"
    "    'é∑')\r\n"
    "def unused(x):\r\n"
    "    s = '''multi\r\n"
    "line'''\r\n"
    "    return np.tanh(x)\r\n"
    "\r\n"
    "class Kept:\r\n"
    "    def f(self, x):\r\n"
    "        return np.log(1 + x)\r\n"
    "y = Kept().f(2)"  # no final newline
)


def test_blank_keeps_every_kept_line_and_column_and_parses() -> None:
    tree = ast.parse(MIXED)
    out, order = blank(MIXED, tree, {0, 2, 3})
    assert out.count("\n") == MIXED.count("\n") and out.count("\r") == MIXED.count("\r")
    kept_lines = [n for n in range(1, 15) if not 4 <= n <= 9]
    assert [out.splitlines()[n - 1] for n in kept_lines] == [MIXED.splitlines()[n - 1] for n in kept_lines]
    assert out.splitlines()[3] == out.splitlines()[8] == '"""' and not "".join(out.splitlines()[4:8])
    assert order == [(0, 2), (None, 4), (2, 11), (3, 14)]
    blanked = cst.parse_module(out)
    assert [type(s).__name__ for s in blanked.body] == [
        "SimpleStatementLine", "SimpleStatementLine", "ClassDef", "SimpleStatementLine"]
    parsed = ast.parse(out)
    assert ast.dump(parsed.body[2], include_attributes=True) == ast.dump(tree.body[2], include_attributes=True)
    assert ast.dump(parsed.body[3], include_attributes=True) == ast.dump(tree.body[3], include_attributes=True)
    one_line = "import numpy as np\ndef f(x): return np.exp(x)\ny = 1\n"
    out, order = blank(one_line, ast.parse(one_line), {0, 2})
    assert out == 'import numpy as np\n""\ny = 1\n' and order == [(0, 1), (None, 2), (2, 3)]


CLOSURE = textwrap.dedent("""\
    import numpy as np
    SCALE = 2.0

    def helper(x):
        return inner(x)

    def inner(x):
        return x

    def unrelated(x):
        return x

    def sets_global():
        global SCALE
        SCALE = 1e300

    class Base:
        pass

    class Child(Base):
        def f(self, x):
            return np.exp(helper(x))

    run = 1
    """)


def test_kept_statements_follow_names_transitively_and_keep_global_rebinding() -> None:
    tree = ast.parse(CLOSURE)
    names = [getattr(node, "name", type(node).__name__) for node in tree.body]
    child = names.index("Child")
    keep = kept_statements(tree, CodeFacts(tree), {child})
    assert sorted(names[i] for i in keep) == sorted(
        ["Import", "Assign", "helper", "inner", "sets_global", "Base", "Child", "Assign"])
    assert names.index("unrelated") not in keep


# ---- whole checks: with and without the pre-pass (which narrows) --------------------------------------------


# Statements the rules report (with the imports they need), and inert ones no rule looks at.
HAZARDS = ["y = np.log(1 + x)", "y = np.exp(x) - 1", "y = np.log(np.sum(np.exp(x)))", "y = inv(A) @ b",
           "y = np.log(expit(x))", "y = x == np.nan", "y = math.log(1 + x)", "y = np.linalg.inv(A).dot(b)"]
HAZARD_IMPORTS = "import math\nimport numpy as np\nfrom numpy.linalg import inv\nfrom scipy.special import expit"
INERT = ["x = x + y", "y = [x, y]", "x = y", "y = str(x)"]


@st.composite
def modules(draw: st.DrawFn) -> str:
    """Imports, then defs (some methods of a class) whose bodies are generated, hazardous or inert statements,
    calling one another by name, with module-level code that may call them."""
    lines: list[str] = [HAZARD_IMPORTS, *draw(st.lists(st.sampled_from(IMPORTS), max_size=3, unique=True))]
    defs = [f"f{i}" for i in range(draw(st.integers(2, 6)))]
    in_class = draw(st.booleans())
    for i, name in enumerate(defs):
        indent = "    " if in_class and i % 2 else ""
        if in_class and i % 2:
            lines.append(f"class C{i}:")
        lines.append(f"{indent}def {name}({'self, ' if indent else ''}x, y):")
        for _ in range(draw(st.integers(1, 4))):
            form = draw(st.integers(0, 5))
            if form == 0:
                statement = f"{draw(st.sampled_from(NAMES))} = {draw(st.sampled_from(defs))}({_expr(draw, 2)}, y)"
            elif form == 1:
                statement = f"{draw(st.sampled_from(NAMES))} = {draw(st.sampled_from(CALLS))}({_expr(draw, 2)})"
            elif form == 2:
                statement = f"{draw(st.sampled_from(NAMES))} = {_expr(draw, 3)}"
            elif form == 3:
                statement = draw(st.sampled_from(HAZARDS))
            else:
                statement = draw(st.sampled_from(INERT))
            lines.append(f"{indent}    {statement}")
        lines.append(f"{indent}    return {draw(st.sampled_from(NAMES))}")
    if draw(st.booleans()):
        lines.append(f"out = {draw(st.sampled_from(defs))}({_expr(draw, 2)}, 1)")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_narrowing_is_conservative_on_generated_modules(full: FileChecker, fast: FileChecker, text: str) -> None:
    _assert_conservative(full, fast, text)


# Leakage flows whose split and fit are in different defs and classes of one file.
LEAK_CASES = {
    "fit in a helper, split in the caller": """
        import pandas as pd
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        def unrelated(frame):
            return frame.dropna()

        def prepare(frame):
            return StandardScaler().fit_transform(frame)

        def main(path):
            df = pd.read_csv(path)
            X = prepare(df[["a", "b"]])
            return train_test_split(X, df["y"])
        """,
    "split in a helper, fit in the caller": """
        import pandas as pd
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        def split(X, y):
            return train_test_split(X, y, test_size=0.2)

        def other(X):
            return X.mean()

        def main(path):
            df = pd.read_csv(path)
            X = StandardScaler().fit_transform(df[["a", "b"]])
            return split(X, df["y"])
        """,
    "a method called through self": """
        import pandas as pd
        from sklearn.model_selection import cross_val_score
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import MinMaxScaler

        class Unused:
            def go(self):
                return 1

        class Experiment:
            def scaled(self, frame):
                return MinMaxScaler().fit_transform(frame)

            def evaluate(self, path):
                df = pd.read_csv(path)
                X = self.scaled(df[["a", "b"]])
                return cross_val_score(LogisticRegression(), X, df["y"], cv=5)
        """,
    "module-level script calling a def": """
        import pandas as pd
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        def prepare(frame):
            return StandardScaler().fit_transform(frame)

        def untouched(frame):
            return frame

        df = pd.read_csv("train.csv")
        X = prepare(df[["a", "b"]])
        X_train, X_test, y_train, y_test = train_test_split(X, df["y"])
        """,
}


@pytest.mark.parametrize("case", sorted(LEAK_CASES))
def test_leakage_through_defs_of_the_file_is_found_when_narrowed(full: FileChecker, fast: FileChecker,
                                                                 case: str) -> None:
    text = textwrap.dedent(LEAK_CASES[case]).lstrip("\n")
    assert _assert_conservative(full, fast, text) >= 1
    tree = ast.parse(text)
    _, _, keeps = fast._prefilter(fast._rules_for(text, "t.py", ()), text)
    assert keeps is not None and len(set().union(*keeps.values())) < len(tree.body)  # the case leaves a def out


def test_a_split_in_another_module_keeps_the_def_that_calls_it(tmp_path: Path) -> None:
    """The caller's def holds no split word of its own: the project helper's summary gives `split_rows` them."""
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/data.py": "from sklearn.model_selection import train_test_split\n\n\n"
                       "def split_rows(X, y):\n    return train_test_split(X, y, test_size=0.25)\n",
        "pkg/run.py": textwrap.dedent("""\
            import pandas as pd
            from sklearn.preprocessing import StandardScaler
            from .data import split_rows


            def load(path):
                return pd.read_csv(path)


            def plot(frame):
                return frame.plot()


            def main(path):
                df = load(path)
                X = StandardScaler().fit_transform(df[["a", "b"]])
                return split_rows(X, df["y"])
            """),
    })
    fast, reference = _both_ways(root, "pkg/run.py")
    assert fast == reference and "MSL301" in reference


def test_code_facts_measure_the_depth_nesting_depth_does() -> None:
    """The pre-pass's depth stands in for engine.nesting_depth before libcst (max-nesting)."""
    from mlstablint.code.engine import nesting_depth
    from tests.test_perf_invariants import CORPUS

    chain = "x = " + " + ".join(["a"] * 700) + "\n"
    texts = [chain, MIXED, CLOSURE, *(p.read_text(encoding="utf-8") for p in sorted(CORPUS.rglob("*.py"))[:60])]
    for text in texts:
        tree = ast.parse(text)
        assert CodeFacts(tree).depth == nesting_depth(tree, 10**6)
    assert CodeFacts(ast.parse("")).tops == []


def test_children_read_from_the_typed_fields_are_all_children() -> None:
    """walk.child_fields leaves out the fields libcst's annotations type as trivia or strings: on real code, the
    children found are exactly those found by reading every field."""
    import dataclasses

    from mlstablint.code import walk
    from tests.test_perf_invariants import CORPUS

    def every_child(node: cst.CSTNode) -> list[cst.CSTNode]:
        found: list[cst.CSTNode] = []
        names = sorted((f.name for f in dataclasses.fields(node)), key=lambda n: 0 if n in walk._FIRST else 1)
        for name in names:
            value = getattr(node, name)
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, cst.CSTNode) and not isinstance(item, walk._TRIVIA):
                    found.append(item)
        return found

    seen = 0
    for path in sorted(CORPUS.rglob("*.py"))[:40]:
        stack: list[cst.CSTNode] = [cst.parse_module(path.read_text(encoding="utf-8"))]
        while stack:
            node = stack.pop()
            children = walk.children(node)
            assert [id(c) for c in children] == [id(c) for c in every_child(node)], type(node).__name__
            stack.extend(children)
            seen += 1
    assert seen > 10_000


def test_declared_globals_are_those_of_every_global_statement() -> None:
    """summaries._declared_globals walks statements only: it finds what a walk of every node finds."""
    from mlstablint.code.summaries import _declared_globals
    from tests.test_perf_invariants import CORPUS

    every_place = textwrap.dedent("""\
        def f():
            def g():
                global a
            if x:
                global b
            try:
                pass
            except E:
                global c
            finally:
                global d
            match y:
                case 1:
                    global e
            class K:
                global h
            while 1:
                pass
            else:
                global i
            with m:
                global j
        """)
    texts = [every_place, *(p.read_text(encoding="utf-8") for p in sorted(CORPUS.rglob("*.py"))[:80])]
    for text in texts:
        for stmt in ast.parse(text).body:
            walked = {name for node in ast.walk(stmt) if isinstance(node, ast.Global) for name in node.names}
            assert _declared_globals(stmt) == walked
    assert _declared_globals(ast.parse(every_place).body[0]) == set("abcdehij")
