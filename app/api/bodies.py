"""What the JSON API answers: one description of each body, and what each key means in RDF.

The models below are the published contract: FastAPI writes them into ``/openapi.json``, and
the tests validate real bodies of every route against them. :data:`TERMS` says, once per key,
what the key means in RDF (a JSON-LD term definition; ``None``: a key for programs only), and
:func:`context` makes the API's JSON-LD context from it; a test holds every model key to an
entry, so no key is published without its meaning, and holds the context to the version
published as ``/api/context/v{CONTEXT_VERSION}.jsonld``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from app.namespaces import PREFIXES
from app.read.tables import CodeKind

T = TypeVar("T")

# --- the bodies ------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    status: int
    code: str = Field(description="Stable, for programs: not-found, invalid-parameter, …")
    message: str = Field(description="For people.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next`` is the URL of the following page, null on the last."""

    items: list[T]
    total: int = Field(description="Items matching the filters, over all pages.")
    limit: int
    offset: int
    next: str | None


class Linked(BaseModel):
    """What every resource carries: its data IRI and where to follow it."""

    iri: str = Field(description="The data IRI (JSON-LD @id).")
    href: str | None = Field(description="Path where the IRI dereferences on this service.")


class ApiLinked(Linked):
    url: str = Field(description="Where this API answers about the resource.")


class ConceptOut(BaseModel):
    """A term of a controlled vocabulary (source type, author type, impact level, …)."""

    iri: str
    label: str | None
    notation: str | None


class FileOut(BaseModel):
    """A seed file, by its path inside the corpus (collection folder / file name)."""

    iri: str | None
    path: str | None


class Counts(BaseModel):
    sources: int
    practice: int
    pattern: int
    force: int
    decision: int
    unresolved: int


class CollectionLinks(BaseModel):
    sources: str
    codes: str


class CollectionOut(ApiLinked):
    type: Literal["collection"] = "collection"
    name: str
    title: str | None
    description: str | None
    triples: int
    codebook: str
    counts: Counts
    links: CollectionLinks


Statement = Literal["evidence", "impact", "option", "dependency", "next", "label", "kind"]


class DriftCounts(BaseModel):
    notes_only: int = Field(description="Stated by the notes, not by the model.")
    model_only: int = Field(description="Stated by the model, not by the notes.")
    differ: int = Field(description="Stated by both, with other values (sign, name, kind…).")


class DifferenceOut(BaseModel):
    """One statement the two layers do not share, or share with other values."""

    statement: Statement
    subject: str = Field(description="What it is about: source → code, solution → force, …")
    notes: str | None = Field(description="The notes' value; null when they lack it.")
    model: str | None = Field(description="The model's value; null when it lacks it.")
    notes_at: list[str] = Field(description="collection/file:line of each note statement.")
    model_at: list[str] = Field(description="collection/file:line of each model statement.")


class DriftOut(BaseModel):
    """What a study's notes and its consolidated model state differently: the counts per kind
    of statement, and each difference (keys for programs: a comparison, not graph data)."""

    collection: str
    counts: dict[Statement, DriftCounts]
    disagreements: list[DifferenceOut]


class SourceRef(ApiLinked):
    type: Literal["source"] = "source"
    collection: str
    id: str
    title: str | None


class SourceItem(SourceRef):
    """A source with the values the graph shows for it (the trace's where present)."""

    source_url: str | None
    tiny_url: str | None
    archive_url: str | None
    source_type: ConceptOut | None
    author_type: ConceptOut | None
    interview: bool
    example: bool | None
    source_code: bool | None
    file: FileOut | None
    line: int | None
    quote_count: int
    code_count: int


RecordValue = bool | int | str | None


class RecordOut(Linked):
    """The source's metadata as one part of its note writes it, values exactly as written."""

    type: Literal["header", "trace"]
    line: int | None
    id: str | None = None
    title: RecordValue = None
    source_url: RecordValue = None
    tiny_url: RecordValue = None
    archive_url: RecordValue = None
    source_type_name: RecordValue = None
    author_type_name: RecordValue = None
    example: RecordValue = None
    source_code: RecordValue = None
    variable: str | None = None


class DisagreementOut(BaseModel):
    """A field both records give, differently (the service shows the trace's)."""

    field: str
    header: RecordValue
    trace: RecordValue
    header_line: int | None
    trace_line: int | None


class QuoteOut(Linked):
    type: Literal["quote"] = "quote"
    position: int = Field(description="The quote's position in its note (1-based).")
    text: str
    file: FileOut | None
    line: int | None
    end_line: int | None


class MemoOut(Linked):
    """An open code the analyst wrote about the source (a memo), with its line."""

    type: Literal["memo"] = "memo"
    position: int = Field(description="The memo's position in its note (1-based).")
    text: str
    file: FileOut | None
    line: int | None


class CodeRef(ApiLinked):
    type: Literal["code"] = "code"
    collection: str
    ident: str
    kind: CodeKind
    label: str | None


