"""RDF terms as plain values: what read models, pages and routes see of a graph store's data.

The service asks its store for triples and rows through :mod:`app.store.seam`; a store turns
its own terms (Oxigraph's, or a remote server's JSON results) into these, so nothing above the
seam depends on which store answers. They mirror the attributes of Oxigraph's terms
(``value``, ``datatype.value``, ``language``, ``subject``/``predicate``/``object``), which the
code that reads them was written against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@dataclass(frozen=True, slots=True)
class Iri:
    value: str


@dataclass(frozen=True, slots=True)
class Blank:
    value: str  # the label, without "_:"


_STRING = Iri(XSD_STRING)
_LANG_STRING = Iri(RDF_LANG_STRING)


@dataclass(frozen=True, slots=True)
class Literal:
    value: str
    datatype: Iri = _STRING
    language: str | None = None

    @staticmethod
    def of(value: str, datatype: str | None = None, language: str | None = None) -> Literal:
        if language:
            return Literal(value, _LANG_STRING, language)
        if datatype is None or datatype == XSD_STRING:
            return Literal(value)
        return Literal(value, Iri(datatype))


Term = Iri | Blank | Literal
Subject = Iri | Blank


class Triple(NamedTuple):
    subject: Subject
    predicate: Iri
    object: Term


Row = dict[str, Term]
"""One solution of a SELECT: variable name (without ``?``) to its bound term."""
