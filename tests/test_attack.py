"""The service attacked as an outsider would, on 127.0.0.1, with a canary counting every fetch.

Each attack runs against a real ``meshkg serve`` while a watcher, from another address, asks
``/health`` (which must answer within a second) and evaluates a simple query (which must be
answered). After each attack the canary has counted no connection and the served graph is the
same, triple for triple. Every loop and every wait here is bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.canary import Canary
from tests.conftest import ROOT
from tests.server import from_address, running

SEEDS = ROOT / "seeds"
ALL = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
SIMPLE = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
WORKERS = 2
QUERY_MB = 256
ANSWER_MB = 2


@dataclass
class Target:
    url: str
    log: Path


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    log = tmp_path_factory.mktemp("attack") / "access.log"
    args = [
        "--query-timeout",
        "3",
        "--query-workers",
        str(WORKERS),
        "--query-mb",
        str(QUERY_MB),
        "--answer-mb",
        str(ANSWER_MB),
        "--head-kb",
        "16",
        "--read-timeout",
        "2",
        "--access-log",
        str(log),
    ]
    with running([SEEDS], *args) as url:
        yield Target(url, log)


def _graph_hash(url: str) -> str:
    r = httpx.post(
        url + "/sparql",
        data={"query": ALL},
        headers={"Accept": "application/n-triples"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    lines = sorted(line for line in r.text.splitlines() if line.strip())
    assert len(lines) > 300
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children (Linux), 0 when unknown."""
    total = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        with open(f"/proc/{pid}/statm", "rb") as statm:
            total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return total
    return total + sum(_tree_rss(int(child)) for child in children)


def _server_pid(url: str) -> int | None:
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmd and port.encode() in cmd and b"--port" in cmd:
            return int(entry.name)
    return None


@dataclass
class Watch:
    health: list[float] = field(default_factory=list)  # seconds each /health took
    failures: list[str] = field(default_factory=list)
    answered: int = 0
    peak_rss: int = 0


@contextmanager
def under_attack(target: Target, canary: Canary) -> Iterator[Watch]:
    """While the body runs: /health within a second, another client's query answered; after:
    no canary hit, the same graph."""
    before = _graph_hash(target.url)
    hits = len(canary.hits)
    watch = Watch()
    stop = threading.Event()
    pid = _server_pid(target.url)

    def watcher() -> None:
        with from_address(3, timeout=10) as other:
            for _ in range(10_000):  # bounded; ends when the attack does
                if stop.is_set():
                    break
                started = time.monotonic()
                try:
                    r = httpx.get(target.url + "/health", timeout=1.0)
                    if r.status_code != 200:
                        watch.failures.append(f"/health {r.status_code}")
                except httpx.HTTPError as err:
                    watch.failures.append(f"/health {type(err).__name__}")
                watch.health.append(time.monotonic() - started)
                try:
                    q = other.post(target.url + "/sparql", data={"query": SIMPLE})
                    if q.status_code == 200:
                        watch.answered += 1
                    else:
                        watch.failures.append(f"query {q.status_code} {q.text[:200]}")
                except httpx.HTTPError as err:
                    watch.failures.append(f"query {type(err).__name__}")
                if pid is not None:
                    watch.peak_rss = max(watch.peak_rss, _tree_rss(pid))
                stop.wait(0.05)

    thread = threading.Thread(target=watcher)
    thread.start()
    try:
        yield watch
    finally:
        for _ in range(100):  # the watcher has had one full round
            if watch.answered or watch.failures:
                break
            time.sleep(0.05)
        stop.set()
        thread.join(timeout=30)
    assert not watch.failures, watch.failures
    assert watch.health, "the watcher never asked"
    assert watch.answered >= 1
    assert len(canary.hits) == hits, canary.hits[hits:]
    assert _graph_hash(target.url) == before


def _code(r: httpx.Response) -> str:
    code = r.json()["error"]["code"]
    assert isinstance(code, str)
    return code


