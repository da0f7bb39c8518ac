"""Autofix (`check --fix`, `--unsafe-fixes`, `--diff`): the catalogue's examples fixed into its
Use instead, the rest of every file byte-identical, aliases reused, imports added only where
missing, no fix where the code does not say enough, and nothing written when it must not be."""

from __future__ import annotations

import ast
import difflib
import importlib
import itertools
import json
import re
import stat
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlstablint.catalog import load_catalog
from mlstablint.code.engine import FileChecker
from mlstablint.code.fixer import FixError, apply_edits, fix_file, fix_text, write_fixed
from mlstablint.code.rules import ALL_RULES
from mlstablint.findings import Edit, FixInfo, Report
from tests.conftest import ROOT, run_cli

CATALOG = load_catalog()
CODE_RULES = sorted(rid for rid in CATALOG if rid < "MSL600")
FIXABLE = [rid for rid in CODE_RULES if CATALOG[rid].fix_safety != "none"]


def everything(_: object) -> bool:
    return True


def fixed(checker: FileChecker, code: str) -> str:
    return fix_text(checker, code, "snippet.py", (), everything)[0]


# ---- the catalogue ------------------------------------------------------------------------------

def test_fix_safety_is_declared_on_every_page() -> None:
    for doc in CATALOG.values():
        assert doc.fix_safety in ("safe", "unsafe", "none"), doc.source
        text = doc.sections["Fix safety"]
        opening = (doc.fix_safety,) if doc.fix_safety != "none" else ("none", "no ")
        assert text.lower().startswith(opening), f"{doc.source}: the Fix safety section opens with the value"
    # The list of fixable code rules.
    assert FIXABLE == ["MSL101", "MSL102", "MSL103", "MSL104", "MSL105", "MSL106", "MSL107", "MSL108", "MSL111",
                       "MSL112", "MSL113", "MSL114", "MSL201", "MSL202", "MSL204",
                       "MSL501", "MSL502", "MSL503", "MSL504", "MSL505"]  # the loss family, where the logits are at hand


@pytest.mark.parametrize("rule_id", FIXABLE)
def test_example_fixed_is_use_instead_and_clean(checker: FileChecker, rule_id: str) -> None:
    doc = CATALOG[rule_id]
    for n, example in enumerate(doc.code_blocks("Example")):
        report = checker.check_source(example, "example.py")
        offered = [f for f in report.findings if f.rule == rule_id]
        if n > 0 and offered and all(f.fix is None for f in offered):
            continue  # a later Example shows the analysis' reach (a model, an attribute): no fix is offered there
        assert offered and all(f.fix is not None and f.fix.safety == doc.fix_safety for f in offered)
        new = fixed(checker, example)
        assert new in doc.code_blocks("Use instead"), f"{rule_id}: the fixed Example is not on the page:\n{new}"
        assert rule_id not in [f.rule for f in checker.check_source(new, "fixed.py").findings]
        assert fixed(checker, new) == new  # idempotent


@pytest.mark.parametrize("rule_id", [rid for rid in CODE_RULES if rid not in FIXABLE])
def test_rules_without_fix_safety_offer_no_fix(checker: FileChecker, rule_id: str) -> None:
    for example in CATALOG[rule_id].code_blocks("Example"):
        assert all(f.fix is None for f in checker.check_source(example, "example.py").findings if f.rule == rule_id)


# ---- spelling: the library the code uses, its aliases, imports only where missing -----------------

