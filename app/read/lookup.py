"""The reads behind the JSON API: lists, search and details, answered from the tables.

The tables (``app.read.tables``) are made once per snapshot; a stored snapshot keeps them in
its folder (``app.read.tables_file``), so a reopened service reads them back (about 1 s at ×100
the corpus) instead of making them again (about 28 s there, from disk).
"""

from __future__ import annotations

import logging
import threading
import weakref
from array import array
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from app import collector
from app.order import natural
from app.read import tables_file
from app.read.tables import (
    MK,
    NO_FACTS,
    WORD,
    CodeKind,
    CodeRow,
    CodeSort,
    Concept,
    DefinitionRow,
    Fact,
    MemoRow,
    QuoteRow,
    Record,
    SourceRow,
    SourceSort,
    Tables,
    Words,
    build,
    code_row,
)
from app.store.seam import GraphReader

log = logging.getLogger("meshkg.api")

# --- the tables ---------------------------------------------------------------------------------

_cache: weakref.WeakKeyDictionary[GraphReader, Tables] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def tables(graph: GraphReader) -> Tables:
    """The graph's tables, made on first use (once, even under concurrent requests)."""
    found = _cache.get(graph)
    if found is None:
        with _lock:
            found = _cache.get(graph)
            if found is None:
                found = _cache[graph] = _made(graph)
    return found


def ready(graph: GraphReader) -> Tables | None:
    """The graph's tables if they are made; never waits (the event loop may ask)."""
    return _cache.get(graph)


def _made(graph: GraphReader) -> Tables:
    """Read from the graph's folder where they were kept, else built (and kept there)."""
    folder = graph.directory
    with collector.paused():
        kept = None if folder is None else tables_file.load(folder, graph.info)
        if kept is not None:
            return kept
        made = build(graph, graph.info)
    if folder is not None:
        try:
            tables_file.save(made, folder, graph.info)
        except (OSError, TypeError) as err:  # a read-only folder; a value JSON cannot hold
            log.warning("the API tables of %s are not kept (%s)", folder, err)
    return made


def concept(t: Tables, scheme: str, notation: str) -> Concept | None:
    """The term of a vocabulary (``SourceTypes``, …) that the notes write as ``notation``."""
    for c in t.concepts.values():
        if c.scheme == MK + scheme and c.notation == notation:
            return c
    return None


# --- lists ----------------------------------------------------------------------------------------

Order = Literal["asc", "desc"]


def sources(
    t: Tables,
    *,
    collection: str | None,
    q: str | None,
    source_type: str | None,
    sort: SourceSort,
    order: Order,
) -> list[SourceRow]:
    """Sources matching the filters (``q``: case-insensitive, in title or id), sorted."""
    needle = q.casefold() if q else None
    found = [
        s
        for s in t.sources_by(sort)
        if (collection is None or s.collection == collection)
        and (source_type is None or s.source_type == source_type)
        and (needle is None or needle in s.id.casefold() or needle in (s.title or "").casefold())
    ]
    if order == "desc":
        found.reverse()
    return found


