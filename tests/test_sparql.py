"""The SPARQL 1.1 Protocol on a real ``meshkg serve`` over small fixture collections.

Test names follow the W3C SPARQL 1.1 Protocol test suite where a case applies to a read-only
endpoint (``query_get``, ``bad_multiple_queries``, …); the rest cover negotiation, datasets,
safety (nothing is ever fetched) and the limits. Expected values come from an in-process build
of the same folders (``tests/fixture_graphs.py``); the one test marked ``corpus`` checks the
shared corpus's known counts and skips without it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import re
import socket
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node
from SPARQLWrapper import JSON, TURTLE, SPARQLWrapper

from app.pipeline import Build
from app.sparql.check import inspect
from app.sparql.engine import WorkerLimits, _Worker
from app.store.snapshot import Snapshot
from tests.canary import Canary
from tests.conftest import ROOT
from tests.fixture_graphs import (
    MK,
    NAMES,
    PLATFORM,
    PLATFORM_S6,
    PRODUCT,
    SAMPLE,
    built,
    collections,
    construct,
    graph_iri,
    minter,
    snapshot,
    sources,
)
from tests.fixture_graphs import error_code as _error
from tests.fixture_graphs import tool as _tool
from tests.server import from_address, running

SERVED = (PLATFORM, PLATFORM_S6, PRODUCT, NAMES)
"""Three collections: ``platform`` (from two folders), ``product`` and ``my study #1 %é``."""
TWO_WORKERS = (PLATFORM, PRODUCT, SAMPLE)
"""Two collections of short notes, and the sample: one real note with long quotes."""
RESULT_LIMIT = 100
"""The main server's result limit: the whole graph is well over it, every other answer here
is well under it."""
PLATFORM_G = graph_iri("platform")
PRODUCT_G = graph_iri("product")
NAMES_G = graph_iri("my study #1 %é")
S6 = minter("product").source("s6")
COUNT_SOURCES = f"SELECT (COUNT(?s) AS ?n) WHERE {{ ?s a <{MK}Source> }}"
CONSTRUCT_S6 = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ BIND(<{S6}> AS ?s) ?s ?p ?o }}"
FOUR_WAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
XMLNS = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture(scope="module")
def data() -> Build:
    return built(*SERVED)


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return snapshot(*SERVED)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The service over :data:`SERVED`, with a result limit of :data:`RESULT_LIMIT` rows."""
    with running(list(SERVED), "--result-limit", str(RESULT_LIMIT)) as url:
        yield url


@pytest.fixture(scope="module")
def slow_server() -> Iterator[str]:
    """Every fixture collection at once and a one-second time limit: a cross product of the
    graph with itself three or four times runs far past it."""
    with running([*SERVED, SAMPLE], "--query-timeout", "1") as url:
        yield url


@pytest.fixture(scope="module")
def two_workers() -> Iterator[str]:
    """Two query workers and a six-second time limit: long enough that two slow queries hold
    both workers while a test looks at what else is answered."""
    with running(list(TWO_WORKERS), "--query-workers", "2", "--query-timeout", "6") as url:
        yield url


@pytest.fixture(scope="module")
def snap_two() -> Snapshot:
    return snapshot(*TWO_WORKERS)


def _count(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def _rdflib(triples: set[ox.Triple]) -> set[tuple[Node, Node, Node]]:
    """Triples from the in-process store, as rdflib reads them (for comparing with a parse)."""
    text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    assert text is not None
    return set(Graph().parse(data=text, format="nt"))


# --- the three ways to send a query ---------------------------------------------------------


def test_query_get(server: str, data: Build) -> None:
    r = httpx.get(f"{server}/sparql", params={"query": COUNT_SOURCES})
    assert r.headers["content-type"].startswith("application/sparql-results+json")
    assert _count(r) == len(sources(data))


def test_query_post_form(server: str, data: Build) -> None:
    r = httpx.post(f"{server}/sparql", data={"query": COUNT_SOURCES})
    assert _count(r) == len(sources(data))


def test_query_post_direct(server: str, data: Build) -> None:
    r = httpx.post(
        f"{server}/sparql",
        content=COUNT_SOURCES.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert _count(r) == len(sources(data))
    utf8 = httpx.post(
        f"{server}/sparql",
        content=COUNT_SOURCES.encode(),
        headers={"Content-Type": "application/sparql-query; charset=UTF-8"},
    )
    assert _count(utf8) == len(sources(data))


# --- result formats and negotiation ------------------------------------------------------


def test_query_content_type_select(server: str, data: Build) -> None:
    """The four result formats hold the same rows: every source, with its title."""
    query = f"SELECT ?s ?t WHERE {{ ?s a <{MK}Source> ; <http://purl.org/dc/terms/title> ?t }}"
    url = f"{server}/sparql"
    expected = sources(data)
    as_json = httpx.get(
        url, params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    rows = as_json.json()["results"]["bindings"]
    assert {r["s"]["value"] for r in rows} == expected
    assert len(rows) == len(expected)
    xml = httpx.get(
        url, params={"query": query}, headers={"Accept": "application/sparql-results+xml"}
    )
    assert xml.headers["content-type"].startswith("application/sparql-results+xml")
    root = ET.fromstring(xml.content)
    assert len(root.findall(f"{XMLNS}results/{XMLNS}result")) == len(expected)
    text_csv = httpx.get(url, params={"query": query}, headers={"Accept": "text/csv"})
    table = list(csv.reader(io.StringIO(text_csv.text)))
    assert table[0] == ["s", "t"]
    assert {row[0] for row in table[1:]} == expected
    assert len(table) == len(expected) + 1
    tsv = httpx.get(url, params={"query": query}, headers={"Accept": "text/tab-separated-values"})
    lines = tsv.text.rstrip("\n").split("\n")
    assert lines[0] == "?s\t?t"
    assert {line.split("\t")[0] for line in lines[1:]} == {f"<{s}>" for s in expected}


def test_query_content_type_ask(server: str) -> None:
    url = f"{server}/sparql"
    ask = f"ASK {{ <{S6}> a <{MK}Source> }}"
    assert httpx.get(url, params={"query": ask}).json()["boolean"] is True
    xml = httpx.get(
        url, params={"query": ask}, headers={"Accept": "application/sparql-results+xml"}
    )
    assert ET.fromstring(xml.content).find(f"{XMLNS}boolean").text == "true"  # type: ignore[union-attr]
    missing = minter("product").source("s999")
    no = httpx.get(url, params={"query": f"ASK {{ <{missing}> ?p ?o }}"})
    assert no.json() == {"head": {}, "boolean": False}


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
        ("application/trig", "trig"),
        ("application/n-quads", "nquads"),
    ],
)
def test_query_content_type_construct(
    server: str, snap: Snapshot, accept: str, rdflib_format: str
) -> None:
    """Each graph format, read by rdflib, holds exactly the triples the store constructs."""
    r = httpx.get(f"{server}/sparql", params={"query": CONSTRUCT_S6}, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == accept
    if rdflib_format in ("trig", "nquads"):
        ds = Dataset()
        ds.parse(data=r.text, format=rdflib_format)
        triples = {t for g in ds.graphs() for t in g}
    else:
        triples = set(Graph().parse(data=r.text, format=rdflib_format))
    expected = _rdflib(construct(snap, CONSTRUCT_S6))
    assert len(expected) > 10
    assert triples == expected
    assert {s for s, _, _ in triples} == {URIRef(S6)}


def test_query_content_type_describe(server: str) -> None:
    r = httpx.get(
        f"{server}/sparql",
        params={"query": f"DESCRIBE <{S6}>"},
        headers={"Accept": "text/turtle"},
    )
    assert r.status_code == 200, r.text
    g = Graph().parse(data=r.text, format="turtle")
    assert (URIRef(S6), None, None) in g


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("text/*", "text/csv"),
        ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        (
            "application/sparql-results+xml;q=0.2, text/tab-separated-values;q=0.9",
            "text/tab-separated-values",
        ),
        ("application/json", "application/json"),
        # a browser opening a shared query link: the query page, which runs it
        ("text/html, */*;q=0.1", "text/html"),
        ("text/html;q=0.5, application/xml", "application/xml"),
    ],
)
def test_accept_negotiation(server: str, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept else {}
    r = httpx.get(f"{server}/sparql", params={"query": COUNT_SOURCES}, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == expected
    assert "Accept" in r.headers["vary"]


def test_not_acceptable(server: str) -> None:
    r = httpx.get(
        f"{server}/sparql", params={"query": COUNT_SOURCES}, headers={"Accept": "image/png"}
    )
    assert _error(r, 406) == "not-acceptable"
    construct_ = httpx.get(
        f"{server}/sparql",
        params={"query": CONSTRUCT_S6},
        headers={"Accept": "text/csv;q=1, text/turtle;q=0"},
    )
    assert _error(construct_, 406) == "not-acceptable"


# --- protocol errors a read-only service must give ------------------------------------------


def test_bad_query_method(server: str) -> None:
    r = httpx.put(f"{server}/sparql", content=COUNT_SOURCES)
    assert r.status_code == 405


def test_bad_multiple_queries(server: str) -> None:
    r = httpx.get(f"{server}/sparql", params=[("query", COUNT_SOURCES), ("query", "ASK {}")])
    assert _error(r, 400) == "several-queries"
    both = httpx.post(
        f"{server}/sparql",
        params={"query": "ASK {}"},
        content=b"ASK {}",
        headers={"Content-Type": "application/sparql-query"},
    )
    assert _error(both, 400) == "several-queries"


def test_bad_query_wrong_media_type(server: str) -> None:
    r = httpx.post(
        f"{server}/sparql", content=COUNT_SOURCES, headers={"Content-Type": "text/plain"}
    )
    assert _error(r, 415) == "media-type"


def test_bad_query_missing_form_type(server: str) -> None:
    r = httpx.post(
        f"{server}/sparql",
        content=f"query={httpx.QueryParams({'q': COUNT_SOURCES})}".encode(),
    )
    assert r.status_code == 415


def test_bad_query_non_utf8(server: str) -> None:
    utf16 = httpx.post(
        f"{server}/sparql",
        content=COUNT_SOURCES.encode("utf-16"),
        headers={"Content-Type": "application/sparql-query; charset=UTF-16"},
    )
    assert _error(utf16, 415) == "encoding"
    undeclared = httpx.post(
        f"{server}/sparql",
        content=COUNT_SOURCES.encode("utf-16"),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert _error(undeclared, 400) == "encoding"
    latin1_form = httpx.post(
        f"{server}/sparql",
        content=b"query=ASK%20%7B%7D",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"},
    )
    assert _error(latin1_form, 415) == "encoding"
    bad_escape = httpx.get(f"{server}/sparql?query=ASK%20%7B%FF%7D")
    assert _error(bad_escape, 400) == "encoding"


def test_bad_query_syntax(server: str) -> None:
    r = httpx.get(f"{server}/sparql", params={"query": "SELECT ?s WHERE { ?s ?p "})
    assert _error(r, 400) == "syntax"
    assert "parse" in r.json()["error"]["message"]


def test_every_property_path_form_is_accepted(server: str) -> None:
    """``?`` alone is the zero-or-one modifier, not the start of a variable."""
    query = (
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "ASK { ?a skos:broader? ?b ; (skos:broader|^skos:narrower)* ?c ; !skos:x ?d ; "
        "skos:broader+/skos:prefLabel ?e }"
    )
    r = httpx.get(f"{server}/sparql", params={"query": query})
    assert r.status_code == 200, r.text
    assert r.json()["boolean"] in (True, False)


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }",
        "CLEAR ALL",
        "LOAD <http://127.0.0.1:9/x>",
    ],
)
def test_bad_update_get(server: str, update: str) -> None:
    r = httpx.get(f"{server}/sparql", params={"update": update})
    assert _error(r, 400) == "update-by-get"
    as_query = httpx.get(f"{server}/sparql", params={"query": update})
    assert _error(as_query, 403) == "update"


@pytest.mark.parametrize("how", ["form", "direct"])
def test_update_post_is_refused(server: str, data: Build, how: str) -> None:
    update = "DELETE WHERE { ?s ?p ?o }"
    if how == "form":
        r = httpx.post(f"{server}/sparql", data={"update": update})
    else:
        r = httpx.post(
            f"{server}/sparql",
            content=update,
            headers={"Content-Type": "application/sparql-update"},
        )
    assert _error(r, 403) == "read-only"
    # asked by POST, which the answer cache never keeps: the store itself still holds them all
    still = httpx.post(f"{server}/sparql", data={"query": COUNT_SOURCES})
    assert _count(still) == len(sources(data))


# --- the service description and the query page ------------------------------------------


def test_service_description(server: str, data: Build) -> None:
    r = httpx.get(f"{server}/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    g = Graph().parse(data=r.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    endpoint = URIRef(f"{server}/sparql")
    assert (endpoint, URIRef(sd + "endpoint"), endpoint) in g
    names = set(g.objects(None, URIRef(sd + "name")))
    assert names == {URIRef(graph_iri(c)) for c in collections(data)}
    assert URIRef(NAMES_G) in names  # the awkward name, encoded as its IRI is
    page = httpx.get(f"{server}/sparql", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<textarea" in page.text
    assert "http://" not in page.text.replace(server, "").split("<footer")[0].split("<code>")[0]


# --- datasets, and never fetching anything --------------------------------------------------


def test_query_dataset_default_graph(server: str, data: Build) -> None:
    """``default-graph-uri`` and ``FROM`` choose the graphs the query sees, one or several."""
    url = f"{server}/sparql"
    platform, product = len(sources(data, "platform")), len(sources(data, "product"))
    assert platform != product  # so a count tells which graph answered
    one = httpx.get(url, params={"query": COUNT_SOURCES, "default-graph-uri": PLATFORM_G})
    assert _count(one) == platform
    both = httpx.get(
        url,
        params=[
            ("query", COUNT_SOURCES),
            ("default-graph-uri", PLATFORM_G),
            ("default-graph-uri", PRODUCT_G),
        ],
    )
    assert _count(both) == platform + product
    from_clause = COUNT_SOURCES.replace("WHERE", f"FROM <{PRODUCT_G}> WHERE")
    assert _count(httpx.get(url, params={"query": from_clause})) == product
    # a graph IRI holding %-escapes is named as the IRI is written, not decoded
    select = f"SELECT ?s WHERE {{ ?s a <{MK}Source> }}"
    awkward = httpx.get(url, params={"query": select, "default-graph-uri": NAMES_G})
    assert awkward.status_code == 200, awkward.text
    found = {b["s"]["value"] for b in awkward.json()["results"]["bindings"]}
    assert found == sources(data, "my study #1 %é")


def test_query_dataset_named_graphs(server: str, data: Build) -> None:
    """Every collection is a named graph; ``named-graph-uri`` narrows ``GRAPH ?g`` to it."""
    query = f"SELECT ?g (COUNT(?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a <{MK}Source> }} }} GROUP BY ?g"
    url = f"{server}/sparql"
    everything = httpx.get(url, params={"query": query}).json()["results"]["bindings"]
    assert {(r["g"]["value"], r["n"]["value"]) for r in everything} == {
        (graph_iri(c), str(len(sources(data, c)))) for c in collections(data)
    }
    only = httpx.get(url, params={"query": query, "named-graph-uri": PRODUCT_G}).json()
    assert [(r["g"]["value"], r["n"]["value"]) for r in only["results"]["bindings"]] == [
        (PRODUCT_G, str(len(sources(data, "product"))))
    ]


def _new_connections(canary: Canary, before: int) -> list[str]:
    """The addresses of the connections the canary accepted since ``before``, ending with one
    made now from 127.0.0.7: the canary accepts connections in the order they arrive, so once
    that one is counted, so is every connection made before it."""
    with from_address(7, timeout=10) as marker:
        assert marker.get(canary.url + "marker").status_code == 200
    return [str(host) for host, _port in canary.hits[before:]]


def test_nothing_outside_the_store_is_ever_fetched(
    server: str, data: Build, canary: Canary
) -> None:
    """No form of a query reaches a server on this machine; the canary counts connections."""
    url = f"{server}/sparql"
    before = len(canary.hits)
    attempts = {
        "service": f"SELECT * WHERE {{ SERVICE <{canary.url}sparql> {{ ?s ?p ?o }} }}",
        "service-silent": (
            f"SELECT * WHERE {{ ?a ?b ?c SERVICE SILENT <{canary.url}s> {{ ?s ?p ?o }} }}"
        ),
        "service-lowercase": f"select * where {{ service <{canary.url}q> {{ ?s ?p ?o }} }}",
        "service-prefixed": (
            f"PREFIX c: <{canary.url}> SELECT * {{ SERVICE c:sparql {{ ?s ?p ?o }} }}"
        ),
        "load": f"LOAD <{canary.url}data.ttl>",
        "from": f"SELECT * FROM <{canary.url}data.ttl> WHERE {{ ?s ?p ?o }}",
        "from-named": f"SELECT * FROM NAMED <{canary.url}g> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    }
    for name, query in attempts.items():
        r = httpx.get(url, params={"query": query})
        assert 400 <= r.status_code < 500, (name, r.status_code)
    for param in ("default-graph-uri", "named-graph-uri"):
        r = httpx.get(url, params={"query": "ASK { ?s ?p ?o }", param: f"{canary.url}graph"})
        assert _error(r, 400) == "unknown-graph"
    # keywords inside strings, comments and IRIs are not keywords
    harmless = (
        "# SERVICE <http://127.0.0.1:9/>\n"
        "SELECT (COUNT(?s) AS ?n) WHERE { ?s a <" + MK + "Source> FILTER(?s != <http://x/SERVICE>) "
        'FILTER("LOAD FROM" != "x") }'
    )
    assert _count(httpx.get(url, params={"query": harmless})) == len(sources(data))
    assert _new_connections(canary, before) == ["127.0.0.7"]  # only the marker's own


# --- CORS ---------------------------------------------------------------------------------


def test_cors_is_open_without_credentials(server: str) -> None:
    origin = {"Origin": "https://notebook.example.org"}
    r = httpx.get(f"{server}/sparql", params={"query": "ASK {}"}, headers=origin)
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    pre = httpx.options(
        f"{server}/sparql",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status_code == 200
    assert "POST" in pre.headers["access-control-allow-methods"]


# --- limits --------------------------------------------------------------------------------


def test_a_cut_result_says_so(server: str, snap: Snapshot) -> None:
    """A result over the limit is cut, and every format that can say so does (a header, a
    link, a comment); CSV, which cannot, is refused rather than silently short."""
    everything = "SELECT * WHERE { ?s ?p ?o }"
    url = f"{server}/sparql"
    assert len(snap.store) > 2 * RESULT_LIMIT  # the whole graph is well over the limit
    r = httpx.get(url, params={"query": everything})
    assert r.status_code == 200
    assert r.headers["meshkg-result-cut"] == f"{RESULT_LIMIT} rows"
    body = r.json()
    assert body["truncated"] is True
    assert len(body["results"]["bindings"]) == RESULT_LIMIT
    assert any("result-cut" in link for link in body["head"]["link"])
    xml = httpx.get(
        url, params={"query": everything}, headers={"Accept": "application/sparql-results+xml"}
    )
    assert b"urn:meshkg:result-cut" in xml.content
    as_csv = httpx.get(url, params={"query": everything}, headers={"Accept": "text/csv"})
    assert _error(as_csv, 422) == "result-too-large"
    graph = httpx.get(
        url, params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"}, headers={"Accept": "text/turtle"}
    )
    assert graph.headers["meshkg-result-cut"] == f"{RESULT_LIMIT} rows"
    assert graph.text.startswith(f"# result cut at {RESULT_LIMIT} triples")
    assert len(Graph().parse(data=graph.text, format="turtle")) == RESULT_LIMIT
    # exactly as many rows as the limit is a whole answer, one more is not
    exact = httpx.get(url, params={"query": f"{everything} LIMIT {RESULT_LIMIT}"})
    assert "meshkg-result-cut" not in exact.headers
    assert "truncated" not in exact.json()
    assert len(exact.json()["results"]["bindings"]) == RESULT_LIMIT
    over = httpx.get(url, params={"query": f"{everything} LIMIT {RESULT_LIMIT + 1}"})
    assert over.headers["meshkg-result-cut"] == f"{RESULT_LIMIT} rows"


def test_answers_larger_than_a_pipe_arrive_whole_every_time(
    two_workers: str, snap_two: Snapshot
) -> None:
    """An answer of megabytes is many pipe-fulls between worker and server; none may be lost.

    Every pair of the sample's quotes, twice: long texts, so the answer is large while the
    query stays cheap. ``no-cache`` makes each one a fresh answer from a worker.
    """
    text = "<https://schema.org/text>"
    pairs = f"SELECT ?n ?t ?u WHERE {{ VALUES ?n {{ 1 2 }} ?a {text} ?t . ?b {text} ?u }}"
    quotes = len(list(snap_two.store.quads_for_pattern(None, ox.NamedNode(text[1:-1]), None)))
    headers = {"Accept": "application/sparql-results+xml", "Cache-Control": "no-cache"}
    with httpx.Client(timeout=30) as client:
        bodies = set()
        for _ in range(20):
            r = client.get(f"{two_workers}/sparql", params={"query": pairs}, headers=headers)
            assert r.status_code == 200, r.text
            assert r.headers["meshkg-cache"] == "miss"
            assert "meshkg-result-cut" not in r.headers
            bodies.add(r.content)
    assert len(bodies) == 1
    body = bodies.pop()
    assert len(body) > 1 << 20  # more than a pipe holds (see the next test)
    assert len(ET.fromstring(body).findall(f"{XMLNS}results/{XMLNS}result")) == 2 * quotes**2


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_a_worker_can_leave_a_whole_answer_in_its_pipe() -> None:
    """So it takes the next query while the event loop is still reading the last answer."""
    worker = _Worker(ox.Store, WorkerLimits())
    try:
        assert fcntl.fcntl(worker.answer_fd, fcntl.F_GETPIPE_SZ) >= 1 << 20
    finally:
        worker.kill()


PATHOLOGICAL = {
    "cartesian": FOUR_WAY,
    "ordered-cartesian": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i",
    "regex-join": (
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i "
        "FILTER(REGEX(STR(?c), STR(?f))) }"
    ),
    # three chained closures, joined with a fourth that shares nothing with them
    "path-chain": (
        f"SELECT (COUNT(*) AS ?n) WHERE {{ ?x (!<{MK}solution>)+ ?y . ?y (!<{MK}solution>)+ ?z ."
        f" ?z (!<{MK}solution>)+ ?w . ?a (!<{MK}solution>)+ ?b }}"
    ),
    "any-path-star": "SELECT (COUNT(*) AS ?n) WHERE { "
    + " . ".join(f"?v{n} (<{MK}codedIn>|!<{MK}codedIn>)* ?v{n + 1}" for n in range(6))
    + " }",
}


@pytest.mark.parametrize("query", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_query_stops_while_others_answer(slow_server: str, query: str) -> None:
    """Each of these would run for tens of seconds or more over the fixture graph; the time
    limit stops it, and meanwhile another client (another address: its own share of the
    workers) is answered."""
    url = f"{slow_server}/sparql"
    limits = httpx.get(f"{slow_server}/info").json()["limits"]
    expected = _count(httpx.post(url, data={"query": COUNT_SOURCES}))
    answered: list[httpx.Response] = []  # the other client's answers before the slow one's
    stop = threading.Event()

    def other_client() -> None:
        with from_address(2, timeout=10) as client:
            for _ in range(10_000):  # bounded; ends when the pathological query is answered
                if stop.is_set():
                    return
                r = client.post(url, data={"query": COUNT_SOURCES})  # POST: never from cache
                if not stop.is_set():
                    answered.append(r)

    thread = threading.Thread(target=other_client)
    thread.start()
    try:
        r = httpx.get(url, params={"query": query}, timeout=60)
    finally:
        stop.set()
        thread.join(timeout=30)
    # Sorting a cross product may reach the memory limit before the time limit: either stops it.
    code = _error(r, 503)
    assert code == "time-limit" or (code == "memory-limit" and "ORDER BY" in query)
    if code == "time-limit":
        assert (
            f"time limit of {limits['query_timeout_seconds']:g} s" in r.json()["error"]["message"]
        )
    else:
        assert f"memory limit of {limits['query_mb']} MB" in r.json()["error"]["message"]
    assert r.headers["retry-after"] == "1"
    assert len(answered) >= 3  # the other client kept being answered meanwhile
    assert {_count(other) for other in answered} == {expected}
    assert _count(httpx.post(url, data={"query": COUNT_SOURCES})) == expected


# --- real clients ----------------------------------------------------------------------------


def test_sparqlwrapper(server: str, snap: Snapshot, data: Build) -> None:
    count = str(len(sources(data)))
    client = SPARQLWrapper(f"{server}/sparql")
    client.setQuery(COUNT_SOURCES)
    client.setReturnFormat(JSON)
    answer = client.query().convert()
    assert isinstance(answer, dict)
    assert answer["results"]["bindings"][0]["n"]["value"] == count
    client.setQuery(CONSTRUCT_S6)
    client.setReturnFormat(TURTLE)
    turtle = client.query().convert()
    assert set(Graph().parse(data=turtle, format="turtle")) == _rdflib(
        construct(snap, CONSTRUCT_S6)
    )
    client.setMethod("POST")
    client.setQuery(COUNT_SOURCES)
    client.setReturnFormat(JSON)
    assert client.query().convert()["results"]["bindings"][0]["n"]["value"] == count  # type: ignore[index]


def _roqet(endpoint: str, query: str) -> str:
    out = subprocess.run(
        [_tool("roqet"), "-p", endpoint, "-e", query, "-r", "csv"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_roqet(server: str, data: Build) -> None:
    endpoint = f"{server}/sparql"
    counted = list(csv.DictReader(io.StringIO(_roqet(endpoint, COUNT_SOURCES))))
    assert [row["n"] for row in counted] == [str(len(sources(data)))]
    # rasqal reads variable bindings only (not booleans, not graphs) from a protocol answer.
    query = f"SELECT ?s WHERE {{ ?s a <{MK}Source> FILTER(STRENDS(STR(?s), '/source/s6')) }}"
    rows = csv.DictReader(io.StringIO(_roqet(endpoint, query)))
    expected = {s for s in sources(data) if s.endswith("/source/s6")}
    assert len(expected) == 3  # one in each collection, the awkward one included
    assert {row["s"] for row in rows} == expected


def test_a_graph_query_asked_for_results_xml_gets_rdf_xml(server: str, snap: Snapshot) -> None:
    """roqet and older clients send the results type whatever the query form."""
    r = httpx.get(
        f"{server}/sparql",
        params={"query": CONSTRUCT_S6},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/rdf+xml")
    graph = Graph().parse(data=r.text, format="xml")
    assert set(graph) == _rdflib(construct(snap, CONSTRUCT_S6))
    refused = httpx.get(
        f"{server}/sparql", params={"query": CONSTRUCT_S6}, headers={"Accept": "text/csv"}
    )
    assert refused.status_code == 406


def test_json_results_are_valid_json_with_unicode(server: str, snap: Snapshot) -> None:
    """Labels with non-ASCII letters and typographic signs come back as the notes wrote them."""
    query = (
        "SELECT ?l WHERE { GRAPH <" + NAMES_G + "> "
        "{ ?c <http://www.w3.org/2004/02/skos/core#prefLabel> ?l } }"
    )
    r = httpx.get(f"{server}/sparql", params={"query": query})
    assert r.headers["content-type"].startswith("application/sparql-results+json")
    labels = {b["l"]["value"] for b in json.loads(r.content)["results"]["bindings"]}
    stored = snap.store.query(query)
    assert isinstance(stored, ox.QuerySolutions)
    assert labels == {str(row["l"].value) for row in stored}
    assert "Qualität #1 (50% rule) ü/ß" in labels


# --- the empty ASK ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "empty"),
    [
        ("ASK {}", True),
        ("ask where { }", True),
        ("PREFIX ex: <http://example.org/>\n# probe\nASK {}", True),
        ("ASK { ?s ?p ?o }", False),
        ("ASK { FILTER(true) }", False),
        ("ASK {} VALUES ?x { 1 }", False),
        (f"ASK FROM <{PRODUCT_G}> {{}}", False),
        ('ASK {} HAVING (STRLEN(REPLACE(REPLACE("a", "a", "aa"), "a", "aa")) > 1)', False),
        ('SELECT (CONCAT("a", "a") AS ?a) (CONCAT(?a, ?a) AS ?b) {}', False),
        ("SELECT * {}", False),
        ('ASK { } # "}"', True),
    ],
)
def test_only_the_bare_empty_ask_skips_the_workers(query: str, empty: bool) -> None:
    """Expressions alone can grow without bound, so only ``ASK {}`` itself is constant work."""
    assert inspect(query).empty is empty


def _queries_running(url: str) -> int:
    metrics = httpx.get(f"{url}/metrics").text
    found = re.search(r"^meshkg_queries_running (\S+)$", metrics, re.MULTILINE)
    assert found is not None, metrics
    return int(float(found.group(1)))


def test_the_empty_ask_answers_while_every_worker_is_busy(two_workers: str) -> None:
    """The probe clients send to see the endpoint up does not queue behind long queries.

    Two slow queries from two clients take both workers until the time limit stops them;
    ``/ready`` confirms that no worker came free, and the empty ASK is answered, in every
    results format, before either slow query is.
    """
    url = f"{two_workers}/sparql"
    workers = httpx.get(f"{two_workers}/info").json()["limits"]["query_workers"]
    assert workers == 2
    slow: list[httpx.Response] = []

    def hold_a_worker(n: int) -> None:
        with from_address(10 + n, timeout=60) as client:  # one client per worker
            slow.append(client.get(url, params={"query": FOUR_WAY}))

    busy = [threading.Thread(target=hold_a_worker, args=(n,)) for n in range(workers)]
    for thread in busy:
        thread.start()
    try:
        for _ in range(2_000):  # bounded: both slow queries arrive within a few requests
            if _queries_running(two_workers) == workers:
                break
        else:
            pytest.fail("the slow queries never arrived")
        ready = httpx.get(f"{two_workers}/ready", timeout=30)
        assert _error(ready, 503) == "not-ready"
        assert "every query worker is busy" in ready.json()["error"]["message"]
        for accept in ("application/sparql-results+json", "application/sparql-results+xml"):
            r = httpx.get(url, params={"query": "ASK {}"}, headers={"Accept": accept}, timeout=30)
            assert r.status_code == 200
            assert r.headers["content-type"].startswith(accept)
            assert "true" in r.text
        assert slow == []  # both slow queries still held their workers
    finally:
        for thread in busy:
            thread.join(timeout=60)
    assert [_error(r, 503) for r in slow] == ["time-limit"] * workers


# --- the shared corpus (golden) -------------------------------------------------------------


@pytest.mark.corpus
def test_golden_corpus_source_counts(corpus_server: str) -> None:
    """The shared corpus's known counts: 76 sources, 43 in self-serve-platform and 33 in
    data-as-a-product, whichever way the dataset is chosen."""
    ss, dp = graph_iri("self-serve-platform"), graph_iri("data-as-a-product")
    url = f"{corpus_server}/sparql"
    assert _count(httpx.get(url, params={"query": COUNT_SOURCES})) == 76
    assert _count(httpx.get(url, params={"query": COUNT_SOURCES, "default-graph-uri": ss})) == 43
    from_clause = COUNT_SOURCES.replace("WHERE", f"FROM <{dp}> WHERE")
    assert _count(httpx.get(url, params={"query": from_clause})) == 33
    query = f"SELECT ?g (COUNT(?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a <{MK}Source> }} }} GROUP BY ?g"
    rows = httpx.get(url, params={"query": query}).json()["results"]["bindings"]
    assert {(r["g"]["value"], r["n"]["value"]) for r in rows} == {(ss, "43"), (dp, "33")}


# --- request size ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_limit_server() -> Iterator[str]:
    with running([ROOT / "seeds"], "--query-kb", "4") as url:  # 4,096 bytes
        yield url


def _padded(size: int) -> str:
    """A valid query of exactly ``size`` bytes: the padding is a comment."""
    query = "ASK { ?s ?p ?o }\n#"
    return query + "x" * (size - len(query))


def _raw_status(url: str, head: bytes, body: bytes) -> bytes:
    """Send a request head and part of a body on a socket; the status line the server answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body)
        return sock.recv(4096).split(b"\r\n", 1)[0]


