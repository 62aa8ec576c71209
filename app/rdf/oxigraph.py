"""The mapped triples as Oxigraph quads: one named graph per collection.

Terms are converted once each (IRIs repeat a lot), which keeps loading a ×100 corpus into the
store a matter of seconds.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from app.iris import Minter
from app.model import Collection
from app.rdf.mapping import collection_triples


class _Terms:
    def __init__(self) -> None:
        self.iris: dict[str, ox.NamedNode] = {}

    def iri(self, value: str) -> ox.NamedNode:
        node = self.iris.get(value)
        if node is None:
            node = self.iris[value] = ox.NamedNode(value)
        return node

    def __call__(self, term: Node) -> ox.NamedNode | ox.Literal | ox.BlankNode:
        if isinstance(term, URIRef):
            return self.iri(str(term))
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

    def collection(self, coll: Collection) -> list[ox.Quad]:
        """The collection's triples, in the named graph of the collection."""
        convert = self.terms
        graph = convert.iri(str(Minter(self.base, coll.name).collection))
        return [
            ox.Quad(convert(s), convert(p), convert(o), graph)  # type: ignore[arg-type]
            for s, p, o in collection_triples(coll, self.base)
        ]
