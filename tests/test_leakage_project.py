"""MSL301/MSL302 through helpers of the project's *other* modules: a function of another checked module that
fits a scaler on its argument, reads and scales its own rows, or resamples, counts at its call as the same
function in the caller's file would (dataflow.ProjectHelper, read once per process by summaries.py), through
absolute, relative, module-attribute and re-exported imports; the pre-pass and the cache follow.

The hazard is real: a scaler fitted on every row before the split carries the test rows' statistics into
the features the model is trained on (checked with scikit-learn below)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from mlstablint.code.discover import discover
from mlstablint.code.rules import ALL_RULES
from mlstablint.code.runner import check_files
from mlstablint.config import load_config
from mlstablint.findings import Report
from tests.test_summaries import _both_ways

ALL = {rule.id for rule in ALL_RULES}

PREP = """\
import pandas as pd
from sklearn.preprocessing import StandardScaler
from imblearn.over_sampling import SMOTE


def scale(frame):
    return StandardScaler().fit_transform(frame)


def scale_in_steps(frame, cols=("a", "b")):
    sc = StandardScaler()
    sc.fit(frame[list(cols)])
    return sc.transform(frame[list(cols)])


def load_scaled(path):
    df = pd.read_csv(path)
    return StandardScaler().fit_transform(df[["a", "b"]])


def balance(X, y):
    return SMOTE().fit_resample(X, y)


def tidy(frame):
    return frame.dropna().reset_index(drop=True)


def report_scaled(frame):
    print(StandardScaler().fit_transform(frame).mean())
    return frame
