"""The service over a remote SPARQL server: Oxigraph's own server (PyPI ``oxigraph``), started
by the tests on 127.0.0.1 with a throwaway data folder.

The same study is served twice, by the embedded store and from the server it was published to,
and the two services must answer the same: JSON API, research views, linked-data documents,
dumps, and SPARQL queries (the workload, DESCRIBE, dataset parameters, cut results). Then
publishing: a new version switches readers in one step, an older one published again rolls
back, a publish that fails before the switch (the server stopped mid-way) leaves readers where
they were, and a server restarted while serving is served from again without a restart.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES, ROOT, STUDY
from tests.peers import ISQL, OXIGRAPH, VIRTUOSO, Oxigraph, Virtuoso
from tests.server import running

pytestmark = pytest.mark.skipif(not Path(OXIGRAPH).exists(), reason="oxigraph is not installed")

MODELS = FIXTURES / "models" / "study"
LIMIT = "200"  # the result limit of both services: some answers below are cut


BACKENDS = {"oxigraph": Oxigraph, "virtuoso": Virtuoso}


@pytest.fixture(scope="module", params=list(BACKENDS))
def oxigraph(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Oxigraph]:
    """The remote server the study is published to: Oxigraph's, then Virtuoso."""
    if request.param == "virtuoso" and (VIRTUOSO is None or ISQL is None):
        pytest.skip("virtuoso is not installed")
    server = BACKENDS[request.param](tmp_path_factory.mktemp(request.param))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def publish(seeds: list[Path], url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "build", *map(str, seeds), "--publish", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def published(oxigraph: Oxigraph) -> str:
    done = publish([STUDY, MODELS], oxigraph.url)
    assert done.returncode == 0, done.stderr
    return oxigraph.url


@pytest.fixture(scope="module")
def embedded() -> Iterator[str]:
    with running([STUDY, MODELS], "--result-limit", LIMIT) as url:
        yield url


@pytest.fixture(scope="module")
def remote(published: str) -> Iterator[str]:
    with running([], "--store", published, "--result-limit", LIMIT) as url:
        yield url


def same(a: str, b: str, path: str, **kwargs: object) -> tuple[httpx.Response, httpx.Response]:
    left = httpx.get(a + path, timeout=30, **kwargs)  # type: ignore[arg-type]
    right = httpx.get(b + path, timeout=30, **kwargs)  # type: ignore[arg-type]
    assert left.status_code == right.status_code == 200, (path, left.text[:300])
    assert left.headers["content-type"] == right.headers["content-type"]
    return left, right


def body(answer: httpx.Response, origin: str) -> bytes:
    return answer.content.replace(origin.encode(), b"ORIGIN")


# --- the same answers -------------------------------------------------------------------------

PATHS = [
    "/api/collections",
    "/api/sources?limit=100",
    "/api/codes?limit=100&sort=sources",
    "/api/collections/study/codes/latency",
    "/api/collections/study/sources/s1",
    "/api/search?q=schema",
    "/api/collections/study/drift",
    "/views/study.json",
    "/views/study/decisions.json?evidence=code",
    "/views/study/impacts.json",
    "/views/study/coding.json",
    "/views/study/co-occurrence.json?scope=segment",
    "/views/study/analytics.json",
    "/views/study/guidance.json?force=latency:2&force=complexity:-1",
    "/views/study/decisions/delivery_guarantee_decision.svg",
    "/meshkg/id/study/code/latency.ttl",
    "/meshkg/id/study/code/schema_registry.html",
    "/meshkg/id/study/source/s1.jsonld",
    "/meshkg/id/study/file/s_1.md.nt",
    "/.well-known/void",
    "/",
]


@pytest.mark.parametrize("path", PATHS)
def test_the_remote_store_answers_as_the_embedded_one(
    embedded: str, remote: str, path: str
) -> None:
    left, right = same(embedded, remote, path, headers={"Accept": "*/*"})
    a, b = body(left, embedded), body(right, remote)
    if path == "/views/study.json":  # when each was built, and whether its notes are checked
        a, b = (x.split(b'"built"')[0] for x in (a, b))
    if path == "/":  # the home page says when and from where it was built
        a, b = (x.split(b"Snapshot")[0] for x in (a, b))
    assert a == b


def test_dumps_hold_the_same_triples(embedded: str, remote: str) -> None:
    for path in ("/dumps/study.nt", "/dumps/all.nq"):
        left, right = same(embedded, remote, path)
        assert sorted(left.text.splitlines()) == sorted(right.text.splitlines())
        assert len(left.text.splitlines()) > 2000


QUERIES = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "ASK { ?s a <https://w3id.org/meshkg/ontology#Force> }",
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label } "
    "ORDER BY ?s ?label",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    # cut at the result limit; ordered by text (how literals of two datatypes compare is the
    # server's choice, SPARQL 1.1 section 15.1)
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p STR(?o) STR(DATATYPE(?o))",
    "SELECT ?c (COUNT(?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY DESC(?n) ?c",
    "PREFIX mk: <https://w3id.org/meshkg/ontology#> SELECT ?p ?f ?q WHERE { "
    "?i a mk:ForceImpact ; mk:solution ?p ; mk:force ?f . "
    "OPTIONAL { ?i mk:codedIn/mk:evidenceQuote ?q } } ORDER BY ?p ?f ?q",
    "SELECT ?s WHERE { ?s a ?c } ORDER BY ?s LIMIT 3 OFFSET 5",
    "SELECT ?x WHERE { BIND (<source/s1> AS ?x) }",  # relative IRI, resolved against the base
    # longer than a GET a server cuts (~6 KB on Virtuoso): every query goes as a form POST
    "SELECT ?s ?c WHERE { VALUES ?s { "
    + " ".join(f"<https://w3id.org/meshkg/id/study/source/s{n}>" for n in range(1, 400))
    + " } ?s a ?c } ORDER BY ?s ?c",
    # "s1"^^xsd:string is "s1" (RDF 1.1), written with a prefix and in full
    "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT ?s WHERE { "
    '?s <http://purl.org/dc/terms/identifier> "s1"^^xsd:string } ORDER BY ?s',
    "SELECT ?s WHERE { ?s <http://purl.org/dc/terms/identifier> "
    '"s1"^^<http://www.w3.org/2001/XMLSchema#string> } ORDER BY ?s',
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize(
    "accept", ["application/sparql-results+json", "application/sparql-results+xml"]
)
def test_sparql_answers_are_the_same(embedded: str, remote: str, query: str, accept: str) -> None:
    left, right = same(
        embedded, remote, "/sparql", params={"query": query}, headers={"Accept": accept}
    )
    assert left.content == right.content
    assert left.headers.get("meshkg-result-cut") == right.headers.get("meshkg-result-cut")


