"""Diagrams and charts as SVG text, drawn on the server with the standard library only.

The pages must work with no network and no script, so every picture is computed here and sent
as markup: a decision with its options, the forces they impact and the decisions they lead to
(:func:`decision_diagram`); how many new codes each source of a review brought (theoretical
saturation, :func:`saturation_chart`); how many sources ground each code (:func:`bar_chart`).

Choices that hold for all three:

* **Same input, same bytes.** Nothing depends on the order of a set or on string hashing
  (which differs between processes), coordinates are rounded to one decimal, and the only
  identifiers (arrowhead markers) come from a digest of the input, so answers can be cached,
  compared and tested as text.
* **Text cannot escape.** Every label is cleaned (characters XML 1.0 forbids and other control
  characters are dropped, runs of white space become one space), then escaped for text or for
  a double-quoted attribute. Links are emitted only for hrefs that start with ``/``, ``#``,
  ``http://`` or ``https://``: nothing a browser would run as script.
* **Self-contained styling.** Geometry is in attributes, colours are in an inline ``<style>``
  whose selectors all start with ``svg.mkc``, so the same markup looks right opened alone and
  inline in a page, and its rules cannot restyle the rest of the page.
* **Text is measured before it is placed.** SVG does not wrap text, and the server cannot ask
  a font, so widths come from a per-character estimate of a sans-serif face, generous enough
  for the wider common ones; labels are wrapped and cut with "…" before they would overflow,
  and the full text stays in a ``<title>`` child, which browsers show as a tooltip.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote
from xml.sax.saxutils import escape

__all__ = [
    "SATURATION_MAX_BARS",
    "SVG_NS",
    "TOOLTIP_MAX",
    "Edge",
    "Node",
    "bar_chart",
    "clean",
    "decision_diagram",
    "nice_ticks",
    "one_line",
    "safe_href",
    "saturation_chart",
    "text_width",
    "wrap",
]

SVG_NS = "http://www.w3.org/2000/svg"
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Node:
    """A box of a diagram; ``key`` is unique within the diagram and what edges refer to."""

    key: str
    label: str
    href: str | None = None
    kind: str = ""  # an extra css class: "practice", "pattern", …
    layer: str = ""  # "notes" | "model" | "both" | "": which readings say the node is there


@dataclass(frozen=True, slots=True)
class Edge:
    """An arrow between two :class:`Node` keys; ``label`` is a sign ("++" … "--") or a name."""

    source: str
    target: str
    label: str = ""
    kind: str = ""  # "positive" | "negative" | "neutral" | "mixed" | "option" | "next" | …
    layer: str = ""  # as Node.layer


# --- text: cleaning, escaping, measuring, wrapping --------------------------------------------

# C0 controls other than tab, line feed and carriage return, DEL, C1 controls, lone surrogates
# and U+FFFE/U+FFFF: XML 1.0 forbids most of them, and the rest have no business in a label.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_CLASS_UNSAFE = re.compile(r"[^a-z0-9_-]+")
# a tooltip longer than this helps nobody, and a hostile label must not make the picture huge
TOOLTIP_MAX = 1000


def clean(text: str) -> str:
    """``text`` with forbidden characters dropped and white space collapsed to single spaces."""
    return _SPACES.sub(" ", _FORBIDDEN.sub("", text)).strip()


def _clip(text: str, limit: int = TOOLTIP_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _esc(text: str) -> str:
    return escape(text)


def _attr(value: str) -> str:
    """A double-quoted attribute value: always the same quote, so output is stable."""
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def _n(value: float) -> str:
    """A coordinate: one decimal at most, no "-0"; a tenth of a pixel is below what shows."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _count(value: int) -> str:
    """A count for people: thousands separated, independent of the locale."""
    return f"{value:,}"


_Attrs = dict[str, str | float | None]


def _tag(name: str, attrs: _Attrs, *, empty: bool = False) -> str:
    """A start (or empty-element) tag; ``None`` values are left out, numbers go through _n."""
    parts = [name]
    for key, value in attrs.items():
        if value is None:
            continue
        text = value if isinstance(value, str) else _n(value)
        parts.append(f"{key}={_attr(text)}")
    return "<" + " ".join(parts) + ("/>" if empty else ">")


def _css_class(*names: str) -> str:
    """Class tokens from free text: lower case, [a-z0-9_-] only, no repeats, order kept."""
    tokens: list[str] = []
    for name in names:
        for raw in clean(name).lower().split(" "):
            token = _CLASS_UNSAFE.sub("-", raw).strip("-")
            if token and token not in tokens:
                tokens.append(token)
    return " ".join(tokens)


def safe_href(href: str | None) -> str | None:
    """``href`` if it is a path, a fragment or an http(s) URL; otherwise no link at all.

    An allow-list rather than a deny-list: ``javascript:``, ``data:`` and every other scheme
    are refused, and so is an href with control characters (which browsers strip, so they
    could hide a scheme). The prefix is checked on the text as given, so leading white space
    refuses it too; white space inside is percent-encoded, as a browser would.
    """
    if not href or _FORBIDDEN.search(href):
        return None
    if href.startswith(("/", "#")) or href[:8].lower().startswith(("http://", "https://")):
        return _SPACES.sub(lambda found: quote(found.group()), href)
    return None


# Advance widths of a Helvetica-like face in em, grouped; other characters get a generous
# default. Overestimating a little costs some white space, underestimating costs overflow.
_WIDTH_GROUPS = (
    (0.26, "ijl'|"),
    (0.28, " !,./:;I[\\]ft"),
    (0.34, '()-`r"{}*'),
    (0.5, "Jckvxyzs"),
    (0.56, "0123456789abdeghnopqu$#_?L"),
    (0.67, "ABEKPSVXYFTZ&"),
    (0.7, "+<=>~^"),
    (0.72, "CDHNRUw"),
    (0.78, "GOQ"),
    (0.84, "mM"),
    (0.89, "%"),
    (0.95, "W"),
    (1.02, "@"),
)
_EM = {ch: width for width, chars in _WIDTH_GROUPS for ch in chars}
_SAFETY = 1.15