def _post(target: Target, query: str, **params: str) -> httpx.Response:
    return httpx.post(target.url + "/sparql", data={"query": query, **params}, timeout=30)


# --- egress -----------------------------------------------------------------------------------

_EGRESS = {
    "plain": ("SELECT * WHERE {{ ?s ?p ?o SERVICE <{c}plain> {{ ?a ?b ?c }} }}", {"service"}),
    "lower-silent": (
        "SELECT * WHERE {{ ?s ?p ?o service silent <{c}x> {{ ?a ?b ?c }} }}",
        {"service"},
    ),
    "glued": ("SELECT * WHERE {{ ?s ?p ?o SERVICESILENT<{c}x>{{?a ?b ?c}} }}", {"service"}),
    "u-escaped-iri": (
        "SELECT * WHERE {{ ?s ?p ?o SERVICE <{c}\\u0078> {{ ?a ?b ?c }} }}",
        {"service"},
    ),
    "u-escaped-keyword": (
        "SELECT * WHERE {{ ?s ?p ?o \\u0053ERVICE <{c}x> {{ ?a ?b ?c }} }}",
        {"syntax"},
    ),
    "prefixed": (
        "PREFIX c: <{c}> SELECT * WHERE {{ ?s ?p ?o SERVICE c:x {{ ?a ?b ?c }} }}",
        {"service"},
    ),
    "prefix-glued": (
        "PREFIX : <{c}> SELECT * WHERE {{ ?s ?p ?o SERVICE:x {{ ?a ?b ?c }} }}",
        {"service"},
    ),
    "commented": (
        "SELECT * WHERE {{ ?s ?p ?o # SERVICE hidden?\nSERVICE <{c}x> {{ ?a ?b ?c }} }}",
        {"service"},
    ),
    "backslash-escape": (
        "PREFIX e: <http://e/> SELECT * WHERE {{ ?s e:a\\# ?o . SERVICE <{c}x> {{ ?a ?b ?c }} }}",
        {"service"},
    ),
    "string-adjacent": (
        "SELECT * WHERE {{ ?s ?p 'o'SERVICE <{c}x> {{ ?a ?b ?c }} }}",
        {"service"},
    ),
    "operator-reading": (
        "SELECT * WHERE {{ ?s ?p ?o FILTER(1<2&&'>) # ' ) SERVICE <{c}x> {{ ?a ?b ?c }}\n}}",
        {"syntax", "200"},
    ),
    "subquery": (
        "SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{c}x> {{ ?a ?b ?c }} }} }} }}",
        {"service"},
    ),
    "exists": (
        "SELECT * WHERE {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{c}x> {{ ?a ?b ?c }} }} }}",
        {"service"},
    ),
    "minus": (
        "SELECT * WHERE {{ ?s ?p ?o MINUS {{ SERVICE <{c}x> {{ ?a ?b ?c }} }} }}",
        {"service"},
    ),
    "values-bind": (
        "SELECT * WHERE {{ VALUES ?v {{ 1 }} BIND(<{c}x> AS ?e) SERVICE ?e {{ ?a ?b ?c }} }}",
        {"service"},
    ),
    "load": ("LOAD <{c}load>", {"update"}),
    "from": ("SELECT * FROM <{c}from> WHERE {{ ?s ?p ?o }}", {"unknown-graph"}),
    "from-named": ("SELECT * FROM NAMED <{c}named> WHERE {{ ?s ?p ?o }}", {"unknown-graph"}),
}


