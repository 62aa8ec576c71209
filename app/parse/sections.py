"""Markdown to a flat list of located items: headings, quotes, markers, text lines, fences.

CommonMark decides what is a blockquote paragraph, a fence or a heading (markdown-it-py, block
rules only: inline parsing is not needed and is most of the cost). That settles lazy quote
continuation, ``>`` without a space, 4-backtick fences and unclosed fences running to EOF
without hand-written rules. What CommonMark cannot know, this module adds: the study's section
markers (in every spelling seen, also inside a blockquote) and the ``added:`` lines before
trace fences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark").disable(["inline", "text_join"])

AXIAL_MARKER = re.compile(
    r"^\*\*\s*axial\s+coding(?P<trace>\s+trace)?\s*:?\s*\*\*\s*:?\s*(?P<rest>.*)$", re.IGNORECASE
)
OPEN_MARKER = re.compile(
    r"^\*\*\s*open\s+coding(?P<trace>\s+trace)?\s*:?\s*\*\*\s*:?\s*(?P<rest>.*)$", re.IGNORECASE
)
ADD_MARKER = re.compile(
    r"^(?:added|add(?:\s+codes?\s+to\s+(?P<target>[A-Za-z_]*\s*\d*))?)\s*:?\s*$", re.IGNORECASE
)
IMAGE = re.compile(r"^!\[")


@dataclass(frozen=True, slots=True)
class Item:
    """One located piece of a note. ``line``/``end_line`` are 1-based and inclusive."""

    kind: str  # heading | quote | text | fence | image | axial | open | add | rule
    line: int
    end_line: int
    text: str = ""
    level: int = 0  # heading level
    info: str = ""  # fence info string
    closed: bool = True  # fence: False when it runs to the end of the file
    in_quote: bool = False  # marker written inside a blockquote
    variant: bool = False  # marker spelled other than the usual ``**… CODING TRACE:**``
    target: str | None = None  # add marker: the ``sN`` it names, "" when left unfilled


def scan(text: str) -> list[Item]:
    """Split a note into items in document order."""
    tokens = _MD.parse(text)
    lines = text.split("\n")
    items: list[Item] = []
    depth = 0
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        kind = tok.type
        if kind == "blockquote_open":
            depth += 1
        elif kind == "blockquote_close":
            depth -= 1
        elif kind == "heading_open":
            content = tokens[i + 1].content.strip()
            start, end = _span(tok)
            if depth:
                items.append(Item("quote", start, end, content))
            else:
                items.append(Item("heading", start, end, content, level=int(tok.tag[1:])))
            i += 2
        elif kind == "paragraph_open":
            items.extend(_paragraph(tok, tokens[i + 1].content, depth > 0))
            i += 2
        elif kind in ("fence", "code_block"):
            items.append(_fence(tok, lines))
        elif kind == "html_block":
            start, _ = _span(tok)
            items.extend(_lines_as_text(tok.content, start))
        elif kind == "hr":
            start, end = _span(tok)
            items.append(Item("rule", start, end))
        i += 1
    return items


def _span(tok: Token) -> tuple[int, int]:
    assert tok.map is not None
    return tok.map[0] + 1, tok.map[1]


def _paragraph(tok: Token, content: str, in_quote: bool) -> list[Item]:
    start, end = _span(tok)
    raw_lines = content.split("\n")
    if in_quote:
        first = raw_lines[0].strip()
        marker = _marker(first, start, in_quote=True)
        if marker is None:
            text = "\n".join(line.strip() for line in raw_lines)
            return [Item("quote", start, end, text)]
        rest = _lines_as_text("\n".join(raw_lines[1:]), start + 1)
        return [marker, *rest]
    out: list[Item] = []
    for offset, raw in enumerate(raw_lines):
        line = raw.strip()
        if not line:
            continue
        number = start + offset
        marker = _marker(line, number, in_quote=False)
        if marker is not None:
            out.append(marker)
        elif IMAGE.match(line):
            out.append(Item("image", number, number, line))
        else:
            out.append(Item("text", number, number, line))
    return out


def _marker(line: str, number: int, *, in_quote: bool) -> Item | None:
    for kind, pattern in (("axial", AXIAL_MARKER), ("open", OPEN_MARKER)):
        m = pattern.match(line)
        if m:
            return Item(
                kind, number, number, line, in_quote=in_quote, variant=m.group("trace") is None
            )
    m = ADD_MARKER.match(line)
    if m:
        target = m.group("target")
        return Item(
            "add",
            number,
            number,
            line,
            in_quote=in_quote,
            target=None if target is None else re.sub(r"\s+", "", target),
        )
    return None


def _lines_as_text(content: str, start: int) -> list[Item]:
    out = []
    for offset, raw in enumerate(content.split("\n")):
        line = raw.strip()
        if line:
            out.append(Item("text", start + offset, start + offset, line))
    return out


def _fence(tok: Token, lines: list[str]) -> Item:
    start, end = _span(tok)
    if tok.type == "code_block":
        return Item("fence", start, end, tok.content, info="", closed=True)
    closing = lines[end - 1].strip() if end - 1 < len(lines) else ""
    fence_char = tok.markup[:1]
    closed = (
        end > start
        and closing.startswith(tok.markup)
        and closing.strip(fence_char) == ""
        and len(closing) >= len(tok.markup)
    )
    return Item("fence", start, end, tok.content, info=tok.info.strip(), closed=closed)
