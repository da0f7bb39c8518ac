"""The value analysis (values.py): what it says about values, and the rules that ask it.

Each pattern the issue names has a positive snippet and its fixed twin (the same code, repaired),
in numpy, torch, TensorFlow 1, TensorFlow 2 / Keras and JAX spellings; the expected ranges are
closed-form facts (sigmoid is in [0, 1], log_softmax <= 0, |x| <= c where `abs(x) < c` holds).
"""

from __future__ import annotations

import math
import textwrap

import libcst as cst
import pytest

from mlstablint.code.engine import FileChecker
from mlstablint.code.names import Resolver
from mlstablint.code.rule import CodeRule
from mlstablint.code.rules import ALL_RULES
from mlstablint.code.values import Interval, Value
from mlstablint.code.walk import BatchedWalker
from tests.conftest import rules_fired

# (rule, the pattern, its fixed twin). The twin must not get `rule`.
PAIRS = [
    # ---- log of a softmax/sigmoid reached through functions, attributes, models, methods ----
    ("MSL104", """
        import torch
        class Classifier:
            def fit(self, z):
                self.p = torch.softmax(z, dim=1)
            def loss(self):
                return -torch.log(self.p).mean()
        """, """
        import torch
        class Classifier:
            def fit(self, z):
                self.logp = torch.log_softmax(z, dim=1)
            def loss(self):
                return -self.logp.mean()
        """),
    ("MSL104", """
        import numpy as np
        from scipy.special import softmax
        def probs(z):
            return softmax(z, axis=1)
        nll = -np.log(probs(z))
        """, """
        import numpy as np
        from scipy.special import log_softmax
        def log_probs(z):
            return log_softmax(z, axis=1)
        nll = -log_probs(z)
        """),
    ("MSL104", "import torch\nlp = x.softmax(-1).log()\n", "import torch\nlp = x.log_softmax(-1)\n"),
    ("MSL104", """
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"),
                                     tf.keras.layers.Dense(10, activation="softmax")])
        logp = tf.math.log(model(x))
        """, """
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(10)])
        logp = tf.nn.log_softmax(model(x))
        """),
    # A whole cross-entropy on the softmax is MSL501's finding (it takes precedence over MSL104 there).
    ("MSL501", """
        import tensorflow.compat.v1 as tf
        p = tf.nn.softmax(tf.add(tf.matmul(x, W), b))
        loss = -tf.reduce_sum(y * tf.log(p))
        """, """
        import tensorflow.compat.v1 as tf
        logits = tf.add(tf.matmul(x, W), b)
        loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits)
        """),
    ("MSL104", "import jax\nimport jax.numpy as jnp\nbits = jnp.log2(jax.nn.softmax(x))\n",
     "import jax\nimport jax.numpy as jnp\nbits = jax.nn.log_softmax(x) / jnp.log(2)\n"),
    ("MSL501", """
        import torch
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(10, 1), nn.Sigmoid())
            def nll(self, x, y):
                p = self.net(x)
                return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
        """, """
        import torch
        from torch import nn
        import torch.nn.functional as F
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(10, 1))
            def nll(self, x, y):
                return F.binary_cross_entropy_with_logits(self.net(x), y)
        """),
    ("MSL107", "import torch\nlp = z.sigmoid().log()\n",
     "import torch\nimport torch.nn.functional as F\nlp = F.logsigmoid(z)\n"),
    ("MSL107", """
        from tensorflow import keras
        import tensorflow as tf
        inputs = keras.Input(shape=(8,))
        out = keras.layers.Dense(1, activation="sigmoid")(inputs)
        model = keras.Model(inputs, out)
        lp = tf.math.log(model(x))
        """, """
        from tensorflow import keras
        import tensorflow as tf
        inputs = keras.Input(shape=(8,))
        out = keras.layers.Dense(1)(inputs)
        model = keras.Model(inputs, out)
        lp = tf.math.log_sigmoid(model(x))
        """),
    ("MSL107", """
        import jax
        import jax.numpy as jnp
        def prob(x, w):
            return jax.nn.sigmoid(x @ w)
        ll = jnp.log(prob(x, w))
        """, """
        import jax
        import jax.numpy as jnp
        def logit(x, w):
            return x @ w
        ll = jax.nn.log_sigmoid(logit(x, w))
        """),
    # ---- a probability kept away from 0 (guards on the way) ----
    ("MSL110", """
        import numpy as np
        class Model:
            def fit(self, clf, X):
                self.proba = clf.predict_proba(X)
            def score(self):
                return np.log(self.proba).sum()
        """, """
        import numpy as np
        class Model:
            def fit(self, clf, X):
                self.proba = np.clip(clf.predict_proba(X), 1e-12, 1.0)
            def score(self):
                return np.log(self.proba).sum()
        """),
    ("MSL110", "import numpy as np\np = counts / counts.sum()\nh = np.log10(p)\n",
     "import numpy as np\np = counts / counts.sum()\np[p < 1e-12] = 1e-12\nh = np.log10(p)\n"),
    ("MSL110", "import numpy as np\np = clf.predict_proba(X)\nll = np.log(p)\n",
     "import numpy as np\np = clf.predict_proba(X)\nnp.clip(p, 1e-15, 1, out=p)\nll = np.log(p)\n"),
    ("MSL104", "import torch\np = torch.softmax(z, 1)\nlp = torch.log(p)\n",
     "import torch\np = torch.softmax(z, 1)\np.clamp_(min=1e-7)\nlp = torch.log(p)\n"),
    ("MSL107", "import torch\np = torch.sigmoid(z)\nlp = torch.log(p)\n",
     "import torch\neps = 1e-6\np = eps + (1 - 2 * eps) * torch.sigmoid(z)\nlp = torch.log(p)\n"),
    # ---- exp of a linear predictor: operator spellings, layers, helpers, guards, dtype ----
    ("MSL109", "import tensorflow.compat.v1 as tf\nrate = tf.exp(tf.add(tf.matmul(X, W), b))\n",
     "import tensorflow.compat.v1 as tf\nrate = tf.exp(tf.clip_by_value(tf.add(tf.matmul(X, W), b), -80.0, 80.0))\n"),
    ("MSL109", """
        import torch
        from torch import nn
        class Poisson(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.fc = nn.Linear(d, 1)
            def forward(self, x):
                return torch.exp(self.fc(x))
        """, """
        import torch
        from torch import nn
        class Poisson(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.fc = nn.Linear(d, 1)
            def forward(self, x):
                return torch.exp(self.fc(x).clamp(max=80.0))
        """),
    ("MSL109", """
        import numpy as np
        def eta(X, w):
            return X @ w
        mu = np.exp(eta(X, w))
        """, """
        import numpy as np
        def eta(X, w):
            return np.clip(X @ w, -700, 700)
        mu = np.exp(eta(X, w))
        """),
    ("MSL109", """
        import numpy as np
        def rate(X, w):
            z = X @ w
            return np.exp(z)
        """, """
        import numpy as np
        def rate(X, w):
            z = X @ w
            if np.abs(z).max() > 700:
                raise ValueError("linear predictor out of range")
            return np.exp(z)
        """),
    ("MSL109", """
        import torch
        def softplus(x, w):
            g = x @ w
            return torch.where(g > 20, g, torch.log1p(torch.exp(g)))
        """, """
        import torch
        def softplus(x, w):
            g = x @ w
            return torch.where(g > 20, g, torch.log1p(torch.exp(torch.clamp(g, max=20))))
        """),
    ("MSL109", """
        import numpy as np
        z = (X @ w).astype(np.float16)
        y = np.exp(np.clip(z, -50, 50))
        """, """
        import numpy as np
        z = (X @ w).astype(np.float32)
        y = np.exp(np.clip(z, -50, 50))
        """),
    ("MSL109", "import math\nimport numpy as np\neta = np.dot(x, w)\nodds = math.exp(eta)\n",
     "import math\nimport numpy as np\neta = np.dot(x, w)\nodds = math.exp(min(eta, 700.0))\n"),
    ("MSL109", """
        import torch
        from torch import nn
        fc = nn.Linear(16, 1)
        with torch.autocast("cuda"):
            z = fc(x)
            y = torch.exp(z.clamp(max=50))
        """, """
        import torch
        from torch import nn
        fc = nn.Linear(16, 1)
        with torch.autocast("cuda"):
            z = fc(x)
            y = torch.exp(z.float().clamp(max=50))
        """),
    ("MSL109", """
        from tensorflow import keras
        import tensorflow as tf
        keras.mixed_precision.set_global_policy("mixed_float16")
        dense = keras.layers.Dense(1)
        y = tf.exp(tf.clip_by_value(dense(x), -50.0, 50.0))
        """, """
        from tensorflow import keras
        import tensorflow as tf
        keras.mixed_precision.set_global_policy("mixed_float16")
        dense = keras.layers.Dense(1)
        y = tf.exp(tf.clip_by_value(dense(x), -10.0, 10.0))
        """),
    ("MSL109", "import jax.numpy as jnp\nlam = jnp.exp(jnp.dot(X, beta) + b0)\n",
     "import jax.numpy as jnp\nlam = jnp.exp(jnp.minimum(jnp.dot(X, beta) + b0, 80.0))\n"),
    # Centred by its mean is not shifted by its max; a clip at 0 keeps log(0).
    ("MSL109", "import numpy as np\nz = X @ w\nz -= z.mean()\nmu = np.exp(z)\n",
     "import numpy as np\nz = X @ w\nz -= z.max()\nmu = np.exp(z)\n"),
    ("MSL110", "import numpy as np\np = clf.predict_proba(X)\nnp.clip(p, 0, 1, out=p)\nlp = np.log(p)\n",
     "import numpy as np\np = clf.predict_proba(X)\nnp.clip(p, eps, 1, out=p)\nlp = np.log(p)\n"),
    # ---- variants of exp/log/sigmoid forms ----
    ("MSL101", "import numpy as np\nbits = np.log2(1 + x)\n", "import numpy as np\nbits = np.log1p(x) / np.log(2)\n"),
    ("MSL101", "import tensorflow as tf\ny = tf.math.log(tf.add(1.0, x))\n", "import tensorflow as tf\ny = tf.math.log1p(x)\n"),
    ("MSL102", "import numpy as np\ny = np.power(10, x) - 1\n", "import numpy as np\ny = np.expm1(x * np.log(10))\n"),
    ("MSL102", "import numpy as np\nt = 2 / (1 + np.exp(-2 * x)) - 1\n", "import numpy as np\nt = np.tanh(x)\n"),
    ("MSL105", "import torch\np = torch.div(1, 1 + torch.exp(-x))\n", "import torch\np = torch.sigmoid(x)\n"),
    ("MSL108", "import tensorflow as tf\np = tf.divide(tf.exp(x), tf.reduce_sum(tf.exp(x)))\n",
     "import tensorflow as tf\np = tf.nn.softmax(x)\n"),
    ("MSL108", "import numpy as np\np = np.true_divide(np.exp(x), np.exp(x).sum())\n",
     "import numpy as np\ne = np.exp(x - x.max())\np = np.true_divide(e, e.sum())\n"),
    ("MSL106", "import torch\nsp = z.exp().add(1).log()\n", "import torch\nimport torch.nn.functional as F\nsp = F.softplus(z)\n"),
    # ---- linear algebra: the Gram matrix and explicit inverses ----
    ("MSL202", "import numpy as np\nXT = X.T\nXTX = XT @ X\nw = np.linalg.inv(XTX) @ XT @ y\n",
     "import numpy as np\nw = np.linalg.lstsq(X, y, rcond=None)[0]\n"),
    ("MSL202", "import numpy as np\nU, s, Vt = np.linalg.svd(X.T @ X)\n", "import numpy as np\nU, s, Vt = np.linalg.svd(X)\n"),
    ("MSL202", "import torch\nevals, evecs = torch.linalg.eigh(X.T @ X)\n",
     "import torch\nU, s, Vh = torch.linalg.svd(X, full_matrices=False)\n"),
    ("MSL201", "import numpy as np\nm = A @ np.linalg.inv(K) @ y\n", "import numpy as np\nm = A @ np.linalg.solve(K, y)\n"),
    ("MSL201", "import jax.numpy as jnp\nm = Ks @ jnp.linalg.inv(K) @ y\n", "import jax.numpy as jnp\nm = Ks @ jnp.linalg.solve(K, y)\n"),
    ("MSL201", """
        import numpy as np
        class GP:
            def fit(self, K):
                self.K_inv = np.linalg.inv(K)
            def predict(self, y):
                return self.K_inv @ y
        """, """
        from scipy.linalg import cho_factor, cho_solve
        class GP:
            def fit(self, K):
                self.K_cho = cho_factor(K)
            def predict(self, y):
                return cho_solve(self.K_cho, y)
        """),
    ("MSL201", "import tensorflow as tf\nm = tf.matmul(tf.linalg.inv(K), y)\n", "import tensorflow as tf\nm = tf.linalg.solve(K, y)\n"),
]

