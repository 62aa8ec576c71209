"""The research views over HTTP, on the test study with its consolidated model (both layers).

Each matrix, list and ranking is compared with an independent SPARQL query sent to the same
service's endpoint; every link of every view is followed to depth 3; the three forms of a view
(HTML, JSON, CSV) say the same thing.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from app.order import natural
from app.sparql.examples import EXAMPLES

BASE = "https://w3id.org/meshkg/id/study/code/"
PREFIXES = """PREFIX mk: <https://w3id.org/meshkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
"""
LAYER = {
    "notes": "https://w3id.org/meshkg/ontology#NotesLayer",
    "model": "https://w3id.org/meshkg/ontology#ModelLayer",
}


def sparql(url: str, query: str) -> list[dict[str, str]]:
    answer = httpx.post(
        f"{url}/sparql",
        data={"query": PREFIXES + query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return [{k: v["value"] for k, v in row.items()} for row in answer.json()["results"]["bindings"]]


def view(url: str, path: str, **params: object) -> dict:
    answer = httpx.get(f"{url}{path}.json", params=params, timeout=30)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()


def ident(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


# --- forms ------------------------------------------------------------------------------------

VIEWS = [
    "/views/study/decisions",
    "/views/study/decisions/delivery_guarantee_decision",
    "/views/study/impacts",
    "/views/study/coding",
    "/views/study/co-occurrence",
    "/views/study/analytics",
    "/views/study/guidance",
    "/views/study/codes",
]


@pytest.mark.parametrize("path", VIEWS)
def test_every_view_has_its_three_forms(views_server: str, path: str) -> None:
    page = httpx.get(views_server + path, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'rel="alternate"' in page.text  # the page links its twins
    assert httpx.get(views_server + path, headers={"Accept": "application/json"}).json()
    suffixed = httpx.get(views_server + path + ".csv")
    assert suffixed.status_code == 200
    assert suffixed.headers["content-type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(suffixed.text)))) >= 1
    assert httpx.get(views_server + path + ".xml").status_code == 404
    refused = httpx.get(views_server + path, headers={"Accept": "image/png"})
    assert refused.status_code == 406


def test_overview_counts_layers_and_links_its_exports(views_server: str) -> None:
    body = view(views_server, "/views/study")
    assert body["sources"] == 7
    assert body["quotes"] == 25
    # the README's counts: 5 practices, 4 patterns, 6 forces in the notes; the model adds
    # the force cost and the decision failure_decision
    assert body["codes"]["practice"] == {"notes": 5, "model": 5, "both": 5, "all": 5}
    assert body["codes"]["force"]["notes"] == 6
    assert body["codes"]["force"]["all"] == 7
    assert body["drift"]["has_model"] is True
    assert body["drift"]["total"] > 0
    qdpx = httpx.get(views_server + body["exports"]["qdpx"])
    assert qdpx.status_code == 200
    assert "project.qde" in zipfile.ZipFile(io.BytesIO(qdpx.content)).namelist()


def test_overview_lists_the_findings_with_file_and_line(views_server: str) -> None:
    """The notes are checked once, off the event loop; the overview says so until done."""
    deadline = time.monotonic() + 120
    while True:
        body = view(views_server, "/views/study")
        if body["findings"]["state"] != "checking" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert body["findings"]["state"] == "ready"
    groups = {g["code"]: g for g in body["findings"]["groups"]}
    undefined = groups["undefined-reference"]["findings"]
    assert next((f["file"].rsplit("/", 1)[-1], f["line"]) for f in undefined)[0] == "s_4.md"
    assert all(f["line"] for f in undefined)
    # each finding links to its file's page, at its line; the crawl follows those links
    s4 = next(f for f in undefined if f["file"].endswith("s_4.md"))
    assert s4["href"] == f"/meshkg/id/study/file/s_4.md#L{s4['line']}"
    assert httpx.get(views_server + s4["href"].split("#")[0]).status_code == 200
    levels = [g["level"] for g in body["findings"]["groups"]]
    order = {"violation": 0, "warning": 1, "info": 2}
    assert levels == sorted(levels, key=order.__getitem__)  # the worst first


# --- views agree with SPARQL ------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["all", "notes", "model"])
def test_impact_matrix_equals_sparql(views_server: str, layer: str) -> None:
    body = view(views_server, "/views/study/impacts", layer=layer, evidence="statement")
    ids = {c["iri"]: c["id"] for c in (*body["rows"], *body["columns"])}
    got = {
        (ids[c["row"]], ids[c["column"]], s["sign"], tuple(s["sources"]))
        for c in body["cells"]
        for s in c["signs"]
    }
    only = "" if layer == "all" else f"?impact mk:layer <{LAYER[layer]}> ."
    rows = sparql(
        views_server,
        f"""SELECT ?impact ?s ?f ?sign ?src WHERE {{
          ?impact a mk:ForceImpact ; mk:solution ?s ; mk:force ?f ; mk:impactLevel ?l .
          ?l skos:notation ?sign . {only}
          OPTIONAL {{ ?impact mk:evidenceSource/dcterms:identifier ?src }} }}""",
    )
    facts: dict[str, tuple[str, str, str, set[str]]] = {}
    for row in rows:
        key = row["impact"]
        fact = facts.setdefault(key, (ident(row["s"]), ident(row["f"]), row["sign"], set()))
        if "src" in row:
            fact[3].add(row["src"])
    want = {(s, f, sign, tuple(sorted(src, key=natural))) for s, f, sign, src in facts.values()}
    assert got == want
    assert got  # the study has impacts in every layer


def test_impact_matrix_code_evidence_equals_sparql(views_server: str) -> None:
    """With code evidence, a sign's sources are those coding both ends (notes or code lists)."""
    body = view(views_server, "/views/study/impacts", evidence="code")
    ids = {c["iri"]: c["id"] for c in (*body["rows"], *body["columns"])}
    got = {
        (ids[c["row"]], ids[c["column"]], frozenset(s["sources"]))
        for c in body["cells"]
        for s in c["signs"]
    }
    coded = defaultdict(set)
    for row in sparql(
        views_server,
        """SELECT ?c ?id WHERE {
          { ?c mk:evidenceSource ?s ; skos:inScheme ?scheme . ?scheme a mk:Codebook }
          UNION { ?e a mk:CodeEvidence ; mk:evidencedCode ?c ; mk:evidenceSource ?s }
          ?s dcterms:identifier ?id }""",
    ):
        coded[ident(row["c"])].add(row["id"])
    pairs = sparql(
        views_server,
        "SELECT DISTINCT ?s ?f WHERE { ?i a mk:ForceImpact ; mk:solution ?s ; mk:force ?f }",
    )
    want = {
        (ident(p["s"]), ident(p["f"]), frozenset(coded[ident(p["s"])] & coded[ident(p["f"])]))
        for p in pairs
    }
    assert {(a, b) for a, b, _ in got} == {(a, b) for a, b, _ in want}
    assert got <= want


