"""The tables behind the JSON API: made once per snapshot, for lists and details alike.

Why tables: a snapshot never changes while it is served, and the lists (sources, codes, search
over quotes) are small but expensive to aggregate on every request (the code list's GROUP BY
takes ~3 ms in memory and ~16 ms on a stored snapshot). So each aggregate is computed once per
snapshot, in SPARQL, and lists are then filtered, sorted and cut in Python in microseconds.
Details are read from tables too (a code's evidence quotes, definitions and facts; a source's
two records): asked per resource, those queries cost more than the rest of the route (a
thousand rows for the most-cited code at ×10, and each query's parse and plan alone about 0.1
ms). No request text is ever pasted into a query.
"""

from __future__ import annotations

import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Literal

from app import terms
from app.iris import split
from app.namespaces import PREFIXES, sparql_prologue
from app.order import natural
from app.store.info import SnapshotInfo
from app.store.seam import GraphReader

MK = PREFIXES["mk"]
DCTERMS = PREFIXES["dcterms"]
SCHEMA = PREFIXES["schema"]
SKOS = PREFIXES["skos"]
PROV = PREFIXES["prov"]
RDF_TYPE = PREFIXES["rdf"] + "type"
XSD_BOOLEAN = PREFIXES["xsd"] + "boolean"
XSD_INTEGER = PREFIXES["xsd"] + "integer"

CodeKind = Literal["practice", "pattern", "force", "decision", "unresolved"]
KINDS: tuple[CodeKind, ...] = ("practice", "pattern", "force", "decision", "unresolved")
KIND_CLASS: dict[CodeKind, str] = {
    "practice": MK + "Practice",
    "pattern": MK + "Pattern",
    "force": MK + "Force",
    "decision": MK + "Decision",
    "unresolved": MK + "UnresolvedCode",
}
CLASS_KIND: dict[str, CodeKind] = {iri: kind for kind, iri in KIND_CLASS.items()}

_PREFIXES = sparql_prologue("mk", "dcterms", "skos", "schema", "prov", "rdf", "oa")

# --- table queries (run once per snapshot) ---------------------------------------------------

_SOURCES = (
    _PREFIXES
    + """
SELECT ?g ?s (SAMPLE(?id0) AS ?id) (SAMPLE(?title0) AS ?title) (SAMPLE(?url0) AS ?url)
       (SAMPLE(?tiny0) AS ?tiny) (SAMPLE(?archive0) AS ?archive) (SAMPLE(?stype0) AS ?stype)
       (SAMPLE(?atype0) AS ?atype) (SAMPLE(?example0) AS ?example) (SAMPLE(?code0) AS ?code)
       (SAMPLE(?file0) AS ?file) (SAMPLE(?path0) AS ?path) (SAMPLE(?line0) AS ?line)
       (SAMPLE(?interview0) AS ?interview)
WHERE {
  GRAPH ?g {
    ?s a mk:Source ; dcterms:identifier ?id0 .
    OPTIONAL { ?s dcterms:title ?title0 }
    OPTIONAL { ?s schema:url ?url0 }
    OPTIONAL { ?s mk:tinyUrl ?tiny0 }
    OPTIONAL { ?s mk:archiveUrl ?archive0 }
    OPTIONAL { ?s mk:sourceType ?stype0 }
    OPTIONAL { ?s mk:authorType ?atype0 }
    OPTIONAL { ?s mk:example ?example0 }
    OPTIONAL { ?s mk:sourceCode ?code0 }
    OPTIONAL { ?s mk:seedFile ?file0 . OPTIONAL { ?file0 mk:path ?path0 } }
    OPTIONAL { ?s mk:line ?line0 }
    OPTIONAL { ?s a ?interview0 FILTER (?interview0 = mk:Interview) }
  }
}
GROUP BY ?g ?s
"""
)

_CODES = (
    _PREFIXES
    + """
SELECT ?g ?c ?type (SAMPLE(?id0) AS ?id) (SAMPLE(?label0) AS ?label)
       (SAMPLE(?closest0) AS ?closest) (SAMPLE(?aside0) AS ?aside)
WHERE {
  GRAPH ?g {
    VALUES ?type { mk:Practice mk:Pattern mk:Force mk:Decision mk:UnresolvedCode }
    ?c a ?type ; dcterms:identifier ?id0 .
    OPTIONAL { ?c skos:prefLabel ?label0 }
    OPTIONAL { ?c mk:closestDefined ?closest0 }
    OPTIONAL { ?c mk:setAside ?aside0 }
  }
}
GROUP BY ?g ?c ?type
"""
)

