"""Sources: the grey literature a study coded, with their records, quotes and codes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from app.api.bodies import (
    Page,
    SourceDetail,
    SourceItem,
)
from app.api.routes.api.answer import (
    RESOURCE,
    CollectionParam,
    Limit,
    Offset,
    Order,
    Out,
    SourceType,
    TextFilter,
    api_router,
    collection_filter,
    one,
    page,
    respond,
    writer,
)
from app.api.routes.fast import fast_route
from app.api.service import ServiceDep
from app.read import lookup
from app.read.tables import (
    SourceRow,
    SourceSort,
)

router = api_router()


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
    coll = collection_filter(service, collection)
    out = await writer(request, service)
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
    return respond(request, page(request, items, len(rows), limit, offset))


async def source(request: Request) -> Response:
    return await one(request, "source", lookup.source, Out.source_detail)


fast_route(
    router,
    "/collections/{collection}/sources/{source_id}",
    source,
    name="source",
    summary="One source: both records, their disagreements, quotes and codes",
    response_model=SourceDetail,
    responses=RESOURCE,
)
