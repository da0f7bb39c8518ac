"""Each rule against snippets: what must fire (through every import spelling the issue lists)
and the correct idioms that must not (precision first)."""

from __future__ import annotations

import textwrap

import pytest

from tests.conftest import rules_fired

POSITIVE = [
    # (rule, source)
    ("MSL101", "import numpy as np\ny = np.log(1 + x)"),
    ("MSL101", "import numpy as np\ny = np.log(x + 1.0)"),
    ("MSL101", "import math\ny = math.log(1 + x)"),
    ("MSL101", "from numpy import log as ln\ny = ln(1 + x)"),
    ("MSL101", "import torch\ny = torch.log(1 + x)"),
    ("MSL101", "import tensorflow as tf\ny = tf.math.log(1 + x)"),
    ("MSL101", "import tensorflow as tf\ny = tf.log(1 + x)"),
    ("MSL101", "import tensorflow.compat.v1 as tf\ny = tf.log(1 + x)"),
    ("MSL101", "import jax.numpy as jnp\ny = jnp.log(1 + x)"),
    ("MSL102", "import numpy as np\ny = np.exp(x) - 1"),
    ("MSL102", "from numpy import exp as e\ny = e(x) - 1"),
    ("MSL103", "import numpy as np\ny = np.log(np.sum(np.exp(x)))"),
    ("MSL103", "import numpy as np\ny = np.log(np.exp(x).sum())"),
    ("MSL103", "import numpy as np\ns = np.sum(np.exp(x), axis=1)\ny = np.log(s)"),
    ("MSL103", "import torch\ny = torch.log(torch.sum(torch.exp(x), dim=1))"),
    ("MSL103", "import math\ny = math.log(sum(math.exp(v) for v in x))"),
    ("MSL104", "import numpy as np\nfrom scipy import special\ny = np.log(special.softmax(x))"),
    ("MSL104", "import torch\nimport torch.nn.functional as F\ny = torch.log(F.softmax(x, dim=1))"),
    ("MSL104", "import torch.nn.functional as F\ny = F.softmax(x, dim=-1).log()"),
    ("MSL104", "import tensorflow as tf\ny = tf.math.log(tf.nn.softmax(x))"),
    ("MSL104", "import jax\nimport jax.numpy as jnp\ny = jnp.log(jax.nn.softmax(x))"),
    ("MSL104", "import torch\np = torch.softmax(x, 1)\nlp = torch.log(p)"),
    ("MSL105", "import numpy as np\ny = 1 / (1 + np.exp(-x))"),
    ("MSL105", "import numpy as np\ny = 1.0 / (np.exp(-x) + 1.0)"),
    ("MSL105", "import numpy as np\ny = np.exp(x) / (1 + np.exp(x))"),
    ("MSL105", "import math\ny = 1 / (1 + math.exp(-z))"),
    ("MSL106", "import numpy as np\ny = np.log(1 + np.exp(x))"),
    ("MSL106", "import numpy as np\ny = np.log(np.exp(a) + np.exp(b))"),
    ("MSL107", "from scipy.special import expit\nimport numpy as np\ny = np.log(expit(x))"),
    ("MSL107", "import torch\ny = torch.log(torch.sigmoid(x))"),
    ("MSL107", "import torch\ny = torch.log(1 - torch.sigmoid(x))"),
    ("MSL108", "import numpy as np\ny = np.exp(x) / np.sum(np.exp(x))"),
    ("MSL108", "import numpy as np\ne = np.exp(z)\np = e / e.sum(axis=1, keepdims=True)"),
    ("MSL108", "import torch\ny = torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)"),
    ("MSL109", "import numpy as np\ny = np.exp(X @ w)"),
    ("MSL109", "import numpy as np\ny = np.exp(X @ w + b)"),
    ("MSL109", "import numpy as np\ny = np.exp(np.dot(X, w))"),
    ("MSL109", "import numpy as np\npred = X.dot(w)\ny = np.exp(pred)"),
    ("MSL109", "import numpy as np\ny = np.exp(model.predict(X_test))"),
    ("MSL109", "import numpy as np\nimport pandas as pd\ndf = pd.read_csv('a.csv')\ny = np.exp(df['amount'])"),
    ("MSL110", "import numpy as np\np = clf.predict_proba(X)\nll = np.log(p)"),
    ("MSL110", "import numpy as np\np = counts / counts.sum()\nh = np.log(p)"),
    ("MSL110", "import numpy as np\nll = np.log(clf.predict_proba(X)[:, 1])"),
    ("MSL110", "import numpy as np\np = clf.predict_proba(X)\nll = np.log(p[np.arange(n), y])"),
    ("MSL111", "import numpy as np\nh = -np.sum(p * np.log(p))"),
    ("MSL501", "import numpy as np\nloss = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))"),
    ("MSL111", "import numpy as np\nh = -(x * np.log(x)).sum()"),
    ("MSL111", "import numpy as np\ng = 2 * n * np.sum(o / (1.0 * nt) * np.log(o / e))"),
    ("MSL201", "import numpy as np\nx = np.dot(np.linalg.inv(np.eye(n) - alpha * S), Y)"),
    ("MSL112", "import numpy as np\nv = np.mean(x**2) - np.mean(x)**2"),
    ("MSL112", "import numpy as np\nv = (x * x).mean() - x.mean() ** 2"),
    ("MSL112", "import numpy as np\nm = np.mean(x, axis=0)\nv = np.mean(x**2, axis=0) - m**2\nv = np.mean(x ** 2, axis=0) - np.mean(x, axis=0) ** 2"),
    ("MSL113", "import numpy as np\nbad = x == np.nan"),
    ("MSL113", "bad = x != float('nan')"),
    ("MSL113", "import math\nif value == math.nan:\n    pass"),
    ("MSL114", "import numpy as np\nr = np.sqrt(x**2 + y**2)"),
    ("MSL114", "import math\nr = math.sqrt(dx * dx + dy * dy)"),
    ("MSL114", "import numpy as np\nr = (x**2 + y**2) ** 0.5"),
    ("MSL201", "import numpy as np\nx = np.linalg.inv(A) @ b"),
    ("MSL201", "import numpy.linalg as la\nx = la.inv(A).dot(b)"),
    ("MSL201", "from numpy import linalg\nimport numpy as np\nx = np.dot(linalg.inv(A), b)"),
    ("MSL201", "from scipy import linalg\nAi = linalg.inv(A)\nx = Ai @ b"),
    ("MSL201", "import torch\nx = torch.inverse(A) @ b"),
    ("MSL202", "import numpy as np\nw = np.linalg.inv(X.T @ X) @ X.T @ y"),
    ("MSL202", "import numpy as np\nw = np.linalg.pinv(X.T.dot(X)).dot(X.T).dot(y)"),
    ("MSL202", "import numpy as np\nw = np.linalg.solve(X.T @ X, X.T @ y)"),
    ("MSL202", "import numpy as np\nG = np.dot(X.T, X)\nw = np.linalg.inv(G) @ (X.T @ y)"),
    ("MSL203", "import numpy as np\nimport pandas as pd\nX = pd.read_csv('t.csv').values\nw = np.linalg.pinv(X) @ y"),
    ("MSL203", "import numpy as np\nX = np.loadtxt('t.txt')\nw = np.linalg.lstsq(X, y, rcond=None)[0]"),
    ("MSL203", "import numpy as np\nimport pandas as pd\ndf = pd.read_parquet('t.parquet')\n"
               "X = df.drop(columns='y').to_numpy()\nw = np.linalg.pinv(X) @ df['y'].to_numpy()"),
    ("MSL204", "import numpy as np\nld = np.log(np.linalg.det(S))"),
    ("MSL204", "import numpy as np\nld = np.log(np.abs(np.linalg.det(S)))"),
    ("MSL205", "import pandas as pd\nfrom sklearn.svm import SVC\ndf = pd.read_csv('t.csv')\n"
               "SVC().fit(df.drop(columns='y'), df['y'])"),
    ("MSL205", "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
               "from sklearn.model_selection import train_test_split\ndf = pd.read_csv('t.csv')\n"
               "X_tr, X_te, y_tr, y_te = train_test_split(df[['a', 'b']], df['y'])\n"
               "clf = LogisticRegression()\nclf.fit(X_tr, y_tr)"),
    ("MSL205", "import pandas as pd\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.impute import SimpleImputer\n"
               "from sklearn.neighbors import KNeighborsClassifier\ndf = pd.read_csv('t.csv')\n"
               "make_pipeline(SimpleImputer(), KNeighborsClassifier()).fit(df[['a']], df['y'])"),
    ("MSL205", "from sklearn.datasets import load_wine\nfrom sklearn.model_selection import cross_val_score\n"
               "from sklearn.svm import SVC\nX, y = load_wine(return_X_y=True)\ncross_val_score(SVC(), X, y)"),
]

