"""Data IRIs dereference: content negotiation, the RDF each form holds, the HTML pages, ``/``.

Every test goes through a real ``meshkg serve`` (uvicorn, where the raw request path reaches
the route as the client sent it) over fixture collections: the project's sample note
(``self-serve-platform``, one real note with many quotes) and ``product`` (decisions and force
impacts stated at lines of its files). Expected triples are read from an in-process snapshot
of the same folders. The test marked ``corpus`` checks a known source of the shared corpus and
skips without it.
"""

from __future__ import annotations

import re
import shutil
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

from app.api.routes.resources import OFFERS, canonical_path
from app.read.resource import INBOUND_CAP, RDFS_COMMENT
from app.store.snapshot import Snapshot
from tests.fixture_graphs import (
    BASE,
    MK,
    PLATFORM,
    PRODUCT,
    SAMPLE,
    built,
    collections,
    graph_iri,
    minter,
    snapshot,
)
from tests.server import running

SERVED = (SAMPLE, PRODUCT)
SS = graph_iri("self-serve-platform")
PRODUCT_G = graph_iri("product")
S6 = minter("self-serve-platform").source("s6")
CODE = minter("self-serve-platform").code("separating_storage_and_compute")
FILE = minter("product").file("s_7.md")
IMPACT = minter("product").impact("quality_monitoring", "accuracy", "positive")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
DCTERMS_TITLE = "http://purl.org/dc/terms/title"
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
def snap() -> Snapshot:
    return snapshot(*SERVED)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running(list(SERVED)) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as c:
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


def stored_value(snapshot: Snapshot, iri: str, predicate: str) -> str:
    [quad] = snapshot.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(predicate), None)
    return str(quad.object.value)


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


def test_a_browser_gets_html(client: httpx.Client, snap: Snapshot) -> None:
    r = client.get(path(S6), headers={"Accept": BROWSER})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Accept" in r.headers["vary"]
    title = stored_value(snap, S6, DCTERMS_TITLE)
    assert "—" in title  # written as the note writes it, not as an entity
    assert title in r.text
    assert S6 in r.text