def test_a_cut_answer_says_so_the_same_way(embedded: str, remote: str) -> None:
    left, right = same(
        embedded,
        remote,
        "/sparql",
        params={"query": "SELECT * WHERE { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    for answer in (left, right):
        assert answer.headers["meshkg-result-cut"] == f"{LIMIT} rows"
        assert len(answer.json()["results"]["bindings"]) == int(LIMIT)
        assert answer.json()["truncated"] is True


@pytest.mark.parametrize(
    "query",
    [
        "DESCRIBE <https://w3id.org/meshkg/id/study/source/s1>",
        "CONSTRUCT { ?s a ?c } WHERE { ?s a ?c "
        "FILTER (?c != <https://w3id.org/meshkg/ontology#Quote>) } ORDER BY ?s LIMIT 150",
        "CONSTRUCT WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?o }",
    ],
)
def test_graph_answers_hold_the_same_triples(embedded: str, remote: str, query: str) -> None:
    left, right = same(
        embedded,
        remote,
        "/sparql",
        params={"query": query},
        headers={"Accept": "application/n-triples"},
    )
    assert sorted(left.text.splitlines()) == sorted(right.text.splitlines())
    assert left.headers.get("meshkg-result-cut") == right.headers.get("meshkg-result-cut")


def test_dataset_parameters_select_the_same_graphs(embedded: str, remote: str) -> None:
    graph = "https://w3id.org/meshkg/id/study"
    cases = [
        {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "default-graph-uri": graph},
        {
            "query": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
            "named-graph-uri": graph,
        },
        {"query": f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}"},
    ]
    for params in cases:
        left, right = same(embedded, remote, "/sparql", params=params)
        assert left.content == right.content, params


def test_a_query_reaching_outside_is_refused_before_it_leaves(remote: str) -> None:
    for query in (
        "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
        "SELECT * FROM <http://example.org/graph> WHERE { ?s ?p ?o }",
    ):
        answer = httpx.get(remote + "/sparql", params={"query": query})
        assert answer.status_code == 400


# --- publishing -------------------------------------------------------------------------------


def _count(url: str) -> int:
    answer = httpx.get(
        url + "/sparql",
        params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def _key(url: str) -> str:
    return str(httpx.get(url + "/health", timeout=30).json()["generation"]["snapshot"])


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> type[Oxigraph]:
    """A server class for a test that starts and stops its own."""
    if request.param == "virtuoso" and (VIRTUOSO is None or ISQL is None):
        pytest.skip("virtuoso is not installed")
    return BACKENDS[request.param]


def test_publish_switches_rolls_back_and_survives_a_failed_publish(
    tmp_path: Path, backend: type[Oxigraph]
) -> None:
    """v1, then v2 (one note fewer): a serving replica follows each switch; v1 again rolls
    back; a publish whose server stops before the switch leaves v1 served."""
    v2 = tmp_path / "study"
    shutil.copytree(STUDY, v2)
    (v2 / "s_10.md").unlink()
    server = backend(tmp_path / "data")
    server.start()
    try:
        assert publish([STUDY], server.url).returncode == 0
        with running([], "--store", server.url) as url:
            first, n1 = _key(url), _count(url)
            done = publish([v2], server.url)
            assert done.returncode == 0, done.stderr
            _wait(lambda: _key(url) != first)
            assert _count(url) < n1
            assert publish([STUDY], server.url).returncode == 0  # roll back
            _wait(lambda: _key(url) == first)
            assert _count(url) == n1
            # a publish that cannot reach the server changes nothing
            server.stop()
            failed = publish([v2], server.url)
            assert failed.returncode == 2
            assert "readers keep what they had" in failed.stderr
            server.start()
            time.sleep(2.5)  # past one look for a new version
            assert _key(url) == first
            assert _count(url) == n1
    finally:
        server.stop()


def test_a_publish_stopped_before_the_switch_leaves_readers_on_the_old_version(
    tmp_path: Path, backend: type[Oxigraph]
) -> None:
    """The staging graphs are written, then the server stops before the switch."""
    from app.pipeline import build
    from app.pipeline import publish as publish_build
    from app.store import remote as remote_module
    from app.store.sparql_http import Endpoints, RemoteUnavailable, SparqlClient

    server = backend(tmp_path / "data")
    server.start()
    try:
        publish_build(build([STUDY]), server.url)
        client = SparqlClient(Endpoints.from_base(server.url))
        before = remote_module.read_info(client)
        client.close()
        assert before is not None
        original = SparqlClient.update

        def stop_then_update(self: SparqlClient, text: str) -> None:
            if "ADD <" in text or "INSERT { GRAPH ?t" in text:  # the switch: the server is
                # gone before it
                server.stop()
            original(self, text)

        v2 = tmp_path / "study"
        shutil.copytree(STUDY, v2)
        (v2 / "s_10.md").unlink()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(SparqlClient, "update", stop_then_update)
            with pytest.raises(RemoteUnavailable):
                publish_build(build([v2]), server.url)
        server.start()
        client = SparqlClient(Endpoints.from_base(server.url))
        after = remote_module.read_info(client)
        assert after is not None
        assert after.key == before.key
        # the next publish drops what the stopped one staged
        publish_build(build([v2]), server.url)
        graphs = client.select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            'FILTER STRSTARTS(STR(?g), "urn:meshkg:staging:") }'
        )
        assert list(graphs) == []
        client.close()
    finally:
        server.stop()


def test_the_server_restarted_while_serving(tmp_path: Path, backend: type[Oxigraph]) -> None:
    server = backend(tmp_path / "data")
    server.start()
    try:
        assert publish([STUDY], server.url).returncode == 0
        with running([], "--store", server.url) as url:
            assert _count(url) > 2000
            server.stop()
            query = "SELECT ?s WHERE { ?s a <https://w3id.org/meshkg/ontology#Force> } LIMIT 1"
            down = httpx.get(url + "/sparql", params={"query": query})
            assert down.status_code == 503
            assert down.headers["retry-after"]
            page = httpx.get(url + "/meshkg/id/study/code/latency.ttl")
            assert page.status_code == 503
            assert httpx.get(url + "/ready").status_code == 503
            server.start()
            _wait(lambda: httpx.get(url + "/ready").status_code == 200)
            assert _count(url) > 2000  # no restart of the service
    finally:
        server.stop()


def _wait(done: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("not within the time limit")
        time.sleep(0.1)


def test_the_bench_workload_answers_the_same(embedded: str, remote: str) -> None:
    """The six queries of ``bench/workload.py`` (an aggregate, a star join with a path, a string
    scan, a three-hop join, a DESCRIBE, a count), their parameters picked from the served graph:
    the same rows (in any order where the query leaves it open) and the same triples."""
    import pyoxigraph as ox

    from bench.workload import workload

    local = ox.Store()
    local.load(httpx.get(embedded + "/dumps/all.nq", timeout=60).content, ox.RdfFormat.N_QUADS)
    for query in workload(local):
        accept = "application/n-triples" if query.form == "describe" else "text/csv"
        left, right = same(
            embedded, remote, "/sparql", params={"query": query.sparql}, headers={"Accept": accept}
        )
        assert sorted(left.text.splitlines()) == sorted(right.text.splitlines()), query.name
        assert len(left.text.splitlines()) > 1, query.name


def test_a_query_past_the_time_limit_is_stopped_client_side(
    tmp_path: Path, backend: type[Oxigraph]
) -> None:
    """The time limit holds whatever the server would do: the request is dropped at it. (A
    server of its own: it may go on evaluating after the service has stopped waiting.)"""
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    server = backend(tmp_path / "data")
    server.start()
    try:
        assert publish([STUDY], server.url).returncode == 0
        _time_limit(server.url, heavy)
    finally:
        server.stop()


def _time_limit(published: str, heavy: str) -> None:
    with running([], "--store", published, "--query-timeout", "1") as url:
        answer = httpx.get(url + "/sparql", params={"query": heavy}, timeout=60)
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "time-limit"
        assert answer.headers["retry-after"]
        # and the service answers the next query
        quick = httpx.get(url + "/sparql", params={"query": "SELECT ?s WHERE { ?s a ?c } LIMIT 1"})
        assert quick.status_code == 200


def test_control_characters_survive_the_upload(tmp_path: Path, backend: type[Oxigraph]) -> None:
    """A literal holding control characters reads back as written (Virtuoso corrupts raw
    ones in an upload, so they are sent escaped)."""
    from app.store.sparql_http import Endpoints, SparqlClient

    server = backend(tmp_path / "data")
    server.start()
    try:
        client = SparqlClient(Endpoints.from_base(server.url))
        text = "a\x01b\x1fc\x7fd"
        line = b'<urn:x:s> <urn:x:p> "a\x01b\x1fc\x7fd" .\n'
        client.put_graph("urn:x:g", line)
        rows = list(client.select("SELECT ?o WHERE { GRAPH <urn:x:g> { ?s ?p ?o } }"))
        client.close()
        assert [r["o"].value for r in rows] == [text]
    finally:
        server.stop()


def test_a_server_row_limit_is_a_marked_cut(tmp_path: Path) -> None:
    """Virtuoso's ResultSetMaxRows answers part of a result with 200, saying so only in a
    header: the service marks that answer cut, as it marks its own cuts."""
    if VIRTUOSO is None or ISQL is None:
        pytest.skip("virtuoso is not installed")
    server = Virtuoso(tmp_path / "data", max_rows=30)
    server.start()
    try:
        assert publish([STUDY], server.url).returncode == 0
        with running([], "--store", server.url) as url:
            many = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p STR(?o)"
            answer = httpx.get(
                url + "/sparql",
                params={"query": many},
                headers={"Accept": "application/sparql-results+json"},
            )
            assert answer.headers["meshkg-result-cut"] == "30 rows"
            assert answer.json()["truncated"] is True
            assert len(answer.json()["results"]["bindings"]) == 30
            few = httpx.get(url + "/sparql", params={"query": many + " LIMIT 3"})
            assert "meshkg-result-cut" not in few.headers
            assert len(few.json()["results"]["bindings"]) == 3
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["build", str(STUDY), "--publish", "ftp://example.org/"], "not an http(s) URL"),
        (["build", str(STUDY), "--publish", "http://127.0.0.1:9"], "no SPARQL endpoint"),
        (["serve", "--store", "http://127.0.0.1:9"], "no SPARQL endpoint"),
    ],
)
def test_a_wrong_store_url_is_a_one_line_error(args: list[str], said: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr
