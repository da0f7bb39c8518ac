"""The ecosystem check's matcher and precision arithmetic, on small constructed inputs (no network)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_review_module() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "bench" / "ecosystem" / "review.py"
    spec = importlib.util.spec_from_file_location("ecosystem_review", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


review = _load_review_module()
Finding, Entry = review.Finding, review.Entry


def finding(path: str, rule: str, line: int, source: str) -> Any:
    return Finding("pkg", path, rule, line, source, "message")


def entry(path: str, rule: str, source: str, label: str, line: int = 0) -> Any:
    return Entry("pkg", path, rule, source, label, "why", line)


def test_flagged_source_strips_and_joins_the_flagged_lines() -> None:
    lines = ["def f(x):", "    return np.exp(", "        x @ w)", ""]
    assert review.flagged_source(lines, 2, 3) == "return np.exp(\nx @ w)"
    assert review.flagged_source(lines, 2, 2) == "return np.exp("
    assert review.flagged_source(lines, 2, 0) == "return np.exp("  # no end line: the line alone


def test_a_finding_that_moved_lines_keeps_its_label() -> None:
    result = review.compare([finding("a.py", "MSL109", 40, "y = np.exp(z)")],
                            [entry("a.py", "MSL109", "y = np.exp(z)", "tp", line=12)])
    assert [(f.line, e.label) for f, e in result.matched] == [(40, "tp")]
    assert result.new == [] and result.gone == [] and result.current


def test_path_rule_and_source_must_all_agree() -> None:
    entries = [entry("a.py", "MSL109", "y = np.exp(z)", "tp")]
    for changed in (finding("b.py", "MSL109", 1, "y = np.exp(z)"),
                    finding("a.py", "MSL110", 1, "y = np.exp(z)"),
                    finding("a.py", "MSL109", 1, "y = np.exp(z + 1)")):
        result = review.compare([changed], entries)
        assert result.matched == [] and result.new == [changed] and len(result.gone) == 1
        assert not result.current


def test_findings_that_share_a_key_pair_with_entries_in_line_order() -> None:
    entries = [entry("a.py", "MSL110", "return np.log(p)", "benign", line=90),
               entry("a.py", "MSL110", "return np.log(p)", "tp", line=10)]
    found = [finding("a.py", "MSL110", 95, "return np.log(p)"), finding("a.py", "MSL110", 15, "return np.log(p)"),
             finding("a.py", "MSL110", 300, "return np.log(p)")]
    result = review.compare(found, entries)
    assert sorted((f.line, e.label) for f, e in result.matched) == [(15, "tp"), (95, "benign")]
    assert [f.line for f in result.new] == [300]
    assert result.gone == []
    assert sorted(result.labels()) == [("MSL110", "benign"), ("MSL110", "todo"), ("MSL110", "tp")]


def test_a_finding_whose_span_grew_or_shrank_keeps_its_label() -> None:
    entries = [entry("a.py", "MSL109", "y = np.exp(", "tp", line=10),
               entry("a.py", "MSL109", "return np.exp(z)\nfoo(", "benign", line=30)]
    found = [finding("a.py", "MSL109", 12, "y = np.exp(\nx @ w)"), finding("a.py", "MSL109", 31, "return np.exp(z)")]
    result = review.compare(found, entries)
    assert sorted((f.line, e.label) for f, e in result.matched) == [(12, "tp"), (31, "benign")]
    assert result.new == [] and result.gone == []


def test_spans_that_share_no_line_do_not_pair() -> None:
    result = review.compare([finding("a.py", "MSL109", 12, "u = np.exp(v)")],
                            [entry("a.py", "MSL109", "y = np.exp(x)", "tp", line=12)])
    assert result.matched == [] and len(result.new) == 1 and len(result.gone) == 1


def test_an_entry_whose_finding_disappeared_is_gone() -> None:
    result = review.compare([], [entry("a.py", "MSL201", "inv(A) @ b", "fp")])
    assert [e.rule for e in result.gone] == ["MSL201"] and not result.current


def test_todo_entries_keep_the_review_from_being_current() -> None:
    result = review.compare([finding("a.py", "MSL101", 1, "np.log(1 + x)")],
                            [entry("a.py", "MSL101", "np.log(1 + x)", "todo")])
    assert [f.line for f in result.todo] == [1] and not result.current


def test_precision_per_rule_and_overall_leaves_todo_out_of_the_denominator() -> None:
    labels = [("MSL109", "tp"), ("MSL109", "tp"), ("MSL109", "benign"), ("MSL110", "fp"), ("MSL110", "todo"),
              ("MSL101", "todo")]
    rows = {row.rule: row for row in review.precision_table(labels)}
    assert rows["MSL109"].precision == pytest.approx(2 / 3)
    assert rows["MSL110"].precision == 0.0 and rows["MSL110"].labelled == 1
    assert rows["MSL101"].precision is None  # nothing labelled yet
    assert rows["all"].counts == Counter(tp=2, benign=1, fp=1, todo=2)
    assert rows["all"].precision == pytest.approx(2 / 4)
    assert list(rows) == ["MSL101", "MSL109", "MSL110", "all"]
    table = review.format_table(list(rows.values()), "t")
    assert "| MSL109 | 3 | 2 | 1 | 0 | 0 | 67 % |" in table and "| MSL101 | 1 | 0 | 0 | 0 | 1 | — |" in table


def test_todo_entries_written_by_update_read_back_and_match(tmp_path: Path) -> None:
    path = tmp_path / "pkg.toml"
    new = finding("a.py", "MSL109", 3, 'y = np.exp("q\\"\x7f") + 1\nz = 2')
    block = review.todo_block(new, [(2, "def f():"), (3, "    y = ...")])
    review.append_todo(path, "# header\n\n", [block])
    review.append_todo(path, "# header\n\n", [review.todo_block(finding("b.py", "MSL110", 1, "np.log(p)"), [])])
    entries = review.load_review(path, "pkg")
    assert [(e.path, e.label, e.line) for e in entries] == [("a.py", "todo", 3), ("b.py", "todo", 1)]
    assert entries[0].source == new.source
    assert review.compare([new], entries).matched[0][1].label == "todo"
    assert path.read_text(encoding="utf-8").startswith("# header\n")


def test_repeated_statements_keep_their_own_labels_when_some_stop_being_reported() -> None:
    """The same line of text labelled fp where it was shifted and tp where it was not: when the shifted
    occurrences stop being reported, the finding left pairs with its own (nearest) entry, not the first."""
    source = "e = np.exp(lp)"
    entries = [entry("a.py", "MSL109", source, "fp", line) for line in (10, 20)] + [
        entry("a.py", "MSL109", source, "tp", 30)]
    result = review.compare([finding("a.py", "MSL109", 31, source)], entries)
    assert [(f.line, e.label) for f, e in result.matched] == [(31, "tp")]
    assert sorted(e.line for e in result.gone) == [10, 20]
    grown = review.compare([finding("a.py", "MSL109", line, source) for line in (5, 10, 30)], entries[::2])
    assert sorted((f.line, e.line) for f, e in grown.matched) == [(10, 10), (30, 30)]
    assert [f.line for f in grown.new] == [5]


def test_a_todo_entry_whose_message_spans_lines_stays_valid_toml(tmp_path: Path) -> None:
    path = tmp_path / "pkg.toml"
    new = review.Finding("pkg", "a.py", "MSL201", 3, "y = f(", "use `solve(A, np.dot(\n    b, c\n))`")
    review.append_todo(path, "# header\n\n", [review.todo_block(new, [(3, "y = f(")])])
    assert [(e.path, e.label) for e in review.load_review(path, "pkg")] == [("a.py", "todo")]


@pytest.mark.parametrize(("body", "complaint"), [
    ('[[finding]]\npath = "a.py"\nrule = "MSL109"\nsource = "x"\nlabel = "maybe"\n', "has label 'maybe'"),
    ('[[finding]]\npath = "a.py"\nrule = "MSL109"\nsource = "x"\nlabel = "tp"\n', "without a reason"),
    ('[[finding]]\npath = "a.py"\nrule = "MSL109"\nlabel = "tp"\n', "lacks source"),
    ("[[finding]\n", "cannot read the review"),
])
def test_an_invalid_review_is_a_one_line_error_naming_the_file(tmp_path: Path, body: str, complaint: str) -> None:
    path = tmp_path / "pkg.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(review.ReviewError, match=complaint) as caught:
        review.load_review(path, "pkg")
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_review_is_empty(tmp_path: Path) -> None:
    assert review.load_review(tmp_path / "absent.toml", "pkg") == []


def test_notebook_findings_are_keyed_by_their_cell_text() -> None:
    import json

    review = _load_review_module()
    doc = {"cells": [{"cell_type": "markdown", "source": ["# t\n"]},
                     {"cell_type": "code", "source": ["import x\n", "  X = sc.fit_transform(X)  \n"]},
                     {"cell_type": "code", "source": "a = 1\nb = 2"}]}
    cells = review.notebook_cells(json.dumps(doc))  # one JSON line: the raw line would be the whole file
    assert cells == {1: ["# t"], 2: ["import x", "  X = sc.fit_transform(X)  "], 3: ["a = 1", "b = 2"]}
    assert review.flagged_source(cells[2], 2, 2) == "X = sc.fit_transform(X)"
    assert review.notebook_cells("not json") == {}
