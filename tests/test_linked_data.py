"""Data IRIs dereference: content negotiation, the RDF each form holds, the HTML pages, ``/``.

Most tests use the application in-process over the shared corpus; those marked with the
``corpus_server`` fixture go through a real ``meshkg serve`` (uvicorn), where the raw request
path reaches the route as the client sent it.
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pyoxigraph as ox
import pytest
from markupsafe import escape
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from app.api.app import create_app
from app.api.routes.resources import OFFERS, canonical_path
from app.config import Settings
from app.pipeline import build, store
from app.read import resource as describe
from app.store.snapshot import Snapshot

with warnings.catch_warnings():
    # starlette asks for httpx2 at import; the tests' httpx client works the same
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

BASE = "https://w3id.org/meshkg/id/"
MK = "https://w3id.org/meshkg/ontology#"
SS = BASE + "self-serve-platform"
DP = BASE + "data-as-a-product"
S6 = SS + "/source/s6"
CODE = SS + "/code/in_place_consumption"
FILE = DP + "/file/s_1.md"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}


def path(iri: str) -> str:
    assert iri.startswith(BASE)
    return "/meshkg/id/" + iri[len(BASE) :]


@pytest.fixture(scope="module")
def snapshot(corpus_dir: Path) -> Snapshot:
    return store(build([corpus_dir]))


@pytest.fixture(scope="module")
def client(snapshot: Snapshot) -> Iterator[TestClient]:
    with TestClient(create_app(snapshot, Settings())) as c:
        yield c


def rdflib_term(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    assert isinstance(term, ox.Literal), term
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == XSD_STRING:
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def stored_about(snapshot: Snapshot, iri: str) -> set[tuple[Node, Node, Node]]:
    """The store's triples with ``iri`` as subject, in every graph."""
    return {
        (URIRef(iri), URIRef(q.predicate.value), rdflib_term(q.object))
        for q in snapshot.store.quads_for_pattern(ox.NamedNode(iri), None, None, None)
    }


def parsed_about(body: str, media: str, iri: str) -> set[tuple[Node, Node, Node]]:
    graph = Graph()
    graph.parse(data=body, format=RDF_TYPES[media])
    return {(s, p, o) for s, p, o in graph.triples((URIRef(iri), None, None))}


