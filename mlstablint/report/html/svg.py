"""matplotlib figures → SVG fragments that can be inlined in an HTML page, and the page's URL policy.

matplotlib writes a standalone SVG document: an XML declaration, a DOCTYPE pointing at w3.org, an RDF
metadata block and `xmlns` declarations. Inline in HTML only the `<svg>` element is needed; the
declaration, DOCTYPE and metadata are dropped and the namespace declarations (names, never fetched) stay.
Text, axes and grid are drawn in sentinel colours that are replaced by `currentColor` and a CSS variable,
so that charts follow the page's light or dark colour scheme.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Drawn in these exact colours, replaced after rendering (no data series uses them).
INK = "#010203"  # text, spines, ticks → the page's text colour
GRID = "#020304"  # grid lines → var(--grid)
_RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text as <text>, not glyph paths: smaller, selectable, styled by the page
    "svg.hashsalt": "mlstablint",  # deterministic ids
    "font.family": "sans-serif",
    "font.size": 9.0,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": INK,
    "axes.titlecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "grid.color": GRID,
    "grid.linewidth": 0.5,
    "axes.facecolor": "none",
    "figure.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.edgecolor": "none",
    "legend.frameon": False,
    "axes.prop_cycle": None,  # set from PALETTE below
}
# Okabe & Ito's colour-blind-safe palette (readable on light and dark backgrounds); series also differ
# by marker or hatch, never by colour alone.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#F0E442", "#999999")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "/", ".", "x", "\\", "+", "o", "-")

_XML_DECL = re.compile(r"<\?xml[^>]*\?>\s*")
_DOCTYPE = re.compile(r"<!DOCTYPE[^>]*>\s*", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_SIZE = re.compile(r'(<svg\b[^>]*?)\s(width|height)="[^"]*"')


def plain(text: object) -> str:
    """A label from the data (a column name, an arm) drawn as written: a `$` in it does not start TeX."""
    return str(text).replace("$", r"\$")


def rc_params() -> dict[str, Any]:
    from cycler import cycler

    params = dict(_RC)
    params["axes.prop_cycle"] = cycler(color=list(PALETTE))
    return params


def new_figure(width: float, height: float) -> Figure:
    """A figure detached from pyplot's global state (no GUI backend, nothing to close)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def to_svg(fig: Figure, label: str) -> str:
    """The figure as an inline `<svg>` element scaling with its container, labelled for screen readers."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(fig)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buf.getvalue()
    for pattern in (_XML_DECL, _DOCTYPE, _METADATA, _COMMENT):
        text = pattern.sub("", text)
    # Width from the page's CSS, height from the viewBox's aspect ratio.
    while _SIZE.search(text):
        text = _SIZE.sub(r"\1", text, count=1)
    text = text.replace(INK, "currentColor").replace(GRID, "var(--grid)")
    escaped = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg ", f'<svg role="img" aria-label="{escaped}" class="chart" ', 1).strip()


# What the page may contain that looks like a URL: XML namespace declarations (names, never fetched) and
# references to fragments of the page itself (`href="#MSL109"`, `url(#clip)`). Anything else is reported:
# a `scheme://` in any attribute, text or comment; a link attribute to something other than `#…`; a CSS
# `url(...)` to something other than `#…`; a CSS `@import`.
SCHEME = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://")
_CSS_URL = re.compile(r"(?i)url\(\s*[\"']?(?!#)|@import")
_LINK_ATTRS = frozenset({"href", "xlink:href", "src", "srcset", "action", "formaction", "poster", "data",
                         "background", "cite", "longdesc", "manifest", "ping"})


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            value = value or ""
            if name == "xmlns" or name.startswith("xmlns:"):
                continue
            if (name in _LINK_ATTRS and not value.startswith("#")) or SCHEME.search(value) or (
                    name == "style" and _CSS_URL.search(value)):
                self.found.append(f"<{tag} {name}={value[:80]!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        pattern = _CSS_URL if self._in_style else SCHEME
        self.found.extend(data[max(0, m.start() - 40): m.end() + 40] for m in pattern.finditer(data))
        if self._in_style:
            self.found.extend(data[max(0, m.start() - 40): m.end() + 40] for m in SCHEME.finditer(data))

    def handle_comment(self, data: str) -> None:
        self.found.extend(m.group(0) for m in SCHEME.finditer(data))

    def handle_decl(self, decl: str) -> None:  # a DOCTYPE with a system identifier
        self.found.extend(m.group(0) for m in SCHEME.finditer(decl))


def external_references(html: str) -> list[str]:
    """Every reference in `html` that could leave the page (an XML namespace declaration cannot): must be empty."""
    parser = _References()
    parser.feed(html)
    parser.close()
    return parser.found


_ID = re.compile(r'\bid="([^"]+)"')
_ID_REF = re.compile(r'(url\(#|xlink:href="#|href="#)([^)"]+)')


def scope_ids(svg: str, prefix: str) -> str:
    """Prefix every id of an inline SVG and the references to them: matplotlib numbers its ids per figure
    (`figure_1`, `axes_1`…), which would repeat between the charts of one page."""
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    return _ID_REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)
