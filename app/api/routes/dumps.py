"""Full dumps, per collection and for all, in every RDF format: written once per snapshot.

A dump is serialised on its first request (Oxigraph writes even the ×100 corpus in seconds) and
kept with the snapshot, with a gzip twin; later requests are plain file responses with a strong
ETag, ``304 Not Modified`` for a matching ``If-None-Match`` and the gzip twin for clients that
accept it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app.api import urls
from app.api.bodies import answered_as, errors
from app.api.errors import NotFound
from app.api.negotiation import choose
from app.api.pages import render
from app.api.service import Service, ServiceDep
from app.rdf.formats import FORMATS, RdfFormat

router = APIRouter(tags=["dumps"])


def _listing(service: Service) -> list[dict[str, object]]:
    names: list[str | None] = [None, *(c.name for c in service.store.info.collections)]
    return [
        {
            "collection": name,
            "format": fmt.name,
            "media_type": fmt.media_type,
            "named_graphs": fmt.quads,
            "url": urls.dump(name, fmt),
        }
        for name in names
        for fmt in FORMATS
    ]


@router.get(
    "/dumps",
    summary="Every dump this service offers",
    responses=answered_as("The list, as JSON or as a page.", "application/json", "text/html"),
)
async def dumps(request: Request, service: ServiceDep) -> Response:
    listing = _listing(service)
    if choose(request.headers.get("accept"), ["application/json", "text/html"]) == "text/html":
        return HTMLResponse(
            render("dumps.html", request, title="Dumps", dumps=listing, info=service.store.info)
        )
    return JSONResponse({"dumps": listing})


def _split(file: str, service: Service) -> tuple[str | None, RdfFormat]:
    for fmt in FORMATS:
        if file.endswith(fmt.extension):
            name = file[: -len(fmt.extension)]
            if name == "all":
                return None, fmt
            if any(c.name == name for c in service.store.info.collections):
                return name, fmt
            raise NotFound(f"no collection named {name!r}; see /dumps")
    raise NotFound(f"no dump {file!r}; formats: {', '.join(f.extension for f in FORMATS)}")


_DUMP = answered_as(
    "The file in the format its suffix names (gzipped under Accept-Encoding: gzip).",
    *(f.media_type for f in FORMATS),
) | errors(404)


# one route per method: each operation in /openapi.json needs its own id
@router.api_route(
    "/dumps/{file}",
    methods=["GET"],
    summary="One dump (all collections or one), by file name",
    operation_id="dump_get",
    response_class=Response,
    responses=_DUMP,
)
@router.api_route(
    "/dumps/{file}",
    methods=["HEAD"],
    summary="One dump's headers (all collections or one), by file name",
    operation_id="dump_head",
    response_class=Response,
    responses=_DUMP,
)
async def dump(file: str, request: Request, service: ServiceDep) -> Response:
    collection, fmt = _split(file, service)
    made = await run_in_threadpool(service.store.dump, fmt, collection)
    headers = {
        "ETag": made.etag,
        "Vary": "Accept-Encoding",
        "Cache-Control": "public, max-age=3600",
    }
    if made.etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    media_type = fmt.media_type + ("; charset=utf-8" if fmt.media_type.startswith("text/") else "")
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(made.gzip_path, media_type=media_type, headers=headers)
    return FileResponse(made.path, media_type=media_type, headers=headers)
