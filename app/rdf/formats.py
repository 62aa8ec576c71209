"""RDF serialisation formats: names, file extensions and media types.

One table serves the CLI (``build -o graph.trig``), the snapshot dumps and HTTP content
negotiation, so a format is added in one place. Nothing here imports rdflib: the service reads
this table without paying for it. Writing them is the store's (:mod:`app.store.write`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RdfFormat:
    name: str  # short name, also the --format value
    extension: str
    media_type: str
    quads: bool  # carries named graphs (one per collection)
    aliases: tuple[str, ...] = ()  # other media types clients send for it


FORMATS: tuple[RdfFormat, ...] = (
    RdfFormat("turtle", ".ttl", "text/turtle", False, ("application/x-turtle",)),
    RdfFormat("ntriples", ".nt", "application/n-triples", False),
    RdfFormat("jsonld", ".jsonld", "application/ld+json", False),
    RdfFormat("rdfxml", ".rdf", "application/rdf+xml", False),
    RdfFormat("trig", ".trig", "application/trig", True),
    RdfFormat("nquads", ".nq", "application/n-quads", True),
)

BY_EXTENSION = {f.extension: f for f in FORMATS}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS} | {
    "text/plain": next(f for f in FORMATS if f.name == "ntriples")  # what browsers show
}


def graph_format(media_type: str) -> RdfFormat:
    """The format to write for a media type offered from :data:`BY_MEDIA_TYPE`."""
    return BY_MEDIA_TYPE[media_type]
