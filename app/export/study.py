"""One study's model layer as the study's artefacts need it, read from the graph with SPARQL.

The artefacts (catalogue, tables, diagrams) are written from what the graph holds, never from
the model files: what the graph says is what is published. Everything comes in the model's
order (``mk:order``: creation order for classes, the order links were added for links), as the
study's own generators wrote it.

Two meanings of "evidence" are offered: ``code`` (the study's: the sources whose code list in
the consolidated model names the code) and ``statement`` (the notes': the sources whose note
defines, mentions or states it), in the order of the source identifiers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from app.namespaces import ONTOLOGY_IRI, sparql_prologue
from app.order import natural
from app.store.seam import GraphReader
from app.terms import Literal, Row

PREFIXES = sparql_prologue("mk", "dcterms", "schema", "skos")


class Evidence(StrEnum):
    """Which sources count as evidence of a code."""

    CODE = "code"  # the consolidated model's code lists (what the study's artefacts use)
    STATEMENT = "statement"  # the notes that define, mention or state it


@dataclass(frozen=True, slots=True)
class Element:
    """A class the model created: its code, label, kind (a class IRI) and creation order."""

    code: str
    label: str
    kind: str
    order: int


@dataclass(frozen=True, slots=True)
class SourceRow:
    code: str
    ident: str
    title: str
    url: str
    tiny_url: str
    source_type: str
    example: bool
    source_code: bool


@dataclass(frozen=True, slots=True)
class Link:
    """A link of the model from ``source`` to ``target``: ``kind`` is a stereotype's name
    (an impact's notation, a dependency's or next decision's label), ``name`` an option's."""

    source: str
    target: str
    kind: str
    name: str = ""
    order: int = 0


@dataclass(slots=True)
class View:
    """A view of the model: listed classes, or a walk from ``start`` (see ``mk:View``)."""

    name: str
    order: int
    start: str = ""
    elements: set[str] = field(default_factory=set)
    stops: set[str] = field(default_factory=set)
    boundaries: set[str] = field(default_factory=set)
    stop_kinds: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Study:
    elements: list[Element] = field(default_factory=list)  # every definition, in order
    sources: list[SourceRow] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # code -> source idents
    options: dict[str, list[Link]] = field(default_factory=dict)  # decision -> its options
    impacts: dict[str, list[Link]] = field(default_factory=dict)  # solution -> force links
    next: dict[str, list[Link]] = field(default_factory=dict)  # solution -> next decisions
    contexts: dict[str, list[Link]] = field(default_factory=dict)  # decision -> domain classes
    dependencies: list[Link] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # code -> its last model label
    kinds: dict[str, str] = field(default_factory=dict)  # code -> its last model kind
    views: list[View] = field(default_factory=list)

    def links(self) -> list[Link]:
        """Every link the artefacts draw, in the order they were added."""
        groups = (self.options, self.impacts, self.next, self.contexts)
        found = [lk for group in groups for links in group.values() for lk in links]
        return sorted([*found, *self.dependencies], key=lambda lk: lk.order)

    def of_kind(self, kind: str) -> list[Element]:
        return [e for e in self.elements if e.kind == kind]

    def evidence_of(self, code: str) -> list[str]:
        return self.evidence.get(code, [])


MK = "https://w3id.org/meshkg/ontology#"

_ELEMENTS = (
    PREFIXES
    + """SELECT ?code ?label ?kind ?order WHERE {
    ?code mk:definition ?d . ?d a mk:ModelDefinition ; mk:label ?label ; mk:order ?order .
    OPTIONAL { ?d mk:declaredKind ?kind } } ORDER BY ?order"""
)
_SOURCES = (
    PREFIXES
    + """SELECT ?source ?ident ?title ?url ?tiny ?type ?example ?sourceCode WHERE {
    ?source mk:modelRecord ?r . ?r mk:order ?order ; dcterms:identifier ?ident .
    OPTIONAL { ?r dcterms:title ?title } OPTIONAL { ?r schema:url ?url }
    OPTIONAL { ?r mk:tinyUrl ?tiny } OPTIONAL { ?r mk:sourceTypeName ?type }
    OPTIONAL { ?r mk:example ?example } OPTIONAL { ?r mk:sourceCode ?sourceCode } }
    ORDER BY ?order"""
)
_CODE_EVIDENCE = (
    PREFIXES
    + """SELECT ?code ?ident WHERE { ?e a mk:CodeEvidence ;
    mk:evidencedCode ?code ; mk:evidenceSource ?source ; mk:order ?order .
    ?source mk:modelRecord/dcterms:identifier ?ident } ORDER BY ?order"""
)
_STATEMENT_EVIDENCE = (
    PREFIXES
    + """SELECT DISTINCT ?code ?ident WHERE { ?code mk:evidenceSource ?source ;
    skos:inScheme ?scheme . ?source dcterms:identifier ?ident }"""
)
_VIEWS = (
    PREFIXES
    + """SELECT ?view ?name ?order ?part ?member WHERE { ?view a mk:View ;
    dcterms:identifier ?name ; mk:order ?order .
    OPTIONAL { ?view ?part ?member
      FILTER (?part IN (mk:viewStart, mk:viewElement, mk:viewStop, mk:viewBoundary,
                        mk:viewStopKind)) } } ORDER BY ?order"""
)
_NOTATIONS = PREFIXES + "SELECT ?concept ?notation WHERE { ?concept skos:notation ?notation }"
_LINKS = (
    PREFIXES
    + """SELECT ?kind ?from ?to ?stereotype ?name ?order WHERE {
    ?link mk:layer mk:ModelLayer ; mk:order ?order .
    { ?link a mk:DecisionOption ; mk:decision ?from ; mk:option ?to .
      OPTIONAL { ?link mk:optionName ?name } BIND ("option" AS ?kind) }
    UNION { ?link a mk:ForceImpact ; mk:solution ?from ; mk:force ?to .
      OPTIONAL { ?link mk:impactLevel ?stereotype } OPTIONAL { ?link mk:impactAsWritten ?name }
      BIND ("impact" AS ?kind) }
    UNION { ?link a mk:Dependency ; mk:dependentSolution ?from ; mk:requiredSolution ?to .
      OPTIONAL { ?link mk:dependencyKind ?stereotype }
      OPTIONAL { ?link mk:dependencyKindAsWritten ?name } BIND ("dependency" AS ?kind) }
    UNION { ?link a mk:NextDecisionLink ; mk:priorSolution ?from ; mk:nextDecision ?to ;
      mk:nextKind ?stereotype BIND ("next" AS ?kind) }
    UNION { ?link a mk:ContextLink ; mk:contextOf ?from ; mk:domainClass ?to .
      OPTIONAL { ?link mk:contextKind ?stereotype } BIND ("context" AS ?kind) } }
    ORDER BY ?order"""
)


def _text(row: Row, name: str) -> str:
    term = row.get(name)
    return term.value if term is not None else ""


def _flag(row: Row, name: str) -> bool:
    term = row.get(name)
    return isinstance(term, Literal) and term.value == "true"


def read_study(reader: GraphReader, graph: str, evidence: Evidence = Evidence.CODE) -> Study:
    """The model layer of the collection whose named graph is ``graph``."""
    graphs = [graph, ONTOLOGY_IRI]  # the study, and the notations of the stereotypes
    study = Study()
    for row in reader.select(_ELEMENTS, graphs=graphs):
        kind = _text(row, "kind")
        element = Element(_text(row, "code"), _text(row, "label"), kind, int(_text(row, "order")))
        study.elements.append(element)
        study.labels[element.code] = element.label
        study.kinds[element.code] = kind
    for row in reader.select(_SOURCES, graphs=graphs):
        study.sources.append(
            SourceRow(
                _text(row, "source"),
                _text(row, "ident"),
                _text(row, "title"),
                _text(row, "url"),
                _text(row, "tiny"),
                _text(row, "type"),
                _flag(row, "example"),
                _flag(row, "sourceCode"),
            )
        )
    found: dict[str, list[str]] = defaultdict(list)
    if evidence is Evidence.CODE:
        for row in reader.select(_CODE_EVIDENCE, graphs=graphs):
            found[_text(row, "code")].append(_text(row, "ident"))
    else:
        for row in reader.select(_STATEMENT_EVIDENCE, graphs=graphs):
            found[_text(row, "code")].append(_text(row, "ident"))
        for idents in found.values():
            idents.sort(key=natural)
    study.evidence = dict(found)
    by_kind: dict[str, dict[str, list[Link]]] = {
        "option": study.options,
        "impact": study.impacts,
        "next": study.next,
        "context": study.contexts,
    }
    notation = {
        _text(row, "concept"): _text(row, "notation")
        for row in reader.select(_NOTATIONS, graphs=[ONTOLOGY_IRI])
    }
    for row in reader.select(_LINKS, graphs=graphs):
        kind = _text(row, "kind")
        concept = _text(row, "stereotype")
        stereotype = notation.get(concept) or _text(row, "name") or concept.removeprefix(MK)
        link = Link(
            _text(row, "from"),
            _text(row, "to"),
            "option" if kind == "option" else stereotype,
            _text(row, "name") if kind == "option" else "",
            int(_text(row, "order")),
        )
        if kind == "dependency":
            study.dependencies.append(link)
        else:
            by_kind[kind].setdefault(link.source, []).append(link)
    views: dict[str, View] = {}
    parts = {"viewStart": "start", "viewElement": "elements", "viewStop": "stops"}
    parts |= {"viewBoundary": "boundaries", "viewStopKind": "stop_kinds"}
    for row in reader.select(_VIEWS, graphs=graphs):
        view = views.setdefault(
            _text(row, "view"), View(_text(row, "name"), int(_text(row, "order")))
        )
        attr = parts.get(_text(row, "part").removeprefix(MK))
        if attr == "start":
            view.start = _text(row, "member")
        elif attr is not None:
            getattr(view, attr).add(_text(row, "member"))
    study.views = list(views.values())
    return study
