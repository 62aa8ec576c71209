"""Evidence a researcher can trust: statements count as evidence of the codes they name, told
apart from definitions and mentions."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from rdflib import Literal as RdfLiteral
from rdflib import URIRef
from rdflib.namespace import DCTERMS

from app.config import Settings
from app.iris import Minter
from app.parse import read_note
from app.pipeline import Build, build
from app.vocab import MK

STUDY = Path(__file__).parent / "fixtures" / "study"


@pytest.fixture(scope="module")
def evidence() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per code: every evidence source, and the sources that are evidence by a statement."""
    triples = build([STUDY]).triples["study"]
    m = Minter(Settings().base_iri, "study", str)
    code_of = {m.code(name): name for name in ("reliability", "schema_registry", "complexity")}
    every: dict[str, set[str]] = defaultdict(set)
    stated: dict[str, set[str]] = defaultdict(set)
    for s, p, o in triples:
        name = code_of.get(str(s))
        if name is None or p not in (MK.evidenceSource, MK.statementSource):
            continue
        (every if p == MK.evidenceSource else stated)[name].add(str(o).rsplit("/", 1)[1])
    return every, stated


def test_a_source_stating_an_impact_is_evidence_of_both_codes(
    evidence: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    """s_4.md states retry_with_backoff → reliability (+/-) and never names reliability
    otherwise: s4 is evidence of reliability, as a statement."""
    every, stated = evidence
    assert "s4" in every["reliability"]
    assert "s4" in stated["reliability"]
    # complexity is only ever named in impacts: all its evidence is statement evidence
    assert every["complexity"] == stated["complexity"] == {"p1", "s1", "s10", "s3"}


def test_the_two_kinds_of_evidence_are_told_apart(
    evidence: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    """schema_registry: s2 and p1 name it in code lists, s1 and p2 (also) state impacts."""
    every, stated = evidence
    assert every["schema_registry"] == {"p1", "p2", "s1", "s2"}
    assert stated["schema_registry"] == {"p2", "s1"}


def test_open_codes_are_memos_with_their_section_and_codes() -> None:
    """s_1.md's open coding lines are memos: Web Annotations commenting on s1, each with its
    line, the open-coding section it sits in and the codes it names by identifier."""
    triples = build([STUDY]).triples["study"]
    m = Minter(Settings().base_iri, "study", str)
    memos: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for s, p, o in triples:
        if "/memo/" in str(s):
            memos[str(s)][str(p).rsplit("#", 1)[-1].rsplit("/", 1)[-1]].add(str(o))
    of_s1 = {k: v for k, v in memos.items() if k.startswith(m.source("s1") + "/memo/")}
    assert of_s1
    first = of_s1[m.memo("s1", 1)]
    assert first["bodyValue"] == {
        "A central schema registry checks compatibility before a producer ships."
    }
    assert first["line"] == {"44"}
    assert first["hasTarget"] == {m.source("s1")}
    assert first["motivatedBy"] == {"http://www.w3.org/ns/oa#commenting"}
    assert first["memoSection"] <= {m.block("s1", i) for i in range(10)}
    named = set().union(*(v.get("mentions", set()) for v in memos.values()))
    assert named  # some memo names a code by its identifier
    assert named <= {m.code(c) for c in _codes_of_study(triples)}


def _codes_of_study(triples: list[tuple[object, object, object]]) -> set[str]:
    return {str(s).rsplit("/", 1)[1] for s, p, _ in triples if p == MK.definition}


def test_memos_are_searchable_in_the_corpus(corpus_server: str) -> None:
    """The analyst's memo at self-serve-platform s_12.md:83 is found by a search."""
    found = httpx.get(f"{corpus_server}/api/search", params={"q": "simplify", "limit": 500}).json()
    memos = [h for h in found["items"] if h["type"] == "memo"]
    s12 = [
        h for h in memos if h["collection"] == "self-serve-platform" and h["source"]["id"] == "s12"
    ]
    assert [h["line"] for h in s12] == [83]
    assert "simplify architecture" in s12[0]["snippet"]


# --- speakers -------------------------------------------------------------------------------------

INTERVIEW = Path(__file__).parent / "fixtures" / "notes" / "interview" / "p_7.md"


def test_speaker_labels_start_turns_and_evidence_nothing() -> None:
    note = read_note(INTERVIEW.read_text("utf-8"), file="p_7.md", name="p_7.md", collection="c")
    turns = [(q.position, q.speaker, q.label_only) for q in note.quotes]
    assert turns == [
        (1, "Interviewer", True),
        (2, "Interviewer", False),
        (3, "Expert B", True),
        (4, "Expert B", False),
        (5, "Expert B", True),  # "**Expert B:**": the same label, written bold with a colon
        (6, "Expert B", False),
    ]
    [block] = [b for b in note.blocks if b.kind == "trace" and b.evidence]
    assert block.evidence == (2, 4, 6)  # the labels are not evidence


def test_a_title_naming_another_expert_is_a_finding() -> None:
    note = read_note(INTERVIEW.read_text("utf-8"), file="p_7.md", name="p_7.md", collection="c")
    found = [(d.code, d.line) for d in note.diagnostics if d.code == "speaker-title-mismatch"]
    assert found == [("speaker-title-mismatch", 10), ("speaker-title-mismatch", 24)]
    messages = {d.message for d in note.diagnostics if d.code == "speaker-title-mismatch"}
    assert messages == {"the title names Expert A, but the quotes are of Expert B"}


def test_interviews_in_the_corpus(corpus_build: Build) -> None:
    """No speaker label is evidence; every interview quote has a speaker; the titles of
    data-as-a-product's p1–p5 name the expert before the one quoted."""
    for coll in corpus_build.corpus.collections:
        for note in coll.notes:
            labels = {q.position for q in note.quotes if q.label_only}
            assert not any(set(b.evidence) & labels for b in note.blocks), note.file
            if note.name.startswith("p_"):
                assert all(q.speaker for q in note.quotes), note.file
    mismatches = sorted(
        (Path(d.file).name, d.message.split(", but the quotes are of ")[1])
        for d in corpus_build.corpus.all_diagnostics()
        if d.code == "speaker-title-mismatch" and d.line == 10
    )
    assert mismatches == [
        ("p_1.md", "Expert B"),
        ("p_2.md", "Expert C"),
        ("p_3.md", "Expert D"),
        ("p_4.md", "Expert E"),
        ("p_5.md", "Expert F"),
    ]


# --- shown values ---------------------------------------------------------------------------------


def _shown(triples: list[tuple[object, object, object]], source: str) -> dict[str, dict[str, str]]:
    """Per field: the chosen record (header/trace) and the reason, for one source."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for s, p, o in triples:
        if str(s).startswith(source + "/shown/"):
            out[str(s)][str(p).rsplit("#", 1)[-1]] = str(o)
    return {
        v["field"]: {"record": v["chosenRecord"].rsplit("/", 1)[1], "reason": v["reason"]}
        for v in out.values()
    }


def test_a_disagreement_of_the_records_is_a_recorded_choice() -> None:
    """s_2.md: the header's tiny url names s3, the trace's s2; example: yes / False. The trace
    is shown for both, and the choice says so."""
    triples = build([STUDY]).triples["study"]
    m = Minter(Settings().base_iri, "study", str)
    shown = _shown(triples, m.source("s2"))
    assert shown["tiny url"]["record"] == "trace"
    assert shown["example"]["record"] == "trace"
    assert (
        URIRef(m.source("s2")),
        MK.tinyUrl,
        RdfLiteral("https://tinyurl.com/event-streams-s2"),
    ) in set(triples)


def test_a_short_link_naming_another_source_is_not_shown(corpus_build: Build) -> None:
    """data-as-a-product s21: the trace's tiny url names s20, so the header's is shown."""
    triples = corpus_build.triples["data-as-a-product"]
    m = Minter(Settings().base_iri, "data-as-a-product", str)
    shown = _shown(triples, m.source("s21"))
    assert shown["tiny url"] == {
        "record": "header",
        "reason": "the trace's value names s20, not s21",
    }
    values = {str(o) for s, p, o in triples if str(s) == m.source("s21") and p == MK.tinyUrl}
    assert len(values) == 1
    assert not next(iter(values)).endswith("s20")


def test_a_title_copied_from_another_source_is_not_shown(corpus_build: Build) -> None:
    """data-as-a-product p5: the trace repeats p4's title, the header gives its own."""
    triples = corpus_build.triples["data-as-a-product"]
    m = Minter(Settings().base_iri, "data-as-a-product", str)
    shown = _shown(triples, m.source("p5"))
    assert shown["title"] == {
        "record": "header",
        "reason": "the trace's value is also the title of p4",
    }
    titles = {str(o) for s, p, o in triples if str(s) == m.source("p5") and p == DCTERMS.title}
    assert titles == {"Interview Expert E"}
