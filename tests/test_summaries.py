"""Cross-module summaries (summaries.py, modules.py): a helper in another module of the checked project that
returns a sigmoid, a softmax or a linear predictor gives its callers that kind, through absolute, relative and
aliased imports and re-exports; the pre-pass keeps such callers; editing a helper re-checks its callers.

The hazards are real: the helpers' values are evaluated here with numpy/scipy and the reported expression
is -inf or inf where the fixed spelling is finite."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from mlstablint.code.discover import discover
from mlstablint.code.engine import FileChecker
from mlstablint.code.modules import build_index
from mlstablint.code.rules import ALL_RULES
from mlstablint.code.runner import check_files
from mlstablint.code.summaries import Summaries
from mlstablint.code.values import ANY_KIND_WORDS, words_of
from mlstablint.config import load_config
from mlstablint.findings import Report

ALL = {rule.id for rule in ALL_RULES}

HELPERS = """\
import numpy as np
from scipy.special import expit, log_softmax, softmax


def sigmoid_prob(z):
    return expit(z)


def class_probs(logits):
    return softmax(logits, axis=-1)


def linear(X, w, b):
    return X @ w + b


def clipped_linear(X, w):
    return np.clip(X @ w, -30.0, 30.0)


def log_probs(logits):
    return log_softmax(logits)
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "pyproject.toml").write_text("[tool.mlstablint]\n")
    return root


def _run(root: Path, paths: list[str] | None = None, use_cache: bool = False, jobs: int = 1,
         enabled: set[str] = ALL) -> Report:
    cfg = load_config(None, sorted(ALL), cwd=root)
    files, errors = discover([root / p for p in (paths or ["."])], cfg, cwd=root)
    assert not errors
    return check_files(files, cfg, enabled, jobs=jobs, use_cache=use_cache)


def _found(report: Report) -> list[tuple[str, int, str]]:
    assert not report.errors, report.errors
    return [(f.path, f.line, f.rule) for f in report.findings]


def _package(tmp_path: Path, caller: str) -> Path:
    return _write(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/helpers.py": HELPERS, "pkg/train.py": caller})


CALLERS = {
    "absolute": "from pkg.helpers import sigmoid_prob\n",
    "relative": "from .helpers import sigmoid_prob\n",
    "aliased": "from .helpers import sigmoid_prob as sp\nsigmoid_prob = sp\n",
}


@pytest.mark.parametrize("how", sorted(CALLERS))
def test_a_helpers_sigmoid_reaches_the_caller(tmp_path: Path, how: str) -> None:
    caller = CALLERS[how] + textwrap.dedent("""\
        import numpy as np


        def nll(z, y):
            p = sigmoid_prob(z)
            return -(y * np.log(p)).sum()
        """)
    report = _run(_package(tmp_path, caller))
    assert [(f.rule, f.path) for f in report.findings] == [("MSL501", "pkg/train.py")]
    message = report.findings[0].message
    assert "`pkg.helpers.sigmoid_prob` (pkg/helpers.py:5)" in message and "scipy.special.expit" in message
    # The hazard: a saturated sigmoid rounds to 0 and its log is -inf; the loss on the logits is finite.
    z, y = np.array([-800.0]), np.array([1.0])
    with np.errstate(divide="ignore"):
        assert np.isinf(-(y * np.log(special.expit(z))).sum())
    assert np.isfinite(np.logaddexp(0, -z).sum())


@pytest.mark.parametrize("spelling", [
    "import pkg.helpers as h\nclass_probs = h.class_probs\n",
    "from pkg import helpers as h\nclass_probs = h.class_probs\n",
    "from . import helpers\nclass_probs = helpers.class_probs\n",
])
def test_module_aliases_and_attribute_calls(tmp_path: Path, spelling: str) -> None:
    caller = spelling + "import numpy as np\n\n\ndef f(logits):\n    return np.log(class_probs(logits))\n"
    assert [f.rule for f in _run(_package(tmp_path, caller)).findings] == ["MSL104"]


def test_direct_attribute_call_and_reexport_through_the_package(tmp_path: Path) -> None:
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "from .helpers import class_probs as probs\n",
        "pkg/helpers.py": HELPERS,
        "app/main.py": """\
            import numpy as np
            import pkg
            import pkg.helpers


            def a(x):
                return np.log(pkg.probs(x))


            def b(x):
                return np.log(pkg.helpers.class_probs(x))
            """,
    })
    assert _found(_run(root)) == [("app/main.py", 7, "MSL104"), ("app/main.py", 11, "MSL104")]
    with np.errstate(divide="ignore"):
        assert np.isneginf(np.log(special.softmax(np.array([0.0, -800.0])))).any()
    assert np.isfinite(special.log_softmax(np.array([0.0, -800.0]))).all()


