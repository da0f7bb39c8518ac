"""The speed-ups of the code path change nothing: the ast/text pre-pass (triggers.py) never drops a
file that has findings, and statement-local positions (positions.py) equal PositionProvider's."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlstablint.catalog import load_catalog
from mlstablint.code.engine import FileChecker
from mlstablint.code.rules import ALL_RULES
from mlstablint.code.triggers import TRIGGERS, Facts, triggered

ROOT = Path(__file__).resolve().parent.parent
ALL = {rule.id for rule in ALL_RULES}
CORPUS = Path("/tmp/corpus")


@pytest.fixture(scope="module")
def full() -> FileChecker:
    """Every rule on every file, positions from PositionProvider: the reference behaviour."""
    return FileChecker(ALL, prefilter=False, fast_positions=False)


@pytest.fixture(scope="module")
def fast() -> FileChecker:
    return FileChecker(ALL)


def _snippets() -> list[str]:
    """Every code string of tests/test_rules.py, the catalogue's examples and the fixtures."""
    out: list[str] = []
    tree = ast.parse((ROOT / "tests" / "test_rules.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
            out.append(textwrap.dedent(node.value))
    for doc in load_catalog().values():
        for section in ("Example", "Use instead"):
            out.extend(doc.code_blocks(section))
    out.extend(p.read_text() for p in sorted((ROOT / "fixtures").rglob("*.py")))
    return out


SNIPPETS = _snippets()


def _assert_conservative(full: FileChecker, fast: FileChecker, text: str) -> int:
    reference = full.check_source(text, "t.py")
    facts = Facts(text)
    for finding in reference.findings:
        assert TRIGGERS[finding.rule](facts), f"{finding.rule} fired but its trigger did not hold on:\n{text}"
    if reference.findings:
        assert triggered(ALL, facts)
    got = fast.check_source(text, "t.py")
    assert [f.to_json() for f in got.findings] == [f.to_json() for f in reference.findings]
    assert got.errors == reference.errors or not ast_parses(text)
    return len(reference.findings)


def ast_parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def test_every_rule_has_a_trigger() -> None:
    assert set(TRIGGERS) == ALL


def test_prefilter_keeps_every_snippet_with_findings(full: FileChecker, fast: FileChecker) -> None:
    assert len(SNIPPETS) > 150
    fired = sum(_assert_conservative(full, fast, text) > 0 for text in SNIPPETS)
    assert fired > 100  # the snippets do exercise the rules


# Generated programs: imports under aliases, names assigned from one another, and the operations,
# methods and shapes the rules look for, combined at random.
IMPORTS = [
    "import numpy as np", "import numpy", "from numpy import exp as e, log as ln, sum as total",
    "import math", "from scipy.special import expit, softmax as sm", "import pandas as pd",
    "from numpy.linalg import inv, solve, pinv, det", "import numpy.linalg as la", "import torch",
    "from sklearn.linear_model import Ridge, LogisticRegression",
    "from sklearn.model_selection import cross_val_score", "from math import nan",
    "from sklearn.datasets import load_wine",
]
NAMES = ["x", "y", "p", "q", "X", "w", "df", "s", "A", "b", "m", "f", "g"]
CALLS = [
    "np.exp", "e", "np.log", "ln", "math.exp", "math.log", "np.sum", "total", "sum", "np.mean", "np.sqrt",
    "expit", "sm", "inv", "np.linalg.inv", "la.inv", "solve", "pinv", "det", "np.linalg.det", "pd.read_csv",
    "float", "np.clip", "np.abs", "np.square", "np.dot", "torch.log", "torch.sigmoid", "np.max", "load_wine",
    "Ridge", "LogisticRegression", "cross_val_score", "np.where", "np.log1p",
]
METHODS = ["sum", "mean", "dot", "predict", "predict_proba", "fit", "log", "max", "to_numpy", "T", "values",
           "transpose"]
LITERALS = ["1", "1.0", "2", "0.5", "'nan'", "np.nan", "nan", "-1", "0"]


def _expr(draw: st.DrawFn, depth: int) -> str:
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(NAMES + LITERALS))
    kind = draw(st.integers(0, 5))
    if kind == 0:
        args = [_expr(draw, depth - 1) for _ in range(draw(st.integers(1, 2)))]
        return f"{draw(st.sampled_from(CALLS))}({', '.join(args)})"
    if kind == 1:
        op = draw(st.sampled_from(["+", "-", "*", "/", "@", "**"]))
        return f"({_expr(draw, depth - 1)} {op} {_expr(draw, depth - 1)})"
    if kind == 2:
        method = draw(st.sampled_from(METHODS))
        receiver = _expr(draw, depth - 1)
        if method in ("T", "values"):
            return f"{receiver}.{method}"
        arguments = ", ".join(_expr(draw, depth - 1) for _ in range(draw(st.integers(0, 2))))
        return f"{receiver}.{method}({arguments})"
    if kind == 3:
        return f"-{_expr(draw, depth - 1)}"
    if kind == 4:
        return f"({_expr(draw, depth - 1)} {draw(st.sampled_from(['==', '!=']))} {_expr(draw, depth - 1)})"
    return f"{_expr(draw, depth - 1)}[:, 1]"


@st.composite
def programs(draw: st.DrawFn) -> str:
    lines: list[str] = draw(st.lists(st.sampled_from(IMPORTS), min_size=1, max_size=4, unique=True))
    for _ in range(draw(st.integers(1, 6))):
        target = draw(st.sampled_from(NAMES))
        form = draw(st.integers(0, 4))
        value = _expr(draw, 4)
        if form == 0:
            lines.append(value)
        elif form == 1:
            lines.append(f"{target} += {value}")
        elif form == 2:
            lines.append(f"{target} = {draw(st.sampled_from(CALLS))}")  # a function alias
        else:
            lines.append(f"{target} = {value}")
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_prefilter_is_conservative_on_generated_programs(full: FileChecker, fast: FileChecker, text: str) -> None:
    _assert_conservative(full, fast, text)


POSITION_CASES = [
    "import numpy as np\n\n# a comment\n\n@decorator\n@other(\n    1)\ndef f(x):\n    # c\n    return np.log(1 + x)\n",
    "import numpy as np; y = np.log(1 + x); z = np.exp(x) - 1\n",
    "import numpy as np\nclass A:\n    '''doc\n    string'''\n    def f(self):\n        return np.log(1 + x)\n",
    "import numpy as np\r\ny = np.log(\r\n    1 + x)\r\n",
    "import numpy as np\ny = np.log(1 + x)",  # no trailing newline
    "import numpy as np\nif a:\n    y = 1\n# trailing comment\n\ny = np.exp(x) - 1  # noqa: MSL109\n",
    "#!/usr/bin/env python\n# header\n\nimport numpy as np\n\n\n\ns = '''\nnp.log(1 + x)\n'''\ny = (np.log(1\n + x))\n",
    "import numpy as np\nx = \\\n    np.log(1 + x)\n\f\ny = np.exp(x) - 1\n",
]


@pytest.mark.parametrize("text", POSITION_CASES)
def test_positions_equal_position_provider(full: FileChecker, fast: FileChecker, text: str) -> None:
    reference = full.check_source(text, "t.py")
    assert reference.findings
    assert [f.to_json() for f in fast.check_source(text, "t.py").findings] == [
        f.to_json() for f in reference.findings]


def _corpus_sample() -> list[Path]:
    root = CORPUS / "scikit_learn" / "sklearn"
    names = ["linear_model/_logistic.py", "mixture/_gaussian_mixture.py", "naive_bayes.py",
             "neighbors/_kde.py", "manifold/_t_sne.py", "covariance/_robust_covariance.py",
             "linear_model/_glm/glm.py", "decomposition/_lda.py"]
    return [root / n for n in names if (root / n).is_file()]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the scikit-learn corpus is not unpacked in /tmp/corpus")
@pytest.mark.parametrize("path", _corpus_sample(), ids=lambda p: p.name)
def test_corpus_positions_and_findings_are_unchanged(full: FileChecker, fast: FileChecker, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    reference = full.check_source(text, "t.py")
    assert [f.to_json() for f in fast.check_source(text, "t.py").findings] == [
        f.to_json() for f in reference.findings]
