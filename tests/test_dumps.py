"""Full dumps and the service's description of itself, on a real server over fixture collections.

Every dump is read back by three independent parsers (Oxigraph, rdflib and raptor's
``rapper``) and compared with the N-Quads dump, and that with an in-process build of the same
folders, so a format that loses or mangles a triple fails. One collection has a name every URL
has to encode (``my study #1 %é``). The test marked ``corpus`` checks the shared corpus's known
counts and skips without it.
"""

from __future__ import annotations

import gzip
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from rdflib import RDF, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from app import __version__
from app.pipeline import Build
from tests.fixture_graphs import (
    MK,
    NAMES,
    PLATFORM,
    PLATFORM_S6,
    PRODUCT,
    built,
    collections,
    graph_iri,
    minter,
    sources,
)
from tests.fixture_graphs import error_code as _error
from tests.fixture_graphs import tool as _tool
from tests.server import running

VOID = Namespace("http://rdfs.org/ns/void#")
EXTENSIONS = {
    ".ttl": (ox.RdfFormat.TURTLE, "turtle", "turtle"),
    ".nt": (ox.RdfFormat.N_TRIPLES, "nt", "ntriples"),
    ".jsonld": (ox.RdfFormat.JSON_LD, "json-ld", None),
    ".rdf": (ox.RdfFormat.RDF_XML, "xml", "rdfxml"),
    ".trig": (ox.RdfFormat.TRIG, "trig", "trig"),
    ".nq": (ox.RdfFormat.N_QUADS, "nquads", "nquads"),
}
QUADS = {".trig", ".nq"}
SERVED = (PLATFORM, PLATFORM_S6, PRODUCT, NAMES)
TIMEOUT, RESULT_LIMIT = "7", "5000"  # not the defaults, so /info shows the options reach it


@pytest.fixture(scope="module")
def data() -> Build:
    return built(*SERVED)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running(list(SERVED), "--query-timeout", TIMEOUT, "--result-limit", RESULT_LIMIT) as url:
        yield url


@pytest.fixture(scope="module")
def listing(server: str) -> list[dict[str, str | None]]:
    r = httpx.get(f"{server}/dumps")
    assert r.status_code == 200
    dumps: list[dict[str, str | None]] = r.json()["dumps"]
    return dumps


def _url(listing: list[dict[str, str | None]], collection: str | None, ext: str) -> str:
    """The URL the listing gives for one dump (``collection`` None: the whole dataset)."""
    media = EXTENSIONS[ext][0].media_type
    [url] = [
        d["url"]
        for d in listing
        if d["collection"] == collection and d["media_type"] == media and d["url"]
    ]
    assert url is not None
    return url


@pytest.fixture(scope="module")
def reference(server: str) -> set[ox.Quad]:
    r = httpx.get(f"{server}/dumps/all.nq")
    assert r.status_code == 200
    return set(ox.parse(r.content, format=ox.RdfFormat.N_QUADS))