class SourceDetail(SourceItem):
    header: RecordOut | None
    trace: RecordOut | None
    disagreements: list[DisagreementOut]
    quotes: list[QuoteOut]
    memos: list[MemoOut]
    codes: list[CodeRef] = Field(description="The codes this source is evidence of.")


class CodeItem(CodeRef):
    alt_labels: list[str]
    set_aside: bool = Field(description="Every statement of it sits inside ''' strings.")
    source_count: int = Field(description="Sources that evidence it.")


class DefinitionOut(Linked):
    type: Literal["definition"] = "definition"
    label: str | None
    declared_kind: CodeKind | None
    in_string: bool
    file: FileOut | None
    line: int | None
    in_source: SourceRef | None


class EvidenceOut(SourceRef):
    """A source that evidences the code, with the quotes of the blocks it was coded in."""

    quotes: list[QuoteOut]


class StatementOut(Linked):
    """The file and line where a fact is stated."""

    file: FileOut
    line: int | None


class FactOut(Linked):
    set_aside: bool
    sources: list[SourceRef]
    statements: list[StatementOut]


class ImpactOut(FactOut):
    type: Literal["impact"] = "impact"
    solution: CodeRef | None
    force: CodeRef | None
    level: ConceptOut | None
    level_as_written: str | None


class OptionOut(FactOut):
    type: Literal["option"] = "option"
    decision: CodeRef | None
    option: CodeRef | None
    option_name: str | None


class DependencyOut(FactOut):
    type: Literal["dependency"] = "dependency"
    dependent: CodeRef | None
    required: CodeRef | None
    dependency_kind: ConceptOut | None
    dependency_kind_as_written: str | None
    role: str | None


class CodeDetail(CodeItem):
    closest_defined: CodeRef | None = Field(description="For an unresolved code.")
    definitions: list[DefinitionOut]
    sources: list[EvidenceOut]
    impacts: list[ImpactOut] = Field(description="Force impacts where this is the solution.")
    impacted_by: list[ImpactOut] = Field(description="Force impacts where this is the force.")
    options: list[OptionOut] = Field(description="The options of this decision.")
    option_of: list[OptionOut] = Field(description="Decisions this is an option of.")
    depends_on: list[DependencyOut]
    required_by: list[DependencyOut]


class SearchHit(ApiLinked):
    type: Literal["code", "quote", "memo"]
    collection: str
    label: Annotated[str | None, Field(description="Code: its label.")] = None
    ident: Annotated[str | None, Field(description="Code: its identifier.")] = None
    kind: CodeKind | None = None
    snippet: Annotated[
        str | None, Field(description="Quote or memo: the text around the match.")
    ] = None
    source: Annotated[SourceRef | None, Field(description="Quote or memo: its source.")] = None
    line: Annotated[int | None, Field(description="Quote or memo: its first line.")] = None


class IndexLinks(BaseModel):
    collections: str
    sources: str
    codes: str
    practices: str
    patterns: str
    forces: str
    decisions: str
    search: str
    context: str
    openapi: str


class Index(BaseModel):
    title: str
    version: str
    links: IndexLinks


Body = dict[str, Any]
"""A response body or a part of one, keyed and ordered as its response model."""

# --- what an operation documents beside its body ---------------------------------------------

ERRORS: dict[int, str] = {
    400: "Malformed: a query that does not parse, a body not in UTF-8, a missing parameter.",
    403: "Refused: this is a read-only service.",
    404: "No such collection, resource, view or file.",
    406: "None of the media types the Accept header asks for is offered.",
    413: "The request body is past the size limit.",
    414: "The request URL is past the size limit.",
    415: "A body of a media type or charset this operation does not read.",
    422: "A parameter is out of range or malformed.",
    429: "The client already has its share of the query workers; Retry-After says when to retry.",
    500: "The query stopped the worker evaluating it; this is logged.",
    503: "A limit stopped the query, or no query can be answered now; Retry-After says when.",
}
"""What each error status means, the same wherever an operation can answer it."""

Responses = dict[int | str, dict[str, Any]]


def errors(*statuses: int) -> Responses:
    """The errors an operation can answer, each with the one error body."""
    return {status: {"model": ErrorBody, "description": ERRORS[status]} for status in statuses}


