"""One error body for every JSON error, and the exceptions that produce them.

Every error the service answers with is ``{"error": {"status", "code", "message"}}``: a
stable ``code`` for programs, a ``message`` for people, never a stack trace or a path on the
server. An exception nobody anticipated is logged and answered as a plain 500.

    ApiError(status, code, message)         raised by routes for anything a client got wrong
      ├── NotFound                           404: no such resource
      └── (status 4xx/5xx as given)
    RequestValidationError (FastAPI)         422: a parameter is out of range or malformed
    StarletteHTTPException                   404/405 raised by routing itself
    RemoteUnavailable (app.store.sparql_http) 503 with Retry-After: a remote store is down
"""

from __future__ import annotations

import http
import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from app.store.sparql_http import RemoteUnavailable

log = logging.getLogger("meshkg.api")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, "not-found", message)


def mark(scope: Scope, **values: object) -> None:
    """Note what a route learnt about its request (its error code, its query time) where the
    access log and the metrics read it (``app.api.observe``)."""
    scope.setdefault("state", {}).update(values)


def error_body(status: int, code: str, message: str, **extra: object) -> dict[str, object]:
    """The one error body."""
    return {"error": {"status": status, "code": code, "message": message, **extra}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    return JSONResponse(
        error_body(status, code, message, **extra), status_code=status, headers=headers
    )


def raw_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> bytes:
    """The same error as a whole HTTP/1.1 response that closes its connection.

    For the HTTP server's own refusals (a request too large or too slow to be handed to the
    application at all), which are written straight to the socket.
    """
    body = orjson.dumps(error_body(status, code, message))
    phrase = http.HTTPStatus(status).phrase
    lines = [
        f"HTTP/1.1 {status} {phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path.

    Routing answers 405 from the first route whose path matched, naming only its methods; a
    path served by several routes (one per method, so each operation is documented on its
    own) would then claim fewer methods than it has.
    """
    methods: set[str] = set()
    routes: list[BaseRoute] = getattr(request.app.state, "routes", [])
    for route in routes:
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Answer every error with the one body."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        mark(request.scope, error_code=exc.code)
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "parameter": ".".join(
                    str(p) for p in err.get("loc", ()) if p not in ("query", "path")
                ),
                "problem": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        text = "; ".join(f"{p['parameter']}: {p['problem']}" for p in problems)
        mark(request.scope, error_code="invalid-parameter")
        return error_response(422, "invalid-parameter", text, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        mark(request.scope, error_code=code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(request))
        return error_response(exc.status_code, code, str(exc.detail), headers)

    @app.exception_handler(RemoteUnavailable)
    async def _unavailable(request: Request, exc: RemoteUnavailable) -> JSONResponse:
        mark(request.scope, error_code="store-unavailable")
        return error_response(
            503,
            "store-unavailable",
            "the graph store cannot be reached; try again shortly",
            {"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        mark(request.scope, error_code="internal")
        return error_response(500, "internal", "the service failed to answer; this is logged")