def test_the_listing_names_every_dump(
    server: str, data: Build, listing: list[dict[str, str | None]]
) -> None:
    urls = {d["url"] for d in listing}
    for ext in EXTENSIONS:
        assert f"/dumps/all{ext}" in urls
        for name in collections(data):
            url = _url(listing, name, ext)
            assert url.endswith(ext)
            assert httpx.head(server + url).status_code == 200, url
    assert len(listing) == len(EXTENSIONS) * (1 + len(collections(data)))
    # the awkward name, percent-encoded once in the path
    assert "/dumps/my%20study%20%231%20%25%C3%A9.ttl" in urls
    page = httpx.get(f"{server}/dumps", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/dumps/all.ttl"' in page.text


def test_the_quad_dump_holds_every_collection_and_no_ontology(
    server: str, data: Build, reference: set[ox.Quad]
) -> None:
    graphs = {q.graph_name.value for q in reference if isinstance(q.graph_name, ox.NamedNode)}
    assert graphs == {graph_iri(c) for c in collections(data)}
    typed = {
        q.subject.value
        for q in reference
        if q.predicate.value == str(RDF.type) and q.object.value == MK + "Source"
    }
    assert typed == sources(data)
    assert not any(
        q.subject.value.startswith("https://w3id.org/meshkg/ontology") for q in reference
    )
    info = httpx.get(f"{server}/info").json()["snapshot"]
    assert len(reference) == info["triples"] == sum(len(t) for t in data.triples.values())


@pytest.mark.parametrize("ext", list(EXTENSIONS))
def test_every_format_reads_back_to_the_same_data(
    server: str, reference: set[ox.Quad], ext: str, tmp_path: Path
) -> None:
    r = httpx.get(f"{server}/dumps/all{ext}")
    assert r.status_code == 200
    oxigraph_format, rdflib_format, raptor_format = EXTENSIONS[ext]
    assert r.headers["content-type"].split(";")[0] == oxigraph_format.media_type
    read = list(ox.parse(r.content, format=oxigraph_format))
    if ext in QUADS:
        assert set(read) == reference
    else:
        assert {(t.subject, t.predicate, t.object) for t in read} == {
            (q.subject, q.predicate, q.object) for q in reference
        }
    triples = {(q.subject, q.predicate, q.object) for q in reference}
    if ext in QUADS:
        dataset = Dataset()
        dataset.parse(data=r.content, format=rdflib_format)
        assert len(dataset) == len(reference)
    else:
        assert len(Graph().parse(data=r.content, format=rdflib_format)) == len(triples)
    if raptor_format is not None:
        file = tmp_path / f"all{ext}"
        file.write_bytes(r.content)
        counted = subprocess.run(
            [_tool("rapper"), "-i", raptor_format, "-c", str(file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert counted.returncode == 0, counted.stderr
        match = re.search(r"returned (\d+) (?:triples|statements)", counted.stderr)
        assert match is not None, counted.stderr
        assert int(match.group(1)) == (len(reference) if ext in QUADS else len(triples))


@pytest.mark.parametrize("ext", [".ttl", ".jsonld"])
def test_each_collection_dump_is_isomorphic_to_the_built_graph(
    server: str, data: Build, listing: list[dict[str, str | None]], ext: str
) -> None:
    """The service, started on its own, serves exactly what the pipeline maps."""
    assert len(data.triples) == 3
    for name, triples in data.triples.items():
        built_graph = Graph()
        for triple in triples:
            built_graph.add(triple)
        r = httpx.get(server + _url(listing, name, ext))
        assert r.status_code == 200, name
        served = Graph().parse(data=r.content, format=EXTENSIONS[ext][1])
        assert len(served) == len(built_graph) > 0
        assert isomorphic(served, built_graph), name


def test_a_collection_dump_holds_that_collection_only(server: str, data: Build) -> None:
    product = graph_iri("product")
    r = httpx.get(f"{server}/dumps/product.nt")
    graph = Graph().parse(data=r.content, format="nt")
    subjects = {str(s) for s in graph.subjects()}
    assert all(s.startswith(product + "/") or s == product for s in subjects)
    s6 = URIRef(minter("product").source("s6"))
    assert (s6, RDF.type, URIRef(MK + "Source")) in graph
    typed = {str(s) for s in graph.subjects(RDF.type, URIRef(MK + "Source"))}
    assert typed == sources(data, "product")
    assert len(graph) == len(data.triples["product"])


def test_dumps_are_cached_by_etag_and_sent_gzipped(server: str) -> None:
    url = f"{server}/dumps/all.ttl"
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    etag = plain.headers["etag"]
    assert etag.startswith('"')
    again = httpx.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    stale = httpx.get(url, headers={"If-None-Match": '"not-it"'})
    assert stale.status_code == 200
    assert stale.content == plain.content
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as packed:
        assert packed.headers["content-encoding"] == "gzip"
        raw = b"".join(packed.iter_raw())
    assert len(raw) < len(plain.content) / 3
    assert gzip.decompress(raw) == plain.content
    head = httpx.head(url)
    assert head.status_code == 200
    assert head.headers["etag"] == etag
    # each dump is its own entity
    other = httpx.get(f"{server}/dumps/product.ttl", headers={"If-None-Match": etag})
    assert other.status_code == 200
    assert other.headers["etag"] != etag


def test_unknown_dumps_are_404(server: str) -> None:
    assert _error(httpx.get(f"{server}/dumps/nothing.ttl"), 404) == "not-found"
    assert _error(httpx.get(f"{server}/dumps/all.docx"), 404) == "not-found"
    assert _error(httpx.get(f"{server}/dumps/..%2Fmeta.json"), 404) == "not-found"


def test_health_info_and_version(server: str, data: Build) -> None:
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok"
    info = httpx.get(f"{server}/info").json()
    assert info["meshkg"] == __version__
    assert httpx.get(f"{server}/version").json() == {"meshkg": __version__}
    names = {c["name"]: c["sources"] for c in info["snapshot"]["collections"]}
    assert names == {c: len(sources(data, c)) for c in collections(data)}
    assert info["limits"]["query_timeout_seconds"] == float(TIMEOUT)
    assert info["limits"]["result_limit"] == int(RESULT_LIMIT)
    assert health["snapshot"] == info["snapshot"]["key"] == data.key


def test_void_describes_the_dataset(server: str, data: Build) -> None:
    r = httpx.get(f"{server}/.well-known/void", headers={"Accept": "text/turtle"})
    assert r.headers["content-type"].startswith("text/turtle")
    void = Graph().parse(data=r.text, format="turtle")
    whole = URIRef(f"{server}/.well-known/void#dataset")
    assert (whole, RDF.type, VOID.Dataset) in void
    assert (whole, VOID.sparqlEndpoint, URIRef(f"{server}/sparql")) in void
    info = httpx.get(f"{server}/info").json()["snapshot"]
    assert int(void.value(whole, VOID.triples)) == info["triples"]  # type: ignore[arg-type]
    assert set(void.objects(whole, VOID.subset)) == {
        URIRef(graph_iri(c)) for c in collections(data)
    }
    for name in collections(data):
        partitions = [
            part
            for part in void.objects(URIRef(graph_iri(name)), VOID.classPartition)
            if void.value(part, VOID["class"]) == URIRef(MK + "Source")
        ]
        counted = [int(void.value(p, VOID.entities)) for p in partitions]  # type: ignore[arg-type]
        assert counted == [len(sources(data, name))], name
    dumps = {str(d) for d in void.objects(whole, VOID.dataDump)}
    assert f"{server}/dumps/all.nt" in dumps
    for dump in dumps:
        assert httpx.head(dump).status_code == 200, dump
    as_json = httpx.get(f"{server}/.well-known/void", headers={"Accept": "application/ld+json"})
    assert len(Graph().parse(data=as_json.text, format="json-ld")) == len(void)
    assert _error(httpx.get(f"{server}/.well-known/void", headers={"Accept": "image/png"}), 406)


@pytest.mark.parametrize(
    ("path", "term"), [("/meshkg/ontology", "Practice"), ("/meshkg/shapes", "UnresolvedShape")]
)
def test_ontology_and_shapes_are_served_at_their_iris(server: str, path: str, term: str) -> None:
    url = server + path
    turtle = httpx.get(url, headers={"Accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert any(str(s).endswith("#" + term) for s in graph.subjects())
    page = httpx.get(url, headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert term in page.text
    xml = httpx.get(url, headers={"Accept": "application/rdf+xml"})
    assert len(Graph().parse(data=xml.text, format="xml")) == len(graph)
    labels = list(graph.objects(None, URIRef("http://www.w3.org/2000/01/rdf-schema#label")))
    assert all(isinstance(label, Literal) for label in labels)


# --- the shared corpus (golden) -------------------------------------------------------------


@pytest.mark.corpus
def test_golden_corpus_dump_counts(corpus_server: str) -> None:
    """The shared corpus's known counts, as its dump and its description give them: 76
    sources, 43 in self-serve-platform and 33 in data-as-a-product."""
    ss, dp = graph_iri("self-serve-platform"), graph_iri("data-as-a-product")
    quads = ox.parse(httpx.get(f"{corpus_server}/dumps/all.nq").content, ox.RdfFormat.N_QUADS)
    by_graph: dict[str, int] = {}
    for q in quads:
        if q.predicate.value == str(RDF.type) and q.object.value == MK + "Source":
            assert isinstance(q.graph_name, ox.NamedNode)
            by_graph[q.graph_name.value] = by_graph.get(q.graph_name.value, 0) + 1
    assert by_graph == {ss: 43, dp: 33}
    info = httpx.get(f"{corpus_server}/info").json()["snapshot"]
    names = {c["name"]: c["sources"] for c in info["collections"]}
    assert names == {"self-serve-platform": 43, "data-as-a-product": 33}