def test_code_source_matrix_equals_sparql(views_server: str) -> None:
    body = view(views_server, "/views/study/coding")
    ids = {c["iri"]: c["id"] for c in body["rows"]} | {s["iri"]: s["id"] for s in body["columns"]}
    got = {(ids[c["code"]], ids[c["source"]]): c["quotes"] for c in body["cells"]}
    present = sparql(
        views_server,
        """SELECT DISTINCT ?c ?id WHERE { ?c mk:evidenceSource ?s ; skos:inScheme ?k .
           ?k a mk:Codebook . ?s dcterms:identifier ?id }""",
    )
    quoted = sparql(
        views_server,
        """SELECT ?c ?id (COUNT(DISTINCT ?q) AS ?n) WHERE { ?c mk:codedIn ?b ; skos:inScheme ?k .
           ?k a mk:Codebook . ?b mk:evidenceQuote ?q . ?q dcterms:isPartOf ?s .
           ?s dcterms:identifier ?id } GROUP BY ?c ?id""",
    )
    want = {(ident(r["c"]), r["id"]): 0 for r in present}
    want |= {(ident(r["c"]), r["id"]): int(r["n"]) for r in quoted}
    assert got == want


@pytest.mark.parametrize("scope", ["source", "segment"])
def test_co_occurrence_equals_sparql(views_server: str, scope: str) -> None:
    body = view(views_server, "/views/study/co-occurrence", scope=scope, top=200)
    got = {(ident(c["a"]), ident(c["b"])): c["count"] for c in body["cells"]}
    if scope == "source":
        query = """SELECT ?a ?b (COUNT(DISTINCT ?s) AS ?n) WHERE {
          ?a mk:evidenceSource ?s ; skos:inScheme ?k . ?b mk:evidenceSource ?s ; skos:inScheme ?k .
          ?k a mk:Codebook } GROUP BY ?a ?b"""
    else:
        query = """SELECT ?a ?b (COUNT(DISTINCT ?q) AS ?n) WHERE {
          ?a mk:codedIn/mk:evidenceQuote ?q ; skos:inScheme ?k .
          ?b mk:codedIn/mk:evidenceQuote ?q ; skos:inScheme ?k .
          ?k a mk:Codebook } GROUP BY ?a ?b"""
    want = {(ident(r["a"]), ident(r["b"])): int(r["n"]) for r in sparql(views_server, query)}
    assert got == want


