"""The consolidated model's files: read with ast only, bound into a layer, merged with the
notes of the study of the same name, and mapped into the study's graph.

The fixture ``tests/fixtures/models/study`` is a model of the notes fixture ``tests/fixtures/
study`` written for these tests: every construct of the metamodel and one of each defect.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Dataset, Literal, URIRef

from app.api import bodies
from app.config import Settings
from app.model import Level, LinkKind, ModelLayer
from app.parse.model_files import read_model_file
from app.parse.model_layer import bind
from app.pipeline import build, check, read
from app.vocab import MK

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models" / "study"
NOTES = FIXTURES / "study"
BASE = Settings().base_iri


def _layer(*texts: tuple[str, str]) -> ModelLayer:
    return bind(
        [read_model_file(text, file=name, name=name, collection="c") for name, text in texts]
    )


@pytest.fixture(scope="module")
def layer() -> ModelLayer:
    coll = read([MODELS]).collections[0]
    assert coll.model is not None
    return coll.model


def _codes(layer: ModelLayer) -> set[tuple[str, int]]:
    return {(d.code, d.line) for d in layer.all_diagnostics()}


# --- constructs -------------------------------------------------------------------------------


def test_files_run_in_import_order(layer: ModelLayer) -> None:
    """The domain model is imported by the study's model, which the sources model imports."""
    assert [f.name for f in layer.files] == [
        "domain_model.py",
        "study_model.py",
        "sources_and_codes_model.py",
    ]
    orders = [c.order for c in layer.classes]
    assert orders == sorted(orders)
    assert layer.classes[0].name == "event_stream"  # created first: its file runs first


def test_every_metaclass_is_read(layer: ModelLayer) -> None:
    kinds = Counter(c.metaclass for c in layer.final.values())
    assert kinds == {
        "pattern": 2,
        "practice": 6,  # idempotent_consumer is a practice here, a pattern in the notes
        "do_nothing_design_solution": 1,
        "force": 7,
        "known_use": 1,
        "category": 2,
        "decision": 3,
        "domain_metaclass": 2,
        "source": 4,
    }
    outbox = layer.final["transactional_outbox"]
    assert outbox.values == {
        "aka": "Outbox",
        "description": "Write events with the state change.",
        "background reading": "Microservices patterns, ch. 3",
    }
    assert layer.final["schema_evolution_decision"].stereotypes == ("multiple_answers",)
    assert layer.final["delivery_guarantee_decision"].stereotypes == ("single_answer",)
    s1 = layer.final["s1"]
    assert s1.values["example"] is True
    assert s1.values["source code"] is False
    assert s1.values["tiny url"] == "tinyurl.com/study-s1"


def test_links_of_every_kind(layer: ModelLayer) -> None:
    kinds = Counter(link.kind for link in layer.links)
    assert kinds == {
        LinkKind.EVIDENCE: 27,
        LinkKind.IMPACT: 10,
        LinkKind.OPTION: 7,
        LinkKind.DEPENDENCY: 5,
        LinkKind.NEXT: 5,
        LinkKind.CATEGORY: 4,
        LinkKind.CONTEXT: 2,
        LinkKind.KNOWN_USE: 1,
    }
    options = [(lk.source, lk.target, lk.name) for lk in layer.links if lk.kind is LinkKind.OPTION]
    assert options[:3] == [
        ("schema_evolution_decision", "schema_registry", "Use a schema registry"),
        ("schema_evolution_decision", "consumer_driven_contracts", "Test contracts"),
        ("delivery_guarantee_decision", "at_least_once", "At least once"),
    ]
    nexts = {
        (lk.source, lk.target, lk.stereotype) for lk in layer.links if lk.kind is LinkKind.NEXT
    }
    assert nexts == {
        ("schema_registry", "delivery_guarantee_decision", "mandatory_next"),
        ("consumer_driven_contracts", "delivery_guarantee_decision", "optional_next"),
        ("at_least_once", "failure_decision", "next_decision"),
        ("exactly_once", "failure_decision", "consider_if_not_decided_yet"),
        ("schema_evolution_decision", "failure_decision", "consider_if_not_decided_yet"),
    }
    contexts = {
        (lk.source, lk.target, lk.stereotype) for lk in layer.links if lk.kind is LinkKind.CONTEXT
    }
    assert contexts == {
        ("delivery_guarantee_decision", "event_stream", "decide_for_all_instances_of"),
        ("failure_category", "consumer_team", "decide_for_some_instances_of"),
    }


