"""The catalogue is the single source of rule docs: every rule has a page, every page's
Example fires its rule and its Use instead does not."""

from __future__ import annotations

import pytest

from mlstablint.catalog import SECTIONS, load_catalog, parse_page
from mlstablint.code.rules import ALL_RULES
from mlstablint.findings import SEVERITIES

CATALOG = load_catalog()
CODE_RULE_IDS = sorted(rule.id for rule in ALL_RULES)


def test_every_code_rule_has_a_page_and_every_code_page_a_rule() -> None:
    code_pages = sorted(rid for rid in CATALOG if rid < "MSL600")
    assert code_pages == CODE_RULE_IDS


def test_the_issue_rule_table_is_implemented() -> None:
    expected = ([f"MSL1{i:02d}" for i in range(1, 17)] + [f"MSL20{i}" for i in range(1, 6)]
                + [f"MSL30{i}" for i in range(1, 6)] + [f"MSL50{i}" for i in range(1, 6)])
    assert CODE_RULE_IDS == expected


@pytest.mark.parametrize("rule_id", sorted(CATALOG))
def test_page_is_complete(rule_id: str) -> None:
    doc = CATALOG[rule_id]
    assert list(doc.sections) == list(SECTIONS), f"{doc.source}: sections must be {SECTIONS}"
    assert all(doc.sections[s].strip() for s in SECTIONS)
    assert doc.severity in SEVERITIES
    assert doc.summary and len(doc.summary) <= 120
    assert doc.source.startswith(f"{rule_id}-{doc.name}.md".split(".md")[0])
    assert 0 < len(doc.full_description) <= 1024
    assert doc.code_blocks("Example") and doc.code_blocks("Use instead")


@pytest.mark.parametrize("rule_id", CODE_RULE_IDS)
def test_example_fires(checker, rule_id: str) -> None:
    for code in CATALOG[rule_id].code_blocks("Example"):
        report = checker.check_source(code, "example.py")
        assert not report.errors
        assert rule_id in [f.rule for f in report.findings], code


@pytest.mark.parametrize("rule_id", CODE_RULE_IDS)
def test_use_instead_is_clean(checker, rule_id: str) -> None:
    for code in CATALOG[rule_id].code_blocks("Use instead"):
        report = checker.check_source(code, "use_instead.py")
        assert not report.errors
        assert [f.rule for f in report.findings] == [], code


def test_malformed_pages_are_rejected() -> None:
    from mlstablint.catalog import CatalogError

    with pytest.raises(CatalogError):
        parse_page("no front matter\n", "x.md")
    with pytest.raises(CatalogError):
        parse_page("---\nid: MSL1\nname: x\nfamily: y\nseverity: warning\nsummary: s\n---\n", "x.md")
    with pytest.raises(CatalogError):
        parse_page("---\nid: MSL101\nname: x\nfamily: y\nseverity: fatal\nsummary: s\n---\n", "x.md")


def test_readme_rule_table_matches_the_catalogue() -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in CATALOG.values():
        assert f"| {doc.id} | {doc.name} | {doc.severity} |" in readme, doc.id
