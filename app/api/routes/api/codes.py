"""Codes: practices, patterns, forces and decisions, with all their evidence."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from app.api.bodies import (
    CodeDetail,
    CodeItem,
    Page,
)
from app.api.routes.api.answer import (
    RESOURCE,
    CollectionParam,
    Limit,
    Offset,
    Order,
    Out,
    TextFilter,
    api_router,
    collection_filter,
    one,
    page,
    respond,
    writer,
)
from app.api.routes.fast import fast_route
from app.api.service import Service, ServiceDep
from app.read import lookup
from app.read.tables import (
    CodeKind,
    CodeSort,
)

router = api_router()


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
    coll = collection_filter(service, collection)
    out = await writer(request, service)
    rows = lookup.codes(out.tables, collection=coll, kind=kind, q=q, sort=sort, order=order)
    items = [out.kept("code", c, out.code_item) for c in rows[offset : offset + limit]]
    return respond(request, page(request, items, len(rows), limit, offset))


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
    return await one(request, "code", lookup.code, Out.code_detail)


fast_route(
    router,
    "/collections/{collection}/codes/{ident}",
    code,
    name="code",
    summary="One code with all its evidence",
    response_model=CodeDetail,
    responses=RESOURCE,
)