def test_views_are_read_as_written(layer: ModelLayer) -> None:
    """A listed view, and walks from a class with stops, boundaries and a kind stopped at."""
    views = {v.name: v for v in layer.views}
    assert set(views) == {"guidance_view", "decisions", "delivery_decision"}
    assert views["decisions"].elements == (
        "schema_evolution_decision",
        "delivery_guarantee_decision",
        "failure_decision",
    )
    delivery = views["delivery_decision"]
    assert delivery.start == "delivery_guarantee_decision"
    assert delivery.stops == ("failure_decision",)
    assert delivery.boundaries == ("schema_registry",)
    assert delivery.stop_kinds == ("force",)
    assert views["guidance_view"].order < delivery.order  # views keep their place in the run


def test_dependency_direction_follows_the_role_of_the_argument(layer: ModelLayer) -> None:
    """``a.add_links(b, role_name="from")`` makes ``b`` the dependent end; ``"to"`` makes ``a``;
    the how-helper links with role "to" and keeps its how."""
    deps = {
        (lk.source, lk.target, lk.stereotype, lk.tagged)
        for lk in layer.links
        if lk.kind is LinkKind.DEPENDENCY
    }
    assert ("at_least_once", "idempotent_consumer", "requires", ()) in deps
    assert ("transactional_outbox", "exactly_once", "uses", (("role", "publisher"),)) in deps
    assert (
        "retry_with_backoff",
        "dead_letter_queue",
        "can_use",
        (("how", "after the last retry"),),
    ) in deps


def test_evidence_follows_link_order(layer: ModelLayer) -> None:
    evidence = [(lk.source, lk.target) for lk in layer.links if lk.kind is LinkKind.EVIDENCE]
    assert evidence[:3] == [
        ("s1", "schema_registry"),
        ("s1", "consumer_driven_contracts"),
        ("s1", "evolvability"),
    ]
    of_reliability = [s for s, c in evidence if c == "reliability"]
    assert of_reliability == ["s2", "s3", "p1"]  # the s3 duplicate is kept once


# --- defects ------------------------------------------------------------------------------


def test_each_defect_is_a_finding_with_its_line(layer: ModelLayer) -> None:
    found = _codes(layer)
    assert {
        ("model-syntax", 106),  # a statement that does not parse; the rest is read
        ("duplicate-key", 61),  # one dict gives one pair twice
        ("unknown-stereotype", 86),
        ("missing-import", 11),
        ("redefined", 108),  # schema_registry
        ("redefined", 39),  # s2
        ("undefined-name", 104),  # circuit_breaker
        ("undefined-name", 60),  # undefined_code in p1_codes
        ("duplicate-link", 61),  # s3 → reliability again
        ("unlinked-list", 55),  # p2_codes
    } <= found
    by_code = Counter(d.code for d in layer.all_diagnostics())
    assert by_code["model-syntax"] == 1


def test_python_keeps_the_last_value_of_a_repeated_key(layer: ModelLayer) -> None:
    impacts = {
        (lk.source, lk.target): lk.stereotype for lk in layer.links if lk.kind is LinkKind.IMPACT
    }
    assert impacts[("consumer_driven_contracts", "evolvability")] == "neutral"
    # the key keeps its first place in the dict: evolvability before autonomy
    of_contracts = [
        lk.target
        for lk in layer.links
        if lk.kind is LinkKind.IMPACT and lk.source == "consumer_driven_contracts"
    ]
    assert of_contracts == ["evolvability", "autonomy"]


def test_the_later_definition_wins(layer: ModelLayer) -> None:
    assert layer.final["schema_registry"].label == "Register event schemas centrally"
    assert layer.final["s2"].values["title"] == "Dead letters (second definition)"
    assert [c.label for c in layer.classes if c.name == "schema_registry"] == [
        "Central schema registry",
        "Register event schemas centrally",
    ]


def test_a_file_that_does_not_parse_at_all_still_yields_a_finding() -> None:
    layer = _layer(("x_model.py", "a = CClass(practice, 'A'\n\x00\nb = CClass(force, 'B')\n"))
    assert "b" in layer.final
    assert any(d.code == "model-syntax" for d in layer.all_diagnostics())


def test_nothing_is_run() -> None:
    """Code in a model file is text: a call that would write a file is passed over."""
    marker = Path("/tmp/meshkg-model-was-run")
    marker.unlink(missing_ok=True)
    text = f"open({str(marker)!r}, 'w').write('x')\nx = CClass(practice, 'X')\n"
    layer = _layer(("run_model.py", text))
    assert not marker.exists()
    assert layer.final["x"].label == "X"