def test_a_linear_predictor_from_a_helper_is_exponentiated(tmp_path: Path) -> None:
    caller = "import numpy as np\nfrom .helpers import linear, clipped_linear\n\n\n" \
             "def rate(X, w, b):\n    return np.exp(linear(X, w, b))\n\n\n" \
             "def safe_rate(X, w):\n    return np.exp(clipped_linear(X, w))\n"
    report = _run(_package(tmp_path, caller))
    assert _found(report) == [("pkg/train.py", 6, "MSL109")]
    assert "`pkg.helpers.linear` (pkg/helpers.py:13), a linear predictor" in report.findings[0].message
    X, w = np.array([[1000.0]]), np.array([1.0])
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(X @ w + 0.0)).all()
    assert np.isfinite(np.exp(np.clip(X @ w, -30.0, 30.0))).all()


def test_a_helper_calling_a_helper_of_a_third_module(tmp_path: Path) -> None:
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/helpers.py": HELPERS,
        "pkg/model.py": "from .helpers import sigmoid_prob\n\n\ndef predict(z):\n    return sigmoid_prob(2.0 * z)\n",
        "pkg/train.py": "import numpy as np\nfrom .model import predict\n\n\ndef f(z):\n    return np.log(predict(z))\n",
    })
    assert _found(_run(root)) == [("pkg/train.py", 6, "MSL107")]


NEGATIVES = {
    # A log-probability, not a probability or a linear predictor.
    "log-probabilities": "from .helpers import log_probs\nimport numpy as np\n\n\n"
                         "def f(x):\n    return np.exp(log_probs(x))\n",
    # A function the project does not define (a library's, or a typo): unknown, nothing reported.
    "unknown": "from .helpers import missing\nimport numpy as np\n\n\ndef f(x):\n    return np.log(missing(x))\n",
    # The analysis gives no kind to a parameter or an unknown call's result.
    "bounded": "from .helpers import clipped_linear\nimport numpy as np\n\n\n"
               "def f(X, w):\n    return np.exp(clipped_linear(X, w))\n",
}


@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_what_a_helper_cannot_return_is_not_reported(tmp_path: Path, name: str) -> None:
    assert _run(_package(tmp_path, NEGATIVES[name])).findings == []


def test_a_library_function_reexported_by_a_module_is_not_followed(tmp_path: Path) -> None:
    """`from .compat import expit` where compat re-exports scipy's: the caller is read as before summaries."""
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "", "pkg/compat.py": "from scipy.special import expit as sigm\n",
        "pkg/train.py": "import numpy as np\nfrom .compat import sigm\n\n\ndef f(z):\n    return np.log(sigm(z))\n",
    })
    assert _run(root).findings == []


def test_only_checked_files_are_modules(tmp_path: Path) -> None:
    """A helper outside the checked paths is unknown to its callers, as a library function is; two files that
    claim one name stand for neither."""
    caller = "import numpy as np\nfrom helpers import class_probs\n\n\ndef f(x):\n    return np.log(class_probs(x))\n"
    root = _write(tmp_path / "proj", {"a/helpers.py": HELPERS, "a/train.py": caller, "b/helpers.py": HELPERS})
    assert _found(_run(root, ["a"])) == [("a/train.py", 6, "MSL104")]
    assert _run(root, ["a/train.py"]).findings == []
    assert _run(root).findings == []  # `helpers` is a/helpers.py and b/helpers.py: ambiguous