# Correct real-world idioms where the analysis proves the hazard away.
NEGATIVE = [
    # Counts and sizes: log(1 + n) loses nothing.
    "import numpy as np\nidf = np.log(1 + np.floor(df))\n",
    "import torch\nh = torch.log(1 + x.size(0))\n",
    "import numpy as np\nw = np.log(1 + x.shape[0])\n",
    # Bounded magnitudes: sin/cos and probabilities never come near hypot's range.
    "import numpy as np\nr = np.sqrt(np.sin(t) ** 2 + np.cos(t) ** 2)\n",
    "import torch\np = torch.sigmoid(a)\nq = torch.sigmoid(b)\nd = torch.sqrt(p ** 2 + q ** 2)\n",
    # A guarded exp: an early return on a threshold, a where branch (numpy: the selected value is finite).
    "import numpy as np\ndef f(X, w):\n    z = X @ w\n    if z > 700:\n        return np.inf\n    return np.exp(z)\n",
    "import numpy as np\ng = X @ w\ns = np.where(g > 20, g, np.log1p(np.exp(g)))\n",
    "import numpy as np\nz = X @ w\nz[z > 700] = 700\nmu = np.exp(z)\n",
    "import torch\nz = x @ w\nz.clamp_(max=80)\nmu = torch.exp(z)\n",
    # A naive sigmoid whose argument is known bounded.
    "import numpy as np\nz = np.clip(X @ w, -30, 30)\np = 1 / (1 + np.exp(-z))\n",
    # Expression statements whose value is thrown away.
    "import numpy as np\nnp.log(1 + x)\n",
    "import torch\ntorch.log(torch.softmax(z, 1))\n",

    # Values checked by an assertion: a -inf or NaN there fails the test, which is the point.
    "import numpy as np\nfrom numpy.testing import assert_allclose\np = clf.predict_proba(X)\n"
    "assert_allclose(np.log(p), clf.predict_log_proba(X))\n",
    "import numpy as np\nassert np.isfinite(np.log(1 + x)).all()\n",
    # Counts by their names, integer powers of 2, decompositions that are not of a Gram matrix.
    "import numpy as np\ndef f(n_samples):\n    return np.log(1 + n_samples)\n",
    "import numpy as np\nnum = np.log(clf.feature_count_ + 1.0)\n",
    "import numpy as np\nmask = 2 ** (n_bits - 1) - 1\n",
    "from scipy import linalg\nimport numpy as np\ns = np.amax(linalg.svdvals(np.dot(E.T, E)))\n",
    "import numpy as np\nP = W.T @ np.linalg.inv(C) @ W\n",
    # Shifted by its max in place (a Cox partial likelihood): exp of values <= 0.
    "import numpy as np\ndef loglike(exog, params, offset):\n    lp = np.dot(exog, params)\n    lp += offset\n"
    "    lp -= lp.max()\n    e = np.exp(lp)\n    return np.sum(lp - np.log(np.cumsum(e[::-1])))\n",
    "import torch\nz = x @ w\nz -= torch.logsumexp(z, 0)\np = torch.exp(z)\n",
    # A clip whose eps is a parameter guards the log as a literal one does.
    "import numpy as np\ndef nll(y, p, eps):\n    p = p / p.sum(axis=1, keepdims=True)\n"
    "    p = np.clip(p, eps, 1 - eps)\n    return -np.log(p[np.arange(len(y)), y])\n",
    # Sizes unpacked from a shape: 1 + n loses nothing.
    "import numpy as np\ndef width(X):\n    n_samples, n_channels, n_steps = X.shape\n"
    "    return np.log2(min(n_channels, 9) + 1)\n",
    # Blocks of an explicit inverse (a score-test covariance): no solve replaces a product with a block.
    "import numpy as np\ndef score_cov(ncov, c, k):\n    a = np.linalg.inv(ncov)\n    a12 = a[:k, k:]\n"
    "    return c[k:, k:] - np.dot(a12.T, np.linalg.solve(a[:k, :k], c[:k, k:]))\n",
    # A covariance sandwich of a stored inverse, transposed on the left: the product itself is wanted.
    "import numpy as np\ndef iv_cov(Fx, FF):\n    Fx_inv = np.linalg.inv(Fx)\n    return np.dot(Fx_inv.T, np.dot(FF, Fx_inv))\n",
    # A mean of a probability is still a probability in [0, 1] but clipped away from 0 first.
    "import torch\np = torch.sigmoid(z).clamp(1e-6, 1 - 1e-6)\nl = torch.log(p)\n",
]


