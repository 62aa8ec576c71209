"""Answering the JSON API: bodies written from the tables, paging, negotiation, parameters.

Bodies are the models of :mod:`app.api.bodies`, written as plain dicts (see :class:`Out`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.api import bodies, urls
from app.api.bodies import (
    Body,
    Counts,
    RecordOut,
    Responses,
    SearchHit,
    errors,
)
from app.api.errors import ApiError, NotFound
from app.api.negotiation import choose
from app.api.service import Service
from app.api.urls import here, origin
from app.iris import Minter, segment
from app.model import SourceTypeName
from app.read import lookup
from app.read.tables import (
    MK,
    CodeRow,
    Fact,
    MemoRow,
    QuoteRow,
    Record,
    SourceRow,
    Tables,
)

JSON = "application/json"
JSONLD = "application/ld+json"
OFFERS = [JSON, JSONLD]
CONTEXT_PATH = f"/api/context/v{bodies.CONTEXT_VERSION}.jsonld"

T = TypeVar("T")
Detail = TypeVar("Detail", lookup.SourceView, lookup.CodeView)
R = TypeVar("R", SourceRow, CodeRow)

# --- building the bodies -------------------------------------------------------------------------


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

    def memo(self, m: MemoRow) -> Body:
        owner = self.tables.source_by_iri.get(m.source)
        return {
            "iri": m.iri,
            "href": self.href(m.iri),
            "type": "memo",
            "position": m.position,
            "text": m.text,
            "file": self.file(owner.file if owner else None, m.path),
            "line": m.line,
        }

    def source_detail(self, d: lookup.SourceView) -> Body:
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
            memos=[self.memo(m) for m in d.memos],
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

    def code_detail(self, d: lookup.CodeView) -> Body:
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
        found = h.quote or h.memo
        assert found is not None
        body: Body = dict.fromkeys(HIT_FIELDS)  # in the model's order, the other kind's None
        body.update(
            iri=found.iri,
            href=self.href(found.iri),
            url=self.api("collections", found.collection, "sources", found.source_id),
            type="quote" if h.quote is not None else "memo",
            collection=found.collection,
            snippet=lookup.snippet(found.text, h.at, length),
            source=self.kept(
                "source ref", self.tables.source_by_iri[found.source], self.source_ref
            ),
            line=found.line,
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


async def writer(request: Request, service: Service) -> Out:
    """What writes the answer, with the snapshot's tables: waited for off the event loop while
    they are made (half a minute at ×100 the corpus), so that SPARQL and everything else is
    answered meanwhile."""
    tables = lookup.ready(service.store)
    if tables is None:
        tables = await run_in_threadpool(lookup.tables, service.store)
    return Out(origin(request), service, tables)


def respond(request: Request, body: Body) -> Response:
    """The body as JSON, or as JSON-LD (the same object with an ``@context``) when preferred."""
    media = choose(request.headers.get("accept"), OFFERS)
    if media is None:
        raise ApiError(406, "not-acceptable", "offered: " + ", ".join(OFFERS))
    if media == JSONLD:
        body = {"@context": origin(request) + CONTEXT_PATH, **body}
    return Response(orjson.dumps(body), media_type=media, headers={"Vary": "Accept"})


def page(request: Request, items: Sequence[object], total: int, limit: int, offset: int) -> Body:
    following = offset + limit
    nxt = here(request, offset=following) if following < total else None
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next": nxt}


def known_collection(service: Service, name: str) -> str:
    """The collection a parameter names, checked: an unknown one is a 404."""
    if not any(c.name == name for c in service.store.info.collections):
        raise NotFound(f"no collection named {name!r}")
    return name


def collection_filter(service: Service, name: str | None) -> str | None:
    """An optional collection filter, checked like a path parameter."""
    return None if name is None else known_collection(service, name)


def api_router() -> APIRouter:
    """A router of the JSON API: under ``/api``, its operations named ``api_{route name}``."""
    return APIRouter(
        prefix="/api",
        tags=["api"],
        generate_unique_id_function=lambda route: f"api_{route.name}",
    )


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

JSON_OR_LD = {
    "description": "JSON; the same body with an @context under Accept: application/ld+json.",
    "content": {JSONLD: {"schema": {"type": "object"}}},
}
RESOURCE: Responses = {200: JSON_OR_LD, **errors(404, 406, 422)}
"""What a negotiating route documents beside its model: the JSON-LD variant and the errors."""


async def one(
    request: Request,
    what: Literal["source", "code"],
    find: Callable[[Tables, str], Detail | None],
    write: Callable[[Out, Detail], Body],
) -> Response:
    """One source or code, named in the path by its collection and its identifier."""
    service: Service = request.state.service
    name = known_collection(service, request.path_params["collection"])
    ident = request.path_params["source_id" if what == "source" else "ident"]
    minter = Minter(service.base, name, str)
    iri = minter.source(ident) if what == "source" else minter.code(ident)
    out = await writer(request, service)
    detail = find(out.tables, iri)
    if detail is None:
        raise NotFound(f"no {what} {ident!r} in {name}")
    return respond(request, write(out, detail))
