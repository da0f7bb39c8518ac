"""The ecosystem review: match linter findings to labelled review entries and compute precision.

Pure logic, no network and no subprocess: `run.py` feeds it, `tests/test_ecosystem_tool.py` tests it.

A finding is identified by (package, path, rule, source): `source` is the text of the flagged line(s),
each line stripped of surrounding blanks and the lines joined with "\\n". Line numbers and messages are
left out of the key on purpose: an engine change that moves a column, rewords a message or reports one
line lower inside the same statement must not orphan a label. Where several findings share a key (the
same statement twice in one file), they are paired with the entries of that key in line order.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef]

LABELS = ("tp", "benign", "fp")
TODO = "todo"
Key = tuple[str, str, str, str]


class ReviewError(Exception):
    """A review file that cannot be read or has an invalid entry (one line, names the file)."""


@dataclass(frozen=True)
class Finding:
    """One linter finding, reduced to what the review needs."""

    package: str
    path: str
    rule: str
    line: int
    source: str  # the flagged line(s), stripped, joined with "\n"
    message: str = ""
    cell: int | None = None  # notebooks: the cell (1-based among all cells) and the line in it
    cell_line: int | None = None

    @property
    def key(self) -> Key:
        return (self.package, self.path, self.rule, self.source)


@dataclass(frozen=True)
class Entry:
    """One labelled finding of a review file."""

    package: str
    path: str
    rule: str
    source: str
    label: str
    reason: str = ""
    line: int = 0  # where it was at labelling time: used only to pair findings that share a key

    @property
    def key(self) -> Key:
        return (self.package, self.path, self.rule, self.source)


@dataclass
class Comparison:
    """Findings paired with review entries, and what is left over on either side."""

    matched: list[tuple[Finding, Entry]] = field(default_factory=list)
    new: list[Finding] = field(default_factory=list)  # findings with no entry: to label
    gone: list[Entry] = field(default_factory=list)  # entries with no finding any more

    def labels(self) -> list[tuple[str, str]]:
        """(rule, label) of every finding; a finding with no entry yet counts as `todo`."""
        return [(finding.rule, entry.label) for finding, entry in self.matched] + [
            (finding.rule, TODO) for finding in self.new]

    @property
    def todo(self) -> list[Finding]:
        return [finding for finding, entry in self.matched if entry.label == TODO]

    @property
    def current(self) -> bool:
        """True when every finding has a final label and every entry still has its finding."""
        return not self.new and not self.gone and not self.todo


def notebook_cells(text: str) -> dict[int, list[str]]:
    """The source lines of each cell of a notebook's JSON (1-based index among all cells, as the linter
    reports `cell`): a notebook finding is keyed by its cell's text, not by the raw JSON line, which may
    hold the whole file."""
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    cells = doc.get("cells", []) if isinstance(doc, dict) else []
    out: dict[int, list[str]] = {}
    for index, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        out[index] = ("".join(source) if isinstance(source, list) else str(source)).splitlines()
    return out


def flagged_source(lines: Sequence[str], line: int, end_line: int) -> str:
    """The key text of a finding: its lines (1-based, inclusive), stripped, joined with a newline."""
    last = max(line, end_line)
    return "\n".join(text.strip() for text in lines[line - 1:last])


def compare(findings: Iterable[Finding], entries: Iterable[Entry]) -> Comparison:
    """Pair every finding with the review entry of the same key (ties in line order), then pair what is
    left in the same file and rule when their flagged lines share a line of text: an engine that now
    reports a wider or narrower span of the same statement keeps its label."""
    by_key_findings: dict[Key, list[Finding]] = defaultdict(list)
    by_key_entries: dict[Key, list[Entry]] = defaultdict(list)
    for finding in findings:
        by_key_findings[finding.key].append(finding)
    for entry in entries:
        by_key_entries[entry.key].append(entry)
    result = Comparison()
    for key in sorted(set(by_key_findings) | set(by_key_entries)):
        found = sorted(by_key_findings.get(key, []), key=lambda f: f.line)
        known = sorted(by_key_entries.get(key, []), key=lambda e: e.line)
        pairs = _align([f.line for f in found], [e.line for e in known])
        result.matched.extend((found[i], known[j]) for i, j in pairs)
        result.new.extend(f for i, f in enumerate(found) if i not in {i for i, _ in pairs})
        result.gone.extend(e for j, e in enumerate(known) if j not in {j for _, j in pairs})
    _pair_overlapping_spans(result)
    result.new.sort(key=lambda f: (f.package, f.path, f.line, f.rule))
    result.gone.sort(key=lambda e: (e.package, e.path, e.line, e.rule))
    return result


def _align(found: Sequence[int], known: Sequence[int]) -> list[tuple[int, int]]:
    """Pair two sorted line lists in order, as many pairs as the shorter has, with the least total line
    distance: when the same statement occurs several times and some occurrences stop being reported, the
    ones left keep their own labels (the sources are pinned, so their lines do not move)."""
    n, m = len(found), len(known)
    if n == m:
        return list(zip(range(n), range(m), strict=True))
    short, long_ = (found, known) if n < m else (known, found)
    inf = float("inf")
    # cost[i][j]: the first i of the shorter list paired with some i of the first j of the longer one.
    cost = [[0.0] * (len(long_) + 1)] + [[inf] * (len(long_) + 1) for _ in short]
    for i in range(1, len(short) + 1):
        for j in range(i, len(long_) + 1):
            cost[i][j] = min(cost[i][j - 1], cost[i - 1][j - 1] + abs(short[i - 1] - long_[j - 1]))
    pairs = []
    i, j = len(short), len(long_)
    while i > 0:
        if cost[i][j] == cost[i][j - 1] and j > i:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    pairs.reverse()
    return pairs if n < m else [(b, a) for a, b in pairs]


def _pair_overlapping_spans(result: Comparison) -> None:
    """Move (new, gone) pairs of one file and rule whose flagged lines share a non-blank line to `matched`,
    closest recorded line first."""
    candidates = sorted(
        (abs(finding.line - entry.line), n, g)
        for n, finding in enumerate(result.new)
        for g, entry in enumerate(result.gone)
        if (finding.package, finding.path, finding.rule) == (entry.package, entry.path, entry.rule)
        and (set(finding.source.splitlines()) & set(entry.source.splitlines())) - {""})
    used_new: set[int] = set()
    used_gone: set[int] = set()
    for _, n, g in candidates:
        if n not in used_new and g not in used_gone:
            used_new.add(n)
            used_gone.add(g)
            result.matched.append((result.new[n], result.gone[g]))
    result.new = [f for n, f in enumerate(result.new) if n not in used_new]
    result.gone = [e for g, e in enumerate(result.gone) if g not in used_gone]


@dataclass(frozen=True)
class Precision:
    """Label counts of one rule (or of all rules) and tp / labelled."""

    rule: str
    counts: Counter[str]

    @property
    def labelled(self) -> int:
        return sum(self.counts[label] for label in LABELS)

    @property
    def precision(self) -> float | None:
        return self.counts["tp"] / self.labelled if self.labelled else None


def precision_table(labels: Iterable[tuple[str, str]]) -> list[Precision]:
    """One row per rule (sorted) and a last row "all"; `todo` (unlabelled) is counted, not in the denominator."""
    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for rule, label in labels:
        per_rule[rule][label] += 1
        total[label] += 1
    return [Precision(rule, per_rule[rule]) for rule in sorted(per_rule)] + [Precision("all", total)]


def format_table(rows: Sequence[Precision], title: str) -> str:
    """A Markdown table: findings, tp, benign, fp, todo and precision per rule."""
    out = [f"{title}", "", "| rule | findings | tp | benign | fp | todo | precision |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        value = row.precision
        shown = "—" if value is None else f"{100 * value:.0f} %"
        name = "**all**" if row.rule == "all" else row.rule
        out.append(f"| {name} | {sum(row.counts.values())} | {row.counts['tp']} | {row.counts['benign']} | "
                   f"{row.counts['fp']} | {row.counts[TODO]} | {shown} |")
    return "\n".join(out)


# --- review files --------------------------------------------------------------------------------------

def read_toml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    return data


def load_review(path: Path, package: str) -> list[Entry]:
    """The entries of one package's review file (`[[finding]]` tables); a missing file is an empty review."""
    if not path.exists():
        return []
    try:
        data = read_toml(path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReviewError(f"{path}: cannot read the review: {exc}") from None
    entries = []
    for number, item in enumerate(data.get("finding", []), start=1):
        missing = [name for name in ("path", "rule", "source", "label") if not isinstance(item.get(name), str)]
        if missing:
            raise ReviewError(f"{path}: finding #{number} lacks {', '.join(missing)}")
        label = item["label"]
        if label not in (*LABELS, TODO):
            raise ReviewError(f"{path}: finding #{number} has label {label!r}; use one of tp, benign, fp, todo")
        reason = item.get("reason", "")
        if label in LABELS and not str(reason).strip():
            raise ReviewError(f"{path}: finding #{number} ({item['path']} {item['rule']}) is labelled "
                              f"{label} without a reason")
        entries.append(Entry(package, item["path"], item["rule"], item["source"], label, str(reason),
                             int(item.get("line", 0))))
    return entries


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are all valid TOML escapes, except DEL which TOML wants escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def todo_block(finding: Finding, context: Sequence[tuple[int, str]]) -> str:
    """A `todo` entry for a new finding, with its message and the surrounding source as comments."""
    # A message may quote multi-line source (a fix spanning lines): every one of its lines stays a comment.
    lines = [f"# {line}".rstrip() for line in finding.message.splitlines()] or ["#"]
    for number, text in context:
        marker = ">" if number == finding.line else " "
        lines.append(f"#{marker}{number:6d} | {text}".rstrip())
    lines += ["[[finding]]", f"path = {toml_string(finding.path)}", f"rule = {toml_string(finding.rule)}",
              f"line = {finding.line}", f"source = {toml_string(finding.source)}", f'label = "{TODO}"',
              'reason = ""']
    return "\n".join(lines) + "\n"


def append_todo(path: Path, header: str, blocks: Sequence[str]) -> None:
    """Append `todo` entries to a review file (created with `header` when absent); labels already there stay."""
    if not blocks:
        return
    existing = path.read_text(encoding="utf-8") if path.exists() else header
    separator = "" if existing.endswith("\n\n") or not existing else ("\n" if existing.endswith("\n") else "\n\n")
    path.write_text(existing + separator + "\n".join(blocks), encoding="utf-8")
