"""The loss family (MSL501-505) and the low-precision rules (MSL115-116): each spelling the issue names fires,
its stable twin does not; the precision tables the rules use agree with numpy's and ml_dtypes' own finfo."""

from __future__ import annotations

import textwrap

import ml_dtypes
import numpy as np
import pytest

from mlstablint.code.rules.losses import EPSILON, SMALLEST, one_minus_is_one, rounds_to_zero
from tests.conftest import rules_fired

TORCH = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
TF1 = "import tensorflow as tf\n"
KERAS = "import tensorflow as tf\nfrom tensorflow import keras\n"

# (rule, fires, stable twin)
CASES: list[tuple[str, str, str]] = [
    # MSL501: hand-written cross-entropies on probabilities, numpy / torch / TF1 / JAX.
    ("MSL501", "import numpy as np\ndef bce(y, p):\n    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))",
     "import numpy as np\ndef bce(y, p):\n    p = np.clip(p, 1e-7, 1 - 1e-7)\n"
     "    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))"),
    ("MSL501", "import numpy as np\nfrom scipy.special import expit\np = expit(X @ w)\n"
     "loss = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()",
     "import numpy as np\nz = X @ w\nloss = np.mean(np.logaddexp(0, z) - y * z)"),
    ("MSL501", "import numpy as np\ndef cross_entropy(y, y_pred):\n    return -np.sum(y * np.log(y_pred))",
     "import numpy as np\ndef cross_entropy(y, y_pred):\n    return -np.sum(y * np.log(y_pred + 1e-12))"),
    ("MSL501", TF1 + "y_conv = tf.nn.softmax(tf.matmul(h, W) + b)\n"
     "cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y_conv), 1))",
     TF1 + "logits = tf.matmul(h, W) + b\n"
     "cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))"),
    ("MSL501", TORCH + "p = torch.sigmoid(model(x))\nloss = torch.mean(-t * torch.log(p))",
     TORCH + "z = model(x)\nloss = F.binary_cross_entropy_with_logits(z, t)"),
    ("MSL501", TORCH + "class Head(nn.Module):\n    def forward(self, x):\n        self.probs = torch.softmax(self.fc(x), 1)\n"
     "    def loss(self, y):\n        return -(y * torch.log(self.probs)).sum(1).mean()",
     TORCH + "class Head(nn.Module):\n    def forward(self, x):\n        self.logits = self.fc(x)\n"
     "    def loss(self, y):\n        return F.cross_entropy(self.logits, y)"),
    ("MSL501", "import jax.numpy as jnp\nimport jax\np = jax.nn.sigmoid(z)\n"
     "loss = -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))",
     "import jax.numpy as jnp\nimport optax\nloss = optax.sigmoid_binary_cross_entropy(z, y).mean()"),
    # MSL502: a softmax given to a loss that applies softmax itself.
    ("MSL502", TORCH + "probs = F.softmax(logits, dim=1)\nloss = F.cross_entropy(probs, target)",
     TORCH + "loss = F.cross_entropy(logits, target)"),
    ("MSL502", TORCH + "criterion = nn.CrossEntropyLoss()\nout = torch.softmax(self_fc(x), dim=-1)\n"
     "loss = criterion(out, y)",
     TORCH + "criterion = nn.CrossEntropyLoss()\nout = self_fc(x)\nloss = criterion(out, y)"),
    ("MSL502", TORCH + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.body = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))\n        self.loss_fn = nn.CrossEntropyLoss()\n"
     "    def step(self, x, y):\n        return self.loss_fn(self.body(x), y)",
     TORCH + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.body = nn.Sequential(nn.Linear(4, 3))\n        self.loss_fn = nn.CrossEntropyLoss()\n"
     "    def step(self, x, y):\n        return self.loss_fn(self.body(x), y)"),
    ("MSL502", TF1 + "y = tf.nn.softmax(tf.matmul(x, W) + b)\n"
     "loss = tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y)",
     TF1 + "y = tf.matmul(x, W) + b\nloss = tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y)"),
    ("MSL502", TF1 + "p = tf.nn.softmax(z)\nloss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=t, logits=p)",
     TF1 + "loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=t, logits=z)"),
    ("MSL502", KERAS + "p = tf.nn.softmax(z)\nloss = keras.losses.CategoricalCrossentropy(from_logits=True)(y, p)",
     KERAS + "p = tf.nn.softmax(z)\nloss = keras.losses.CategoricalCrossentropy()(y, p)"),
    ("MSL502", "import jax\nimport optax\np = jax.nn.softmax(z)\nloss = optax.softmax_cross_entropy(p, labels)",
     "import jax\nimport optax\nloss = optax.softmax_cross_entropy(z, labels)"),
    ("MSL502", TORCH + "loss = nn.CrossEntropyLoss()(x.softmax(-1), y)", TORCH + "loss = nn.CrossEntropyLoss()(x, y)"),
    ("MSL502", KERAS + "p = keras.activations.softmax(z)\n"
     "loss = keras.losses.categorical_crossentropy(y, p, from_logits=True)",
     KERAS + "p = keras.activations.softmax(z)\nloss = keras.losses.categorical_crossentropy(y, p)"),
    # MSL503: BCE on sigmoid(z) with z at hand; a sigmoid output into a with-logits loss.
    ("MSL503", TORCH + "loss = nn.BCELoss()(torch.sigmoid(z), y)", TORCH + "loss = nn.BCEWithLogitsLoss()(z, y)"),
    ("MSL503", TORCH + "p = torch.sigmoid(z)\nloss = F.binary_cross_entropy(p, y)",
     TORCH + "loss = F.binary_cross_entropy_with_logits(z, y)"),
    ("MSL503", TORCH + "p = z.sigmoid()\nloss = F.binary_cross_entropy_with_logits(p, y)",
     TORCH + "loss = F.binary_cross_entropy_with_logits(z, y)"),
    ("MSL503", KERAS + "p = tf.sigmoid(z)\nloss = keras.losses.BinaryCrossentropy()(y, p)",
     KERAS + "loss = keras.losses.BinaryCrossentropy(from_logits=True)(y, z)"),
    # TF1's log_loss on a sigmoid: the loss on probabilities beside the one on logits.
    ("MSL503", TF1 + "loss = tf.losses.log_loss(labels, tf.sigmoid(logits))",
     TF1 + "loss = tf.losses.sigmoid_cross_entropy(labels, logits)"),
    ("MSL503", TF1 + "p = tf.sigmoid(z)\nloss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=p)",
     TF1 + "loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)"),
    # MSL504: NLL on probabilities.
    ("MSL504", TORCH + "p = F.softmax(z, dim=1)\nloss = F.nll_loss(p, y)",
     TORCH + "lp = F.log_softmax(z, dim=1)\nloss = F.nll_loss(lp, y)"),
    ("MSL504", TORCH + "model = nn.Sequential(nn.Linear(8, 3), nn.Softmax(dim=1))\ncrit = nn.NLLLoss()\n"
     "loss = crit(model(x), y)",
     TORCH + "model = nn.Sequential(nn.Linear(8, 3), nn.LogSoftmax(dim=1))\ncrit = nn.NLLLoss()\n"
     "loss = crit(model(x), y)"),
    # MSL505: Keras activation and from_logits disagree.
    ("MSL505", KERAS + "model = keras.Sequential([keras.layers.Dense(64, activation='relu'),\n"
     "    keras.layers.Dense(10, activation='softmax')])\n"
     "model.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))",
     KERAS + "model = keras.Sequential([keras.layers.Dense(64, activation='relu'),\n"
     "    keras.layers.Dense(10, activation='softmax')])\n"
     "model.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy())"),
    ("MSL505", KERAS + "model = keras.Sequential([keras.layers.Dense(64, activation='relu'), keras.layers.Dense(10)])\n"
     "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')",
     KERAS + "model = keras.Sequential([keras.layers.Dense(64, activation='relu'), keras.layers.Dense(10)])\n"
     "model.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))"),
    ("MSL505", KERAS + "model = keras.Sequential()\nmodel.add(keras.layers.Dense(32, activation='relu'))\n"
     "model.add(keras.layers.Dense(1, activation='sigmoid'))\n"
     "model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), optimizer='sgd')",
     KERAS + "model = keras.Sequential()\nmodel.add(keras.layers.Dense(32, activation='relu'))\n"
     "model.add(keras.layers.Dense(1, activation='sigmoid'))\nmodel.compile(loss='binary_crossentropy', optimizer='sgd')"),
    ("MSL505", KERAS + "inputs = keras.Input(shape=(8,))\nh = keras.layers.Dense(16, activation='relu')(inputs)\n"
     "outputs = keras.layers.Dense(1, activation='sigmoid')(h)\nmodel = keras.Model(inputs, outputs)\n"
     "model.compile(optimizer='adam', loss=keras.losses.BinaryCrossentropy(from_logits=True))",
     KERAS + "inputs = keras.Input(shape=(8,))\nh = keras.layers.Dense(16, activation='relu')(inputs)\n"
     "outputs = keras.layers.Dense(1, activation='sigmoid')(h)\nmodel = keras.Model(inputs, outputs)\n"
     "model.compile(optimizer='adam', loss=keras.losses.BinaryCrossentropy())"),
    # MSL115: guards that the dtype cannot hold.
    ("MSL115", TORCH + "p = torch.sigmoid(z).half()\nloss = -torch.log(p + 1e-8).mean()",
     TORCH + "p = torch.sigmoid(z).half()\nloss = -torch.log(p.float() + 1e-8).mean()"),
    ("MSL115", TORCH + "p = probs.half()\nq = torch.clamp(p, min=1e-10)",
     TORCH + "p = probs.half()\nq = torch.clamp(p, min=1e-4)"),
    ("MSL115", TORCH + "p = torch.clamp(torch.sigmoid(z), 1e-8, 1 - 1e-8)",
     TORCH + "p = torch.clamp(torch.sigmoid(z), 1e-7, 1 - 1e-7)"),
    ("MSL115", "import numpy as np\np = x.astype(np.float16)\nq = np.clip(p, 1e-9, 1 - 1e-9)",
     "import numpy as np\np = x.astype(np.float32)\nq = np.clip(p, 1e-7, 1 - 1e-7)"),
    # MSL116: exp/log/softmax in half precision outside autocast.
    ("MSL116", TORCH + "h = x.half()\ny = torch.softmax(h, dim=-1)",
     TORCH + "h = x.half()\ny = torch.softmax(h.float(), dim=-1)"),
    ("MSL116", "import numpy as np\nx16 = x.astype(np.float16)\ny = np.exp(x16)",
     "import numpy as np\nx16 = x.astype(np.float16)\ny = np.exp(x16.astype(np.float32))"),
    ("MSL116", KERAS + "keras.mixed_precision.set_global_policy('mixed_float16')\ndense = keras.layers.Dense(10)\n"
     "p = tf.nn.softmax(dense(x))",
     KERAS + "keras.mixed_precision.set_global_policy('mixed_float16')\ndense = keras.layers.Dense(10)\n"
     "p = tf.nn.softmax(tf.cast(dense(x), tf.float32))"),
    ("MSL116", TORCH + "t = torch.randn(4, 8, dtype=torch.bfloat16)\nz = torch.logsumexp(t, dim=1)",
     TORCH + "t = torch.randn(4, 8, dtype=torch.bfloat16)\nz = torch.logsumexp(t.float(), dim=1)"),
]


