"""The SPARQL 1.1 Protocol on a real ``meshkg serve`` over the shared corpus.

Test names follow the W3C SPARQL 1.1 Protocol test suite where a case applies to a read-only
endpoint (``query_get``, ``bad_multiple_queries``, …); the rest cover negotiation, datasets,
safety (nothing is ever fetched) and the limits.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, URIRef
from SPARQLWrapper import JSON, TURTLE, SPARQLWrapper

from app.sparql.check import inspect
from app.sparql.engine import WorkerLimits, _Worker
from tests.canary import Canary
from tests.conftest import ROOT
from tests.server import from_address, running

MK = "https://w3id.org/meshkg/ontology#"
SS = "https://w3id.org/meshkg/id/self-serve-platform"
DP = "https://w3id.org/meshkg/id/data-as-a-product"
COUNT_SOURCES = f"SELECT (COUNT(?s) AS ?n) WHERE {{ ?s a <{MK}Source> }}"
CONSTRUCT_S6 = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ BIND(<{SS}/source/s6> AS ?s) ?s ?p ?o }}"
XMLNS = "{http://www.w3.org/2005/sparql-results#}"


def _count(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["status"] == status
    assert "Traceback" not in response.text
    assert "/work/" not in response.text
    assert "site-packages" not in response.text
    return str(body["code"])


# --- the three ways to send a query ---------------------------------------------------------


def test_query_get(corpus_server: str) -> None:
    r = httpx.get(f"{corpus_server}/sparql", params={"query": COUNT_SOURCES})
    assert r.headers["content-type"].startswith("application/sparql-results+json")
    assert _count(r) == 76


def test_query_post_form(corpus_server: str) -> None:
    r = httpx.post(f"{corpus_server}/sparql", data={"query": COUNT_SOURCES})
    assert _count(r) == 76


def test_query_post_direct(corpus_server: str) -> None:
    r = httpx.post(
        f"{corpus_server}/sparql",
        content=COUNT_SOURCES.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert _count(r) == 76
    utf8 = httpx.post(
        f"{corpus_server}/sparql",
        content=COUNT_SOURCES.encode(),
        headers={"Content-Type": "application/sparql-query; charset=UTF-8"},
    )
    assert _count(utf8) == 76


# --- result formats and negotiation ------------------------------------------------------


def test_query_content_type_select(corpus_server: str) -> None:
    query = f"SELECT ?s ?t WHERE {{ ?s a <{MK}Source> ; <http://purl.org/dc/terms/title> ?t }}"
    url = f"{corpus_server}/sparql"
    as_json = httpx.get(
        url, params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    rows = as_json.json()["results"]["bindings"]
    assert len(rows) == 76
    xml = httpx.get(
        url, params={"query": query}, headers={"Accept": "application/sparql-results+xml"}
    )
    assert xml.headers["content-type"].startswith("application/sparql-results+xml")
    root = ET.fromstring(xml.content)
    assert len(root.findall(f"{XMLNS}results/{XMLNS}result")) == 76
    text_csv = httpx.get(url, params={"query": query}, headers={"Accept": "text/csv"})
    table = list(csv.reader(io.StringIO(text_csv.text)))
    assert table[0] == ["s", "t"]
    assert len(table) == 77
    tsv = httpx.get(url, params={"query": query}, headers={"Accept": "text/tab-separated-values"})
    lines = tsv.text.rstrip("\n").split("\n")
    assert lines[0] == "?s\t?t"
    assert all(line.startswith("<https://") for line in lines[1:])
    assert {r["s"]["value"] for r in rows} == {row[0] for row in table[1:]}


def test_query_content_type_ask(corpus_server: str) -> None:
    url = f"{corpus_server}/sparql"
    ask = f"ASK {{ <{SS}/source/s6> a <{MK}Source> }}"
    assert httpx.get(url, params={"query": ask}).json()["boolean"] is True
    xml = httpx.get(
        url, params={"query": ask}, headers={"Accept": "application/sparql-results+xml"}
    )
    assert ET.fromstring(xml.content).find(f"{XMLNS}boolean").text == "true"  # type: ignore[union-attr]
    no = httpx.get(url, params={"query": f"ASK {{ <{SS}/source/s999> ?p ?o }}"})
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
def test_query_content_type_construct(corpus_server: str, accept: str, rdflib_format: str) -> None:
    r = httpx.get(
        f"{corpus_server}/sparql", params={"query": CONSTRUCT_S6}, headers={"Accept": accept}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == accept
    if rdflib_format in ("trig", "nquads"):
        ds = Dataset()
        ds.parse(data=r.text, format=rdflib_format)
        triples = {t for g in ds.graphs() for t in g}
    else:
        triples = set(Graph().parse(data=r.text, format=rdflib_format))
    subjects = {s for s, _, _ in triples}
    assert subjects == {URIRef(f"{SS}/source/s6")}
    assert len(triples) > 10


def test_query_content_type_describe(corpus_server: str) -> None:
    r = httpx.get(
        f"{corpus_server}/sparql",
        params={"query": f"DESCRIBE <{SS}/source/s6>"},
        headers={"Accept": "text/turtle"},
    )
    g = Graph().parse(data=r.text, format="turtle")
    assert (URIRef(f"{SS}/source/s6"), None, None) in g


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
def test_accept_negotiation(corpus_server: str, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept else {}
    r = httpx.get(f"{corpus_server}/sparql", params={"query": COUNT_SOURCES}, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == expected
    assert "Accept" in r.headers["vary"]


def test_not_acceptable(corpus_server: str) -> None:
    r = httpx.get(
        f"{corpus_server}/sparql", params={"query": COUNT_SOURCES}, headers={"Accept": "image/png"}
    )
    assert _error(r, 406) == "not-acceptable"
    construct = httpx.get(
        f"{corpus_server}/sparql",
        params={"query": CONSTRUCT_S6},
        headers={"Accept": "text/csv;q=1, text/turtle;q=0"},
    )
    assert _error(construct, 406) == "not-acceptable"


# --- protocol errors a read-only service must give ------------------------------------------


def test_bad_query_method(corpus_server: str) -> None:
    r = httpx.put(f"{corpus_server}/sparql", content=COUNT_SOURCES)
    assert r.status_code == 405


def test_bad_multiple_queries(corpus_server: str) -> None:
    r = httpx.get(f"{corpus_server}/sparql", params=[("query", COUNT_SOURCES), ("query", "ASK {}")])
    assert _error(r, 400) == "several-queries"
    both = httpx.post(
        f"{corpus_server}/sparql",
        params={"query": "ASK {}"},
        content=b"ASK {}",
        headers={"Content-Type": "application/sparql-query"},
    )
    assert _error(both, 400) == "several-queries"


def test_bad_query_wrong_media_type(corpus_server: str) -> None:
    r = httpx.post(
        f"{corpus_server}/sparql", content=COUNT_SOURCES, headers={"Content-Type": "text/plain"}
    )
    assert _error(r, 415) == "media-type"


def test_bad_query_missing_form_type(corpus_server: str) -> None:
    r = httpx.post(
        f"{corpus_server}/sparql",
        content=f"query={httpx.QueryParams({'q': COUNT_SOURCES})}".encode(),
    )
    assert r.status_code == 415


def test_bad_query_non_utf8(corpus_server: str) -> None:
    utf16 = httpx.post(
        f"{corpus_server}/sparql",
        content=COUNT_SOURCES.encode("utf-16"),
        headers={"Content-Type": "application/sparql-query; charset=UTF-16"},
    )
    assert _error(utf16, 415) == "encoding"
    undeclared = httpx.post(
        f"{corpus_server}/sparql",
        content=COUNT_SOURCES.encode("utf-16"),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert _error(undeclared, 400) == "encoding"
    latin1_form = httpx.post(
        f"{corpus_server}/sparql",
        content=b"query=ASK%20%7B%7D",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"},
    )
    assert _error(latin1_form, 415) == "encoding"
    bad_escape = httpx.get(f"{corpus_server}/sparql?query=ASK%20%7B%FF%7D")
    assert _error(bad_escape, 400) == "encoding"


def test_bad_query_syntax(corpus_server: str) -> None:
    r = httpx.get(f"{corpus_server}/sparql", params={"query": "SELECT ?s WHERE { ?s ?p "})
    assert _error(r, 400) == "syntax"
    assert "parse" in r.json()["error"]["message"]


def test_every_property_path_form_is_accepted(corpus_server: str) -> None:
    """``?`` alone is the zero-or-one modifier, not the start of a variable."""
    query = (
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "ASK { ?a skos:broader? ?b ; (skos:broader|^skos:narrower)* ?c ; !skos:x ?d ; "
        "skos:broader+/skos:prefLabel ?e }"
    )
    r = httpx.get(f"{corpus_server}/sparql", params={"query": query})
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
def test_bad_update_get(corpus_server: str, update: str) -> None:
    r = httpx.get(f"{corpus_server}/sparql", params={"update": update})
    assert _error(r, 400) == "update-by-get"
    as_query = httpx.get(f"{corpus_server}/sparql", params={"query": update})
    assert _error(as_query, 403) == "update"


@pytest.mark.parametrize("how", ["form", "direct"])
def test_update_post_is_refused(corpus_server: str, how: str) -> None:
    update = "DELETE WHERE { ?s ?p ?o }"
    if how == "form":
        r = httpx.post(f"{corpus_server}/sparql", data={"update": update})
    else:
        r = httpx.post(
            f"{corpus_server}/sparql",
            content=update,
            headers={"Content-Type": "application/sparql-update"},
        )
    assert _error(r, 403) == "read-only"
    assert _count(httpx.get(f"{corpus_server}/sparql", params={"query": COUNT_SOURCES})) == 76


# --- the service description and the query page ------------------------------------------


def test_service_description(corpus_server: str) -> None:
    r = httpx.get(f"{corpus_server}/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    g = Graph().parse(data=r.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    endpoint = URIRef(f"{corpus_server}/sparql")
    assert (endpoint, URIRef(sd + "endpoint"), endpoint) in g
    names = set(g.objects(None, URIRef(sd + "name")))
    assert names == {URIRef(SS), URIRef(DP)}
    page = httpx.get(f"{corpus_server}/sparql", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<textarea" in page.text
    assert (
        "http://" not in page.text.replace(corpus_server, "").split("<footer")[0].split("<code>")[0]
    )


# --- datasets, and never fetching anything --------------------------------------------------


def test_query_dataset_default_graph(corpus_server: str) -> None:
    url = f"{corpus_server}/sparql"
    one = httpx.get(url, params={"query": COUNT_SOURCES, "default-graph-uri": SS})
    assert _count(one) == 43
    both = httpx.get(
        url, params=[("query", COUNT_SOURCES), ("default-graph-uri", SS), ("default-graph-uri", DP)]
    )
    assert _count(both) == 76
    from_clause = COUNT_SOURCES.replace("WHERE", f"FROM <{DP}> WHERE")
    assert _count(httpx.get(url, params={"query": from_clause})) == 33


def test_query_dataset_named_graphs(corpus_server: str) -> None:
    query = f"SELECT ?g (COUNT(?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a <{MK}Source> }} }} GROUP BY ?g"
    url = f"{corpus_server}/sparql"
    everything = httpx.get(url, params={"query": query}).json()["results"]["bindings"]
    assert {(r["g"]["value"], r["n"]["value"]) for r in everything} == {(SS, "43"), (DP, "33")}
    only = httpx.get(url, params={"query": query, "named-graph-uri": DP}).json()["results"][
        "bindings"
    ]
    assert [(r["g"]["value"], r["n"]["value"]) for r in only] == [(DP, "33")]


def test_nothing_outside_the_store_is_ever_fetched(corpus_server: str, canary: Canary) -> None:
    url = f"{corpus_server}/sparql"
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
    assert _count(httpx.get(url, params={"query": harmless})) == 76
    time.sleep(0.2)
    assert len(canary.hits) == before


# --- CORS ---------------------------------------------------------------------------------


def test_cors_is_open_without_credentials(corpus_server: str) -> None:
    origin = {"Origin": "https://notebook.example.org"}
    r = httpx.get(f"{corpus_server}/sparql", params={"query": "ASK {}"}, headers=origin)
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    pre = httpx.options(
        f"{corpus_server}/sparql",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status_code == 200
    assert "POST" in pre.headers["access-control-allow-methods"]


# --- limits --------------------------------------------------------------------------------


def test_a_cut_result_says_so(corpus_server: str) -> None:
    everything = "SELECT * WHERE { ?s ?p ?o }"
    url = f"{corpus_server}/sparql"
    r = httpx.get(url, params={"query": everything})
    assert r.status_code == 200
    assert r.headers["meshkg-result-cut"] == "10000 rows"
    body = r.json()
    assert body["truncated"] is True
    assert len(body["results"]["bindings"]) == 10_000
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
    assert graph.headers["meshkg-result-cut"] == "10000 rows"
    assert graph.text.startswith("# result cut at 10000 triples")
    assert len(Graph().parse(data=graph.text, format="turtle")) == 10_000
    whole = httpx.get(url, params={"query": everything + " LIMIT 10"})
    assert "meshkg-result-cut" not in whole.headers
    assert "truncated" not in whole.json()


def test_answers_larger_than_a_pipe_arrive_whole_every_time(corpus_server: str) -> None:
    """A cut answer is megabytes, many pipe-fulls between worker and server; none may be lost."""
    everything = "SELECT * WHERE { ?s ?p ?o }"
    xml = {"Accept": "application/sparql-results+xml"}
    with httpx.Client(timeout=30) as client:
        sizes = set()
        for _ in range(20):
            r = client.get(f"{corpus_server}/sparql", params={"query": everything}, headers=xml)
            assert r.status_code == 200, r.text
            sizes.add(len(r.content))
    assert len(sizes) == 1
    assert sizes.pop() > 1_000_000


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_a_worker_can_leave_a_whole_answer_in_its_pipe() -> None:
    """So it takes the next query while the event loop is still reading the last answer."""
    worker = _Worker(ox.Store, WorkerLimits())
    try:
        assert fcntl.fcntl(worker.answer_fd, fcntl.F_GETPIPE_SZ) >= 1 << 20
    finally:
        worker.kill()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
        "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f",
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(REGEX(STR(?c), STR(?f))) }",
        f"SELECT (COUNT(*) AS ?n) WHERE {{ ?x (!<{MK}solution>)+ ?y . ?y (!<{MK}solution>)+ ?z ."
        f" ?z (!<{MK}solution>)+ ?w }}",
        f"SELECT (COUNT(*) AS ?n) WHERE {{ ?x (<{MK}codedIn>|!<{MK}codedIn>)* ?y ."
        f" ?y (<{MK}codedIn>|!<{MK}codedIn>)* ?z . ?z (<{MK}codedIn>|!<{MK}codedIn>)* ?w }}",
    ],
    ids=["cartesian", "ordered-cartesian", "regex-join", "path-chain", "any-path-star"],
)
def test_pathological_query_stops_while_others_answer(corpus_server: str, query: str) -> None:
    url = f"{corpus_server}/sparql"
    answered: list[float] = []
    stop = threading.Event()

    def other_client() -> None:
        with from_address(2, timeout=10) as client:  # another client: its own share of workers
            while not stop.is_set():
                started = time.monotonic()
                r = client.get(url, params={"query": COUNT_SOURCES})
                assert r.status_code == 200
                answered.append(time.monotonic() - started)

    thread = threading.Thread(target=other_client)
    thread.start()
    try:
        started = time.monotonic()
        r = httpx.get(url, params={"query": query}, timeout=30)
        took = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
    # Sorting a cross product may reach the memory limit before the time limit: either stops it.
    code = _error(r, 503)
    assert code == "time-limit" or (code == "memory-limit" and "ORDER BY" in query)
    assert ("3 s" if code == "time-limit" else "1024 MB") in r.json()["error"]["message"]
    assert took < 3 + 5  # the 3 s limit of the test server, plus generous slack
    assert len(answered) >= 3  # the other client kept being answered meanwhile
    assert _count(httpx.get(url, params={"query": COUNT_SOURCES})) == 76


# --- real clients ----------------------------------------------------------------------------


def test_sparqlwrapper(corpus_server: str) -> None:
    client = SPARQLWrapper(f"{corpus_server}/sparql")
    client.setQuery(COUNT_SOURCES)
    client.setReturnFormat(JSON)
    answer = client.query().convert()
    assert isinstance(answer, dict)
    assert answer["results"]["bindings"][0]["n"]["value"] == "76"
    client.setQuery(CONSTRUCT_S6)
    client.setReturnFormat(TURTLE)
    data = client.query().convert()
    assert len(Graph().parse(data=data, format="turtle")) > 10
    client.setMethod("POST")
    client.setQuery(COUNT_SOURCES)
    client.setReturnFormat(JSON)
    assert client.query().convert()["results"]["bindings"][0]["n"]["value"] == "76"  # type: ignore[index]


_DEBIAN_PACKAGES = {"roqet": "rasqal-utils", "rapper": "raptor2-utils"}


def _tool(name: str) -> str:
    """A peer tool; CI installs it, so there its absence fails instead of skipping."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package {_DEBIAN_PACKAGES[name]})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


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


