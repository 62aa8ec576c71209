"""The JSON API under ``/api``: collections, sources, codes and search, each also as JSON-LD.

Shape, for programs rather than for RDF tools: every list is a page (``items``, ``total``,
``limit``, ``offset``, ``next``) in a deterministic order; every item carries its data ``iri``,
the ``href`` where that IRI dereferences on this service and the API ``url`` it is read at.
The same URL asked for with ``Accept: application/ld+json`` answers the same body plus an
``@context`` naming the published, versioned context (``/api/context/v1.jsonld``), which maps
the keys onto the ontology's terms, so the JSON is also RDF without a second representation to
keep in step. Reads come from :mod:`app.read.lookup`; nothing here talks SPARQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from app import __version__
from app.api import urls
from app.api.errors import ApiError, NotFound
from app.api.negotiation import choose
from app.api.service import Service, ServiceDep
from app.api.urls import here, origin
from app.iris import Minter, segment
from app.model import SourceTypeName
from app.read import lookup
from app.read.tables import (
    MK,
    CodeKind,
    CodeRow,
    CodeSort,
    Fact,
    QuoteRow,
    Record,
    SourceRow,
    SourceSort,
    Tables,
)

JSON = "application/json"
JSONLD = "application/ld+json"
OFFERS = [JSON, JSONLD]
CONTEXT_FILE = Path(__file__).resolve().parent.parent / "static" / "context-v1.jsonld"
CONTEXT_PATH = "/api/context/v1.jsonld"

T = TypeVar("T")
Detail = TypeVar("Detail", lookup.SourceDetail, lookup.CodeDetail)
R = TypeVar("R", SourceRow, CodeRow)

# --- response models ------------------------------------------------------------------------------


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
    type: Literal["code", "quote"]
    collection: str
    label: Annotated[str | None, Field(description="Code: its label.")] = None
    ident: Annotated[str | None, Field(description="Code: its identifier.")] = None
    kind: CodeKind | None = None
    snippet: Annotated[str | None, Field(description="Quote: the text around the match.")] = None
    source: Annotated[SourceRef | None, Field(description="Quote: its source.")] = None
    line: Annotated[int | None, Field(description="Quote: its first line.")] = None


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


# --- building the bodies -------------------------------------------------------------------------

Body = dict[str, Any]
"""A response body or a part of one, keyed and ordered as its response model."""


@dataclass(frozen=True, slots=True)
class Out:
    """Turns read rows into bodies for one request (its host, the service's paths).

    Bodies are plain dicts serialised by orjson, not response models: building and validating
    a model per item was most of a route's time (a 50-source page 0.8 ms of 0.9 ms, a code
    with 300 KB of evidence 7 ms). The models stay the published contract, and the tests
    validate real bodies of every route against them, so the two cannot drift apart.
    """

    root: str
    service: Service
    tables: Tables

    def href(self, iri: str | None) -> str | None:
        return self.service.path_for_iri(iri) if iri else None

    def api(self, *parts: str) -> str:
        return self.root + urls.api(*parts)

    def concept(self, iri: str | None) -> Body | None:
        if iri is None:
            return None
        found = self.tables.concepts.get(iri)
        fallback = iri.rsplit("#", 1)[-1]
        if found is None:
            return {"iri": iri, "label": fallback, "notation": None}
        return {"iri": iri, "label": found.label or fallback, "notation": found.notation}

    def file(self, iri: str | None, path: str | None) -> Body | None:
        return {"iri": iri, "path": path} if iri or path else None

    def collection(self, name: str) -> Body:
        info = next(c for c in self.service.store.info.collections if c.name == name)
        return {
            "iri": info.graph,
            "href": self.href(info.graph),
            "url": self.api("collections", name),
            "type": "collection",
            "name": name,
            "title": info.title or name,
            "description": info.description,
            "triples": info.triples,
            "codebook": Minter(self.service.base, name, str).codebook,
            "counts": {key: self.tables.counts[name][key] for key in COUNTS},
            "links": {
                "sources": f"{self.root}/api/sources?collection={segment(name)}",
                "codes": f"{self.root}/api/codes?collection={segment(name)}",
            },
        }

    def kept(self, kind: str, row: R, write: Callable[[R], Body]) -> orjson.Fragment:
        """A row's JSON as an item (of a list, or a search hit's code or source), written once
        for this host and kept (see ``cache.Bodies``)."""
        return self.service.bodies.item(kind, self.root, row.iri, lambda: write(row))

    def source_ref(self, s: SourceRow) -> Body:
        return {
            "iri": s.iri,
            "href": self.href(s.iri),
            "url": self.api("collections", s.collection, "sources", s.id),
            "type": "source",
            "collection": s.collection,
            "id": s.id,
            "title": s.title,
        }

    def source_item(self, s: SourceRow) -> Body:
        body = self.source_ref(s)
        body.update(
            source_url=s.source_url,
            tiny_url=s.tiny_url,
            archive_url=s.archive_url,
            source_type=self.concept(s.source_type),
            author_type=self.concept(s.author_type),
            interview=s.interview,
            example=s.example,
            source_code=s.source_code,
            file=self.file(s.file, s.path),
            line=s.line,
            quote_count=s.quotes,
            code_count=s.codes,
        )
        return body

    def record(self, kind: Literal["header", "trace"], r: Record | None) -> Body | None:
        if r is None:
            return None
        ident, variable = r.values.get("id"), r.values.get("variable")
        body: Body = {
            "iri": r.iri,
            "href": self.href(r.iri),
            "type": kind,
            "line": r.line,
            "id": None if ident is None else str(ident),
        }
        body.update((name, r.values.get(name)) for name in RECORD_VALUES)
        body["variable"] = None if variable is None else str(variable)
        return body

    def quote(self, q: QuoteRow) -> Body:
        owner = self.tables.source_by_iri.get(q.source)
        return {
            "iri": q.iri,
            "href": self.href(q.iri),
            "type": "quote",
            "position": q.position,
            "text": q.text,
            "file": self.file(owner.file if owner else None, q.path),
            "line": q.line,
            "end_line": q.end_line,
        }

    def source_detail(self, d: lookup.SourceDetail) -> Body:
        body = self.source_item(d.row)
        body.update(
            header=self.record("header", d.header),
            trace=self.record("trace", d.trace),
            disagreements=[
                {
                    "field": x.field,
                    "header": x.header,
                    "trace": x.trace,
                    "header_line": x.header_line,
                    "trace_line": x.trace_line,
                }
                for x in d.disagreements
            ],
            quotes=[self.quote(q) for q in d.quotes],
            codes=[self.code_ref(c) for c in d.codes],
        )
        return body

    def code_ref(self, c: CodeRow) -> Body:
        return {
            "iri": c.iri,
            "href": self.href(c.iri),
            "url": self.api("collections", c.collection, "codes", c.ident),
            "type": "code",
            "collection": c.collection,
            "ident": c.ident,
            "kind": c.kind,
            "label": c.label,
        }

    def code_item(self, c: CodeRow) -> Body:
        body = self.code_ref(c)
        body.update(alt_labels=c.alt_labels, set_aside=c.set_aside, source_count=c.sources)
        return body

    def maybe_code(self, c: CodeRow | None) -> Body | None:
        return self.code_ref(c) if c is not None else None

    def fact(self, f: Fact, kind: str) -> Body:
        return {
            "iri": f.iri,
            "href": self.href(f.iri),
            "set_aside": f.texts.get(MK + "setAside") is True,
            "sources": [self.source_ref(s) for s in f.sources],
            "statements": [
                {
                    "iri": x.iri,
                    "href": self.href(x.iri),
                    "file": {"iri": x.iri.split("#", 1)[0], "path": x.path},
                    "line": x.line,
                }
                for x in f.locations
            ],
            "type": kind,
        }

    def impact(self, f: Fact) -> Body:
        written = f.texts.get(MK + "impactAsWritten")
        body = self.fact(f, "impact")
        body.update(
            solution=self.maybe_code(f.code(self.tables, "solution")),
            force=self.maybe_code(f.code(self.tables, "force")),
            level=self.concept(f.links.get(MK + "impactLevel")),
            level_as_written=None if written is None else str(written),
        )
        return body

    def option(self, f: Fact) -> Body:
        name = f.texts.get(MK + "optionName")
        body = self.fact(f, "option")
        body.update(
            decision=self.maybe_code(f.code(self.tables, "decision")),
            option=self.maybe_code(f.code(self.tables, "option")),
            option_name=None if name is None else str(name),
        )
        return body

    def dependency(self, f: Fact) -> Body:
        written = f.texts.get(MK + "dependencyKindAsWritten")
        role = f.texts.get(MK + "roleName")
        body = self.fact(f, "dependency")
        body.update(
            dependent=self.maybe_code(f.code(self.tables, "dependentSolution")),
            required=self.maybe_code(f.code(self.tables, "requiredSolution")),
            dependency_kind=self.concept(f.links.get(MK + "dependencyKind")),
            dependency_kind_as_written=None if written is None else str(written),
            role=None if role is None else str(role),
        )
        return body

    def code_detail(self, d: lookup.CodeDetail) -> Body:
        facts = d.facts
        body = self.code_item(d.row)
        body.update(
            closest_defined=self.maybe_code(d.closest),
            definitions=[
                {
                    "iri": x.iri,
                    "href": self.href(x.iri),
                    "type": "definition",
                    "label": x.label,
                    "declared_kind": x.declared_kind,
                    "in_string": x.in_string,
                    "file": self.file(x.source.file, x.source.path) if x.source else None,
                    "line": x.line,
                    "in_source": self.source_ref(x.source) if x.source else None,
                }
                for x in d.definitions
            ],
            sources=[
                {**self.source_ref(s), "quotes": [self.quote(q) for q in quotes]}
                for s, quotes in d.evidence
            ],
            impacts=[self.impact(f) for f in facts["solution"]],
            impacted_by=[self.impact(f) for f in facts["force"]],
            options=[self.option(f) for f in facts["decision"]],
            option_of=[self.option(f) for f in facts["option"]],
            depends_on=[self.dependency(f) for f in facts["dependentSolution"]],
            required_by=[self.dependency(f) for f in facts["requiredSolution"]],
        )
        return body

    def hit(self, h: lookup.Hit, length: int) -> Body | orjson.Fragment:
        if h.code is not None:
            return self.kept("code hit", h.code, self.code_hit)
        assert h.quote is not None
        body: Body = dict.fromkeys(HIT_FIELDS)  # in the model's order, the other kind's None
        q = h.quote
        body.update(
            iri=q.iri,
            href=self.href(q.iri),
            url=self.api("collections", q.collection, "sources", q.source_id),
            type="quote",
            collection=q.collection,
            snippet=lookup.snippet(q.text, h.at, length),
            source=self.kept("source ref", self.tables.source_by_iri[q.source], self.source_ref),
            line=q.line,
        )
        return body

    def code_hit(self, c: CodeRow) -> Body:
        body: Body = dict.fromkeys(HIT_FIELDS)  # in the model's order, the quote's fields None
        body.update(self.code_ref(c))
        return body


COUNTS = tuple(Counts.model_fields)
HIT_FIELDS = tuple(SearchHit.model_fields)
RECORD_VALUES = tuple(
    name
    for name in RecordOut.model_fields
    if name not in ("iri", "href", "type", "line", "id", "variable")
)


async def _out(request: Request, service: Service) -> Out:
    """What writes the answer, with the snapshot's tables: waited for off the event loop while
    they are made (half a minute at ×100 the corpus), so that SPARQL and everything else is
    answered meanwhile."""
    tables = lookup.ready(service.store)
    if tables is None:
        tables = await run_in_threadpool(lookup.tables, service.store)
    return Out(origin(request), service, tables)


def _respond(request: Request, body: Body) -> Response:
    """The body as JSON, or as JSON-LD (the same object with an ``@context``) when preferred."""
    media = choose(request.headers.get("accept"), OFFERS)
    if media is None:
        raise ApiError(406, "not-acceptable", "offered: " + ", ".join(OFFERS))
    if media == JSONLD:
        body = {"@context": origin(request) + CONTEXT_PATH, **body}
    return Response(orjson.dumps(body), media_type=media, headers={"Vary": "Accept"})


def _page(request: Request, items: Sequence[object], total: int, limit: int, offset: int) -> Body:
    following = offset + limit
    nxt = here(request, offset=following) if following < total else None
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next": nxt}


def _collection(service: Service, name: str) -> str:
    """The collection a parameter names, checked: an unknown one is a 404."""
    if not any(c.name == name for c in service.store.info.collections):
        raise NotFound(f"no collection named {name!r}")
    return name


def _filter(service: Service, name: str | None) -> str | None:
    """An optional collection filter, checked like a path parameter."""
    return None if name is None else _collection(service, name)


# --- parameters --------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page (1–500).")]
MAX_OFFSET = 2**53 - 1
"""The largest integer every JSON reader keeps exactly: a page echoes its offset back."""
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
Order = Annotated[lookup.Order, Query(description="Sort direction.")]
CollectionParam = Annotated[
    str | None, Query(max_length=200, description="Only this collection (e.g. data-as-a-product).")
]
TextFilter = Annotated[
    str | None, Query(min_length=1, max_length=200, description="Case-insensitive substring.")
]
SourceType = Annotated[
    SourceTypeName | None, Query(description="Only sources of this type, as the notes write it.")
]

_NOT_FOUND = {"model": ErrorBody, "description": "No such collection, source or code."}
_NOT_ACCEPTABLE = {"model": ErrorBody, "description": "Neither JSON nor JSON-LD is acceptable."}
_INVALID = {"model": ErrorBody, "description": "A parameter is out of range or malformed."}
_JSON_OR_LD = {
    "description": "JSON; the same body with an @context under Accept: application/ld+json.",
    "content": {JSONLD: {"schema": {"type": "object"}}},
}
RESOURCE: dict[int | str, dict[str, Any]] = {
    200: _JSON_OR_LD,
    404: _NOT_FOUND,
    406: _NOT_ACCEPTABLE,
    422: _INVALID,
}
"""What a negotiating route documents beside its model: the JSON-LD variant and the errors."""

router = APIRouter(
    prefix="/api",
    tags=["api"],
    generate_unique_id_function=lambda route: f"api_{route.name}",
)


# --- routes ------------------------------------------------------------------------------------


@router.get(
    "",
    summary="The API's entry points",
    response_model=Index,
    responses={200: _JSON_OR_LD, 406: _NOT_ACCEPTABLE},
)
async def index(request: Request) -> Response:
    root = origin(request)
    api = root + "/api"
    body = Index(
        title="meshkg JSON API",
        version=__version__,
        links=IndexLinks(
            collections=api + "/collections",
            sources=api + "/sources",
            codes=api + "/codes",
            practices=api + "/practices",
            patterns=api + "/patterns",
            forces=api + "/forces",
            decisions=api + "/decisions",
            search=api + "/search?q={q}",
            context=root + CONTEXT_PATH,
            openapi=root + "/openapi.json",
        ),
    )
    return _respond(request, body.model_dump())


@cache
def _context() -> tuple[bytes, str]:
    body = CONTEXT_FILE.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@router.get(
    "/context/v1.jsonld",
    summary="The JSON-LD context of the API, version 1",
    response_class=Response,
    responses={200: {"content": {JSONLD: {"schema": {"type": "object"}}}}},
)
async def context(request: Request) -> Response:
    """Versioned and never changed once published, so clients may cache it for a year."""
    body, etag = _context()
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSONLD, headers=headers)


@router.get(
    "/collections",
    summary="The collections (studies)",
    response_model=Page[CollectionOut],
    responses=RESOURCE,
)
async def collections(
    request: Request, service: ServiceDep, limit: Limit = 50, offset: Offset = 0
) -> Response:
    out = await _out(request, service)
    names = [c.name for c in service.store.info.collections]
    items = [out.collection(n) for n in names[offset : offset + limit]]
    return _respond(request, _page(request, items, len(names), limit, offset))


@router.get(
    "/collections/{collection}",
    summary="One collection, with its counts",
    response_model=CollectionOut,
    responses=RESOURCE,
)
async def collection(request: Request, service: ServiceDep, collection: str) -> Response:
    name = _collection(service, collection)
    return _respond(request, (await _out(request, service)).collection(name))


@router.get("/sources", summary="Sources", response_model=Page[SourceItem], responses=RESOURCE)
async def sources(
    request: Request,
    service: ServiceDep,
    *,
    collection: CollectionParam = None,
    q: TextFilter = None,
    type: SourceType = None,
    sort: Annotated[SourceSort, Query(description="Sort key.")] = "id",
    order: Order = "asc",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    coll = _filter(service, collection)
    out = await _out(request, service)
    concept = lookup.concept(out.tables, "SourceTypes", type) if type is not None else None
    if type is not None and concept is None:
        rows: list[SourceRow] = []  # a type the loaded ontology does not define
    else:
        rows = lookup.sources(
            out.tables,
            collection=coll,
            q=q,
            source_type=concept.iri if concept else None,
            sort=sort,
            order=order,
        )
    items = [out.kept("source", s, out.source_item) for s in rows[offset : offset + limit]]
    return _respond(request, _page(request, items, len(rows), limit, offset))


async def _one(
    request: Request,
    what: Literal["source", "code"],
    find: Callable[[Tables, str], Detail | None],
    write: Callable[[Out, Detail], Body],
) -> Response:
    """One source or code, named in the path by its collection and its identifier."""
    service: Service = request.state.service
    name = _collection(service, request.path_params["collection"])
    ident = request.path_params["source_id" if what == "source" else "ident"]
    minter = Minter(service.base, name, str)
    iri = minter.source(ident) if what == "source" else minter.code(ident)
    out = await _out(request, service)
    detail = find(out.tables, iri)
    if detail is None:
        raise NotFound(f"no {what} {ident!r} in {name}")
    return _respond(request, write(out, detail))


async def source(request: Request) -> Response:
    return await _one(request, "source", lookup.source, Out.source_detail)


# The two detail routes are plain Starlette routes: they read only their path, and FastAPI's
# per-request parameter and dependency solving was about a third of their time. The FastAPI
# routes registered after them document them in /openapi.json and hand over if ever reached.
router.routes.append(
    Route(router.prefix + "/collections/{collection}/sources/{source_id}", source, name="source")
)


@router.get(
    "/collections/{collection}/sources/{source_id}",
    summary="One source: both records, their disagreements, quotes and codes",
    response_model=SourceDetail,
    responses=RESOURCE,
    name="source",
)
async def _source_documented(request: Request, collection: str, source_id: str) -> Response:
    return await source(request)


async def _codes(
    request: Request,
    service: Service,
    *,
    collection: str | None,
    kind: CodeKind | None,
    q: str | None,
    sort: CodeSort,
    order: lookup.Order,
    limit: int,
    offset: int,
) -> Response:
    coll = _filter(service, collection)
    out = await _out(request, service)
    rows = lookup.codes(out.tables, collection=coll, kind=kind, q=q, sort=sort, order=order)
    items = [out.kept("code", c, out.code_item) for c in rows[offset : offset + limit]]
    return _respond(request, _page(request, items, len(rows), limit, offset))


CodeSortParam = Annotated[
    CodeSort, Query(description="Sort key: label, identifier or number of sources.")
]


@router.get("/codes", summary="Codes", response_model=Page[CodeItem], responses=RESOURCE)
async def codes(
    request: Request,
    service: ServiceDep,
    *,
    collection: CollectionParam = None,
    kind: Annotated[CodeKind | None, Query(description="Only codes of this kind.")] = None,
    q: TextFilter = None,
    sort: CodeSortParam = "label",
    order: Order = "asc",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Patterns are not practices here: ``kind`` is the kind the notes declare."""
    return await _codes(
        request,
        service,
        collection=collection,
        kind=kind,
        q=q,
        sort=sort,
        order=order,
        limit=limit,
        offset=offset,
    )


