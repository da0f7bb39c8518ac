"""The rule catalogue: one Markdown page per rule in `rules/`, the single source of rule metadata.

Each page has YAML front matter (id, name, family, severity, summary, tags, fix-safety,
confirmed-by) and fixed `##` sections. The wheel carries the pages as `mlstablint/_catalog`;
a source checkout reads them from the top-level `rules/` folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from mlstablint.findings import SEVERITIES, Severity

SECTIONS = (
    "What it finds",
    "Why it breaks",
    "Example",
    "Use instead",
    "Fix safety",
    "How it is confirmed",
    "References",
)
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_HEADING = re.compile(r"^## (.+?)\s*$", re.M)
_CODE_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.M | re.S)
RULE_ID = re.compile(r"^MSL[1-9]\d\d$")


class CatalogError(Exception):
    """A catalogue page is malformed (a packaging or authoring bug, reported with its file)."""


@dataclass(frozen=True)
class RuleDoc:
    id: str
    name: str
    family: str
    severity: Severity
    summary: str
    tags: tuple[str, ...]
    fix_safety: str
    confirmed_by: str
    body: str  # the Markdown after the front matter
    sections: dict[str, str] = field(hash=False, compare=False)
    source: str = ""
    # False: an opt-in rule (like ruff's preview rules), enabled only when a selector other than ALL
    # names it (`select = ["MSL109"]`, `--select MSL1`): its measured precision is under the bar.
    default: bool = True

    def code_blocks(self, section: str) -> list[str]:
        """Python code blocks of one section, e.g. the catalogue's Example / Use instead."""
        text = self.sections.get(section, "")
        return [code for lang, code in _CODE_BLOCK.findall(text) if lang in ("python", "py")]

    @property
    def full_description(self) -> str:
        return _plain(self.sections.get("What it finds", self.summary))

    @property
    def markdown(self) -> str:
        return f"# {self.id} {self.name}\n\n{self.body.strip()}\n"


def _plain(markdown: str) -> str:
    """Markdown paragraph to plain text: drop code fences and inline markup."""
    text = _CODE_BLOCK.sub("", markdown)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = text.replace("`", "").replace("**", "")
    return " ".join(text.split())


def catalog_dir() -> Path:
    packaged = Path(__file__).resolve().parent / "_catalog"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


def parse_page(text: str, source: str = "") -> RuleDoc:
    m = _FRONT_MATTER.match(text)
    if not m:
        raise CatalogError(f"{source}: no YAML front matter")
    meta = yaml.safe_load(m.group(1)) or {}
    body = text[m.end():]
    missing = [k for k in ("id", "name", "family", "severity", "summary") if k not in meta]
    if missing:
        raise CatalogError(f"{source}: front matter lacks {', '.join(missing)}")
    if not RULE_ID.match(str(meta["id"])):
        raise CatalogError(f"{source}: bad rule id {meta['id']!r}")
    if meta["severity"] not in SEVERITIES:
        raise CatalogError(f"{source}: severity must be one of {SEVERITIES}")
    headings = list(_HEADING.finditer(body))
    sections = {
        h.group(1): body[h.end(): headings[i + 1].start() if i + 1 < len(headings) else len(body)].strip()
        for i, h in enumerate(headings)
    }
    return RuleDoc(
        id=str(meta["id"]),
        name=str(meta["name"]),
        family=str(meta["family"]),
        severity=meta["severity"],
        summary=str(meta["summary"]).strip(),
        tags=tuple(str(t) for t in meta.get("tags") or ()),
        fix_safety=str(meta.get("fix-safety", "none")),
        confirmed_by=str(meta.get("confirmed-by") or ""),
        body=body,
        sections=sections,
        source=source,
        default=_default_flag(meta.get("default", True), source),
    )


@cache
def load_catalog() -> dict[str, RuleDoc]:
    """All rule pages by id, in id order."""
    docs: dict[str, RuleDoc] = {}
    folder = catalog_dir()
    for page in sorted(folder.glob("MSL*.md")):
        doc = parse_page(page.read_text(encoding="utf-8"), source=page.name)
        if not page.name.startswith(doc.id + "-"):
            raise CatalogError(f"{page.name}: file name does not start with its id {doc.id}")
        if doc.id in docs:
            raise CatalogError(f"{page.name}: duplicate id {doc.id}")
        docs[doc.id] = doc
    if not docs:
        raise CatalogError(f"no rule pages found in {folder}")
    return dict(sorted(docs.items()))


def _default_flag(value: object, source: str) -> bool:
    if not isinstance(value, bool):
        raise CatalogError(f"{source}: default must be true or false")
    return value


def opt_in_rules() -> set[str]:
    """Rules outside the default set: enabled only when selected by something more specific than ALL."""
    return {rule_id for rule_id, doc in load_catalog().items() if not doc.default}