@pytest.mark.parametrize("rule,fires,_", CASES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(CASES)])
def test_fires(checker, rule: str, fires: str, _: str) -> None:
    assert rule in rules_fired(checker, textwrap.dedent(fires))


@pytest.mark.parametrize("rule,_,twin", CASES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(CASES)])
def test_stable_twin_is_clean_of_the_rule(checker, rule: str, _: str, twin: str) -> None:
    assert rule not in rules_fired(checker, textwrap.dedent(twin))


NEGATIVE = [
    # Correct idioms: the framework losses on logits, log_softmax + NLL, an autocast region, a model that
    # ends in a softmax compiled with a probability loss, sklearn's log_loss, entropies of clipped values.
    TORCH + "loss = F.cross_entropy(model(x), y)",
    TORCH + "crit = nn.BCELoss()\nmodel = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())\nloss = crit(model(x), y)",
    TORCH + "with torch.autocast('cuda'):\n    out = model(x.half())\n    p = torch.softmax(out, dim=-1)",
    KERAS + "model = keras.Sequential([keras.layers.Dense(3, activation='softmax')])\n"
    "model.compile(optimizer='adam', loss='categorical_crossentropy')",
    "from sklearn.metrics import log_loss\nloss = log_loss(y, clf.predict_proba(X))",
    # TF1's log_loss on probabilities the code does not compute from logits at hand.
    TF1 + "loss = tf.compat.v1.losses.log_loss(labels, model(x))",
    "import numpy as np\np = np.clip(p, 1e-15, 1 - 1e-15)\nll = np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))",
    # A Poisson log-likelihood: counts times log of a rate, not a cross-entropy on probabilities.
    "import numpy as np\ndef loglike(counts, rate):\n    return np.sum(counts * np.log(rate) - rate)",
    # float64 numpy: 1 - 1e-12 is not 1.
    "import numpy as np\nq = np.clip(p, 1e-12, 1 - 1e-12)",
    # A float32 literal eps torch can hold, and a float64 default set by the file.
    TORCH + "torch.set_default_dtype(torch.float64)\np = torch.clamp(q, 1e-8, 1 - 1e-8)",
    # Python's `float` as a dtype is float64 (numpy and torch alike), where 1 - 1e-10 is not 1.
    "import numpy as np\ndef edf(counts, n):\n    q = (counts / n).astype(float)\n    q = np.clip(q, 1e-10, 1 - 1e-10)\n"
    "    return q * np.log(q)",
    "import numpy as np\nq = np.asarray(quantiles, dtype=float)\nq = np.clip(q, 1e-10, 1 - 1e-10)",
    # A probability loss clipped by an eps the file cannot spell as a number (Keras' backend.epsilon()).
    KERAS + "from keras import backend\ndef cce(target, output):\n"
    "    output = output / tf.reduce_sum(output, -1, keepdims=True)\n"
    "    output = tf.clip_by_value(output, backend.epsilon(), 1.0 - backend.epsilon())\n"
    "    return -tf.reduce_sum(target * tf.math.log(output), -1)",
    # Clipped in place through an alias: the alias is the same array.
    "import numpy as np\ndef boost(estimator, X, y_coding):\n    proba = estimator.predict_proba(X)\n"
    "    p = proba\n    np.clip(p, np.finfo(p.dtype).eps, None, out=p)\n"
    "    return -(y_coding * np.log(proba)).sum(axis=1)",
    # `model` in another function, built with layers `.add`ed to it, is another model.
    KERAS + "def logits_model():\n    model = keras.Sequential()\n    model.add(keras.layers.Dense(1))\n"
    "    return model\ndef probability_model(inputs, hidden):\n"
    "    out = keras.layers.Dense(1, activation='sigmoid')(hidden)\n    model = wrap(inputs, out)\n"
    "    model.compile(optimizer='adam', loss='binary_crossentropy')",
]


