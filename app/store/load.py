"""The mapped triples as Oxigraph quads: one named graph per collection.

Terms are converted once each (IRIs repeat a lot), which keeps loading a ×100 corpus into the
store a matter of seconds.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from app.bundled import ontology_path
from app.iris import Minter
from app.namespaces import ONTOLOGY_IRI
from app.rdf.records import Triple

Quad = ox.Quad
"""A statement as the store holds it (what the pipeline hands over to be stored)."""


def holds_iri(text: str) -> bool:
    """Whether the store accepts ``text`` as an IRI (RFC 3987, as Oxigraph checks it)."""
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


class _Terms:
    """rdflib term -> Oxigraph term, each distinct term converted once."""

    def __init__(self) -> None:
        self.cache: dict[Node, ox.NamedNode | ox.Literal | ox.BlankNode] = {}

    def iri(self, value: str) -> ox.NamedNode:
        node = self.cache.get(URIRef(value))
        if node is None:
            node = ox.NamedNode(value)
            self.cache[URIRef(value)] = node
        assert isinstance(node, ox.NamedNode)
        return node

    def __call__(self, term: Node) -> ox.NamedNode | ox.Literal | ox.BlankNode:
        found = self.cache.get(term)
        if found is None:
            found = self.cache[term] = self._convert(term)
        return found

    def _convert(self, term: Node) -> ox.NamedNode | ox.Literal | ox.BlankNode:
        if isinstance(term, URIRef):
            return ox.NamedNode(str(term))
        if isinstance(term, Literal):
            if term.language:
                return ox.Literal(str(term), language=term.language)
            if term.datatype is not None:
                return ox.Literal(str(term), datatype=self.iri(str(term.datatype)))
            return ox.Literal(str(term))
        if isinstance(term, BNode):
            return ox.BlankNode(str(term))
        raise TypeError(f"not an RDF term: {term!r}")


class Converter:
    """Turns mapped collections into quads, sharing converted terms between collections."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.terms = _Terms()

    def quads(self, collection: str, triples: Iterable[Triple]) -> list[ox.Quad]:
        """The collection's triples, in the named graph of the collection."""
        convert = self.terms
        graph = convert.iri(Minter(self.base, collection, str).collection)
        return [
            ox.Quad(convert(s), convert(p), convert(o), graph)  # type: ignore[arg-type]
            for s, p, o in triples
        ]


def ontology_quads() -> list[ox.Quad]:
    """The ontology, in its own named graph, so queries can use its labels and notations."""
    graph = ox.NamedNode(ONTOLOGY_IRI)
    with ontology_path().open("rb") as handle:
        return [
            ox.Quad(t.subject, t.predicate, t.object, graph)
            for t in ox.parse(handle, format=ox.RdfFormat.TURTLE)
        ]