_ALT_LABELS = (
    _PREFIXES
    + """
SELECT ?c ?alt WHERE { ?c skos:inScheme ?scheme ; skos:altLabel ?alt . ?scheme a mk:Codebook }
"""
)

_EVIDENCE = (
    _PREFIXES
    + """
SELECT DISTINCT ?c ?s WHERE {
  ?c mk:evidenceSource ?s ; skos:inScheme ?scheme . ?scheme a mk:Codebook
}
"""
)

_MEMOS = (
    _PREFIXES
    + """
SELECT ?m ?s ?text ?line WHERE {
  ?m a mk:Memo ; dcterms:isPartOf ?s ; oa:bodyValue ?text ; mk:line ?line .
}
"""
)
_QUOTES = (
    _PREFIXES
    + """
SELECT ?q ?s ?text ?line ?end WHERE {
  ?q a mk:Quote ; dcterms:isPartOf ?s ; schema:text ?text ; mk:line ?line .
  OPTIONAL { ?q mk:endLine ?end }
}
"""
)

_CONCEPTS = (
    _PREFIXES
    + """
SELECT ?c ?scheme (SAMPLE(?label0) AS ?label) (SAMPLE(?notation0) AS ?notation) WHERE {
  VALUES ?scheme { mk:ImpactLevels mk:SourceTypes mk:AuthorTypes mk:DependencyKinds }
  ?c skos:inScheme ?scheme .
  OPTIONAL { ?c skos:prefLabel ?label0 }
  OPTIONAL { ?c skos:notation ?notation0 }
}
GROUP BY ?c ?scheme
"""
)

_CODED_IN = _PREFIXES + "SELECT ?c ?b WHERE { ?c mk:codedIn ?b }"
_BLOCK_QUOTES = _PREFIXES + "SELECT ?b ?q WHERE { ?b mk:evidenceQuote ?q }"

_RECORDS = (
    _PREFIXES
    + """
SELECT ?s ?link ?rec ?p ?o WHERE {
  VALUES ?link { mk:headerRecord mk:traceRecord }
  ?s ?link ?rec . ?rec ?p ?o .
}
"""
)

_DEFINITIONS = (
    _PREFIXES
    + """
SELECT ?c ?d ?label ?kind ?instring ?line ?src WHERE {
  ?c mk:definition ?d .
  OPTIONAL { ?d mk:label ?label }
  OPTIONAL { ?d mk:declaredKind ?kind }
  OPTIONAL { ?d mk:inString ?instring }
  OPTIONAL { ?d mk:line ?line }
  OPTIONAL { ?d mk:inSource ?src }
}
"""
)

_FACTS = (
    _PREFIXES
    + """
SELECT ?f ?p ?o ?loc ?path ?line WHERE {
  VALUES ?type { mk:ForceImpact mk:DecisionOption mk:Dependency }
  ?f a ?type .
  { ?f ?p ?o }
  UNION
  { ?f prov:atLocation ?loc . ?loc mk:seedFile ?file ; mk:line ?line .
    OPTIONAL { ?file mk:path ?path } }
}
"""
)
"""Every triple of every fact, and the file and line of each statement of it."""

# --- rows --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Concept:
    """A term of one of the ontology's controlled vocabularies (impact level, source type, …)."""

    iri: str
    scheme: str
    label: str | None
    notation: str | None


@dataclass(slots=True)
class SourceRow:
    """A source with the values the graph shows (``source_type``/``author_type``: concept IRIs)."""

    collection: str
    iri: str
    id: str
    title: str | None
    source_url: str | None
    tiny_url: str | None
    archive_url: str | None
    source_type: str | None
    author_type: str | None
    example: bool | None
    source_code: bool | None
    interview: bool
    file: str | None
    path: str | None
    line: int | None
    quotes: int = 0
    codes: int = 0


@dataclass(slots=True)
class CodeRow:
    """A code with its kind as declared (a pattern is not listed as a practice) and its counts."""

    collection: str
    iri: str
    ident: str
    kind: CodeKind
    label: str | None
    alt_labels: list[str] = field(default_factory=list)
    set_aside: bool = False
    closest: str | None = None
    sources: int = 0


