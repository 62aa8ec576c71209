"""The JSON API under ``/api``: collections, sources, codes and search, each also as JSON-LD.

Shape, for programs rather than for RDF tools: every list is a page (``items``, ``total``,
``limit``, ``offset``, ``next``) in a deterministic order; every item carries its data ``iri``,
the ``href`` where that IRI dereferences on this service and the API ``url`` it is read at.
The same URL asked for with ``Accept: application/ld+json`` answers the same body plus an
``@context`` naming the published, versioned context (``/api/context/v1.jsonld``), made from
what each key of :mod:`app.api.bodies` means, so the JSON is also RDF without a second
representation to keep in step. Reads come from :mod:`app.read.lookup`; nothing here talks
SPARQL. A router per resource; :mod:`.answer` writes the bodies.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api.routes.api import codes, collections, index, search, sources

ROUTERS: tuple[APIRouter, ...] = tuple(
    part.router for part in (index, collections, sources, codes, search)
)
"""Included by the application one by one, not through a router of routers: every level of
included routers is one more match per request."""
