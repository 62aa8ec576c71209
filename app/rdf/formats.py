"""RDF serialisation formats: file extensions, media types and rdflib format names.

One table serves the CLI (``build -o graph.trig``) and, later, HTTP content negotiation, so a
format is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Dataset, Graph


@dataclass(frozen=True, slots=True)
class RdfFormat:
    name: str  # rdflib plugin name
    extension: str
    media_type: str
    quads: bool  # carries named graphs (one per collection)


FORMATS: tuple[RdfFormat, ...] = (
    RdfFormat("turtle", ".ttl", "text/turtle", quads=False),
    RdfFormat("nt", ".nt", "application/n-triples", quads=False),
    RdfFormat("json-ld", ".jsonld", "application/ld+json", quads=False),
    RdfFormat("xml", ".rdf", "application/rdf+xml", quads=False),
    RdfFormat("trig", ".trig", "application/trig", quads=True),
    RdfFormat("nquads", ".nq", "application/n-quads", quads=True),
)

BY_EXTENSION = {f.extension: f for f in FORMATS}


def for_extension(extension: str) -> RdfFormat:
    """The format of an output file name's extension; raises ``KeyError`` if unknown."""
    return BY_EXTENSION[extension.lower()]


def union_graph(dataset: Dataset) -> Graph:
    """Every collection's triples in one graph, for the formats without named graphs."""
    union = Graph()
    for prefix, ns in dataset.namespaces():
        union.bind(prefix, ns)
    for graph in dataset.graphs():
        union += graph
    return union


def serialize(dataset: Dataset, fmt: RdfFormat) -> bytes:
    """The dataset in ``fmt``: quads keep one named graph per collection, triples merge them."""
    if fmt.quads:
        return dataset.serialize(format=fmt.name, encoding="utf-8")
    graph = union_graph(dataset)
    if fmt.name == "json-ld":
        context = {prefix: str(ns) for prefix, ns in dataset.namespaces() if prefix}
        return graph.serialize(format="json-ld", context=context, encoding="utf-8")
    return graph.serialize(format=fmt.name, encoding="utf-8")
