"""JSON-LD written with an ``@context``: the prefixes every other format prints, as terms.

Oxigraph writes JSON-LD in expanded form: every key and every ``@id`` a full IRI, and no
``@context`` for a reader to see which vocabularies are used. This writer emits the same
triples as compact IRIs (``skos:prefLabel``, ``mk:Practice``) under an ``@context`` that maps
each prefix to its namespace, so any JSON-LD processor reads back exactly the triples written.
Node objects are written as the triples come, a subject's consecutive triples in one object,
so memory stays that of one node however large the graph: a subject met again later gets a
second node object, which JSON-LD merges on reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson
import pyoxigraph as ox

from app.namespaces import PREFIXES

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

Node = dict[str, object]


class Compactor:
    """Shortens IRIs to ``prefix:local`` where a JSON-LD reader expands them back unchanged."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        # longest namespace first, so a namespace inside another one never takes its IRIs
        self._spaces = sorted(prefixes.items(), key=lambda item: -len(item[1]))
        self._seen: dict[str, str] = {}

    def __call__(self, iri: str) -> str:
        found = self._seen.get(iri)
        if found is None:
            found = iri
            for prefix, space in self._spaces:
                if iri.startswith(space) and self._safe(iri[len(space) :]):
                    found = f"{prefix}:{iri[len(space) :]}"
                    break
            if len(self._seen) < 100_000:
                self._seen[iri] = found
        return found

    @staticmethod
    def _safe(local: str) -> bool:
        # "prefix://…" reads as an absolute IRI, and an empty local part as the prefix itself
        return bool(local) and not local.startswith("//")


def context(prefixes: dict[str, str] = PREFIXES) -> dict[str, object]:
    return {"@context": dict(prefixes)}


def write(statements: Iterable[ox.Triple | ox.Quad], prefixes: dict[str, str] = PREFIXES) -> bytes:
    """A JSON-LD document of ``statements``; quads in a named graph go in that graph's node."""
    short = Compactor(prefixes)
    parts = [b'{"@context":', orjson.dumps(dict(prefixes)), b',"@graph":[']
    first = True
    for item in _items(statements, short):
        if not first:
            parts.append(b",")
        parts.append(orjson.dumps(item))
        first = False
    parts.append(b"]}\n")
    return b"".join(parts)


def _items(statements: Iterable[ox.Triple | ox.Quad], short: Compactor) -> Iterator[Node]:
    """Top-level items: default-graph nodes, and one ``@graph`` object per named-graph run."""
    graph_key: str | None = None
    graph_nodes: list[Node] = []
    for graph, node in _nodes(statements, short):
        if graph != graph_key and graph_key is not None:
            yield {"@id": graph_key, "@graph": graph_nodes}
            graph_nodes = []
        graph_key = graph
        if graph is None:
            yield node
        else:
            graph_nodes.append(node)
    if graph_key is not None:
        yield {"@id": graph_key, "@graph": graph_nodes}


def _nodes(
    statements: Iterable[ox.Triple | ox.Quad], short: Compactor
) -> Iterator[tuple[str | None, Node]]:
    current: Node | None = None
    current_key: tuple[str | None, str] | None = None
    for st in statements:
        graph = _graph_name(st, short)
        subject = _id(st.subject, short)
        key = (graph, subject)
        if key != current_key:
            if current is not None and current_key is not None:
                yield current_key[0], current
            current, current_key = {"@id": subject}, key
        assert current is not None
        predicate = st.predicate.value
        if predicate == RDF_TYPE and isinstance(st.object, ox.NamedNode):
            types = current.setdefault("@type", [])
            assert isinstance(types, list)
            types.append(short(st.object.value))
            continue
        values = current.setdefault(short(predicate), [])
        assert isinstance(values, list)
        values.append(_value(st.object, short))
    if current is not None and current_key is not None:
        yield current_key[0], current


def _graph_name(st: ox.Triple | ox.Quad, short: Compactor) -> str | None:
    if isinstance(st, ox.Quad) and not isinstance(st.graph_name, ox.DefaultGraph):
        return _id(st.graph_name, short)
    return None


def _id(term: object, short: Compactor) -> str:
    if isinstance(term, ox.NamedNode):
        return short(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    raise ValueError(f"JSON-LD 1.1 cannot name {term!r}")


def _value(term: object, short: Compactor) -> Node:
    if isinstance(term, ox.Literal):
        value: Node = {"@value": term.value}
        if term.language:
            value["@language"] = term.language
        elif term.datatype.value != XSD_STRING:
            value["@type"] = short(term.datatype.value)
        return value
    return {"@id": _id(term, short)}