@pytest.mark.parametrize(("before", "after"), [
    ("import numpy as xp\ny = xp.log(1 + x)\n", "import numpy as xp\ny = xp.log1p(x)\n"),
    ("import math\ny = math.log(x + 1)\n", "import math\ny = math.log1p(x)\n"),
    ("import torch\ny = torch.log(1 + t)\n", "import torch\ny = torch.log1p(t)\n"),
    ("import jax.numpy as jnp\ny = jnp.exp(x) - 1\n", "import jax.numpy as jnp\ny = jnp.expm1(x)\n"),
    # A name imported from the library: the fix imports its sibling the same way.
    ("from numpy import log\ny = log(1 + x)\n", "from numpy import log\nfrom numpy import log1p\ny = log1p(x)\n"),
    # scipy.special already imported under an alias: reused, nothing added.
    ("import numpy as np\nimport scipy.special as sp\ny = 1 / (1 + np.exp(-z))\n",
     "import numpy as np\nimport scipy.special as sp\ny = sp.expit(z)\n"),
    ("import numpy as np\nfrom scipy.special import expit\np = expit(z)\nq = 1 / (1 + np.exp(-z))\n",
     "import numpy as np\nfrom scipy.special import expit\np = expit(z)\nq = expit(z)\n"),
    ("import torch\ndef f(z):\n    return 1 / (1 + torch.exp(-z))\n", "import torch\ndef f(z):\n    return torch.sigmoid(z)\n"),
    ("import numpy as np\ny = np.exp(a) / (1 + np.exp(a))\n",
     "import numpy as np\nfrom scipy.special import expit\ny = expit(a)\n"),
    ("import numpy as np\ny = 1 / (1 + np.exp(a + b))\n", "import numpy as np\nfrom scipy.special import expit\ny = expit(-(a + b))\n"),
    ("import torch\ny = torch.log(torch.sum(torch.exp(s), dim=1, keepdim=True))\n",
     "import torch\ny = torch.logsumexp(s, dim=1, keepdim=True)\n"),
    ("import numpy as np\ny = np.log(np.exp(s).sum(axis=0))\n",
     "import numpy as np\nfrom scipy.special import logsumexp\ny = logsumexp(s, axis=0)\n"),
    ("import torch\nimport torch.nn.functional as F\nlp = torch.log(F.softmax(z, dim=1))\n",
     "import torch\nimport torch.nn.functional as F\nlp = F.log_softmax(z, dim=1)\n"),
    ("import torch\ny = torch.log(torch.softmax(z, -1))\n", "import torch\ny = torch.log_softmax(z, -1)\n"),
    ("import torch\nimport torch.nn.functional as F\ny = torch.log(torch.sigmoid(z))\n",
     "import torch\nimport torch.nn.functional as F\ny = F.logsigmoid(z)\n"),
    ("import torch\ne = torch.exp(z)\np = e / e.sum(dim=-1, keepdim=True)\n",
     "import torch\ne = torch.exp(z - torch.amax(z, dim=-1, keepdim=True))\np = e / e.sum(dim=-1, keepdim=True)\n"),
    ("import numpy as np\np = np.exp(z) / np.sum(np.exp(z))\n",
     "import numpy as np\np = np.exp(z - np.max(z)) / np.sum(np.exp(z - np.max(z)))\n"),
    ("import numpy as np\nh = np.sum(q * np.log(p))\nc = (1 - y) * np.log(1 - p)\n",
     "import numpy as np\nh = np.sum(q * np.log(p))\nc = xlogy(1 - y, 1 - p)\n".replace(
         "import numpy as np\n", "import numpy as np\nfrom scipy.special import xlogy\n")),
    ("import numpy as np\nv = (X**2).mean(0) - X.mean(0)**2\n", "import numpy as np\nv = np.var(X, axis=0)\n"),
    ("import numpy as np\nbad = x != np.nan\n", "import numpy as np\nbad = ~np.isnan(x)\n"),
    ("import torch\nbad = t == torch.nan\n", "import torch\nbad = torch.isnan(t)\n"),
    ("import math\nr = math.sqrt(a**2 + b**2)\n", "import math\nr = math.hypot(a, b)\n"),
    ("import numpy as np\nr = (a*a + b*b) ** 0.5\n", "import numpy as np\nr = np.hypot(a, b)\n"),
    ("import scipy.linalg as sl\nx = sl.inv(A) @ b\n", "import scipy.linalg as sl\nx = sl.solve(A, b)\n"),
    ("import numpy as np\nx = np.linalg.inv(A).dot(b)\n", "import numpy as np\nx = np.linalg.solve(A, b)\n"),
    ("import torch\nx = torch.inverse(A) @ b\n", "import torch\nx = torch.linalg.solve(A, b)\n"),
    ("from numpy.linalg import inv, solve\nw = solve(X.T @ X, X.T @ y)\n",
     "from numpy.linalg import inv, solve\nfrom numpy.linalg import lstsq\nw = lstsq(X, y, rcond=None)[0]\n"),
    ("import numpy as np\nw = np.linalg.solve(X.T.dot(X), np.dot(X.T, y))\n",
     "import numpy as np\nw = np.linalg.lstsq(X, y, rcond=None)[0]\n"),
    # The normal equations written as one product: the whole product becomes the least-squares solve.
    ("import numpy as np\nw = np.linalg.inv(X.T @ X) @ X.T @ y\n", "import numpy as np\nw = np.linalg.lstsq(X, y, rcond=None)[0]\n"),
    ("import numpy as np\nw = np.linalg.inv(X.T.dot(X)).dot(X.T).dot(y)\n",
     "import numpy as np\nw = np.linalg.lstsq(X, y, rcond=None)[0]\n"),
    ("from numpy.linalg import inv\nw = inv(X.T @ X) @ (X.T @ y)\n",
     "from numpy.linalg import inv\nfrom numpy.linalg import lstsq\nw = lstsq(X, y, rcond=None)[0]\n"),
    ("import numpy as np\nimport numpy.linalg as la\nw = np.dot(la.inv(np.dot(X.T, X)), np.dot(X.T, y))\n",
     "import numpy as np\nimport numpy.linalg as la\nw = la.lstsq(X, y, rcond=None)[0]\n"),
    ("import scipy.linalg\nw = scipy.linalg.inv(X.T @ X) @ X.T @ y\n", "import scipy.linalg\nw = scipy.linalg.lstsq(X, y)[0]\n"),
    ("import scipy.linalg as sl\nw = sl.solve(X.T @ X, X.T @ y)\n", "import scipy.linalg as sl\nw = sl.lstsq(X, y)[0]\n"),
    ("import torch\nw = torch.linalg.inv(X.mT @ X) @ X.mT @ y\n", "import torch\nw = torch.linalg.lstsq(X, y).solution\n"),
    ("import torch\nw = torch.inverse(X.t() @ X) @ X.t() @ y @ z\n",
     "import torch\nw = torch.linalg.lstsq(X, y).solution @ z\n"),
    ("import torch\nw = torch.linalg.solve(X.T @ X, X.T @ y)\n", "import torch\nw = torch.linalg.lstsq(X, y).solution\n"),
    # The loss family: an activation written inline as the loss's argument.
    ("import torch.nn.functional as F\nl = F.cross_entropy(F.softmax(z, dim=1), y, label_smoothing=0.1)\n",
     "import torch.nn.functional as F\nl = F.cross_entropy(z, y, label_smoothing=0.1)\n"),
    ("import torch\nimport torch.nn as nn\nl = nn.CrossEntropyLoss()(torch.softmax(z, 1), y)\n",
     "import torch\nimport torch.nn as nn\nl = nn.CrossEntropyLoss()(z, y)\n"),
    ("import torch\nimport torch.nn.functional as F\nl = F.binary_cross_entropy(torch.sigmoid(z), y, reduction='sum')\n",
     "import torch\nimport torch.nn.functional as F\nl = F.binary_cross_entropy_with_logits(z, y, reduction='sum')\n"),
    ("import torch\nfrom torch.nn.functional import binary_cross_entropy as bce\nl = bce(z.sigmoid(), y)\n",
     "import torch\nfrom torch.nn.functional import binary_cross_entropy as bce\n"
     "l = torch.nn.functional.binary_cross_entropy_with_logits(z, y)\n"),
    ("import torch\nimport torch.nn as nn\nl = nn.BCEWithLogitsLoss()(torch.sigmoid(z), y)\n",
     "import torch\nimport torch.nn as nn\nl = nn.BCEWithLogitsLoss()(z, y)\n"),
    ("import torch\nl = torch.nn.functional.nll_loss(z.softmax(1), y)\n",
     "import torch\nl = torch.nn.functional.nll_loss(z.log_softmax(1), y)\n"),
    ("import torch\nimport torch.nn as nn\nl = nn.NLLLoss()(torch.softmax(z, dim=-1), y)\n",
     "import torch\nimport torch.nn as nn\nl = nn.NLLLoss()(torch.log_softmax(z, dim=-1), y)\n"),
    # TensorFlow's root import reaches tf.math, tf.nn, tf.linalg: `tf.` is reused, no `from tensorflow.math import`.
    ("import tensorflow as tf\ny = tf.math.log(1 + x)\n", "import tensorflow as tf\ny = tf.math.log1p(x)\n"),
    ("import tensorflow as tf\ny = tf.log(tf.nn.softmax(z))\n", "import tensorflow as tf\ny = tf.nn.log_softmax(z)\n"),
    ("import tensorflow as tf\ny = tf.math.log(tf.sigmoid(z))\n", "import tensorflow as tf\ny = tf.math.log_sigmoid(z)\n"),
    ("import tensorflow as tf\nx = tf.linalg.inv(A) @ b\n", "import tensorflow as tf\nx = tf.linalg.solve(A, b)\n"),
    # ... in TensorFlow, Keras and optax: the module's alias reused, no import where the name is spelled.
    ("import tensorflow as tf\nl = tf.keras.losses.binary_crossentropy(y, tf.sigmoid(z))\n",
     "import tensorflow as tf\nl = tf.keras.losses.binary_crossentropy(y, z, from_logits=True)\n"),
    ("from tensorflow import keras\nl = keras.losses.binary_crossentropy(\n    y,\n    keras.activations.sigmoid(z),\n)\n",
     "from tensorflow import keras\nl = keras.losses.binary_crossentropy(\n    y,\n    z, from_logits=True,\n)\n"),
    ("import tensorflow as tf\nl = tf.keras.losses.binary_crossentropy(y, tf.sigmoid(z), from_logits=False)\n",
     "import tensorflow as tf\nl = tf.keras.losses.binary_crossentropy(y, z, from_logits=True)\n"),
    ("import tensorflow as tf\nl = tf.keras.losses.BinaryCrossentropy(label_smoothing=0.1)(y, tf.sigmoid(z))\n",
     "import tensorflow as tf\nl = tf.keras.losses.BinaryCrossentropy(label_smoothing=0.1, from_logits=True)(y, z)\n"),
    ("import tensorflow as tf\nl = tf.keras.losses.BinaryCrossentropy()(y, tf.math.sigmoid(z))\n",
     "import tensorflow as tf\nl = tf.keras.losses.BinaryCrossentropy(from_logits=True)(y, z)\n"),
    ("import tensorflow as tf\nl = tf.compat.v1.losses.log_loss(labels=y, predictions=tf.sigmoid(z), weights=w)\n",
     "import tensorflow as tf\nl = tf.compat.v1.losses.sigmoid_cross_entropy(multi_class_labels=y, logits=z, weights=w)\n"),
    ("import tensorflow as tf\nl = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=tf.nn.sigmoid(z))\n",
     "import tensorflow as tf\nl = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)\n"),
    ("import tensorflow as tf\nl = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=tf.nn.softmax(z, axis=-1))\n",
     "import tensorflow as tf\nl = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z)\n"),
    ("import tensorflow as tf\nl = tf.keras.losses.CategoricalCrossentropy(from_logits=True)(y, tf.nn.softmax(z))\n",
     "import tensorflow as tf\nl = tf.keras.losses.CategoricalCrossentropy(from_logits=True)(y, z)\n"),
    ("import jax\nimport optax\nl = optax.softmax_cross_entropy_with_integer_labels(jax.nn.softmax(z), t)\n",
     "import jax\nimport optax\nl = optax.softmax_cross_entropy_with_integer_labels(z, t)\n"),
    ("from jax.nn import sigmoid\nimport optax\nl = optax.sigmoid_binary_cross_entropy(sigmoid(z), y)\n",
     "from jax.nn import sigmoid\nimport optax\nl = optax.sigmoid_binary_cross_entropy(z, y)\n"),
    # MSL505: the loss made to read what the model outputs, in the module's Keras.
    ("import tensorflow as tf\nm = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n"
     "m.compile(optimizer='sgd', loss='binary_crossentropy')\n",
     "import tensorflow as tf\nm = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n"
     "m.compile(optimizer='sgd', loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))\n"),
    ("import keras\nm = keras.Sequential([keras.layers.Dense(3)])\nm.compile(loss=keras.losses.categorical_crossentropy)\n",
     "import keras\nm = keras.Sequential([keras.layers.Dense(3)])\n"
     "m.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))\n"),
    ("import keras\nfrom keras.losses import categorical_crossentropy\nm = keras.Sequential([keras.layers.Dense(3)])\n"
     "m.compile(loss=categorical_crossentropy)\n",
     "import keras\nfrom keras.losses import categorical_crossentropy\n"
     "m = keras.Sequential([keras.layers.Dense(3)])\nm.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))\n"),
    ("from tensorflow.keras import Sequential\nfrom tensorflow.keras.layers import Dense\n"
     "from tensorflow.keras.losses import binary_crossentropy\nm = Sequential([Dense(1)])\nm.compile(loss=binary_crossentropy)\n",
     "from tensorflow.keras import Sequential\nfrom tensorflow.keras.layers import Dense\n"
     "from tensorflow.keras.losses import binary_crossentropy\nfrom tensorflow.keras.losses import BinaryCrossentropy\n"
     "m = Sequential([Dense(1)])\nm.compile(loss=BinaryCrossentropy(from_logits=True))\n"),
    ("import keras\nm = keras.Sequential([keras.layers.Dense(3)])\n"
     "m.compile(loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1, from_logits=False))\n",
     "import keras\nm = keras.Sequential([keras.layers.Dense(3)])\n"
     "m.compile(loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1, from_logits=True))\n"),
    ("import keras\nm = keras.Sequential([keras.layers.Dense(3, activation='sigmoid')])\n"
     "m.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True))\n",
     "import keras\nm = keras.Sequential([keras.layers.Dense(3, activation='sigmoid')])\n"
     "m.compile(loss=keras.losses.BinaryCrossentropy(from_logits=False))\n"),
    # MSL501: the logs of a hand-written cross-entropy on the logits at hand (an import only where missing).
    ("import numpy as np\nfrom scipy.special import expit\np = expit(X @ w)\n"
     "loss = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()\n",
     "import numpy as np\nfrom scipy.special import expit\nfrom scipy.special import log_expit\np = expit(X @ w)\n"
     "loss = -(y * log_expit(X @ w) + (1 - y) * log_expit(-(X @ w))).mean()\n"),
    ("import torch\nimport torch.nn.functional as F\nl = -(t * torch.log(torch.sigmoid(z)) + (1 - t) * torch.log(1 - torch.sigmoid(z)))\n",
     "import torch\nimport torch.nn.functional as F\nl = -(t * F.logsigmoid(z) + (1 - t) * F.logsigmoid(-z))\n"),
    ("import torch\nimport torch.nn as nn\nclass Head(nn.Module):\n    def forward(self, x):\n"
     "        z = self.fc(x)\n        probs = torch.softmax(z, 1)\n        return -(y * torch.log(probs)).sum(1).mean()\n",
     "import torch\nimport torch.nn as nn\nclass Head(nn.Module):\n    def forward(self, x):\n"
     "        z = self.fc(x)\n        probs = torch.softmax(z, 1)\n        return -(y * torch.log_softmax(z, 1)).sum(1).mean()\n"),
    ("import numpy as np\nld = np.log(np.abs(np.linalg.det(K)))\n", "import numpy as np\nld = np.linalg.slogdet(K)[1]\n"),
    ("import torch\nld = torch.log(torch.det(K))\n", "import torch\nld = torch.linalg.slogdet(K)[1]\n"),
])
def test_fix_spelling(checker: FileChecker, before: str, after: str) -> None:
    assert fixed(checker, before) == after
    assert fixed(checker, after) == after


