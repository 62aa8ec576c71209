"""The answer cache: repeated GETs answered from memory, and nothing kept that must not be."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from app.api.cache import Answers, Bodies, _Entry
from tests.conftest import ROOT
from tests.server import running

SOURCES = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/meshkg/ontology#Source> }"
JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running([ROOT / "seeds"]) as url:
        yield url


def _twice(url: str, **kwargs: object) -> tuple[httpx.Response, httpx.Response]:
    with httpx.Client(timeout=30) as client:
        return client.get(url, **kwargs), client.get(url, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path",
    [
        "/api/sources?limit=5",
        "/api/codes?kind=practice&sort=sources&order=desc",
        "/sparql?query=" + quote(SOURCES),
        "/meshkg/ontology",
        "/",
    ],
)
def test_a_repeated_get_is_answered_from_the_cache_with_the_same_answer(
    server: str, path: str
) -> None:
    url = server + path + ("&" if "?" in path else "?") + "fresh=" + path[-3:]
    first, second = _twice(url)
    assert first.status_code == second.status_code == 200
    assert first.headers["meshkg-cache"] == "miss"
    assert second.headers["meshkg-cache"] == "hit"
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]


def test_accept_is_part_of_what_an_answer_is_kept_under(server: str) -> None:
    url = f"{server}/sparql"
    params = {"query": SOURCES + " # accept"}
    as_json = _twice(url, params=params, headers={"Accept": JSON})
    as_xml = _twice(url, params=params, headers={"Accept": XML})
    assert [r.headers["meshkg-cache"] for r in (*as_json, *as_xml)] == ["miss", "hit"] * 2
    assert as_json[1].headers["content-type"].startswith(JSON)
    assert as_xml[1].headers["content-type"].startswith(XML)
    assert as_xml[1].content.startswith(b"<?xml")


def test_no_cache_asks_for_a_fresh_answer(server: str) -> None:
    url = f"{server}/api/collections?fresh=no-cache"
    httpx.get(url)
    fresh = httpx.get(url, headers={"Cache-Control": "no-cache"})
    assert fresh.headers["meshkg-cache"] == "miss"
    old_style = httpx.get(url, headers={"Pragma": "no-cache"})
    assert old_style.headers["meshkg-cache"] == "miss"
    assert httpx.get(url).headers["meshkg-cache"] == "hit"


def test_no_store_keeps_the_answer_out(server: str) -> None:
    url = f"{server}/api/collections?fresh=no-store"
    assert httpx.get(url, headers={"Cache-Control": "no-store"}).headers["meshkg-cache"] == "miss"
    assert httpx.get(url).headers["meshkg-cache"] == "miss"


@pytest.mark.parametrize("function", ["RAND()", "NOW()", "UUID()", "STRUUID()"])
def test_queries_with_changing_values_are_never_kept(server: str, function: str) -> None:
    first, second = _twice(f"{server}/sparql", params={"query": f"SELECT ({function} AS ?v) {{}}"})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    assert [first.headers["meshkg-cache"], second.headers["meshkg-cache"]] == ["miss", "miss"]


def test_a_function_name_in_a_string_does_not_count(server: str) -> None:
    query = 'SELECT ("RAND() NOW()" AS ?v) {}'
    first, second = _twice(f"{server}/sparql", params={"query": query})
    assert first.headers.get("cache-control") != "no-store"
    assert second.headers["meshkg-cache"] == "hit"


def test_errors_and_process_state_are_never_kept(server: str) -> None:
    for path, status in (("/sparql?query=SELECT+nonsense", 400), ("/api/sources/none", 404)):
        first, second = _twice(server + path)
        assert first.status_code == second.status_code == status
        assert second.headers["meshkg-cache"] == "miss"
    for path in ("/health", "/info"):
        first, second = _twice(server + path)
        assert second.headers["meshkg-cache"] == "miss"
        assert second.headers["cache-control"] == "no-store"


def test_posts_and_conditional_requests_go_past_the_cache(server: str) -> None:
    form = {"query": SOURCES}
    posted = [httpx.post(f"{server}/sparql", data=form) for _ in range(2)]
    assert all(r.status_code == 200 and "meshkg-cache" not in r.headers for r in posted)
    url = f"{server}/api/collections?fresh=conditional"
    httpx.get(url)
    conditional = httpx.get(url, headers={"If-None-Match": '"x"'})
    assert "meshkg-cache" not in conditional.headers


def test_a_kept_answer_carries_the_cors_headers_its_request_needs(server: str) -> None:
    """Answers are kept apart for cross-origin requests (which get the CORS headers) and the
    others (which need none), so a kept answer is always right for the request it answers."""
    url = f"{server}/api/collections?fresh=cors"
    origin = {"Origin": "https://notebook.example.org"}
    assert httpx.get(url).headers["meshkg-cache"] == "miss"
    plain = httpx.get(url)
    assert plain.headers["meshkg-cache"] == "hit"
    assert "access-control-allow-origin" not in plain.headers
    assert httpx.get(url, headers=origin).headers["meshkg-cache"] == "miss"
    hit = httpx.get(url, headers=origin)
    assert hit.headers["meshkg-cache"] == "hit"
    assert hit.headers["access-control-allow-origin"] == "*"
    assert "Meshkg-Cache" in hit.headers["access-control-expose-headers"]


def test_info_counts_hits_and_misses(server: str) -> None:
    before = httpx.get(f"{server}/info").json()["cache"]
    _twice(f"{server}/api/collections?fresh=counted")
    after = httpx.get(f"{server}/info").json()["cache"]
    assert after["hits"] == before["hits"] + 1
    assert after["misses"] == before["misses"] + 2  # the miss, and /info itself
    assert after["entries"] == before["entries"] + 1
    assert 0 < after["bytes"] <= after["max_bytes"] == 64 * 1024 * 1024


def test_a_large_answer_is_not_kept_and_cache_mb_0_keeps_none() -> None:
    everything = {"query": "SELECT * WHERE { ?s ?p ?o }"}
    with running([ROOT / "seeds"], "--cache-mb", "1") as url:
        first, second = _twice(f"{url}/sparql", params=everything)
        assert len(first.content) > 1024 * 1024 // 8  # more than an entry may take
        assert second.headers["meshkg-cache"] == "miss"
    with running([ROOT / "seeds"], "--cache-mb", "0") as url:
        first, second = _twice(f"{url}/api/collections")
        assert "meshkg-cache" not in second.headers
        assert httpx.get(f"{url}/info").json()["cache"]["max_bytes"] == 0


def _entry(size: int) -> _Entry:
    return _Entry(200, [], b"x" * size)


def test_answers_stay_within_their_budget_least_recently_used_out() -> None:
    answers = Answers(1000)
    for key in "abc":
        answers.put((key, "", b"", "", "", b"", b""), _entry(200))
    assert answers.stats().entries == 3
    answers.get(("a", "", b"", "", "", b"", b""))  # a is now the most recently used
    answers.put(("d", "", b"", "", "", b"", b""), _entry(200))
    kept = {k[0] for k in answers._entries}
    assert kept == {"a", "c", "d"}
    assert answers.stats().bytes <= 1000
    answers.put(("a", "", b"", "", "", b"", b""), _entry(100))  # replacing frees the old size
    assert answers.stats().bytes == sum(e.size for e in answers._entries.values())


def test_kept_items_stay_within_their_budget_and_are_written_once() -> None:
    bodies = Bodies(2000)
    written: list[str] = []

    def writer(iri: str) -> object:
        def write() -> object:
            written.append(iri)
            return {"iri": iri, "text": "x" * 300}

        return write

    first = bodies.item("source", "http://h", "a", writer("a"))
    assert bodies.item("source", "http://h", "a", writer("a")) is first
    assert written == ["a"]
    assert bodies.item("source", "http://other", "a", writer("a")) is not first  # another host
    assert bodies.item("code", "http://h", "a", writer("a")) is not first  # another kind
    assert written == ["a", "a", "a"]
    for iri in "bcdefgh":
        bodies.item("source", "http://h", iri, writer(iri))
    stats = bodies.stats()
    assert 0 < stats.bytes <= 2000
    assert stats.entries < 10  # the oldest left to stay within the budget
    assert (stats.hits, stats.misses) == (1, 10)
    written.clear()
    bodies.item("source", "http://h", "h", writer("h"))  # the newest is kept
    assert written == []
    none_kept = Bodies(0)
    none_kept.item("source", "http://h", "a", writer("a"))
    none_kept.item("source", "http://h", "a", writer("a"))
    assert none_kept.stats().entries == 0
    assert written == ["a", "a"]
