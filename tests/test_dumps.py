"""Full dumps and the service's description of itself, on a real server over the corpus.

Every dump is read back by three independent parsers (Oxigraph, rdflib and raptor's
``rapper``) and compared with the N-Quads dump, so a format that loses or mangles a triple fails.
"""

from __future__ import annotations

import gzip
import re
import subprocess
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from rdflib import RDF, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from app import __version__
from app.pipeline import Build
from tests.test_sparql import DP, MK, SS, _error, _tool

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


@pytest.fixture(scope="module")
def reference(corpus_server: str) -> set[ox.Quad]:
    r = httpx.get(f"{corpus_server}/dumps/all.nq")
    assert r.status_code == 200
    return set(ox.parse(r.content, format=ox.RdfFormat.N_QUADS))


def test_the_listing_names_every_dump(corpus_server: str) -> None:
    listing = httpx.get(f"{corpus_server}/dumps").json()["dumps"]
    urls = {d["url"] for d in listing}
    for name in ("all", "self-serve-platform", "data-as-a-product"):
        for ext in EXTENSIONS:
            assert f"/dumps/{name}{ext}" in urls
    page = httpx.get(f"{corpus_server}/dumps", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/dumps/all.ttl"' in page.text


def test_the_quad_dump_holds_both_collections_and_no_ontology(
    corpus_server: str, reference: set[ox.Quad]
) -> None:
    graphs = {q.graph_name.value for q in reference if isinstance(q.graph_name, ox.NamedNode)}
    assert graphs == {SS, DP}
    sources = {
        q.subject.value
        for q in reference
        if q.predicate.value == str(RDF.type) and q.object.value == MK + "Source"
    }
    assert len(sources) == 76
    assert not any(
        q.subject.value.startswith("https://w3id.org/meshkg/ontology") for q in reference
    )
    info = httpx.get(f"{corpus_server}/info").json()["snapshot"]
    assert len(reference) == info["triples"]


@pytest.mark.parametrize("ext", list(EXTENSIONS))
def test_every_format_reads_back_to_the_same_data(
    corpus_server: str, reference: set[ox.Quad], ext: str, tmp_path: Path
) -> None:
    r = httpx.get(f"{corpus_server}/dumps/all{ext}")
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
    corpus_server: str, corpus_build: Build, ext: str
) -> None:
    """The service, started on its own, serves exactly what the pipeline maps."""
    for name, triples in corpus_build.triples.items():
        built = Graph()
        for triple in triples:
            built.add(triple)
        r = httpx.get(f"{corpus_server}/dumps/{name}{ext}")
        served = Graph().parse(data=r.content, format=EXTENSIONS[ext][1])
        assert len(served) == len(built)
        assert isomorphic(served, built), name


def test_a_collection_dump_holds_that_collection_only(corpus_server: str) -> None:
    r = httpx.get(f"{corpus_server}/dumps/data-as-a-product.nt")
    graph = Graph().parse(data=r.content, format="nt")
    subjects = {str(s) for s in graph.subjects()}
    assert all(s.startswith(DP) for s in subjects)
    assert (URIRef(f"{DP}/source/s20"), RDF.type, URIRef(MK + "Source")) in graph
    assert len(set(graph.subjects(RDF.type, URIRef(MK + "Source")))) == 33


def test_dumps_are_cached_by_etag_and_sent_gzipped(corpus_server: str) -> None:
    url = f"{corpus_server}/dumps/all.ttl"
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    etag = plain.headers["etag"]
    assert etag.startswith('"')
    again = httpx.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    stale = httpx.get(url, headers={"If-None-Match": '"not-it"'})
    assert stale.status_code == 200
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as packed:
        assert packed.headers["content-encoding"] == "gzip"
        raw = b"".join(packed.iter_raw())
    assert len(raw) < len(plain.content) / 3
    assert gzip.decompress(raw) == plain.content
    head = httpx.head(url)
    assert head.status_code == 200
    assert head.headers["etag"] == etag


def test_unknown_dumps_are_404(corpus_server: str) -> None:
    assert _error(httpx.get(f"{corpus_server}/dumps/nothing.ttl"), 404) == "not-found"
    assert _error(httpx.get(f"{corpus_server}/dumps/all.docx"), 404) == "not-found"
    assert _error(httpx.get(f"{corpus_server}/dumps/..%2Fmeta.json"), 404) == "not-found"


def test_health_info_and_version(corpus_server: str) -> None:
    health = httpx.get(f"{corpus_server}/health").json()
    assert health["status"] == "ok"
    info = httpx.get(f"{corpus_server}/info").json()
    assert info["meshkg"] == __version__
    assert httpx.get(f"{corpus_server}/version").json() == {"meshkg": __version__}
    names = {c["name"]: c["sources"] for c in info["snapshot"]["collections"]}
    assert names == {"self-serve-platform": 43, "data-as-a-product": 33}
    assert info["limits"]["query_timeout_seconds"] == 3
    assert info["limits"]["result_limit"] == 10_000
    assert health["snapshot"] == info["snapshot"]["key"]


def test_void_describes_the_dataset(corpus_server: str) -> None:
    r = httpx.get(f"{corpus_server}/.well-known/void", headers={"Accept": "text/turtle"})
    assert r.headers["content-type"].startswith("text/turtle")
    void = Graph().parse(data=r.text, format="turtle")
    whole = URIRef(f"{corpus_server}/.well-known/void#dataset")
    assert (whole, RDF.type, VOID.Dataset) in void
    assert (whole, VOID.sparqlEndpoint, URIRef(f"{corpus_server}/sparql")) in void
    info = httpx.get(f"{corpus_server}/info").json()["snapshot"]
    assert int(void.value(whole, VOID.triples)) == info["triples"]  # type: ignore[arg-type]
    assert set(void.objects(whole, VOID.subset)) == {URIRef(SS), URIRef(DP)}
    sources = [
        part
        for part in void.objects(URIRef(DP), VOID.classPartition)
        if void.value(part, VOID["class"]) == URIRef(MK + "Source")
    ]
    assert [int(void.value(p, VOID.entities)) for p in sources] == [33]  # type: ignore[arg-type]
    dumps = {str(d) for d in void.objects(whole, VOID.dataDump)}
    assert f"{corpus_server}/dumps/all.nt" in dumps
    for dump in dumps:
        assert httpx.head(dump).status_code == 200
    as_json = httpx.get(
        f"{corpus_server}/.well-known/void", headers={"Accept": "application/ld+json"}
    )
    assert len(Graph().parse(data=as_json.text, format="json-ld")) == len(void)
    assert _error(
        httpx.get(f"{corpus_server}/.well-known/void", headers={"Accept": "image/png"}), 406
    )


@pytest.mark.parametrize(
    ("path", "term"), [("/meshkg/ontology", "Practice"), ("/meshkg/shapes", "UnresolvedShape")]
)
def test_ontology_and_shapes_are_served_at_their_iris(
    corpus_server: str, path: str, term: str
) -> None:
    url = corpus_server + path
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
