"""What every route works with: the graph store, the settings, the caches, and path rules.

Data IRIs are dereferenceable at the path they have under their own host: with the default
base ``https://w3id.org/meshkg/id/`` the source ``…/id/study/source/s6`` is served at
``/meshkg/id/study/source/s6`` on whatever host the service runs (as w3id.org would redirect
to it), and the ontology and shapes at ``/meshkg/ontology`` and ``/meshkg/shapes``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from app.api.cache import Answers, Bodies
from app.api.fair_share import ClientBudget
from app.config import Settings
from app.namespaces import ONTOLOGY_IRI, SHAPES_IRI
from app.store.seam import GraphStore


@dataclass(slots=True)
class Service:
    store: GraphStore
    settings: Settings
    answers: Answers
    bodies: Bodies
    clients: ClientBudget
    started: float = field(default_factory=time.time)
    base: str = field(init=False)
    """The prefix of data IRIs (the snapshot's base IRI)."""
    data_path: str = field(init=False)
    """The URL path data IRIs are served under (``/meshkg/id/`` for the default base)."""
    ontology_path: str = field(init=False)
    shapes_path: str = field(init=False)
    graphs: list[str] = field(init=False)
    """The collections' named graphs (the default graph of a query is their union)."""
    graph_names: list[str] = field(init=False)
    """Every named graph a query may name: the collections and the ontology."""

    def __post_init__(self) -> None:
        # fixed for the service's life, and asked for by nearly every route (by every link of a
        # body: a code's evidence has hundreds)
        info = self.store.info
        self.base = info.base_iri
        self.graphs = [c.graph for c in info.collections]
        self.graph_names = [*self.graphs, ONTOLOGY_IRI]
        self.data_path = urlsplit(self.base).path
        self.ontology_path = urlsplit(ONTOLOGY_IRI).path
        self.shapes_path = urlsplit(SHAPES_IRI).path

    def iri_for_path(self, path: str) -> str | None:
        """The data IRI a request path names, or ``None`` when it names none."""
        if not path.startswith(self.data_path) or path == self.data_path:
            return None
        return self.base + path[len(self.data_path) :]

    def local_prefixes(self) -> list[tuple[str, str]]:
        """IRI prefixes served here, and the path each is served at (for pages' scripts, which
        map IRIs to paths as :meth:`path_for_iri` does)."""
        return [(self.base, self.data_path), *self._vocabularies()]

    def _vocabularies(self) -> tuple[tuple[str, str], ...]:
        return ((ONTOLOGY_IRI, self.ontology_path), (SHAPES_IRI, self.shapes_path))

    def path_for_iri(self, iri: str) -> str | None:
        """Where on this service an IRI can be dereferenced, if it is one of ours."""
        base = self.base
        if iri.startswith(base):
            return self.data_path + iri[len(base) :]
        for prefix, path in self._vocabularies():
            if iri == prefix or iri.startswith(prefix + "#"):
                return path + iri[len(prefix) :]
        return None


async def _service(request: Request) -> Service:
    # async: FastAPI runs a plain function dependency in its thread pool, a thread hop per
    # request that costs more than most routes' own work
    service: Service = request.state.service
    return service


ServiceDep = Annotated[Service, Depends(_service)]
