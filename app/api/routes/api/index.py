"""The API's entry points and its JSON-LD context."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from fastapi import Request
from fastapi.responses import Response

from app import __version__
from app.api import bodies
from app.api.bodies import (
    Index,
    IndexLinks,
)
from app.api.errors import NotFound
from app.api.routes.api.answer import (
    CONTEXT_PATH,
    JSON_OR_LD,
    JSONLD,
    api_router,
    respond,
)
from app.api.urls import origin

router = api_router()
_VERSION = re.compile(r"v[0-9]{1,4}")


@router.get(
    "",
    summary="The API's entry points",
    response_model=Index,
    responses={200: JSON_OR_LD, **bodies.errors(406)},
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


@lru_cache(maxsize=16)
def _context(version: str) -> tuple[bytes, str] | None:
    path = bodies.CONTEXTS / f"{version}.jsonld"
    if _VERSION.fullmatch(version) is None or not path.is_file():
        return None
    body = path.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@router.get(
    "/context/{version}.jsonld",
    summary="The JSON-LD context of the API, by version (v1, v2, …)",
    response_class=Response,
    responses={
        200: {"content": {JSONLD: {"schema": {"type": "object"}}}},
        **bodies.errors(404),
    },
)
async def context(request: Request, version: str) -> Response:
    """Versioned and never changed once published, so clients may cache it for a year; the
    bodies name the latest."""
    found = _context(version)
    if found is None:
        raise NotFound(f"no context version {version!r}")
    body, etag = found
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSONLD, headers=headers)