@pytest.mark.parametrize("code", [
    # The axis of the shift would broadcast unlike the sum (no keepdims): information missing.
    "import numpy as np\ne = np.exp(z)\np = e / e.sum(axis=1)\n",
    # The exp's argument is a call: shifting it evaluates it twice (a temporary is needed).
    "import numpy as np\np = np.exp(model(x)) / np.sum(np.exp(model(x)))\n",
    # The exp is used elsewhere: shifting it would change that use.
    "import numpy as np\ne = np.exp(z)\np = e / e.sum()\nprint(e)\n",
    # torch.logsumexp needs a dim the code does not give.
    "import torch\ny = torch.log(torch.sum(torch.exp(s)))\n",
    # No numpy in the module: whether x is a float, an array or a tensor is unknown.
    "import math\nbad = x == math.nan\n",
    # The logits were rebound between the softmax and its log.
    "import torch\nimport torch.nn.functional as F\np = F.softmax(z, dim=1)\nz = z * 2\ny = torch.log(p)\n",
    # A chained comparison.
    "import numpy as np\nbad = a == x == np.nan\n",
    # The variance's two means over different axes.
    "import numpy as np\nv = np.mean(X**2, axis=0) - np.mean(X, axis=1)**2\n",
    # The import the fix needs has nowhere to go (no leading import block to extend).
    "x = load()\nimport numpy as np\ny = 1 / (1 + np.exp(-x))\n",
    # The name the fix would import is taken in the module.
    "import numpy as np\nexpit = None\ny = 1 / (1 + np.exp(-x))\n",
    # Normal equations not visible as one expression, or not with one X on both sides.
    "import numpy as np\nG = X.T @ X\nw = np.linalg.inv(G) @ X.T @ y\n",
    "import numpy as np\nw = np.linalg.inv(X.T @ X) @ Z.T @ y\n",
    "import numpy as np\nw = np.linalg.inv(X.H @ X) @ X.T @ y\n",
    # X computed by a call: the product evaluates it three times, lstsq would once.
    "import numpy as np\nw = np.linalg.inv(f(X).T @ f(X)) @ f(X).T @ y\n",
    # The loss family: a softmax whose dim may not be the loss's class dim, probabilities kept in a variable
    # (maybe used elsewhere), a BCELoss object (built elsewhere in general), a softmax with a dtype.
    "import torch.nn.functional as F\nl = F.cross_entropy(F.softmax(z, dim=-1), y)\n",
    "import torch.nn.functional as F\np = F.softmax(z, dim=1)\nl = F.nll_loss(p, y)\n",
    "import torch\nimport torch.nn as nn\nl = nn.BCELoss()(torch.sigmoid(z), y)\n",
    "import torch\nimport torch.nn.functional as F\nl = F.nll_loss(F.softmax(z, 1, dtype=torch.float64), y)\n",
    # ... in TensorFlow/Keras/optax: a softmax over another axis than the loss's, a loss object built elsewhere,
    # a positional from_logits, log_loss's epsilon, an activation with a name.
    "import tensorflow as tf\nl = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=tf.nn.softmax(z, axis=1))\n",
    "import tensorflow as tf\nl = tf.keras.losses.CategoricalCrossentropy(from_logits=True, axis=1)(y, tf.nn.softmax(z))\n",
    "import jax\nimport optax\nl = optax.softmax_cross_entropy(jax.nn.softmax(z, axis=0), y)\n",
    "import tensorflow as tf\nbce = tf.keras.losses.BinaryCrossentropy()\nl = bce(y, tf.sigmoid(z))\n",
    "import tensorflow as tf\nl = tf.keras.losses.binary_crossentropy(y, tf.sigmoid(z), False)\n",
    "import tensorflow as tf\nl = tf.compat.v1.losses.log_loss(y, tf.sigmoid(z), epsilon=1e-4)\n",
    "import tensorflow as tf\nl = tf.keras.losses.binary_crossentropy(y, tf.sigmoid(z, name='p'))\n",
    # MSL505: a loss object with positional arguments; two Keras imported (which one the model uses?).
    "import keras\nm = keras.Sequential([keras.layers.Dense(3)])\nm.compile(loss=keras.losses.CategoricalCrossentropy(False))\n",
    "import keras\nimport tensorflow as tf\nm = keras.Sequential([keras.layers.Dense(3)])\nm.compile(loss='categorical_crossentropy')\n",
    # MSL501: a probability without its logits (an eps would depend on the dtype), a logit rebound since.
    "import numpy as np\ndef bce(y, y_pred):\n    return -np.mean(y * np.log(y_pred) + (1 - y) * np.log(1 - y_pred))\n",
    "import numpy as np\nfrom scipy.special import expit\np = expit(z)\nz = z * 2\n"
    "loss = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()\n",
    # A probability kept in a variable whose logits are a call: the fix would call it again (a second forward
    # pass, with its own dropout mask) — MSL501, MSL104 and MSL107 alike.
    "import torch\nimport torch.nn as nn\nclass Head(nn.Module):\n    def forward(self, x):\n"
    "        probs = torch.softmax(self.fc(x), 1)\n        return -(y * torch.log(probs)).sum(1).mean()\n",
    "import torch\np = torch.sigmoid(model(x))\ny = torch.log(p)\n",
    # An option of the product (out=) that the rewrite would drop.
    "import numpy as np\nw = np.dot(np.linalg.inv(X.T @ X), np.dot(X.T, y), out=buf)\n",
])
def test_no_fix_where_the_code_does_not_say_enough(checker: FileChecker, code: str) -> None:
    report = checker.check_source(code, "snippet.py")
    assert report.findings and all(f.fix is None for f in report.findings), [f.rule for f in report.findings]
    assert fixed(checker, code) == code