def test_unknown_metaclass_is_kept_as_written_and_reported() -> None:
    layer = _layer(("m_model.py", "x = CClass(gizmo, 'X')\n"))
    assert layer.final["x"].metaclass == "gizmo"
    assert ("unknown-metaclass", 1) in _codes(layer)


def test_unknown_link_between_metaclasses_is_reported() -> None:
    text = "a = CClass(force, 'A')\nb = CClass(force, 'B')\nadd_links({a: b})\n"
    layer = _layer(("f_model.py", text))
    assert layer.links == []
    assert ("unknown-link", 3) in _codes(layer)


# --- both layers, one graph -----------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    built = build([NOTES, MODELS])
    assert [c.name for c in built.corpus.collections] == ["study"]
    ds = Dataset()
    graph = ds.graph(URIRef(f"{BASE}study"))
    for triple in built.triples["study"]:
        graph.add(triple)
    return ds


def _ask(ds: Dataset, query: str) -> list[tuple[object, ...]]:
    prefixes = "PREFIX mk: <https://w3id.org/meshkg/ontology#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    return [tuple(r) for r in ds.query(prefixes + query)]  # type: ignore[arg-type]


def _code(name: str) -> URIRef:
    return URIRef(f"{BASE}study/code/{name}")


def test_one_resource_per_identifier_with_both_definitions(dataset: Dataset) -> None:
    rows = _ask(
        dataset,
        f"""SELECT ?kind WHERE {{ GRAPH ?g {{ <{_code("schema_registry")}> mk:definition ?d .
            ?d a ?kind }} }}""",
    )
    assert Counter(r[0] for r in rows) == {MK.CodeDefinition: 1, MK.ModelDefinition: 2}


def test_a_code_only_the_model_defines_gets_its_kind_and_label(dataset: Dataset) -> None:
    rows = _ask(
        dataset,
        f"SELECT ?t ?l WHERE {{ GRAPH ?g {{ <{_code('cost')}> a ?t ; skos:prefLabel ?l }} }}",
    )
    assert rows == [(MK.Force, Literal("Cost"))]
    kinds = _ask(dataset, f"SELECT ?t WHERE {{ GRAPH ?g {{ <{_code('no_guarantee')}> a ?t }} }}")
    assert kinds == [(MK.DoNothing,)]


def test_facts_say_their_layer(dataset: Dataset) -> None:
    """dead_letter_queue → reliability ++ is stated by both layers: one node, both layers."""
    rows = _ask(
        dataset,
        f"""SELECT ?layer WHERE {{ GRAPH ?g {{ ?i a mk:ForceImpact ;
            mk:solution <{_code("dead_letter_queue")}> ; mk:force <{_code("reliability")}> ;
            mk:impactLevel mk:VeryPositive ; mk:layer ?layer }} }}""",
    )
    assert {r[0] for r in rows} == {MK.NotesLayer, MK.ModelLayer}
    model_only = _ask(
        dataset,
        """SELECT (COUNT(DISTINCT ?i) AS ?n) WHERE { GRAPH ?g { ?i a mk:ForceImpact ;
            mk:layer mk:ModelLayer FILTER NOT EXISTS { ?i mk:layer mk:NotesLayer } } }""",
    )
    assert int(model_only[0][0]) > 0  # type: ignore[call-overload]