def _dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.mark.parametrize("rule,bad,good", PAIRS, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(PAIRS)])
def test_pattern_fires_and_its_fixed_twin_does_not(checker, rule: str, bad: str, good: str) -> None:
    assert rule in rules_fired(checker, _dedent(bad))
    assert rule not in rules_fired(checker, _dedent(good))


@pytest.mark.parametrize("source", NEGATIVE, ids=[f"neg-{i}" for i in range(len(NEGATIVE))])
def test_proven_safe_idioms_are_clean(checker, source: str) -> None:
    assert rules_fired(checker, _dedent(source)) == []


def test_messages_say_why(checker) -> None:
    report = checker.check_source(_dedent(PAIRS[0][1]), "m.py")
    (finding,) = report.findings
    assert "self.p" in finding.message and "torch.softmax" in finding.message
    math_exp = checker.check_source("import math\nimport numpy as np\neta = np.dot(x, w)\nodds = math.exp(eta)\n", "m.py")
    assert "OverflowError" in math_exp.findings[0].message
    half = checker.check_source(_dedent(next(bad for _, bad, _ in PAIRS if "float16" in bad)), "m.py")
    assert "float16" in half.findings[0].message and "11.09" in half.findings[0].message
    where = checker.check_source(_dedent(next(bad for _, bad, _ in PAIRS if "torch.where" in bad)), "m.py")
    assert "backward" in where.findings[0].message