@pytest.mark.parametrize("source", NEGATIVE, ids=[f"neg-{i}" for i in range(len(NEGATIVE))])
def test_correct_idioms_are_clean(checker, source: str) -> None:
    fired = [r for r in rules_fired(checker, textwrap.dedent(source)) if r.startswith(("MSL5", "MSL115", "MSL116"))]
    assert fired == []


def test_cross_entropy_is_one_finding_not_also_log_or_xlogy(checker) -> None:
    """MSL501 takes precedence over MSL110 (unguarded log) and MSL111 (xlogy) on the same expression."""
    source = "import numpy as np\np = clf.predict_proba(X)[:, 1]\nll = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))"
    assert rules_fired(checker, source) == ["MSL501"]


def test_the_message_says_why_the_value_is_a_probability(checker) -> None:
    report = checker.check_source(TORCH + "probs = F.softmax(logits, dim=1)\nloss = F.cross_entropy(probs, target)",
                                  "t.py")
    (finding,) = [f for f in report.findings if f.rule == "MSL502"]
    assert "torch.nn.functional.softmax" in finding.message and "logits" in finding.message


@pytest.mark.parametrize("dtype,finfo", [("float16", np.finfo(np.float16)), ("float32", np.finfo(np.float32)),
                                         ("float64", np.finfo(np.float64)),
                                         ("bfloat16", ml_dtypes.finfo(ml_dtypes.bfloat16))])
