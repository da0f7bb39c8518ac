"""`--format html`: the page's structure (a golden list of sections, headings and ids, not its bytes), its
self-containment, and its behaviour without the html extra. The browser tests are in test_html_browser.py."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mlstablint.findings import Confirmation, Finding, Report
from mlstablint.report.html import render_html, render_lab_html
from mlstablint.report.html.svg import external_references
from tests.conftest import ROOT, run_cli

pytest.importorskip("jinja2", reason="the html extra is not installed")
pytest.importorskip("matplotlib", reason="the html extra is not installed")
pytest.importorskip("markdown_it", reason="the html extra is not installed")


class Outline(HTMLParser):
    """Sections, headings, ids, internal links, scripts and the tables behind the charts."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.h2: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.figures: list[str] = []
        self.charts_with_table: list[str] = []
        self.svgs = 0
        self.scripts = 0
        self._stack: list[str] = []
        self._heading: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "section":
            self.sections.append(str(a.get("id")))
        if tag == "figure":
            self.figures.append(str(a.get("id")))
        if tag == "details" and self.figures and "chart-data" in (a.get("class") or ""):
            self.charts_with_table.append(self.figures[-1])
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.links.append(str(a["href"])[1:])
        if tag == "svg":
            self.svgs += 1
        if tag == "script":
            self.scripts += 1
        if tag == "h2":
            self._heading, self._text = "h2", []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._heading:
            self.h2.append("".join(self._text).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading:
            self._text.append(data)


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    parser.close()
    return parser


# The incident report's structure: sections in order, and the charts each must hold.
GOLDEN_SECTIONS = [("summary", "Summary"), ("code", "Code findings"), ("conditioning", "Conditioning"),
                   ("columns", "Columns"), ("rows", "Rows"), ("confirmation", "Confirmation"),
                   ("catalogue", "Rule catalogue")]
GOLDEN_CHARTS = {"chart-spectrum-1", "chart-belsley-1", "chart-onehot-1", "chart-scales-1", "chart-duplicates-1"}
GOLDEN_CONFIRMATION_EXPERIMENTS = {"ols-conditioning", "duplicate-optimism", "scaling-solver", "exp-of-values",
                                   "exp-of-predictions", "edge-of-dtype"}
INCIDENT_RULES = {"MSL101", "MSL108", "MSL109", "MSL202", "MSL203", "MSL601", "MSL602", "MSL603", "MSL605",
                  "MSL606", "MSL607", "MSL610"}


def test_incident_report_structure(incident_html: Path) -> None:
    html = incident_html.read_text(encoding="utf-8")
    o = outline(html)
    assert list(zip(o.sections, o.h2, strict=True)) == GOLDEN_SECTIONS
    assert GOLDEN_CHARTS <= set(o.figures)
    assert any(f.startswith("chart-confirmation-") for f in o.figures)
    assert sorted(o.charts_with_table) == sorted(o.figures), "every chart has its table"
    assert o.svgs == len(o.figures)
    assert INCIDENT_RULES <= set(o.ids), "a catalogue page per rule found"
    assert len(o.ids) == len(set(o.ids)), "ids are unique"
    assert set(o.links) <= set(o.ids), "every internal link has its target"
    assert o.scripts == 0
    assert "mathdefault" not in html  # log-axis tick labels typeset, not printed as TeX source
    for experiment in GOLDEN_CONFIRMATION_EXPERIMENTS:
        assert f"<h3>{experiment}</h3>" in html


def test_incident_report_is_self_contained_and_small(incident_html: Path) -> None:
    html = incident_html.read_text(encoding="utf-8")
    assert external_references(html) == []
    assert "<link" not in html and "<img" not in html and "<iframe" not in html
    assert incident_html.stat().st_size < 5_000_000
    assert "prefers-color-scheme: dark" in html and "@media print" in html


def test_incident_report_shows_the_audits_figures(incident_html: Path) -> None:
    html = incident_html.read_text(encoding="utf-8")
    # The fixture's README figures: 6000 duplicated rows, 30 one-hot groups, cond 8.7e8 once they are dropped.
    assert "6000 of 20000 rows" in html
    assert "30 one-hot groups sum to 1 on every row" in html
    assert "8.679e+08" in html
    assert 'id="table-conflicts-1"' in html and "3\u202f456" in html  # 3456 groups with different labels
    assert '<mark>np.linalg.inv(X.T @ X)</mark>' in html  # the flagged span of the source line


@pytest.mark.parametrize("snippet", [
    '<img src="https://cdn.example/x.png">', '<link rel="stylesheet" href="//cdn.example/x.css">',
    '<div style="background: url(http://x/y.png)"></div>', "<style>@import 'x.css';</style>",
    "<style>body { background: url(x.png) }</style>", "<p>see https://example.org</p>",
    '<a href="x.html">x</a>', '<svg><image xlink:href="data:image/png;base64,AAAA"/></svg>',
])
def test_external_reference_check_flags(snippet: str) -> None:
    assert external_references(snippet)


def test_external_reference_check_allows_namespaces_and_fragments() -> None:
    page = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<use xlink:href="#m1"/><path clip-path="url(#p1)" style="fill: url(#h1)"/></svg>'
            '<a href="#MSL109">MSL109</a><p>data: 3 rows; file: x.py</p>')
    assert external_references(page) == []


def _finding(rule: str, path: str, **kw: object) -> Finding:
    return Finding(rule=rule, severity="warning", message=f"{rule} message.", path=path, line=1, column=1,
                   end_line=1, end_column=5, **kw)  # type: ignore[arg-type]


