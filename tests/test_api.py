"""The JSON API under ``/api`` on the shared corpus: facts, paging, errors, JSON-LD, fuzzing.

The facts asserted are the corpus's (counts of each study's codebook, a source whose header and
trace disagree, an impact with its level): if the API loses or invents data, these fail. Most
tests use the application in-process; the schemathesis run goes through a real ``meshkg serve``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from app.api.app import create_app
from app.api.routes import api
from app.api.routes.api import CONTEXT_FILE
from app.config import Settings
from app.model import SourceTypeName
from app.pipeline import Build, store
from app.read import lookup
from app.store.snapshot import Snapshot
from app.vocab import SOURCE_TYPE_CONCEPT

with warnings.catch_warnings():
    # starlette asks for httpx2 at import; the tests' httpx client works the same
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

BASE = "https://w3id.org/meshkg/id/"
MK = "https://w3id.org/meshkg/ontology#"
DP = "data-as-a-product"
SS = "self-serve-platform"
LD = "application/ld+json"
CONTEXT_URL = "http://testserver/api/context/v1.jsonld"
TRUSTED = "testserver,mirror.example:8080"  # hosts the service writes absolute URLs for

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def snapshot(corpus_build: Build) -> Snapshot:
    return store(corpus_build)


@pytest.fixture(scope="module")
def client(snapshot: Snapshot) -> Iterator[TestClient]:
    with TestClient(create_app(snapshot, Settings(trusted_hosts=TRUSTED))) as c:
        yield c


def get(client: TestClient, url: str, status: int = 200, **headers: str) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def every(client: TestClient, url: str) -> list[dict[str, Any]]:
    """All items of a list, following ``next`` from page to page."""
    items: list[dict[str, Any]] = []
    following: str | None = url
    while following is not None:
        page = get(client, following)
        items += page["items"]
        following = page["next"]
    return items


def context(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = get(client, "/api/context/v1.jsonld")
    return body


def as_rdf(client: TestClient, url: str) -> Graph:
    """The JSON-LD variant parsed with the context given inline: rdflib fetches nothing."""
    response = client.get(url, headers={"Accept": LD})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(LD)
    doc = response.json()
    assert doc["@context"] == CONTEXT_URL
    doc["@context"] = context(client)["@context"]
    return Graph().parse(data=json.dumps(doc), format="json-ld", base="http://testserver" + url)


def code_url(collection: str, ident: str) -> str:
    return f"/api/collections/{collection}/codes/{ident}"


# --- collections -----------------------------------------------------------------------------


def test_index_links_every_list_and_the_context(client: TestClient) -> None:
    links = get(client, "/api")["links"]
    for name in ("collections", "sources", "codes", "practices", "patterns", "forces"):
        assert get(client, links[name])["total"] > 0
    assert links["context"] == CONTEXT_URL


def test_collections_count_the_codebooks(client: TestClient) -> None:
    page = get(client, "/api/collections")
    assert page["total"] == 2
    by_name = {c["name"]: c for c in page["items"]}
    assert by_name[DP]["counts"] == {
        "sources": 33,
        "practice": 37,
        "pattern": 34,
        "force": 49,
        "decision": 10,
        "unresolved": 43,
    }
    assert by_name[SS]["counts"]["sources"] == 43
    one = get(client, f"/api/collections/{SS}")
    assert one == by_name[SS]
    assert one["iri"] == BASE + SS
    assert one["href"] == "/meshkg/id/" + SS
    assert one["codebook"] == BASE + SS + "/codebook"
    assert one["triples"] > 1000


@pytest.mark.parametrize(
    ("route", "kind", "total"),
    [
        ("practices", "practice", 37),
        ("patterns", "pattern", 34),
        ("forces", "force", 49),
        ("decisions", "decision", 10),
    ],
)
def test_each_kind_has_its_list(client: TestClient, route: str, kind: str, total: int) -> None:
    page = get(client, f"/api/{route}?collection={DP}&limit=500")
    assert page["total"] == total == len(page["items"])
    assert {c["kind"] for c in page["items"]} == {kind}
    same = get(client, f"/api/codes?collection={DP}&kind={kind}&limit=500")
    assert same["items"] == page["items"]


def test_sources_per_collection(client: TestClient) -> None:
    assert get(client, f"/api/sources?collection={DP}")["total"] == 33
    assert get(client, f"/api/sources?collection={SS}")["total"] == 43
    assert get(client, "/api/sources")["total"] == 76


# --- a source --------------------------------------------------------------------------------


def test_source_shows_both_records_and_where_they_disagree(client: TestClient) -> None:
    s6 = get(client, f"/api/collections/{SS}/sources/s6")
    assert s6["iri"] == BASE + SS + "/source/s6"
    assert s6["href"] == "/meshkg/id/" + SS + "/source/s6"
    assert s6["url"] == f"http://testserver/api/collections/{SS}/sources/s6"
    assert s6["file"]["path"] == f"{SS}/s_6.md"
    assert s6["title"].startswith("Data Mesh — A Self-service Infrastructure at DPG Media")
    assert s6["source_type"]["label"] == "Practitioner Audience Article"
    header, trace = s6["header"], s6["trace"]
    assert header["line"] == 1
    assert trace["line"] == 23
    assert trace["variable"] == "s6"
    disagreements = {d["field"]: d for d in s6["disagreements"]}
    assert set(disagreements) == {"tiny_url", "archive_url"}
    tiny = disagreements["tiny_url"]
    assert tiny["header"] == header["tiny_url"] == "https://tinyurl.com/self-serve-plaform-s7"
    assert tiny["trace"] == trace["tiny_url"] == "https://tinyurl.com/self-serve-platform-s5"
    assert (tiny["header_line"], tiny["trace_line"]) == (1, 23)
    # the source shows the trace's value, the header's stays visible
    assert s6["tiny_url"] == trace["tiny_url"]
    assert header["example"] is True
    assert header["source_code"] is False


def test_source_lists_its_quotes_and_codes(client: TestClient, corpus_dir: Path) -> None:
    s6 = get(client, f"/api/collections/{SS}/sources/s6")
    quotes = s6["quotes"]
    assert len(quotes) == s6["quote_count"] > 10
    assert [q["position"] for q in quotes] == list(range(1, len(quotes) + 1))
    lines = (corpus_dir / SS / "s_6.md").read_text("utf-8").splitlines()
    for q in quotes:
        assert q["iri"] == f"{s6['iri']}/quote/{q['position']}"
        assert q["text"].splitlines()[0][:40] in lines[q["line"] - 1]
        assert q["end_line"] is None or q["end_line"] > q["line"]
    idents = {c["ident"]: c for c in s6["codes"]}
    assert len(idents) == s6["code_count"]
    assert idents["in_place_consumption"]["kind"] == "practice"
    assert idents["in_place_consumption"]["url"].endswith(code_url(SS, "in_place_consumption"))


def test_source_list_items_carry_the_shown_values(client: TestClient) -> None:
    items = every(client, f"/api/sources?collection={SS}&limit=7")
    assert len(items) == 43
    s6 = next(s for s in items if s["id"] == "s6")
    detail = get(client, s6["url"])
    assert {k: detail[k] for k in s6} == s6


# --- a code ----------------------------------------------------------------------------------


def test_code_evidence_names_sources_and_their_quotes(client: TestClient, corpus_dir: Path) -> None:
    code = get(client, code_url(SS, "in_place_consumption"))
    assert code["kind"] == "practice"
    assert code["label"].startswith("Ability to restore data")
    assert code["source_count"] == len(code["sources"])
    by_id = {s["id"]: s for s in code["sources"]}
    assert "s6" in by_id
    quotes = by_id["s6"]["quotes"]
    assert quotes
    lines = (corpus_dir / SS / "s_6.md").read_text("utf-8").splitlines()
    for q in quotes:
        assert q["file"]["path"] == f"{SS}/s_6.md"
        assert isinstance(q["line"], int)
        assert q["text"].splitlines()[0][:40] in lines[q["line"] - 1]
    (definition,) = code["definitions"]
    assert definition["file"]["path"] == f"{SS}/s_6.md"
    assert definition["in_source"]["id"] == "s6"
    assert definition["declared_kind"] == "practice"
    assert definition["in_string"] is False
    assert "CClass(practice" in lines[definition["line"] - 1]


def test_code_impacts_with_levels_and_statements(client: TestClient, corpus_dir: Path) -> None:
    code = get(client, code_url(DP, "register_datasets"))
    impacts = {i["force"]["ident"]: i for i in code["impacts"]}
    assert impacts["security"]["level"]["notation"] == "+"
    assert impacts["security"]["level"]["iri"] == MK + "Positive"
    assert impacts["discoverability"]["level"]["notation"] == "++"
    assert impacts["discoverability"]["level"]["iri"] == MK + "VeryPositive"
    lines = (corpus_dir / DP / "s_1.md").read_text("utf-8").splitlines()
    for impact in impacts.values():
        assert impact["solution"]["ident"] == "register_datasets"
        assert [s["id"] for s in impact["sources"]] == ["s1"]
        (statement,) = impact["statements"]
        assert statement["file"]["path"] == f"{DP}/s_1.md"
        # the statement's line is the force's entry: `security: positive},`
        level = impact["iri"].rsplit("/", 1)[-1]
        assert f"{impact['force']['ident']}: {level}" in lines[statement["line"] - 1]
    # the other end sees the same impact
    security = get(client, impacts["security"]["force"]["url"])
    assert impacts["security"]["iri"] in {i["iri"] for i in security["impacted_by"]}
    assert {o["decision"]["ident"] for o in code["option_of"]} == {
        "discoverable_data_products_decision"
    }
    (dependency,) = code["depends_on"]
    assert dependency["required"]["ident"] == "service_locator"
    assert dependency["dependency_kind"]["label"] == "uses"


def test_decision_lists_its_options(client: TestClient) -> None:
    decision = get(client, code_url(DP, "data_product_type_decision"))
    assert decision["kind"] == "decision"
    options = {o["option"]["ident"]: o for o in decision["options"]}
    assert {"raw_data_as_data_product", "derived_data_as_data_product"} <= set(options)
    raw = options["raw_data_as_data_product"]
    assert raw["option_name"] == "Use raw data from the data product"
    assert raw["decision"]["ident"] == "data_product_type_decision"
    assert raw["sources"]
    assert raw["statements"][0]["line"] > 0


def test_unresolved_code_names_the_closest_defined(client: TestClient) -> None:
    code = get(client, code_url(DP, "ci_cd_proces"))
    assert code["kind"] == "unresolved"
    assert code["label"] is None
    assert code["definitions"] == []
    assert code["closest_defined"]["ident"] == "ci_cd_process"
    assert code["closest_defined"]["kind"] == "practice"
    assert get(client, code["closest_defined"]["url"])["ident"] == "ci_cd_process"
    assert code["sources"]


def test_items_name_iris_the_store_holds(client: TestClient, snapshot: Snapshot) -> None:
    ident = ox.NamedNode(DCTERMS.identifier)
    for item in get(client, "/api/codes?limit=500")["items"]:
        graph = ox.NamedNode(BASE + item["collection"])
        quad = ox.Quad(ox.NamedNode(item["iri"]), ident, ox.Literal(item["ident"]), graph)
        assert quad in snapshot.store
        assert item["href"] == "/meshkg/id/" + item["iri"][len(BASE) :]


# --- paging, filters, sorting ----------------------------------------------------------------


def test_pages_follow_each_other_to_the_end(client: TestClient) -> None:
    first = get(client, "/api/codes?limit=40")
    assert (first["total"], first["limit"], first["offset"]) == (303, 40, 0)
    assert parse_qs(urlsplit(first["next"]).query)["offset"] == ["40"]
    items = every(client, "/api/codes?limit=40")
    assert len(items) == 303
    assert len({i["iri"] for i in items}) == 303
    assert items == get(client, "/api/codes?limit=500")["items"]
    last = get(client, "/api/codes?limit=40&offset=280")
    assert len(last["items"]) == 23
    assert last["next"] is None


def test_kept_list_items_are_each_host_s_own(snapshot: Snapshot) -> None:
    """List items are written once per host and kept: what another host gets names its own
    URLs, a repeated page is the same, and the bodies equal those written afresh."""
    fresh = "Cache-Control"  # past the answer cache, to the route and its kept items
    with (
        TestClient(create_app(snapshot, Settings(trusted_hosts=TRUSTED))) as kept,
        TestClient(create_app(snapshot, Settings(cache_mb=0, trusted_hosts=TRUSTED))) as unkept,
    ):
        for url in ("/api/sources?limit=50", "/api/codes?limit=50&sort=sources&order=desc"):
            before = get(kept, "/info")["item_cache"]
            first = get(kept, url, **{fresh: "no-cache"})
            after = get(kept, "/info")["item_cache"]
            assert after["misses"] - before["misses"] == 50
            again = get(kept, url, **{fresh: "no-cache"})
            assert get(kept, "/info")["item_cache"]["hits"] - after["hits"] == 50
            assert again == first
            assert first == get(unkept, url, **{fresh: "no-cache"})
            other = get(kept, url, **{fresh: "no-cache", "Host": "mirror.example:8080"})
            assert [i["url"].split("/api/")[0] for i in other["items"]] == [
                "http://mirror.example:8080"
            ] * 50
            assert [i["url"].split("/api/")[1] for i in other["items"]] == [
                i["url"].split("/api/")[1] for i in first["items"]
            ]
            forged = get(kept, url, **{fresh: "no-cache", "Host": "evil.example"})
            assert [i["url"] for i in forged["items"]] == [
                "/api/" + i["url"].split("/api/")[1] for i in first["items"]
            ]  # a host nobody trusts gets root-relative links, never its own name
            if forged["next"] is not None:
                assert forged["next"].startswith("/api/")
            as_ld = get(kept, url, Accept=LD, **{fresh: "no-cache"})
            assert as_ld["items"] == first["items"]
        assert get(unkept, "/info")["item_cache"]["entries"] == 0


def test_offset_beyond_the_end_is_an_empty_page(client: TestClient) -> None:
    page = get(client, "/api/sources?offset=1000")
    assert page == {"items": [], "total": 76, "limit": 50, "offset": 1000, "next": None}
    largest = 2**53 - 1
    page = get(client, f"/api/codes?offset={largest}")
    assert (page["items"], page["offset"]) == ([], largest)


def test_lists_are_deterministic(client: TestClient) -> None:
    assert get(client, "/api/sources") == get(client, "/api/sources")
    assert get(client, "/api/search?q=data") == get(client, "/api/search?q=data")


def test_sources_sort_by_id_naturally_and_reverse(client: TestClient) -> None:
    ids = [s["id"] for s in every(client, f"/api/sources?collection={SS}&limit=500")]
    assert ids.index("s2") < ids.index("s10")
    backwards = every(client, f"/api/sources?collection={SS}&order=desc&limit=500")
    assert [s["id"] for s in backwards] == ids[::-1]
    titles = [
        s["title"].casefold()
        for s in get(client, f"/api/sources?collection={SS}&sort=title&limit=500")["items"]
    ]
    assert titles == sorted(titles)


def test_codes_sort_by_sources_and_label(client: TestClient) -> None:
    counts = [c["source_count"] for c in get(client, "/api/codes?sort=sources&order=desc")["items"]]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > 10
    labels = [
        (c["label"] or c["ident"]).casefold()
        for c in get(client, f"/api/patterns?collection={SS}&limit=500")["items"]
    ]
    assert labels == sorted(labels)
    idents = [c["ident"] for c in get(client, "/api/forces?sort=ident&limit=500")["items"]]
    assert idents == sorted(idents)


def test_source_filters(client: TestClient) -> None:
    found = get(client, "/api/sources?q=SNOWFLAKE")["items"]
    assert (SS, "s6") in {(s["collection"], s["id"]) for s in found}
    assert all("snowflake" in s["title"].casefold() for s in found)
    interviews = get(client, "/api/sources?type=Interview")
    assert interviews["total"] == 2
    assert {s["source_type"]["iri"] for s in interviews["items"]} == {MK + "InterviewTranscript"}
    by_id = get(client, f"/api/sources?collection={DP}&q=p")["items"]
    assert {"p1", "p2", "p3", "p4", "p5"} <= {s["id"] for s in by_id}


def test_source_type_names_are_the_ontology_s(snapshot: Snapshot) -> None:
    """The API spells the types out for its OpenAPI; they must stay the vocabulary's."""
    names = set(get_args(SourceTypeName))
    assert names == set(SOURCE_TYPE_CONCEPT)
    for name in names:
        found = lookup.concept(lookup.tables(snapshot), "SourceTypes", name)
        assert found is not None
        assert found.iri == str(SOURCE_TYPE_CONCEPT[name])