@pytest.mark.parametrize("form", sorted(_EGRESS))
def test_no_form_of_a_fetch_reaches_the_canary(target: Target, canary: Canary, form: str) -> None:
    text, expected = _EGRESS[form]
    query = text.format(c=canary.url)
    with under_attack(target, canary):
        answers = [
            _post(target, query),
            httpx.get(target.url + "/sparql", params={"query": query}, timeout=30),
            httpx.post(
                target.url + "/sparql",
                content=query.encode(),
                headers={"Content-Type": "application/sparql-query"},
                timeout=30,
            ),
        ]
    for r in answers:
        seen = "200" if r.status_code == 200 else _code(r)
        assert seen in expected, (form, r.status_code, r.text)
        assert "CANARY" not in r.text


@pytest.mark.parametrize("parameter", ["default-graph-uri", "named-graph-uri"])
def test_graph_parameters_naming_the_canary_are_refused(
    target: Target, canary: Canary, parameter: str
) -> None:
    with under_attack(target, canary):
        r = httpx.get(
            target.url + "/sparql",
            params={"query": SIMPLE, parameter: canary.url + "g"},
            timeout=30,
        )
    assert r.status_code == 400
    assert _code(r) == "unknown-graph"


# --- the event loop ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "ASK { " + "a." * 500_000 + " }",
        "ASK { " + "<a" * 500_000 + " }",
        "ASK { _:a" + "." * 1_000_000 + " }",
    ],
    ids=["dotted-words", "iri-starts", "dots"],
)
def test_a_megabyte_of_hostile_text_does_not_hold_up_anyone(
    target: Target, canary: Canary, body: str
) -> None:
    with under_attack(target, canary) as watch:
        r = httpx.post(
            target.url + "/sparql",
            content=body.encode(),
            headers={"Content-Type": "application/sparql-query"},
            timeout=60,
        )
    assert r.status_code == 400, r.text
    assert len(watch.health) >= 1


# --- memory and answer size ------------------------------------------------------------------


def _doubling(times: int, project: str = "(STRLEN(?v{n}) AS ?n)") -> str:
    binds = " ".join(f"BIND(CONCAT(?v{i},?v{i}) AS ?v{i + 1})" for i in range(times))
    head = project.format(n=times)
    return f'SELECT {head} WHERE {{ BIND("0123456789abcdef" AS ?v0) {binds} }}'


def test_a_query_past_its_memory_is_stopped_and_the_service_stays_bounded(
    target: Target, canary: Canary
) -> None:
    results: list[httpx.Response] = []

    def attacker(n: int) -> None:
        with from_address(20 + n, timeout=60) as client:
            results.append(client.post(target.url + "/sparql", data={"query": _doubling(31)}))

    with under_attack(target, canary) as watch:
        attackers = [threading.Thread(target=attacker, args=(n,)) for n in range(2)]
        for thread in attackers:
            thread.start()
        for thread in attackers:
            thread.join(timeout=60)
    assert len(results) == 2
    for r in results:
        assert r.status_code == 503, r.text
        assert _code(r) in ("memory-limit", "busy", "time-limit"), r.text
        assert int(r.headers["retry-after"]) >= 1
    assert any(_code(r) == "memory-limit" for r in results), [r.text for r in results]
    # every worker may take its budget, and the service its own memory besides: no more
    bound = WORKERS * (QUERY_MB + 200) * 2**20 + 600 * 2**20
    assert watch.peak_rss < bound, (watch.peak_rss >> 20, bound >> 20)


def test_an_answer_past_its_size_is_cut_or_refused(target: Target, canary: Canary) -> None:
    big = _doubling(18, "?v{n}")  # one 4 MB string: twice the answer limit
    with under_attack(target, canary):
        cut = _post(target, big)
        csv = httpx.post(
            target.url + "/sparql",
            data={"query": big},
            headers={"Accept": "text/csv"},
            timeout=30,
        )
    assert cut.status_code == 200
    assert cut.headers["meshkg-result-cut"] == f"{ANSWER_MB * 2**20} bytes"
    assert cut.json()["truncated"] is True
    assert len(cut.content) <= ANSWER_MB * 2**20
    assert csv.status_code == 422
    assert _code(csv) == "result-too-large"