def test_analytics_equal_sparql(views_server: str) -> None:
    body = view(views_server, "/views/study/analytics")
    rows = sparql(
        views_server,
        """SELECT ?c ?id WHERE { ?c skos:inScheme ?k . ?k a mk:Codebook .
           VALUES ?t { mk:Practice mk:Pattern mk:Force mk:Decision mk:UnresolvedCode } ?c a ?t
           OPTIONAL { ?c mk:evidenceSource/dcterms:identifier ?id } }""",
    )
    sources: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        sources[ident(r["c"])]
        if "id" in r:
            sources[ident(r["c"])].add(r["id"])
    assert {c["id"]: c["sources"] for c in body["frequency"]} == {
        c: len(s) for c, s in sources.items()
    }
    assert sorted(x["code"]["id"] for x in body["single_source"]) == sorted(
        c for c, s in sources.items() if len(s) == 1
    )
    # saturation: in review order, each source's codes not seen in an earlier one
    order = sorted({i for s in sources.values() for i in s}, key=natural)
    seen: set[str] = set()
    want = []
    for sid in order:
        new = {c for c, s in sources.items() if sid in s} - seen
        seen |= new
        want.append((sid, new, len(seen)))
    got = [(x["source"]["id"], {c["id"] for c in x["new"]}, x["total"]) for x in body["saturation"]]
    assert [g for g in got if g[0] in order] == want


def test_catalogue_equals_sparql(views_server: str) -> None:
    body = view(views_server, "/views/study/decisions", layer="all")
    got = {
        (d["decision"]["id"], o["option"]["id"], name)
        for d in body["decisions"]
        for o in d["options"]
        for name in o["names"] or [""]
    }
    rows = sparql(
        views_server,
        """SELECT ?d ?o ?name WHERE { ?l a mk:DecisionOption ; mk:decision ?d ; mk:option ?o .
           OPTIONAL { ?l mk:optionName ?name } }""",
    )
    assert got == {(ident(r["d"]), ident(r["o"]), r.get("name", "")) for r in rows}
    nexts = {
        (o["option"]["id"], n["decision"]["id"])
        for d in body["decisions"]
        for o in d["options"]
        for n in o["next"]
    }
    rows = sparql(
        views_server,
        """SELECT ?s ?d WHERE { ?l a mk:NextDecisionLink ; mk:priorSolution ?s ;
           mk:nextDecision ?d . ?x a mk:DecisionOption ; mk:option ?s }""",
    )
    assert nexts == {(ident(r["s"]), ident(r["d"])) for r in rows}


def test_ranking_equals_sparql(views_server: str) -> None:
    """latency weighs 2, complexity -1: scores computed in SPARQL with the same rule."""
    body = view(
        views_server,
        "/views/study/guidance",
        force=["latency:2", "complexity:-1"],
        layer="all",
    )
    got = {
        (d["decision"]["id"], o["option"]["id"]): o["score"]
        for d in body["decisions"]
        for o in d["options"]
    }
    rows = sparql(
        views_server,
        f"""SELECT ?d ?o (SUM(?w * ?mean) AS ?score) WHERE {{
          {{ SELECT DISTINCT ?d ?o WHERE {{
              ?l a mk:DecisionOption ; mk:decision ?d ; mk:option ?o }} }}
          OPTIONAL {{
            {{ SELECT ?o ?f (AVG(?v) AS ?mean) WHERE {{
                {{ SELECT DISTINCT ?o ?f ?level WHERE {{
                    ?i a mk:ForceImpact ; mk:solution ?o ; mk:force ?f ; mk:impactLevel ?level }} }}
                VALUES (?level ?v) {{ (mk:VeryPositive 2) (mk:Positive 1) (mk:Neutral 0)
                  (mk:PositiveAndNegative 0) (mk:Negative -1) (mk:VeryNegative -2) }}
              }} GROUP BY ?o ?f }}
            VALUES (?f ?w) {{ (<{BASE}latency> 2) (<{BASE}complexity> -1) }}
          }}
        }} GROUP BY ?d ?o""",
    )
    want = {(ident(r["d"]), ident(r["o"])): float(r.get("score", 0)) for r in rows}
    assert got == pytest.approx(want)
    first = body["decisions"][0]
    assert [o["score"] for o in first["options"]] == sorted(
        (o["score"] for o in first["options"]), reverse=True
    )


