"""The ontology and shapes files shipped with meshkg, wherever meshkg runs from.

A checkout keeps them in the top-level ``ontology/`` and ``shapes/`` folders; a wheel carries
copies inside the package. Nothing here imports rdflib, so the service can serve the files
without it.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path


def _resource(name: str) -> Path:
    """The bundled copy in an installed wheel, else the source tree's top-level folder."""
    bundled = files("app") / name
    if bundled.is_dir():
        return Path(str(bundled))
    return Path(__file__).resolve().parent.parent / name


@cache
def ontology_path() -> Path:
    return _resource("ontology") / "meshkg.ttl"


@cache
def shapes_path() -> Path:
    return _resource("shapes") / "meshkg-shapes.ttl"