"""

HEAD = "import pandas as pd\nfrom sklearn.model_selection import train_test_split\n"


def _project(tmp_path: Path, run: str, init: str = "") -> Path:
    root = tmp_path / "proj"
    for name, text in {"pkg/__init__.py": init, "pkg/prep.py": PREP, "pkg/run.py": HEAD + textwrap.dedent(run)}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "pyproject.toml").write_text("[tool.mlstablint]\n")
    return root


def _run(root: Path, paths: list[str] | None = None, use_cache: bool = False) -> Report:
    cfg = load_config(None, sorted(ALL), cwd=root)
    files, errors = discover([root / p for p in (paths or ["."])], cfg, cwd=root)
    assert not errors
    report = check_files(files, cfg, ALL, jobs=1, use_cache=use_cache)
    assert not report.errors, report.errors
    return report


def _leaks(report: Report) -> list[tuple[str, int, str]]:
    return [(f.path, f.line, f.rule) for f in report.findings if f.rule.startswith("MSL3")]


POSITIVE = {
    "absolute import": ("from pkg.prep import scale\n", "X = scale(df[['a', 'b']])\n", "MSL301"),
    "relative import": ("from .prep import scale\n", "X = scale(df[['a', 'b']])\n", "MSL301"),
    "module attribute": ("from pkg import prep\n", "X = prep.scale(df[['a', 'b']])\n", "MSL301"),
    "aliased module": ("import pkg.prep as pp\n", "X = pp.scale(df[['a', 'b']])\n", "MSL301"),
    "fit then transform, keyword": ("from pkg.prep import scale_in_steps\n", "X = scale_in_steps(frame=df)\n",
                                    "MSL301"),
    "resampled before the split": ("from pkg.prep import balance\n", "X, y = balance(df[['a', 'b']], df['y'])\n",
                                   "MSL302"),
}


@pytest.mark.parametrize("case", sorted(POSITIVE))
def test_a_helper_of_another_module_that_learns_before_the_split(tmp_path: Path, case: str) -> None:
    imports, call, rule = POSITIVE[case]
    y = "y" if rule == "MSL302" else "df['y']"
    run = imports + f"\ndf = pd.read_csv('t.csv')\n{call}X_tr, X_te, y_tr, y_te = train_test_split(X, {y})\n"
    report = _run(_project(tmp_path, run))
    assert _leaks(report) == [("pkg/run.py", 6, rule)]
    assert "(in `pkg.prep." in report.findings[0].message


def test_a_helper_that_reads_and_scales_its_own_rows(tmp_path: Path) -> None:
    run = "from pkg.prep import load_scaled\n\nX = load_scaled('t.csv')\nX_tr, X_te = train_test_split(X)\n"
    assert _leaks(_run(_project(tmp_path, run))) == [("pkg/run.py", 5, "MSL301")]


def test_a_helper_reexported_by_the_package(tmp_path: Path) -> None:
    run = "from pkg import rescale\n\ndf = pd.read_csv('t.csv')\nX = rescale(df[['a']])\n" \
          "X_tr, X_te, y_tr, y_te = train_test_split(X, df['y'])\n"
    root = _project(tmp_path, run, init="from .prep import scale as rescale\n")
    assert _leaks(_run(root)) == [("pkg/run.py", 6, "MSL301")]


NEGATIVE = {
    # Fitted on the training part only: the correct idiom.
    "after the split": "from pkg.prep import scale\n\ndf = pd.read_csv('t.csv')\n"
                       "X_tr, X_te, y_tr, y_te = train_test_split(df[['a', 'b']], df['y'])\nX_tr = scale(X_tr)\n",
    # A helper that only cleans rows learns nothing.
    "no statistic": "from pkg.prep import tidy\n\ndf = tidy(pd.read_csv('t.csv'))\n"
                    "X_tr, X_te, y_tr, y_te = train_test_split(df[['a', 'b']], df['y'])\n",
    # A helper that scales for a printout returns its input unchanged.
    "scaled for a printout": "from pkg.prep import report_scaled\n\ndf = report_scaled(pd.read_csv('t.csv'))\n"
                             "X_tr, X_te, y_tr, y_te = train_test_split(df[['a', 'b']], df['y'])\n",
}


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_correct_idioms_through_helpers_are_clean(tmp_path: Path, case: str) -> None:
    assert _leaks(_run(_project(tmp_path, NEGATIVE[case]))) == []


def test_a_helper_outside_the_checked_paths_is_unknown(tmp_path: Path) -> None:
    run = "from pkg.prep import scale\n\ndf = pd.read_csv('t.csv')\nX = scale(df[['a', 'b']])\n" \
          "X_tr, X_te, y_tr, y_te = train_test_split(X, df['y'])\n"
    root = _project(tmp_path, run)
    assert _leaks(_run(root, ["pkg/run.py"])) == []
    assert _leaks(_run(root)) == [("pkg/run.py", 6, "MSL301")]


def test_prepass_and_full_analysis_agree(tmp_path: Path) -> None:
    run = "from .prep import scale\n\ndf = pd.read_csv('t.csv')\nX = scale(df[['a', 'b']])\n" \
          "X_tr, X_te, y_tr, y_te = train_test_split(X, df['y'])\n"
    assert _both_ways(_project(tmp_path, run), "pkg/run.py") == [["MSL301"], ["MSL301"]]


def test_editing_the_helper_rechecks_the_caller(tmp_path: Path) -> None:
    run = "from pkg.prep import scale\n\ndf = pd.read_csv('t.csv')\nX = scale(df[['a', 'b']])\n" \
          "X_tr, X_te, y_tr, y_te = train_test_split(X, df['y'])\n"
    root = _project(tmp_path, run)
    assert _leaks(_run(root, use_cache=True)) == [("pkg/run.py", 6, "MSL301")]
    prep = root / "pkg" / "prep.py"
    prep.write_text(PREP.replace("return StandardScaler().fit_transform(frame)\n", "return frame\n", 1))
    assert _leaks(_run(root, use_cache=True)) == []
    prep.write_text(PREP)
    assert _leaks(_run(root, use_cache=True)) == [("pkg/run.py", 6, "MSL301")]


def test_the_scaler_fitted_before_the_split_carries_the_test_rows() -> None:
    """Truth for the positives: the statistics scaled into the training rows move with a test row."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    tr, te = train_test_split(np.arange(200), random_state=0)
    before = StandardScaler().fit_transform(X)[tr]
    X_changed = X.copy()
    X_changed[te[0]] += 1000.0  # only a test row changes
    assert not np.allclose(StandardScaler().fit_transform(X_changed)[tr], before)
    after = StandardScaler().fit(X[tr]).transform(X[tr])  # fitted on the training part: unaffected
    assert np.allclose(StandardScaler().fit(X_changed[tr]).transform(X_changed[tr]), after)