@dataclass(frozen=True, slots=True)
class QuoteRow:
    """A quote, with its source's file path (its casefolded text is in ``Tables.quote_text``)."""

    collection: str
    iri: str
    source: str
    source_id: str
    position: int
    text: str
    line: int | None
    end_line: int | None
    path: str | None


@dataclass(frozen=True, slots=True)
class MemoRow:
    """A memo (open code) of a source, with its line and its source's file path."""

    collection: str
    iri: str
    source: str
    source_id: str
    position: int
    text: str
    line: int | None
    path: str | None


@dataclass(frozen=True, slots=True)
class Words:
    """An inverted index of the casefolded quote text: for each word, the quotes that hold it.

    Why: search is a substring match, and scanning all quote text costs time in proportion to
    the corpus (9 MB, about 4 ms, at ×10) on every request. Every match of a needle contains
    its longest run of word characters inside one word of the text, so the quotes that can
    match are those holding a word that contains that run: found by scanning the vocabulary
    (tens of KB) instead of the text.
    """

    vocabulary: str  # every distinct word, each followed by NUL
    postings: list[array[int]]  # per word, the indexes of the quotes holding it, ascending
    ends: list[int] = field(init=False)  # the offset after each word's NUL in vocabulary

    def __post_init__(self) -> None:
        words = self.vocabulary.split("\x00")[:-1]  # no word holds NUL: \w+ never matches it
        object.__setattr__(self, "ends", list(accumulate(len(w) + 1 for w in words)))


SourceSort = Literal["id", "title"]
CodeSort = Literal["label", "ident", "sources"]


