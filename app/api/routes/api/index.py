"""The API's entry points and its JSON-LD context."""

from __future__ import annotations

import hashlib
from functools import cache

import orjson
from fastapi import Request
from fastapi.responses import Response

from app import __version__
from app.api import bodies
from app.api.bodies import (
    Index,
    IndexLinks,
)
from app.api.routes.api.answer import (
    CONTEXT_PATH,
    JSON_OR_LD,
    JSONLD,
    NOT_ACCEPTABLE,
    api_router,
    respond,
)
from app.api.urls import origin

router = api_router()


@router.get(
    "",
    summary="The API's entry points",
    response_model=Index,
    responses={200: JSON_OR_LD, 406: NOT_ACCEPTABLE},
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
    return respond(request, body.model_dump())


@cache
def _context() -> tuple[bytes, str]:
    body = orjson.dumps(bodies.context(), option=orjson.OPT_INDENT_2)
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