def test_module_names_follow_the_package_structure(tmp_path: Path) -> None:
    root = _write(tmp_path / "proj", {"src/pkg/__init__.py": "", "src/pkg/sub/__init__.py": "",
                                      "src/pkg/sub/mod.py": "", "scripts/run.py": "", "scripts/my-tool.py": ""})
    files = [(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.py"))]
    index = build_index(files, root)
    assert index.find("pkg.sub.mod.f") is not None and index.find("src.pkg.sub.mod.f") is not None
    module = index.by_name["pkg.sub.mod"]
    assert (module.package, index.by_name["pkg.sub"].package) == ("pkg.sub", "pkg.sub")
    assert index.by_name["run"] is index.by_name["scripts.run"] and index.by_name["run"].package is None
    assert not any("my-tool" in name for name in index.by_name)


def test_the_prepass_keeps_callers_that_only_a_summary_makes_relevant(tmp_path: Path) -> None:
    """The caller holds no sigmoid word: without the helper's summary no rule could fire on it."""
    caller = "import numpy as np\nfrom .helpers import sigmoid_prob\n\n\ndef f(z):\n    return np.log(sigmoid_prob(z))\n"
    root = _package(tmp_path, caller)
    cfg = load_config(None, sorted(ALL), cwd=root)
    files, _ = discover([root], cfg, cwd=root)
    index = build_index(((f.path, f.display) for f in files), root)
    text = (root / "pkg" / "train.py").read_text()
    module = index.of_path(root / "pkg" / "train.py")
    reports = [FileChecker(ALL, prefilter=prefilter, verify=not prefilter, project=Summaries(index)).check_source(
        text, "pkg/train.py", as_module=module) for prefilter in (True, False)]
    assert [f.rule for f in reports[0].findings] == [f.rule for f in reports[1].findings] == ["MSL107"]
    # Without the project (one file checked alone) the call is unknown and the file is skipped.
    assert FileChecker(ALL).check_source(text, "pkg/train.py").findings == []


def test_any_jobs_gives_the_same_report(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/helpers.py": HELPERS}
    for i in range(20):
        files[f"pkg/m{i}.py"] = (f"import numpy as np\nfrom .helpers import {'linear' if i % 2 else 'class_probs'}\n"
                                 f"\n\ndef f(X, w):\n    return np.{'exp(linear(X, w, 0))' if i % 2 else 'log(class_probs(X))'}\n")
    root = _write(tmp_path / "proj", files)
    one, two = _run(root, jobs=1), _run(root, jobs=2)
    assert [f.to_json() for f in one.findings] == [f.to_json() for f in two.findings]
    assert len(one.findings) == 20


def test_editing_a_helper_rechecks_its_callers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    caller = "import numpy as np\nfrom .helpers import linear\n\n\ndef rate(X, w):\n    return np.exp(linear(X, w, 0))\n"
    root = _package(tmp_path, caller)
    (root / "pkg" / "other.py").write_text("x = 1\n")
    assert _found(_run(root, use_cache=True)) == [("pkg/train.py", 6, "MSL109")]
    checked: list[str] = []
    original = FileChecker.check_source

    def spy(self: FileChecker, text: str, path: str, *args: object, **kwargs: object) -> Report:
        checked.append(path)
        return original(self, text, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(FileChecker, "check_source", spy)
    assert _found(_run(root, use_cache=True)) == [("pkg/train.py", 6, "MSL109")] and checked == []
    # A module the caller does not use: only that module is checked again.
    (root / "pkg" / "other.py").write_text("x = 2\n")
    assert _found(_run(root, use_cache=True)) == [("pkg/train.py", 6, "MSL109")] and checked == ["pkg/other.py"]
    # The helper now clips its result: the caller's finding goes away, from the cache's point of view too.
    checked.clear()
    (root / "pkg" / "helpers.py").write_text(HELPERS.replace("return X @ w + b", "return np.clip(X @ w + b, -30, 30)"))
    assert _run(root, use_cache=True).findings == []
    assert sorted(checked) == ["pkg/helpers.py", "pkg/train.py"]
    # And back: the finding returns.
    (root / "pkg" / "helpers.py").write_text(HELPERS)
    assert _found(_run(root, use_cache=True)) == [("pkg/train.py", 6, "MSL109")]


def test_notebooks_call_helpers_but_are_not_modules(tmp_path: Path) -> None:
    cell: Callable[[str], dict[str, object]] = lambda src: {  # noqa: E731
        "cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": src}
    notebook = {"cells": [cell("import numpy as np\nfrom pkg.helpers import class_probs\n"),
                          cell("loss = np.log(class_probs(logits))\n")],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    root = _package(tmp_path, "x = 1\n")
    (root / "nb.ipynb").write_text(json.dumps(notebook))
    (root / "uses_nb.py").write_text("import numpy as np\nfrom nb import loss\n\n\ndef f():\n    return np.log(loss())\n")
    report = _run(root)
    assert [(f.path, f.rule, f.cell) for f in report.findings] == [("nb.ipynb", "MSL104", 2)]


def test_a_helper_added_later_rechecks_the_cached_callers_that_name_it(tmp_path: Path) -> None:
    caller = "import numpy as np\nfrom helpers import class_probs\n\n\ndef f(x):\n    return np.log(class_probs(x))\n"
    root = _write(tmp_path / "proj", {"train.py": caller, "other.py": "import numpy as np\ny = np.log1p(2.0)\n"})
    assert _run(root, use_cache=True).findings == []  # `helpers` is not a module of the project (yet)
    (root / "helpers.py").write_text(HELPERS)
    assert _found(_run(root, use_cache=True)) == [("train.py", 6, "MSL104")]
    (root / "helpers.py").unlink()
    assert _run(root, use_cache=True).findings == []


def _both_ways(root: Path, rel: str) -> list[list[str]]:
    """The rules reported on `rel` with the pre-pass and without it (verify: every finding's words hold)."""
    cfg = load_config(None, sorted(ALL), cwd=root)
    files, _ = discover([root], cfg, cwd=root)
    index = build_index(((f.path, f.display) for f in files), root)
    text = (root / rel).read_text()
    module = index.of_path(root / rel)
    return [[f.rule for f in FileChecker(ALL, prefilter=prefilter, verify=not prefilter,
                                         project=Summaries(index)).check_source(text, rel, as_module=module).findings]
            for prefilter in (True, False)]


def test_a_dtype_given_by_a_helper_keeps_its_callers(tmp_path: Path) -> None:
    """MSL115 needs a dtype word (or a torch/TF/JAX/Keras call) besides its tiny eps: here only the helper's
    summary says float32, so the caller must count as holding the dtype's word (values.words_of)."""
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/helpers.py": "import numpy as np\n\n\ndef probs(z):\n"
                          "    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)\n",
        "pkg/train.py": "import numpy as np\nfrom .helpers import probs\n\n\ndef nll(z, y):\n"
                        "    p = np.clip(probs(z), 1e-10, 1 - 1e-10)\n"
                        "    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n",
    })
    assert "float" not in (root / "pkg" / "train.py").read_text()
    assert [rules.count("MSL115") for rules in _both_ways(root, "pkg/train.py")] == [1, 1]
    # The hazard: in float32 the upper bound 1 - 1e-10 is exactly 1, so log(1 - p) is still -inf.
    p = np.clip(np.array([1.0], dtype=np.float32), 1e-10, 1 - 1e-10)
    with np.errstate(divide="ignore"):
        assert p.dtype == np.float32 and np.isneginf(np.log(1 - p)).all()
    assert np.isfinite(np.log(1 - np.clip(np.array([1.0]), 1e-10, 1 - 1e-10))).all()


def test_relative_imports_from_the_package_itself(tmp_path: Path) -> None:
    """`from . import f` and `from .. import f` never spell the package's name: the pre-pass still counts them
    (the caller's words name no module), in the caller and in a helper between."""
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "from .helpers import class_probs\n",
        "pkg/helpers.py": HELPERS,
        "pkg/train.py": "from . import class_probs\nimport numpy as np\n\n\ndef f(x):\n    return np.log(class_probs(x))\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/model.py": "from .. import class_probs\n\n\ndef prob(z):\n    return class_probs(z)\n",
        "pkg/sub/fit.py": "import numpy as np\nfrom .model import prob\n\n\ndef f(z):\n    return np.log(prob(z))\n",
    })
    assert _both_ways(root, "pkg/train.py") == [["MSL104"], ["MSL104"]]
    assert _both_ways(root, "pkg/sub/fit.py") == [["MSL104"], ["MSL104"]]
    assert _found(_run(root)) == [("pkg/sub/fit.py", 6, "MSL104"), ("pkg/train.py", 6, "MSL104")]


def test_a_helpers_slice_keeps_what_its_globals_are_bound_by(tmp_path: Path) -> None:
    """A summary reads only the statements its function needs: a global bound by `:=` inside a test is one."""
    helper = ("from scipy.special import expit\nif (link := expit) is None:\n    raise ImportError\n\n\n"
              "def prob(z):\n    return link(z)\n")
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "", "pkg/helpers.py": helper,
        "pkg/train.py": "import numpy as np\nfrom .helpers import prob\n\n\ndef f(z):\n    return np.log(prob(z))\n",
    })
    assert _both_ways(root, "pkg/train.py") == [["MSL107"], ["MSL107"]]


