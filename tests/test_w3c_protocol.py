"""The W3C SPARQL 1.1 Protocol test suite (``sparql11/protocol/manifest.ttl``), every case.

Each case is sent as the suite writes it, against a real ``meshkg serve``. The suite's data
graphs (``http://kasei.us/…/dataN.rdf``, each holding ``<dataN.rdf> a ?type``) are replaced by
this service's own graphs, which hold the same shape of triple: each collection's graph says
``<collection> a mk:Collection`` and the ontology's graph ``<ontology> a owl:Ontology``. The
service never loads a graph from elsewhere, so the suite's graph IRIs would be refused.

The service is read-only: the suite's update cases (``update_*``) are answered with a refusal
(403), and its bad-update cases with the 4xx they expect.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.server import running

BASE = "https://w3id.org/meshkg/id/"
G1 = BASE + "platform"
G2 = BASE + "product"
G3 = "https://w3id.org/meshkg/ontology"
RESULTS = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)
RDF = ("text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}


@pytest.fixture(scope="module")
def sparql() -> Iterator[str]:
    collections = [FIXTURES / "notes" / "platform", FIXTURES / "notes" / "product"]
    with running(collections) as base:
        yield base + "/sparql"


def _q(text: str) -> str:
    return quote(text, safe="")


def _boolean(r: httpx.Response) -> bool:
    assert 200 <= r.status_code < 400, r.text
    assert r.headers["content-type"].split(";")[0] in RESULTS
    value: bool = r.json()["boolean"]
    return value


def _media(r: httpx.Response) -> str:
    return r.headers["content-type"].split(";")[0].strip()


def test_query_post_form(sparql: str) -> None:
    r = httpx.post(
        f"{sparql}?default-graph-uri={_q(G1)}", content="query=ASK%20%7B%7D", headers=FORM
    )
    assert _boolean(r) is True


def test_query_dataset_default_graphs_get(sparql: str) -> None:
    query = f"ASK {{ <{G1}> a ?type . <{G2}> a ?type . }}"
    url = f"{sparql}?query={_q(query)}&default-graph-uri={_q(G1)}&default-graph-uri={_q(G2)}"
    assert _boolean(httpx.get(url)) is True


def test_query_dataset_default_graphs_post(sparql: str) -> None:
    query = f"ASK {{ <{G1}> a ?type . <{G2}> a ?type . }}"
    url = f"{sparql}?default-graph-uri={_q(G1)}&default-graph-uri={_q(G2)}"
    assert _boolean(httpx.post(url, content=query, headers=DIRECT)) is True


def test_query_dataset_named_graphs_post(sparql: str) -> None:
    query = f"ASK {{ GRAPH ?g1 {{ <{G1}> a ?type }} GRAPH ?g2 {{ <{G2}> a ?type }} }}"
    url = f"{sparql}?named-graph-uri={_q(G1)}&named-graph-uri={_q(G2)}"
    assert _boolean(httpx.post(url, content=query, headers=DIRECT)) is True


def test_query_dataset_named_graphs_get(sparql: str) -> None:
    query = f"ASK {{ GRAPH ?g1 {{ <{G1}> a ?type }} GRAPH ?g2 {{ <{G2}> a ?type }} }}"
    url = f"{sparql}?query={_q(query)}&named-graph-uri={_q(G1)}&named-graph-uri={_q(G2)}"
    assert _boolean(httpx.get(url)) is True


def test_query_dataset_full(sparql: str) -> None:
    query = (
        f"ASK {{\n  <{G3}> a ?type0\n  GRAPH ?g1 {{ <{G1}> a ?type }}\n"
        f"  GRAPH ?g2 {{ <{G2}> a ?type }}\n}}"
    )
    url = f"{sparql}?default-graph-uri={_q(G3)}&named-graph-uri={_q(G1)}&named-graph-uri={_q(G2)}"
    assert _boolean(httpx.post(url, content=query, headers=DIRECT)) is True


def test_query_multiple_dataset(sparql: str) -> None:
    """The protocol's dataset wins over the query's FROM."""
    query = f"ASK FROM <{G2}> {{ <{G1}> a ?type . }}"
    url = f"{sparql}?default-graph-uri={_q(G1)}"
    assert _boolean(httpx.post(url, content=query, headers=DIRECT)) is True
    assert _boolean(httpx.post(sparql, content=query, headers=DIRECT)) is False  # FROM alone


def test_query_get(sparql: str) -> None:
    assert _boolean(httpx.get(f"{sparql}?query=ASK%20%7B%7D")) is True


def test_query_post_direct(sparql: str) -> None:
    assert _boolean(httpx.post(sparql, content="ASK {}", headers=DIRECT)) is True


def test_query_content_type_select(sparql: str) -> None:
    r = httpx.get(f"{sparql}?query={_q('SELECT (1 AS ?value) {}')}")
    assert r.status_code == 200
    assert _media(r) in RESULTS


def test_query_content_type_ask(sparql: str) -> None:
    r = httpx.post(sparql, content="ASK {}", headers=DIRECT)
    assert r.status_code == 200
    assert _media(r) in RESULTS


def test_query_content_type_describe(sparql: str) -> None:
    r = httpx.post(sparql, content="DESCRIBE <http://example.org/>", headers=DIRECT)
    assert r.status_code == 200
    assert _media(r) in RDF


def test_query_content_type_construct(sparql: str) -> None:
    r = httpx.post(sparql, content="CONSTRUCT { <s> <p> 1 } WHERE {}", headers=DIRECT)
    assert r.status_code == 200, r.text
    assert _media(r) in RDF


def _client_error(r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, r.text


def test_bad_query_method(sparql: str) -> None:
    _client_error(httpx.put(f"{sparql}?query=ASK%20%7B%7D"))


def test_bad_multiple_queries(sparql: str) -> None:
    _client_error(httpx.get(f"{sparql}?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D"))


def test_bad_query_wrong_media_type(sparql: str) -> None:
    headers = {"Content-Type": "text/plain"}
    _client_error(httpx.post(sparql, content="ASK {}", headers=headers))


def test_bad_query_missing_form_type(sparql: str) -> None:
    _client_error(httpx.post(sparql, content="query=ASK%20%7B%7D"))


def test_bad_query_missing_direct_type(sparql: str) -> None:
    _client_error(httpx.post(sparql, content="ASK {}"))


def test_bad_query_non_utf8(sparql: str) -> None:
    body = "ASK { <http://example.org/dävid> ?p ?o }".encode("iso-8859-1")
    headers = {"Content-Type": "application/sparql-query; charset=ISO-8859-1"}
    _client_error(httpx.post(sparql, content=body, headers=headers))


def test_bad_query_syntax(sparql: str) -> None:
    _client_error(httpx.get(f"{sparql}?query=ASK%20%7B"))


UPDATE = "INSERT DATA { <http://example.org/s> <http://example.org/p> 1 }"


@pytest.mark.parametrize(
    ("case", "method", "query", "body", "headers"),
    [
        ("bad_update_get", "GET", f"update={_q(UPDATE)}", None, {}),
        (
            "bad_multiple_updates",
            "POST",
            "",
            f"update={_q(UPDATE)}&update={_q(UPDATE)}",
            FORM,
        ),
        ("bad_update_wrong_media_type", "POST", "", UPDATE, {"Content-Type": "text/plain"}),
        ("bad_update_missing_form_type", "POST", "", f"update={_q(UPDATE)}", {}),
        (
            "bad_update_non_utf8",
            "POST",
            "",
            UPDATE.replace("p>", "pä>").encode("iso-8859-1"),
            {"Content-Type": "application/sparql-update; charset=ISO-8859-1"},
        ),
        (
            "bad_update_syntax",
            "POST",
            "",
            "INSERT DATA {",
            {"Content-Type": "application/sparql-update"},
        ),
        (
            "bad_update_dataset_conflict",
            "POST",
            f"using-graph-uri={_q(G1)}",
            f"WITH <{G2}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
            {"Content-Type": "application/sparql-update"},
        ),
    ],
)
def test_bad_updates(
    sparql: str, *, case: str, method: str, query: str, body: object, headers: dict[str, str]
) -> None:
    url = f"{sparql}?{query}" if query else sparql
    r = httpx.request(method, url, content=body, headers=headers)  # type: ignore[arg-type]
    _client_error(r)


@pytest.mark.parametrize(
    ("case", "body", "headers"),
    [
        ("update_post_form", f"update={_q(UPDATE)}", FORM),
        ("update_post_direct", UPDATE, {"Content-Type": "application/sparql-update"}),
        (
            "update_base_uri",
            "BASE <http://example.org/> INSERT DATA { <s> <p> 1 }",
            {"Content-Type": "application/sparql-update"},
        ),
        ("update_dataset_default_graph", f"update={_q(UPDATE)}&using-graph-uri={_q(G1)}", FORM),
        (
            "update_dataset_default_graphs",
            f"update={_q(UPDATE)}&using-graph-uri={_q(G1)}&using-graph-uri={_q(G2)}",
            FORM,
        ),
        (
            "update_dataset_named_graphs",
            f"update={_q(UPDATE)}&using-named-graph-uri={_q(G1)}",
            FORM,
        ),
        (
            "update_dataset_full",
            f"update={_q(UPDATE)}&using-graph-uri={_q(G1)}&using-named-graph-uri={_q(G2)}",
            FORM,
        ),
    ],
)
def test_updates_are_refused_and_change_nothing(
    sparql: str, case: str, body: str, headers: dict[str, str]
) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    before = httpx.get(sparql, params={"query": count}).json()
    r = httpx.post(sparql, content=body, headers=headers)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "read-only"
    assert httpx.get(sparql, params={"query": count}).json() == before