METAMODEL = {
    "decision type": "c:delivery_guarantee_decision mk:decisionType mk:SingleAnswer",
    "aka": "c:transactional_outbox mk:aka 'Outbox'",
    "description": "c:transactional_outbox dcterms:description ?text "
    "FILTER(STRSTARTS(?text, 'Write'))",
    "background reading": "c:transactional_outbox mk:backgroundReading ?reading",
    "multiple answers": "c:schema_evolution_decision mk:decisionType mk:MultipleAnswers",
    "do nothing": "c:no_guarantee a mk:DoNothing",
    "tagged role": "?u a mk:Dependency ; mk:dependentSolution c:transactional_outbox ; "
    "mk:role 'publisher'",
    "recommendation": "c:schema_evolution_decision mk:recommendation ?r",
    "known use": "c:dead_letter_queue mk:usedIn c:kafka_at_acme . "
    "c:kafka_at_acme a mk:KnownUse ; mk:knownUseReference ?ref",
    "category": "c:streaming_category mk:ownsDecision c:schema_evolution_decision ; "
    "mk:subCategory c:failure_category",
    "next": "?n a mk:NextDecisionLink ; mk:priorSolution c:exactly_once ; "
    "mk:nextDecision c:failure_decision ; mk:nextKind mk:ConsiderIfNotDecidedYet",
    "context": "?c a mk:ContextLink ; mk:contextOf c:delivery_guarantee_decision ; "
    "mk:domainClass c:event_stream ; mk:contextKind mk:DecideForAllInstancesOf",
    "how": "?d a mk:Dependency ; mk:dependentSolution c:retry_with_backoff ; "
    "mk:dependencyKind mk:CanUse ; mk:how 'after the last retry'",
    "evidence": "?e a mk:CodeEvidence ; mk:evidenceSource s:p1 ; "
    "mk:evidencedCode c:idempotent_consumer ; mk:order ?o",
    "model record": "s:s1 mk:modelRecord ?r . ?r mk:tinyUrl 'tinyurl.com/study-s1'",
    "domain class": "c:event_stream a mk:DomainClass ; skos:prefLabel 'Event Stream'",
    "view": "?v a mk:View ; mk:viewStart c:delivery_guarantee_decision ; "
    "mk:viewStop c:failure_decision ; mk:viewBoundary c:schema_registry ; "
    "mk:viewStopKind mk:Force",
}


def test_metamodel_elements_in_the_graph(dataset: Dataset) -> None:
    prefixes = (
        "PREFIX mk: <https://w3id.org/meshkg/ontology#>\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
        f"PREFIX c: <{BASE}study/code/>\nPREFIX s: <{BASE}study/source/>\n"
    )
    missing = [
        name
        for name, pattern in METAMODEL.items()
        if not dataset.query(f"{prefixes}ASK {{ GRAPH ?g {{ {pattern} }} }}").askAnswer
    ]
    assert missing == []


def test_layers_that_disagree_are_findings() -> None:
    coll = read([NOTES, MODELS]).collections[0]
    found = {(d.code, d.line) for d in coll.all_diagnostics() if d.code.startswith("layer-")}
    assert found == {("layer-kind-differs", 23), ("layer-label-differs", 42)}


def test_notes_alone_are_unchanged() -> None:
    """Without model files the notes build as before (no model resources at all)."""
    built = build([NOTES])
    assert built.corpus.collections[0].model is None
    assert not any(MK.ModelLayer in t or MK.ModelDefinition in t for t in built.triples["study"])


def test_validation_of_both_layers() -> None:
    """Facts only the model states need no note evidence; its own defects are findings with
    their model file and line; the notes' findings stay as they were."""
    report = check(build([NOTES, MODELS]))
    violations = [
        (f.code, Path(f.file or "").name, f.line)
        for f in report.findings
        if f.level is Level.VIOLATION
    ]
    assert violations == [("model-syntax", "study_model.py", 106)]
    notes_only = check(build([NOTES]))
    in_notes = Counter(
        (f.code, Path(f.file).name, f.line)
        for f in report.findings
        if f.file and f.file.endswith(".md")
    )
    before = Counter((f.code, Path(f.file).name, f.line) for f in notes_only.findings if f.file)
    # new in the notes: idempotent_consumer's kinds and resilience's labels differ between
    # the layers (the model's label is the code's other label)
    assert in_notes - before == Counter(
        {("kind-conflict", "s_3.md", 50): 1, ("label-conflict", "s_10.md", 49): 1}
    )
    assert before - in_notes == Counter()


# --- drift --------------------------------------------------------------------------------------


def _drift_json() -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "drift", str(NOTES), str(MODELS), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    data: list[dict[str, Any]] = json.loads(done.stdout)
    return data


def test_drift_names_both_sides() -> None:
    [study] = _drift_json()
    assert study["collection"] == "study"
    assert study["counts"]["next"] == {"notes_only": 0, "model_only": 5, "differ": 0}
    assert study["counts"]["kind"] == {"notes_only": 0, "model_only": 0, "differ": 1}
    by_subject = {(d["statement"], d["subject"]): d for d in study["disagreements"]}
    option = by_subject[("option", "schema_evolution_decision → schema_registry")]
    assert option["model"] == "Use a schema registry"
    assert [Path(p).name for p in option["notes_at"]] == ["s_1.md:72"]
    assert [Path(p).name for p in option["model_at"]] == ["study_model.py:55"]
    dep = by_subject[("dependency", "retry_with_backoff → idempotent_consumer")]
    assert (dep["notes"], dep["model"]) == ("requires", None)
    label = by_subject[("label", "resilience")]
    assert (label["notes"], label["model"]) == ("Résilience", "Resilience")


