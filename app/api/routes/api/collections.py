"""Collections: each study's notes, as one named graph."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.api.bodies import (
    CollectionOut,
    Page,
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