@pytest.mark.parametrize("media", list(RDF_TYPES))
def test_each_rdf_form_holds_the_triples_about_the_iri(
    client: httpx.Client, snap: Snapshot, media: str
) -> None:
    r = client.get(path(S6), headers={"Accept": media})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    if media == "application/ld+json":
        assert '"@context": "http' not in r.text  # nothing to fetch: prefixes are inline
    expected = stored_about(snap, S6)
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
def test_q_values_and_wildcards_choose(client: httpx.Client, accept: str, media: str) -> None:
    r = client.get(path(S6), headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media


def test_no_accept_header_gets_turtle(client: httpx.Client) -> None:
    r = client.get(path(S6), headers={"Accept": ""})
    assert r.headers["content-type"].startswith("text/turtle")


@pytest.mark.parametrize("accept", ["image/png", "application/xhtml+xml", "text/turtle;q=0"])
def test_nothing_acceptable_is_406_with_the_offers(client: httpx.Client, accept: str) -> None:
    r = client.get(path(S6), headers={"Accept": accept})
    assert r.status_code == 406
    body = r.json()["error"]
    assert body["code"] == "not-acceptable"
    assert body["offers"] == OFFERS
    assert "Accept" in r.headers["vary"]


def test_link_header_names_every_form_and_each_url_serves_it(client: httpx.Client) -> None:
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


def test_head_answers_the_headers_alone(client: httpx.Client) -> None:
    get = client.get(path(S6), headers={"Accept": "text/turtle"})
    head = client.head(path(S6), headers={"Accept": "text/turtle"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["link"] == get.headers["link"]
    assert client.head(path(SS + "/source/nope")).status_code == 404


def test_other_routes_keep_their_own_answers(client: httpx.Client) -> None:
    """The data IRIs' route answers every path, but not in place of another route."""
    head = client.head("/health")
    assert head.status_code == 200
    assert head.headers["content-type"] == "application/json"
    posted = client.post("/health")
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"
    assert client.post(path(S6)).status_code == 405


# --- what a description holds ---------------------------------------------------------------


def test_the_description_has_inbound_links_and_labels(client: httpx.Client, snap: Snapshot) -> None:
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
    inbound = {q.triple for q in snap.store.quads_for_pattern(None, None, ox.NamedNode(S6), None)}
    assert len(inbound) > 10
    assert len(list(graph.triples((None, None, URIRef(S6))))) == len(inbound)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection with more codes than a description lists inbound links: each code is in
    the codebook, so the codebook has more inbound links than the cap."""
    folder = tmp_path_factory.mktemp("crowded") / "crowded"
    folder.mkdir()
    note = (PLATFORM / "s_2.md").read_text("utf-8")
    end = "    schema_registry\n```"
    assert note.count(end) == 1
    codes = "".join(f"    code_{n} = CClass(practice, 'Code {n}')\n" for n in range(INBOUND_CAP))
    (folder / "s_2.md").write_text(note.replace(end, "    schema_registry\n" + codes + "```"))
    return folder


@pytest.fixture(scope="module")
def crowded_server(crowded: Path) -> Iterator[str]:
    with running([crowded]) as url:
        yield url


def test_inbound_links_are_capped_and_say_so(crowded: Path, crowded_server: str) -> None:
    codebook = minter("crowded").codebook
    inbound = snapshot(crowded).store.quads_for_pattern(None, None, ox.NamedNode(codebook), None)
    total = len({q.triple for q in inbound})
    assert total > INBOUND_CAP
    r = httpx.get(crowded_server + path(codebook), headers={"Accept": "text/turtle"}, timeout=30)
    assert r.status_code == 200
    assert r.headers["meshkg-result-cut"] == str(INBOUND_CAP)
    graph = Graph()
    graph.parse(data=r.text, format="turtle")
    assert len(list(graph.triples((None, None, URIRef(codebook))))) == INBOUND_CAP
    notes = [str(o) for o in graph.objects(None, URIRef(RDFS_COMMENT.value))]
    assert any(f"cut at {INBOUND_CAP} of {total}" in n for n in notes), notes
    page = httpx.get(crowded_server + path(codebook), headers={"Accept": "text/html"}, timeout=30)
    assert f"Showing {INBOUND_CAP} of {total}" in page.text
    # under the cap, nothing is cut
    whole = httpx.get(crowded_server + path(minter("crowded").file("s_2.md")))
    assert whole.status_code == 200
    assert "meshkg-result-cut" not in whole.headers


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
    client: httpx.Client, snap: Snapshot
) -> None:
    page = client.get(path(CODE), headers={"Accept": BROWSER}).text
    assert stored_value(snap, CODE, "http://www.w3.org/2004/02/skos/core#prefLabel") in page
    assert 'href="/meshkg/ontology#Practice"' in page
    expected = _evidence(snap, CODE)
    assert len(expected) > 5
    items = page.split("<h2>Evidence", 1)[1].split("<li>")[1:]
    for text, line, file in expected:
        found = [i for i in items if str(escape(text)) in i]
        assert found, text
        assert any(file in i and re.search(rf"line {line}\b", i) for i in found), (text, line)


def test_a_source_page_lists_its_quotes_in_order(client: httpx.Client, snap: Snapshot) -> None:
    page = client.get(path(S6), headers={"Accept": "text/html"}).text
    quotes = page.split("<h2>Quotes", 1)[1].split("</ol>", 1)[0]
    lines = [int(n) for n in re.findall(r" line (\d+)", quotes)]
    stored = snap.store.quads_for_pattern(None, ox.NamedNode(MK + "line"), None)
    expected = sorted(
        int(q.object.value) for q in stored if q.subject.value.startswith(S6 + "/quote/")
    )
    assert len(expected) > 5
    assert lines == expected
    assert f'href="{path(S6)}/quote/1"' in quotes


def test_a_seed_file_page_lists_its_locations(client: httpx.Client, snap: Snapshot) -> None:
    quads = snap.store.quads_for_pattern(
        None, ox.NamedNode(MK + "seedFile"), ox.NamedNode(FILE), None
    )
    subjects = [q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)]
    locations = [s for s in subjects if s.startswith(FILE + "#")]
    assert len(locations) >= 2
    page = client.get(path(FILE), headers={"Accept": "text/html"}).text
    for location in locations:
        anchor = location.split("#", 1)[1]
        assert f'id="{anchor}"' in page
    # what is stated on a line links to it, and the line is found on the file's page
    [stated_at] = snap.store.quads_for_pattern(
        ox.NamedNode(IMPACT), ox.NamedNode("http://www.w3.org/ns/prov#atLocation"), None
    )
    location = stated_at.object.value
    assert location in locations
    impact = client.get(path(IMPACT)).text
    assert f"<{location}>" in impact
    page_of_impact = client.get(path(IMPACT), headers={"Accept": "text/html"}).text
    assert f'href="{path(location)}"' in page_of_impact
    # a hash IRI's triples are in its file's document
    r = client.get(path(FILE), headers={"Accept": "text/turtle"})
    assert parsed_about(r.text, "text/turtle", location) == stored_about(snap, location)


@pytest.mark.parametrize(
    "iri",
    ["", S6, CODE, FILE, IMPACT, SS, SS + "/codebook", SS + "/source/does-not-exist"],
)
def test_pages_reference_no_other_host(server: str, client: httpx.Client, iri: str) -> None:
    r = client.get(path(iri) if iri else "/", headers={"Accept": BROWSER})
    assert r.headers["content-type"].startswith("text/html")
    urls = urls_of(r.text)
    assert any(u.endswith("/static/meshkg.css") for u in urls)
    host = urlsplit(server).netloc
    for url in urls:
        parts = urlsplit(url)
        assert parts.netloc in ("", host), url
        assert parts.scheme in ("", "http"), url


# --- IRIs and paths -------------------------------------------------------------------------


def test_canonical_path_is_the_minted_form() -> None:
    data = "/meshkg/id/"
    assert canonical_path(b"/meshkg/id/a%2fb/c%7e/d%c3%bc", data) == "/meshkg/id/a%2Fb/c~/d%C3%BC"
    assert canonical_path("/meshkg/id/ü (x)".encode(), data) == "/meshkg/id/%C3%BC%20%28x%29"
    assert canonical_path(b"/meshkg/id/%2E%2E/x", data) == "/meshkg/id/%2E%2E/x"
    assert canonical_path(b"/meshkg/id/%ff", data) == "/meshkg/id/%FF"


def test_a_percent_encoded_iri_round_trips(tmp_path: Path) -> None:
    """A collection and a file whose names need escapes: each IRI dereferences, however the
    client writes the path, and pages link by the escaped form."""
    study = tmp_path / "study ü"
    study.mkdir()
    shutil.copy(PLATFORM / "s_1.md", study / "s 1 (draft).md")
    snap = snapshot(tmp_path)
    collection = BASE + "study%20%C3%BC"
    assert graph_iri("study ü") == collection
    file = collection + "/file/s%201%20%28draft%29.md"
    definition_class = ox.NamedNode(MK + "CodeDefinition")
    definitions = [
        q.subject.value
        for q in snap.store.quads_for_pattern(None, None, definition_class, None)
        if "/code/in_place_consumption/definition/s%201%20%28draft%29.md/" in q.subject.value
    ]
    assert len(definitions) == 1
    with running([tmp_path]) as url, httpx.Client(base_url=url, timeout=30) as c:
        for iri in (collection, file, definitions[0]):
            r = c.get(path(iri), headers={"Accept": "text/turtle"})
            assert r.status_code == 200, iri
            assert parsed_about(r.text, "text/turtle", iri) == stored_about(snap, iri)
            page = c.get(path(iri), headers={"Accept": "text/html"}).text
            assert str(escape(iri)) in page
        # the same IRI however the client encodes it
        for variant in ("study%20%c3%bc/file/s%201%20(draft).md", "study ü/file/s 1 (draft).md"):
            r = c.get("/meshkg/id/" + variant, headers={"Accept": "text/turtle"})
            assert r.status_code == 200, variant
            assert parsed_about(r.text, "text/turtle", file) == stored_about(snap, file)
        # the pages link to each other by the encoded paths
        page = c.get(path(collection), headers={"Accept": "text/html"}).text
        assert 'href="/meshkg/id/study%20%C3%BC/codebook"' in page


def test_server_reads_the_raw_path(client: httpx.Client) -> None:
    """``s6`` sent as ``%73%36``: uvicorn's raw path reaches the route undecoded."""
    r = client.get("/meshkg/id/self-serve-platform/source/%73%36")
    assert r.status_code == 200
    assert f"<{S6}>" in r.text
    alternates = link_header(r)
    jsonld = client.get(alternates["application/ld+json"])
    assert jsonld.headers["content-type"].startswith("application/ld+json")


def test_unknown_iri_is_404(client: httpx.Client) -> None:
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


def test_home_lists_every_collection(client: httpx.Client, snap: Snapshot) -> None:
    page = client.get("/", headers={"Accept": BROWSER})
    assert page.status_code == 200
    urls = urls_of(page.text)
    for info in snap.info.collections:
        assert path(info.graph) in urls
        assert f"/dumps/{info.name}.ttl" in urls
    for link in ("/sparql", "/docs", "/.well-known/void", "/meshkg/ontology", "/meshkg/shapes"):
        assert link in urls
    index = client.get("/", headers={"Accept": "application/json"}).json()
    assert [c["name"] for c in index["collections"]] == [c.name for c in snap.info.collections]
    assert {c["name"] for c in index["collections"]} == set(collections(built(*SERVED)))


# --- the shared corpus (golden) -------------------------------------------------------------


@pytest.mark.corpus
def test_golden_corpus_known_source_and_code(corpus_server: str) -> None:
    """A known source of the shared corpus and a code evidenced across its notes."""
    s6 = httpx.get(corpus_server + path(S6), headers={"Accept": BROWSER})
    assert s6.status_code == 200
    assert "Data Mesh — A Self-service Infrastructure at DPG Media with Snowflake" in s6.text
    code = minter("self-serve-platform").code("in_place_consumption")
    page = httpx.get(corpus_server + path(code), headers={"Accept": BROWSER}).text
    assert "Ability to restore data and set back without having to take care of backups" in page
    evidence = page.split("<h2>Evidence", 1)[1].split("<h2>", 1)[0]
    assert evidence.count("<blockquote>") > 5  # folded by source
    host = urlsplit(corpus_server).netloc
    assert all(urlsplit(u).netloc in ("", host) for u in urls_of(page))


def test_a_source_page_lists_its_memos(client: httpx.Client, snap: Snapshot) -> None:
    """The analyst's open codes of the source, after its quotes, each with its line."""
    page = client.get(path(S6), headers={"Accept": "text/html"}).text
    memos = page.split("<h2>Memos", 1)[1].split("</ol>", 1)[0]
    lines = [int(n) for n in re.findall(r" line (\d+)", memos)]
    stored = snap.store.quads_for_pattern(None, ox.NamedNode(MK + "line"), None)
    expected = sorted(
        int(q.object.value) for q in stored if q.subject.value.startswith(S6 + "/memo/")
    )
    assert expected
    assert lines == expected
    assert f'href="{path(S6)}/memo/1"' in memos