def test_precision_tables_are_finfo(dtype: str, finfo) -> None:
    assert EPSILON[dtype] == float(finfo.eps)
    assert SMALLEST[dtype] == float(finfo.smallest_subnormal)


@pytest.mark.parametrize("dtype,cast", [("float16", np.float16), ("float32", np.float32),
                                        ("bfloat16", ml_dtypes.bfloat16)])
@pytest.mark.parametrize("c", [1e-3, 1e-4, 3e-5, 1e-7, 5e-8, 2.9e-8, 1e-8, 1e-10, 1e-30, 1e-40, 1e-45])
def test_rounding_predicates_agree_with_the_dtype(dtype: str, cast, c: float) -> None:
    assert rounds_to_zero(c, dtype) == (float(cast(c)) == 0.0)
    assert one_minus_is_one(c, dtype) == (float(cast(1.0 - c)) == 1.0)


# ---- the confirmation experiment (loss-at-the-edge), against closed forms -----------------------------


@pytest.mark.parametrize("rule", ["MSL115", "MSL116", "MSL501", "MSL502", "MSL503", "MSL504", "MSL505"])
def test_every_loss_rule_is_confirmed_at_the_edge(rule: str) -> None:
    from mlstablint.sweep.confirm_losses import evaluate

    confirmed, figures, texts = evaluate(rule)
    assert confirmed and figures["inputs"] == "synthetic" and texts
    for case in figures["cases"]:
        assert case["stable_error"] <= 1e-5


