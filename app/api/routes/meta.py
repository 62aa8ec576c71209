"""The service about itself: health, version and snapshot, VoID, the ontology and the shapes."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.api import urls
from app.api.bodies import answered_as, errors
from app.api.errors import ApiError, error_body
from app.api.generations import Generations
from app.api.negotiation import choose
from app.api.pages import render
from app.api.service import ServiceDep
from app.api.urls import absolute_origin
from app.bundled import ontology_path, shapes_path
from app.namespaces import ONTOLOGY_IRI, PREFIXES, SHAPES_IRI
from app.rdf.formats import FORMATS, graph_format
from app.store.write import read_turtle, write
from app.terms import Blank, Iri, Literal, Triple

router = APIRouter(tags=["service"])

RDF_TYPES = [f.media_type for f in FORMATS if not f.quads]
DOCUMENT_TYPES = ["text/turtle", "text/html", *(t for t in RDF_TYPES if t != "text/turtle")]
"""What the ontology and the shapes are offered as: their Turtle file first, then a page."""
VOID = PREFIXES["void"]
DCTERMS = PREFIXES["dcterms"]
_INTEGER = Iri(PREFIXES["xsd"] + "integer")


NO_STORE = "no-store"  # answers about the running process, not the snapshot: never kept


@router.get("/health", summary="Liveness: the service answers HTTP (see /ready for queries)")
async def health(request: Request, service: ServiceDep, response: Response) -> dict[str, object]:
    response.headers["Cache-Control"] = NO_STORE
    return {
        "status": "ok",
        "snapshot": service.store.info.key,
        "triples": service.store.info.triples,
        **(await _generation(request)),
    }


async def _generation(request: Request) -> dict[str, object]:
    """Which generation serves, whether the notes on disk differ from what it was built from
    (a look at the files, off the event loop), and how the last reload went."""
    generations: Generations = request.app.state.generations
    last = generations.last
    return {
        "generation": generations.current.describe(),
        "stale": await run_in_threadpool(generations.stale),
        "reloading": generations.reloading,
        "last_reload": last.describe() if last is not None else None,
    }


@router.get(
    "/ready",
    summary="Readiness: a query worker answers a query over the store now",
    responses={503: {"description": "No query can be answered now; the body says why."}},
)
async def ready(service: ServiceDep) -> JSONResponse:
    why = service.store.damage() or await service.store.unready()
    headers = {"Cache-Control": NO_STORE}
    if why is not None:
        headers["Retry-After"] = "5"
        return JSONResponse(
            error_body(503, "not-ready", why) | {"ready": False},
            status_code=503,
            headers=headers,
        )
    return JSONResponse(
        {
            "ready": True,
            "snapshot": service.store.info.key,
            "guards": service.store.status().network_guards,
        },
        headers=headers,
    )


@router.get("/info", summary="Version, snapshot, limits and the answer cache")
async def info(request: Request, service: ServiceDep, response: Response) -> dict[str, object]:
    response.headers["Cache-Control"] = NO_STORE
    snap = service.store.info
    return {
        "meshkg": __version__,
        "snapshot": {
            "key": snap.key,
            "created": snap.created,
            "base_iri": snap.base_iri,
            "triples": snap.triples,
            "stored": service.store.status().stored,
            "served_from": service.store.status().served_from,
            "collections": [
                {"name": c.name, "title": c.title, "triples": c.triples, "sources": c.sources}
                for c in snap.collections
            ],
        },
        "limits": _limits(service),
        "query_workers": {
            "processes": service.store.status().query_processes,
            "network_guards": list(service.store.status().network_guards),
            "restarts": dict(service.store.status().restarts),
        },
        **(await _generation(request)),
        "cache": asdict(service.answers.stats()),
        "item_cache": asdict(service.bodies.stats()),
        "uptime_seconds": round(time.time() - service.started, 1),
    }


def _limits(service: ServiceDep) -> dict[str, object]:
    s = service.settings
    return {
        "query_timeout_seconds": s.query_timeout,
        "result_limit": s.result_limit,
        "query_workers": service.store.status().query_processes,
        "query_kb": s.query_kb,
        "query_mb": s.query_mb,
        "answer_mb": s.answer_mb,
        "head_kb": s.head_kb,
        "max_headers": s.max_headers,
        "read_timeout_seconds": s.read_timeout,
        "max_connections": s.max_connections,
        "client_queries": s.client_query_limit,
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latencies, refusals, worker restarts, cache",
    response_class=Response,
    responses=answered_as("The Prometheus text format.", CONTENT_TYPE_LATEST),
)
async def metrics(request: Request) -> Response:
    registry = request.app.state.observer.metrics.registry
    return Response(
        generate_latest(registry),
        media_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": NO_STORE},
    )


@router.get("/version", summary="The program's version")
async def version() -> dict[str, str]:
    return {"meshkg": __version__}


@router.get(
    "/.well-known/void",
    summary="VoID description of the dataset",
    response_class=Response,
    responses=answered_as("VoID, in the RDF form asked for.", *RDF_TYPES) | errors(406),
)
async def void(request: Request, service: ServiceDep) -> Response:
    media = choose(request.headers.get("accept"), RDF_TYPES)
    if media is None:
        raise ApiError(406, "not-acceptable", "offered: " + ", ".join(RDF_TYPES))
    root = absolute_origin(request)
    triples = await run_in_threadpool(_void, service, root)  # counts classes on first use
    body = write(triples, graph_format(media))
    return Response(body, media_type=media, headers={"Vary": "Accept"})


def _void(service: ServiceDep, root: str) -> list[Triple]:
    n = Iri
    rdf_type = n(PREFIXES["rdf"] + "type")
    snap = service.store
    whole = n(root + "/.well-known/void#dataset")
    out = [
        Triple(whole, rdf_type, n(VOID + "Dataset")),
        Triple(whole, n(DCTERMS + "title"), Literal("meshkg: data-mesh practices")),
        Triple(whole, n(VOID + "sparqlEndpoint"), n(root + urls.SPARQL)),
        Triple(whole, n(VOID + "uriSpace"), Literal(snap.info.base_iri)),
        Triple(whole, n(VOID + "vocabulary"), n(PREFIXES["mk"])),
        Triple(whole, n(VOID + "triples"), Literal(str(snap.info.triples), _INTEGER)),
    ]
    out += [Triple(whole, n(VOID + "dataDump"), n(root + urls.dump(None, f))) for f in FORMATS]
    out += _partitions(service, whole, None)
    for info in snap.info.collections:
        subset = n(info.graph)
        out += [
            Triple(whole, n(VOID + "subset"), subset),
            Triple(subset, rdf_type, n(VOID + "Dataset")),
            Triple(subset, n(DCTERMS + "title"), Literal(info.title or info.name)),
            Triple(subset, n(VOID + "sparqlEndpoint"), n(root + urls.SPARQL)),
            Triple(subset, n(VOID + "triples"), Literal(str(info.triples), _INTEGER)),
        ]
        out += [
            Triple(subset, n(VOID + "dataDump"), n(root + urls.dump(info.name, f))) for f in FORMATS
        ]
        out += _partitions(service, subset, info.name)
    return out


def _partitions(service: ServiceDep, dataset: Iri, collection: str | None) -> list[Triple]:
    n = Iri
    out = []
    counts = service.store.class_counts(collection)
    total = 0
    # blank node labels from positions, not names: a collection's name need not be a valid label
    names = [c.name for c in service.store.info.collections]
    scope = 0 if collection is None else 1 + names.index(collection)
    for index, (curie, count) in enumerate(counts.items()):
        total += count
        part = Blank(f"d{scope}-class-{index}")
        prefix, _, local = curie.partition(":")
        iri = PREFIXES[prefix] + local if prefix in PREFIXES else curie
        out += [
            Triple(dataset, n(VOID + "classPartition"), part),
            Triple(part, n(VOID + "class"), n(iri)),
            Triple(part, n(VOID + "entities"), Literal(str(count), _INTEGER)),
        ]
    out.append(Triple(dataset, n(VOID + "entities"), Literal(str(total), _INTEGER)))
    return out


def _document(request: Request, path: Path, title: str, kind: str) -> Response:
    media = choose(request.headers.get("accept"), DOCUMENT_TYPES)
    if media is None:
        raise ApiError(406, "not-acceptable", "offered: " + ", ".join(DOCUMENT_TYPES))
    headers = {"Vary": "Accept"}
    if media == "text/turtle":
        return Response(path.read_bytes(), media_type="text/turtle", headers=headers)
    triples = read_turtle(path)
    if media == "text/html":
        return HTMLResponse(
            render("terms.html", request, title=title, kind=kind, terms=_terms(triples)),
            headers=headers,
        )
    body = write(triples, graph_format(media))
    return Response(body, media_type=media, headers=headers)


def _terms(triples: list[Triple]) -> list[dict[str, str]]:
    label = PREFIXES["rdfs"] + "label"
    comment = PREFIXES["rdfs"] + "comment"
    kinds = PREFIXES["rdf"] + "type"
    terms: dict[str, dict[str, str]] = {}
    for t in triples:
        if not isinstance(t.subject, Iri):
            continue
        entry = terms.setdefault(t.subject.value, {"iri": t.subject.value})
        if t.predicate.value == label and isinstance(t.object, Literal):
            entry["label"] = t.object.value
        elif t.predicate.value == comment and isinstance(t.object, Literal):
            entry["comment"] = t.object.value
        elif t.predicate.value == kinds and isinstance(t.object, Iri):
            entry.setdefault("kind", t.object.value.rsplit("#", 1)[-1])
    return sorted(terms.values(), key=lambda e: e["iri"])


_DOCUMENT = answered_as("The file, a page, or another RDF form.", *DOCUMENT_TYPES) | errors(406)


@router.get(
    urlsplit(ONTOLOGY_IRI).path,
    summary="The meshkg ontology",
    response_class=Response,
    responses=_DOCUMENT,
)
async def ontology(request: Request) -> Response:
    return _document(request, ontology_path(), "meshkg ontology", "ontology")


@router.get(
    urlsplit(SHAPES_IRI).path,
    summary="The meshkg SHACL shapes",
    response_class=Response,
    responses=_DOCUMENT,
)
async def shapes(request: Request) -> Response:
    return _document(request, shapes_path(), "meshkg shapes", "shapes")
