"""What a SPARQL request asks for, read from its tokens before anything is evaluated.

Oxigraph evaluates ``SERVICE`` by fetching the remote endpoint; this service must never fetch
anything. The query is therefore read here by the terminals of the SPARQL 1.1 grammar
(section 19.8) as they are written there, so that a keyword is only a keyword where the
grammar says so: ``SERVICE`` in a comment, a string, an IRI or a prefixed name
(``ex:service``) is not one, and ``ex:a\\#`` is one prefixed name whose ``\\#`` is an escape,
not the start of a comment.

A reading of the text is not enough on its own: Oxigraph's parser reads by context where the
grammar's tokens are ambiguous (after an operand inside an expression, ``<`` is "less than" to
it, not the start of an IRI), so the text it evaluates would hide from any single reading what
it sees. The engine is therefore never given the client's text. It is given the text of this
module's own reading (:attr:`QueryShape.text`): the tokens written again one after another,
comments dropped, strings written in one escaped form and IRIs with every character besides
letters, digits and ``:/._~%-`` written as ``\\u`` escapes (which Oxigraph reads back to the
same IRI). In that text no IRI holds a quote, a ``#``, a ``?`` or a bracket, so whichever way
the engine reads a ``<`` it finds no string, comment or group this module did not see, and a
``SERVICE`` it could evaluate is a ``SERVICE`` here. Where Oxigraph is more lenient than the
grammar the reading follows it: its keywords need no word boundary (``SERVICESILENT`` is
``SERVICE SILENT`` to it), so any word or prefix holding ``SERVICE`` is refused. A text this
module cannot read is refused, never passed on. This is the first of two independent guards;
the second keeps the query workers off the network whatever they evaluate
(:mod:`app.sparql.isolation`).

From the tokens the module also learns the query form, whether it is an update, whether it
calls ``NOW()``, ``RAND()``, ``UUID()`` or ``STRUUID()`` (whose answers must not be kept),
which graphs ``FROM`` and ``FROM NAMED`` name (prefixed names and relative IRIs resolved as
the query's prologue says), and how deeply its brackets nest: the engine's parser recurses
once per level and a few thousand levels overflow its stack, so a query nested deeper than
:data:`MAX_DEPTH` is refused here. Syntax is checked by Oxigraph's parser, whose positions are
given back in the client's text (:func:`locate`).

Reading is linear in the length of the text: every alternative of the token expression either
fails on its first characters or keeps what it scanned (possessive repetition, no
backtracking into a run), so no text makes a check slower than its length allows.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin

from app.sparql.text_memo import by_text

MAX_DEPTH = 128
"""Brackets (``(``, ``{``, ``[``) a query may nest; real queries nest a handful."""

# The grammar's character classes (SPARQL 1.1, 19.8), as regular-expression class bodies.
_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_U = _BASE + "_"
_CHARS = _U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_ESCAPES = r"\\(?:[tbnrf\\\"']|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
# a run of name characters with dots inside but not at its end, read without backtracking
_DOTS_INSIDE = rf"\.++(?=[{_CHARS}])"
_LOCAL = (
    rf"(?:[{_U}:0-9]|{_PLX})"
    rf"(?:[{_CHARS}:]++|{_PLX}|\.++(?=[{_CHARS}:]|{_PLX}))*+"
)

_TOKEN = re.compile(
    rf"""
    (?P<ws>[\ \t\r\n]++)
  | (?P<comment>\#[^\r\n]*+)
  | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]++|\\u[0-9A-Fa-f]{{4}}|\\U[0-9A-Fa-f]{{8}})*+>)
  | (?P<long1>'''(?:(?:''|')?+(?:[^'\\]|{_ESCAPES}))*+''')
  | (?P<long2>\"\"\"(?:(?:\"\"|\")?+(?:[^"\\]|{_ESCAPES}))*+\"\"\")
  | (?P<str1>'(?:[^'\\\n\r]++|{_ESCAPES})*+')
  | (?P<str2>"(?:[^"\\\n\r]++|{_ESCAPES})*+")
  | (?P<var>[?$][{_U}0-9][{_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*+)
  | (?P<bnode>_:[{_U}0-9](?:[{_CHARS}]++|{_DOTS_INSIDE})*+)
  | (?P<lang>@[a-zA-Z]++(?:-[a-zA-Z0-9]++)*+)
  | (?P<run>[{_BASE}](?:[{_CHARS}]++|{_DOTS_INSIDE})*+)(?P<local>:(?:{_LOCAL})?+)?+
  | (?P<pname>:(?:{_LOCAL})?+)
  | (?P<number>[+-]?(?:[0-9]++\.[0-9]*+[eE][+-]?[0-9]++|[0-9]*+\.[0-9]++(?:[eE][+-]?[0-9]++)?+
      |[0-9]++(?:[eE][+-]?[0-9]++)?+))
  | (?P<punct>\^\^|\|\||&&|!=|<=|>=|[{{}}()\[\].,;*/+\-=<>!|^?])
    """,
    re.VERBOSE,
)
# A run of name characters that is not followed by ":" is a keyword (or several, glued by
# dots or hyphens, as ``true.false`` would be): it is split into the grammar's tokens.
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*+")
_IN_RUN = re.compile(r"(?P<word>[A-Za-z][A-Za-z0-9_]*+)|(?P<number>[0-9]++)|(?P<punct>[.\-])")
_OPENERS = frozenset("({[")
_CLOSERS = frozenset(")}]")
_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_STRING_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", "\\": "\\", '"': '"', "'": "'"}
_LOCAL_ESCAPE = re.compile(r"\\(.)")
# what the engine's text may hold unescaped inside an IRI, and inside a string
_IRI_UNSAFE = re.compile(r"[^A-Za-z0-9:/._~%\-]")
_STRING_UNSAFE = re.compile(r"[^ !#-\[\]-~\u00a0-\ud7ff\ue000-\ufffd]")
_POSITION = re.compile(r"\b(\d+):(\d+)\b")

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
    text: str  # what the engine evaluates: this reading of the query, written again
    from_graphs: tuple[str, ...] = ()
    from_named: tuple[str, ...] = ()
    volatile: bool = False  # calls a function whose value changes from one evaluation to the next
    empty: bool = False  # ``ASK {}`` (or ``ASK WHERE {}``), no more: constant work, always true
    written_at: tuple[int, ...] = ()  # where each token starts in ``text``
    read_at: tuple[int, ...] = ()  # and where it started in the client's text


class Token(NamedTuple):  # a tuple: made for every token of every query, so made cheaply
    kind: str
    text: str
    start: int  # offset in the query text, so a rewrite can splice at the token


@dataclass(slots=True)
class _Prologue:
    base: str | None = None
    prefixes: dict[str, str] = field(default_factory=dict)


def tokens(text: str) -> list[Token]:
    """The query's tokens, whitespace and comments dropped; raises on what cannot be a token.

    Raises :class:`QueryRefused` (``too-deep``) when brackets nest deeper than
    :data:`MAX_DEPTH`, so that no caller hands such a text on.
    """
    out: list[Token] = []
    append = out.append
    depth = 0
    pos = 0
    end = len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise QueryRefused("syntax", f"unexpected character {text[pos]!r} at offset {pos}")
        kind = m.lastgroup or ""
        if kind == "local":  # a name run followed by ":": a prefixed name
            append(Token("pname", m.group(), pos))
        elif kind == "run":
            _split_run(m.group(), pos, append)
        elif kind == "punct":
            tok = m.group()
            if tok in _OPENERS:
                depth += 1
                if depth > MAX_DEPTH:
                    raise QueryRefused(
                        "too-deep",
                        f"the query nests brackets more than {MAX_DEPTH} deep "
                        f"(at offset {pos}); write it flatter",
                    )
            elif tok in _CLOSERS and depth:
                depth -= 1
            append(Token(kind, tok, pos))
        elif kind not in ("ws", "comment"):
            append(Token(kind, m.group(), pos))
        pos = m.end()
    return out


def _split_run(run: str, start: int, add: Callable[[Token], None]) -> None:
    """A run of name characters that is not a prefixed name: one word, or words and dots."""
    if _WORD.fullmatch(run):
        add(Token("word", run, start))
        return
    pos = 0
    while pos < len(run):
        m = _IN_RUN.match(run, pos)
        if m is None:
            raise QueryRefused(
                "syntax", f"unexpected character {run[pos]!r} at offset {start + pos}"
            )
        add(Token(m.lastgroup or "", m.group(), start + pos))
        pos = m.end()


@by_text()
def inspect(text: str) -> QueryShape:
    """Learn the query's form and dataset; refuse updates, SERVICE and unknown FROM graphs later.

    Raises :class:`QueryRefused` for an update, for ``SERVICE`` anywhere, for nesting deeper
    than :data:`MAX_DEPTH`, or when the text is not a query at all.
    """
    toks = tokens(text)
    words = [t.text.upper() for t in toks if t.kind == "word"]
    prefixes = [t.text.split(":", 1)[0].upper() for t in toks if t.kind == "pname"]
    if any("SERVICE" in w for w in words) or any("SERVICE" in p for p in prefixes):
        raise QueryRefused(
            "service",
            "SERVICE is not allowed: this endpoint answers from its own graphs and fetches nothing",
        )
    prologue = _Prologue()
    i = 0
    while i < len(toks) and toks[i].kind == "word" and toks[i].text.upper() in ("BASE", "PREFIX"):
        if toks[i].text.upper() == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            prologue.base = _resolve(_iri_text(toks[i + 1].text), prologue.base)
            i += 2
        elif (
            toks[i].text.upper() == "PREFIX"
            and i + 2 < len(toks)
            and toks[i + 1].kind == "pname"
            and toks[i + 2].kind == "iri"
        ):
            name = toks[i + 1].text.split(":", 1)[0]
            prologue.prefixes[name] = _resolve(_iri_text(toks[i + 2].text), prologue.base)
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
            at = j + 2 if named else j + 1
            target = toks[at] if at < len(toks) else None
            if target is None or target.kind not in ("iri", "pname"):
                raise QueryRefused("syntax", "FROM must name a graph IRI")
            iri = _iri_of(target, prologue)
            (from_named if named else from_graphs).append(iri)
            j = at + 1
            continue
        j += 1
    volatile = not VOLATILE_FUNCTIONS.isdisjoint(words)
    # not "no pattern" in general: expressions alone (nested REPLACE, say) can grow without bound
    rest = [t.text.upper() for t in toks[i:]]
    empty = rest in (["ASK", "{", "}"], ["ASK", "WHERE", "{", "}"])
    written, written_at = rewrite(toks)
    return QueryShape(
        first,
        written,
        tuple(from_graphs),
        tuple(from_named),
        volatile,
        empty,
        written_at,
        tuple(t.start for t in toks),
    )


def rewrite(toks: list[Token]) -> tuple[str, tuple[int, ...]]:
    """The tokens written again for the engine, and where each one starts in what is written.

    Comments and layout are dropped: tokens the client wrote apart are written one space
    apart, tokens written together stay together (Oxigraph wants some, ``CONCAT(`` among
    them, written together). A string is written with double quotes and escapes for everything
    but printable characters; an IRI with ``\\u`` escapes for everything but letters, digits
    and ``:/._~%-``. Every other token is written as the client wrote it.
    """
    parts: list[str] = []
    starts: list[int] = []
    at = 0
    after = -1  # where the previous token ended in the client's text
    for tok in toks:
        kind = tok.kind
        if kind == "iri":
            out = "<" + _IRI_UNSAFE.sub(_uchar, _iri_text(tok.text)) + ">"
        elif kind in ("str1", "str2", "long1", "long2"):
            quotes = 3 if kind.startswith("long") else 1
            value = _string_value(tok.text[quotes:-quotes])
            out = '"' + _STRING_UNSAFE.sub(_string_char, value) + '"'
        else:
            out = tok.text
        if parts and tok.start != after:
            parts.append(" ")
            at += 1
        starts.append(at)
        parts.append(out)
        at += len(out)
        after = tok.start + len(tok.text)
    return "".join(parts), tuple(starts)


def _uchar(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def _string_char(m: re.Match[str]) -> str:
    char = m.group()
    return "\\" + char if char in '"\\' else _uchar(m)


def _string_value(body: str) -> str:
    """A string token's value: its escapes read (the lexer only lets valid ones through)."""
    if "\\" not in body:
        return body
    return _STRING_ESCAPE.sub(
        lambda m: (
            chr(int(m.group(1) or m.group(2), 16)) if m.group(3) is None else _ECHAR[m.group(3)]
        ),
        body,
    )


def locate(shape: QueryShape, client_text: str, message: str) -> str:
    """``message`` with the engine's ``line:column`` put back into the client's text.

    The engine reads :attr:`QueryShape.text`, one line; its positions are counted in
    characters there. Each is moved to the token it falls in, and from there to where that
    token was in the text the client sent.
    """

    def back(m: re.Match[str]) -> str:
        line, column = int(m.group(1)), int(m.group(2))
        if line != 1 or not shape.written_at:
            return m.group()
        offset = column - 1
        index = max(0, bisect.bisect_right(shape.written_at, offset) - 1)
        into = offset - shape.written_at[index]
        original = min(shape.read_at[index] + max(0, into), len(client_text))
        before = client_text[:original]
        return f"{before.count(chr(10)) + 1}:{original - (before.rfind(chr(10)) + 1) + 1}"

    return _POSITION.sub(back, message, count=1)


def _iri_text(token: str) -> str:
    """The IRI an IRI token names, its ``\\u`` escapes read as Oxigraph reads them."""
    inner = token[1:-1]
    if "\\" not in inner:
        return inner
    return _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), inner)


def _iri_of(token: Token, prologue: _Prologue) -> str:
    if token.kind == "iri":
        return _resolve(_iri_text(token.text), prologue.base)
    prefix, local = token.text.split(":", 1)
    if prefix not in prologue.prefixes:
        raise QueryRefused("syntax", f"prefix {prefix}: is not declared")
    return prologue.prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)


def _resolve(iri: str, base: str | None) -> str:
    return urljoin(base, iri) if base else iri
