"""Fuzzing the code engine: generated programs never crash it; broken sources give a syntax-error report.

Programs come from hypothesmith (valid Python from the grammar, and libcst-built modules) and go through
`check_bytes`, the entry point the CLI's runner uses for every file; a few also through the real CLI.
Examples per test: see tests/fuzz_support.py (MLSTABLINT_FUZZ_EXAMPLES runs more).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlstablint.code.engine import FileChecker, check_bytes
from mlstablint.findings import Report
from tests.conftest import ROOT, run_cli
from tests.fuzz_support import fuzz_settings

# Appended to generated programs so that the rules have something to resolve and walk.
NUMERIC_TAIL = "\nimport numpy as np\nfrom scipy.special import expit\ny = np.log(np.sum(np.exp(x))) - np.exp(z) - 1\n"
# Real pipelines to truncate and mutate: the fixtures (incident and stable twins) and the rule tests' snippets.
SEEDS = sorted(p.read_text(encoding="utf-8") for p in (ROOT / "fixtures").rglob("*.py"))


def _sound(report: Report, text: str | None) -> None:
    """What every check must give: a report whose errors are one line each, and a syntax-error report
    exactly when Python rejects the source for its syntax."""
    for error in report.errors:
        assert error.message and "\n" not in error.message, error
    if text is None:
        return
    try:
        ast.parse(text)
    except SyntaxError as exc:
        if "too many nested parentheses" in str(exc.msg) or "too many statically nested blocks" in str(exc.msg):
            return
        assert any("syntax error" in e.message or "nested" in e.message for e in report.errors), (exc, report.errors)
    except (RecursionError, MemoryError, ValueError):
        assert report.errors
    else:
        assert not any("syntax error" in e.message for e in report.errors), report.errors
    for finding in report.findings:
        assert 1 <= finding.line <= finding.end_line and finding.column >= 1, finding


@pytest.fixture(scope="module")
def engine() -> FileChecker:
    from mlstablint.code.rules import ALL_RULES

    return FileChecker({rule.id for rule in ALL_RULES})


def _check(engine: FileChecker, text: str) -> Report:
    report = check_bytes(engine, text.encode("utf-8", "surrogatepass"), "fuzzed.py")
    _sound(report, text)
    return report


@fuzz_settings(60)
@given(source=hypothesmith.from_grammar())
def test_programs_from_the_grammar_never_crash(engine: FileChecker, source: str) -> None:
    _check(engine, source)
    _check(engine, source + NUMERIC_TAIL)


@fuzz_settings(40)
@given(source=hypothesmith.from_node())
def test_programs_built_by_libcst_never_crash(engine: FileChecker, source: str) -> None:
    _check(engine, source)
    _check(engine, NUMERIC_TAIL + source)


@fuzz_settings(150)
@given(seed=st.sampled_from(SEEDS), cut=st.floats(0.0, 1.0))
def test_truncated_sources_give_a_syntax_error_report(engine: FileChecker, seed: str, cut: float) -> None:
    _check(engine, seed[: int(len(seed) * cut)])


_EDITS = st.lists(st.tuples(st.floats(0.0, 1.0), st.sampled_from(["delete", "insert", "replace"]),
                            st.sampled_from(["(", ")", "[", ":", ",", "\n", "    ", "\t", "'", '"', "\\", "#",
                                             "np.exp(", "lambda", "**", "@", "é", "\x00", "\ufeff", "\r"])),
                  min_size=1, max_size=4)


@fuzz_settings(150)
@given(seed=st.sampled_from(SEEDS), edits=_EDITS)
def test_mutated_sources_never_crash(engine: FileChecker, seed: str, edits: list[tuple[float, str, str]]) -> None:
    text = seed
    for where, kind, piece in edits:
        at = int(len(text) * where)
        if kind == "delete":
            text = text[:at] + text[at + len(piece):]
        elif kind == "insert":
            text = text[:at] + piece + text[at:]
        else:
            text = text[:at] + piece + text[at + 1:]
    report = check_bytes(engine, text.encode("utf-8"), "fuzzed.py")
    # NUL bytes and a BOM inside the text are decoding errors, reported before any parse.
    _sound(report, None if "\x00" in text else text.removeprefix("\ufeff"))


@fuzz_settings(100)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(engine: FileChecker, data: bytes) -> None:
    for path in ("fuzzed.py", "fuzzed.ipynb"):
        _sound(check_bytes(engine, data, path), None)


@fuzz_settings(6, per_process=True)
@given(source=hypothesmith.from_grammar())
def test_programs_through_the_command_line(tmp_path_factory: pytest.TempPathFactory, source: str) -> None:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    (folder / "prog.py").write_text(source + NUMERIC_TAIL, encoding="utf-8")
    out = run_cli("--debug", "check", "prog.py", "--format", "json", "--no-cache", cwd=folder)
    assert out.returncode in (0, 1, 2) and "Traceback" not in out.stderr, out.stderr
    doc = json.loads(out.stdout)
    assert len(out.stderr.strip().splitlines()) == len(doc["errors"])
