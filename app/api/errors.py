"""One error body for every JSON error, and the exceptions that produce them.

Every error the service answers with is ``{"error": {"status", "code", "message"}}``: a
stable ``code`` for programs, a ``message`` for people, never a stack trace or a path on the
server. An exception nobody anticipated is logged and answered as a plain 500.

    ApiError(status, code, message)         raised by routes for anything a client got wrong
      ├── NotFound                           404: no such resource
      └── (status 4xx/5xx as given)
    RequestValidationError (FastAPI)         422: a parameter is out of range or malformed
    StarletteHTTPException                   404/405 raised by routing itself
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    body = {"error": {"status": status, "code": code, "message": message, **extra}}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Answer every error with the one body."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
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
        return error_response(422, "invalid-parameter", text, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error_response(500, "internal", "the service failed to answer; this is logged")