def test_code_filters(client: TestClient) -> None:
    found = get(client, "/api/codes?q=BACKUPS&limit=500")["items"]
    assert {c["ident"] for c in found} >= {"in_place_consumption", "restore_data_without_backups"}
    by_ident = get(client, f"/api/codes?q=ci_cd&collection={DP}")["items"]
    assert {"ci_cd_proces", "ci_cd_process"} <= {c["ident"] for c in by_ident}
    assert get(client, f"/api/decisions?collection={SS}")["total"] == 0


# --- search ----------------------------------------------------------------------------------


def test_search_finds_codes_then_quotes(client: TestClient) -> None:
    page = get(client, "/api/search?q=backups&limit=500")
    kinds = [hit["type"] for hit in page["items"]]
    assert kinds == sorted(kinds)  # codes first
    codes = {hit["ident"] for hit in page["items"] if hit["type"] == "code"}
    assert "in_place_consumption" in codes
    quotes = [hit for hit in page["items"] if hit["type"] == "quote"]
    s6 = [q for q in quotes if q["source"]["id"] == "s6" and q["collection"] == SS]
    assert s6
    assert all("backups" in q["snippet"].casefold() for q in quotes)
    assert isinstance(s6[0]["line"], int)
    assert s6[0]["url"].endswith(f"/api/collections/{SS}/sources/s6")
    assert get(client, "/api/search?q=BaCkUpS&limit=500") == page


