"""What the document of a data IRI says, and how its HTML page shows it.

A Linked Data client that dereferences an IRI expects the triples *about* it; a reader also
wants to follow links both ways and to see names rather than IRIs. So a description holds:

* every triple with the IRI as subject, in every collection graph;
* the triples of its hash IRIs (``{file}#L{n}`` lines of a seed file): a client never sends a
  fragment, so ``…/file/s_1.md`` is the only document ``…/file/s_1.md#L12`` can be found in;
* the triples that point at the IRI or at its hash IRIs, capped at :data:`INBOUND_CAP` (a
  note says so when cut: a document must not look complete when it is not);
* one hop of context: the labels and classes of everything it links to, so that a page (or a
  client without a SPARQL endpoint) can name its neighbours.

Everything is read through the store seam (:mod:`app.store.seam`): triple patterns, or constant
queries whose only variable is bound as a value: no text from a request ever becomes SPARQL.

The second half of the module turns a description into what ``resource.html`` renders
(CURIEs, labels, local links, the evidence quotes); it is here rather than in the route so that
the route only does HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from app.namespaces import MK, PREFIXES, curie
from app.order import natural
from app.read.tables import QuoteRow, Tables
from app.store.seam import GraphReader
from app.terms import Blank, Iri, Literal, Term, Triple

INBOUND_CAP = 1000
"""Inbound triples a document holds at most: the codebook of a large study has thousands."""

EVIDENCE_CAP = 1000
"""Evidence quotes a page shows at most (the query asks for one more, to know it cut)."""

RDF_TYPE = Iri(PREFIXES["rdf"] + "type")
SKOS_PREF_LABEL = Iri(PREFIXES["skos"] + "prefLabel")
DCTERMS_TITLE = Iri(PREFIXES["dcterms"] + "title")
RDFS_LABEL = Iri(PREFIXES["rdfs"] + "label")
MK_LABEL = Iri(MK + "label")
MK_OPTION_NAME = Iri(MK + "optionName")
SCHEMA_TEXT = Iri(PREFIXES["schema"] + "text")
DCTERMS_IDENTIFIER = Iri(PREFIXES["dcterms"] + "identifier")
MK_PATH = Iri(MK + "path")
RDFS_COMMENT = Iri(PREFIXES["rdfs"] + "comment")
MK_CODED_IN = Iri(MK + "codedIn")
_SOURCE_CLASSES = {MK + "Source", MK + "Interview"}
MK_LINE = Iri(MK + "line")
_COMPOSED = (
    # (first, joined by, second, then the value of): how a fact with no label reads
    (MK + "solution", " → ", MK + "force", MK + "impactLevel"),
    (MK + "dependentSolution", " → ", MK + "requiredSolution", MK + "dependencyKind"),
    (MK + "decision", ": ", MK + "option", None),
)

LABEL_PREDICATES: tuple[Iri, ...] = (
    SKOS_PREF_LABEL,
    DCTERMS_TITLE,
    RDFS_LABEL,
    MK_LABEL,
    MK_OPTION_NAME,
    SCHEMA_TEXT,
    DCTERMS_IDENTIFIER,
    MK_PATH,
)
"""Where a name is found, best first; ``schema:text`` (a quote) is shortened to a snippet, and
a seed file is named by its path."""
_LABEL_RANK = {p.value: rank for rank, p in enumerate(LABEL_PREDICATES)}
_CONTEXT_PREDICATES = {p.value for p in LABEL_PREDICATES} | {RDF_TYPE.value}
SNIPPET = 90

_XSD_STRING = PREFIXES["xsd"] + "string"
_RDF_LANG_STRING = PREFIXES["rdf"] + "langString"

Graphs = Sequence[str]


# --- the description ------------------------------------------------------------------------


@dataclass(slots=True)
class Description:
    """The triples a data IRI's document holds, grouped by how they relate to the IRI."""

    iri: Iri
    about: list[Triple]
    """The IRI as subject."""
    parts: dict[str, list[Triple]]
    """Each hash IRI under it (``{iri}#…``) with its triples as subject."""
    inbound: list[Triple]
    """The IRI or one of its hash IRIs as object, at most :data:`INBOUND_CAP`."""
    inbound_total: int
    context: list[Triple]
    """Labels and classes of the IRIs linked to."""
    labels: dict[str, str] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def cut(self) -> bool:
        return self.inbound_total > len(self.inbound)

    def triples(self) -> list[Triple]:
        """Every triple of the document, each once, the IRI's own first."""
        parts = (t for triples in self.parts.values() for t in triples)
        chain = (*self.about, *parts, *self.inbound, *self.context)
        return list(dict.fromkeys(chain))

    def label(self, iri: str, base: str) -> str:
        """The best name of an IRI the document mentions, else a readable form of the IRI."""
        return self.labels.get(iri) or fallback_label(iri, base)


