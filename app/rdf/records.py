"""What a source shows: the values of one of its records as triples on the source.

A source's values come from its note (trace before header, :meth:`app.model.Source.preferred`)
or, for a source only the consolidated model lists, from the model's ``values={…}``; either
way they are read by record key and shown the same way, with the controlled terms their
text names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS
from rdflib.term import Node

from app.vocab import AUTHOR_TYPE_CONCEPT, MK, SCHEMA, SOURCE_TYPE_CONCEPT

Triple = tuple[Node, Node, Node]

RECORD_TEXT = {
    "title": DCTERMS.title,
    "url": SCHEMA.url,
    "tiny url": MK.tinyUrl,
    "archive url": MK.archiveUrl,
    "source type": MK.sourceTypeName,
    "author type": MK.authorTypeName,
}
"""Record keys whose values are text, and the property each is kept with on a record."""
RECORD_FLAGS = {"example": MK.example, "source code": MK.sourceCode}
"""Record keys whose values are yes/no."""

IriCheck = Callable[[str], bool]
"""Whether the store can hold a text as an IRI (:func:`app.store.load.holds_iri`): the
pipeline passes it in, so mapping stays free of any store."""

_WEB_IRI = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")


def web_iri(url: str, holds: IriCheck) -> bool:
    """An http(s) URL that is a valid IRI (``%zz`` or a bracket in the host is not): only then
    is it linked; the text is kept as a literal either way."""
    return bool(_WEB_IRI.match(url)) and holds(url)


def shown_values(
    s: URIRef, value: Callable[[str], str | bool | None], holds: IriCheck
) -> Iterator[Triple]:
    """The values source ``s`` shows, ``value`` giving each record key's value."""
    for key, prop in RECORD_TEXT.items():
        text = value(key)
        if isinstance(text, str) and prop not in (MK.sourceTypeName, MK.authorTypeName):
            yield s, prop, Literal(text)
    url = value("url")
    if isinstance(url, str) and web_iri(url, holds):
        yield s, RDFS.seeAlso, URIRef(url)
    stype = value("source type")
    if isinstance(stype, str) and stype in SOURCE_TYPE_CONCEPT:
        yield s, MK.sourceType, SOURCE_TYPE_CONCEPT[stype]
        if stype == "Interview":
            yield s, RDF.type, MK.Interview
    atype = value("author type")
    if isinstance(atype, str) and atype in AUTHOR_TYPE_CONCEPT:
        yield s, MK.authorType, AUTHOR_TYPE_CONCEPT[atype]
    for key, prop in RECORD_FLAGS.items():
        flag = value(key)
        if isinstance(flag, bool):
            yield s, prop, Literal(flag)