def test_drift_as_csv() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "drift", str(NOTES), str(MODELS), "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == sum(len(c["disagreements"]) for c in _drift_json())
    assert {"collection", "kind", "subject", "notes", "model"} <= set(rows[0])


def test_drift_needs_a_model() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "drift", str(NOTES)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "no collection has a consolidated model" in done.stdout + done.stderr


# --- bad input ------------------------------------------------------------------------------


def test_broken_model_files_never_stop_the_study(tmp_path: Path) -> None:
    """Bytes that are not UTF-8, deep nesting, a NUL, and a file that cannot be read: each
    is a finding naming its file; the notes and the readable model statements stay."""
    folder = tmp_path / "study"
    folder.mkdir()
    for note in NOTES.glob("*.md"):
        (folder / note.name).write_bytes(note.read_bytes())
    (folder / "a_model.py").write_bytes(
        b"good = CClass(practice, 'Good \\xff')\nbad = CClass(force, '\xff\xfe')\n"
        b"nested = " + b"[" * 5000 + b"\nx\x00 = 1\n"
    )
    (folder / "b_model.py").mkdir()  # a folder named like a model file is not read as one
    (folder / "c_model.py").symlink_to(folder / "missing_target.py")
    coll = read([folder]).collections[0]
    assert coll.model is not None
    assert len(coll.sources) == 7  # every note is still read
    assert coll.model.final["good"].label == "Good \xff"
    assert coll.model.final["bad"].metaclass == "force"  # undecodable bytes became U+FFFD
    by_file = Counter(
        (Path(d.file).name, d.code) for d in coll.all_diagnostics() if "model" in d.file
    )
    assert by_file[("a_model.py", "model-syntax")] >= 1
    assert by_file[("c_model.py", "unreadable-file")] == 1
    assert not any(name == "b_model.py" for name, _ in by_file)


# --- export -----------------------------------------------------------------------------------

EXPECTED = FIXTURES / "models" / "expected"
ARTEFACTS = sorted(
    str(p.relative_to(EXPECTED))
    for p in EXPECTED.rglob("*")
    if p.is_file() and p.name != "README.md"
)


