"""The JSON API under ``/api``: facts, paging, errors, JSON-LD, fuzzing.

The service runs as a real ``meshkg serve`` over two collections: the study written for the
tests (``tests/fixtures/study``, where every value asserted here can be read in the notes) and
the small ``platform`` collection beside it, so that every collection filter has something to
leave out. If the API loses or invents data, these fail. A few tests about the service's own
parts (the kept list items, the search index) use the application or its tables in-process.
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

import httpx
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from app.api import bodies
from app.api.app import create_app
from app.config import Settings
from app.model import SourceTypeName
from app.pipeline import build, store
from app.read import lookup
from app.store.snapshot import Snapshot
from app.vocab import SOURCE_TYPE_CONCEPT
from tests.conftest import FIXTURES
from tests.server import running

with warnings.catch_warnings():
    # starlette asks for httpx2 at import; the tests' httpx client works the same
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

BASE = "https://w3id.org/meshkg/id/"
MK = "https://w3id.org/meshkg/ontology#"
STUDY = "study"
OTHER = "platform"
PLATFORM = FIXTURES / "notes" / OTHER
LD = "application/ld+json"
TRUSTED = "testserver,mirror.example:8080"  # hosts the in-process service writes absolute URLs for

# The study's impacts, one of each level: (solution, force, level, notation, concept, source).
LEVELS = [
    ("schema_registry", "evolvability", "very_positive", "++", "VeryPositive", "s1"),
    ("transactional_outbox", "reliability", "positive", "+", "Positive", "s3"),
    ("dead_letter_queue", "latency", "neutral", "o", "Neutral", "s2"),
    ("retry_with_backoff", "latency", "negative", "-", "Negative", "s4"),
    ("exactly_once", "latency", "very_negative", "--", "VeryNegative", "p1"),
    (
        "retry_with_backoff",
        "reliability",
        "positive_and_negative",
        "+/-",
        "PositiveAndNegative",
        "s4",
    ),
]


@pytest.fixture(scope="module")
def server(study_dir: Path) -> Iterator[str]:
    """``meshkg serve`` over the study and a second collection, on 127.0.0.1."""
    with running([study_dir, PLATFORM], "--query-timeout", "3") as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def snapshot(study_dir: Path) -> Snapshot:
    """The same two collections built in this process: the store the service holds."""
    return store(build([study_dir, PLATFORM]))


def get(client: httpx.Client | TestClient, url: str, status: int = 200, **headers: str) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def every(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    """All items of a list, following ``next`` from page to page."""
    items: list[dict[str, Any]] = []
    following: str | None = url
    for _ in range(100):  # far more pages than any list here has
        if following is None:
            return items
        page = get(client, following)
        items += page["items"]
        following = page["next"]
    raise AssertionError(f"{url}: the pages do not end")


CURRENT_CONTEXT = f"/api/context/v{bodies.CONTEXT_VERSION}.jsonld"


def context_url(server: str) -> str:
    return server + CURRENT_CONTEXT


def context(client: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = get(client, CURRENT_CONTEXT)
    return body


def as_rdf(client: httpx.Client, server: str, url: str) -> Graph:
    """The JSON-LD variant parsed with the context given inline: rdflib fetches nothing."""
    response = client.get(url, headers={"Accept": LD})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(LD)
    doc = response.json()
    assert doc["@context"] == context_url(server)
    doc["@context"] = context(client)["@context"]
    return Graph().parse(data=json.dumps(doc), format="json-ld", base=server + url)


def code_url(collection: str, ident: str) -> str:
    return f"/api/collections/{collection}/codes/{ident}"


def note_lines(study_dir: Path, name: str) -> list[str]:
    return (study_dir / name).read_text("utf-8").splitlines()


def note_of(source: str) -> str:
    """The file of a study source: s10 is ``s_10.md``, p1 ``p_1.md``."""
    return f"{source[0]}_{source[1:]}.md"


# --- collections -----------------------------------------------------------------------------


def test_index_links_every_list_and_the_context(client: httpx.Client, server: str) -> None:
    links = get(client, "/api")["links"]
    for name in ("collections", "sources", "codes", "practices", "patterns", "forces", "decisions"):
        assert links[name].startswith(server + "/api/")
        assert get(client, links[name])["total"] > 0
    assert links["context"] == context_url(server)


def test_collections_count_the_codebooks(client: httpx.Client, server: str) -> None:
    page = get(client, "/api/collections")
    assert page["total"] == 2
    by_name = {c["name"]: c for c in page["items"]}
    assert by_name[STUDY]["counts"] == {
        "sources": 7,
        "practice": 5,
        "pattern": 4,
        "force": 6,
        "decision": 2,
        "unresolved": 1,
    }
    assert by_name[OTHER]["counts"]["sources"] == 3
    one = get(client, f"/api/collections/{STUDY}")
    assert one == by_name[STUDY]
    assert one["iri"] == BASE + STUDY
    assert one["href"] == "/meshkg/id/" + STUDY
    assert one["codebook"] == BASE + STUDY + "/codebook"
    # collection.toml names the study; a collection without one is shown by its folder's name
    assert one["title"] == "Event streams between teams"
    assert one["description"].startswith("How teams that share event streams")
    assert (by_name[OTHER]["title"], by_name[OTHER]["description"]) == (OTHER, None)
    assert one["links"]["sources"] == f"{server}/api/sources?collection={STUDY}"
    # the count of triples is the graph's, as the SPARQL endpoint counts it
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BASE + STUDY}> {{ ?s ?p ?o }} }}"
    answer = client.get("/sparql", params={"query": query})
    assert answer.status_code == 200, answer.text
    assert one["triples"] == int(answer.json()["results"]["bindings"][0]["n"]["value"]) > 500


@pytest.mark.parametrize(
    ("route", "kind", "total"),
    [
        ("practices", "practice", 5),
        ("patterns", "pattern", 4),
        ("forces", "force", 6),
        ("decisions", "decision", 2),
    ],
)
def test_each_kind_has_its_list(client: httpx.Client, route: str, kind: str, total: int) -> None:
    page = get(client, f"/api/{route}?collection={STUDY}&limit=500")
    assert page["total"] == total == len(page["items"])
    assert {c["kind"] for c in page["items"]} == {kind}
    same = get(client, f"/api/codes?collection={STUDY}&kind={kind}&limit=500")
    assert same["items"] == page["items"]


def test_sources_per_collection(client: httpx.Client) -> None:
    assert get(client, f"/api/sources?collection={STUDY}")["total"] == 7
    assert get(client, f"/api/sources?collection={OTHER}")["total"] == 3
    assert get(client, "/api/sources")["total"] == 10


# --- a source --------------------------------------------------------------------------------


def test_source_shows_both_records_and_where_they_disagree(
    client: httpx.Client, server: str
) -> None:
    """s2's header names another source's short link and calls it an example; its trace not."""
    s2 = get(client, f"/api/collections/{STUDY}/sources/s2")
    assert s2["iri"] == BASE + STUDY + "/source/s2"
    assert s2["href"] == "/meshkg/id/" + STUDY + "/source/s2"
    assert s2["url"] == f"{server}/api/collections/{STUDY}/sources/s2"
    assert s2["file"]["path"] == f"{STUDY}/s_2.md"
    assert s2["title"] == "What to do with a poison message"
    assert s2["source_type"]["label"] == "Blog Post"
    assert s2["author_type"]["label"] == "Practitioner"
    assert s2["interview"] is False
    header, trace = s2["header"], s2["trace"]
    assert header["line"] == 1
    assert trace["line"] == 23
    assert trace["variable"] == "s2"
    disagreements = {d["field"]: d for d in s2["disagreements"]}
    assert set(disagreements) == {"tiny_url", "example"}
    tiny = disagreements["tiny_url"]
    assert tiny["header"] == header["tiny_url"] == "https://tinyurl.com/event-streams-s3"
    assert tiny["trace"] == trace["tiny_url"] == "https://tinyurl.com/event-streams-s2"
    assert (tiny["header_line"], tiny["trace_line"]) == (1, 23)
    example = disagreements["example"]
    assert (example["header"], example["trace"]) == (True, False)
    # the source shows the trace's values, the header's stay visible
    assert s2["tiny_url"] == trace["tiny_url"]
    assert s2["example"] is False
    assert header["example"] is True
    assert header["source_code"] is False


def test_each_source_type_and_author_type_is_shown(client: httpx.Client) -> None:
    shown = {
        s["id"]: (s["source_type"]["label"], s["author_type"]["label"], s["interview"])
        for s in every(client, f"/api/sources?collection={STUDY}")
    }
    assert shown == {
        "p1": ("Interview", "Practitioner", True),
        "p2": ("Interview", "Practitioner", True),
        "s1": ("Practitioner Audience Article", "Practitioner", False),
        "s2": ("Blog Post", "Practitioner", False),
        "s3": ("Tool Documentation", "Mixed", False),
        "s4": ("Discussion Forum Post", "Unknown", False),
        "s10": ("Slides", "Academic", False),
    }


def test_source_lists_its_quotes_and_codes(client: httpx.Client, study_dir: Path) -> None:
    s2 = get(client, f"/api/collections/{STUDY}/sources/s2")
    quotes = s2["quotes"]
    assert len(quotes) == s2["quote_count"] == 3
    assert [q["position"] for q in quotes] == [1, 2, 3]
    lines = note_lines(study_dir, "s_2.md")
    for q in quotes:
        assert q["iri"] == f"{s2['iri']}/quote/{q['position']}"
        assert q["text"].splitlines()[0][:40] in lines[q["line"] - 1]
        assert q["end_line"] is None or q["end_line"] > q["line"]
    # the second quote runs over two lines
    assert (quotes[1]["line"], quotes[1]["end_line"]) == (38, 39)
    assert quotes[1]["text"].splitlines()[1] == lines[38]
    idents = {c["ident"]: c for c in s2["codes"]}
    assert len(idents) == s2["code_count"] == 4
    assert {i: c["kind"] for i, c in idents.items()} == {
        "dead_letter_queue": "pattern",
        "latency": "force",
        "reliability": "force",
        "schema_registry": "practice",  # defined in s1, evidenced here too
    }
    assert idents["dead_letter_queue"]["url"].endswith(code_url(STUDY, "dead_letter_queue"))


def test_source_list_items_carry_the_shown_values(client: httpx.Client) -> None:
    items = every(client, f"/api/sources?collection={STUDY}&limit=3")
    assert len(items) == 7
    s2 = next(s for s in items if s["id"] == "s2")
    detail = get(client, s2["url"])
    assert {k: detail[k] for k in s2} == s2


# --- a code ----------------------------------------------------------------------------------


def test_code_evidence_names_sources_and_their_quotes(
    client: httpx.Client, study_dir: Path
) -> None:
    """A code is evidenced by the quotes right before the block that codes it, in each source."""
    code = get(client, code_url(STUDY, "dead_letter_queue"))
    assert code["kind"] == "pattern"
    assert code["label"] == "Dead Letter Queue"
    assert code["source_count"] == len(code["sources"]) == 3
    by_id = {s["id"]: s for s in code["sources"]}
    assert {i: [q["position"] for q in s["quotes"]] for i, s in by_id.items()} == {
        "s2": [1, 2],  # before the block that defines it
        "s4": [3],  # before the block that names it again
        "s10": [1, 2],
    }
    for ident, source in by_id.items():
        lines = note_lines(study_dir, note_of(ident))
        for q in source["quotes"]:
            assert q["file"]["path"] == f"{STUDY}/{note_of(ident)}"
            assert q["text"].splitlines()[0][:40] in lines[q["line"] - 1]
    (definition,) = code["definitions"]
    assert definition["file"]["path"] == f"{STUDY}/s_2.md"
    assert definition["in_source"]["id"] == "s2"
    assert definition["declared_kind"] == "pattern"
    assert definition["in_string"] is False
    assert definition["label"] == "Dead Letter Queue"
    defined = note_lines(study_dir, "s_2.md")[definition["line"] - 1]
    assert defined == 'dead_letter_queue = CClass(pattern, "Dead Letter Queue")'


def test_a_code_shared_by_sources_counts_each_once(client: httpx.Client) -> None:
    code = get(client, code_url(STUDY, "schema_registry"))
    assert [s["id"] for s in code["sources"]] == ["p1", "p2", "s1", "s2"]
    assert code["source_count"] == 4
    ranked = get(client, f"/api/codes?collection={STUDY}&sort=sources&order=desc&limit=5")
    top = [(c["ident"], c["source_count"]) for c in ranked["items"]]
    # a source stating an impact is evidence of both codes it names: four codes tie at four
    assert set(top[:4]) == {
        ("schema_registry", 4),
        ("complexity", 4),
        ("reliability", 4),
        ("latency", 4),
    }
    assert top[4][1] == 3


@pytest.mark.parametrize("written", LEVELS, ids=[level for _, _, level, *_ in LEVELS])
def test_impacts_of_every_level(
    client: httpx.Client, study_dir: Path, written: tuple[str, str, str, str, str, str]
) -> None:
    """Each of the six levels, as the note writes it, with its notation and concept."""
    solution, force, level, notation, concept, source = written
    code = get(client, code_url(STUDY, solution))
    impacts = {i["force"]["ident"]: i for i in code["impacts"]}
    impact = impacts[force]
    assert impact["iri"] == f"{BASE}{STUDY}/impact/{solution}/{force}/{level}"
    assert impact["level"]["notation"] == notation
    assert impact["level"]["iri"] == MK + concept
    assert impact["solution"]["ident"] == solution
    assert impact["set_aside"] is False
    assert [s["id"] for s in impact["sources"]] == [source]
    (statement,) = impact["statements"]
    assert statement["file"]["path"] == f"{STUDY}/{note_of(source)}"
    # the statement's line is the force's entry: `latency: negative}})`
    assert f"{force}: {level}" in note_lines(study_dir, note_of(source))[statement["line"] - 1]
    # the other end sees the same impact
    other_end = get(client, impact["force"]["url"])
    assert impact["iri"] in {i["iri"] for i in other_end["impacted_by"]}


def test_code_impacts_options_and_dependencies(client: httpx.Client, study_dir: Path) -> None:
    code = get(client, code_url(STUDY, "at_least_once"))
    impacts = {i["force"]["ident"]: i["level"]["notation"] for i in code["impacts"]}
    assert impacts == {"latency": "+", "reliability": "+"}
    (option,) = code["option_of"]
    assert option["decision"]["ident"] == "delivery_guarantee_decision"
    assert option["option_name"] == "Deliver at least once and deduplicate"
    (dependency,) = code["depends_on"]
    assert dependency["dependent"]["ident"] == "at_least_once"
    assert dependency["required"]["ident"] == "idempotent_consumer"
    assert dependency["dependency_kind"]["iri"] == MK + "Requires"
    assert dependency["role"] == "to"
    assert [s["id"] for s in dependency["sources"]] == ["p1"]
    (statement,) = dependency["statements"]
    line = note_lines(study_dir, "p_1.md")[statement["line"] - 1]
    assert line.startswith("at_least_once.add_links(idempotent_consumer")
    assert code["required_by"] == []
    # the required end lists both solutions that require it, and what it uses itself
    required = get(client, code_url(STUDY, "idempotent_consumer"))
    assert {d["dependent"]["ident"] for d in required["required_by"]} == {
        "at_least_once",
        "retry_with_backoff",
    }
    assert {d["dependency_kind"]["iri"] for d in required["required_by"]} == {MK + "Requires"}
    (uses,) = required["depends_on"]
    assert uses["required"]["ident"] == "dead_letter_queue"
    assert uses["dependency_kind"]["iri"] == MK + "Uses"
    assert [s["id"] for s in uses["sources"]] == ["s10"]


def test_decision_lists_its_options(client: httpx.Client, study_dir: Path) -> None:
    decision = get(client, code_url(STUDY, "delivery_guarantee_decision"))
    assert decision["kind"] == "decision"
    assert decision["label"] == "Which delivery guarantee do consumers get?"
    options = {o["option"]["ident"]: o for o in decision["options"]}
    assert set(options) == {"at_least_once", "exactly_once"}
    assert options["exactly_once"]["option_name"] == "Use the broker's transactions"
    chosen = options["at_least_once"]
    assert chosen["option_name"] == "Deliver at least once and deduplicate"
    assert chosen["decision"]["ident"] == "delivery_guarantee_decision"
    assert [s["id"] for s in chosen["sources"]] == ["p1"]
    line = note_lines(study_dir, "p_1.md")[chosen["statements"][0]["line"] - 1]
    assert line.startswith("add_decision_option_link(delivery_guarantee_decision, at_least_once")
    evolve = get(client, code_url(STUDY, "schema_evolution_decision"))
    assert {o["option"]["ident"] for o in evolve["options"]} == {
        "schema_registry",
        "consumer_driven_contracts",
    }


def test_unresolved_code_names_the_closest_defined(client: httpx.Client) -> None:
    code = get(client, code_url(STUDY, "schema_registy"))
    assert code["kind"] == "unresolved"
    assert code["label"] is None
    assert code["definitions"] == []
    assert code["closest_defined"]["ident"] == "schema_registry"
    assert code["closest_defined"]["kind"] == "practice"
    assert get(client, code["closest_defined"]["url"])["ident"] == "schema_registry"
    assert [s["id"] for s in code["sources"]] == ["s4"]


def test_set_aside_coding_is_shown_as_such(client: httpx.Client) -> None:
    """What s3 wrote only inside a ''' string is kept, and marked as set aside."""
    code = get(client, code_url(STUDY, "event_mesh"))
    assert (code["kind"], code["label"], code["set_aside"]) == (
        "pattern",
        "Event mesh across regions",
        True,
    )
    assert [d["in_string"] for d in code["definitions"]] == [True]
    (impact,) = code["impacts"]
    assert impact["set_aside"] is True
    assert impact["force"]["ident"] == "latency"
    listed = {
        c["ident"]: c["set_aside"] for c in every(client, f"/api/patterns?collection={STUDY}")
    }
    assert listed == {
        "dead_letter_queue": False,
        "event_mesh": True,
        "idempotent_consumer": False,
        "transactional_outbox": False,
    }


def test_items_name_iris_the_store_holds(client: httpx.Client, snapshot: Snapshot) -> None:
    ident = ox.NamedNode(DCTERMS.identifier)
    items = get(client, "/api/codes?limit=500")["items"]
    assert len(items) == 31
    for item in items:
        graph = ox.NamedNode(BASE + item["collection"])
        quad = ox.Quad(ox.NamedNode(item["iri"]), ident, ox.Literal(item["ident"]), graph)
        assert quad in snapshot.store
        assert item["href"] == "/meshkg/id/" + item["iri"][len(BASE) :]


# --- paging, filters, sorting ----------------------------------------------------------------


def test_pages_follow_each_other_to_the_end(client: httpx.Client) -> None:
    """31 codes: 18 in the study, 13 in the other collection; pages of 8."""
    first = get(client, "/api/codes?limit=8")
    assert (first["total"], first["limit"], first["offset"]) == (31, 8, 0)
    assert parse_qs(urlsplit(first["next"]).query)["offset"] == ["8"]
    items = every(client, "/api/codes?limit=8")
    assert len(items) == 31
    assert len({i["iri"] for i in items}) == 31
    assert items == get(client, "/api/codes?limit=500")["items"]
    last = get(client, "/api/codes?limit=8&offset=24")
    assert len(last["items"]) == 7
    assert last["next"] is None


def test_kept_list_items_are_each_host_s_own(snapshot: Snapshot) -> None:
    """List items are written once per host and kept: what another host gets names its own
    URLs, a repeated page is the same, and the bodies equal those written afresh."""
    fresh = "Cache-Control"  # past the answer cache, to the route and its kept items
    size = 8  # fewer than either list holds, so each has a next page
    with (
        TestClient(create_app(snapshot, Settings(trusted_hosts=TRUSTED))) as kept,
        TestClient(create_app(snapshot, Settings(cache_mb=0, trusted_hosts=TRUSTED))) as unkept,
    ):
        for url in (
            f"/api/sources?limit={size}",
            f"/api/codes?limit={size}&sort=sources&order=desc",
        ):
            before = get(kept, "/info")["item_cache"]
            first = get(kept, url, **{fresh: "no-cache"})
            assert len(first["items"]) == size
            after = get(kept, "/info")["item_cache"]
            assert after["misses"] - before["misses"] == size
            again = get(kept, url, **{fresh: "no-cache"})
            assert get(kept, "/info")["item_cache"]["hits"] - after["hits"] == size
            assert again == first
            assert first == get(unkept, url, **{fresh: "no-cache"})
            other = get(kept, url, **{fresh: "no-cache", "Host": "mirror.example:8080"})
            assert [i["url"].split("/api/")[0] for i in other["items"]] == [
                "http://mirror.example:8080"
            ] * size
            assert [i["url"].split("/api/")[1] for i in other["items"]] == [
                i["url"].split("/api/")[1] for i in first["items"]
            ]
            forged = get(kept, url, **{fresh: "no-cache", "Host": "evil.example"})
            assert [i["url"] for i in forged["items"]] == [
                "/api/" + i["url"].split("/api/")[1] for i in first["items"]
            ]  # a host nobody trusts gets root-relative links, never its own name
            assert forged["next"].startswith("/api/")
            as_ld = get(kept, url, Accept=LD, **{fresh: "no-cache"})
            assert as_ld["items"] == first["items"]
        assert get(unkept, "/info")["item_cache"]["entries"] == 0


def test_offset_beyond_the_end_is_an_empty_page(client: httpx.Client) -> None:
    page = get(client, "/api/sources?offset=1000")
    assert page == {"items": [], "total": 10, "limit": 50, "offset": 1000, "next": None}
    largest = 2**53 - 1
    page = get(client, f"/api/codes?offset={largest}")
    assert (page["items"], page["offset"]) == ([], largest)


def test_lists_are_deterministic(client: httpx.Client) -> None:
    fresh = {"Cache-Control": "no-cache"}  # each answer made again, not the kept one
    for url in ("/api/sources", "/api/codes?sort=sources", "/api/search?q=the"):
        assert get(client, url, **fresh) == get(client, url, **fresh)


def test_sources_sort_by_id_naturally_and_reverse(client: httpx.Client) -> None:
    ids = [s["id"] for s in every(client, f"/api/sources?collection={STUDY}&limit=500")]
    assert ids == ["p1", "p2", "s1", "s2", "s3", "s4", "s10"]  # s10 after s4, not after s1
    backwards = every(client, f"/api/sources?collection={STUDY}&order=desc&limit=500")
    assert [s["id"] for s in backwards] == ids[::-1]
    titles = [
        s["title"]
        for s in get(client, f"/api/sources?collection={STUDY}&sort=title&limit=500")["items"]
    ]
    assert titles == sorted(titles, key=str.casefold)
    assert titles[0] == "Consumers that survive their brokers"


def test_codes_sort_by_sources_and_label(client: httpx.Client) -> None:
    counts = [c["source_count"] for c in get(client, "/api/codes?sort=sources&order=desc")["items"]]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == 4  # schema_registry, in four sources of the study
    labels = [
        (c["label"] or c["ident"]).casefold()
        for c in get(client, f"/api/forces?collection={STUDY}&limit=500")["items"]
    ]
    assert labels == sorted(labels)
    assert len(labels) == 6
    idents = [c["ident"] for c in get(client, "/api/forces?sort=ident&limit=500")["items"]]
    assert idents == sorted(idents)
    assert len(idents) == 8


def test_source_filters(client: httpx.Client) -> None:
    found = get(client, "/api/sources?q=POISON")["items"]
    assert [(s["collection"], s["id"]) for s in found] == [(STUDY, "s2")]
    interviews = get(client, "/api/sources?type=Interview")
    assert interviews["total"] == 2
    assert {s["id"] for s in interviews["items"]} == {"p1", "p2"}
    assert {s["source_type"]["iri"] for s in interviews["items"]} == {MK + "InterviewTranscript"}
    slides = get(client, "/api/sources?type=Slides")["items"]
    assert [s["id"] for s in slides] == ["s10"]
    assert get(client, "/api/sources?type=Video Streaming")["total"] == 0
    by_id = get(client, f"/api/sources?collection={STUDY}&q=p")["items"]
    assert {"p1", "p2"} <= {s["id"] for s in by_id}
    assert "s3" not in {s["id"] for s in by_id}  # neither its id nor its title has a p


def test_source_type_names_are_the_ontology_s(snapshot: Snapshot) -> None:
    """The API spells the types out for its OpenAPI; they must stay the vocabulary's."""
    names = set(get_args(SourceTypeName))
    assert names == set(SOURCE_TYPE_CONCEPT)
    for name in names:
        found = lookup.concept(lookup.tables(snapshot), "SourceTypes", name)
        assert found is not None
        assert found.iri == str(SOURCE_TYPE_CONCEPT[name])


def test_code_filters(client: httpx.Client) -> None:
    found = get(client, "/api/codes?q=BACKOFF&limit=500")["items"]
    assert [c["ident"] for c in found] == ["retry_with_backoff"]
    by_ident = get(client, f"/api/codes?q=schema_regist&collection={STUDY}")["items"]
    assert {c["ident"] for c in by_ident} == {"schema_registry", "schema_registy"}
    everywhere = get(client, "/api/codes?q=schema_registry")["items"]
    assert {(c["collection"], c["kind"]) for c in everywhere} == {
        (STUDY, "practice"),
        (OTHER, "unresolved"),  # the other collection names it without defining it
    }
    accented = get(client, "/api/codes?q=RÉSILIENCE")["items"]
    assert [(c["ident"], c["label"]) for c in accented] == [("resilience", "Résilience")]
    assert get(client, f"/api/decisions?collection={OTHER}")["total"] == 0
    assert get(client, f"/api/decisions?collection={STUDY}")["total"] == 2


# --- search ----------------------------------------------------------------------------------


def test_search_finds_codes_then_quotes(client: httpx.Client, server: str) -> None:
    page = get(client, "/api/search?q=registry&limit=500")
    kinds = [hit["type"] for hit in page["items"]]
    # codes first, then quotes, then memos (the analyst's open codes)
    assert kinds == ["code", "code", "quote", "quote", "quote", "quote", *["memo"] * 3]
    memos = [hit for hit in page["items"] if hit["type"] == "memo"]
    assert all("registry" in m["snippet"].casefold() and m["line"] for m in memos)
    codes = {(hit["collection"], hit["ident"]) for hit in page["items"] if hit["type"] == "code"}
    assert codes == {(STUDY, "schema_registry"), (OTHER, "schema_registry")}
    quotes = [hit for hit in page["items"] if hit["type"] == "quote"]
    assert [q["source"]["id"] for q in quotes] == ["p1", "p2", "s1", "s4"]
    assert all("registry" in q["snippet"].casefold() for q in quotes)
    s1 = quotes[2]
    assert s1["line"] == 39
    assert s1["url"] == f"{server}/api/collections/{STUDY}/sources/s1"
    assert get(client, "/api/search?q=ReGiStRy&limit=500") == page


def test_search_within_a_collection_pages(client: httpx.Client) -> None:
    everywhere = get(client, "/api/search?q=the&limit=5")
    within = get(client, f"/api/search?q=the&collection={STUDY}&limit=5")
    assert 0 < within["total"] < everywhere["total"]
    assert within["next"] is not None
    rest = get(client, f"/api/search?q=the&collection={STUDY}&limit=500&offset=5")
    assert len(rest["items"]) == within["total"] - 5
    assert {hit["collection"] for hit in within["items"] + rest["items"]} == {STUDY}
    other = get(client, f"/api/search?q=the&collection={OTHER}&limit=500")
    assert other["total"] == everywhere["total"] - within["total"]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/collections/nowhere",
        "/api/sources?collection=nowhere",
        "/api/search?q=x&collection=nowhere",
        f"/api/collections/{STUDY}/sources/s999",
        f"/api/collections/{STUDY}/sources/s5",  # a gap in the study's numbering
        "/api/collections/nowhere/sources/s1",
        code_url(STUDY, "no_such_code"),
        code_url(OTHER, "dead_letter_queue"),  # a code of the other collection
        f"/collections/{STUDY}/sources/s1",  # the detail routes live under /api only
        code_url(STUDY, "schema_registry").removeprefix("/api"),
    ],
)
def test_unknown_resources_are_404(client: httpx.Client, url: str) -> None:
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
def test_bad_parameters_are_422(client: httpx.Client, url: str, parameter: str) -> None:
    body = get(client, url, 422)
    assert body["error"]["code"] == "invalid-parameter"
    assert body["error"]["message"].startswith(parameter)


def test_nothing_acceptable_is_406(client: httpx.Client) -> None:
    body = get(client, "/api/sources", 406, Accept="text/html")
    assert body["error"]["code"] == "not-acceptable"


# --- JSON-LD ---------------------------------------------------------------------------------


def test_json_is_the_default_and_responses_vary_on_accept(client: httpx.Client) -> None:
    for accept in (None, "*/*", "application/json", "application/*"):
        headers = {"Accept": accept} if accept else {}
        response = client.get("/api/collections", headers=headers)
        assert response.headers["content-type"] == "application/json"
        assert "Accept" in response.headers["vary"]
        assert "@context" not in response.json()
    preferred = client.get("/api/collections", headers={"Accept": f"{LD}, application/json;q=0.5"})
    assert preferred.headers["content-type"] == LD
    assert "Accept" in preferred.headers["vary"]
    assert "@context" in preferred.json()


PUBLISHED_CONTEXT = FIXTURES / "context-v1.jsonld"


def test_every_key_of_every_body_says_what_it_means() -> None:
    """A key added to a body without its meaning in :data:`app.api.bodies.TERMS` fails here:
    the JSON-LD form of every answer stays RDF."""
    # bodies only ever found under a key whose meaning is null (links, counts, disagreements)
    # or never sent as JSON-LD (errors) need none of their own
    inside_null = {
        bodies.CollectionLinks,
        bodies.IndexLinks,
        bodies.Counts,
        bodies.DisagreementOut,
        bodies.DriftCounts,
        bodies.DifferenceOut,
        bodies.ErrorBody,
        bodies.ErrorDetail,
    }
    models = [
        m
        for m in vars(bodies).values()
        if isinstance(m, type) and issubclass(m, BaseModel) and m not in (BaseModel, *inside_null)
    ]
    assert len(models) > 20
    keys = {name for m in models for name in m.model_fields}
    missing = sorted(k for k in keys if k not in bodies.TERMS and k not in bodies.CONTEXT_PREFIXES)
    assert missing == []


def test_context_is_published_versioned_and_cacheable(client: httpx.Client) -> None:
    response = client.get("/api/context/v1.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"] == LD
    cache = response.headers["cache-control"]
    assert "public" in cache
    assert int(cache.split("max-age=")[1].split(",")[0]) >= 86400 * 30
    # a published version never changes: the context made from the bodies' keys is still v1
    assert response.json() == json.loads(PUBLISHED_CONTEXT.read_text("utf-8"))
    assert response.json()["@context"]["iri"] == "@id"
    again = client.get(
        "/api/context/v1.jsonld", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


def test_the_bodies_name_the_latest_published_context(client: httpx.Client) -> None:
    """The context made from the bodies' keys is the one published as the latest version: a
    key added or changed needs a new version (a new file), and the old ones stay served."""
    current = client.get(CURRENT_CONTEXT)
    assert current.status_code == 200
    assert current.json() == bodies.context()
    assert current.json()["@context"]["type"]["@context"]["memo"] == "mk:Memo"
    assert client.get("/api/context/v1.jsonld").json() != current.json()
    for missing in ("v0", "v99", "..%2Fv1", "v1.jsonld"):
        assert client.get(f"/api/context/{missing}.jsonld").status_code == 404


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


def test_context_defines_every_key_the_api_sends(client: httpx.Client) -> None:
    """No key is left to chance: each maps to a term, or to null where it is not data."""
    terms = context(client)["@context"]
    urls = [
        "/api",
        "/api/collections",
        "/api/sources?limit=500",
        f"/api/collections/{STUDY}/sources/s2",
        "/api/codes?limit=500",
        code_url(STUDY, "at_least_once"),  # impacts, an option, a dependency
        code_url(STUDY, "idempotent_consumer"),  # required by others
        code_url(STUDY, "delivery_guarantee_decision"),
        code_url(STUDY, "schema_registy"),  # unresolved, with the closest defined code
        code_url(STUDY, "latency"),  # a force impacted, once by set-aside coding
        code_url(STUDY, "event_mesh"),
        "/api/search?q=registry",
    ]
    seen = {key for url in urls for key in _keys(get(client, url), terms)}
    assert seen - set(terms) == set()
    expected = {"iri", "type", "kind", "quotes", "impacts", "items", "closest_defined"}
    assert expected | {"options", "option_of", "depends_on", "required_by"} <= seen


def test_source_as_json_ld_is_the_graph_s_own_terms(client: httpx.Client, server: str) -> None:
    g = as_rdf(client, server, f"/api/collections/{STUDY}/sources/s2")
    s2 = URIRef(BASE + STUDY + "/source/s2")
    assert (s2, RDF.type, URIRef(MK + "Source")) in g
    assert (s2, DCTERMS.identifier, Literal("s2")) in g
    assert (s2, URIRef(MK + "tinyUrl"), Literal("https://tinyurl.com/event-streams-s2")) in g
    header = g.value(s2, URIRef(MK + "headerRecord"))
    assert header == URIRef(str(s2) + "/header")
    assert (header, URIRef(MK + "line"), Literal(1)) in g
    assert (header, URIRef(MK + "tinyUrl"), Literal("https://tinyurl.com/event-streams-s3")) in g
    quote = URIRef(str(s2) + "/quote/1")
    assert (quote, DCTERMS.isPartOf, s2) in g
    assert (quote, RDF.type, URIRef(MK + "Quote")) in g
    code = URIRef(BASE + STUDY + "/code/dead_letter_queue")
    assert (code, URIRef(MK + "evidenceSource"), s2) in g
    assert (code, RDF.type, URIRef(MK + "Pattern")) in g


def test_code_as_json_ld_states_its_impacts(
    client: httpx.Client, server: str, snapshot: Snapshot
) -> None:
    g = as_rdf(client, server, code_url(STUDY, "schema_registry"))
    code = URIRef(BASE + STUDY + "/code/schema_registry")
    impact = URIRef(BASE + STUDY + "/impact/schema_registry/evolvability/very_positive")
    assert (impact, URIRef(MK + "solution"), code) in g
    assert (impact, URIRef(MK + "impactLevel"), URIRef(MK + "VeryPositive")) in g
    assert (URIRef(MK + "VeryPositive"), SKOS.notation, Literal("++")) in g
    label = Literal("Register event schemas centrally")
    assert (code, SKOS.prefLabel, label) in g
    definition = g.value(code, URIRef(MK + "definition"))
    assert (definition, URIRef(MK + "label"), label) in g
    assert (definition, URIRef(MK + "declaredKind"), URIRef(MK + "Practice")) in g
    # every link between data IRIs the JSON-LD states is one the store holds (quotes and
    # definitions name their seed file directly, the store through their source)
    seed_file = URIRef(MK + "seedFile")
    linked = 0
    for s, p, o in g:
        if str(s).startswith(BASE) and str(o).startswith(BASE) and p != seed_file:
            pattern = (ox.NamedNode(str(s)), ox.NamedNode(str(p)), ox.NamedNode(str(o)))
            assert next(snapshot.store.quads_for_pattern(*pattern), None), (s, p, o)
            linked += 1
    assert linked > 10


def test_list_as_json_ld_holds_its_members(client: httpx.Client, server: str) -> None:
    g = as_rdf(client, server, f"/api/forces?collection={STUDY}&limit=500")
    hydra = "http://www.w3.org/ns/hydra/core#"
    members = set(g.objects(None, URIRef(hydra + "member")))
    assert len(members) == 6
    assert URIRef(BASE + STUDY + "/code/resilience") in members
    assert all((m, RDF.type, URIRef(MK + "Force")) in g for m in members)
    assert (None, URIRef(hydra + "totalItems"), Literal(6)) in g


# --- fuzzing the real server ---------------------------------------------------------------------


def test_every_documented_operation_has_its_own_id(client: httpx.Client) -> None:
    """OpenAPI requires unique operation ids; generated clients name their methods by them."""
    paths = get(client, "/openapi.json")["paths"]
    ids = [op["operationId"] for path in paths.values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert set(paths["/sparql"]) == {"get", "post"}
    assert set(paths["/dumps/{file}"]) == {"get", "head"}


@pytest.mark.timeout(150)
def test_every_operation_answers_as_documented(server: str, tmp_path: Path) -> None:
    """Generated requests to every documented operation (the JSON API, views, dumps, SPARQL,
    the service's own): never a 5xx, and every answer as ``/openapi.json`` says: a documented
    status, a documented media type, a body of the documented schema, an ``Allow`` naming the
    methods a path serves. Not checked: that every request the schema allows is answered 2xx
    (a SPARQL query or a code is a string to the schema, and most strings are not one)."""
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert command is not None, "schemathesis is a test dependency (pip install -e '.[test]')"
    result = subprocess.run(
        [
            command,
            "run",
            server + "/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
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
    paths = httpx.get(server + "/openapi.json").json()["paths"]
    operations = sum(len(path) for path in paths.values())
    assert operations > 30
    assert f"Tested: {operations}\n" in result.stdout


@pytest.mark.parametrize(
    "q",
    [
        "consumer",  # a word: its quotes come straight from the index
        "onsume",  # inside words
        "Dead Letter",  # two words: candidates checked against the text
        "at-least-once",
        "once, ",  # punctuation around a run
        "broker's",
        "’s",  # a typographic apostrophe the notes never use
        "ß",  # casefolds to "ss": Hauptstraße, and every "ss"
        "STRASSE",
        "RÉSILIENCE",  # a code label only
        "e",
        "registry",
        "zzzz-none",
        "-",  # no word characters: a scan of all the text
        "  ",
        "\x00",
    ],
)
@pytest.mark.parametrize("collection", [None, STUDY])
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
    expected_memos = [
        (memo.iri, memo.text.casefold().find(needle))
        for memo in t.memos
        if (collection is None or memo.collection == collection)
        and "\x00" not in needle
        and needle in memo.text.casefold()
    ]
    found = lookup.search(t, q, collection)
    hits = lookup.hits(t, found, 0, len(found))
    assert len(found) == len(expected_quotes) + len(expected_codes) + len(expected_memos)
    assert [(h.quote.iri, h.at) for h in hits if h.quote] == expected_quotes
    assert [(h.memo.iri, h.at) for h in hits if h.memo] == expected_memos
    assert {h.code.iri for h in hits if h.code} == expected_codes
    if q == "e":
        assert len(expected_quotes) > len(t.quotes) // 2  # the scan goes through most text
    if q == "STRASSE":
        assert [iri.rsplit("/", 3)[-3:] for iri, _ in expected_quotes] == [["s4", "quote", "2"]]


def test_the_search_cases_find_what_the_notes_hold(snapshot: Snapshot) -> None:
    """The cases above are not all empty: the study holds what they look for."""
    t = lookup.tables(snapshot)
    for q in ("consumer", "onsume", "Dead Letter", "once, ", "ß", "STRASSE", "registry"):
        assert lookup.search(t, q, STUDY), q
    assert {
        h.code.ident for h in lookup.hits(t, lookup.search(t, "RÉSILIENCE", None), 0, 9) if h.code
    } == {"resilience"}


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


def test_every_body_is_what_the_published_models_describe(client: httpx.Client) -> None:
    """Bodies are built as plain data for speed; the models in /openapi.json stay the contract."""
    _conforms(bodies.Index, get(client, "/api"))
    _conforms(bodies.Page[bodies.CollectionOut], get(client, "/api/collections"))
    for collection in every(client, "/api/collections"):
        _conforms(bodies.CollectionOut, get(client, collection["url"]))
    _conforms(bodies.Page[bodies.SourceItem], get(client, "/api/sources?limit=500"))
    sources = every(client, "/api/sources")
    assert len(sources) == 10
    for source in sources:
        _conforms(bodies.SourceDetail, get(client, source["url"]))
    _conforms(bodies.Page[bodies.CodeItem], get(client, "/api/codes?limit=500&kind=unresolved"))
    codes = every(client, "/api/codes")
    assert len(codes) == 31
    for code in codes:
        _conforms(bodies.CodeDetail, get(client, code["url"]))
    for q in ("the", "registry", "-"):
        _conforms(bodies.Page[bodies.SearchHit], get(client, f"/api/search?q={q}&limit=500"))
    ld = get(client, "/api/codes?limit=3", Accept="application/ld+json")
    assert ld.pop("@context").endswith(CURRENT_CONTEXT)
    _conforms(bodies.Page[bodies.CodeItem], ld)


def test_a_source_lists_its_memos_as_annotations(client: httpx.Client, server: str) -> None:
    """s1's open codes are memos in its detail, and Web Annotations on it as JSON-LD."""
    detail = get(client, f"/api/collections/{STUDY}/sources/s1")
    memos = detail["memos"]
    assert memos
    assert (
        memos[0]["text"]
        == "A central schema registry checks compatibility before a producer ships."
    )
    assert [m["position"] for m in memos] == sorted(m["position"] for m in memos)
    assert all(m["type"] == "memo" and m["line"] for m in memos)
    g = as_rdf(client, server, f"/api/collections/{STUDY}/sources/s1")
    s1 = URIRef(BASE + STUDY + "/source/s1")
    oa = "http://www.w3.org/ns/oa#"
    memo = URIRef(memos[0]["iri"])
    assert (memo, URIRef(oa + "hasTarget"), s1) in g
    assert (memo, URIRef(oa + "bodyValue"), Literal(memos[0]["text"])) in g


HEADED = [
    "/",
    "/api",
    f"/api/collections/{STUDY}/sources/s2",
    "/api/codes?limit=3",
    f"/views/{STUDY}",
    f"/views/{STUDY}/impacts.csv",
    "/dumps",
    "/dumps/all.ttl",
    "/.well-known/void",
    "/meshkg/ontology",
    "/openapi.json",
    "/docs",
    "/no/such/page",
]


@pytest.mark.parametrize("path", HEADED)
def test_head_answers_wherever_get_does(client: httpx.Client, path: str) -> None:
    """HEAD is GET's status and headers without the body (RFC 9110): on FastAPI's routes,
    which declare GET only, as on the plain ones."""
    plain = {"Accept-Encoding": "identity"}
    got = client.get(path, headers=plain)
    head = client.head(path, headers=plain)
    assert head.status_code == got.status_code
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))
    assert head.content == b""


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/dumps/all.ttl", "GET, HEAD"),  # one route per method
        ("DELETE", "/sparql", "GET, HEAD, POST"),
        ("PUT", "/api/codes", "GET, HEAD"),
    ],
)
def test_a_method_not_served_names_every_method_that_is(
    client: httpx.Client, method: str, path: str, allowed: str
) -> None:
    answer = client.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    assert answer.json()["error"]["code"] == "method-not-allowed"


def test_a_head_answer_kept_is_never_a_get_answer(client: httpx.Client) -> None:
    """The answer cache keeps HEAD's answer apart: a GET after it still gets the body."""
    path = "/api/codes?limit=4&offset=1"
    head = client.head(path)
    assert head.status_code == 200
    assert head.content == b""
    got = client.get(path)
    assert got.headers["meshkg-cache"] == "miss"
    assert len(got.json()["items"]) == 4
    again = client.head(path)
    assert again.headers["meshkg-cache"] == "hit"
    assert again.content == b""
