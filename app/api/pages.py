"""HTML pages: Jinja2 templates with the service's own stylesheet and script, no CDN."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import __version__

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# Swagger UI 5 (it reads OpenAPI 3.1, which FastAPI writes), installed with the package
SWAGGER_UI = Path(fastapi_offline.__file__).resolve().parent / "static"


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    return env


def render(template: str, request: Request, **context: object) -> str:
    """A page; ``request`` gives templates the service's root for links."""
    root = str(request.scope.get("root_path", ""))
    return _env().get_template(template).render(request=request, root=root, **context)