# --- the engine's stack, the dataset -----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }",
        "SELECT * WHERE " + "{" * 5000 + "}" * 5000,
        "SELECT * WHERE { ?s ?p " + "[ <p> " * 5000 + "1" + " ]" * 5000 + " }",
    ],
    ids=["parentheses", "braces", "brackets"],
)
def test_deep_nesting_is_refused_before_the_engine(
    target: Target, canary: Canary, query: str
) -> None:
    before = httpx.get(target.url + "/info").json()["query_workers"]["restarts"]
    with under_attack(target, canary):
        r = _post(target, query)
    assert r.status_code == 400
    assert _code(r) == "too-deep"
    assert httpx.get(target.url + "/info").json()["query_workers"]["restarts"] == before


def test_flat_chains_do_not_crash_a_worker(target: Target, canary: Canary) -> None:
    """Thousands of operators side by side recurse in the engine as deep nesting would."""
    chains = [
        "SELECT * WHERE { FILTER(" + "!" * 100_000 + "true) }",
        "SELECT * WHERE { ?s ?p ?o " + "FILTER(true) " * 20_000 + "}",
        "SELECT * WHERE { {}" + " UNION {}" * 5000 + " }",
    ]
    with under_attack(target, canary):
        answers = [_post(target, q) for q in chains]
    for r in answers:
        assert r.status_code in (200, 503), r.text
        if r.status_code == 503:
            assert _code(r) == "time-limit"
    restarts = httpx.get(target.url + "/info").json()["query_workers"]["restarts"]
    assert "worker-crashed" not in restarts


@pytest.mark.parametrize("repeats", [2, 10_000])
def test_a_graph_named_twice_is_refused(target: Target, canary: Canary, repeats: int) -> None:
    graph = httpx.get(target.url + "/info").json()["snapshot"]["collections"][0]["name"]
    iri = "https://w3id.org/meshkg/id/" + graph
    with under_attack(target, canary):
        by_parameter = httpx.post(
            target.url + "/sparql",
            content="query="
            + quote(SIMPLE)
            + ("&default-graph-uri=" + quote(iri, safe="")) * repeats,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=30,
        )
        by_from = _post(target, "SELECT * " + f"FROM <{iri}> " * repeats + "WHERE { ?s ?p ?o }")
    for r in (by_parameter, by_from):
        assert r.status_code == 400, r.text
        assert _code(r) == "repeated-graph"
        assert len(r.content) < 2000