def test_nested_findings_are_fixed_in_passes(checker: FileChecker) -> None:
    code = "import numpy as np\ny = np.log(1 + (np.exp(x) - 1))\n"
    assert fixed(checker, code) == "import numpy as np\ny = np.log1p(np.expm1(x))\n"


def test_edits_that_overlap_wait_for_the_next_pass() -> None:
    text = "abcdef\n"
    new, applied = apply_edits(text, [[Edit(1, 2, 1, 5, "X")], [Edit(1, 3, 1, 4, "Y")], [Edit(1, 1, 1, 1, "i\n")],
                                      [Edit(1, 1, 1, 1, "i\n")]])
    assert (new, applied) == ("i\naXef\n", 3)  # the same insertion twice is made once


# ---- byte identity: only the flagged expressions and the added imports change -----------------------

def _check_only_flagged_lines_change(checker: FileChecker, text: str) -> str:
    report = checker.check_source(text, "f.py")
    new = fixed(checker, text)
    flagged = {line for f in report.findings if f.fix is not None for e in f.fix.edits
               for line in range(e.line, e.end_line + 1)}
    old_lines, new_lines = text.splitlines(keepends=True), new.splitlines(keepends=True)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        assert all(i + 1 in flagged for i in range(i1, i2)), (tag, old_lines[i1:i2])
        added = [line for line in new_lines[j1:j2] if re.match(r"(from \S+ )?import ", line)]
        if tag == "insert":
            assert added == new_lines[j1:j2]
    ast.parse(new)
    compile(new, "fixed.py", "exec")
    for node in ast.parse(new).body:  # every import the fixes added names something that exists
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("numpy", "scipy"):
            module = importlib.import_module(node.module)
            assert all(hasattr(module, alias.name) for alias in node.names)
    return new