SIMULATION = _dedent("""
    import numpy as np
    from sklearn.datasets import make_low_rank_matrix

    def test_poisson_forest():
        rng = np.random.RandomState(0)
        X = make_low_rank_matrix(n_samples=200, n_features=4, random_state=rng)
        coef = rng.uniform(-2, 2, size=4) / np.max(X, axis=0)
        y = rng.poisson(lam=np.exp(X @ coef))
        C = np.array([[2.0, 0.3], [0.3, 1.0]])
        mi = 0.5 * np.log(C[0, 0] * C[1, 1] / np.linalg.det(C)) + np.log(np.linalg.det(C))
        return y, mi

    def test_with_a_fixture(coef):
        X = np.random.default_rng(0).normal(size=(50, 3))
        return np.exp(X @ coef)
    """)


REFERENCE_HELPERS = _dedent("""
    import numpy as np

    def test_loglike_matches_reference():
        y = np.array([0, 1, 1, 0, 1])
        x = np.linspace(-2.0, 2.0, 5)

        def bernoulli_loglike(beta):
            p = 1 / (1 + np.exp(-(beta[0] + beta[1] * x)))
            return np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))

        for beta in [0.0, 0.0], [0.3, -0.2]:
            like = bernoulli_loglike(beta)
            assert np.isclose(like, fit(beta).bernoulli_loglike)  # an attribute of that name is not the helper

    def test_handed_to_an_optimiser(minimize):
        x = np.linspace(-2.0, 2.0, 5)

        def objective(beta):
            p = 1 / (1 + np.exp(-(beta[0] + beta[1] * x)))
            return -np.sum(np.log(p) + np.log(1 - p))

        return minimize(objective, [0.0, 0.0])
    """)