def test_guidance_refuses_what_is_not_a_force(views_server: str) -> None:
    for value, word in (
        ("at_least_once:1", "not a force"),
        ("latency:x", "number"),
        ("nothing:1", "no code"),
    ):
        answer = httpx.get(views_server + "/views/study/guidance.json", params={"force": value})
        assert answer.status_code == 400
        assert "force" in answer.json()["error"]["message"]
        assert word in answer.text
    # the form's unchosen selects send empty values: they are ignored
    ok = httpx.get(views_server + "/views/study/guidance.json", params={"force": ["", "latency:1"]})
    assert ok.status_code == 200
    assert len(ok.json()["weights"]) == 1


def test_a_matrix_cell_opens_its_quotes(views_server: str) -> None:
    """The quotes behind at_least_once → latency are those of the blocks stating it."""
    body = view(views_server, "/views/study/quotes", solution="at_least_once", force="latency")
    rows = sparql(
        views_server,
        f"""SELECT DISTINCT ?q WHERE {{ ?i a mk:ForceImpact ; mk:solution <{BASE}at_least_once> ;
           mk:force <{BASE}latency> ; mk:codedIn/mk:evidenceQuote ?q }}""",
    )
    assert {q["iri"] for q in body["quotes"]} == {r["q"] for r in rows}
    assert body["quotes"]
    assert all(q["href"] for q in body["quotes"])
    coded = view(views_server, "/views/study/quotes", code=["latency", "reliability"])
    both = sparql(
        views_server,
        f"""SELECT DISTINCT ?q WHERE {{ <{BASE}latency> mk:codedIn/mk:evidenceQuote ?q .
           <{BASE}reliability> mk:codedIn/mk:evidenceQuote ?q }}""",
    )
    assert {q["iri"] for q in coded["quotes"]} == {r["q"] for r in both}


def test_the_csv_twin_says_what_the_json_says(views_server: str) -> None:
    body = view(views_server, "/views/study/impacts")
    text = httpx.get(views_server + "/views/study/impacts.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sum(len(c["signs"]) for c in body["cells"])
    assert {r["sign"] for r in rows} == {s["sign"] for c in body["cells"] for s in c["signs"]}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_every_example_query_answers(views_server: str, example: object) -> None:
    rows = sparql(views_server, example.query)  # type: ignore[attr-defined]
    assert rows, example


def test_the_search_page_finds_labels_and_quotes(views_server: str) -> None:
    page = httpx.get(views_server + "/search", params={"q": "schema"})
    assert page.status_code == 200
    assert 'class="hit code"' in page.text
    assert 'class="hit quote"' in page.text
    assert httpx.get(views_server + "/search", params={"q": "x" * 201}).status_code in (400, 422)


# --- every link resolves ----------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (
                (tag == "a" and name in ("href", "xlink:href"))
                or (tag in ("link", "script") and name in ("href", "src"))
            ):
                self.found.append(value)


def test_every_link_of_every_view_resolves(views_server: str) -> None:
    """From the home page and the overview, to depth 3: no link answers 4xx or 5xx."""
    host = urlsplit(views_server).netloc
    frontier = [views_server + "/", views_server + "/views/study"]
    seen: set[str] = set(frontier)
    broken: list[tuple[str, int, str]] = []
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    with httpx.Client(timeout=30, headers={"Accept": browser}) as client:
        for _depth in range(3):
            following: list[str] = []
            for url in frontier:
                answer = client.get(url)
                if answer.status_code >= 400:
                    broken.append((url, answer.status_code, answer.text[:200]))
                    continue
                if not answer.headers.get("content-type", "").startswith("text/html"):
                    continue
                parser = _Links()
                parser.feed(answer.text)
                for link in parser.found:
                    target = urljoin(url, link).split("#", 1)[0]
                    parts = urlsplit(target)
                    if parts.netloc != host or target in seen or parts.path.startswith("/dumps/"):
                        continue
                    seen.add(target)
                    following.append(target)
            frontier = following
        for url in frontier:  # the last level is fetched, not followed
            answer = client.get(url)
            if answer.status_code >= 400:
                broken.append((url, answer.status_code, answer.text[:200]))
    assert broken == []
    assert len(seen) > 150  # the crawl reached every view, code, source and quote