@pytest.mark.parametrize("path", sorted((ROOT / "fixtures").rglob("*.py")), ids=lambda p: p.parent.name + "/" + p.name)
def test_fixtures_change_only_where_flagged(checker: FileChecker, path: Path) -> None:
    _check_only_flagged_lines_change(checker, path.read_text(encoding="utf-8"))


def test_real_module_with_crlf_comments_and_odd_layout(checker: FileChecker) -> None:
    text = ("# -*- coding: utf-8 -*-\r\n\"\"\"Docstring.\"\"\"\r\nfrom __future__ import annotations\r\n\r\n"
            "import numpy as np  # noqa: F401\r\n\r\n\r\nclass Model:\r\n    def loss(self, x):  # comment\r\n"
            "        return (\r\n            np.log( 1 + x )   # spaced\r\n            * (np.exp(x)  -  1)\r\n        )\r\n")
    new = _check_only_flagged_lines_change(checker, text)
    assert new == text.replace("np.log( 1 + x )", "np.log1p(x)").replace("np.exp(x)  -  1", "np.expm1(x)")


@pytest.mark.parametrize("rule_id", FIXABLE)
def test_catalogue_examples_change_only_where_flagged(checker: FileChecker, rule_id: str) -> None:
    for example in CATALOG[rule_id].code_blocks("Example"):
        _check_only_flagged_lines_change(checker, example)


# ---- files on disk ----------------------------------------------------------------------------------

BAD = "import numpy as np\n\ndef f(x):\n    return np.log(1 + x)\n"
# MSL101 and MSL102 are opt-in (outside the default set): the command-line tests select them.
OPT_IN = ("--select", "MSL1")