def codes(
    t: Tables,
    *,
    collection: str | None,
    kind: CodeKind | None,
    q: str | None,
    sort: CodeSort,
    order: Order,
) -> list[CodeRow]:
    """Codes matching the filters (``q``: case-insensitive, in any label or the identifier)."""
    needle = q.casefold() if q else None
    if needle is not None and "\x00" in needle:  # the separator: no text holds it
        return []
    found = [
        c
        for c, terms in t.codes_by(sort)
        if (collection is None or c.collection == collection)
        and (kind is None or c.kind == kind)
        and (needle is None or needle in terms)
    ]
    if order == "desc":
        found.reverse()
    return found


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result: a code (by label or identifier) or a quote (by its text)."""

    code: CodeRow | None = None
    quote: QuoteRow | None = None
    memo: MemoRow | None = None
    at: int = 0  # where the match starts in the quote's or memo's text


@dataclass(frozen=True, slots=True)
class Found:
    """Everything a search matched, codes first; match positions are found only for a page."""

    needle: bytes  # casefolded, UTF-8
    codes: list[CodeRow]
    quotes: list[int]  # indexes into Tables.quotes, in their order
    memos: list[int] = field(default_factory=list)  # indexes into Tables.memos

    def __len__(self) -> int:
        return len(self.codes) + len(self.quotes) + len(self.memos)


def search(t: Tables, q: str, collection: str | None) -> Found:
    """Codes first (by collection and identifier), then quotes (by source and position), then
    memos."""
    needle = q.casefold()
    found = codes(t, collection=collection, kind=None, q=q, sort="ident", order="asc")
    matched = sorted(found, key=lambda c: (c.collection, c.ident))
    wanted = needle.encode()
    if not wanted or b"\x00" in wanted:  # the separator: no text holds it
        return Found(wanted, matched, [])
    candidates = _candidates(t.words, needle)
    text, ends = t.quote_text, t.quote_ends
    if candidates is None:  # no word characters to look up: one scan of all the text
        quotes = _scan(text, ends, wanted)
    elif WORD.fullmatch(needle):  # every quote holding a word that contains it matches
        quotes = candidates
    else:
        quotes = [i for i in candidates if text.find(wanted, ends[i - 1] if i else 0, ends[i]) >= 0]
    memos = _scan(t.memo_text, t.memo_ends, wanted)
    if collection is not None:
        quotes = [i for i in quotes if t.quotes[i].collection == collection]
        memos = [i for i in memos if t.memos[i].collection == collection]
    return Found(wanted, matched, quotes, memos)


def _scan(text: bytes, ends: array[int], wanted: bytes) -> list[int]:
    """The indexes of the NUL-separated texts holding ``wanted``, by one scan of them all."""
    found = []
    at = text.find(wanted)
    while at >= 0:
        i = bisect_right(ends, at)
        found.append(i)
        at = text.find(wanted, ends[i])
    return found


def _candidates(words: Words, needle: str) -> list[int] | None:
    """The quotes that may hold the needle, ascending; ``None`` when it has no word to look up."""
    runs = WORD.findall(needle)
    if not runs:
        return None
    run = max(runs, key=len)
    vocabulary, ends = words.vocabulary, words.ends
    lists = []
    at = vocabulary.find(run)
    while at >= 0:
        k = bisect_right(ends, at)
        lists.append(words.postings[k])
        at = vocabulary.find(run, ends[k])
    if len(lists) == 1:
        return lists[0].tolist()
    return sorted(set().union(*lists))


def hits(t: Tables, found: Found, start: int, stop: int) -> list[Hit]:
    """The hits from ``start`` to ``stop``, quotes with where in their text the match starts."""
    page = [Hit(code=c) for c in found.codes[start:stop]]
    before = len(found.codes)
    first = max(0, start - before)
    for i in found.quotes[first : max(first, stop - before)]:
        page.append(Hit(quote=t.quotes[i], at=_match_at(t.quote_text, t.quote_ends, i, found)))
    before += len(found.quotes)
    first = max(0, start - before)
    for i in found.memos[first : max(first, stop - before)]:
        page.append(Hit(memo=t.memos[i], at=_match_at(t.memo_text, t.memo_ends, i, found)))
    return page


def _match_at(text: bytes, ends: array[int], i: int, found: Found) -> int:
    """Where (in characters) the needle starts in the ``i``-th text."""
    begin = ends[i - 1] if i else 0
    at = text.find(found.needle, begin, ends[i])
    return len(text[begin:at].decode())  # a match of UTF-8 in UTF-8 starts on a boundary


def snippet(text: str, at: int, length: int, width: int = 80) -> str:
    """Up to ``width`` characters either side of a match, with ellipses where text was cut."""
    at = min(at, len(text))  # casefolding may have lengthened the text before the match
    start, end = max(0, at - width), min(len(text), at + length + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


# --- a source -----------------------------------------------------------------------------------

COMPARED = (
    "id",
    "title",
    "source_url",
    "tiny_url",
    "archive_url",
    "source_type_name",
    "author_type_name",
    "example",
    "source_code",
)


@dataclass(frozen=True, slots=True)
class Disagreement:
    field: str
    header: str | bool | int | None
    trace: str | bool | int | None
    header_line: int | None
    trace_line: int | None


@dataclass(slots=True)
class SourceView:
    row: SourceRow
    header: Record | None
    trace: Record | None
    disagreements: list[Disagreement]
    quotes: list[QuoteRow]
    codes: list[CodeRow]
    memos: list[MemoRow]


def source(t: Tables, iri: str) -> SourceView | None:
    """One source with both records, where they disagree, its quotes and the codes it evidences."""
    row = t.source_by_iri.get(iri)
    if row is None:
        return None
    records = t.records_of.get(iri, {})
    header, trace = records.get(MK + "headerRecord"), records.get(MK + "traceRecord")
    disagreements = []
    if header is not None and trace is not None:
        for name in COMPARED:
            h, tv = header.values.get(name), trace.values.get(name)
            if h is not None and tv is not None and (h != tv or type(h) is not type(tv)):
                disagreements.append(Disagreement(name, h, tv, header.line, trace.line))
    return SourceView(
        row=row,
        header=header,
        trace=trace,
        disagreements=disagreements,
        quotes=t.quotes_of.get(iri, []),
        codes=[t.code_by_iri[c] for c in t.codes_of.get(iri, [])],
        memos=t.memos_of.get(iri, []),
    )


# --- a code ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class CodeView:
    row: CodeRow
    closest: CodeRow | None
    definitions: list[DefinitionRow]
    evidence: list[tuple[SourceRow, list[QuoteRow]]]
    facts: dict[str, list[Fact]]  # role of the code (mk: local name) -> the facts


def code(t: Tables, iri: str) -> CodeView | None:
    """One code with all its evidence: definitions, sources and quotes, facts it takes part in."""
    row = t.code_by_iri.get(iri)
    if row is None:
        return None
    quoted: dict[str, list[QuoteRow]] = defaultdict(list)
    for i in t.quoted_for.get(iri, ()):
        quote = t.quotes[i]
        quoted[quote.source].append(quote)
    evidence_iris = list(t.sources_of.get(iri, []))
    evidence_iris += sorted(
        (s for s in quoted if s not in evidence_iris), key=lambda s: natural(s.rsplit("/", 1)[-1])
    )
    evidence = [
        (t.source_by_iri[s], sorted(quoted.get(s, []), key=lambda q: q.position))
        for s in evidence_iris
        if s in t.source_by_iri
    ]

    return CodeView(
        row=row,
        closest=code_row(t, row.closest),
        definitions=t.definitions_of.get(iri, []),
        evidence=evidence,
        facts=t.facts_of.get(iri, NO_FACTS),
    )