def exists(store: GraphReader, graphs: Graphs, iri: str) -> bool:
    """Whether any collection graph has a triple with the IRI as subject or object."""
    node = Iri(iri)
    return (
        next(store.match(node, None, None, graphs), None) is not None
        or next(store.match(None, None, node, graphs), None) is not None
    )


def _order(t: Triple) -> tuple[str, str, int, str, str, str]:
    """One order of triples whatever store answered (stores list matches in their own)."""
    o = t.object
    kind = 0 if isinstance(o, Iri) else 1 if isinstance(o, Literal) else 2
    extra = (o.datatype.value, o.language or "") if isinstance(o, Literal) else ("", "")
    return (t.subject.value, t.predicate.value, kind, o.value, *extra)


def _subject_triples(store: GraphReader, graphs: Graphs, node: Iri) -> list[Triple]:
    return sorted(set(store.match(node, None, None, graphs)), key=_order)


def describe(
    store: GraphReader,
    graphs: Graphs,
    iri: str,
    *,
    vocabulary: Graphs = (),
    cap: int = INBOUND_CAP,
) -> Description | None:
    """The document of ``iri`` over the collection ``graphs``, or ``None`` if none mentions it.

    ``vocabulary`` graphs (the ontology) only lend labels and classes to the terms linked to,
    so that ``mk:Positive`` reads "positive"; they never make an unknown IRI known.
    """
    node = Iri(iri)
    about = _subject_triples(store, graphs, node)
    prefix = iri + "#"

    # Inbound links: all are scanned (they are few per IRI, and hash IRIs hide among their
    # subjects), but only the first ``cap`` are kept.
    inbound: dict[Triple, None] = {}
    total = 0
    hashes: dict[str, None] = {}

    def take(targets: list[Iri]) -> None:
        """The links to ``targets``, target by target, each triple once (the same triple may
        be in two collection graphs), asked of the store in one request."""
        nonlocal total
        found: dict[str, set[Triple]] = {t.value: set() for t in targets}
        for triple in store.linking(targets, graphs):
            if isinstance(triple.object, Iri) and triple.object.value in found:
                found[triple.object.value].add(triple)
        for target in targets:
            for triple in sorted(found[target.value], key=_order):
                total += 1
                if len(inbound) < cap:
                    inbound[triple] = None
                subject = triple.subject
                if isinstance(subject, Iri) and subject.value.startswith(prefix):
                    hashes[subject.value] = None

    take([node])
    if not about and not inbound:
        return None
    for t in about:
        if isinstance(t.object, Iri) and t.object.value.startswith(prefix):
            hashes[t.object.value] = None
    names = sorted(hashes)
    of_part: dict[str, set[Triple]] = {h: set() for h in names}
    for t in store.about([Iri(h) for h in names], graphs):
        if t.subject.value in of_part:
            of_part[t.subject.value].add(t)
    parts = {h: sorted(of_part[h], key=_order) for h in names}
    take([Iri(h) for h in parts])

    kept = list(inbound)
    own = {iri, *parts}
    neighbours: dict[str, None] = {}
    for t in (*about, *(t for ts in parts.values() for t in ts)):
        if isinstance(t.object, Iri) and t.object.value not in own:
            neighbours[t.object.value] = None
    for t in kept:
        if isinstance(t.subject, Iri) and t.subject.value not in own:
            neighbours[t.subject.value] = None

    context: dict[Triple, None] = {}
    for t in store.about([Iri(n) for n in neighbours], (*graphs, *vocabulary)):
        if t.predicate.value in _CONTEXT_PREDICATES:
            context[t] = None

    description = Description(node, about, parts, kept, total, sorted(context, key=_order))
    _index(description, description.triples())
    return description


def _index(description: Description, triples: Iterable[Triple]) -> None:
    """Fill the labels (best predicate, English or untagged first) and classes of each IRI."""
    best: dict[str, tuple[int, int, str]] = {}
    for t in triples:
        if not isinstance(t.subject, Iri):
            continue
        subject = t.subject.value
        if t.predicate == RDF_TYPE and isinstance(t.object, Iri):
            kinds = description.classes.setdefault(subject, [])
            if t.object.value not in kinds:
                kinds.append(t.object.value)
            continue
        rank = _LABEL_RANK.get(t.predicate.value)
        if rank is None or not isinstance(t.object, Literal):
            continue
        language = t.object.language
        lang_rank = 0 if language in (None, "en") or str(language).startswith("en-") else 1
        text = " ".join(t.object.value.split())
        if t.predicate == SCHEMA_TEXT and len(text) > SNIPPET:
            text = text[: SNIPPET - 1].rstrip() + "…"
        key = (rank, lang_rank, text)
        if text and (subject not in best or key < best[subject]):
            best[subject] = key
    description.labels.update({s: key[2] for s, key in best.items()})


