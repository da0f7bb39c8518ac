"""MSL3xx through the project's helpers beyond a fit in the caller's direct helper: a helper of another module
that splits (train_test_split, a KFold, a CV function), one that fits on the test part it is given (MSL303), a
helper that calls a helper of a third module, and methods of the file's classes. Each case is a small project
in tmp_path with its fixed twin, checked with and without the pre-pass (`_both_ways`), the run file also as a
notebook where a notebook can hold it (absolute imports)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import KFold, train_test_split
from sklearn.preprocessing import StandardScaler

from tests.leakage_support import notebook
from tests.test_leakage_project import _run
from tests.test_summaries import _both_ways

DATA = """\
from sklearn.model_selection import KFold, cross_val_score, train_test_split


def split_data(X, y):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    return X_tr, X_te, y_tr, y_te


def split_direct(X, y):
    return train_test_split(X, y, random_state=0)


def folds(X, y):
    kf = KFold(n_splits=5, shuffle=True, random_state=0)
    return kf.split(X, y)


def evaluate(model, X, y):
    return cross_val_score(model, X, y, cv=5).mean()


def head(frame):
    return frame.head()
"""

PREP = """\
from sklearn.preprocessing import StandardScaler


def scale(frame):
    return StandardScaler().fit_transform(frame)


def tidy(frame):
    return frame.dropna()
"""

# A helper calling helpers of third modules: a fit, a split, a cycle between two modules.
PIPE = """\
from .prep import scale, tidy
from .data import split_data


def prepare(frame):
    return scale(tidy(frame))


def clean(frame):
    return tidy(frame)


def split_clean(X, y):
    return split_data(X, y)
"""

CYCLE_A = """\
from sklearn.preprocessing import StandardScaler
from .cycle_b import back


def forth(frame, n=2):
    if n:
        return back(frame, n - 1)
    return StandardScaler().fit_transform(frame)
"""

CYCLE_B = """\
from .cycle_a import forth


def back(frame, n):
    return forth(frame, n)