class Links(HTMLParser):
    """Every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v is not None]


def urls_of(page: str) -> list[str]:
    parser = Links()
    parser.feed(page)
    return parser.urls


def link_header(response: httpx.Response) -> dict[str, str]:
    """``type`` → URL of every ``rel="alternate"`` in the ``Link`` header."""
    out = {}
    for url, params in re.findall(r"<([^>]*)>((?:\s*;\s*[^,;]+)*)", response.headers["link"]):
        if 'rel="alternate"' in params:
            kind = re.search(r'type="([^"]+)"', params)
            assert kind is not None
            out[kind.group(1)] = url
    return out


# --- negotiation ----------------------------------------------------------------------------


def test_a_browser_gets_html(client: TestClient) -> None:
    r = client.get(path(S6), headers={"Accept": BROWSER})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Accept" in r.headers["vary"]
    assert "Data Mesh — A Self-service Infrastructure at DPG Media with Snowflake" in r.text
    assert S6 in r.text


@pytest.mark.parametrize("media", list(RDF_TYPES))
def test_each_rdf_form_holds_the_triples_about_the_iri(
    client: TestClient, snapshot: Snapshot, media: str
) -> None:
    r = client.get(path(S6), headers={"Accept": media})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    if media == "application/ld+json":
        assert '"@context": "http' not in r.text  # nothing to fetch: prefixes are inline
    expected = stored_about(snapshot, S6)
    assert len(expected) > 10
    assert parsed_about(r.text, media, S6) == expected


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
        ("application/ld+json;q=0.5, text/turtle;q=0.6", "text/turtle"),
        ("application/rdf+xml, text/html;q=0.1", "application/rdf+xml"),
        ("application/*;q=0.9, text/html;q=0.5", "application/ld+json"),
        ("text/*", "text/turtle"),
        ("*/*", "text/turtle"),
        ("text/turtle;q=0, */*;q=0.1", "text/html"),
        ("application/n-triples", "application/n-triples"),
        ("application/x-turtle", "text/turtle"),
        ("application/json", "application/ld+json"),
    ],
)
def test_q_values_and_wildcards_choose(client: TestClient, accept: str, media: str) -> None:
    r = client.get(path(S6), headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media


def test_no_accept_header_gets_turtle(client: TestClient) -> None:
    r = client.get(path(S6), headers={"Accept": ""})
    assert r.headers["content-type"].startswith("text/turtle")


@pytest.mark.parametrize("accept", ["image/png", "application/xhtml+xml", "text/turtle;q=0"])
def test_nothing_acceptable_is_406_with_the_offers(client: TestClient, accept: str) -> None:
    r = client.get(path(S6), headers={"Accept": accept})
    assert r.status_code == 406
    body = r.json()["error"]
    assert body["code"] == "not-acceptable"
    assert body["offers"] == OFFERS
    assert "Accept" in r.headers["vary"]


def test_link_header_names_every_form_and_each_url_serves_it(client: TestClient) -> None:
    r = client.get(path(S6), headers={"Accept": "text/turtle"})
    alternates = link_header(r)
    assert set(alternates) == {"text/html", *RDF_TYPES}
    for media, url in alternates.items():
        assert urlsplit(url).path.startswith(path(S6))
        form = client.get(url, headers={"Accept": "image/png"})  # the URL decides, not Accept
        assert form.status_code == 200, url
        assert form.headers["content-type"].split(";")[0] == media
        assert link_header(form) == alternates
    assert r.headers["content-location"] == alternates["text/turtle"]


def test_head_answers_the_headers_alone(client: TestClient) -> None:
    get = client.get(path(S6), headers={"Accept": "text/turtle"})
    head = client.head(path(S6), headers={"Accept": "text/turtle"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["link"] == get.headers["link"]
    assert client.head(path(SS + "/source/nope")).status_code == 404


def test_other_routes_keep_their_405(client: TestClient) -> None:
    r = client.head("/health")
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]
    assert client.post(path(S6)).status_code == 405


# --- what a description holds ---------------------------------------------------------------


def test_the_description_has_inbound_links_and_labels(
    client: TestClient, snapshot: Snapshot
) -> None:
    r = client.get(path(S6), headers={"Accept": "application/n-triples"})
    graph = Graph()
    graph.parse(data=r.text, format="nt")
    quote = URIRef(S6 + "/quote/1")
    part_of = URIRef("http://purl.org/dc/terms/isPartOf")
    assert (quote, part_of, URIRef(S6)) in graph
    # one hop of context: what links here is named, and the classes of the IRI are labelled
    assert (quote, URIRef("https://schema.org/text"), None) in graph
    label = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    assert (URIRef(MK + "Source"), label, None) in graph
    inbound = set(snapshot.store.quads_for_pattern(None, None, ox.NamedNode(S6), None))
    assert len(list(graph.triples((None, None, URIRef(S6))))) == len({q.triple for q in inbound})


def test_inbound_links_are_capped_and_say_so(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(describe, "INBOUND_CAP", 5)
    codebook = path(DP + "/codebook")
    r = client.get(codebook, headers={"Accept": "text/turtle"})
    assert r.headers["meshkg-result-cut"] == "5"
    graph = Graph()
    graph.parse(data=r.text, format="turtle")
    assert len(list(graph.triples((None, None, URIRef(DP + "/codebook"))))) == 5
    notes = [str(o) for o in graph.objects(None, URIRef(describe.RDFS_COMMENT.value))]
    assert any("cut at 5 of" in n for n in notes)
    page = client.get(codebook, headers={"Accept": "text/html"}).text
    assert "Showing 5 of" in page


# --- pages ----------------------------------------------------------------------------------


def _evidence(snapshot: Snapshot, iri: str) -> list[tuple[str, int, str]]:
    """(text, line, file path) of each quote coded as ``iri``, read from the store directly."""
    s = snapshot.store

    def objects(subject: str, predicate: str) -> list[ox.NamedNode | ox.Literal]:
        quads = s.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None)
        return [q.object for q in quads if isinstance(q.object, ox.NamedNode | ox.Literal)]

    out = []
    for block in objects(iri, MK + "codedIn"):
        for quote in objects(block.value, MK + "evidenceQuote"):
            text = objects(quote.value, "https://schema.org/text")[0].value
            line = int(objects(quote.value, MK + "line")[0].value)
            source = objects(quote.value, "http://purl.org/dc/terms/isPartOf")[0]
            file = objects(source.value, MK + "seedFile")[0]
            out.append((text, line, objects(file.value, MK + "path")[0].value))
    return out


def test_a_code_page_shows_its_evidence_with_file_and_line(
    client: TestClient, snapshot: Snapshot
) -> None:
    page = client.get(path(CODE), headers={"Accept": BROWSER}).text
    assert "Ability to restore data and set back without having to take care of backups" in page
    assert 'href="/meshkg/ontology#Practice"' in page
    expected = _evidence(snapshot, CODE)
    assert len(expected) > 5
    items = page.split("<h2>Evidence", 1)[1].split("<li>")[1:]
    for text, line, file in expected:
        found = [i for i in items if str(escape(text)) in i]
        assert found, text
        assert any(file in i and re.search(rf"line {line}\b", i) for i in found), (text, line)


def test_a_source_page_lists_its_quotes_in_order(client: TestClient) -> None:
    page = client.get(path(S6), headers={"Accept": "text/html"}).text
    quotes = page.split("<h2>Quotes", 1)[1].split("</ol>", 1)[0]
    lines = [int(n) for n in re.findall(r" line (\d+)", quotes)]
    assert len(lines) > 5
    assert lines == sorted(lines)
    assert 'href="/meshkg/id/self-serve-platform/source/s6/quote/1"' in quotes


def test_a_seed_file_page_lists_its_locations(client: TestClient, snapshot: Snapshot) -> None:
    quads = snapshot.store.quads_for_pattern(
        None, ox.NamedNode(MK + "seedFile"), ox.NamedNode(FILE), None
    )
    subjects = [q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)]
    locations = [s for s in subjects if s.startswith(FILE + "#")]
    assert len(locations) > 10
    page = client.get(path(FILE), headers={"Accept": "text/html"}).text
    for location in locations:
        anchor = location.split("#", 1)[1]
        assert f'id="{anchor}"' in page
    # what is stated on a line links to it, and the line is found on the file's page
    impact = client.get(path(DP + "/impact/query_catalogue/interoperability/positive")).text
    assert f"<{FILE}#L243>" in impact
    page_of_impact = client.get(
        path(DP + "/impact/query_catalogue/interoperability/positive"),
        headers={"Accept": "text/html"},
    ).text
    assert 'href="/meshkg/id/data-as-a-product/file/s_1.md#L243"' in page_of_impact
    # a hash IRI's triples are in its file's document
    r = client.get(path(FILE), headers={"Accept": "text/turtle"})
    assert parsed_about(r.text, "text/turtle", FILE + "#L243")


@pytest.mark.parametrize(
    "iri", ["", S6, CODE, FILE, SS, DP + "/codebook", SS + "/source/does-not-exist"]
)
def test_pages_reference_no_other_host(client: TestClient, iri: str) -> None:
    r = client.get(path(iri) if iri else "/", headers={"Accept": BROWSER})
    assert r.headers["content-type"].startswith("text/html")
    urls = urls_of(r.text)
    assert any(u.endswith("/static/meshkg.css") for u in urls)
    for url in urls:
        parts = urlsplit(url)
        assert parts.netloc in ("", "testserver"), url
        assert parts.scheme in ("", "http"), url


# --- IRIs and paths -------------------------------------------------------------------------


def test_canonical_path_is_the_minted_form() -> None:
    data = "/meshkg/id/"
    assert canonical_path(b"/meshkg/id/a%2fb/c%7e/d%c3%bc", data) == "/meshkg/id/a%2Fb/c~/d%C3%BC"
    assert canonical_path("/meshkg/id/ü (x)".encode(), data) == "/meshkg/id/%C3%BC%20%28x%29"
    assert canonical_path(b"/meshkg/id/%2E%2E/x", data) == "/meshkg/id/%2E%2E/x"
    assert canonical_path(b"/meshkg/id/%ff", data) == "/meshkg/id/%FF"


def test_a_percent_encoded_iri_round_trips(corpus_dir: Path, tmp_path: Path) -> None:
    study = tmp_path / "study ü"
    study.mkdir()
    shutil.copy(corpus_dir / "self-serve-platform" / "s_6.md", study / "s 6 (draft).md")
    snap = store(build([tmp_path]))
    collection = BASE + "study%20%C3%BC"
    file = collection + "/file/s%206%20%28draft%29.md"
    definition = collection + "/code/in_place_consumption/definition/s%206%20%28draft%29.md/141"
    with TestClient(create_app(snap, Settings())) as c:
        for iri in (collection, file, definition):
            r = c.get(path(iri), headers={"Accept": "text/turtle"})
            assert r.status_code == 200, iri
            assert parsed_about(r.text, "text/turtle", iri) == stored_about(snap, iri)
            page = c.get(path(iri), headers={"Accept": "text/html"}).text
            assert str(escape(iri)) in page
        # the same IRI however the client encodes it
        for variant in ("study%20%c3%bc/file/s%206%20(draft).md", "study ü/file/s 6 (draft).md"):
            r = c.get("/meshkg/id/" + variant, headers={"Accept": "text/turtle"})
            assert r.status_code == 200, variant
            assert parsed_about(r.text, "text/turtle", file)
        # the pages link to each other by the encoded paths
        page = c.get(path(collection), headers={"Accept": "text/html"}).text
        assert 'href="/meshkg/id/study%20%C3%BC/codebook"' in page


def test_unknown_iri_is_404(client: TestClient) -> None:
    r = client.get(path(SS + "/source/s999"))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not-found"
    page = client.get(path(SS + "/source/s999"), headers={"Accept": BROWSER})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert client.get(path(SS + "/source/s999.ttl")).status_code == 404
    assert client.get("/meshkg/id/").status_code == 404
    assert client.get("/no/such/page").status_code == 404


# --- the home page --------------------------------------------------------------------------


def test_home_lists_both_collections(client: TestClient, snapshot: Snapshot) -> None:
    page = client.get("/", headers={"Accept": BROWSER})
    assert page.status_code == 200
    urls = urls_of(page.text)
    for info in snapshot.info.collections:
        assert path(info.graph) in urls
        assert f"/dumps/{info.name}.ttl" in urls
    for link in ("/sparql", "/docs", "/.well-known/void", "/meshkg/ontology", "/meshkg/shapes"):
        assert link in urls
    index = client.get("/", headers={"Accept": "application/json"}).json()
    assert [c["name"] for c in index["collections"]] == [c.name for c in snapshot.info.collections]
    assert {c["name"] for c in index["collections"]} == {
        "data-as-a-product",
        "self-serve-platform",
    }


# --- over a real server ---------------------------------------------------------------------


def test_server_negotiates_rdf(corpus_server: str, snapshot: Snapshot) -> None:
    for media in RDF_TYPES:
        r = httpx.get(corpus_server + path(S6), headers={"Accept": media})
        assert r.status_code == 200
        assert r.headers["content-type"].split(";")[0] == media
        assert parsed_about(r.text, media, S6) == stored_about(snapshot, S6)


def test_server_serves_browsers_html_and_refuses_the_unacceptable(corpus_server: str) -> None:
    r = httpx.get(corpus_server + path(CODE), headers={"Accept": BROWSER})
    assert r.headers["content-type"].startswith("text/html")
    assert "<h2>Evidence" in r.text
    host = urlsplit(corpus_server).netloc
    assert all(urlsplit(u).netloc in ("", host) for u in urls_of(r.text))
    assert httpx.get(corpus_server + path(S6), headers={"Accept": "image/png"}).status_code == 406
    assert httpx.get(corpus_server + path(SS + "/source/s999")).status_code == 404


def test_server_reads_the_raw_path(corpus_server: str) -> None:
    """``s6`` sent as ``%73%36``: uvicorn's raw path reaches the route undecoded."""
    r = httpx.get(corpus_server + "/meshkg/id/self-serve-platform/source/%73%36")
    assert r.status_code == 200
    assert f"<{S6}>" in r.text
    alternates = link_header(r)
    jsonld = httpx.get(corpus_server + alternates["application/ld+json"])
    assert jsonld.headers["content-type"].startswith("application/ld+json")


def test_server_home_page(corpus_server: str) -> None:
    r = httpx.get(corpus_server + "/", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "self-serve-platform" in r.text
    assert "data-as-a-product" in r.text
