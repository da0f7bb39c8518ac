"""The speed-ups change nothing: the pre-pass (prepass.py, from the words each rule declares) never
drops a file or a rule that has findings, statement-local positions (positions.py) equal
PositionProvider's, and the auditor's mask-free path for clean batches and its reused work arrays
(partials.py) give numpy's and pandas' figures."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import sklearn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlstablint.catalog import load_catalog
from mlstablint.code.engine import FileChecker
from mlstablint.code.rules import ALL_RULES
from mlstablint.code.words import text_words
from mlstablint.data.partials import SAMPLE_SEED, Options, Partial, make_layout, mix64
from tests.leakage_support import src

ROOT = Path(__file__).resolve().parent.parent
ALL = {rule.id for rule in ALL_RULES}
# Real code: the sources of the scikit-learn this environment installed (a dependency of the project).
CORPUS = Path(sklearn.__file__).resolve().parent


@pytest.fixture(scope="module")
def full() -> FileChecker:
    """Every rule on every file, positions from PositionProvider: the reference behaviour. Each finding is
    checked against its rule's declared words (`verify`): a rule that fires where its words do not hold
    raises here."""
    return FileChecker(ALL, prefilter=False, fast_positions=False, verify=True)


@pytest.fixture(scope="module")
def fast() -> FileChecker:
    return FileChecker(ALL)


# Test files whose code strings are whole snippets, and those whose strings follow the leakage tests' imports.
SNIPPET_FILES = ("test_rules.py", "test_values.py", "test_rules_losses.py", "test_fix.py", "test_fix_numerics.py",
                 "test_fix_numerics_losses.py", "test_fix_numerics_loss_libraries.py")
LEAKAGE_FILES = ("test_leakage.py", "test_leakage_flows.py", "test_leakage_helpers.py")


def _snippets() -> list[str]:
    """Every code string of the rule, value, fix and leakage tests, the catalogue's examples and the fixtures."""
    out: list[str] = []
    for name in (*SNIPPET_FILES, *LEAKAGE_FILES):
        tree = ast.parse((ROOT / "tests" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
                out.append(src(node.value) if name in LEAKAGE_FILES else textwrap.dedent(node.value).lstrip("\n"))
    for doc in load_catalog().values():
        for section in ("Example", "Use instead"):
            out.extend(doc.code_blocks(section))
    out.extend(p.read_text() for p in sorted((ROOT / "fixtures").rglob("*.py")))
    return out


SNIPPETS = _snippets()


def _assert_conservative(full: FileChecker, fast: FileChecker, text: str) -> int:
    reference = full.check_source(text, "t.py")
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


def test_every_rule_declares_its_words() -> None:
    """Every rule but the NaN comparison (whose words are all in `requires_at`) needs some word in the file."""
    for rule in ALL_RULES:
        assert rule.requires or rule.requires_at or rule.requires_either, rule.id


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
    root = CORPUS
    names = ["linear_model/_logistic.py", "mixture/_gaussian_mixture.py", "naive_bayes.py",
             "neighbors/_kde.py", "manifold/_t_sne.py", "covariance/_robust_covariance.py",
             "linear_model/_glm/glm.py", "decomposition/_lda.py"]
    return [root / n for n in names]  # all of them: a missing file fails instead of shrinking the test


@pytest.mark.parametrize("path", _corpus_sample(), ids=lambda p: p.name)
def test_corpus_positions_and_findings_are_unchanged(full: FileChecker, fast: FileChecker, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    reference = full.check_source(text, "t.py")
    assert [f.to_json() for f in fast.check_source(text, "t.py").findings] == [
        f.to_json() for f in reference.findings]


def test_unvalidated_parse_gives_libcst_trees_and_restores_validation() -> None:
    """cstparse.parse_module skips the nodes' validation while parsing: on real code the tree equals libcst's
    validated one and prints back to the text; libcst's syntax errors stay; validation is back afterwards."""
    import libcst as cst

    from mlstablint.code.cstparse import parse_module

    paths = sorted(CORPUS.rglob("*.py"))[::25]
    assert len(paths) >= 20
    for path in paths:
        text = path.read_text(encoding="utf-8")
        tree = parse_module(text)
        assert tree.code == text and tree.deep_equals(cst.parse_module(text)), path
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def f(:\n")
    with pytest.raises(cst.CSTValidationError):  # an unbalanced parenthesis, built by hand: validated again
        cst.Name("x", lpar=[cst.LeftParen()])


# ---- the auditor's partial statistics (partials.py) against numpy and pandas ---------------------


def _table(rows: int, seed: int, dirty: bool) -> pa.Table:
    """Dummies, integers, wide-scale floats, exp-overflowing values, repeated rows; NaN/inf/nulls if dirty."""
    rng = np.random.default_rng(seed)
    base = rows * 2 // 3
    pick = np.concatenate([np.arange(base), rng.integers(0, base, rows - base)])
    level = rng.integers(0, 4, base)[pick]
    big = rng.normal(1e9, 1e3, base)[pick]  # a large mean: the corrected two-pass matters
    cols: dict[str, pa.Array | np.ndarray] = {f"d{k}": (level == k).astype(np.uint8) for k in range(4)}
    cols["count"] = rng.integers(-3, 3, base)[pick]
    cols["big"] = big
    cols["hot"] = np.where(rng.random(base) < 0.3, 750.0, rng.normal(0, 1, base))[pick]
    cols["half"] = np.round(rng.random(base), 1)[pick]
    # Repeats that differ only by the sign of a zero are duplicates (pandas: -0.0 == 0.0).
    cols["zero"] = np.where(np.arange(rows) >= base, -0.0, 0.0) * (rng.random(rows) < 0.5)
    if dirty:
        tail = rows - rows // 3  # only the last third: clean and dirty batches in one table
        v = cols["half"].copy()
        v[tail::17] = np.nan
        v[tail + 3::29] = np.inf
        v[tail + 5::31] = -np.inf
        cols["half"] = v
        cols["count"] = pa.array([None if i >= tail and i % 13 == 0 else int(c) for i, c in enumerate(cols["count"])],
                                 type=pa.int64())
    cols["y"] = rng.integers(0, 2, rows)
    return pa.table(cols)


def _partial(table: pa.Table, batch: int, sample_rows: int = 0) -> Partial:
    partial = Partial(make_layout(table.schema, "y", None), Options(sample_rows=sample_rows))
    for b in table.to_batches(max_chunksize=batch):
        partial.update(b)
    return partial


@pytest.mark.parametrize("dirty", [False, True])
@pytest.mark.parametrize("batch", [97, 1000, 10_000])
def test_partial_statistics_equal_numpy(dirty: bool, batch: int) -> None:
    table = _table(3000, 7, dirty)
    p = _partial(table, batch)
    frame = table.drop(["y"]).to_pandas()
    x = frame.to_numpy(dtype=np.float64)  # nulls -> NaN
    finite = np.isfinite(x)
    masked = np.where(finite, x, np.nan)
    np.testing.assert_array_equal(p.count, finite.sum(axis=0))
    np.testing.assert_allclose(p.mean, np.nanmean(masked, axis=0), rtol=1e-13)
    np.testing.assert_allclose(p.variance, np.nanvar(masked, axis=0, ddof=1), rtol=1e-9)
    np.testing.assert_array_equal(p.min, np.nanmin(masked, axis=0))
    np.testing.assert_array_equal(p.max, np.nanmax(masked, axis=0))
    np.testing.assert_array_equal(p.nans + p.nulls, np.isnan(x).sum(axis=0))
    np.testing.assert_array_equal(p.posinf, (x == np.inf).sum(axis=0))
    np.testing.assert_array_equal(p.zeros, (masked == 0).sum(axis=0))
    np.testing.assert_array_equal(p.nonbinary, (finite & (x != 0) & (x != 1)).sum(axis=0))
    np.testing.assert_array_equal(p.above_f64, (finite & (x > 709.782712893384)).sum(axis=0))
    assert p.incomplete_rows == int((~finite.all(axis=1)).sum())
    for j, values in enumerate(p.distinct):
        expected = np.unique(masked[finite[:, j], j])
        assert (values is None) == (expected.size > 64)
        if values is not None:
            np.testing.assert_array_equal(values, expected)
    ones_x = np.column_stack([np.ones(len(x)), np.where(finite, x, 0.0)])
    assert p.gram is not None
    np.testing.assert_allclose(p.gram, ones_x.T @ ones_x, rtol=1e-12, atol=1e-6)
    # Duplicated feature rows: as many distinct row hashes as pandas finds distinct rows.
    assert np.unique(p.hashes()).size == len(frame.drop_duplicates())


def test_reused_work_arrays_do_not_leak_between_partials() -> None:
    """Two tables streamed in alternation give what each gives alone; a kept sample is a copy."""
    a, b = _table(2000, 1, False), _table(2000, 2, True)
    alone_a, alone_b = _partial(a, 500, sample_rows=600), _partial(b, 500, sample_rows=600)
    pa_, pb_ = (Partial(make_layout(t.schema, "y", None), Options(sample_rows=600)) for t in (a, b))
    for ba, bb in zip(a.to_batches(max_chunksize=500), b.to_batches(max_chunksize=500), strict=True):
        pa_.update(ba)
        pb_.update(bb)
    for alone, mixed in ((alone_a, pa_), (alone_b, pb_)):
        np.testing.assert_array_equal(alone.hashes(), mixed.hashes())
        np.testing.assert_array_equal(alone.mean, mixed.mean)
        np.testing.assert_array_equal(alone.sample_values, mixed.sample_values)
        assert alone.gram is not None and mixed.gram is not None
        np.testing.assert_array_equal(alone.gram, mixed.gram)
    # The sample is the rows with the smallest keys (not a buffer overwritten by a later batch).
    x = a.drop(["y"]).to_pandas().to_numpy(dtype=np.float64)
    keys = mix64(alone_a.hashes() ^ SAMPLE_SEED)
    np.testing.assert_array_equal(alone_a.sample_values, x[np.sort(np.argsort(keys, kind="stable")[:600])])


def test_text_words_of_adjacent_literals_and_comment_banners() -> None:
    """The text stage joins adjacent literals (`"na" "n"` spells nan) and stays linear on a `####` banner after
    a string, which a backtracking pattern split in exponentially many ways."""
    joined = text_words('x = float("na" "n")\n')
    assert joined is not None and {"x", "float", "nan"} <= joined
    banner = text_words('s = "a"  ' + "#" * 64 + "\nt = 1\n")
    assert banner is not None and {"s", "a", "t"} <= banner


_PIECES = ['"', "'", " ", "\\", "\\\n", "\\\r\n", "\n", "#", "a", "na", "n", "t", "_x", "é", "1", "r", "b", "\\t",
           "\\n", "\t", "''", '""', "(", "+"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=16).map("".join))
def test_text_words_equal_the_words_of_both_readings(text: str) -> None:
    """The text stage reads the joined reading's words only where it differs from the text: the result is the
    words of the text and of the whole joined reading (adjacent literals joined, letter escapes blanked)."""
    from mlstablint.code import words

    joined = words._LETTER_ESCAPE.sub(" ", words._ADJACENT.sub("", text))
    found = text_words(text)
    if found is not None:  # `1` is always in (and TINY where a literal may be tiny, and the operators present)
        assert found - {words.TINY, *words.OPERATORS} == (
            set(words.WORD.findall(text)) | set(words.WORD.findall(joined)) | {words.ONE})


def test_text_words_on_real_files_equal_the_words_of_both_readings() -> None:
    from mlstablint.code import words

    compared = 0
    for path in sorted(CORPUS.rglob("*.py"))[::7]:
        text = path.read_text(encoding="utf-8")
        joined = words._LETTER_ESCAPE.sub(" ", words._ADJACENT.sub("", text))
        found = text_words(text)
        if found is None:  # a numeric escape: the text cannot bound the words
            continue
        compared += 1
        assert found - {words.TINY, *words.OPERATORS} == (
            set(words.WORD.findall(text)) | set(words.WORD.findall(joined)) | {words.ONE}), path
    assert compared >= 50