"""

# Three modules below the caller: beyond the summaries' depth (summaries.DEPTH), left alone.
DEEP = {"pkg/d1.py": "from .d2 import f2\n\n\ndef f1(frame):\n    return f2(frame)\n",
        "pkg/d2.py": "from .prep import scale\n\n\ndef f2(frame):\n    return scale(frame)\n"}

HEAD = "import pandas as pd\nfrom sklearn.preprocessing import StandardScaler\n"


def _project(tmp_path: Path, run: str, name: str = "pkg/run.py") -> Path:
    root = tmp_path / "proj"
    files = {"pkg/__init__.py": "", "pkg/data.py": DATA, "pkg/prep.py": PREP, "pkg/pipe.py": PIPE,
             "pkg/cycle_a.py": CYCLE_A, "pkg/cycle_b.py": CYCLE_B, **DEEP}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "pyproject.toml").write_text("[tool.mlstablint]\n")
    code = HEAD + textwrap.dedent(run)
    if name.endswith(".ipynb"):
        (root / name).write_bytes(notebook(code))
    else:
        (root / name).write_text(code)
    return root


def _leaks(root: Path) -> list[tuple[int, str, str]]:
    return [(f.line, f.rule, f.message) for f in _run(root).findings if f.rule.startswith("MSL3")]


# (rule, the line reported, a text of the message, the run file after HEAD, its fixed twin)
CASES: dict[str, tuple[str, int, str, str, str]] = {
    "fitted before a split helper": ("MSL301", 6, "split_data(X, df", """
        from pkg.data import split_data
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = split_data(X, df["y"])
     """, """
        from pkg.data import split_data
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = split_data(df[["a", "b"]], df["y"])
        sc = StandardScaler().fit(X_tr)
        X_tr, X_te = sc.transform(X_tr), sc.transform(X_te)
     """),
    "fitted before a split helper, relative import": ("MSL301", 6, "split_direct(", """
        from .data import split_direct
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        parts = split_direct(X, df["y"])
     """, """
        from .data import split_direct
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        parts = split_direct(df[["c"]], df["y"])
     """),
    "fitted before a KFold helper's loop": ("MSL301", 6, "data.folds(", """
        from pkg import data
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        for tr, te in data.folds(X, df["y"]):
            print(X[tr].mean(), X[te].mean())
     """, """
        from pkg import data
        df = pd.read_csv("t.csv")
        X = df[["a", "b"]].to_numpy()
        for tr, te in data.folds(X, df["y"]):
            sc = StandardScaler().fit(X[tr])
            print(sc.transform(X[te]).mean())
     """),
    "fitted before a CV helper": ("MSL301", 7, "evaluate(", """
        from sklearn.linear_model import LogisticRegression
        from pkg.data import evaluate
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        print(evaluate(LogisticRegression(), X, df["y"]))
     """, """
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from pkg.data import evaluate
        df = pd.read_csv("t.csv")
        print(evaluate(make_pipeline(StandardScaler(), LogisticRegression()), df[["a", "b"]], df["y"]))
     """),
    "the split helper's test part refitted": ("MSL303", 8, "test part of `split_data", """
        from pkg.data import split_data
        df = pd.read_csv("t.csv")
        a, b, c, d = split_data(df[["a", "b"]], df["y"])
        sc = StandardScaler().fit(a)
        b = StandardScaler().fit_transform(b)
     """, """
        from pkg.data import split_data
        df = pd.read_csv("t.csv")
        a, b, c, d = split_data(df[["a", "b"]], df["y"])
        sc = StandardScaler().fit(a)
        b = sc.transform(b)
     """),
    "models chosen on the split helper's test part": ("MSL304", 11, "the best kept", """
        from sklearn.linear_model import LogisticRegression
        from pkg.data import split_data
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = split_data(df[["a", "b"]], df["y"])
        scores = {}
        for c in (0.1, 1.0, 10.0):
            m = LogisticRegression(C=c).fit(X_tr, y_tr)
            scores[c] = m.score(X_te, y_te)
        best = max(scores, key=scores.get)
     """, """
        from sklearn.linear_model import LogisticRegression
        from pkg.data import split_data
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = split_data(df[["a", "b"]], df["y"])
        X_fit, X_val, y_fit, y_val = split_data(X_tr, y_tr)
        scores = {}
        for c in (0.1, 1.0, 10.0):
            m = LogisticRegression(C=c).fit(X_fit, y_fit)
            scores[c] = m.score(X_val, y_val)
        best = max(scores, key=scores.get)
     """),
    "a helper of another module fitted on the test part": ("MSL303", 8, "(in `pkg.prep.scale()`)", """
        from sklearn.model_selection import train_test_split
        from pkg.prep import scale
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = train_test_split(df[["a", "b"]], df["y"])
        X_te = scale(X_te)
     """, """
        from sklearn.model_selection import train_test_split
        from pkg.prep import scale
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = train_test_split(df[["a", "b"]], df["y"])
        X_tr = scale(X_tr)
     """),
    "a helper fitted on the test part of a split helper": ("MSL303", 7, "(in `pkg.prep.scale()`)", """
        from pkg.data import split_direct
        from pkg.prep import scale
        X_tr, X_te, y_tr, y_te = split_direct(pd.read_csv("t.csv")[["a"]], pd.read_csv("y.csv")["y"])
        X_te = scale(X_te)
     """, """
        from pkg.data import split_direct
        from pkg.prep import scale
        X_tr, X_te, y_tr, y_te = split_direct(pd.read_csv("t.csv")[["a"]], pd.read_csv("y.csv")["y"])
        X_te = X_te.fillna(0)
     """),
    "a helper calling a fit in a third module": (
        "MSL301", 7, "(in `pkg.prep.scale()`, called through `pkg.pipe.prepare()`)", """
        from sklearn.model_selection import train_test_split
        from pkg.pipe import prepare
        df = pd.read_csv("t.csv")
        X = prepare(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """, """
        from sklearn.model_selection import train_test_split
        from pkg.pipe import clean
        df = pd.read_csv("t.csv")
        X = clean(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """),
    "a helper calling a split in a third module": ("MSL301", 6, "split_clean(", """
        from pkg.pipe import split_clean
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = split_clean(X, df["y"])
     """, """
        from pkg.pipe import split_clean
        df = pd.read_csv("t.csv")
        X_tr, X_te, y_tr, y_te = split_clean(df[["a", "b"]], df["y"])
        X_tr = StandardScaler().fit_transform(X_tr)
     """),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_helper_flows_fire_and_their_fixed_twins_do_not(tmp_path: Path, case: str) -> None:
    rule, line, text, body, fixed = CASES[case]
    root = _project(tmp_path / "leak", body)
    found = _leaks(root)
    assert [(line, r) for line, r, _ in found] == [(line, rule)], found
    assert text in found[0][2]
    assert _both_ways(root, "pkg/run.py") == [[rule], [rule]]
    twin = _project(tmp_path / "fixed", fixed)
    assert _leaks(twin) == []
    assert _both_ways(twin, "pkg/run.py") == [[], []]


@pytest.mark.parametrize("case", ["fitted before a split helper", "a helper of another module fitted on the test part",
                                  "a helper calling a fit in a third module"])
def test_helper_flows_in_a_notebook(tmp_path: Path, case: str) -> None:
    rule, _, _, body, fixed = CASES[case]
    root = _project(tmp_path / "leak", body, "pkg/run.ipynb")
    assert [r for _, r, _ in _leaks(root)] == [rule]
    assert _leaks(_project(tmp_path / "fixed", fixed, "pkg/run.ipynb")) == []


def test_a_cycle_between_helpers_ends(tmp_path: Path) -> None:
    """`forth` calls `back` calls `forth`: the summaries stop at their depth; the fit `forth` makes itself is
    still seen at the call."""
    root = _project(tmp_path, """
        from sklearn.model_selection import train_test_split
        from pkg.cycle_a import forth
        df = pd.read_csv("t.csv")
        X = forth(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """)
    assert [(line, r) for line, r, _ in _leaks(root)] == [(7, "MSL301")]


def test_a_chain_deeper_than_the_summaries_is_left_alone(tmp_path: Path) -> None:
    root = _project(tmp_path, """
        from sklearn.model_selection import train_test_split
        from pkg.d1 import f1
        df = pd.read_csv("t.csv")
        X = f1(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """)
    assert _leaks(root) == []
    assert _both_ways(root, "pkg/run.py") == [[], []]


def test_a_helper_that_splits_nothing_it_is_given_is_no_split(tmp_path: Path) -> None:
    """`head(frame)` calls no split: a fit before it has no split in sight."""
    root = _project(tmp_path, """
        from pkg.data import head
        df = pd.read_csv("t.csv")
        X = StandardScaler().fit_transform(df[["a", "b"]])
        print(head(pd.DataFrame(X)))
     """)
    assert _leaks(root) == []


def test_the_split_helper_returns_the_parts_train_test_split_returns() -> None:
    """Truth for the roles given to `split_data`'s outputs: its second output is the held-out part, the rows
    `train_test_split` (and a KFold's second index array) leave out of training."""
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X_tr, X_te, _, _ = train_test_split(X, y, test_size=0.2, random_state=0)
    assert len(X_te) == 4 and not set(X_te[:, 0]) & set(X_tr[:, 0])
    for tr, te in KFold(n_splits=5, shuffle=True, random_state=0).split(X, y):
        assert not set(tr) & set(te)
        # A scaler fitted on every row moves with a held-out row; one fitted on the training rows does not.
        changed = X.copy()
        changed[te[0]] += 1e3
        assert not np.allclose(StandardScaler().fit(changed).mean_, StandardScaler().fit(X).mean_)
        assert np.allclose(StandardScaler().fit(changed[tr]).mean_, StandardScaler().fit(X[tr]).mean_)


def test_editing_the_third_module_rechecks_the_caller(tmp_path: Path) -> None:
    """The caller's cached result depends on `pkg/prep.py` through `pkg/pipe.py` (summaries.py records every
    module a summary read, at any depth)."""
    root = _project(tmp_path, """
        from sklearn.model_selection import train_test_split
        from pkg.pipe import prepare
        df = pd.read_csv("t.csv")
        X = prepare(df[["a", "b"]])
        X_tr, X_te, y_tr, y_te = train_test_split(X, df["y"])
     """)
    assert [f.line for f in _run(root, use_cache=True).findings if f.rule == "MSL301"] == [7]
    prep = root / "pkg" / "prep.py"
    prep.write_text(PREP.replace("return StandardScaler().fit_transform(frame)", "return frame"))
    assert [f.rule for f in _run(root, use_cache=True).findings if f.rule.startswith("MSL3")] == []
    prep.write_text(PREP)
    assert [f.line for f in _run(root, use_cache=True).findings if f.rule == "MSL301"] == [7]