def test_a_query_up_to_the_limit_is_answered(small_limit_server: str) -> None:
    url = f"{small_limit_server}/sparql"
    r = httpx.post(url, content=_padded(4096), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 200, r.text
    assert r.json()["boolean"] is True
    r = httpx.get(url, params={"query": _padded(3000)})  # percent-encoded: about 3.1 KB
    assert r.status_code == 200, r.text


def test_a_query_string_over_the_limit_is_refused(small_limit_server: str) -> None:
    r = httpx.get(f"{small_limit_server}/sparql", params={"query": _padded(5000)})
    assert _error(r, 414) == "query-too-long"
    assert "4096 bytes" in r.json()["error"]["message"]


@pytest.mark.parametrize("kind", ["application/sparql-query", "application/x-www-form-urlencoded"])
def test_a_body_over_the_limit_is_refused(small_limit_server: str, kind: str) -> None:
    query = _padded(4097)
    content = query if kind == "application/sparql-query" else "query=" + query
    r = httpx.post(f"{small_limit_server}/sparql", content=content, headers={"Content-Type": kind})
    assert _error(r, 413) == "request-too-large"
    assert r.headers["connection"] == "close"
    # the service goes on answering
    assert httpx.get(f"{small_limit_server}/sparql", params={"query": "ASK {}"}).status_code == 200


def test_a_chunked_body_over_the_limit_is_refused(small_limit_server: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"#" + b"x" * 999

    r = httpx.post(
        f"{small_limit_server}/sparql",
        content=chunks(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert "content-length" not in r.request.headers  # sent chunked: no length announced
    assert _error(r, 413) == "request-too-large"


def test_a_large_declared_body_is_refused_before_it_is_sent(small_limit_server: str) -> None:
    head = (
        b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/sparql-query\r\nContent-Length: 1000000000\r\n\r\n"
    )
    # a gigabyte announced, 16 bytes sent: the answer comes without waiting for the rest
    assert (
        _raw_status(small_limit_server, head, b"ASK { ?s ?p ?o }")
        == b"HTTP/1.1 413 Request Entity Too Large"
    )


def test_a_chunked_body_is_read_no_further_than_the_limit(small_limit_server: str) -> None:
    head = (
        b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/sparql-query\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"1000\r\n" + b"#" * 4096 + b"\r\n"  # 4,096 bytes in each chunk, no last chunk
    assert (
        _raw_status(small_limit_server, head, chunk * 2) == b"HTTP/1.1 413 Request Entity Too Large"
    )