def test_double_softmax_figures_are_the_closed_forms() -> None:
    """Cross-entropy of softmax([0, 10, 0]) at target 0: log(e^p0 + e^p1 + e^p2) - p0 with p = softmax(z), which
    tends to log(e + 2) = 1.5514 as p -> (0, 1, 0); the correct loss is 10 + log(1 + 2 e^-10)."""
    from mlstablint.sweep.confirm_losses import evaluate

    _, figures, _ = evaluate("MSL502")
    case = next(c for c in figures["cases"] if c["dtype"] == "float64")
    assert case["naive_loss"][0] == pytest.approx(np.log(np.e + 2), abs=1e-3)
    assert case["reference_loss"][0] == pytest.approx(10 + np.log1p(2 * np.exp(-10.0)), rel=1e-12)
    assert case["naive_gradient_norm"] < 1e-3 * case["reference_gradient_norm"]


def test_sigmoid_then_bce_is_capped_at_torchs_clamp_with_no_gradient() -> None:
    from mlstablint.sweep.confirm_losses import TORCH_LOG_FLOOR, evaluate

    _, figures, _ = evaluate("MSL503")
    (case,) = figures["cases"]
    assert case["naive_loss"] == [-TORCH_LOG_FLOOR] and case["naive_gradient"] == [0.0]
    assert case["reference_loss"][0] == pytest.approx(120.0, rel=1e-12)  # softplus(120) = 120 + log1p(e^-120)
    assert case["reference_gradient"][0] == pytest.approx(-1.0, abs=1e-12)


def test_check_confirm_attaches_the_experiment(tmp_path) -> None:
    from tests.conftest import run_cli

    (tmp_path / "train.py").write_text(TORCH + "probs = F.softmax(logits, dim=1)\nloss = F.cross_entropy(probs, y)\n")
    out = run_cli("check", "--confirm", "--format", "json", "train.py", cwd=tmp_path)
    import json

    (finding,) = [f for f in json.loads(out.stdout)["findings"] if f["rule"] == "MSL502"]
    assert finding["confirmation"]["status"] == "confirmed"
    assert finding["confirmation"]["experiment"] == "loss-at-the-edge"
    assert "synthetic" in finding["confirmation"]["summary"]
