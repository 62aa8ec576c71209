"""Namespace IRIs and prefixes as plain strings, for code that must not import rdflib.

The service reopens a stored snapshot without loading rdflib or pyshacl (start-up time), yet
it needs the ontology's namespace and the prefixes to print; they live here, and
:mod:`app.vocab` builds its rdflib namespaces from them.
"""

from __future__ import annotations

ONTOLOGY_IRI = "https://w3id.org/meshkg/ontology"
SHAPES_IRI = "https://w3id.org/meshkg/shapes"
MK = ONTOLOGY_IRI + "#"

PREFIXES: dict[str, str] = {
    "mk": MK,
    "mks": SHAPES_IRI + "#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "https://schema.org/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "void": "http://rdfs.org/ns/void#",
    "oa": "http://www.w3.org/ns/oa#",
}

_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))


def sparql_prologue(*names: str) -> str:
    """``PREFIX`` declarations for the service's own queries, from :data:`PREFIXES`."""
    return "".join(f"PREFIX {name}: <{PREFIXES[name]}>\n" for name in names)


def curie(iri: str) -> str:
    """``mk:Practice`` for a term of a known vocabulary, else the IRI itself: the one way the
    service shortens IRIs (pages, reports, counts, JSON-LD). The longest namespace wins, and
    a namespace alone (an empty local part) stays whole."""
    for prefix, namespace in _BY_LENGTH:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri
