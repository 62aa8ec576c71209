"""RDF serialisation formats: file extensions, media types and Oxigraph's format names.

One table serves the CLI (``build -o graph.trig``), the snapshot dumps and HTTP content
negotiation, so a format is added in one place. Nothing here imports rdflib: the service reads
this table without paying for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from app.namespaces import PREFIXES
from app.rdf import jsonld


@dataclass(frozen=True, slots=True)
class RdfFormat:
    name: str  # short name, also the --format value
    extension: str
    media_type: str
    quads: bool  # carries named graphs (one per collection)
    oxigraph: ox.RdfFormat
    aliases: tuple[str, ...] = ()  # other media types clients send for it


FORMATS: tuple[RdfFormat, ...] = (
    RdfFormat(
        "turtle", ".ttl", "text/turtle", False, ox.RdfFormat.TURTLE, ("application/x-turtle",)
    ),
    RdfFormat("ntriples", ".nt", "application/n-triples", False, ox.RdfFormat.N_TRIPLES),
    RdfFormat("jsonld", ".jsonld", "application/ld+json", False, ox.RdfFormat.JSON_LD),
    RdfFormat("rdfxml", ".rdf", "application/rdf+xml", False, ox.RdfFormat.RDF_XML),
    RdfFormat("trig", ".trig", "application/trig", True, ox.RdfFormat.TRIG),
    RdfFormat("nquads", ".nq", "application/n-quads", True, ox.RdfFormat.N_QUADS),
)

BY_EXTENSION = {f.extension: f for f in FORMATS}


def for_extension(extension: str) -> RdfFormat:
    """The format of an output file name's extension; raises ``KeyError`` if unknown."""
    return BY_EXTENSION[extension.lower()]


def serialize(statements: Iterable[ox.Triple] | Iterable[ox.Quad], fmt: RdfFormat) -> bytes:
    """``statements`` in ``fmt``, with the project's prefixes (JSON-LD: as its ``@context``).

    Every RDF answer, dump and file is written here, so each format reads the same everywhere.
    """
    if fmt.name == "jsonld":
        return jsonld.write(statements)
    return ox.serialize(statements, format=fmt.oxigraph, prefixes=PREFIXES) or b""
