"""Writing RDF: every answer, dump, document and file the service writes goes through here.

Oxigraph's writers with the project's prefixes, except JSON-LD, written with an ``@context``
(:mod:`app.store.jsonld`). Plain triples (:mod:`app.terms`) from above the store seam are
written the same way as the engine's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from app import terms
from app.namespaces import PREFIXES
from app.rdf.formats import RdfFormat
from app.store import jsonld

OXIGRAPH = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
}
"""Oxigraph's name of each format of :data:`app.rdf.formats.FORMATS`, for parsing too."""


def serialize(statements: Iterable[ox.Triple] | Iterable[ox.Quad], fmt: RdfFormat) -> bytes:
    """``statements`` in ``fmt``, with the project's prefixes (JSON-LD: as its ``@context``).

    Every RDF answer, dump and file is written here, so each format reads the same everywhere.
    """
    if fmt.name == "jsonld":
        return jsonld.write(statements)
    return ox.serialize(statements, format=OXIGRAPH[fmt.name], prefixes=PREFIXES) or b""


def read_turtle(path: Path) -> list[terms.Triple]:
    """A Turtle file's triples, as plain terms (the ontology and shapes files, for pages)."""
    out = []
    for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
        s, p, o = t.subject, t.predicate, t.object
        subject: terms.Subject = (
            terms.Iri(s.value) if isinstance(s, ox.NamedNode) else terms.Blank(s.value)
        )
        obj: terms.Term
        if isinstance(o, ox.Literal):
            obj = terms.Literal.of(o.value, o.datatype.value, o.language)
        elif isinstance(o, ox.NamedNode):
            obj = terms.Iri(o.value)
        else:
            obj = terms.Blank(o.value)
        out.append(terms.Triple(subject, terms.Iri(p.value), obj))
    return out


def write(triples: Iterable[terms.Triple], fmt: RdfFormat) -> bytes:
    """Plain triples (:mod:`app.terms`: what the service's own documents are made of) in
    ``fmt``, written as :func:`serialize` writes everything."""
    return serialize((_triple(t) for t in triples), fmt)


def _triple(t: terms.Triple) -> ox.Triple:
    return ox.Triple(_node(t.subject), ox.NamedNode(t.predicate.value), _term(t.object))


def _node(term: terms.Subject) -> ox.NamedNode | ox.BlankNode:
    return ox.NamedNode(term.value) if isinstance(term, terms.Iri) else ox.BlankNode(term.value)


def _term(term: terms.Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if not isinstance(term, terms.Literal):
        return _node(term)
    if term.language:
        return ox.Literal(term.value, language=term.language)
    return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype.value))