def test_fix_file_keeps_bom_and_mode_and_refuses_a_changed_file(checker: FileChecker, tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"\xef\xbb\xbf" + BAD.encode())
    path.chmod(0o640)
    result = fix_file(checker, path, "m.py", (), everything)
    assert result.changed and result.fixed == 1
    write_fixed(result)
    assert path.read_bytes() == b"\xef\xbb\xbf" + BAD.replace("np.log(1 + x)", "np.log1p(x)").encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name != "m.py"]  # no temporary left behind

    path.write_text(BAD)
    stale = fix_file(checker, path, "m.py", (), everything)
    path.write_text(BAD + "# edited meanwhile\n")
    with pytest.raises(FixError, match="changed on disk"):
        write_fixed(stale)
    assert path.read_text() == BAD + "# edited meanwhile\n"


def test_a_latin1_file_is_not_rewritten(checker: FileChecker, tmp_path: Path) -> None:
    path = tmp_path / "l.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\n" + BAD.encode() + b"s = '\xe9'\n")
    with pytest.raises(FixError, match="only UTF-8"):
        fix_file(checker, path, "l.py", (), everything)


def _files(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")


def test_cli_diff_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    _files(tmp_path, {"a.py": BAD, "clean.py": "x = 1\n"})
    out = run_cli("check", *OPT_IN, ".", "--diff", "--unsafe-fixes", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith("--- a/a.py\n+++ b/a.py\n")
    assert "-    return np.log(1 + x)\n+    return np.log1p(x)\n" in out.stdout
    assert "Would fix 1 finding in 1 file." in out.stderr
    assert (tmp_path / "a.py").read_text() == BAD
    # Without --unsafe-fixes there is nothing to apply (every current fix is unsafe).
    out = run_cli("check", *OPT_IN, ".", "--diff", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "")


def test_cli_fix_applies_unsafe_fixes_only_when_asked(tmp_path: Path) -> None:
    _files(tmp_path, {"a.py": BAD})
    out = run_cli("check", *OPT_IN, ".", "--fix", cwd=tmp_path)
    assert out.returncode == 1 and (tmp_path / "a.py").read_text() == BAD
    assert "MSL101 `np.log" in out.stdout and "1 hidden fix can be enabled with the `--unsafe-fixes` option" in out.stdout
    out = run_cli("check", *OPT_IN, ".", "--unsafe-fixes", cwd=tmp_path)
    assert "MSL101 [*] `np.log" in out.stdout and "[*] 1 fixable with `--fix --unsafe-fixes`." in out.stdout
    out = run_cli("check", *OPT_IN, ".", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1] == "Fixed 1 finding."
    assert (tmp_path / "a.py").read_text() == BAD.replace("np.log(1 + x)", "np.log1p(x)")


def test_config_fix_unsafe_fixes_and_unfixable(tmp_path: Path) -> None:
    two = BAD + "\ndef g(x):\n    return np.exp(x) - 1\n"
    _files(tmp_path, {"a.py": two, "pyproject.toml": '[tool.mlstablint]\nselect = ["MSL1"]\nfix = true\nunsafe-fixes = true\n'
                                                      'unfixable = ["MSL102"]\n'})
    out = run_cli("check", "a.py", "--format", "json", cwd=tmp_path)
    doc = json.loads(out.stdout)
    assert [(f["rule"], f["fix"]) for f in doc["findings"]] == [("MSL102", None)]
    assert "np.log1p(x)" in (tmp_path / "a.py").read_text() and "np.exp(x) - 1" in (tmp_path / "a.py").read_text()
    (tmp_path / "pyproject.toml").write_text('[tool.mlstablint]\nfix = "yes"\n')
    bad = run_cli("check", "a.py", cwd=tmp_path)
    assert bad.returncode == 2 and "fix must be true or false" in bad.stderr


def test_config_fixable_selects_and_the_more_specific_unfixable_wins(tmp_path: Path) -> None:
    two = BAD + "\ndef g(x):\n    return np.exp(x) - 1\n"
    _files(tmp_path, {"a.py": two, "pyproject.toml": '[tool.mlstablint]\nselect = ["MSL1"]\nfixable = ["MSL10"]\nunfixable = ["MSL102"]\n'})
    out = run_cli("check", ".", "--unsafe-fixes", cwd=tmp_path)
    assert "MSL101 [*] `np.log" in out.stdout and "MSL102 `np.exp" in out.stdout
    assert "[*] 1 fixable with `--fix --unsafe-fixes`." in out.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.mlstablint]\nselect = ["MSL1"]\nfixable = ["MSL102"]\n')
    out = run_cli("check", ".", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert out.returncode == 1 and "Fixed 1 finding." in out.stdout
    assert (tmp_path / "a.py").read_text() == two.replace("np.exp(x) - 1", "np.expm1(x)")


class _BrokenFixes(FileChecker):
    """A checker whose fixes would leave the file unparsable (no rule's does): the fixer's own guard is tested."""

    def check_source(self, text: str, path: str, ignored: Sequence[str] = (),
                     fingerprint_path: str | None = None) -> Report:
        report = super().check_source(text, path, ignored, fingerprint_path)
        for finding in report.findings:
            if finding.fix is not None:
                finding.fix = FixInfo(finding.fix.safety, tuple(replace(e, text=e.text + "(") for e in finding.fix.edits))
        return report


def test_nothing_written_when_the_fixed_code_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(BAD)
    checker = _BrokenFixes({rule.id for rule in ALL_RULES})
    with pytest.raises(FixError, match="does not parse"):
        fix_file(checker, path, "m.py", (), everything)
    assert path.read_text() == BAD


def test_json_fix_edits_rebuild_the_fixed_file(tmp_path: Path) -> None:
    code = "import numpy as np\n\ndef s(z):\n    return 1 / (1 + np.exp(-z))\n"
    _files(tmp_path, {"s.py": code})
    # MSL105 is opt-in (outside the default set): selected by id.
    doc = json.loads(run_cli("check", "s.py", "--select", "MSL105", "--format", "json", cwd=tmp_path).stdout)
    fix = doc["findings"][0]["fix"]
    assert fix["safety"] == "unsafe"
    assert fix["edits"] == [
        {"line": 2, "column": 1, "end_line": 2, "end_column": 1, "text": "from scipy.special import expit\n"},
        {"line": 4, "column": 12, "end_line": 4, "end_column": 32, "text": "expit(z)"},
    ]
    rebuilt, _ = apply_edits(code, [[Edit(**e) for e in fix["edits"]]])
    assert rebuilt == "import numpy as np\nfrom scipy.special import expit\n\ndef s(z):\n    return expit(z)\n"


def test_nothing_written_on_a_parse_error(tmp_path: Path) -> None:
    _files(tmp_path, {"broken.py": BAD + "def (:\n", "a.py": BAD})
    out = run_cli("check", *OPT_IN, ".", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert out.returncode == 2 and "broken.py: syntax error" in out.stderr
    assert (tmp_path / "broken.py").read_text() == BAD + "def (:\n"
    assert "np.log1p" in (tmp_path / "a.py").read_text()


def test_sarif_fixes_are_valid(tmp_path: Path) -> None:
    from tests.sarif_support import validate
    from tests.test_sarif import git_init

    git_init(tmp_path)
    _files(tmp_path, {"a.py": "import numpy as np\n\ndef s(z):\n    return 1 / (1 + np.exp(-z))\n"})
    out = run_cli("check", *OPT_IN, ".", "--select", "MSL105", "--format", "sarif", "--output", "out.sarif", cwd=tmp_path)
    log = json.loads((tmp_path / "out.sarif").read_text())
    fixes = log["runs"][0]["results"][0]["fixes"]
    changes = fixes[0]["artifactChanges"][0]
    assert changes["artifactLocation"]["uri"] == "a.py"
    assert [r["insertedContent"]["text"] for r in changes["replacements"]] == [
        "from scipy.special import expit\n", "expit(z)"]
    assert out.returncode == 1
    validate(tmp_path / "out.sarif")


# ---- notebooks --------------------------------------------------------------------------------------

def _notebook(cells: list[dict[str, object]]) -> str:
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4,
                       "nbformat_minor": 5}, indent=1, ensure_ascii=False) + "\n"


def test_notebook_fix_touches_only_the_sources_of_fixed_cells(checker: FileChecker, tmp_path: Path) -> None:
    outputs = [{"output_type": "stream", "name": "stdout", "text": ["é 1\n"]}]
    raw = _notebook([
        {"cell_type": "markdown", "metadata": {}, "source": ["# np.log(1 + x)"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": outputs,
         "source": ["%matplotlib inline\n", "import numpy as np\n", "x = np.linspace(0, 1)"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {"tags": ["keep"]}, "outputs": [],
         "source": ["y = np.log(1 + x)\n", "!ls\n", "s = 1 / (1 + np.exp(-x))  # é\n", "print(y, s)"]},
        {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [], "source": "z = np.exp(x) - 1\n"},
    ])
    path = tmp_path / "n.ipynb"
    path.write_text(raw, encoding="utf-8")
    result = fix_file(checker, path, "n.ipynb", (), everything)
    assert result.fixed == 3
    after = json.loads(result.after)
    before = json.loads(raw)
    sources = [c["source"] for c in after["cells"]]
    assert sources == [
        ["# np.log(1 + x)"],
        ["%matplotlib inline\n", "import numpy as np\n", "from scipy.special import expit\n", "x = np.linspace(0, 1)"],
        ["y = np.log1p(x)\n", "!ls\n", "s = expit(x)  # é\n", "print(y, s)"],
        "z = np.expm1(x)\n",
    ]
    for cell_before, cell_after in zip(before["cells"], after["cells"], strict=True):
        assert {k: v for k, v in cell_before.items() if k != "source"} == {
            k: v for k, v in cell_after.items() if k != "source"}
    # The JSON layout outside the rewritten strings is byte-identical.
    changed = [line for line in difflib.ndiff(raw.splitlines(), result.after.decode().splitlines())
               if line.startswith(("- ", "+ "))]
    assert all("np." in line or "expit" in line for line in changed), changed
    assert fix_text(checker, "", "n.ipynb", (), everything)[1] == 0
    write_fixed(result)
    assert not [f for f in checker.check_source(
        "\n".join("".join(c["source"]) for c in after["cells"][1:]).replace("%matplotlib inline", "pass").replace(
            "!ls", "pass"), "n.py").findings]


def test_notebook_findings_carry_fix_edits_in_cell_coordinates(tmp_path: Path) -> None:
    raw = _notebook([{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                      "source": ["import numpy as np\n"]},
                     {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                      "source": ["y = np.log(1 + x)\n"]}])
    (tmp_path / "n.ipynb").write_text(raw)
    doc = json.loads(run_cli("check", *OPT_IN, "n.ipynb", "--format", "json", cwd=tmp_path).stdout)
    assert doc["findings"][0]["fix"]["edits"] == [
        {"line": 1, "column": 5, "end_line": 1, "end_column": 18, "text": "np.log1p(x)", "cell": 2}]


def test_precommit_hook_mlstablint_fix_is_declared_and_documented() -> None:
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["mlstablint-fix"]["entry"] == "mlstablint check --fix"
    assert "mlstablint-fix" in (ROOT / "docs" / "github.md").read_text()
    assert "mlstablint-fix" in (ROOT / "README.md").read_text()



# Real modules that the fixes rewrite (found by checking scikit-learn and scipy.stats as installed):
# log1p, expm1, hypot (also multi-line), solve, expit through `from scipy import special`.
REAL_FILES = ["sklearn/datasets/_samples_generator.py", "sklearn/decomposition/_factor_analysis.py",
              "sklearn/preprocessing/_data.py", "scipy/stats/_discrete_distns.py", "scipy/stats/_sampling.py",
              "scipy/stats/_entropy.py"]


@pytest.mark.parametrize("relative", REAL_FILES)
def test_real_files_change_only_where_flagged(checker: FileChecker, relative: str) -> None:
    import scipy

    path = Path(scipy.__file__).resolve().parent.parent / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in this installation")
    text = path.read_text(encoding="utf-8")
    if not any(f.fix is not None for f in checker.check_source(text, relative).findings):
        pytest.skip(f"{relative}: this version has nothing to fix")
    assert _check_only_flagged_lines_change(checker, text) != text


def test_cli_diff_reports_files_it_cannot_check(tmp_path: Path) -> None:
    _files(tmp_path, {"a.py": BAD, "broken.py": "def (:\n"})
    out = run_cli("check", *OPT_IN, ".", "missing.py", "--diff", "--unsafe-fixes", cwd=tmp_path)
    assert out.returncode == 2 and "+    return np.log1p(x)" in out.stdout
    assert "broken.py: syntax error" in out.stderr and "missing.py" in out.stderr
    assert (tmp_path / "a.py").read_text() == BAD


def test_notebook_cell_magic_and_escaped_json_are_kept(checker: FileChecker, tmp_path: Path) -> None:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": ["import numpy as np\n"]},
             {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": ["%%time\n", "y = np.log(1 + x)  # \u00e9t\u00e9\n", "%timeit y\n"]}]
    # An ASCII-only writer (json.dumps' default) escapes the accents: the rewrite must do the same.
    raw = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=2) + "\n"
    path = tmp_path / "m.ipynb"
    path.write_text(raw, encoding="utf-8")
    result = fix_file(checker, path, "m.ipynb", (), everything)
    assert result.after.decode() == raw.replace("np.log(1 + x)", "np.log1p(x)")


# ---- SARIF fixes of notebooks: replacements of the .ipynb text itself ---------------------------------

def apply_sarif_fixes(data: bytes, log: dict[str, Any], uri: str) -> bytes:
    """What a SARIF consumer does with every result's `fixes` on the file at `uri`: regions by line and column
    (lines end at CR, LF or CRLF; columns count the run's `columnKind`), inserted text as given."""
    run = log["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    text = data.decode("utf-8")
    starts = [0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text))]
    spans: list[tuple[int, int, str]] = []
    for result in run["results"]:
        for fix in result.get("fixes", []):
            for change in fix["artifactChanges"]:
                assert change["artifactLocation"]["uri"] == uri
                for replacement in change["replacements"]:
                    region = replacement["deletedRegion"]
                    start = starts[region["startLine"] - 1] + region["startColumn"] - 1
                    end = starts[region["endLine"] - 1] + region["endColumn"] - 1
                    spans.append((start, end, replacement["insertedContent"]["text"]))
    spans.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), "the fixes overlap"
    for start, end, new in reversed(spans):
        text = text[:start] + new + text[end:]
    return text.encode("utf-8")


def _fix_notebook_cells() -> list[dict[str, Any]]:
    def code(cell_id: str, source: list[str] | str) -> dict[str, Any]:
        return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {}, "outputs": [],
                "source": source}

    return [
        code("a1", ["%matplotlib inline\n", "import numpy as np\n", "x = np.linspace(0, 1)"]),
        {"cell_type": "markdown", "id": "b2", "metadata": {}, "source": ["# np.log(1 + x) stays"]},
        code("c3", ["y = np.log(1 + x)  # \u00e9t\u00e9\n", "!ls\n", "s = 1 / (1 + np.exp(-x))\n", "print(y, s)"]),
        code("d4", "z = np.exp(x) - 1\nq = np.log(1 + z)  # \t tab\n"),  # one string: two fixes inside it
    ]