def test_a_tests_reference_helper_called_at_fixed_points_is_not_reported(checker) -> None:
    """A helper nested in a test and called only there, on literal points (a loop over a literal list), sees
    only the test's own data; handed to an optimiser, it sees values we cannot, and still reports."""
    findings = checker.check_source(REFERENCE_HELPERS, "pkg/tests/test_glm.py").findings
    assert findings and all(f.line > 16 for f in findings)


def test_a_tests_own_fixed_data_is_not_reported(checker) -> None:
    """In a test module, values built only from literals, seeded draws and data generators are the test's own
    data: no input reaches them. The same code in a library module, or a value fed by a fixture, still fires."""
    in_tests = checker.check_source(SIMULATION, "pkg/tests/test_forest.py")
    assert [(f.rule, f.line) for f in in_tests.findings] == [("MSL109", 15)]
    in_library = checker.check_source(SIMULATION, "pkg/simulate.py")
    assert sorted(f.rule for f in in_library.findings) == ["MSL109", "MSL109", "MSL204"]


# ---- the API itself ------------------------------------------------------------------------------

class _Probe(CodeRule):
    """Records the analysis' answer for the argument of every `probe(...)` call."""

    id = "PROBE"
    message = ""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Value] = []

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "probe":
            self.answers.append(self.v.value(node.args[0].value))


