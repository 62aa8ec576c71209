"""HTML pages: Jinja2 templates with the service's own stylesheet and script, no CDN."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import __version__

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"


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
