"""Collections: each study's notes, as one named graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.api.bodies import (
    CollectionOut,
    DriftOut,
    Page,
    Statement,
)
from app.api.routes.api.answer import (
    RESOURCE,
    Limit,
    Offset,
    api_router,
    known_collection,
    page,
    respond,
    writer,
)
from app.api.service import ServiceDep
from app.iris import Minter
from app.read.drift import drift

router = api_router()


@router.get(
    "/collections",
    summary="The collections (studies)",
    response_model=Page[CollectionOut],
    responses=RESOURCE,
)
async def collections(
    request: Request, service: ServiceDep, limit: Limit = 50, offset: Offset = 0
) -> Response:
    out = await writer(request, service)
    names = [c.name for c in service.store.info.collections]
    items = [out.collection(n) for n in names[offset : offset + limit]]
    return respond(request, page(request, items, len(names), limit, offset))


@router.get(
    "/collections/{collection}",
    summary="One collection, with its counts",
    response_model=CollectionOut,
    responses=RESOURCE,
)
async def collection(request: Request, service: ServiceDep, collection: str) -> Response:
    name = known_collection(service, collection)
    return respond(request, (await writer(request, service)).collection(name))


@router.get(
    "/collections/{collection}/drift",
    summary="What the study's notes and its consolidated model state differently",
    response_model=DriftOut,
    responses=RESOURCE,
)
async def collection_drift(
    request: Request,
    service: ServiceDep,
    collection: str,
    statement: Annotated[
        Statement | None, Query(description="Only differences of this kind of statement.")
    ] = None,
) -> Response:
    """Per source→code link, force impact (and sign), option (and name), dependency, next
    decision, label and kind: each statement one layer makes and the other does not, or makes
    otherwise, with file and line on both sides. A study without model files has none."""
    name = known_collection(service, collection)
    graph = Minter(service.base, name, str).collection
    found = await run_in_threadpool(drift, service.store, graph, name)
    return respond(request, found.body(statement))