def probe(text: str) -> Value:
    """What the analysis says about the argument of the last `probe(...)` in `text`."""
    from mlstablint.code.rule import RuleContext

    resolver = Resolver()
    rule = _Probe()
    rule.ctx = RuleContext(resolver, text)
    BatchedWalker([resolver, rule]).walk(cst.parse_module(_dedent(text)))
    return rule.answers[-1]


@pytest.mark.parametrize("text,kind,lo,hi", [
    ("import torch\nprobe(torch.sigmoid(z))", "probability", 0.0, 1.0),
    ("import scipy.special as sp\np = sp.softmax(z)\nprobe(p)", "probability", 0.0, 1.0),
    ("import torch.nn.functional as F\nprobe(F.log_softmax(z, 1))", "log-probability", -math.inf, 0.0),
    ("import numpy as np\nprobe(np.tanh(x))", None, -1.0, 1.0),
    ("import numpy as np\nprobe(-x ** 2)", None, -math.inf, 0.0),
    ("import numpy as np\nprobe(np.abs(np.clip(x, -3, 2)))", None, 0.0, 3.0),
    ("import numpy as np\nprobe(np.exp(np.clip(x, -1, 1)))", None, math.exp(-1), math.exp(1)),
    ("import numpy as np\nprobe(len(x) + 1)", "integer-valued", 1.0, math.inf),
    ("import numpy as np\nx = np.minimum(X @ w, 5.0)\nx -= 2\nprobe(x)", "linear predictor", -math.inf, 3.0),
    ("import numpy as np\na, b = np.clip(u, 0, 1), 2\nprobe(a * b)", None, 0.0, 2.0),
    ("def f(x):\n    if x > 18:\n        return 0\n    probe(x)", None, -math.inf, 18.0),
    ("def f(x):\n    if abs(x) >= 36:\n        raise ValueError\n    probe(x)", None, -36.0, 36.0),
    ("import numpy as np\nprobe(np.where(np.abs(x) < 4, x, 0))", None, -math.inf, math.inf),
    ("import numpy as np\ny = np.where(np.abs(x) < 4, probe(x), 0)", None, -4.0, 4.0),
    ("import numpy as np\nprobe(np.power(10, np.clip(x, 0, 2)))", None, 1.0, 100.0),
])
def test_kind_and_range(text: str, kind: str | None, lo: float, hi: float) -> None:
    value = probe(text)
    assert value.kind == kind
    assert value.range.lo == pytest.approx(lo) and value.range.hi == pytest.approx(hi)


