"""Data IRIs dereference here, as HTML or RDF; and ``/``, the home page.

A data IRI ``{base}{rest}`` is served at ``{data_path}{rest}`` (``/meshkg/id/…``). This router
is included last and takes every GET/HEAD path the others left: the path a client sent is read
from ``raw_path`` (``request.url.path`` is percent-decoded, and ``%2F`` inside a segment is not
``/``), then put in the one form the IRIs are minted in (see :func:`canonical_path`).

Negotiation (RFC 9110 via :func:`app.api.negotiation.choose`) over ``text/turtle``,
``text/html``, ``application/ld+json``, ``application/n-triples`` and
``application/rdf+xml``, in that order of preference on ties: ``*/*`` or no ``Accept`` gets
Turtle, as ``/meshkg/ontology`` and ``/sparql`` do, and a browser gets HTML because it asks for
it by name. ``application/x-turtle`` and ``application/json`` are taken as Turtle and JSON-LD
when nothing better fits. Every form also has a URL of its own, the path plus ``.ttl``,
``.jsonld``, ``.nt``, ``.rdf`` or ``.html``: a link on a page cannot set ``Accept``. A path that
names a resource itself always wins over reading it as a suffix form, and a suffix form that
would collide with another resource is not advertised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, quote_from_bytes, unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Match

from app import __version__
from app.api import urls, view_bodies
from app.api.errors import error_response
from app.api.negotiation import choose
from app.api.pages import render
from app.api.service import Service, ServiceDep
from app.api.urls import absolute_origin
from app.namespaces import ONTOLOGY_IRI, PREFIXES
from app.rdf.formats import FORMATS, RdfFormat, graph_format
from app.read import lookup, research
from app.read import resource as d
from app.store.write import write
from app.terms import Iri, Literal, Triple

router = APIRouter(include_in_schema=False)

HTML = "text/html"
_RDF: tuple[RdfFormat, ...] = tuple(f for f in FORMATS if not f.quads)
_NAMES = {"turtle": "Turtle", "ntriples": "N-Triples", "jsonld": "JSON-LD", "rdfxml": "RDF/XML"}

OFFERS: list[str] = [
    "text/turtle",
    HTML,
    "application/ld+json",
    "application/n-triples",
    "application/rdf+xml",
]
"""The representations of a data IRI, in the order that wins ties (``application/*`` gets
JSON-LD, which more clients read than N-Triples)."""
assert set(OFFERS) == {HTML, *(f.media_type for f in _RDF)}
_ALIASES: dict[str, str] = {a: f.media_type for f in _RDF for a in f.aliases} | {
    "application/json": "application/ld+json"
}
SUFFIXES: dict[str, str] = {f.extension: f.media_type for f in _RDF} | {".html": HTML}
_LABEL = {f.media_type: _NAMES.get(f.name, f.name) for f in _RDF} | {HTML: "HTML"}
_CUT_HEADER = "Meshkg-Result-Cut"
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


# --- paths ----------------------------------------------------------------------------------


def _segment(raw: str) -> str:
    """One path segment as :func:`app.iris.segment` mints it: decode, then encode everything
    but the unreserved characters (``.`` and ``..`` alone stay encoded)."""
    try:
        value = unquote(raw, errors="surrogatepass")
    except UnicodeDecodeError:
        # not UTF-8: it cannot name a minted IRI, keep it as sent (hex in upper case)
        return _PERCENT.sub(lambda m: m.group().upper(), raw)
    if not value:
        return ""
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="", errors="surrogatepass")


def canonical_path(raw: bytes, data_path: str) -> str:
    """The request path in the form data IRIs are minted in.

    ``%2f`` and ``%2F``, ``~`` and ``%7E``, ``(`` and ``%28`` name the same segment; a client
    that sent raw UTF-8 bytes means their percent-encoding. Segments stay split on the ``/``
    actually sent, so an encoded ``%2F`` never becomes a separator.
    """
    text = quote_from_bytes(raw, safe=_PRINTABLE)
    head, tail = (data_path, text[len(data_path) :]) if text.startswith(data_path) else ("", text)
    return head + "/".join(_segment(s) for s in tail.split("/"))


def _request_path(request: Request, service: Service) -> str:
    """The path under the application's root, from the bytes the client sent."""
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):
        raw = quote(request.scope["path"], safe="/").encode("ascii")
    root = str(request.scope.get("root_path", "")).encode("ascii", "replace")
    if root and raw.startswith(root):
        raw = raw[len(root) :]
    return canonical_path(raw, service.data_path)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


# --- responses common to the routes ---------------------------------------------------------


def _bodiless(request: Request, response: Response) -> Response:
    """HEAD: the same status and headers (Content-Length included), without the body."""
    if request.method != "HEAD":
        return response
    return Response(b"", status_code=response.status_code, headers=dict(response.headers))


def _not_found(request: Request, message: str, iri: str | None = None) -> Response:
    """404: the JSON error body, or a small page for a client that asks for HTML first."""
    headers = {"Vary": "Accept"}
    if choose(request.headers.get("accept"), ["application/json", HTML]) == HTML:
        page = render(
            "resource.html", request, title="Not found", missing=True, message=message, iri=iri
        )
        return HTMLResponse(page, status_code=404, headers=headers)
    return error_response(404, "not-found", message, headers)


def _other_methods(request: Request) -> set[str]:
    """Methods other routes take at this path: this catch-all must not turn 405 into 404.

    Each route is asked whether it would take the path with each method; routers included by
    FastAPI answer ``matches`` like plain routes but do not list their methods.
    """
    allowed: set[str] = set()
    for route in request.app.router.routes:
        if getattr(route, "original_router", None) is router or getattr(
            route, "endpoint", None
        ) in (resource, home):
            continue
        for method in _METHODS:
            match, _ = route.matches({**request.scope, "method": method})
            if match is Match.FULL:
                allowed.add(method)
    return allowed


# --- the home page --------------------------------------------------------------------------


@router.api_route("/", methods=["GET", "HEAD"])
async def home(request: Request, service: ServiceDep) -> Response:
    """What this service is and what it holds: HTML for people, a JSON index for programs."""
    offers = [HTML, "application/json"]
    media = choose(request.headers.get("accept"), offers)
    headers = {"Vary": "Accept"}
    if media is None:
        return _bodiless(
            request,
            error_response(
                406, "not-acceptable", "offered: " + ", ".join(offers), headers, offers=offers
            ),
        )
    root = _root(request)
    info = service.store.info
    collections = [
        {
            "name": c.name,
            "title": c.title or c.name,
            "description": c.description,
            "iri": c.graph,
            "page": root + (service.path_for_iri(c.graph) or ""),
            "views": root + urls.view(c.name),
            "triples": c.triples,
            "sources": c.sources,
            "dumps": {f.name: root + urls.dump(c.name, f) for f in FORMATS},
        }
        for c in info.collections
    ]
    links = {
        "sparql": root + urls.SPARQL,
        "api_docs": f"{root}/docs",
        "openapi": f"{root}/openapi.json",
        "void": f"{root}/.well-known/void",
        "ontology": root + service.ontology_path,
        "shapes": root + service.shapes_path,
        "dumps": f"{root}/dumps",
    }
    if media == "application/json":
        body = {
            "service": "meshkg",
            "version": __version__,
            "snapshot": info.key,
            "base_iri": info.base_iri,
            "data_path": root + service.data_path,
            "triples": info.triples,
            "collections": collections,
            "links": links,
        }
        return _bodiless(request, JSONResponse(body, headers=headers))
    page = render(
        "home.html",
        request,
        title="Home",
        info=info,
        collections=collections,
        links=links,
        formats=[(f.name, f.extension) for f in FORMATS],
        all_dumps={f.name: f"{root}/dumps/all{f.extension}" for f in FORMATS},
        data_path=root + service.data_path,
    )
    return _bodiless(request, HTMLResponse(page, headers=headers))


# --- data IRIs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """What a request path names: an IRI and, for a suffix form, the one media type to send."""

    iri: str
    path: str  # the path of the IRI itself, without a suffix
    media: str | None


def _target(service: Service, path: str) -> _Target | None:
    graphs = service.graphs
    iri = service.iri_for_path(path)
    if iri is None:
        return None
    if d.exists(service.store, graphs, iri):
        return _Target(iri, path, None)
    for suffix, media in SUFFIXES.items():
        stem = path[: -len(suffix)]
        if path.endswith(suffix) and stem != service.data_path:
            stem_iri = service.iri_for_path(stem)
            if stem_iri is not None and d.exists(service.store, graphs, stem_iri):
                return _Target(stem_iri, stem, media)
    return None


def _alternates(service: Service, path: str, root: str) -> dict[str, str]:
    """Media type → URL of that form: the suffix form unless it names another resource."""
    graphs = service.graphs
    out = {}
    for suffix, media in SUFFIXES.items():
        other = service.iri_for_path(path + suffix)
        taken = other is not None and d.exists(service.store, graphs, other)
        out[media] = root + (path if taken else path + suffix)
    return {m: out[m] for m in OFFERS}


@router.api_route("/{path:path}", methods=["GET", "HEAD"])
def resource(request: Request, service: ServiceDep) -> Response:
    """A data IRI's document (sync: the store is read in the thread pool, not the loop)."""
    path = _request_path(request, service)
    if service.iri_for_path(path) is None:
        allowed = _other_methods(request)
        if allowed:
            headers = {"Allow": ", ".join(sorted(allowed))}
            return _bodiless(
                request, error_response(405, "method-not-allowed", "Method Not Allowed", headers)
            )
        return _bodiless(request, _not_found(request, "Not Found"))
    target = _target(service, path)
    if target is None:
        iri = service.iri_for_path(path)
        return _bodiless(
            request,
            _not_found(request, f"no resource has the IRI {iri}: the graph never names it", iri),
        )

    root = _root(request)
    alternates = _alternates(service, target.path, root)
    headers = {
        "Link": ", ".join(f'<{url}>; rel="alternate"; type="{m}"' for m, url in alternates.items())
    }
    media = target.media
    if media is None:
        headers["Vary"] = "Accept"
        chosen = choose(request.headers.get("accept"), [*OFFERS, *_ALIASES])
        if chosen is None:
            return _bodiless(
                request,
                error_response(
                    406,
                    "not-acceptable",
                    "offered: " + ", ".join(OFFERS),
                    headers,
                    offers=OFFERS,
                ),
            )
        media = _ALIASES.get(chosen, chosen)
        if alternates[media] != root + target.path:
            headers["Content-Location"] = alternates[media]

    description = d.describe(
        service.store,
        service.graphs,
        target.iri,
        vocabulary=[ONTOLOGY_IRI],
        cap=d.INBOUND_CAP,
    )
    if description is None:  # exists() said yes a moment ago; the snapshot cannot change
        return _bodiless(request, _not_found(request, f"no resource has the IRI {target.iri}"))
    if description.cut:
        headers[_CUT_HEADER] = str(len(description.inbound))

    if media == HTML:
        page = _page(request, service, description, alternates, root)
        return _bodiless(request, HTMLResponse(page, headers=headers))
    triples = description.triples()
    if description.cut:
        document = absolute_origin(request) + target.path
        triples.append(_cut_note(document, description))
    body = write(triples, graph_format(media))
    media_type = media + ("; charset=utf-8" if media.startswith("text/") else "")
    return _bodiless(request, Response(body, media_type=media_type, headers=headers))


def _cut_note(document: str, description: d.Description) -> Triple:
    """A cut document says so in its own triples: JSON-LD has no comments to say it in."""
    text = (
        f"Links to {description.iri.value} cut at {len(description.inbound)} of "
        f"{description.inbound_total}; /sparql has all of them."
    )
    return Triple(Iri(document), d.RDFS_COMMENT, Literal(text))


def _page(
    request: Request,
    service: Service,
    description: d.Description,
    alternates: dict[str, str],
    root: str,
) -> str:
    maker = d.PageMaker(description, service.base, service.path_for_iri, root)
    page = maker.page()
    summary = None
    code = None
    if page.has_evidence or page.is_source:
        tables = lookup.tables(service.store)  # made once per generation, as for /api
        if page.has_evidence:
            page.evidence, page.evidence_cut = d.evidence(tables, page.iri)
        code = tables.code_by_iri.get(page.iri)
        if code is not None:
            found = research.summary(research.study(service.store, code.collection), page.iri)
            if found is not None:
                summary = view_bodies.Writer(lambda iri: maker.href(iri) if iri else None).summary(
                    found
                )
        if page.is_source:
            page.quotes = d.source_quotes(tables, page.iri)
            page.memos = d.source_memos(tables, page.iri)
    query = f"DESCRIBE <{page.iri}>"
    return render(
        "resource.html",
        request,
        title=page.title,
        page=page,
        missing=False,
        alternates=[
            {"label": _LABEL[m], "media": m, "href": url}
            for m, url in alternates.items()
            if m != HTML
        ],
        describe_query=query,
        describe_href=f"{root}/sparql?query={quote(query, safe='')}",
        sparql_href=root + urls.SPARQL,
        collection=_collection_of(service, page.iri, root),
        summary=summary,
        evidence_by_source=_by_source(page.evidence),
        views=[
            (label, root + urls.view(code.collection, *parts))
            for label, parts in (
                ("decisions", ("decisions",)),
                ("practices × forces", ("impacts",)),
            )
        ]
        if summary is not None and code is not None
        else [],
        href=maker.href,
        prefixes=PREFIXES,
    )


def _by_source(quotes: list[d.ShownQuote]) -> list[tuple[d.ShownQuote, list[d.ShownQuote]]]:
    """Evidence quotes grouped by their source (kept in the order they are sorted in): a page
    folds each source's quotes under one line."""
    groups: list[tuple[d.ShownQuote, list[d.ShownQuote]]] = []
    for q in quotes:
        if groups and groups[-1][0].source == q.source:
            groups[-1][1].append(q)
        else:
            groups.append((q, [q]))
    return groups


def _collection_of(service: Service, iri: str, root: str) -> dict[str, str] | None:
    """The collection an IRI belongs to, for the page's breadcrumb (none on its own page)."""
    for c in service.store.info.collections:
        if iri.startswith(c.graph + "/"):
            page = root + (service.path_for_iri(c.graph) or "")
            return {"title": c.title or c.name, "href": page}
    return None