def fallback_label(iri: str, base: str) -> str:
    """A name for an IRI nobody labelled: its decoded path under the collection, or a CURIE.

    Impacts, options and dependencies have no label of their own, but their IRIs spell out
    what they are (``impact/mesh_catalogue/discoverability/positive``).
    """
    if iri.startswith(base):
        rest, _, fragment = iri[len(base) :].partition("#")
        segments = [unquote(s) for s in rest.split("/")]
        shown = "/".join(segments[1:]) or segments[0]
        return shown + (f"#{unquote(fragment)}" if fragment else "")
    return curie(iri)


# --- evidence and quotes (read from the API's tables: one read path) ---------------------


@dataclass(frozen=True, slots=True)
class ShownQuote:
    """A quote with where it was written: the source it quotes, the seed file and line."""

    iri: str
    text: str
    line: int | None
    end_line: int | None
    source: str | None
    source_id: str | None
    file: str | None
    file_path: str | None

    def sort_key(self) -> tuple[tuple[object, ...], int, tuple[object, ...]]:
        return (
            natural(self.source_id or self.source or ""),
            self.line if self.line is not None else 1 << 30,
            natural(self.iri),
        )


def evidence(t: Tables, iri: str) -> tuple[list[ShownQuote], bool]:
    """The quotes coded as a code, impact, option or dependency (the quotes of the blocks it
    is coded in), as the JSON API has them; whether more than :data:`EVIDENCE_CAP` were left
    out."""
    rows = sorted(
        (_shown(t, t.quotes[i]) for i in t.quoted_for.get(iri, ())), key=ShownQuote.sort_key
    )
    return rows[:EVIDENCE_CAP], len(rows) > EVIDENCE_CAP


def source_quotes(t: Tables, iri: str) -> list[ShownQuote]:
    """A source's quotes in the order its note has them."""
    found = sorted(t.quotes_of.get(iri, []), key=lambda q: q.position)
    return [_shown(t, q) for q in found]


def source_memos(t: Tables, iri: str) -> list[ShownQuote]:
    """A source's memos (open codes) in the order its note has them, shown as quotes are."""
    found = t.memos_of.get(iri, [])
    source = t.source_by_iri.get(iri)
    file = source.file if source is not None else None
    return [
        ShownQuote(m.iri, m.text, m.line, None, m.source, m.source_id, file, m.path) for m in found
    ]


def _shown(t: Tables, q: QuoteRow) -> ShownQuote:
    source = t.source_by_iri.get(q.source)
    return ShownQuote(
        iri=q.iri,
        text=q.text,
        line=q.line,
        end_line=q.end_line,
        source=q.source,
        source_id=q.source_id,
        file=source.file if source is not None else None,
        file_path=q.path,
    )


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shown:
    """A term as a page shows it: text, a local link if there is one, the full form on hover."""

    text: str
    href: str | None = None
    title: str | None = None
    note: str | None = None  # a literal's language or datatype
    literal: bool = False


@dataclass(frozen=True, slots=True)
class ShownRow:
    predicate: Shown
    values: list[Shown]


@dataclass(frozen=True, slots=True)
class Part:
    """A hash IRI under the page's IRI (a line of a seed file), with its own anchor."""

    anchor: str
    label: str
    kinds: list[Shown]
    rows: list[ShownRow]
    inbound: list[ShownRow]


@dataclass(slots=True)
class ResourcePage:
    """What ``resource.html`` renders for one description."""

    iri: str
    title: str
    kinds: list[Shown]
    rows: list[ShownRow]
    inbound: list[ShownRow]
    inbound_shown: int
    inbound_total: int
    parts: list[Part]
    evidence: list[ShownQuote] = field(default_factory=list)
    evidence_cut: bool = False
    quotes: list[ShownQuote] = field(default_factory=list)
    memos: list[ShownQuote] = field(default_factory=list)
    has_evidence: bool = False
    is_source: bool = False


Local = Callable[[str], str | None]
"""Maps an IRI to the local path it is served at (``Service.path_for_iri``), if any."""