def test_dtype_and_origin() -> None:
    assert probe("import numpy as np\nprobe(np.zeros(3, dtype=np.float32))").dtype == "float32"
    assert probe("import torch\nprobe(x.half())").dtype == "float16"
    assert probe("import numpy as np\nprobe((X @ w).astype('float16'))").dtype == "float16"
    sigmoid = probe("import torch\nclass M:\n    def a(self, z):\n        self.p = torch.sigmoid(z)\n"
                    "    def b(self):\n        probe(self.p)")
    assert sigmoid.origin == "torch.sigmoid" and "self.p" in sigmoid.reason
    model = probe("from torch import nn\nnet = nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())\nprobe(net(x))")
    assert model.kind == "probability" and model.family == "sigmoid"


def test_unknown_is_unbounded() -> None:
    """Parameters and unknown calls are unknown: any range, no kind (rules keep reporting)."""
    value = probe("def f(x):\n    probe(g(x))")
    assert value.kind is None and value.range == Interval()


def test_interval_arithmetic_matches_closed_forms() -> None:
    a, b = Interval(-2, 3), Interval(1, 4)
    assert (a + b, a - b, a * b) == (Interval(-1, 7), Interval(-6, 2), Interval(-8, 12))
    assert a.divide(b) == Interval(-2, 3)
    assert Interval(0, 1).log() == Interval(-math.inf, 0.0)
    assert Interval(-math.inf, 0).exp() == Interval(0.0, 1.0)


def test_every_rule_runs_with_the_analysis() -> None:
    """The analysis is one object per file shared by all rules (RuleContext), not re-created per rule."""
    checker = FileChecker({rule.id for rule in ALL_RULES})
    report = checker.check_source("import torch\np = torch.softmax(z, 1)\nlp = torch.log(p)\nh = torch.log(p)\n", "m.py")
    assert [f.rule for f in report.findings] == ["MSL104", "MSL104"]


def test_opt_in_rules_need_a_selector_more_specific_than_all() -> None:
    """Rules under the precision bar leave the default set (catalogue `default: false`), like ruff's preview
    rules: `ALL` does not enable them, their id or a prefix does."""
    from mlstablint.config import Config

    known, outside = {"MSL101", "MSL109", "MSL201"}, {"MSL109"}
    assert Config().enabled_rules(known, outside) == {"MSL101", "MSL201"}
    assert Config(select=["ALL", "MSL109"]).enabled_rules(known, outside) == known
    assert Config(select=["MSL1"]).enabled_rules(known, outside) == {"MSL101", "MSL109"}
    assert Config(select=["MSL"], ignore=["MSL109"]).enabled_rules(known, outside) == {"MSL101", "MSL201"}


def test_narrowing_by_tests_is_not_exponential_in_their_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long function whose tests compare names with names (statsmodels has them): narrowing a name reads the
    other side of each test without narrowing it in turn. Before that, one 4,000-line file took over 20 minutes;
    the count of bound computations is what grew, so it is what this test bounds (no clock)."""
    from mlstablint.code import values
    from mlstablint.code.engine import FileChecker
    from mlstablint.code.rules import ALL_RULES

    calls = 0
    original = values.Values._test_bounds

    def counting(self: values.Values, *args: object) -> object:
        nonlocal calls
        calls += 1
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(values.Values, "_test_bounds", counting)
    n = 12
    params = ", ".join(f"x{i}" for i in range(n))
    body = "".join(f"    if x{i} < x{i - 1} or x{i} < x{i - 2}:\n        return 0.0\n" for i in range(2, n))
    code = f"import numpy as np\n\ndef f({params}):\n{body}    return np.exp(x{n - 1})\n"
    FileChecker({r.id for r in ALL_RULES}, prefilter=False).check_source(code, "t.py")
    assert calls < 20 * n, calls  # linear: about 5 per test here
