"""Routes served by plain Starlette, documented by FastAPI: one way to register both.

A route that reads its own parameters gains nothing from FastAPI's per-request parameter and
dependency solving, which was a fifth to a third of such a route's time (``/sparql`` and the
JSON API's detail routes). :func:`fast_route` serves the path with a plain Starlette route and
registers the same endpoint after it as a FastAPI route, which only puts the operation (its
path parameters, summary and responses) in ``/openapi.json``: the Starlette route answers
first, so the FastAPI one is never reached.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]
_PATH_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def fast_route(
    router: APIRouter,
    path: str,
    endpoint: Endpoint,
    *,
    name: str,
    methods: Sequence[str] = ("GET",),
    parameters: list[dict[str, Any]] | None = None,
    request_body: dict[str, Any] | None = None,
    **documented: Any,
) -> None:
    """Serve ``path`` with ``endpoint`` as a plain route; document it as ``documented`` says
    (``summary``, ``response_model``, ``responses`` …). Path parameters are documented from
    the path; ``parameters`` adds others (a query string the endpoint reads itself), and
    ``request_body`` the body a POST reads."""
    router.routes.append(Route(router.prefix + path, endpoint, methods=list(methods), name=name))
    found = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in _PATH_PARAMETER.findall(path)
    ]
    for method in methods:  # one operation per method: each needs its own id
        extra: dict[str, Any] = {"parameters": [*found, *(parameters or [])]}
        if method == "POST" and request_body is not None:
            extra["requestBody"] = request_body
        operation: dict[str, Any] = dict(documented)
        if len(methods) > 1:
            operation["operation_id"] = f"{name}_{method.lower()}"
        router.add_api_route(
            path, endpoint, methods=[method], name=name, openapi_extra=extra, **operation
        )