def test_the_text_bound_never_hides_a_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`possible` (words read from a helper's text, no parse) holds the words of every summary it lets through,
    and a summary computed without it is the same: the bound only skips functions that cannot return a kind."""
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "from .helpers import class_probs as probs\n",
        "pkg/helpers.py": HELPERS,
        "pkg/model.py": "from .helpers import sigmoid_prob, linear\nfrom . import probs\nimport torch\n\n\n"
                        "def predict(z):\n    return sigmoid_prob(2.0 * z)\n\n\n"
                        "def scores(X, w):\n    s = linear(X, w, 0)\n    return s\n\n\n"
                        "def half(x):\n    return x.half()\n\n\n"
                        "def net():\n    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(dim=-1))\n\n\n"
                        "def ratio(c):\n    return c / c.sum()\n\n\n"
                        "def plain(a, b):\n    return a + b\n\n\n"
                        "def via_package(x):\n    return probs(x)\n\n\n"
                        "sig_alias = sigmoid_prob\nTABLE = dict(sig=sigmoid_prob)\n",
    })
    files = [(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.py"))]
    index = build_index(files, root)
    bounded = Summaries(index)
    names = [(module, name) for module in index.by_path.values() for name in sorted(bounded.names(module))]
    summaries = {(m.name, n): bounded.returns(f"{m.name}.{n}") for m, n in names}
    for module, name in names:
        value = summaries[(module.name, name)]
        if value is not None:
            assert words_of(value) <= bounded.possible(module, name), (module.name, name)
    unbounded = Summaries(index)
    monkeypatch.setattr(unbounded, "possible", lambda *args, **kwargs: ANY_KIND_WORDS)
    assert {(m.name, n): unbounded.returns(f"{m.name}.{n}") for m, n in names} == summaries
    known = sorted(f"{m}.{n}" for (m, n), value in summaries.items() if value is not None)
    assert {"pkg.model.predict", "pkg.model.scores", "pkg.model.via_package", "pkg.model.net", "pkg.model.ratio",
            "pkg.helpers.class_probs", "pkg.model.sig_alias"} <= set(known)
    assert "pkg.model.plain" not in known and "pkg.model.TABLE" not in known
    module = index.by_name["pkg.model"]
    # An alias stands for what the name it copies may stand for (here an import of a sigmoid helper), no more.
    helper = index.by_name["pkg.helpers"]
    assert not bounded.possible(module, "TABLE")
    assert bounded.possible(module, "sig_alias") == bounded.possible(helper, "sigmoid_prob")
    assert words_of(summaries[("pkg.model", "sig_alias")]) <= bounded.possible(module, "sig_alias") < ANY_KIND_WORDS


def test_a_slice_keeps_its_statements_lines_and_makes_the_rest_strings(tmp_path: Path) -> None:
    """A slice keeps the lines of the statements its function needs where they were; each run of other lines is
    one string literal (a single other line is blank), so the slice parses to the same statements."""
    import ast

    text = textwrap.dedent("""\
        \"\"\"Module docstring.\"\"\"
        import numpy as np
        # a comment
        import os


        def unrelated():
            return os.getcwd()

        SCALE = 2.0
        def helper(x):
            return np.exp(SCALE * x)
        """)
    root = _write(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/mod.py": text})
    index = build_index([(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.py"))], root)
    source = Summaries(index)._source(index.by_name["pkg.mod"])
    assert source is not None
    sliced = source.slice("helper")
    assert sliced is not None
    original, lines = text.split("\n"), sliced.split("\n")
    assert len(lines) == len(original)
    assert [n for n, line in enumerate(lines) if line == original[n] and line] == [1, 9, 10, 11]
    # The docstring alone is blank; from the comment to the line before SCALE, one string.
    assert not lines[0] and lines[2] == lines[8] == '\"\"\"' and all(not line for line in lines[3:8])
    tree, full = ast.parse(sliced), ast.parse(text)
    assert [ast.dump(s, include_attributes=True) for s in tree.body if not isinstance(s, ast.Expr)] == [
        ast.dump(full.body[i], include_attributes=True) for i in (1, 4, 5)]


def test_the_leakage_bound_reads_calls_not_strings(tmp_path: Path) -> None:
    """A leakage summary learns and splits only through calls, so its bound counts the words of code, not of
    string literals: a helper that only says "fit" in a message is not read, one that fits is, and its caller in
    another module is reported with the pre-pass as without it."""
    from mlstablint.code.words import FITS

    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/prep.py": textwrap.dedent("""\
            from sklearn.preprocessing import StandardScaler


            def check(X, est):
                if not hasattr(est, "fit"):
                    raise TypeError("call fit or fit_transform with train_test_split parts first")
                return X


            def scaled(X):
                return StandardScaler().fit_transform(X)
            """),
        "pkg/run.py": textwrap.dedent("""\
            import pandas as pd
            from sklearn.model_selection import train_test_split
            from .prep import check, scaled


            def main(path, est):
                df = pd.read_csv(path)
                X = scaled(check(df[["a", "b"]], est))
                return train_test_split(X, df["y"])
            """),
    })
    files = [(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.py"))]
    index = build_index(files, root)
    summaries = Summaries(index)
    prep = index.by_name["pkg.prep"]
    assert not summaries.possible(prep, "check") & FITS and summaries.leak_summary("pkg.prep.check") is None
    assert summaries.possible(prep, "scaled") & FITS
    helper = summaries.leak_summary("pkg.prep.scaled")
    assert helper is not None and helper.learned
    fast, reference = _both_ways(root, "pkg/run.py")
    assert fast == reference and "MSL301" in reference


def test_the_text_bound_holds_on_every_snippet_of_the_test_material(tmp_path: Path) -> None:
    """The bound (`possible`) against the summaries themselves on real material: every code snippet of the rule,
    value, fix and leakage tests, the catalogue's examples and the fixtures, each a module of one project (so a
    snippet's imports of another are followed too). A summary whose words the bound misses would be a caller the
    pre-pass drops."""
    from tests.test_perf_invariants import SNIPPETS, ast_parses

    files = {f"pkg/m{i}.py": text for i, text in enumerate(SNIPPETS) if ast_parses(text)}
    root = _write(tmp_path / "proj", {"pkg/__init__.py": "", **files})
    index = build_index([(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.py"))], root)
    summaries = Summaries(index)
    checked = 0
    for module in index.by_path.values():
        for name in sorted(summaries.names(module)):
            value = summaries.returns(f"{module.name}.{name}")
            if value is not None:
                checked += 1
                assert words_of(value) <= summaries.possible(module, name), (module.rel, name)
    assert checked >= 25  # the material has helpers returning probabilities, predictors, models, dtypes


def test_the_text_bound_follows_bindings_as_the_resolver_reads_them(tmp_path: Path) -> None:
    """What a name of a module may stand for, read from its bindings without libcst: a builtin alias, a loop
    target or an import of another library stands for nothing; an import under `if TYPE_CHECKING`, an alias of an
    import, a name changed in place or only mentioned after its import stand for what the import names. Each bound
    holds the summary's words (the summaries themselves are the reference)."""
    root = _write(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/helpers.py": HELPERS,
        "pkg/names.py": "from typing import TYPE_CHECKING\n"
                        "if TYPE_CHECKING:\n    from numpy import ndarray as Array\nelse:\n    Array = object\n"
                        "if TYPE_CHECKING:\n    from .helpers import class_probs as typed\n"
                        "from .helpers import sigmoid_prob, linear as lin\n"
                        "REGISTRY = {}\nfor name in ['a', 'b']:\n    REGISTRY[name] = len(name)\n"
                        "alias = lin\nsigmoid_prob.cache = {}\nprint(sigmoid_prob)\n",
    })
    index = build_index([(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.py"))], root)
    summaries = Summaries(index)
    module = index.by_name["pkg.names"]
    helpers = index.by_name["pkg.helpers"]
    for name in ("Array", "name", "REGISTRY"):
        assert not summaries.possible(module, name), name
    assert summaries.possible(module, "typed") == summaries.possible(helpers, "class_probs")
    assert summaries.possible(module, "alias") == summaries.possible(helpers, "linear")
    assert summaries.possible(module, "sigmoid_prob") == summaries.possible(helpers, "sigmoid_prob")
    for name in ("typed", "alias"):
        value = summaries.returns(f"pkg.names.{name}")
        assert value is not None and words_of(value) <= summaries.possible(module, name), name
    # Changed in place after a relative import: the resolver's MUTATION binding gives no summary (a superset then).
    assert summaries.returns("pkg.names.sigmoid_prob") is None