def test_a_code_page_leads_with_its_forces_and_decisions(views_server: str) -> None:
    """A practice's page: its forces with signs and the decision it is an option of come
    before its evidence (folded by source), and the generic properties come last."""
    page = httpx.get(
        views_server + "/meshkg/id/study/code/schema_registry", headers={"Accept": "text/html"}
    ).text
    order = [page.index(h) for h in ("<h2>Forces", "<h2>Option of", "<h2>Properties")]
    assert order == sorted(order)
    assert page.index("<h2>Properties") < page.index('<details class="by-source">')
    rows = sparql(
        views_server,
        f"""SELECT DISTINCT ?f ?sign WHERE {{ ?i a mk:ForceImpact ;
           mk:solution <{BASE}schema_registry> ; mk:force ?f ;
           mk:impactLevel/skos:notation ?sign }}""",
    )
    section = page[page.index("<h2>Forces") : page.index("<h2>Option of")]
    assert section.count('<span class="sign') == len(rows) == 3
    force = httpx.get(
        views_server + "/meshkg/id/study/code/latency", headers={"Accept": "text/html"}
    ).text
    assert "<h2>Solutions affecting it" in force
    assert force.index("<h2>Solutions affecting it") < force.index("<h2>Properties")


def test_matrices_page_their_rows(views_server: str) -> None:
    whole = view(views_server, "/views/study/impacts")
    first = view(views_server, "/views/study/impacts", limit=4)
    second = view(views_server, "/views/study/impacts", limit=4, offset=4)
    assert first["total"] == second["total"] == whole["total"] == len(whole["rows"])
    assert [r["id"] for r in first["rows"] + second["rows"]] == [r["id"] for r in whole["rows"][:8]]
    shown = {r["iri"] for r in first["rows"]}
    assert all(c["row"] in shown for c in first["cells"])
    page = httpx.get(
        views_server + "/views/study/coding", params={"limit": 3}, headers={"Accept": "text/html"}
    ).text
    assert 'rel="next"' in page
    assert "Rows 1–3 of" in page


def test_the_overview_links_the_regenerated_artefacts(views_server: str) -> None:
    """The study's artefacts, served from the graph, are what ``meshkg export`` writes (the
    fixture's hand-derived files)."""
    body = view(views_server, "/views/study")
    names = {a["name"]: a["href"] for a in body["exports"]["artefacts"]}
    assert {"catalogue.md", "force_table.tex", "plantuml/decisions.puml"} <= set(names)
    expected = Path(__file__).parent / "fixtures" / "models" / "expected"
    for name in (
        "catalogue.md",
        "force_table.tex",
        "overview_table.tex",
        "plantuml/decisions.puml",
    ):
        served = httpx.get(views_server + names[name])
        assert served.status_code == 200
        assert served.content == (expected / name).read_bytes(), name
    missing = httpx.get(views_server + "/views/study/artefacts/nothing.tex")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("path", "status", "named"),
    [
        ("/views/nothing.json", 404, "nothing"),
        ("/views/study/impacts.json?sort=bad", 422, "sort"),
        ("/views/study/coding.json?limit=0", 422, "limit"),
        ("/views/study/co-occurrence.json?top=9999", 422, "top"),
        # past what a JSON reader keeps exactly (the page echoes it): not a server error
        ("/views/study/impacts.json?offset=112724103517472915456", 422, "offset"),
        ("/views/study/decisions.json?offset=9007199254740992", 422, "offset"),
        ("/views/study/quotes.json", 400, "code"),
        ("/views/study/quotes.json?code=nope", 400, "nope"),
        ("/views/study/quotes.json?solution=latency", 400, "force"),
        ("/views/study/decisions/nope.json", 404, "nope"),
        ("/views/study/analytics.json?kind=planet", 422, "kind"),
        ("/views/study/impacts.xml", 404, ".xml"),
        ("/views/study/artefacts/nothing.tex", 404, "nothing.tex"),
    ],
)
def test_a_wrong_request_is_a_clear_error(
    views_server: str, path: str, status: int, named: str
) -> None:
    """Each wrong path or parameter is one JSON error naming what was wrong."""
    answer = httpx.get(views_server + path)
    assert answer.status_code == status
    assert named in answer.json()["error"]["message"]
