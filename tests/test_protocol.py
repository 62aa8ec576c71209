"""SPARQL protocol and dump behaviour on the fixture collections (no shared corpus needed)."""

from __future__ import annotations

import json

import httpx
import pyoxigraph as ox
import rdflib
import rdflib.compare

BASE = "https://w3id.org/meshkg/id/"


def test_relative_iris_resolve_against_the_data_base(fixture_server: str) -> None:
    """SPARQL 1.1 4.1.1.1; the W3C protocol case query_content_type_construct sends this."""
    r = httpx.post(
        fixture_server + "/sparql",
        content="CONSTRUCT { <s> <p> 1 } WHERE {}",
        headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"},
    )
    assert r.status_code == 200, r.text
    (triple,) = ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES)
    assert triple.subject == ox.NamedNode(BASE + "s")
    assert triple.predicate == ox.NamedNode(BASE + "p")


def test_a_relative_from_names_a_collection_graph(fixture_server: str) -> None:
    query = "SELECT (COUNT(*) AS ?n) FROM <platform> WHERE { ?s ?p ?o }"
    r = httpx.get(fixture_server + "/sparql", params={"query": query})
    assert r.status_code == 200, r.text
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) > 100
    r = httpx.get(fixture_server + "/sparql", params={"query": query.replace("platform", "x")})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unknown-graph"
    assert BASE + "x" in r.json()["error"]["message"]


def test_plain_xml_gets_xml_results(fixture_server: str) -> None:
    for query, root_child in (
        ("SELECT ?s WHERE { ?s ?p ?o } LIMIT 2", "results"),
        ("ASK { ?s ?p ?o }", "boolean"),
    ):
        r = httpx.get(
            fixture_server + "/sparql",
            params={"query": query},
            headers={"Accept": "application/xml"},
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/xml")
        from xml.etree import ElementTree

        doc = ElementTree.fromstring(r.content)
        assert doc.tag == "{http://www.w3.org/2005/sparql-results#}sparql"
        assert doc.find(f"{{http://www.w3.org/2005/sparql-results#}}{root_child}") is not None
    r = httpx.get(
        fixture_server + "/sparql",
        params={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 3"},
        headers={"Accept": "application/xml"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/rdf+xml")
    assert len(rdflib.Graph().parse(data=r.content, format="xml")) == 3


def test_json_ld_dump_has_a_context_and_reads_back_as_the_n_triples_dump(
    fixture_server: str,
) -> None:
    for name in ("all", "platform"):
        jsonld = httpx.get(f"{fixture_server}/dumps/{name}.jsonld")
        nt = httpx.get(f"{fixture_server}/dumps/{name}.nt")
        assert jsonld.status_code == nt.status_code == 200
        doc = json.loads(jsonld.content)
        assert doc["@context"]["mk"] == "https://w3id.org/meshkg/ontology#"
        assert any("skos:prefLabel" in node for node in doc["@graph"])
        read = rdflib.Graph().parse(data=jsonld.content, format="json-ld")
        expected = rdflib.Graph().parse(data=nt.content, format="nt")
        assert len(read) == len(expected) > 100
        assert rdflib.compare.isomorphic(read, expected)


def test_construct_as_json_ld_has_the_context(fixture_server: str) -> None:
    r = httpx.get(
        fixture_server + "/sparql",
        params={"query": "CONSTRUCT WHERE { ?s a ?t } LIMIT 5"},
        headers={"Accept": "application/ld+json"},
    )
    assert r.status_code == 200
    doc = r.json()
    assert "@context" in doc
    assert len(rdflib.Graph().parse(data=r.content, format="json-ld")) == 5
