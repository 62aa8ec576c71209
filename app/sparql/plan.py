"""OPTIONAL groups of several triple patterns, handed to Oxigraph so it evaluates them per row.

Oxigraph plans ``P OPTIONAL { A . B }`` as a hash left join: it evaluates ``{ A . B }`` on its
own, without the bindings ``P`` gives, and then matches the two. Its planner evaluates an
OPTIONAL row by row from ``P``'s bindings only when the optional part is a single pattern.
For "the forces of one practice, with the quotes that evidence them" the hash join reads the
evidence of every force impact in the graph to keep that of a few: 87 ms instead of 0.7 ms at
×10, and growing with the corpus instead of with the answer.

Written as ``P LATERAL { OPTIONAL { A . B } }`` (Oxigraph's LATERAL, SEP-0006) the group is
evaluated once per solution of ``P``, from its bindings. The answer is the same exactly when
the optional group is a basic graph pattern, triple patterns and property paths and nothing
else: for a solution μ of ``P``, the solutions of the group compatible with μ are those of
the group with μ's values put in, with the same multiplicities, and where there are none μ
is kept alone, as the left join keeps it. A FILTER, BIND, VALUES, nested group or sub-query
inside the OPTIONAL would see or scope variables differently, so such groups stay as written,
and so do queries with a negated property set (``!:p``) anywhere, in the group or outside it:
Oxigraph counts its matches once per triple when an end is free but once in all when both ends
are bound, so the number of rows could change with the order of evaluation, which the per-row
form changes for the patterns around the group too.

The rewrite is made only where it pays: the group holds more than one pattern, and one of its
variables appears in a triple pattern written before it, at the top of the same group, so
every row the group runs from binds it. Only the text given to Oxigraph changes; if the
rewritten text does not parse, the query is evaluated as written and reports its own error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.sparql.check import QueryRefused, Token, tokens
from app.sparql.text_memo import by_text

# what a basic graph pattern is made of, besides terms: triple and list punctuation, paths
# (without "!": see above)
_PATTERN_PUNCT = frozenset({".", ";", ",", "[", "]", "(", ")", "/", "|", "^", "*", "+", "?", "^^"})
_PATTERN_WORDS = frozenset({"a", "true", "false"})  # case-sensitive in the grammar
_TERMS = frozenset({"iri", "pname", "var", "bnode", "lang", "number"})
_STRINGS = frozenset({"str1", "str2", "long1", "long2"})
_OPTIONAL = re.compile("optional", re.IGNORECASE)  # most queries have none: no need to tokenise
_SEVERAL = frozenset({";", ",", "["})  # a second pattern in the group, besides an inner "."


@dataclass(slots=True)
class _Group:
    """What is known at one brace level while reading forward."""

    bound: set[str] = field(default_factory=set)  # variables of triple patterns read so far
    parens: int = 0  # inside an expression or a list: its variables bind nothing for sure


@by_text()
def per_row_optionals(text: str) -> str | None:
    """``text`` with each OPTIONAL worth evaluating per row wrapped in ``LATERAL { … }``.

    None when no group qualifies (or the text does not tokenise), so the caller keeps its text.
    """
    if _OPTIONAL.search(text) is None:
        return None
    try:
        toks = tokens(text)
    except QueryRefused:
        return None
    if any(_negated_set(toks, k) for k in range(len(toks) - 1)):
        return None
    closer = _closers(toks)
    spans: list[tuple[int, int]] = []
    groups = [_Group()]
    i = 0
    while i < len(toks):
        tok, group = toks[i], groups[-1]
        if tok.kind == "punct":
            if tok.text == "{":
                groups.append(_Group())
            elif tok.text == "}" and len(groups) > 1:
                groups.pop()
            elif tok.text == "(":
                group.parens += 1
            elif tok.text == ")" and group.parens:
                group.parens -= 1
        elif tok.kind == "word":
            keyword = tok.text.upper()
            if keyword == "VALUES":  # its variables may be UNDEF; its block is data, not a group
                i = _block_end(toks, i, closer)
                continue
            if keyword == "OPTIONAL" and group.parens == 0:
                end = closer.get(i + 1)
                if end is not None and _worth_per_row(toks, i + 2, end, group.bound):
                    spans.append((tok.start, toks[end].start + 1))
        elif tok.kind == "var" and group.parens == 0:
            group.bound.add(tok.text[1:])
        i += 1
    if not spans:
        return None
    out: list[str] = []
    at = 0
    for start, end in spans:
        out += [text[at:start], "LATERAL { ", text[start:end], " }"]
        at = end
    out.append(text[at:])
    return "".join(out)


def _negated_set(toks: Sequence[Token], k: int) -> bool:
    """``!`` before what a path can negate (an IRI, ``a``, ``^``, a parenthesised set)."""
    if toks[k].kind != "punct" or toks[k].text != "!":
        return False
    after = toks[k + 1]
    return after.kind in ("iri", "pname") or after.text in ("a", "^", "(")


def _closers(toks: Sequence[Token]) -> dict[int, int]:
    """For the index of each ``{``, the index of the ``}`` closing it, found in one pass.

    One pass, not a scan per group: a query of thousands of nested groups stays linear.
    """
    found: dict[int, int] = {}
    opened: list[int] = []
    for i, tok in enumerate(toks):
        if tok.kind == "punct":
            if tok.text == "{":
                opened.append(i)
            elif tok.text == "}" and opened:
                found[opened.pop()] = i
    return found


def _block_end(toks: Sequence[Token], i: int, closer: dict[int, int]) -> int:
    """The index after the data block of the VALUES clause at ``i`` (or the end, if malformed)."""
    j = i + 1
    while j < len(toks) and toks[j].text != "{":
        j += 1
    end = closer.get(j)
    return len(toks) if end is None else end + 1


def _worth_per_row(toks: Sequence[Token], start: int, end: int, bound: set[str]) -> bool:
    """A basic graph pattern of several patterns, sharing a variable with the rows it runs from.

    ``toks[start:end]`` is the group's inside, read in place: the first token that cannot be
    part of a basic graph pattern (an inner ``{`` at the latest) ends the reading.
    """
    several = shared = False
    for k in range(start, end):
        tok = toks[k]
        if tok.kind == "punct":
            if tok.text not in _PATTERN_PUNCT:
                return False
            several = several or tok.text in _SEVERAL or (tok.text == "." and k < end - 1)
        elif tok.kind == "word":
            if tok.text not in _PATTERN_WORDS:
                return False
        elif tok.kind == "var":
            shared = shared or tok.text[1:] in bound
        elif tok.kind not in _TERMS and tok.kind not in _STRINGS:
            return False
    return several and shared