NEGATIVE = [
    # Correct idioms the issue names.
    "import numpy as np\ny = np.exp(x - x.max())",
    "import numpy as np\nz = x - np.max(x, axis=1, keepdims=True)\ne = np.exp(z)\np = e / e.sum(axis=1, keepdims=True)",
    "from scipy.special import logsumexp, expit, log_softmax\ny = logsumexp(x)\ns = expit(x)\nl = log_softmax(x)",
    "import scipy.special\ny = scipy.special.logsumexp(x, axis=1)",
    "import numpy as np\ny = np.logaddexp(0, x)\nz = np.logaddexp(a, b)",
    "import numpy as np\nw = np.linalg.solve(A, b)\nv = np.linalg.lstsq(X, y, rcond=None)[0]",
    "import numpy as np\nimport pandas as pd\nfrom sklearn.preprocessing import StandardScaler\n"
    "X = pd.read_csv('t.csv').to_numpy()\nXs = StandardScaler().fit_transform(X)\nw = np.linalg.pinv(Xs) @ y",
    "import numpy as np\neps = 1e-12\nl = np.log(np.clip(p, eps, 1))",
    "import numpy as np\np = clf.predict_proba(X)\nl = np.log(p + 1e-12)",
    "import numpy as np\np = np.clip(clf.predict_proba(X), 1e-15, 1 - 1e-15)\nl = np.log(p)",
    "import torch\ny = torch.log_softmax(x, dim=1)\nz = torch.logsumexp(x, dim=1)",
    "import numpy as np\ndef exp(v):\n    return v\ny = exp(X @ w)",
    "import numpy\ndef f(np, x):\n    return np.exp(x) - 1",
    "import numpy as np\ndef f(x, np=None):\n    return np.log(1 + x)",
    # Near misses that are fine.
    "import numpy as np\ny = np.log(1 + 2)",
    "import math\ny = math.log(1 + x, 2)",
    "import numpy as np\ny = np.log1p(np.exp(-np.abs(x)))",
    "import numpy as np\ny = np.exp(-(X @ w) ** 2)",
    "import numpy as np\ny = np.exp(np.clip(X @ w, -700, 700))",
    "import numpy as np\neta = np.minimum(X @ w, 700)\ny = np.exp(eta)",
    "import numpy as np\nfrom scipy.special import logsumexp\ny = np.exp(X @ w - logsumexp(X @ w))",
    "import numpy as np\nc = n * np.log(2 * np.pi)",
    "import numpy as np\nv = np.var(x)\ns = np.std(x)",
    "import numpy as np\nmask = np.isnan(x)\nm2 = x is None",
    "import numpy as np\nr = np.hypot(x, y)\nn = np.sqrt(np.sum(x**2))",
    "import numpy as np\nr = np.sqrt(x**2 + y**2 + z**2)",
    "import numpy as np\nridge = np.linalg.solve(X.T @ X + lam * np.eye(p), X.T @ y)",
    "import numpy as np\nw = np.linalg.solve(A, b) @ c",
    "import numpy as np\nsign, logdet = np.linalg.slogdet(S)",
    "import numpy as np\nd = np.linalg.det(S)",
    "import pandas as pd\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n"
    "from sklearn.svm import SVC\ndf = pd.read_csv('t.csv')\n"
    "make_pipeline(StandardScaler(), SVC()).fit(df[['a']], df['y'])",
    "import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\ndf = pd.read_csv('t.csv')\n"
    "RandomForestClassifier().fit(df[['a']], df['y'])",
    "from sklearn.svm import SVC\ndef train(X, y):\n    return SVC().fit(X, y)",
    "import pandas as pd\nfrom sklearn.compose import ColumnTransformer\nfrom sklearn.pipeline import Pipeline\n"
    "from sklearn.svm import SVC\ndf = pd.read_csv('t.csv')\n"
    "Pipeline([('prep', ColumnTransformer([])), ('svc', SVC())]).fit(df, df['y'])",
    "from sklearn.datasets import make_classification\nfrom sklearn.svm import SVC\n"
    "X, y = make_classification()\nSVC().fit(X, y)",
    # Found while reviewing the catalogue examples.
    "import numpy as np\ny = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))",
    "import numpy as np\nimport pandas as pd\nfrom sklearn.preprocessing import StandardScaler\n"
    "df = pd.read_csv('t.csv')\nXs = pd.DataFrame(StandardScaler().fit_transform(df.drop(columns='y')))\n"
    "w = np.linalg.pinv(Xs.to_numpy())",
    "import numpy as np\nS = np.linalg.inv(returns.cov().to_numpy())",
    "import numpy as np\ny = np.log(np.exp(a - np.maximum(a, b)) + np.exp(b - np.maximum(a, b)))",
    # False positives found in scikit-learn, scipy and statsmodels (see the closing note of the issue).
    "from scipy.linalg import inv\nimport numpy as np\na_inv = inv(a)\nassert np.allclose(a_inv @ a, np.eye(n))",
    "import numpy as np\nhess_inv = np.linalg.inv(hess)\ncov = np.dot(hess_inv, np.dot(score_cov, hess_inv))",
    "import numpy as np\ns = (lambda_1 * np.log(lambda_) - lambda_2 * lambda_).sum()",
    "import numpy as np\nvals = -1.0 / lambda_ * np.log(1 - qnew)",
    "import numpy as np\nfrom scipy.linalg import cholesky\na = b.T @ b\nc = cholesky(a)",
    "import numpy as np\nfrom scipy import linalg\nA = np.dot(X.T, X)\nA.flat[:: n_features + 1] += alpha\n"
    "coef = linalg.solve(A, Xy, assume_a='pos')",
    "from sklearn.datasets import load_iris\nfrom sklearn.svm import SVC\niris = load_iris()\n"
    "SVC().fit(iris.data, iris.target)",
    "import numpy as np\ny = 50.0 * np.log(1 + np.arange(n))\nz = np.log(len(x) + 1)",
    "import numpy as np\nmu = results.predict()\nprob_zero = np.exp(-mu)",
    "import numpy as np\nll = np.sum(y * np.log(mean1) - mean1)",
    "import numpy as np\nfrom scipy.linalg import inv\nyi = inv(y, assume_a='upper triangular')\n"
    "assert np.allclose(yi @ np.triu(y), np.eye(5))",
    "import numpy as np\nphi_x = np.exp(-0.5 / sigma2 * x ** 2)\nphi_x = phi_x / phi_x.sum()",
    "import numpy as np\ndev = np.where(endog == 0, mu, endog * np.log(endog / mu) + (mu - endog))",
    "import numpy as np\nlikeval = n_totobs * np.log(n_totobs) / 2.0",
    # A method call on an unknown receiver is not resolvable: opt-in only.
    "y = t.exp().sum().log()",
    # Untouched: no library imported at all.
    "def f(x):\n    return x + 1",
]