def _kind_list(kind: CodeKind) -> Callable[..., Coroutine[Any, Any, Response]]:
    async def endpoint(
        request: Request,
        service: ServiceDep,
        *,
        collection: CollectionParam = None,
        q: TextFilter = None,
        sort: CodeSortParam = "label",
        order: Order = "asc",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response:
        return await _codes(
            request,
            service,
            collection=collection,
            kind=kind,
            q=q,
            sort=sort,
            order=order,
            limit=limit,
            offset=offset,
        )

    endpoint.__doc__ = f"The codes of kind {kind}: the same list as /api/codes?kind={kind}."
    return endpoint


for _kind in ("practice", "pattern", "force", "decision"):
    router.add_api_route(
        f"/{_kind}s",
        _kind_list(_kind),
        methods=["GET"],
        name=f"{_kind}s",
        summary=f"{_kind.capitalize()}s",
        response_model=Page[CodeItem],
        responses=RESOURCE,
    )


async def code(request: Request) -> Response:
    return await _one(request, "code", lookup.code, Out.code_detail)


router.routes.append(
    Route(router.prefix + "/collections/{collection}/codes/{ident}", code, name="code")
)


@router.get(
    "/collections/{collection}/codes/{ident}",
    summary="One code with all its evidence",
    response_model=CodeDetail,
    responses=RESOURCE,
    name="code",
)
async def _code_documented(request: Request, collection: str, ident: str) -> Response:
    return await code(request)


@router.get(
    "/search",
    summary="Search code labels, identifiers and quote texts",
    response_model=Page[SearchHit],
    responses=RESOURCE,
)
async def search(
    request: Request,
    service: ServiceDep,
    *,
    q: Annotated[
        str, Query(min_length=1, max_length=200, description="Case-insensitive substring.")
    ],
    collection: CollectionParam = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Codes first (by collection and identifier), then quotes (by source and position)."""
    coll = _filter(service, collection)
    out = await _out(request, service)
    found = lookup.search(out.tables, q, coll)
    items = [out.hit(h, len(q)) for h in lookup.hits(out.tables, found, offset, offset + limit)]
    return _respond(request, _page(request, items, len(found), limit, offset))