def test_roqet(corpus_server: str) -> None:
    endpoint = f"{corpus_server}/sparql"
    assert "76" in _roqet(endpoint, COUNT_SOURCES)
    # rasqal reads variable bindings only (not booleans, not graphs) from a protocol answer.
    query = f"SELECT ?s WHERE {{ ?s a <{MK}Source> FILTER(STRENDS(STR(?s), '/source/s6')) }}"
    rows = csv.DictReader(io.StringIO(_roqet(endpoint, query)))
    assert {row["s"] for row in rows} == {f"{SS}/source/s6", f"{DP}/source/s6"}


def test_a_graph_query_asked_for_results_xml_gets_rdf_xml(corpus_server: str) -> None:
    """roqet and older clients send the results type whatever the query form."""
    r = httpx.get(
        f"{corpus_server}/sparql",
        params={"query": CONSTRUCT_S6},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/rdf+xml")
    graph = Graph().parse(data=r.text, format="xml")
    assert (URIRef(f"{SS}/source/s6"), None, None) in graph
    refused = httpx.get(
        f"{corpus_server}/sparql", params={"query": CONSTRUCT_S6}, headers={"Accept": "text/csv"}
    )
    assert refused.status_code == 406


def test_json_results_are_valid_json_with_unicode(corpus_server: str) -> None:
    query = f"SELECT ?t WHERE {{ <{DP}/source/s20> <http://purl.org/dc/terms/title> ?t }}"
    r = httpx.get(f"{corpus_server}/sparql", params={"query": query})
    title = json.loads(r.content)["results"]["bindings"][0]["t"]["value"]
    assert "’" in title or "–" in title or "“" in title


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
        (f"ASK FROM <{SS}> {{}}", False),
        ('ASK {} HAVING (STRLEN(REPLACE(REPLACE("a", "a", "aa"), "a", "aa")) > 1)', False),
        ('SELECT (CONCAT("a", "a") AS ?a) (CONCAT(?a, ?a) AS ?b) {}', False),
        ("SELECT * {}", False),
        ('ASK { } # "}"', True),
    ],
)
def test_only_the_bare_empty_ask_skips_the_workers(query: str, empty: bool) -> None:
    """Expressions alone can grow without bound, so only ``ASK {}`` itself is constant work."""
    assert inspect(query).empty is empty


def test_the_empty_ask_answers_while_every_worker_is_busy(corpus_server: str) -> None:
    """The probe clients send to see the endpoint up does not queue behind long queries."""
    url = f"{corpus_server}/sparql"
    workers = httpx.get(f"{corpus_server}/info").json()["limits"]["query_workers"]
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"

    def hold_a_worker(n: int) -> None:
        with from_address(10 + n, timeout=30) as client:  # one client per worker
            client.get(url, params={"query": slow})

    busy = [threading.Thread(target=hold_a_worker, args=(n,)) for n in range(workers)]
    for thread in busy:
        thread.start()
    try:
        time.sleep(0.5)  # every worker has taken a slow query
        started = time.monotonic()
        for accept in ("application/sparql-results+json", "application/sparql-results+xml"):
            r = httpx.get(url, params={"query": "ASK {}"}, headers={"Accept": accept}, timeout=30)
            assert r.status_code == 200
            assert r.headers["content-type"].startswith(accept)
            assert "true" in r.text
        assert time.monotonic() - started < 2.5  # the slow ones hold their workers for 3 s
    finally:
        for thread in busy:
            thread.join()


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
