"""What a SPARQL request asks for, read from its tokens before anything is evaluated.

Oxigraph evaluates ``SERVICE`` by fetching the remote endpoint and ``LOAD`` by fetching a
document; this service must never fetch anything. The query is therefore tokenised by the
SPARQL 1.1 grammar's terminals (IRIs, prefixed names, variables, the four string forms,
comments, numbers, punctuation) so that a keyword is only a keyword where the grammar says so:
``SERVICE`` in a comment, a string, an IRI or a prefixed name (``ex:service``) is not one.
From the tokens this module learns the query form, whether it is an update, whether it calls
``SERVICE`` (or ``NOW()``, ``RAND()``, ``UUID()``, ``STRUUID()``, whose answers must not be
kept), and which graphs ``FROM`` and ``FROM NAMED`` name (prefixed names and relative
IRIs resolved as the query's prologue says). Syntax is checked afterwards by Oxigraph's parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin

from app.api.text_memo import by_text

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<long1>'''(?:[^'\\]|\\.|'(?!''))*''')
  | (?P<long2>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\")
  | (?P<str1>'(?:[^'\\\n\r]|\\.)*')
  | (?P<str2>"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]+)
  | (?P<bnode>_:[\w.\-\u00b7]+)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<pname>(?:[A-Za-z\u00c0-\uffff][\w.\-\u00b7]*)?:(?:[\w\-.:%\\\u00b7]|%[0-9A-Fa-f]{2})*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<punct>\^\^|\|\||&&|!=|<=|>=|[{}()\[\].,;*/+\-=<>!|^?])
    """,
    re.VERBOSE,
)

QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
VOLATILE_FUNCTIONS = {"NOW", "RAND", "UUID", "STRUUID"}
UPDATE_KEYWORDS = {
    "INSERT",
    "DELETE",
    "LOAD",
    "CLEAR",
    "CREATE",
    "DROP",
    "COPY",
    "MOVE",
    "ADD",
    "WITH",
}


class QueryRefused(ValueError):
    """A request this read-only service will not evaluate; ``code`` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class QueryShape:
    form: str  # SELECT | ASK | CONSTRUCT | DESCRIBE
    from_graphs: tuple[str, ...] = ()
    from_named: tuple[str, ...] = ()
    volatile: bool = False  # calls a function whose value changes from one evaluation to the next
    empty: bool = False  # ``ASK {}`` (or ``ASK WHERE {}``), no more: constant work, always true


class Token(NamedTuple):  # a tuple: made for every token of every query, so made cheaply
    kind: str
    text: str
    start: int  # offset in the query text, so a rewrite can splice at the token


@dataclass(slots=True)
class _Prologue:
    base: str | None = None
    prefixes: dict[str, str] = field(default_factory=dict)


def tokens(text: str) -> list[Token]:
    """The query's tokens, whitespace and comments dropped; raises on what cannot be a token."""
    out: list[Token] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:  # finditer skips what matches nothing: that is the bad character
            break
        kind = m.lastgroup or ""
        if kind not in ("ws", "comment"):
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    if pos != len(text):
        raise QueryRefused("syntax", f"unexpected character {text[pos]!r} at offset {pos}")
    return out


@by_text()
def inspect(text: str) -> QueryShape:
    """Learn the query's form and dataset; refuse updates, SERVICE and unknown FROM graphs later.

    Raises :class:`QueryRefused` for an update, for ``SERVICE`` anywhere, or when the text is
    not a query at all.
    """
    toks = tokens(text)
    words = [t.text.upper() for t in toks if t.kind == "word"]
    if "SERVICE" in words:
        raise QueryRefused(
            "service",
            "SERVICE is not allowed: this endpoint answers from its own graphs and fetches nothing",
        )
    prologue = _Prologue()
    i = 0
    while i < len(toks) and toks[i].kind == "word" and toks[i].text.upper() in ("BASE", "PREFIX"):
        if toks[i].text.upper() == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            prologue.base = _resolve(toks[i + 1].text[1:-1], prologue.base)
            i += 2
        elif (
            toks[i].text.upper() == "PREFIX"
            and i + 2 < len(toks)
            and toks[i + 1].kind == "pname"
            and toks[i + 2].kind == "iri"
        ):
            name = toks[i + 1].text.split(":", 1)[0]
            prologue.prefixes[name] = _resolve(toks[i + 2].text[1:-1], prologue.base)
            i += 3
        else:
            raise QueryRefused("syntax", "malformed BASE or PREFIX declaration")
    first = toks[i].text.upper() if i < len(toks) and toks[i].kind == "word" else ""
    if first in UPDATE_KEYWORDS or (first == "" and set(words) & UPDATE_KEYWORDS):
        raise QueryRefused("update", "this is a read-only service: SPARQL updates are not accepted")
    if first not in QUERY_FORMS:
        raise QueryRefused("syntax", "expected SELECT, ASK, CONSTRUCT or DESCRIBE")
    from_graphs: list[str] = []
    from_named: list[str] = []
    j = i
    while j < len(toks):
        if toks[j].kind == "word" and toks[j].text.upper() == "FROM":
            named = j + 1 < len(toks) and toks[j + 1].text.upper() == "NAMED"
            target = toks[j + 2] if named else (toks[j + 1] if j + 1 < len(toks) else None)
            if target is None or target.kind not in ("iri", "pname"):
                raise QueryRefused("syntax", "FROM must name a graph IRI")
            iri = _iri_of(target, prologue)
            (from_named if named else from_graphs).append(iri)
            j += 3 if named else 2
            continue
        j += 1
    volatile = not VOLATILE_FUNCTIONS.isdisjoint(words)
    # not "no pattern" in general: expressions alone (nested REPLACE, say) can grow without bound
    rest = [t.text.upper() for t in toks[i:]]
    empty = rest in (["ASK", "{", "}"], ["ASK", "WHERE", "{", "}"])
    return QueryShape(first, tuple(from_graphs), tuple(from_named), volatile, empty)


def _iri_of(token: Token, prologue: _Prologue) -> str:
    if token.kind == "iri":
        return _resolve(token.text[1:-1], prologue.base)
    prefix, local = token.text.split(":", 1)
    if prefix not in prologue.prefixes:
        raise QueryRefused("syntax", f"prefix {prefix}: is not declared")
    return prologue.prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)


def _resolve(iri: str, base: str | None) -> str:
    return urljoin(base, iri) if base else iri