def test_search_within_a_collection_pages(client: TestClient) -> None:
    everywhere = get(client, "/api/search?q=data&limit=5")
    within = get(client, f"/api/search?q=data&collection={DP}&limit=5")
    assert 0 < within["total"] < everywhere["total"]
    assert within["next"] is not None
    rest = get(client, f"/api/search?q=data&collection={DP}&limit=500&offset=5")
    assert len(rest["items"]) == min(500, within["total"] - 5)
    assert {hit["collection"] for hit in within["items"] + rest["items"]} == {DP}


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/collections/nowhere",
        "/api/sources?collection=nowhere",
        "/api/search?q=x&collection=nowhere",
        f"/api/collections/{SS}/sources/s999",
        "/api/collections/nowhere/sources/s6",
        code_url(DP, "no_such_code"),
        code_url(SS, "register_datasets"),  # a code of the other study
        f"/collections/{SS}/sources/s6",  # the detail routes live under /api only
        code_url(DP, "data_catalog").removeprefix("/api"),
    ],
)
def test_unknown_resources_are_404(client: TestClient, url: str) -> None:
    body = get(client, url, 404)
    assert body["error"]["code"] == "not-found"
    assert body["error"]["status"] == 404


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/sources?limit=0", "limit"),
        ("/api/sources?limit=501", "limit"),
        ("/api/codes?offset=-1", "offset"),
        ("/api/sources?offset=9007199254740992", "offset"),  # beyond what JSON keeps exactly
        ("/api/search?q=data&offset=126834346843098392297472", "offset"),
        ("/api/codes?kind=nonsense", "kind"),
        ("/api/sources?order=sideways", "order"),
        ("/api/sources?sort=colour", "sort"),
        ("/api/codes?sort=id", "sort"),
        ("/api/sources?type=Podcast", "type"),
        ("/api/search", "q"),
        ("/api/search?q=", "q"),
        ("/api/search?q=" + "x" * 201, "q"),
        ("/api/forces?limit=ten", "limit"),
    ],
)
def test_bad_parameters_are_422(client: TestClient, url: str, parameter: str) -> None:
    body = get(client, url, 422)
    assert body["error"]["code"] == "invalid-parameter"
    assert body["error"]["message"].startswith(parameter)