@pytest.mark.parametrize("rule,source", POSITIVE, ids=[f"{r}-{i}" for i, (r, _) in enumerate(POSITIVE)])
def test_fires(checker, rule: str, source: str) -> None:
    assert rule in rules_fired(checker, textwrap.dedent(source))


@pytest.mark.parametrize("source", NEGATIVE, ids=[f"neg-{i}" for i in range(len(NEGATIVE))])
def test_correct_idioms_are_clean(checker, source: str) -> None:
    assert rules_fired(checker, textwrap.dedent(source)) == []


def test_one_finding_per_pattern(checker) -> None:
    """Overlapping rules defer: log(1 + exp(x)) is softplus, not log1p; inv of the Gram is MSL202, not MSL201."""
    assert rules_fired(checker, "import numpy as np\ny = np.log(1 + np.exp(x))") == ["MSL106"]
    fired = rules_fired(checker, "import numpy as np\nw = np.linalg.inv(X.T @ X) @ X.T @ y")
    assert "MSL202" in fired and "MSL201" not in fired
    assert rules_fired(checker, "import torch\ny = torch.log(torch.softmax(x, 1))") == ["MSL104"]
    # The entropy of a normalised ratio is one finding (xlogy/entr), not also an unguarded log.
    assert rules_fired(checker, "import numpy as np\np = c / c.sum()\nh = -np.sum(p * np.log(p))") == ["MSL111"]
    # Binary cross-entropy on expit: one MSL501 (the loss on the logits), no log_expit or xlogy finding on top.
    bce = "from scipy.special import expit\nimport numpy as np\np = expit(z)\nl = y * np.log(p) + (1 - y) * np.log(1 - p)"
    assert rules_fired(checker, bce) == ["MSL501"]
    # The exp inside a naive sigmoid is MSL105's finding, not also MSL109's.
    assert rules_fired(checker, "import numpy as np\np = 1 / (1 + np.exp(-X @ w))") == ["MSL105"]
    assert rules_fired(checker, "import numpy as np\np = np.exp(X @ w) / np.sum(np.exp(X @ w))") == ["MSL108"]


def test_locations_are_one_based_and_exclusive_at_the_end(checker) -> None:
    report = checker.check_source("import numpy as np\n\nvalue = np.log(1 + x)\n", "m.py")
    (f,) = report.findings
    assert (f.line, f.column, f.end_line, f.end_column) == (3, 9, 3, 22)
    assert "np.log1p(x)" in f.message and f.message.endswith(".")


def test_subtracting_a_naive_log_normaliser_is_a_shift(checker) -> None:
    """`exp(x - log(sum(exp(x))))` is <= 1: only the normaliser itself is flagged (scipy's test_optimize)."""
    source = "import numpy as np\nlog_pdot = np.dot(X, w)\nlogZ = np.log(sum(np.exp(log_pdot)))\np = np.exp(log_pdot - logZ)\n"
    report = checker.check_source(source, "m.py")
    assert {f.line for f in report.findings} == {3}