def _export(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "export",
            str(NOTES),
            str(MODELS),
            "-o",
            str(out),
            *extra,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_writes_the_artefacts_derived_by_hand(tmp_path: Path) -> None:
    assert len(ARTEFACTS) == 7  # the catalogue, three tables, three views
    done = _export(tmp_path / "a")
    assert done.returncode == 0, done.stderr
    written = sorted(
        str(p.relative_to(tmp_path / "a" / "study"))
        for p in (tmp_path / "a").rglob("*")
        if p.is_file()
    )
    assert written == ARTEFACTS
    for name in ARTEFACTS:
        assert (tmp_path / "a" / "study" / name).read_bytes() == (EXPECTED / name).read_bytes(), (
            name
        )
    again = _export(tmp_path / "b")
    assert again.returncode == 0
    for name in ARTEFACTS:  # deterministic: the same bytes every run
        assert (tmp_path / "b" / "study" / name).read_bytes() == (
            tmp_path / "a" / "study" / name
        ).read_bytes()


def test_export_links_named_sources_by_url(tmp_path: Path) -> None:
    assert _export(tmp_path, "--link-by-url", "s1").returncode == 0
    table = (tmp_path / "study" / "sources_table.tex").read_text("utf-8")
    assert "\\href{https://example.org/schema-evolution}{tinyurl.com/study-s1}" in table


def test_export_with_the_notes_evidence(tmp_path: Path) -> None:
    """Statement-level evidence: the notes that define, mention or state a code."""
    assert _export(tmp_path, "--evidence", "statement").returncode == 0
    catalogue_text = (tmp_path / "study" / "catalogue.md").read_text("utf-8")
    # schema_registry is named by the notes of s1, s2, p1 and p2 (see tests/fixtures/study)
    assert (
        "#### Solution 1: Register event schemas centrally\n**Evidences:** p1, p2, s1, s2\n"
        in catalogue_text
    )


def test_export_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    bad = _export(tmp_path, "--evidence", "quotes")
    assert bad.returncode == 2
    assert "--evidence" in bad.stdout + bad.stderr
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", "utf-8")
    unwritable = _export(blocked / "inside")
    assert unwritable.returncode == 2
    assert "cannot write into" in unwritable.stdout + unwritable.stderr
    notes_only = subprocess.run(
        [sys.executable, "-m", "app.cli", "export", str(NOTES), "-o", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert notes_only.returncode == 2
    assert "no collection has a consolidated model" in notes_only.stdout + notes_only.stderr


# --- drift in the report and over HTTP ---------------------------------------------------------


def test_drift_is_in_the_validation_report() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "validate", str(NOTES), str(MODELS), "--format", "json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1  # the model's syntax error is a violation
    findings = json.loads(done.stdout)["findings"]
    drifted = [f for f in findings if f["code"] == "layer-drift"]
    assert len(drifted) == sum(len(c["disagreements"]) for c in _drift_json())
    kind = next(f for f in drifted if "idempotent_consumer: notes pattern" in f["message"])
    assert (Path(kind["file"]).name, kind["line"], kind["level"]) == ("study_model.py", 23, "info")
    assert "study/s_3.md:50" in kind["message"]


def test_drift_over_the_json_api() -> None:
    from tests.server import running

    with running([NOTES, MODELS]) as url:
        whole = httpx.get(f"{url}/api/collections/study/drift", timeout=30)
        assert whole.status_code == 200
        body = whole.json()
        assert body["counts"]["next"] == {"notes_only": 0, "model_only": 5, "differ": 0}
        assert body == _drift_json()[0]  # one body, whichever way it is asked for
        nexts = httpx.get(f"{url}/api/collections/study/drift", params={"statement": "next"})
        assert {d["statement"] for d in nexts.json()["disagreements"]} == {"next"}
        assert len(nexts.json()["disagreements"]) == 5
        assert httpx.get(f"{url}/api/collections/nope/drift").status_code == 404
        bad = httpx.get(f"{url}/api/collections/study/drift", params={"statement": "quotes"})
        assert bad.status_code == 422
        assert "statement" in bad.text
        ld = httpx.get(
            f"{url}/api/collections/study/drift", headers={"Accept": "application/ld+json"}
        )
        assert ld.json()["@context"].endswith(f"/api/context/v{bodies.CONTEXT_VERSION}.jsonld")


def test_the_readme_query_gives_code_level_evidence_of_an_option_s_force(dataset: Dataset) -> None:
    """The README's query: at_least_once → latency is evidenced (code level) by the sources
    whose code list names latency and the delivery decision: s3 and p1."""
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    query = readme.split("```sparql\n", 1)[1].split("```", 1)[0]
    graph_query = (
        query.replace(
            "SELECT ?option ?force ?source WHERE {",
            "SELECT ?option ?force ?source WHERE { GRAPH ?g {",
            1,
        ).rstrip()[:-1]
        + "} }"
    )
    rows = {tuple(str(t).rsplit("/", 1)[1] for t in row) for row in dataset.query(graph_query)}  # type: ignore[union-attr]
    assert {s for o, f, s in rows if (o, f) == ("at_least_once", "latency")} == {"s3", "p1"}


# --- hostile model files ------------------------------------------------------------------------

_PIECES = [
    "x = CClass(practice, 'X')\n",
    "f = CClass(force, 'F')\n",
    "d = CClass(decision, 'D')\n",
    "s1 = CClass(source, 's1', values={'title': 'T', 'example': True})\n",
    "add_decision_option_link(d, x, 'n')\n",
    "add_force_relations({x: {f: positive, f: very_negative}})\n",
    "x.add_links(d, role_name='from', stereotype_instances=uses)[0]\n",
    "add_links({s1: [x, f, d]}, role_name='contained_code')\n",
    "add_links({x: [d]}, role_name='next decision', stereotype_instances=mandatory_next)\n",
    "v = CBundle('v', elements=d.class_object.get_connected_elements("
    "stop_elements_exclusive=fs + [x.class_object]))\n",
    "fs = [q.class_object for q in force.all_classes]\n",
    "from other.pkg import *\n",
    "x = (((((\n",
    "'''\n",
    "\x00\ud800\n",
    "y = [" * 50 + "\n",
    "z = a" + " + a" * 2000 + "\n",
]


@given(
    st.lists(st.sampled_from(_PIECES) | st.text(max_size=40), max_size=25),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_model_file_breaks_the_reader(parts: list[str]) -> None:
    """Any text, valid or not, gives a layer and findings: never an exception."""
    text = "".join(parts)
    layer = _layer(("a_model.py", text), ("b_model.py", text[::-1]))
    for link in layer.links:
        assert link.source in layer.final
        assert link.target in layer.final
    for d in layer.all_diagnostics():
        assert d.line >= 0