def test_nothing_acceptable_is_406(client: TestClient) -> None:
    body = get(client, "/api/sources", 406, Accept="text/html")
    assert body["error"]["code"] == "not-acceptable"


# --- JSON-LD ---------------------------------------------------------------------------------


def test_json_is_the_default_and_responses_vary_on_accept(client: TestClient) -> None:
    for accept in (None, "*/*", "application/json", "application/*"):
        headers = {"Accept": accept} if accept else {}
        response = client.get("/api/collections", headers=headers)
        assert response.headers["content-type"] == "application/json"
        assert "Accept" in response.headers["vary"]
        assert "@context" not in response.json()
    preferred = client.get("/api/collections", headers={"Accept": f"{LD}, application/json;q=0.5"})
    assert preferred.headers["content-type"] == LD
    assert "Accept" in preferred.headers["vary"]


def test_context_is_published_versioned_and_cacheable(client: TestClient) -> None:
    response = client.get("/api/context/v1.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"] == LD
    cache = response.headers["cache-control"]
    assert "public" in cache
    assert int(cache.split("max-age=")[1].split(",")[0]) >= 86400 * 30
    assert response.content == CONTEXT_FILE.read_bytes()
    assert response.json()["@context"]["iri"] == "@id"
    again = client.get(
        "/api/context/v1.jsonld", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


def _keys(value: object, terms: dict[str, Any]) -> Iterator[str]:
    """The keys of a JSON body, not descending under keys the context maps to null."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            if not (key in terms and terms[key] is None):
                yield from _keys(inner, terms)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner, terms)


def test_context_defines_every_key_the_api_sends(client: TestClient) -> None:
    """No key is left to chance: each maps to a term, or to null where it is not data."""
    terms = context(client)["@context"]
    urls = [
        "/api",
        "/api/collections",
        "/api/sources?limit=500",
        f"/api/collections/{SS}/sources/s6",
        "/api/codes?limit=500",
        code_url(DP, "register_datasets"),
        code_url(DP, "data_product_type_decision"),
        code_url(DP, "ci_cd_proces"),
        code_url(DP, "security"),
        "/api/search?q=backups",
    ]
    seen = {key for url in urls for key in _keys(get(client, url), terms)}
    assert seen - set(terms) == set()
    assert {"iri", "type", "kind", "quotes", "impacts", "items"} <= seen


def test_source_as_json_ld_is_the_graph_s_own_terms(client: TestClient) -> None:
    g = as_rdf(client, f"/api/collections/{SS}/sources/s6")
    s6 = URIRef(BASE + SS + "/source/s6")
    assert (s6, RDF.type, URIRef(MK + "Source")) in g
    assert (s6, DCTERMS.identifier, Literal("s6")) in g
    assert (s6, URIRef(MK + "tinyUrl"), Literal("https://tinyurl.com/self-serve-platform-s5")) in g
    header = g.value(s6, URIRef(MK + "headerRecord"))
    assert header == URIRef(str(s6) + "/header")
    assert (header, URIRef(MK + "line"), Literal(1)) in g
    assert (
        header,
        URIRef(MK + "tinyUrl"),
        Literal("https://tinyurl.com/self-serve-plaform-s7"),
    ) in g
    quote = URIRef(str(s6) + "/quote/1")
    assert (quote, DCTERMS.isPartOf, s6) in g
    assert (quote, RDF.type, URIRef(MK + "Quote")) in g
    code = URIRef(BASE + SS + "/code/in_place_consumption")
    assert (code, URIRef(MK + "evidenceSource"), s6) in g
    assert (code, RDF.type, URIRef(MK + "Practice")) in g


def test_code_as_json_ld_states_its_impacts(client: TestClient, snapshot: Snapshot) -> None:
    g = as_rdf(client, code_url(DP, "register_datasets"))
    code = URIRef(BASE + DP + "/code/register_datasets")
    impact = URIRef(BASE + DP + "/impact/register_datasets/discoverability/very_positive")
    assert (impact, URIRef(MK + "solution"), code) in g
    assert (impact, URIRef(MK + "impactLevel"), URIRef(MK + "VeryPositive")) in g
    assert (URIRef(MK + "VeryPositive"), SKOS.notation, Literal("++")) in g
    assert (code, SKOS.prefLabel, Literal("Register datasets")) in g
    definition = g.value(code, URIRef(MK + "definition"))
    assert (definition, URIRef(MK + "label"), Literal("Register datasets")) in g
    assert (definition, URIRef(MK + "declaredKind"), URIRef(MK + "Practice")) in g
    # every link between data IRIs the JSON-LD states is one the store holds (quotes and
    # definitions name their seed file directly, the store through their source)
    seed_file = URIRef(MK + "seedFile")
    for s, p, o in g:
        if str(s).startswith(BASE) and str(o).startswith(BASE) and p != seed_file:
            pattern = (ox.NamedNode(str(s)), ox.NamedNode(str(p)), ox.NamedNode(str(o)))
            assert next(snapshot.store.quads_for_pattern(*pattern), None), (s, p, o)


def test_list_as_json_ld_holds_its_members(client: TestClient) -> None:
    g = as_rdf(client, f"/api/forces?collection={DP}&limit=500")
    hydra = "http://www.w3.org/ns/hydra/core#"
    members = set(g.objects(None, URIRef(hydra + "member")))
    assert len(members) == 49
    assert all((m, RDF.type, URIRef(MK + "Force")) in g for m in members)
    assert (None, URIRef(hydra + "totalItems"), Literal(49)) in g


# --- fuzzing the real server ---------------------------------------------------------------------


def test_every_documented_operation_has_its_own_id(client: TestClient) -> None:
    """OpenAPI requires unique operation ids; generated clients name their methods by them."""
    paths = get(client, "/openapi.json")["paths"]
    ids = [op["operationId"] for path in paths.values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert set(paths["/sparql"]) == {"get", "post"}
    assert set(paths["/dumps/{file}"]) == {"get", "head"}


@pytest.mark.timeout(150)
def test_schemathesis_finds_no_server_error(corpus_server: str, tmp_path: Path) -> None:
    """Generated requests to every /api operation: whatever they send, never a 5xx."""
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert command is not None, "schemathesis is a test dependency (pip install -e '.[test]')"
    result = subprocess.run(
        [
            command,
            "run",
            corpus_server + "/openapi.json",
            "--include-path-regex",
            "^/api",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--generation-database",
            "none",
            "--no-color",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "13 selected" in result.stdout


@pytest.mark.parametrize(
    "q",
    [
        "catalog",  # a word: its quotes come straight from the index
        "atalo",  # inside words
        "Data Product",  # two words: candidates checked against the text
        "self-serve",
        "data, ",
        "’s",  # punctuation around a run
        "ß",  # casefolds to "ss"
        "STRASSE",
        "e",
        "mesh",
        "zzzz-none",
        "-",  # no word characters: a scan of all the text
        "  ",
        "\x00",
    ],
)
@pytest.mark.parametrize("collection", [None, "data-as-a-product"])
def test_search_finds_what_a_quote_by_quote_scan_finds(
    snapshot: Snapshot, q: str, collection: str | None
) -> None:
    """The word index answers as testing each quote on its own would, positions included."""
    t = lookup.tables(snapshot)
    needle = q.casefold()
    expected_quotes = [
        (quote.iri, quote.text.casefold().find(needle))
        for quote in t.quotes
        if (collection is None or quote.collection == collection)
        and "\x00" not in needle
        and needle in quote.text.casefold()
    ]
    expected_codes = {
        c.iri
        for c in t.codes
        if (collection is None or c.collection == collection)
        and "\x00" not in needle
        and any(needle in x.casefold() for x in (c.ident, c.label or "", *c.alt_labels))
    }
    found = lookup.search(t, q, collection)
    hits = lookup.hits(t, found, 0, len(found))
    assert len(found) == len(expected_quotes) + len(expected_codes)
    assert [(h.quote.iri, h.at) for h in hits if h.quote] == expected_quotes
    assert {h.code.iri for h in hits if h.code} == expected_codes
    if q == "e":
        assert len(expected_quotes) > 1000  # the scan goes through the whole text


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_search_matches_a_scan_for_any_piece_of_quote_text(snapshot: Snapshot, data: Any) -> None:
    """Any slice of any quote, in any case, across word edges: the index misses nothing."""
    t = lookup.tables(snapshot)
    quote = data.draw(st.sampled_from(t.quotes))
    start = data.draw(st.integers(0, len(quote.text) - 1))
    piece = quote.text[start : start + data.draw(st.integers(1, 24))]
    q = piece.upper() if data.draw(st.booleans()) else piece
    needle = q.casefold()
    found = lookup.search(t, q, None)
    expected = [x.iri for x in t.quotes if needle in x.text.casefold()]
    if q == piece:
        assert quote.iri in expected
    assert [h.quote.iri for h in lookup.hits(t, found, 0, len(found)) if h.quote] == expected


def _conforms(model: type[BaseModel], body: Any) -> None:
    """The body is exactly what the published model describes: no field missing or extra."""
    parsed = model.model_validate(body)
    assert json.loads(parsed.model_dump_json()) == body


def test_every_body_is_what_the_published_models_describe(client: TestClient) -> None:
    """Bodies are built as plain data for speed; the models in /openapi.json stay the contract."""
    _conforms(api.Index, get(client, "/api"))
    _conforms(api.Page[api.CollectionOut], get(client, "/api/collections"))
    for collection in every(client, "/api/collections"):
        _conforms(api.CollectionOut, get(client, collection["url"]))
    _conforms(api.Page[api.SourceItem], get(client, "/api/sources?limit=500"))
    for source in every(client, "/api/sources"):
        _conforms(api.SourceDetail, get(client, source["url"]))
    _conforms(api.Page[api.CodeItem], get(client, "/api/codes?limit=500&kind=unresolved"))
    for code in every(client, "/api/codes"):
        _conforms(api.CodeDetail, get(client, code["url"]))
    for q in ("data", "catalog", "-"):
        _conforms(api.Page[api.SearchHit], get(client, f"/api/search?q={q}&limit=500"))
    ld = get(client, "/api/codes?limit=3", Accept="application/ld+json")
    assert ld.pop("@context").endswith("/api/context/v1.jsonld")
    _conforms(api.Page[api.CodeItem], ld)