@dataclass(slots=True)
class Tables:
    """Everything lists and search need, aggregated once per snapshot.

    The fields made with ``init=False`` follow from the others and are derived here, so tables
    built from a store and tables read from a snapshot's folder cannot differ in them.
    """

    base: str  # the data IRI base
    collections: dict[str, str]  # graph IRI -> collection name
    sources: list[SourceRow]
    codes: list[CodeRow]
    quotes: list[QuoteRow]
    concepts: dict[str, Concept]
    quotes_of: dict[str, list[QuoteRow]]  # source IRI -> its quotes by position
    codes_of: dict[str, list[str]]  # source IRI -> IRIs of the codes it evidences
    sources_of: dict[str, list[str]]  # code IRI -> IRIs of its evidence sources
    quoted_for: dict[str, array[int]]
    """What is coded (a code, impact, option or dependency) -> indexes of its evidence quotes:
    the one read path of evidence, for the JSON API and the pages alike."""
    definitions_of: dict[str, list[DefinitionRow]]  # code IRI -> where it is defined
    records_of: dict[str, dict[str, Record]]  # source IRI -> header/trace link IRI -> record
    facts_of: dict[str, dict[str, list[Fact]]]  # code IRI -> role (ROLES) -> facts, by IRI
    quote_text: bytes  # every quote's casefolded text in UTF-8, in order, each followed by NUL
    quote_ends: array[int]  # the offset after each quote's NUL in quote_text
    words: Words  # which quotes hold which words, for search
    memos: list[MemoRow]  # by collection, source and position
    memo_text: bytes = field(init=False)  # every memo's casefolded text, each followed by NUL
    memo_ends: array[int] = field(init=False)  # the offset after each memo's NUL
    memos_of: dict[str, list[MemoRow]] = field(init=False)  # source IRI -> its memos, in order
    source_by_iri: dict[str, SourceRow] = field(init=False)
    code_by_iri: dict[str, CodeRow] = field(init=False)
    counts: dict[str, dict[str, int]] = field(init=False)  # collection -> sources, codes per kind
    code_terms: list[str] = field(init=False)  # per code: identifier and labels, casefolded
    # sorted once per snapshot (see sources_by): kept with the tables, never compared
    source_orders: dict[str, list[SourceRow]] = field(default_factory=dict, compare=False)
    code_orders: dict[str, list[tuple[CodeRow, str]]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.source_by_iri = {s.iri: s for s in self.sources}
        self.code_by_iri = {c.iri: c for c in self.codes}
        self.counts = {
            name: {"sources": 0} | dict.fromkeys(KINDS, 0) for name in self.collections.values()
        }
        for source_row in self.sources:
            self.counts[source_row.collection]["sources"] += 1
        for code_row_ in self.codes:
            self.counts[code_row_.collection][code_row_.kind] += 1
        # memos are few beside quotes: their search text is made here, not kept in the file
        self.memos_of = defaultdict(list)
        for memo in self.memos:
            self.memos_of[memo.source].append(memo)
        folded = [m.text.casefold().encode() + b"\x00" for m in self.memos]
        self.memo_text = b"".join(folded)
        self.memo_ends = array("Q", accumulate(len(f) for f in folded))
        # what a list's ``q`` is matched in, "\x00"-joined
        self.code_terms = [
            "\x00".join(x.casefold() for x in (c.ident, c.label or "", *c.alt_labels))
            for c in self.codes
        ]

    def sources_by(self, sort: SourceSort) -> list[SourceRow]:
        """The sources sorted by a key, once per snapshot: a list request then only filters,
        which at ×10 the corpus is ten times cheaper than sorting."""
        found = self.source_orders.get(sort)
        if found is None:
            found = self.source_orders[sort] = sorted(self.sources, key=SOURCE_KEYS[sort])
        return found

    def codes_by(self, sort: CodeSort) -> list[tuple[CodeRow, str]]:
        """The codes with their search terms (``code_terms``), sorted as ``sources_by`` does."""
        found = self.code_orders.get(sort)
        if found is None:
            by = CODE_KEYS[sort]
            pairs = zip(self.codes, self.code_terms, strict=True)
            found = self.code_orders[sort] = sorted(pairs, key=lambda pair: by(pair[0]))
        return found


FACT_TYPES = {MK + "ForceImpact", MK + "DecisionOption", MK + "Dependency"}
ROLES = ("solution", "force", "decision", "option", "dependentSolution", "requiredSolution")
NO_FACTS: dict[str, list[Fact]] = {role: [] for role in ROLES}


# --- term conversion ---------------------------------------------------------------------------

Bound = terms.Term | None


def _iri(term: Bound) -> str | None:
    return term.value if isinstance(term, terms.Iri) else None


def _text(term: Bound) -> str | None:
    return term.value if isinstance(term, terms.Literal) else None


def _int(term: Bound) -> int | None:
    if isinstance(term, terms.Literal):
        try:
            return int(term.value)
        except ValueError:
            return None
    return None


def _bool(term: Bound) -> bool | None:
    if isinstance(term, terms.Literal) and term.datatype.value == XSD_BOOLEAN:
        return term.value in ("true", "1")
    return None


def value(term: Bound) -> str | bool | int | None:
    """A literal as JSON would carry it: booleans and integers typed, anything else a string."""
    if not isinstance(term, terms.Literal):
        return _iri(term)
    if term.datatype.value == XSD_BOOLEAN:
        return term.value in ("true", "1")
    if term.datatype.value == XSD_INTEGER:
        number = _int(term)
        return number if number is not None else term.value
    return term.value


def _select(store: GraphReader, query: str) -> Iterator[terms.Row]:
    return store.select(query)


SOURCE_KEYS: dict[SourceSort, Callable[[SourceRow], Any]] = {
    "id": lambda s: (natural(s.id), s.collection),
    "title": lambda s: ((s.title or "").casefold(), natural(s.id), s.collection),
}
CODE_KEYS: dict[CodeSort, Callable[[CodeRow], Any]] = {
    "ident": lambda c: (c.ident, c.collection),
    "sources": lambda c: (c.sources, c.ident, c.collection),
    "label": lambda c: ((c.label or c.ident).casefold(), c.ident, c.collection),
}


def _position(iri: str) -> int:
    """The position a quote's or memo's IRI ends in (``…/quote/{n}``), as the minter wrote it."""
    tail = iri.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0


# --- building ---------------------------------------------------------------------------------


def build(store: GraphReader, info: SnapshotInfo) -> Tables:
    """Every table of the snapshot ``info`` describes, aggregated from its ``store``."""
    names = {c.graph: c.name for c in info.collections}

    concepts = {}
    for row in _select(store, _CONCEPTS):
        iri, scheme = _iri(row.get("c")), _iri(row.get("scheme"))
        if iri is not None and scheme is not None:
            concepts[iri] = Concept(
                iri, scheme, _text(row.get("label")), _text(row.get("notation"))
            )

    sources: list[SourceRow] = []
    for row in _select(store, _SOURCES):
        graph, iri, ident = _iri(row.get("g")), _iri(row.get("s")), _text(row.get("id"))
        if graph not in names or iri is None or ident is None:
            continue
        sources.append(
            SourceRow(
                collection=names[graph],
                iri=iri,
                id=ident,
                title=_text(row.get("title")),
                source_url=_text(row.get("url")),
                tiny_url=_text(row.get("tiny")),
                archive_url=_text(row.get("archive")),
                source_type=_iri(row.get("stype")),
                author_type=_iri(row.get("atype")),
                example=_bool(row.get("example")),
                source_code=_bool(row.get("code")),
                interview=_iri(row.get("interview")) is not None,  # a class, not a flag:
                # servers write a computed boolean differently (Virtuoso as 1)
                file=_iri(row.get("file")),
                path=_text(row.get("path")),
                line=_int(row.get("line")),
            )
        )
    source_by_iri = {s.iri: s for s in sources}

    codes: list[CodeRow] = []
    for row in _select(store, _CODES):
        graph, iri, ident = _iri(row.get("g")), _iri(row.get("c")), _text(row.get("id"))
        kind = CLASS_KIND.get(_iri(row.get("type")) or "")
        if graph not in names or iri is None or ident is None or kind is None:
            continue
        codes.append(
            CodeRow(
                collection=names[graph],
                iri=iri,
                ident=ident,
                kind=kind,
                label=_text(row.get("label")),
                set_aside=bool(_bool(row.get("aside"))),
                closest=_iri(row.get("closest")),
            )
        )
    code_by_iri = {c.iri: c for c in codes}
    for row in _select(store, _ALT_LABELS):
        code = code_by_iri.get(_iri(row.get("c")) or "")
        alt = _text(row.get("alt"))
        if code is not None and alt is not None:
            code.alt_labels.append(alt)
    for code in codes:
        code.alt_labels.sort()

    codes_of: dict[str, list[str]] = defaultdict(list)
    sources_of: dict[str, list[str]] = defaultdict(list)
    for row in _select(store, _EVIDENCE):
        c, s = _iri(row.get("c")), _iri(row.get("s"))
        if c in code_by_iri and s in source_by_iri:
            codes_of[s].append(c)
            sources_of[c].append(s)
    for c, found in sources_of.items():
        code_by_iri[c].sources = len(found)
        found.sort(key=lambda s: natural(source_by_iri[s].id))
    for s, found in codes_of.items():
        source_by_iri[s].codes = len(found)
        found.sort(key=lambda c: code_by_iri[c].ident)

    quotes: list[QuoteRow] = []
    quotes_of: dict[str, list[QuoteRow]] = defaultdict(list)
    for row in _select(store, _QUOTES):
        iri, src, text = _iri(row.get("q")), _iri(row.get("s")), _text(row.get("text"))
        owner = source_by_iri.get(src or "")
        if iri is None or owner is None or text is None:
            continue
        quote = QuoteRow(
            collection=owner.collection,
            iri=iri,
            source=owner.iri,
            source_id=owner.id,
            position=_position(iri),
            text=text,
            line=_int(row.get("line")),
            end_line=_int(row.get("end")),
            path=owner.path,
        )
        quotes.append(quote)
        quotes_of[owner.iri].append(quote)
    for found_quotes in quotes_of.values():
        found_quotes.sort(key=lambda q: q.position)
        source_by_iri[found_quotes[0].source].quotes = len(found_quotes)
    quotes.sort(key=lambda q: (q.collection, natural(q.source_id), q.position))

    memos: list[MemoRow] = []
    for row in _select(store, _MEMOS):
        iri, src, text = _iri(row.get("m")), _iri(row.get("s")), _text(row.get("text"))
        owner = source_by_iri.get(src or "")
        if iri is None or owner is None or text is None:
            continue
        memos.append(
            MemoRow(
                owner.collection,
                iri,
                owner.iri,
                owner.id,
                _position(iri),
                text,
                _int(row.get("line")),
                owner.path,
            )
        )
    memos.sort(key=lambda m: (m.collection, natural(m.source_id), m.position))

    quote_text, quote_ends, words = _searchable(quotes)
    return Tables(
        base=info.base_iri,
        collections=names,
        sources=sources,
        codes=codes,
        quotes=quotes,
        concepts=concepts,
        quoted_for=_quoted_for(store, {q.iri: i for i, q in enumerate(quotes)}),
        definitions_of=_definitions(store, source_by_iri, code_by_iri),
        records_of=_records(store, source_by_iri),
        facts_of=_facts(store, source_by_iri),
        quotes_of=dict(quotes_of),
        codes_of=dict(codes_of),
        sources_of=dict(sources_of),
        quote_text=quote_text,
        quote_ends=quote_ends,
        words=words,
        memos=memos,
    )


def _records(store: GraphReader, sources: dict[str, SourceRow]) -> dict[str, dict[str, Record]]:
    found: dict[str, dict[str, Record]] = {}
    for r in _select(store, _RECORDS):
        s, link, rec, p = (
            _iri(r.get("s")),
            _iri(r.get("link")),
            _iri(r.get("rec")),
            _iri(r.get("p")),
        )
        if s not in sources or link is None or rec is None or p is None:
            continue
        record = found.setdefault(s, {}).setdefault(link, Record(rec, None, sources[s].path))
        if p == MK + "line":
            record.line = _int(r.get("o"))
        elif p in RECORD_FIELDS:
            record.values[RECORD_FIELDS[p]] = value(r.get("o"))
    return found


def _definitions(
    store: GraphReader, sources: dict[str, SourceRow], codes: dict[str, CodeRow]
) -> dict[str, list[DefinitionRow]]:
    found: dict[str, list[DefinitionRow]] = defaultdict(list)
    for r in _select(store, _DEFINITIONS):
        c, d = _iri(r.get("c")), _iri(r.get("d"))
        if c not in codes or d is None:
            continue
        found[c].append(
            DefinitionRow(
                iri=d,
                label=_text(r.get("label")),
                declared_kind=CLASS_KIND.get(_iri(r.get("kind")) or ""),
                in_string=bool(_bool(r.get("instring"))),
                line=_int(r.get("line")),
                source=sources.get(_iri(r.get("src")) or ""),
            )
        )
    for definitions in found.values():
        definitions.sort(key=lambda d: ((d.source and d.source.path) or "", d.line or 0, d.iri))
    return dict(found)


def _facts(store: GraphReader, sources: dict[str, SourceRow]) -> dict[str, dict[str, list[Fact]]]:
    """Per code, the facts it takes part in, by its role in them (``ROLES``)."""
    facts: dict[str, Fact] = {}
    for r in _select(store, _FACTS):
        f, p, o, loc = _iri(r.get("f")), _iri(r.get("p")), r.get("o"), _iri(r.get("loc"))
        if f is None:
            continue
        fact = facts.setdefault(f, Fact(f, ""))
        if loc is not None:
            if all(x.iri != loc for x in fact.locations):
                fact.locations.append(Location(loc, _text(r.get("path")), _int(r.get("line"))))
        elif p is None or p == PROV + "atLocation":
            continue
        elif p == RDF_TYPE:
            if _iri(o) in FACT_TYPES:
                fact.type = _iri(o) or ""
        elif p == MK + "layer":
            if _iri(o) is not None and _iri(o) not in fact.layers:
                fact.layers.append(_iri(o) or "")
        elif p == MK + "evidenceSource":
            src = sources.get(_iri(o) or "")
            if src is not None and src not in fact.sources:
                fact.sources.append(src)
        elif isinstance(o, terms.Iri):
            fact.links[p] = o.value
        elif isinstance(o, terms.Literal):
            fact.texts[p] = value(o)
    found: dict[str, dict[str, list[Fact]]] = {}
    for fact in sorted(facts.values(), key=lambda f: f.iri):
        if fact.type not in FACT_TYPES:
            continue
        fact.sources.sort(key=lambda s: natural(s.id))
        fact.locations.sort(key=lambda x: (x.path or "", x.line or 0))
        fact.layers.sort()
        for role in ROLES:
            code = fact.links.get(MK + role)
            if code is not None:
                found.setdefault(code, {r: [] for r in ROLES})[role].append(fact)
    return found


def _quoted_for(store: GraphReader, index: dict[str, int]) -> dict[str, array[int]]:
    """Per coded thing (code or fact), the indexes of its evidence quotes: the quotes of the
    blocks it is coded in.

    Made from the two links, not asked as their join: the join has a row per code and quote
    (70,860 at ×10 the corpus), the links a row per code and block (12,500) and per block and
    quote (32,400); a code coded in one block then shares that block's array.
    """
    of_block: dict[str, set[int]] = {}
    for row in _select(store, _BLOCK_QUOTES):
        block, i = _iri(row.get("b")), index.get(_iri(row.get("q")) or "")
        if block is not None and i is not None:
            of_block.setdefault(block, set()).add(i)
    quotes = {b: array("I", sorted(found)) for b, found in of_block.items()}
    blocks_of: dict[str, list[array[int]]] = {}
    for row in _select(store, _CODED_IN):
        code, found = _iri(row.get("c")), quotes.get(_iri(row.get("b")) or "")
        if code is not None and found is not None:
            blocks_of.setdefault(code, []).append(found)
    return {
        code: found[0] if len(found) == 1 else array("I", sorted(set().union(*found)))
        for code, found in blocks_of.items()
    }


WORD = re.compile(r"\w+")


def _searchable(quotes: list[QuoteRow]) -> tuple[bytes, array[int], Words]:
    """The casefolded text of all quotes and its word index, made in one pass.

    UTF-8, not str: one character beyond U+FFFF anywhere would make a joined str four bytes per
    character (360 MB instead of 90 at ×100 the corpus). One quote at a time, not a list of
    every folded quote: at ×100 such lists were 180 MB of small objects whose memory the
    allocator keeps for the life of the process.
    """
    text = bytearray()
    ends = array("Q")
    postings: dict[str, array[int]] = {}
    for i, quote in enumerate(quotes):
        folded = quote.text.casefold()
        text += folded.encode()
        text.append(0)
        ends.append(len(text))
        for word in set(WORD.findall(folded)):
            found = postings.get(word)
            if found is None:
                found = postings[word] = array("I")
            found.append(i)
    vocabulary = sorted(postings)  # the same file whatever the hash seed
    words = Words(
        vocabulary="".join(w + "\x00" for w in vocabulary),
        postings=[postings[w] for w in vocabulary],
    )
    return bytes(text), ends, words


RECORD_FIELDS: dict[str, str] = {
    DCTERMS + "identifier": "id",
    DCTERMS + "title": "title",
    SCHEMA + "url": "source_url",
    MK + "tinyUrl": "tiny_url",
    MK + "archiveUrl": "archive_url",
    MK + "sourceTypeName": "source_type_name",
    MK + "authorTypeName": "author_type_name",
    MK + "example": "example",
    MK + "sourceCode": "source_code",
    MK + "variable": "variable",
}


@dataclass(slots=True)
class Record:
    """A source's metadata as the note's header or its trace statement writes it."""

    iri: str
    line: int | None
    path: str | None
    values: dict[str, str | bool | int | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DefinitionRow:
    iri: str
    label: str | None
    declared_kind: CodeKind | None
    in_string: bool
    line: int | None
    source: SourceRow | None


@dataclass(frozen=True, slots=True)
class Location:
    """A line of a seed file where a fact is stated."""

    iri: str
    path: str | None
    line: int | None


@dataclass(slots=True)
class Fact:
    """A force impact, a decision option or a dependency, with its evidence."""

    iri: str
    type: str  # class IRI
    links: dict[str, str] = field(default_factory=dict)  # property IRI -> object IRI
    texts: dict[str, str | bool | int | None] = field(default_factory=dict)
    sources: list[SourceRow] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)  # mk:NotesLayer, mk:ModelLayer: who states it

    def code(self, t: Tables, prop: str) -> CodeRow | None:
        return code_row(t, self.links.get(MK + prop))


def code_row(t: Tables, iri: str | None) -> CodeRow | None:
    """The table row of a code IRI; a code no table knows (none should) gets a bare row."""
    if iri is None:
        return None
    found = t.code_by_iri.get(iri)
    if found is not None:
        return found
    parts = split(t.base, iri)
    if parts is None or len(parts) < 3:
        return None
    return CodeRow(collection=parts[0], iri=iri, ident=parts[-1], kind="unresolved", label=None)