# --- a fair share ----------------------------------------------------------------------------

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def test_one_client_cannot_take_every_worker(target: Target, canary: Canary) -> None:
    results: list[httpx.Response] = []

    def heavy() -> None:
        with from_address(30, timeout=30) as client:
            results.append(client.post(target.url + "/sparql", data={"query": SLOW}))

    with under_attack(target, canary):
        threads = [threading.Thread(target=heavy) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    codes = sorted(_code(r) for r in results)
    assert codes == ["time-limit", "too-many-queries"], [r.text for r in results]
    refused = next(r for r in results if r.status_code == 429)
    assert refused.headers["retry-after"] == "1"


def test_time_waiting_for_a_worker_counts_against_the_limit(target: Target, canary: Canary) -> None:
    results: list[httpx.Response] = []

    def heavy(n: int) -> None:
        with from_address(40 + n, timeout=30) as client:
            results.append(client.post(target.url + "/sparql", data={"query": SLOW}))

    threads = [threading.Thread(target=heavy, args=(n,)) for n in range(WORKERS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == WORKERS + 1
    for r in results:
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"]
    messages = [r.json()["error"]["message"] for r in results]
    # the one that waited for a worker was stopped at the limit, counting its wait
    assert any(
        _code(r) == "busy" or "waiting for a worker" in m
        for r, m in zip(results, messages, strict=True)
    )


# --- what the service says about itself ------------------------------------------------------


def test_readiness_is_a_query_over_the_store(target: Target) -> None:
    r = httpx.get(target.url + "/ready")
    assert r.status_code == 200
    assert r.json()["ready"] is True
    assert "seccomp" in r.json()["guards"] or "netns" in r.json()["guards"]


def test_forged_host_gets_no_absolute_links(target: Target) -> None:
    r = httpx.get(target.url + "/api/sources?limit=1", headers={"Host": "evil.example"})
    assert r.status_code == 200
    body = r.json()
    assert "evil.example" not in r.text
    assert all(item["url"].startswith("/api/") for item in body["items"])
    trusted = httpx.get(target.url + "/api/sources?limit=1")
    assert trusted.json()["items"][0]["url"].startswith("http://127.0.0.1:")


def test_the_access_log_and_metrics_tell_what_happened(target: Target, canary: Canary) -> None:
    refused = httpx.post(
        target.url + "/sparql",
        data={"query": f"SELECT * WHERE {{ SERVICE <{canary.url}> {{ ?s ?p ?o }} }}"},
        headers={"X-Request-Id": "attack-42"},
    )
    assert refused.headers["x-request-id"] == "attack-42"
    stopped = _post(target, _doubling(31))
    assert _code(stopped) == "memory-limit"
    with _raw(target) as sock:  # refused by the HTTP server, before the application
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"x" * (32 << 10))
        assert sock.recv(64).startswith(b"HTTP/1.1 431")
    metrics = httpx.get(target.url + "/metrics").text
    assert re.search(r'meshkg_refusals_total\{reason="headers-too-large"\} [1-9]', metrics)
    assert re.search(r'meshkg_refusals_total\{reason="service"\} [1-9]', metrics)
    assert re.search(r'meshkg_worker_restarts_total\{reason="memory-limit"\} [1-9]', metrics)
    assert re.search(
        r'meshkg_requests_total\{method="POST",route="/sparql",status="400"\}', metrics
    )
    assert "meshkg_request_seconds_bucket" in metrics
    lines = []
    for _ in range(50):  # the log is written a few times a second
        lines = [line for line in target.log.read_text().splitlines() if "attack-42" in line]
        if lines:
            break
        time.sleep(0.1)
    assert lines, "the refused request is not in the access log"
    entry = json.loads(lines[0])
    assert entry["status"] == 400
    assert entry["route"] == "/sparql"
    assert entry["outcome"] == "service"


# --- requests too large or too slow for the HTTP server ---------------------------------------


def _raw(target: Target) -> socket.socket:
    host, port = target.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_a_huge_header_line_is_refused_long_before_it_is_read(
    target: Target, canary: Canary
) -> None:
    chunk = b"x" * (1 << 20)
    sent = 0
    answer = b""
    with under_attack(target, canary), _raw(target) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        try:
            for _ in range(128):  # 128 MB, if the server kept reading
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: what it should do
        try:
            answer = sock.recv(4096)
        except OSError:
            answer = b""
    assert sent < 32 << 20
    if answer:
        assert answer.startswith(b"HTTP/1.1 431")


def test_a_client_sending_one_byte_at_a_time_is_cut(target: Target, canary: Canary) -> None:
    with under_attack(target, canary), _raw(target) as sock:
        head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        sock.sendall(head)
        answer = b""
        for _ in range(100):  # at most 100 bytes, 0.1 s apart: longer than --read-timeout 2
            try:
                sock.sendall(b"a")
                sock.settimeout(0.1)
                answer = sock.recv(4096)
                if answer:
                    break
            except TimeoutError:
                continue
            except OSError:
                break
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]


# --- a damaged store ---------------------------------------------------------------------------


def _stored(tmp: Path) -> Path:
    import subprocess
    import sys

    store = tmp / "store"
    subprocess.run(
        [sys.executable, "-m", "app.cli", "build", str(SEEDS), "--store", str(store)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return store


def _count(url: str) -> int:
    r = _post(Target(url, Path()), SIMPLE)
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def test_a_damaged_stored_snapshot_is_built_again_at_start(tmp_path: Path) -> None:
    store = _stored(tmp_path)
    with running([SEEDS], "--store", str(store)) as url:
        whole = _count(url)
    tables = sorted((store / "snapshots").glob("*/store/*.sst"), key=lambda p: p.stat().st_size)
    os.truncate(tables[-1], tables[-1].stat().st_size // 2)
    said = tmp_path / "output.txt"
    with running([SEEDS], "--store", str(store), output=said) as url:
        assert _count(url) == whole
        assert httpx.get(url + "/ready").status_code == 200
    printed = said.read_text()
    assert "is damaged" in printed
    assert "built again from the notes" in printed


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_store_damaged_while_serving_is_unready_and_refused(tmp_path: Path) -> None:
    store = _stored(tmp_path)
    serving = ("--store", str(store), "--memory-quads", "0", "--query-timeout", "3")
    with running([SEEDS], *serving) as url:
        assert httpx.get(url + "/ready").status_code == 200
        for table in (store / "snapshots").glob("*/store/*.sst"):
            os.truncate(table, 0)  # open files stay open: reading them now fails
        answers = [_post(Target(url, Path()), SIMPLE) for _ in range(3)]
        # what reading a truncated database does varies (an error, a wild allocation, a wait):
        # each is stopped and said so, never a 200 with a wrong count nor a bare 500
        assert {r.status_code for r in answers} == {503}, [r.text for r in answers]
        codes = {_code(r) for r in answers}
        assert codes <= {"store-unavailable", "memory-limit", "time-limit"}, codes
        assert all(r.headers["retry-after"] for r in answers)
        ready = httpx.get(url + "/ready")
        assert ready.status_code == 503, ready.text
        assert "changed on disk" in ready.json()["error"]["message"], ready.text
        assert httpx.get(url + "/health").status_code == 200  # alive, and saying it is unready
        pid = _server_pid(url)
        assert pid is not None
        for _ in range(200):  # stopped workers are reaped once they have exited
            zombies = [c for c in _children(pid) if _state(c) == "Z"]
            if not zombies:
                break
            time.sleep(0.1)
        assert zombies == []


# --- hostile seeds -------------------------------------------------------------------------------

_NOTE = (
    "# s{n}\n{n}\n## url\nhttps://example.org/{n}\n## title\nNote {n}\n\n> a quoted passage\n\n"
    "**AXIAL CODING TRACE:**\n```python\n{body}\n```\n"
)


def test_hostile_seeds_are_served_cleaned_and_a_link_outside_is_not(tmp_path: Path) -> None:
    import pyoxigraph as ox

    study = tmp_path / "seeds" / "study"
    study.mkdir(parents=True)
    (study / "s_1.md").write_text(
        _NOTE.format(n=1, body='x = CClass(practice, "Sur\\ud800rogate\\x00")'), "utf-8"
    )
    (study / "collection.toml").write_bytes(b'title = "A\\u0000B"\n')
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "s_2.md").write_text(_NOTE.format(n=2, body='y = CClass(practice, "Secret")'))
    (study / "s_2.md").symlink_to(outside / "s_2.md")
    with running([tmp_path / "seeds"]) as url:
        rdfxml = httpx.get(url + "/dumps/all.rdf", timeout=30)
        assert rdfxml.status_code == 200
        graph = list(ox.parse(rdfxml.content, format=ox.RdfFormat.RDF_XML))
        values = {t.object.value for t in graph if isinstance(t.object, ox.Literal)}
        assert "Sur\ufffdrogate\ufffd" in values
        assert "A\ufffdB" in values
        assert "Secret" not in values
        labels = _post(
            Target(url, Path()),
            "SELECT ?l WHERE { ?c <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }",
        )
        assert "Secret" not in labels.text