@lru_cache(maxsize=4096)
def _char_em(ch: str) -> float:
    width = _EM.get(ch)
    if width is not None:
        return width
    if unicodedata.combining(ch):
        return 0.0
    if unicodedata.east_asian_width(ch) in {"W", "F"}:
        return 1.0
    return 0.62


def text_width(text: str, size: float) -> float:
    """Estimated width in pixels of ``text`` set at ``size`` pixels."""
    return sum(_char_em(ch) for ch in text) * size * _SAFETY


def _fit(text: str, limit: float, size: float) -> str:
    """The longest prefix of ``text`` at most ``limit`` pixels wide (stops early on long text)."""
    total = 0.0
    scale = size * _SAFETY
    for index, ch in enumerate(text):
        total += _char_em(ch) * scale
        if total > limit:
            return text[:index]
    return text


def _ellipsize(text: str, limit: float, size: float) -> str:
    head = _fit(text, limit - text_width(ELLIPSIS, size), size)
    return head.rstrip() + ELLIPSIS


def one_line(text: str, limit: float, size: float) -> tuple[str, bool]:
    """``text`` cut with "…" to fit ``limit`` pixels; and whether it was cut."""
    head = _fit(text, limit, size)
    if head == text:
        return text, False
    return _ellipsize(text, limit, size), True


def wrap(text: str, limit: float, size: float, max_lines: int) -> tuple[list[str], bool]:
    """Greedy word wrap into at most ``max_lines`` lines; and whether text was left out.

    Words wider than a line are broken where they overflow (identifiers and URLs have no
    spaces); the last line of a cut text ends with "…".
    """
    words = text.split(" ") if text else []
    lines: list[str] = []
    current = ""
    index = 0
    while index < len(words) and len(lines) < max_lines:
        word = words[index]
        if not word:
            index += 1
            continue
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size) <= limit:
            current = candidate
            index += 1
        elif current:
            lines.append(current)
            current = ""
        else:
            head = _fit(word, limit, size) or word[0]
            lines.append(head)
            words[index] = word[len(head) :]
    if current:
        lines.append(current)
    cut = index < len(words)
    if cut and lines:
        lines[-1] = _ellipsize(lines[-1] + " " + words[index], limit, size)
    return lines, cut