def answered_as(description: str, *media_types: str) -> Responses:
    """A success answered in any of ``media_types`` (content negotiation or a fixed type)."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}


# --- what the keys mean ---------------------------------------------------------------------

CONTEXT_PREFIXES = (
    "mk",
    "dcterms",
    "skos",
    "schema",
    "prov",
    "rdf",
    "rdfs",
    "void",
    "hydra",
    "oa",
)
"""The vocabularies the context declares prefixes for (IRIs from :data:`PREFIXES`)."""

HYDRA = "http://www.w3.org/ns/hydra/core#"

TERMS: dict[str, object] = {
    "iri": "@id",
    "type": {
        "@id": "rdf:type",
        "@type": "@vocab",
        "@context": {
            "collection": "mk:Collection",
            "source": "mk:Source",
            "header": "mk:HeaderRecord",
            "trace": "mk:TraceRecord",
            "quote": "mk:Quote",
            "memo": "mk:Memo",
            "code": "mk:Code",
            "definition": "mk:CodeDefinition",
            "impact": "mk:ForceImpact",
            "option": "mk:DecisionOption",
            "dependency": "mk:Dependency",
        },
    },
    "kind": {
        "@id": "rdf:type",
        "@type": "@vocab",
        "@context": {
            "practice": "mk:Practice",
            "pattern": "mk:Pattern",
            "force": "mk:Force",
            "decision": "mk:Decision",
            "unresolved": "mk:UnresolvedCode",
        },
    },
    "url": {"@id": "rdfs:seeAlso", "@type": "@id"},
    "href": None,
    "links": None,
    "counts": None,
    "collection": None,
    "version": None,
    "interview": None,
    "quote_count": None,
    "code_count": None,
    "source_count": None,
    "position": None,
    "snippet": None,
    "disagreements": None,
    "items": {"@id": "hydra:member", "@container": "@set"},
    "total": "hydra:totalItems",
    "limit": "hydra:limit",
    "offset": "hydra:offset",
    "next": {"@id": "hydra:next", "@type": "@id"},
    "name": "dcterms:identifier",
    "id": "dcterms:identifier",
    "ident": "dcterms:identifier",
    "title": "dcterms:title",
    "description": "dcterms:description",
    "triples": "void:triples",
    "codebook": {"@id": "mk:codebook", "@type": "@id"},
    "source_url": "schema:url",
    "tiny_url": "mk:tinyUrl",
    "archive_url": "mk:archiveUrl",
    "source_type": "mk:sourceType",
    "author_type": "mk:authorType",
    "source_type_name": "mk:sourceTypeName",
    "author_type_name": "mk:authorTypeName",
    "example": "mk:example",
    "source_code": "mk:sourceCode",
    "variable": "mk:variable",
    "header": "mk:headerRecord",
    "trace": "mk:traceRecord",
    "file": "mk:seedFile",
    "path": "mk:path",
    "line": "mk:line",
    "end_line": "mk:endLine",
    "quotes": {"@reverse": "dcterms:isPartOf"},
    "memos": {
        "@reverse": "oa:hasTarget",
        "@container": "@set",
        "@context": {"text": "oa:bodyValue"},
    },
    "source": "dcterms:isPartOf",
    "text": "schema:text",
    "codes": {"@reverse": "mk:evidenceSource"},
    "label": "skos:prefLabel",
    "alt_labels": {"@id": "skos:altLabel", "@container": "@set"},
    "notation": "skos:notation",
    "set_aside": "mk:setAside",
    "closest_defined": "mk:closestDefined",
    "definitions": {
        "@id": "mk:definition",
        "@container": "@set",
        "@context": {"label": "mk:label"},
    },
    "declared_kind": {
        "@id": "mk:declaredKind",
        "@type": "@vocab",
        "@context": {
            "practice": "mk:Practice",
            "pattern": "mk:Pattern",
            "force": "mk:Force",
            "decision": "mk:Decision",
        },
    },
    "in_string": "mk:inString",
    "in_source": "mk:inSource",
    "sources": {"@id": "mk:evidenceSource", "@container": "@set"},
    "statements": {"@id": "prov:atLocation", "@container": "@set"},
    "impacts": {"@reverse": "mk:solution"},
    "impacted_by": {"@reverse": "mk:force"},
    "options": {"@reverse": "mk:decision"},
    "option_of": {"@reverse": "mk:option"},
    "depends_on": {"@reverse": "mk:dependentSolution"},
    "required_by": {"@reverse": "mk:requiredSolution"},
    "solution": "mk:solution",
    "force": "mk:force",
    "level": "mk:impactLevel",
    "level_as_written": "mk:impactAsWritten",
    "decision": "mk:decision",
    "option": "mk:option",
    "option_name": "mk:optionName",
    "dependent": "mk:dependentSolution",
    "required": "mk:requiredSolution",
    "dependency_kind": "mk:dependencyKind",
    "dependency_kind_as_written": "mk:dependencyKindAsWritten",
    "role": "mk:roleName",
}


CONTEXT_VERSION = 2
"""The version of :func:`context` the bodies name; each published version is a file in
:data:`CONTEXTS` and never changes, so a change of :data:`TERMS` is a new version."""
CONTEXTS = Path(__file__).parent / "contexts"


def context() -> dict[str, object]:
    """The API's JSON-LD context (:data:`CONTEXT_VERSION`): the prefixes, then every key's
    meaning."""
    spaces = {**PREFIXES, "hydra": HYDRA}
    prefixes = {name: spaces[name] for name in CONTEXT_PREFIXES}
    return {"@context": {"@version": 1.1, **prefixes, **TERMS}}
