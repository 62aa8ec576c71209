"""The JSON-LD writer: compact IRIs under an ``@context``, read back as the same triples."""

from __future__ import annotations

import json

import pyoxigraph as ox
import rdflib
from hypothesis import given, settings
from hypothesis import strategies as st

from app.namespaces import PREFIXES
from app.rdf.formats import FORMATS
from app.store import jsonld
from app.store.write import serialize

JSONLD = next(f for f in FORMATS if f.name == "jsonld")
NQUADS = next(f for f in FORMATS if f.name == "nquads")
XSD = PREFIXES["xsd"]
SPACES = [*PREFIXES.values(), "http://example.org/", "urn:x:"]

local = st.text(alphabet="abcXYZ09_-./é", max_size=6)
iris = st.builds(lambda ns, loc: ox.NamedNode(ns + loc), st.sampled_from(SPACES), local)
blanks = st.sampled_from(["b1", "b2", "b3"]).map(ox.BlankNode)
literals = st.one_of(
    st.text(max_size=8).map(ox.Literal),
    st.builds(
        lambda v, lang: ox.Literal(v, language=lang),
        st.text(max_size=8),
        st.sampled_from(["en", "de-ch"]),
    ),
    st.integers().map(lambda n: ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))),
)
graphs = st.one_of(st.just(ox.DefaultGraph()), iris)
quads = st.lists(
    st.builds(ox.Quad, st.one_of(iris, blanks), iris, st.one_of(iris, blanks, literals), graphs),
    max_size=12,
)


def _read(data: bytes, fmt: str) -> rdflib.Dataset:
    dataset = rdflib.Dataset()
    dataset.parse(data=data, format=fmt)
    return dataset


def _same(a: rdflib.Dataset, b: rdflib.Dataset) -> bool:
    from rdflib.compare import isomorphic

    def by_graph(d: rdflib.Dataset) -> dict[str, rdflib.Graph]:
        out: dict[str, rdflib.Graph] = {}
        for s, p, o, g in d.quads((None, None, None, None)):
            name = "" if g is None or g == rdflib.URIRef("urn:x-rdflib:default") else str(g)
            out.setdefault(name, rdflib.Graph()).add((s, p, o))
        return out

    left, right = by_graph(a), by_graph(b)
    return left.keys() == right.keys() and all(isomorphic(left[k], right[k]) for k in left)


@settings(max_examples=150, deadline=None)
@given(quads)
def test_json_ld_reads_back_as_the_quads_written(written: list[ox.Quad]) -> None:
    expected = _read(serialize(written, NQUADS), "nquads")
    assert _same(_read(serialize(written, JSONLD), "json-ld"), expected)


def test_terms_are_compact_under_a_context() -> None:
    mk, skos = PREFIXES["mk"], PREFIXES["skos"]
    s = ox.NamedNode("https://w3id.org/meshkg/id/study/practice/p1")
    written = [
        ox.Triple(s, ox.NamedNode(PREFIXES["rdf"] + "type"), ox.NamedNode(mk + "Practice")),
        ox.Triple(s, ox.NamedNode(skos + "prefLabel"), ox.Literal("Self-serve", language="en")),
    ]
    doc = json.loads(serialize(written, JSONLD))
    assert doc["@context"] == PREFIXES
    (node,) = doc["@graph"]
    assert node["@type"] == ["mk:Practice"]
    assert node["skos:prefLabel"] == [{"@value": "Self-serve", "@language": "en"}]


def test_an_iri_that_would_read_back_otherwise_stays_whole() -> None:
    short = jsonld.Compactor({"ex": "http://example.org/"})
    assert short("http://example.org/a") == "ex:a"
    assert short("http://example.org/") == "http://example.org/"  # empty local part
    assert short("http://example.org///x") == "http://example.org///x"  # "ex://x" is absolute
