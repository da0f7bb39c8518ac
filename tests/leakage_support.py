"""The MSL3xx tests' harness: a snippet as a `.py` file and as a notebook whose cells hold the same lines."""

from __future__ import annotations

import json
import textwrap

from mlstablint.code.engine import FileChecker, check_bytes

HEAD = ("import numpy as np\nimport pandas as pd\nfrom sklearn.model_selection import train_test_split, KFold, "
        "cross_val_score\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.linear_model import "
        "LogisticRegression\n")


def src(body: str) -> str:
    return HEAD + textwrap.dedent(body).lstrip("\n")


def notebook(code: str) -> bytes:
    """The code as a notebook: one cell per blank-line-separated group, plus a markdown cell."""
    out: list[dict[str, object]] = [{"cell_type": "markdown", "metadata": {}, "source": ["# Leakage\n"]}]
    for count, chunk in enumerate(code.split("\n\n"), start=1):
        lines = chunk.strip("\n").splitlines(keepends=True)
        out.append({"cell_type": "code", "execution_count": count, "metadata": {}, "outputs": [], "source": lines})
    doc = {"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1).encode()


def cells(body: str) -> str:
    """The body split into cells at each statement that starts a new top-level block."""
    lines = src(body).splitlines()
    out: list[str] = []
    for line in lines:
        if out and line and not line[0].isspace():
            out.append("")
        out.append(line)
    return "\n".join(out) + "\n"


def rules_of(checker: FileChecker, data: bytes, path: str) -> list[str]:
    report = check_bytes(checker, data, path)
    assert not report.errors, report.errors
    return [f.rule for f in report.findings]


def as_form(body: str, form: str) -> bytes:
    """The snippet (after the imports) as `.py` bytes, or as a notebook with one cell per top-level statement."""
    return src(body).encode() if form == "py" else notebook(cells(body))


def leak_rules(checker: FileChecker, body: str, form: str, name: str = "leak") -> list[str]:
    """The MSL3xx rules that fire on the snippet."""
    return [r for r in rules_of(checker, as_form(body, form), f"{name}.{form}") if r.startswith("MSL3")]
