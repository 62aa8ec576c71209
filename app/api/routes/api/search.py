"""Search over code labels, identifiers, quote texts and memos."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from app.api.bodies import (
    Page,
    SearchHit,
)
from app.api.routes.api.answer import (
    RESOURCE,
    CollectionParam,
    Limit,
    Offset,
    api_router,
    collection_filter,
    page,
    respond,
    writer,
)
from app.api.service import ServiceDep
from app.read import lookup

router = api_router()


@router.get(
    "/search",
    summary="Search code labels, identifiers, quote texts and memos",
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
    """Codes first (by collection and identifier), then quotes (by source and position), then
    memos (the analyst's open codes)."""
    coll = collection_filter(service, collection)
    out = await writer(request, service)
    found = lookup.search(out.tables, q, coll)
    items = [out.hit(h, len(q)) for h in lookup.hits(out.tables, found, offset, offset + limit)]
    return respond(request, page(request, items, len(found), limit, offset))