def test_sections_only_when_they_have_content(tmp_path: Path) -> None:
    src = tmp_path / "fit.py"
    src.write_text("import numpy as np\nw = np.exp(x)\n", encoding="utf-8")
    code_only = Report(findings=[_finding("MSL109", str(src))], files_checked=1)
    o = outline(render_html(code_only))
    assert o.sections == ["summary", "code", "catalogue"]
    assert o.figures == []
    assert outline(render_html(Report(files_checked=3))).sections == ["summary"]


def test_dataset_identity_is_shown_when_the_report_carries_one() -> None:
    report = Report(files_checked=1)
    report.dataset = {"source": "train.parquet", "fingerprint": "sha256:abc123", "rows": 20000,  # type: ignore[attr-defined]
                      "columns": 336, "delta_version": None}
    html = render_html(report)
    assert "sha256:abc123" in html and "summary-dataset-1" in html
    assert "delta_version" not in html  # fields the source does not have are left out


def test_confirmation_without_a_chart_still_lists_its_figures() -> None:
    confirmation = Confirmation("not-confirmed", "some-new-experiment", {"arms": {"a": {"x": 1.5}}}, "no effect")
    html = render_html(Report(findings=[_finding("MSL101", "f.py", confirmation=confirmation)], files_checked=1))
    o = outline(html)
    assert "confirmation" in o.sections and "confirmation-1" in o.ids
    assert "arms.a.x" in html and "not-confirmed" in html


def test_lab_page_from_the_sweep_document() -> None:
    runs = [{"dtype": d, "lr": lr, "lambda": 0.0, "status": s, "epoch": 3, "loss": "inf", "reason": "r",
             "history": {"loss": [1.0, 0.5, float("inf")] if s == "overflow" else [1.0, 0.5, 0.25]},
             "new_field_from_a_later_lab": "x"}
            for d in ("float16", "float64") for lr, s in ((0.1, "converged"), (1.0, "overflow"))]
    html = render_lab_html({"task": "logistic_regression", "runs": runs, "recommendation": {"text": "lower lr"}})
    o = outline(html)
    assert o.sections == ["summary", "lab"]
    assert o.figures == ["chart-lab"] and o.charts_with_table == ["chart-lab"]
    for panel in ("dtype=float16 · lr=0.1", "dtype=float64 · lr=1.0"):
        assert panel in html
    assert "lower lr" in html and external_references(html) == []


def test_sweep_and_audit_write_html(tmp_path: Path) -> None:
    lab = tmp_path / "lab.html"
    result = run_cli("sweep", "--sweep", "precision,lr", "--epochs", "20", "--format", "html", "-o", str(lab), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert outline(lab.read_text(encoding="utf-8")).sections == ["summary", "lab"]
    audit = tmp_path / "audit.html"
    table = ROOT / "fixtures" / "exploding_infinities" / "train.parquet"
    result = run_cli("audit", str(table), "--target", "y", "--no-confirm", "--format", "html", "-o", str(audit),
                     cwd=ROOT)
    assert result.returncode == 1, result.stderr
    assert outline(audit.read_text(encoding="utf-8")).sections == [
        "summary", "conditioning", "columns", "rows", "catalogue"]


def test_missing_charting_dependency_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code = ("import sys; sys.modules['matplotlib'] = None; from mlstablint.cli import main; "
            f"sys.argv = ['mlstablint', 'check', {str(ROOT / 'fixtures' / 'stable')!r}, '--format', 'html', "
            f"'-o', {str(out)!r}]; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "mlstablint: error: --format html needs matplotlib: pip install 'mlstablint[html]'"]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_drift_chart_and_hostile_column_names(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from tests.data_support import run_audit, write_table

    rng = np.random.default_rng(0)
    odd = ["<script>alert(1)</script>", "price $\\alpha$ usd", "plain"]
    train = pd.DataFrame({odd[0]: rng.normal(0, 1, 300), odd[1]: rng.normal(0, 1e6, 300), odd[2]: rng.normal(0, 1, 300)})
    test = pd.DataFrame({odd[0]: rng.normal(1, 1, 200), odd[1]: rng.normal(0, 1e6, 200), odd[2]: rng.normal(0, 1, 200)})
    report = run_audit(train, tmp_path, test_data=write_table(test, tmp_path / "test.parquet"))
    html = render_html(report)
    o = outline(html)
    assert "chart-drift-1" in o.figures and "chart-scales-1" in o.figures
    assert o.scripts == 0 and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "price $\\alpha$ usd" in html  # drawn as text, not TeX
    assert "mathdefault" not in html  # tick labels typeset, not TeX source
    drift = report.profiles[0]["drift"]["tests"]
    for t in drift:  # the chart's table carries every tested column's KS statistic
        assert f"{t['ks']:.4f}" in html
    assert external_references(html) == []
    assert render_html(report) == html  # deterministic: same report, same bytes (SVG ids included)


def test_a_fixable_finding_shows_its_fix_and_how_to_apply_it() -> None:
    from mlstablint.findings import Edit, FixInfo

    fix = FixInfo("unsafe", (Edit(2, 5, 2, 19, "np.log1p(x)"),))
    html = render_html(Report(findings=[_finding("MSL101", "f.py", fix=fix)], files_checked=1))
    assert "unsafe fix" in html and "--unsafe-fixes" in html and "line 2:5: replace by np.log1p(x)" in html
    assert "FixInfo(" not in html
