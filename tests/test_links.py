"""Every link the service writes resolves, for names with spaces, ``#``, ``%``, ``/``, non-ASCII.

A real ``meshkg serve`` over a collection folder named ``my study #1 %é`` (holding a practice
``qualität_1`` labelled ``Qualität #1 (50% rule) ü/ß``) and an ordinary one. The crawl starts
at the service's entry points and follows every same-service link in every HTML page (``href``,
``src``), every JSON body (``url``, ``href``, ``next``, …) and the VoID description; each must
answer 200.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import pyoxigraph as ox
import pytest

from tests.conftest import FIXTURES

ODD = FIXTURES / "names" / "my study #1 %é"
ENTRY = ["/", "/sparql", "/dumps", "/docs", "/api/collections", "/api/sources", "/api/codes"]
# what a browser sends: a link to RDF (VoID, say) is followed and gets Turtle, not a 406
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def server(fixture_server: str) -> str:
    return fixture_server


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append(value)


def _json_links(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key in ("url", "href", "next", "page", "sparql"):
                yield item
            else:
                yield from _json_links(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_links(item)


def _crawl(base: str, limit: int = 5000) -> dict[str, int]:
    """URL -> status of every same-service link reached from the entry points."""
    seen: dict[str, int] = {}
    queue = [base + path for path in ENTRY]
    origin = urlsplit(base)
    with httpx.Client(timeout=30) as client:
        while queue and len(seen) < limit:
            url = queue.pop(0).split("#", 1)[0]
            if url in seen:
                continue
            parts = urlsplit(url)
            if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
                continue
            if parts.path.startswith("/dumps/"):
                seen[url] = client.head(url).status_code  # their bodies are tested elsewhere
                continue
            accept = HTML if not parts.path.startswith("/api") else {}
            r = client.get(url, headers=accept)
            seen[url] = r.status_code
            kind = r.headers.get("content-type", "")
            if kind.startswith("text/html"):
                parser = _Links()
                parser.feed(r.text)
                links = parser.found
            elif "json" in kind:
                links = list(_json_links(r.json()))
            else:
                links = []
            queue += [urljoin(url, link) for link in links]
    return seen


def test_every_link_resolves(server: str) -> None:
    seen = _crawl(server)
    broken = {url: status for url, status in seen.items() if status != 200}
    assert broken == {}
    paths = {unquote(urlsplit(url).path) for url in seen}
    # the crawl reached the odd names: the collection's own pages, its dumps, the practice
    assert any(p.endswith("/my study #1 %é") for p in paths), sorted(paths)[:20]
    assert "/dumps/my study #1 %é.ttl" in paths
    assert any(p.endswith("/code/qualität_1") for p in paths)
    assert any(p.startswith("/api/") and p.endswith("/codes/qualität_1") for p in paths)
    assert len(seen) < 5000  # the crawl ended by itself: every link was followed


def test_void_names_every_dump_by_a_working_url(server: str) -> None:
    r = httpx.get(server + "/.well-known/void", headers={"Accept": "application/n-triples"})
    assert r.status_code == 200, r.text
    dumps = [
        t.object.value
        for t in ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES)
        if t.predicate.value == "http://rdfs.org/ns/void#dataDump"
    ]
    assert len(dumps) == 3 * 6  # all, and each of two collections, in six formats
    for url in dumps:
        assert " " not in url
        assert "é" not in url
        assert httpx.head(url).status_code == 200, url


def test_dump_listing_gives_encoded_urls(server: str) -> None:
    listing = httpx.get(server + "/dumps").json()["dumps"]
    odd = [d["url"] for d in listing if d["collection"] == "my study #1 %é"]
    assert "/dumps/my%20study%20%231%20%25%C3%A9.ttl" in odd


def test_fixture_folder_is_named_as_the_test_says() -> None:
    assert Path(ODD).is_dir()
    assert json.dumps(ODD.name) == '"my study #1 %\\u00e9"'