def nice_ticks(maximum: int, target: int = 5) -> list[int]:
    """Ticks from 0 past ``maximum`` with a step of 1, 2 or 5 × 10^k (counts: never below 1).

    Round steps are what readers interpolate between without effort.
    """
    top = max(maximum, 1)
    raw = top / target
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = magnitude
    for factor in (1, 2, 5, 10):
        step = factor * magnitude
        if step >= raw:
            break
    step = max(int(step), 1)
    last = -(-top // step) * step
    return list(range(0, last + 1, step))


def _text_lines(
    lines: Sequence[str], x: float, y_first: float, line_height: float, attrs: dict[str, str]
) -> str:
    """A ``<text>`` with one ``<tspan>`` per line, each placed absolutely."""
    out = [_tag("text", {"x": x, "y": y_first, **attrs})]
    for number, line in enumerate(lines):
        out.append(_tag("tspan", {"x": x, "y": y_first + number * line_height}))
        out.append(_esc(line) + "</tspan>")
    out.append("</text>")
    return "".join(out)


# --- the document ----------------------------------------------------------------------------

_FONT = 'system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif'

EDGE_COLOURS = {
    "positive": "#2e7d32",
    "negative": "#c62828",
    "neutral": "#757575",
    "mixed": "#ef6c00",
    "option": "#455a64",
    "next": "#546e7a",
    "dependency": "#6d4c41",
}
_PLAIN = "#5f6b73"

NODE_COLOURS = {  # fill, stroke
    "decision": ("#e3ecf7", "#2b5797"),
    "option": ("#f1ebf9", "#6a4c9c"),
    "force": ("#fdf3e1", "#b7791f"),
    "next": ("#eef2f3", "#546e7a"),
}

_COMMON_CSS = (
    f"svg.mkc{{font-family:{_FONT};font-size:12px;max-width:100%;height:auto}}"
    "svg.mkc text{fill:#1f2328}"
    "svg.mkc .canvas{fill:#fff}"
    "svg.mkc .caption{font-size:15px;font-weight:600}"
    "svg.mkc .heading{font-weight:600;fill:#57606a}"
    "svg.mkc .empty{fill:#57606a;font-style:italic}"
    "svg.mkc .legend text{font-size:11px}"
    "svg.mkc .tick,svg.mkc .axis-title{font-size:11px;fill:#57606a}"
    "svg.mkc .axis line,svg.mkc line.axis{stroke:#8c959f;stroke-width:1}"
    "svg.mkc line.grid{stroke:#e6e9ed;stroke-width:1}"
    "svg.mkc a text{fill:#0a4f9e}"
)


def _diagram_css() -> str:
    """Node colours by role, edge colours by kind, line patterns for the readings' layers."""
    rules = [
        "svg.mkc .node .box{fill:#fff;stroke:#5f6b73;stroke-width:1.5}",
        "svg.mkc a:hover .box,svg.mkc a:focus .box{stroke-width:3}",
        f"svg.mkc .edge path,svg.mkc .sample path{{fill:none;stroke:{_PLAIN};stroke-width:1.4}}",
        f"svg.mkc .arrowhead{{fill:{_PLAIN}}}",
        "svg.mkc .edge-label rect{fill:#fff;fill-opacity:.92}",
        "svg.mkc .edge-label text{font-size:11px;font-weight:600}",
    ]
    for role, (fill, stroke) in NODE_COLOURS.items():
        rules.append(f"svg.mkc .node.{role} .box{{fill:{fill};stroke:{stroke}}}")
    for kind, colour in EDGE_COLOURS.items():
        rules.append(
            f"svg.mkc .edge.{kind} path,svg.mkc .sample.{kind} path{{stroke:{colour}}}"
            f"svg.mkc .arrowhead.{kind}{{fill:{colour}}}"
            f"svg.mkc .edge-label.{kind} text{{fill:{colour}}}"
        )
    rules += [
        "svg.mkc .edge.strong path{stroke-width:2.6}",
        "svg.mkc .edge.next path,svg.mkc .sample.next path{stroke-dasharray:6 4}",
        # a difference between the readings: thicker outline, dashed (model) or dotted (notes)
        "svg.mkc .layer-model .box,svg.mkc .edge.layer-model path,"
        "svg.mkc .sample.layer-model path{stroke-dasharray:9 4;stroke-width:2.2}",
        "svg.mkc .layer-notes .box,svg.mkc .edge.layer-notes path,"
        "svg.mkc .sample.layer-notes path{stroke-dasharray:1.5 3;stroke-linecap:round;"
        "stroke-width:2.2}",
    ]
    return "".join(rules)


_DIAGRAM_CSS = _diagram_css()

_SATURATION_CSS = (
    "svg.mkc .bar{fill:#9ccc65}"
    "svg.mkc a:hover .bar,svg.mkc a:focus .bar{fill:#558b2f}"
    "svg.mkc .cumulative{fill:none;stroke:#1565c0;stroke-width:2;stroke-linejoin:round}"
    "svg.mkc .total{fill:#1565c0}"
    "svg.mkc .axis.left .tick,svg.mkc .axis-title.left{fill:#1565c0}"
    "svg.mkc .axis.right .tick,svg.mkc .axis-title.right{fill:#558b2f}"
    "svg.mkc .xlabel{font-size:10px;fill:#57606a}"
)

_BAR_CSS = (
    "svg.mkc .row .bar{fill:#5c8fc6}"
    "svg.mkc a:hover .bar,svg.mkc a:focus .bar{fill:#2b5797}"
    "svg.mkc .row .value{font-size:11px;fill:#57606a}"
)


def _document(
    kind: str, *, width: float, height: float, title: str, desc: str, css: str, body: list[str]
) -> str:
    """The root element around ``body``: namespace, size, accessible name, style, background."""
    name = _clip(clean(title))
    head = _tag(
        "svg",
        {
            "xmlns": SVG_NS,
            "class": f"mkc {kind}",
            "viewBox": f"0 0 {_n(width)} {_n(height)}",
            "width": width,
            "height": height,
            "role": "img",
            "aria-label": name,
        },
    )
    return "".join(
        [
            head,
            f"<title>{_esc(name)}</title>",
            f"<desc>{_esc(desc)}</desc>",
            f"<style>{_COMMON_CSS}{css}</style>",
            _tag("rect", {"class": "canvas", "width": width, "height": height}, empty=True),
            *body,
            "</svg>\n",
        ]
    )


_MARGIN = 16.0
_CAPTION_SIZE = 15.0
_CAPTION_LINE = 19.0


def _caption(title: str, width: float) -> tuple[str, float]:
    """The visible title, wrapped to two lines; and the height it takes."""
    lines, _ = wrap(clean(title), width - 2 * _MARGIN, _CAPTION_SIZE, 2)
    if not lines:
        return "", _MARGIN
    text = _text_lines(lines, _MARGIN, _MARGIN + 14, _CAPTION_LINE, {"class": "caption"})
    return text, _MARGIN + len(lines) * _CAPTION_LINE + 8


# --- decision diagram --------------------------------------------------------------------------

_NODE_W = 200.0
_NODE_PAD = 8.0
_NODE_FONT = 12.0
_NODE_LINE = 15.0
_NODE_LINES = 3
_NODE_MIN_H = 32.0
_COLUMN_GAP = 150.0  # room for an edge label (at most _EDGE_LABEL_MAX) and the curve before it
_ROW_GAP = 14.0
_GROUP_GAP = 38.0  # between the forces and the decisions to take next, room for a heading
_PORT_PITCH = 15.0  # one edge label per pitch: labels at the same node never overlap
_EDGE_FONT = 11.0
_EDGE_LABEL_H = 13.0
_EDGE_LABEL_MAX = 110.0
_ARROW = 8.0
_HEADINGS = ("Decision", "Options", "Forces", "Next decisions")

_SIGNS = {
    "++": ("positive", True),
    "+": ("positive", False),
    "o": ("neutral", False),
    "0": ("neutral", False),
    "-": ("negative", False),
    "−": ("negative", False),
    "--": ("negative", True),
    "−−": ("negative", True),
    "+/-": ("mixed", False),
    "+/−": ("mixed", False),
    "±": ("mixed", False),
}
_LAYER_CLASS = {"model": "layer-model", "notes": "layer-notes"}
_LEGEND_SIGNS = {
    "positive": "positive (+, ++)",
    "negative": "negative (-, --)",
    "neutral": "neutral (o)",
    "mixed": "mixed (+/-)",
}


@dataclass(slots=True)
class _Box:
    node: Node
    role: str  # decision | option | force | next
    column: int  # drawn column, 0 to 2
    lines: list[str]
    x: float = 0.0
    y: float = 0.0
    h: float = 0.0

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(slots=True)
class _Wire:
    edge: Edge
    index: int
    source: _Box
    target: _Box
    kind: str  # as drawn: the given kind, else one read from the sign or the roles, or ""
    strong: bool
    out_side: str  # "right" | "left"
    in_side: str
    y1: float = 0.0
    y2: float = 0.0

    @property
    def x1(self) -> float:
        return self.source.x + (_NODE_W if self.out_side == "right" else 0.0)

    @property
    def x2(self) -> float:
        return self.target.x + (0.0 if self.in_side == "left" else _NODE_W)


def _edge_kind(edge: Edge, source: str, target: str) -> tuple[str, bool]:
    """The kind an edge is drawn as: given, else from its sign, else from the roles it joins."""
    sign = _SIGNS.get(clean(edge.label).replace(" ", ""))
    given = _css_class(edge.kind)
    if given:
        return given, sign is not None and sign[1]
    if sign is not None:
        return sign
    if source == "decision" and target == "option":
        return "option", False
    if target == "next":
        return "next", False
    return "", False


def _crossings(pairs: list[tuple[int, int]], size: int) -> int:
    """Crossings between two ordered columns: inversions among edges sorted by source position.

    A Fenwick tree counts them in E log V, so the layout stays fast at thousands of edges.
    """
    tree = [0] * (size + 1)
    count = 0
    for seen, (_, position) in enumerate(sorted(pairs)):
        i, at_most = position + 1, 0
        while i > 0:
            at_most += tree[i]
            i -= i & -i
        count += seen - at_most
        i = position + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return count


def _by_barycentre(
    group: list[str], position: dict[str, int], neighbours: dict[str, list[int]]
) -> list[str]:
    """``group`` sorted by the mean position of each member's neighbours; ties keep order."""

    def key(k: str) -> tuple[float, int]:
        around = neighbours.get(k)
        centre = sum(around) / len(around) if around else float(position[k])
        return centre, position[k]

    return sorted(group, key=key)


def _order_columns(
    options: list[str], groups: list[list[str]], links: list[tuple[str, str]]
) -> tuple[list[str], list[list[str]]]:
    """Options and the third column's groups reordered to reduce crossings between them.

    Alternate barycentre sweeps from the given order, keeping the arrangement with the fewest
    crossings (the given order wins ties): deterministic, and never worse than the input.
    """
    right_size = sum(len(g) for g in groups)

    def positions(left: list[str], right: list[list[str]]) -> tuple[dict[str, int], ...]:
        lpos = {k: i for i, k in enumerate(left)}
        rpos = {k: i for i, k in enumerate(k for g in right for k in g)}
        return lpos, rpos

    def crossings(left: list[str], right: list[list[str]]) -> int:
        lpos, rpos = positions(left, right)
        return _crossings([(lpos[a], rpos[b]) for a, b in links], right_size)

    best = (crossings(options, groups), options, groups)
    left, right = options, groups
    for sweep in range(4):
        lpos, rpos = positions(left, right)
        if sweep % 2 == 0:
            seen: dict[str, list[int]] = {}
            for a, b in links:
                seen.setdefault(b, []).append(lpos[a])
            right = [_by_barycentre(g, rpos, seen) for g in right]
        else:
            seen = {}
            for a, b in links:
                seen.setdefault(a, []).append(rpos[b])
            left = _by_barycentre(left, lpos, seen)
        found = crossings(left, right)
        if found < best[0]:
            best = (found, left, right)
    return best[1], best[2]


def _node_markup(box: _Box) -> str:
    """A box with its wrapped label and, as its tooltip, the whole label; linked if it can be."""
    node = box.node
    classes = _css_class("node", box.role, node.kind, _layer_class(node.layer))
    text_h = len(box.lines) * _NODE_LINE
    first = box.y + (box.h - text_h) / 2 + _NODE_LINE * 0.75
    parts = [
        _tag("g", {"class": classes, "data-key": _clip(clean(node.key))}),
        f"<title>{_esc(_clip(clean(node.label)))}</title>",
        _tag(
            "rect",
            {"class": "box", "x": box.x, "y": box.y, "width": _NODE_W, "height": box.h, "rx": 6},
            empty=True,
        ),
        _text_lines(box.lines, box.x + _NODE_W / 2, first, _NODE_LINE, {"text-anchor": "middle"}),
        "</g>",
    ]
    markup = "".join(parts)
    href = safe_href(node.href)
    return f"{_tag('a', {'href': href})}{markup}</a>" if href else markup


def _edge_markup(wire: _Wire, marker: str) -> tuple[str, str]:
    """The edge's path and, if it has one, its label (drawn later, above every path)."""
    x1, y1, x2, y2 = wire.x1, wire.y1, wire.x2, wire.y2
    reach = max(abs(x2 - x1) / 2, 40.0)
    c1 = x1 + (reach if wire.out_side == "right" else -reach)
    c2 = x2 + (-reach if wire.in_side == "left" else reach)
    d = f"M{_n(x1)},{_n(y1)} C{_n(c1)},{_n(y1)} {_n(c2)},{_n(y2)} {_n(x2)},{_n(y2)}"
    edge = wire.edge
    layer = _layer_class(edge.layer)
    classes = _css_class("edge", wire.kind, "strong" if wire.strong else "", layer)
    label = clean(edge.label)
    tip = f"{clean(wire.source.node.label)[:200]} → {clean(wire.target.node.label)[:200]}"
    if label:
        tip += f": {label}"
    if layer:
        tip += f" ({layer.removeprefix('layer-')} only)"
    path = "".join(
        [
            _tag("g", {"class": classes}),
            f"<title>{_esc(_clip(tip))}</title>",
            _tag("path", {"d": d, "marker-end": f"url(#{marker})"}, empty=True),
            "</g>",
        ]
    )
    if not label:
        return path, ""
    shown, _ = one_line(label, _EDGE_LABEL_MAX, _EDGE_FONT)
    width = text_width(shown, _EDGE_FONT) + 6
    gap = _ARROW + 2
    left = x2 - gap - width if wire.in_side == "left" else x2 + gap
    label_markup = "".join(
        [
            _tag("g", {"class": _css_class("edge-label", wire.kind)}),
            _tag(
                "rect",
                {
                    "x": left,
                    "y": y2 - _EDGE_LABEL_H / 2,
                    "width": width,
                    "height": _EDGE_LABEL_H,
                    "rx": 3,
                },
                empty=True,
            ),
            _tag("text", {"x": left + width / 2, "y": y2 + 4, "text-anchor": "middle"}),
            _esc(shown),
            "</text></g>",
        ]
    )
    return path, label_markup


def _legend(entries: list[tuple[str, str]], width: float, top: float) -> tuple[str, float]:
    """A row (or rows) of samples: (class of the sample line, text); and its height."""
    if not entries:
        return "", 0.0
    parts = [_tag("g", {"class": "legend"})]
    x, y = _MARGIN, top + 10
    for classes, text in entries:
        needed = 34 + text_width(text, 11) + 18
        if x > _MARGIN and x + needed > width - _MARGIN:
            x, y = _MARGIN, y + 18
        parts += [
            _tag("g", {"class": _css_class("sample", classes)}),
            _tag("path", {"d": f"M{_n(x)},{_n(y)} h28"}, empty=True),
            _tag("text", {"x": x + 34, "y": y + 4}),
            _esc(text),
            "</text></g>",
        ]
        x += needed
    parts.append("</g>")
    return "".join(parts), y + 12 - top


def _layer_class(layer: str) -> str:
    """The class of a difference between the readings; nothing for "both" or unknown."""
    return _LAYER_CLASS.get(layer.strip().lower(), "")


def _boxes(columns: list[tuple[str, int, list[Node]]]) -> dict[str, _Box]:
    """A box per key, in the first column the key appears in, its label wrapped."""
    boxes: dict[str, _Box] = {}
    for role, column, nodes in columns:
        for node in nodes:
            if node.key not in boxes:
                lines, _ = wrap(clean(node.label), _NODE_W - 2 * _NODE_PAD, _NODE_FONT, _NODE_LINES)
                boxes[node.key] = _Box(node, role, column, lines or [""])
    return boxes


def _wires(edges: list[Edge], boxes: dict[str, _Box], rank: dict[int, int]) -> list[_Wire]:
    """The edges that can be drawn (both ends present, not a loop), with their sides.

    An edge to a column on the right leaves its source on the right and enters its target on
    the left; one to a column on the left the other way round; one within a column leaves and
    enters on the right, bulging outwards.
    """
    wires: list[_Wire] = []
    for index, edge in enumerate(edges):
        source, target = boxes.get(edge.source), boxes.get(edge.target)
        if source is None or target is None or source is target:
            continue
        kind, strong = _edge_kind(edge, source.role, target.role)
        step = rank[target.column] - rank[source.column]
        out_side = "left" if step < 0 else "right"
        in_side = "left" if step > 0 else "right"
        wires.append(_Wire(edge, index, source, target, kind, strong, out_side, in_side))
    return wires


def _attach(wires: list[_Wire]) -> None:
    """Port positions once boxes are placed: no two edges end at the same point.

    Incoming edges are ordered by where they come from (so they do not cross at the box) and
    spaced one label height apart around the middle of the side; outgoing edges are ordered
    by where they arrive and spread over the side.
    """
    arriving: dict[tuple[str, str], list[_Wire]] = {}
    leaving: dict[tuple[str, str], list[_Wire]] = {}
    for wire in wires:
        arriving.setdefault((wire.target.node.key, wire.in_side), []).append(wire)
        leaving.setdefault((wire.source.node.key, wire.out_side), []).append(wire)
    for group in arriving.values():
        group.sort(key=lambda w: (w.source.cy, w.index))
        box = group[0].target
        first = box.y + (box.h - len(group) * _PORT_PITCH) / 2 + _PORT_PITCH / 2
        for slot, wire in enumerate(group):
            wire.y2 = first + slot * _PORT_PITCH
    for group in leaving.values():
        group.sort(key=lambda w: (w.y2, w.index))
        box = group[0].source
        for slot, wire in enumerate(group):
            wire.y1 = box.y + box.h * (slot + 1) / (len(group) + 1)


def _size(boxes: dict[str, _Box], wires: list[_Wire]) -> None:
    """Box heights: room for the wrapped label and for one port per incoming edge a side."""
    incoming: dict[tuple[str, str], int] = {}
    for wire in wires:
        port = (wire.target.node.key, wire.in_side)
        incoming[port] = incoming.get(port, 0) + 1
    for key, box in boxes.items():
        busiest = max(incoming.get((key, "left"), 0), incoming.get((key, "right"), 0))
        text_h = len(box.lines) * _NODE_LINE + 2 * _NODE_PAD
        box.h = max(_NODE_MIN_H, text_h, busiest * _PORT_PITCH + 6)


def _stack_height(boxes: dict[str, _Box], groups: list[list[str]]) -> float:
    inner = sum(sum(boxes[k].h for k in g) + _ROW_GAP * max(len(g) - 1, 0) for g in groups)
    return inner + _GROUP_GAP * max(len(groups) - 1, 0)


def _markers(wires: list[_Wire], prefix: str) -> tuple[str, dict[str, str]]:
    """One arrowhead per edge colour in use (a marker does not take its path's colour
    everywhere); and the marker id for each edge kind. Ids start with a digest of the input,
    so two different diagrams on one page do not share them."""
    kinds = sorted({w.kind if w.kind in EDGE_COLOURS else "plain" for w in wires})
    ids = {kind: f"{prefix}-{kind}" for kind in kinds}
    if not kinds:
        return "", {}
    defs = "".join(
        _tag(
            "marker",
            {
                "id": ids[kind],
                "viewBox": "0 0 10 10",
                "refX": 10,
                "refY": 5,
                "markerWidth": _ARROW,
                "markerHeight": _ARROW,
                "markerUnits": "userSpaceOnUse",
                "orient": "auto",
            },
        )
        + _tag("path", {"class": f"arrowhead {kind}", "d": "M0,0 L10,5 L0,10 z"}, empty=True)
        + "</marker>"
        for kind in kinds
    )
    by_kind = {w.kind: ids[w.kind if w.kind in EDGE_COLOURS else "plain"] for w in wires}
    return f"<defs>{defs}</defs>", by_kind


def _diagram_legend(wires: list[_Wire], boxes: dict[str, _Box]) -> list[tuple[str, str]]:
    """Legend entries for the signs and the differences between readings that are drawn."""
    kinds = {w.kind for w in wires}
    layers = {_layer_class(w.edge.layer) for w in wires}
    layers |= {_layer_class(b.node.layer) for b in boxes.values()}
    entries = [(kind, text) for kind, text in _LEGEND_SIGNS.items() if kind in kinds]
    if "next" in kinds:
        entries.append(("next", "leads to the next decision"))
    if "layer-model" in layers:
        entries.append(("layer-model", "model only"))
    if "layer-notes" in layers:
        entries.append(("layer-notes", "notes only"))
    return entries


def decision_diagram(  # noqa: PLR0917 (the diagram's parts, in reading order)
    decision: Node,
    options: list[Node],
    forces: list[Node],
    nexts: list[Node],
    edges: list[Edge],
    title: str,
) -> str:
    """A decision, its options, the forces they impact and the decisions they lead to.

    Layered left to right: the decision, then the options, then the forces with the decisions
    to take next below them (in the same column, so an option's arrows to both never pass over
    a box). Each key is drawn once, in the first column it appears in. Edges whose endpoints
    are missing, and loops, are left out. Options and forces are reordered by barycentre
    sweeps to reduce crossings; each column is centred on the tallest.

    Each incoming edge gets its own port on its target's side, one label height apart, and a
    box is tall enough for all of its ports: edge labels sit just before the arrowhead (where
    it is clear which box they belong to) on a white background, and never overlap each other.
    A node or an edge only the model has ("model" layer) is dashed, one only the notes have
    ("notes") dotted, both with a thicker outline; a legend explains signs and layers used.
    """
    boxes = _boxes(
        [
            ("decision", 0, [decision]),
            ("option", 1, options),
            ("force", 2, forces),
            ("next", 2, nexts),
        ]
    )
    members: dict[str, list[str]] = {"decision": [], "option": [], "force": [], "next": []}
    for key, box in boxes.items():
        members[box.role].append(key)
    used = sorted({box.column for box in boxes.values()})  # an empty column takes no room
    rank = {column: i for i, column in enumerate(used)}
    wires = _wires(edges, boxes, rank)

    links = [
        (w.source.node.key, w.target.node.key)
        if w.source.role == "option"
        else (w.target.node.key, w.source.node.key)
        for w in wires
        if {w.source.role, w.target.role} in ({"option", "force"}, {"option", "next"})
    ]
    members["option"], (members["force"], members["next"]) = _order_columns(
        members["option"], [members["force"], members["next"]], links
    )
    _size(boxes, wires)

    stacks: dict[int, list[list[str]]] = {
        0: [members["decision"]],
        1: [members["option"]],
        2: [g for g in (members["force"], members["next"]) if g],
    }
    width = 2 * _MARGIN + len(used) * _NODE_W + (len(used) - 1) * _COLUMN_GAP
    if any(w.in_side == w.out_side == "right" and w.source.column == used[-1] for w in wires):
        width += _COLUMN_GAP  # edges within the last column bulge out to its right
    caption, top = _caption(title, width)
    content_top = top + 26
    tallest = max(_stack_height(boxes, stacks[c]) for c in used)
    body: list[str] = [caption]
    for column in used:
        x = _MARGIN + rank[column] * (_NODE_W + _COLUMN_GAP)
        y = content_top + (tallest - _stack_height(boxes, stacks[column])) / 2
        heading = _HEADINGS[column] if members["force"] or column < 2 else _HEADINGS[3]
        body.append(_tag("text", {"class": "heading", "x": x, "y": top + 12}))
        body.append(_esc(heading) + "</text>")
        for number, group in enumerate(stacks[column]):
            if number:  # the decisions to take next, below the forces
                y += _GROUP_GAP - _ROW_GAP
                body.append(_tag("text", {"class": "heading", "x": x, "y": y - 10}))
                body.append(_esc(_HEADINGS[3]) + "</text>")
            for key in group:
                box = boxes[key]
                box.x, box.y = x, y
                y += box.h + _ROW_GAP
    _attach(wires)

    digest = hashlib.sha256(
        repr((decision, options, forces, nexts, edges, title)).encode("utf-8", "replace")
    ).hexdigest()[:10]
    defs, marker = _markers(wires, f"mkc-{digest}")
    body.append(defs)
    paths: list[str] = []
    labels: list[str] = []
    for wire in wires:
        path, label = _edge_markup(wire, marker[wire.kind])
        paths.append(path)
        if label:
            labels.append(label)
    body += ['<g class="edges">', *paths, '</g><g class="edge-labels">', *labels, "</g>"]
    body.append('<g class="nodes">')
    for role in ("decision", "option", "force", "next"):
        body += [_node_markup(boxes[key]) for key in members[role]]
    body.append("</g>")

    bottom = content_top + tallest + _MARGIN
    legend, legend_h = _legend(_diagram_legend(wires, boxes), width, bottom)
    body.append(legend)
    height = bottom + legend_h + (_MARGIN if legend_h else 0)
    desc = (
        f"{len(members['option'])} options, {len(members['force'])} forces, "
        f"{len(members['next'])} next decisions, {len(wires)} edges."
    )
    return _document(
        "decision-diagram",
        width=width,
        height=height,
        title=title,
        desc=desc,
        css=_DIAGRAM_CSS,
        body=body,
    )


# --- saturation chart --------------------------------------------------------------------------

SATURATION_MAX_BARS = 1000  # beyond this, consecutive sources share a bar
SATURATION_MAX_LABELS = 40
_PLOT_H = 240.0
_XLABEL_FONT = 10.0
_XLABEL_MAX = 140.0
_TICK_FONT = 11.0
_LEGEND_FONT = 11.0
_SLANT = math.cos(math.radians(45))
_SATURATION_LEGEND = (
    ("bar", "new codes in the source (right axis)"),
    ("cumulative", "codes so far (left axis)"),
)


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str  # the cleaned label of the (first) source
    tip: str
    href: str | None
    new: int
    cumulative: int


def _bars(
    points: list[tuple[str, int, int]], href: Callable[[str], str | None] | None
) -> tuple[list[_Bar], int]:
    """One bar per source, or per run of ``size`` consecutive sources past the bar limit."""
    size = max(1, -(-len(points) // SATURATION_MAX_BARS))
    bars: list[_Bar] = []
    for start in range(0, len(points), size):
        run = points[start : start + size]
        first = clean(run[0][0])
        new = sum(p[1] for p in run)
        cumulative = run[-1][2]
        facts = f"{_count(new)} new codes, {_count(cumulative)} codes so far"
        if size == 1:
            tip = f"{_clip(first)}: {facts}"
            link = safe_href(href(run[0][0])) if href else None
        else:
            last = clean(run[-1][0])
            tip = f"{_clip(first, 200)} … {_clip(last, 200)} ({_count(len(run))} sources): {facts}"
            link = None
        bars.append(_Bar(first, tip, link, new, cumulative))
    return bars, size


def _empty(kind: str, title: str, message: str, css: str) -> str:
    """A chart with nothing to draw: its title and a sentence saying so."""
    width = 420.0
    caption, top = _caption(title, width)
    body = [
        caption,
        _tag("text", {"class": "empty", "x": width / 2, "y": top + 40, "text-anchor": "middle"}),
        f"{_esc(message)}</text>",
    ]
    return _document(
        kind, width=width, height=top + 70, title=title, desc=message + ".", css=css, body=body
    )


def _saturation_legend(x: float, y: float) -> str:
    """The two series' samples side by side, starting at ``x``."""
    parts = ['<g class="legend">']
    for classes, text in _SATURATION_LEGEND:
        if classes == "bar":
            sample = _tag(
                "rect", {"class": "bar", "x": x, "y": y - 5, "width": 14, "height": 10}, empty=True
            )
        else:
            sample = _tag("path", {"class": classes, "d": f"M{_n(x)},{_n(y)} h14"}, empty=True)
        parts += [sample, _tag("text", {"x": x + 20, "y": y + 4}), f"{_esc(text)}</text>"]
        x += 20 + text_width(text, _LEGEND_FONT) + 24
    parts.append("</g>")
    return "".join(parts)


def _vertical_title(text: str, x: float, y: float, classes: str, angle: int) -> str:
    return (
        _tag(
            "text",
            {
                "class": classes,
                "x": x,
                "y": y,
                "text-anchor": "middle",
                "transform": f"rotate({angle} {_n(x)} {_n(y)})",
            },
        )
        + f"{_esc(text)}</text>"
    )


def saturation_chart(
    points: list[tuple[str, int, int]],
    title: str,
    href: Callable[[str], str | None] | None = None,
) -> str:
    """New codes per source (bars) and codes so far (a line), sources in review order.

    ``points`` are (source label, codes first seen in it, codes seen so far). The line reads on
    the left axis; the bars have their own axis on the right, because late in a review the new
    codes are a small fraction of the total, and that is exactly where saturation is judged.
    Every source has its bar up to :data:`SATURATION_MAX_BARS`; past that, consecutive sources
    share one (its tooltip names the run), which keeps the picture a bounded size. At most
    about :data:`SATURATION_MAX_LABELS` sources are named under the axis, slanted when they
    would not fit side by side; ``href(label)`` links a source's bar.
    """
    bars, size = _bars(points, href)
    n = len(bars)
    if not n:
        return _empty("saturation-chart", title, "no sources", _SATURATION_CSS)

    left_ticks = nice_ticks(max(0, *(b.cumulative for b in bars)))
    right_ticks = nice_ticks(max(0, *(b.new for b in bars)))
    # bars as wide as 48px for a few sources, down to contiguous 1.2px ones for a thousand
    slot = max(240.0, min(48.0 * n, 960.0), 1.2 * n) / n
    plot_w = slot * n

    step = -(-n // SATURATION_MAX_LABELS)
    named = [(i, *one_line(bars[i].label, _XLABEL_MAX, _XLABEL_FONT)) for i in range(0, n, step)]
    widths = [text_width(text, _XLABEL_FONT) for _, text, _ in named]
    slanted = any(w > slot * step - 6 for w in widths)

    # margins: tick labels, axis titles, and whatever the first and last names reach out to
    left_tick_w = max(text_width(_count(t), _TICK_FONT) for t in left_ticks)
    right_tick_w = max(text_width(_count(t), _TICK_FONT) for t in right_ticks)
    left = _MARGIN + 18 + left_tick_w + 8
    right_margin = _MARGIN + 18 + right_tick_w + 8
    for (i, _, _), w in zip(named, widths, strict=True):
        centre = (i + 0.5) * slot
        reach = w * _SLANT if slanted else w / 2
        left = max(left, reach - centre + _MARGIN)
        if not slanted:
            right_margin = max(right_margin, centre + reach - plot_w + _MARGIN)
    plot_right = left + plot_w

    legend_w = sum(44 + text_width(text, _LEGEND_FONT) for _, text in _SATURATION_LEGEND) - 24
    width = max(plot_right + right_margin, left + legend_w + _MARGIN)
    caption, top = _caption(title, width)
    legend_y = top + 6
    legend = _saturation_legend(left, legend_y)
    plot_top = legend_y + 24
    plot_bottom = plot_top + _PLOT_H
    names_h = max(widths) * _SLANT + 14 if slanted else 16.0
    height = plot_bottom + 8 + names_h + 22 + _MARGIN

    def y_left(value: int) -> float:
        return plot_bottom - max(value, 0) / left_ticks[-1] * _PLOT_H

    def y_right(value: int) -> float:
        return plot_bottom - max(value, 0) / right_ticks[-1] * _PLOT_H

    body = [caption, legend, '<g class="axis left">']
    for tick in left_ticks:
        y = y_left(tick)
        grid: _Attrs = {"class": "grid", "x1": left, "x2": plot_right, "y1": y, "y2": y}
        body.append(_tag("line", grid, empty=True))
        body.append(
            _tag("text", {"class": "tick", "x": left - 6, "y": y + 4, "text-anchor": "end"})
        )
        body.append(_count(tick) + "</text>")
    body.append('</g><g class="axis right">')
    for tick in right_ticks:
        y = y_right(tick)
        body.append(
            _tag("line", {"x1": plot_right, "x2": plot_right + 4, "y1": y, "y2": y}, empty=True)
        )
        body.append(_tag("text", {"class": "tick", "x": plot_right + 7, "y": y + 4}))
        body.append(_count(tick) + "</text>")
    body.append("</g>")

    bar_w = slot * 0.72 if slot >= 4 else slot  # narrow bars touch: a gap would be a blur
    body.append('<g class="bars">')
    line_points: list[str] = []
    for i, bar in enumerate(bars):
        centre = left + (i + 0.5) * slot
        y = y_right(bar.new)
        geometry: _Attrs = {
            "x": centre - bar_w / 2,
            "y": y,
            "width": bar_w,
            "height": plot_bottom - y,
        }
        rect = _tag("rect", {"class": "bar", **geometry}) + f"<title>{_esc(bar.tip)}</title></rect>"
        body.append(f"{_tag('a', {'href': bar.href})}{rect}</a>" if bar.href else rect)
        line_points.append(f"{_n(centre)},{_n(y_left(bar.cumulative))}")
    body.append("</g>")
    body.append(
        _tag("polyline", {"class": "cumulative", "points": " ".join(line_points)}, empty=True)
    )
    last_x, last_y = line_points[-1].split(",")
    body.append(
        _tag("circle", {"class": "total", "cx": last_x, "cy": last_y, "r": 3})
        + f"<title>{_count(bars[-1].cumulative)} codes after {_count(len(points))} sources"
        + "</title></circle>"
    )
    for x1, y1, x2, y2 in (
        (left, plot_bottom, plot_right, plot_bottom),
        (left, plot_top, left, plot_bottom),
        (plot_right, plot_top, plot_right, plot_bottom),
    ):
        body.append(
            _tag("line", {"class": "axis", "x1": x1, "y1": y1, "x2": x2, "y2": y2}, empty=True)
        )

    body.append('<g class="xlabels">')
    for i, text, cut in named:
        x, y = left + (i + 0.5) * slot, plot_bottom + 14
        attrs: _Attrs = {"class": "xlabel", "x": x, "y": y}
        if slanted:
            attrs |= {"text-anchor": "end", "transform": f"rotate(-45 {_n(x)} {_n(y)})"}
        else:
            attrs["text-anchor"] = "middle"
        tip = f"<title>{_esc(_clip(bars[i].label))}</title>" if cut else ""
        body.append(_tag("text", attrs) + tip + _esc(text) + "</text>")
    body.append("</g>")

    middle = (plot_top + plot_bottom) / 2
    per_bar = f", {_count(size)} per bar" if size > 1 else ""
    body += [
        _vertical_title("codes so far", left - left_tick_w - 22, middle, "axis-title left", -90),
        _vertical_title(
            "new codes", plot_right + right_tick_w + 22, middle, "axis-title right", 90
        ),
        _tag(
            "text",
            {
                "class": "axis-title",
                "x": left + plot_w / 2,
                "y": height - _MARGIN,
                "text-anchor": "middle",
            },
        ),
        f"sources in review order{per_bar}</text>",
    ]
    desc = (
        f"{_count(len(points))} sources, {_count(bars[-1].cumulative)} codes after the last; "
        f"at most {_count(max(b.new for b in bars))} new codes in one bar."
    )
    return _document(
        "saturation-chart",
        width=width,
        height=height,
        title=title,
        desc=desc,
        css=_SATURATION_CSS,
        body=body,
    )


# --- bar chart ---------------------------------------------------------------------------------

_ROW_H = 20.0
_BAR_H = 14.0
_LABEL_MAX = 280.0
_BAR_PLOT_W = 480.0


def bar_chart(items: list[tuple[str, int, str | None]], title: str, unit: str) -> str:
    """Horizontal bars in the given order, each value printed at the end of its bar.

    ``items`` are (label, value, href); ``unit`` names what is counted ("sources"). The label
    column is as wide as the widest label up to a limit (longer labels are cut, with a
    tooltip), one axis at the top with round ticks and grid lines across all rows.
    """
    unit_text = clean(unit)
    labels = [one_line(clean(label), _LABEL_MAX, 12.0) for label, _, _ in items]
    if not items:
        return _empty("bar-chart", title, "no data", _BAR_CSS)

    ticks = nice_ticks(max(0, *(value for _, value, _ in items)))
    label_w = max(text_width(text, 12.0) for text, _ in labels)
    value_w = max(text_width(_count(value), 11.0) for _, value, _ in items)
    plot_left = _MARGIN + label_w + 10
    width = plot_left + _BAR_PLOT_W + value_w + 8 + _MARGIN
    caption, top = _caption(title, width)
    axis_y = top + (30 if unit_text else 14)  # the unit names the axis, above its ticks
    rows_top = axis_y + 10
    rows_bottom = rows_top + len(items) * _ROW_H
    height = rows_bottom + _MARGIN

    def x_of(value: int) -> float:
        return plot_left + max(value, 0) / ticks[-1] * _BAR_PLOT_W

    body = [caption, '<g class="axis">']
    for tick in ticks:
        x = x_of(tick)
        body.append(
            _tag(
                "line",
                {"class": "grid", "x1": x, "x2": x, "y1": rows_top, "y2": rows_bottom},
                empty=True,
            )
        )
        body.append(_tag("text", {"class": "tick", "x": x, "y": axis_y, "text-anchor": "middle"}))
        body.append(_count(tick) + "</text>")
    if unit_text:
        shown_unit, _ = one_line(unit_text, _BAR_PLOT_W, _TICK_FONT)
        body.append(_tag("text", {"class": "axis-title", "x": plot_left, "y": top + 12}))
        body.append(_esc(shown_unit) + "</text>")
    body.append("</g>")

    body.append('<g class="rows">')
    for number, ((label, value, href), (shown, _)) in enumerate(zip(items, labels, strict=True)):
        y = rows_top + number * _ROW_H
        full = _clip(clean(label))
        tip = f"{full}: {_count(value)} {unit_text}".rstrip()
        end = x_of(value)
        row = "".join(
            [
                '<g class="row">',
                f"<title>{_esc(tip)}</title>",
                _tag(
                    "text",
                    {"class": "label", "x": plot_left - 10, "y": y + 14, "text-anchor": "end"},
                ),
                _esc(shown) + "</text>",
                _tag(
                    "rect",
                    {
                        "class": "bar",
                        "x": plot_left,
                        "y": y + (_ROW_H - _BAR_H) / 2,
                        "width": end - plot_left,
                        "height": _BAR_H,
                    },
                    empty=True,
                ),
                _tag("text", {"class": "value", "x": end + 4, "y": y + 14}),
                _count(value) + "</text></g>",
            ]
        )
        link = safe_href(href)
        body.append(f"{_tag('a', {'href': link})}{row}</a>" if link else row)
    body.append("</g>")
    body.append(
        _tag(
            "line",
            {"class": "axis", "x1": plot_left, "x2": plot_left, "y1": rows_top, "y2": rows_bottom},
            empty=True,
        )
    )
    desc = f"{_count(len(items))} bars, {unit_text or 'values'} from 0 to {_count(ticks[-1])}."
    return _document(
        "bar-chart", width=width, height=height, title=title, desc=desc, css=_BAR_CSS, body=body
    )