@pytest.mark.parametrize("layout", ["utf8", "ascii", "crlf"])
def test_sarif_fixes_of_a_notebook_apply_to_the_ipynb_as_fix_writes_it(tmp_path: Path, layout: str) -> None:
    import nbformat

    from tests.sarif_support import validate
    from tests.test_sarif import git_init

    git_init(tmp_path)
    doc = {"cells": _fix_notebook_cells(),
           "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
           "nbformat": 4, "nbformat_minor": 5}
    raw = json.dumps(doc, indent=1, ensure_ascii=layout == "ascii") + "\n"
    if layout == "crlf":
        raw = raw.replace("\n", "\r\n")  # outside the JSON strings only: inside them a newline is `\n`
    data = raw.encode("utf-8")
    (tmp_path / "n.ipynb").write_bytes(data)
    rules = "MSL101,MSL102,MSL105"
    out = run_cli("check", "n.ipynb", "--select", rules, "--format", "sarif", "--output", "out.sarif", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    log = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    results = log["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["MSL101", "MSL101", "MSL102", "MSL105"]
    assert all(r["fixes"][0]["artifactChanges"][0]["artifactLocation"]["uri"] == "n.ipynb" for r in results)
    validate(tmp_path / "out.sarif")

    applied = apply_sarif_fixes(data, log, "n.ipynb")
    fixed = run_cli("check", "n.ipynb", "--select", rules, "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    written = (tmp_path / "n.ipynb").read_bytes()
    assert written != data and applied == written
    nbformat.validate(nbformat.reads(applied.decode("utf-8"), as_version=4))
    sources = ["".join(c["source"]) for c in json.loads(applied)["cells"]]
    assert "from scipy.special import expit\n" in sources[0] and "s = expit(x)\n" in sources[2]
    assert "z = np.expm1(x)\nq = np.log1p(z)" in sources[3] and sources[1] == "# np.log(1 + x) stays"

    # Each fix alone also leaves a valid notebook whose code cells parse.
    for result in results:
        alone = apply_sarif_fixes(data, {"runs": [{**log["runs"][0], "results": [result]}]}, "n.ipynb")
        notebook = nbformat.reads(alone.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                ast.parse("\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                                    for line in cell.source.splitlines()))