class PageMaker:
    """Shows the terms of one description: labels, CURIEs and links to local pages."""

    def __init__(self, description: Description, base: str, local: Local, root: str) -> None:
        self.d = description
        self.base = base
        self.local = local
        self.root = root

    def href(self, iri: str) -> str | None:
        path = self.local(iri)
        return self.root + path if path is not None else None

    def term(self, term: Term) -> Shown:
        if isinstance(term, Iri):
            return Shown(self.d.label(term.value, self.base), self.href(term.value), term.value)
        if isinstance(term, Literal):
            note = None
            if term.language:
                note = f"@{term.language}"
            elif term.datatype.value not in (_XSD_STRING, _RDF_LANG_STRING):
                note = curie(term.datatype.value)
            return Shown(term.value, note=note, literal=True)
        if isinstance(term, Blank):
            return Shown(f"_:{term.value}")
        return Shown(str(term))

    def predicate(self, iri: str) -> Shown:
        return Shown(curie(iri), self.href(iri), iri)

    def kind(self, iri: str) -> Shown:
        return Shown(curie(iri), self.href(iri), self.d.labels.get(iri) or iri)

    def rows(self, triples: Iterable[Triple], skip: set[str]) -> list[ShownRow]:
        """The IRI's properties, one row per predicate: labels first, then by CURIE."""
        grouped: dict[str, list[Shown]] = {}
        for t in triples:
            if t.predicate == RDF_TYPE or t.predicate.value in skip:
                continue
            grouped.setdefault(t.predicate.value, []).append(self.term(t.object))
        order = sorted(grouped, key=lambda p: (_LABEL_RANK.get(p, len(_LABEL_RANK)), curie(p)))
        return [
            ShownRow(self.predicate(p), sorted(grouped[p], key=lambda s: natural(s.text)))
            for p in order
        ]

    def inbound_rows(self, triples: Iterable[Triple]) -> list[ShownRow]:
        """What links here, grouped by the linking predicate; each with its class, since a
        source and its two records share one title."""
        grouped: dict[str, list[Shown]] = {}
        for t in triples:
            if isinstance(t.subject, Iri | Blank):
                shown = self.term(t.subject)
                kinds = self.d.classes.get(t.subject.value)
                if kinds:
                    shown = Shown(shown.text, shown.href, shown.title, curie(kinds[0]))
                grouped.setdefault(t.predicate.value, []).append(shown)
        return [
            ShownRow(self.predicate(p), sorted(grouped[p], key=lambda s: natural(s.text)))
            for p in sorted(grouped, key=curie)
        ]

    def composed(self) -> str | None:
        """A title for an impact, option or dependency from the names of what it links."""
        values: dict[str, str] = {}
        for t in self.d.about:
            if isinstance(t.object, Iri):
                values.setdefault(t.predicate.value, self.d.label(t.object.value, self.base))
        for first, joiner, second, then in _COMPOSED:
            if first in values and second in values:
                text = values[first] + joiner + values[second]
                return f"{text} ({values[then]})" if then and then in values else text
        return None

    def page(self) -> ResourcePage:
        d = self.d
        iri = d.iri.value
        part_iris = set(d.parts)
        # a hash IRI's link back to this IRI is shown with that part, not among the inbound
        own_inbound = [
            t
            for t in d.inbound
            if t.object == d.iri
            and not (isinstance(t.subject, Iri) and t.subject.value in part_iris)
        ]
        parts = []
        for h, triples in sorted(d.parts.items(), key=lambda kv: _part_key(kv[0], kv[1])):
            anchor = h[len(iri) + 1 :]
            pointing = [t for t in d.inbound if t.object == Iri(h)]
            line = _line(triples)
            parts.append(
                Part(
                    anchor=anchor,
                    label=d.labels.get(h)
                    or (f"line {line}" if line is not None else unquote(anchor)),
                    kinds=[self.kind(k) for k in d.classes.get(h, [])],
                    # the link back to this page says nothing on this page
                    rows=self.rows((t for t in triples if t.object != d.iri), skip=set()),
                    inbound=self.inbound_rows(pointing),
                )
            )
        kinds = d.classes.get(iri, [])
        return ResourcePage(
            iri=iri,
            title=d.labels.get(iri) or self.composed() or d.label(iri, self.base),
            kinds=[self.kind(k) for k in kinds],
            rows=self.rows(d.about, skip=set()),
            inbound=self.inbound_rows(own_inbound),
            inbound_shown=len(d.inbound),
            inbound_total=d.inbound_total,
            parts=parts,
            has_evidence=any(t.predicate == MK_CODED_IN for t in d.about),
            is_source=bool(_SOURCE_CLASSES & set(kinds)),
        )


def _line(triples: Iterable[Triple]) -> int | None:
    for t in triples:
        if t.predicate == MK_LINE and isinstance(t.object, Literal):
            try:
                return int(t.object.value)
            except ValueError:
                return None
    return None


def _part_key(iri: str, triples: list[Triple]) -> tuple[int, tuple[object, ...]]:
    """Lines in line order (``#L9`` before ``#L10``), other parts after them by name."""
    line = _line(triples)
    return (line, ()) if line is not None else (1 << 30, natural(iri))
