"""Curation by hand: ``curation.toml`` merges typo twins, picks a record's value and links two
studies; without the file the graph is what the notes alone give. ``meshkg suggest`` proposes
the lines."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import SKOS

from app.config import Settings
from app.iris import Minter
from app.parse.curation import read_curation
from app.pipeline import build, read
from app.vocab import MK

CURATION = Path(__file__).parent / "fixtures" / "curation"
BASE = Settings().base_iri


def _triples(root: Path) -> set[tuple[object, object, object]]:
    built = build([root])
    return {t for triples in built.triples.values() for t in triples}


def _code(collection: str, ident: str) -> URIRef:
    return URIRef(Minter(BASE, collection, str).code(ident))


def _source(collection: str, sid: str) -> URIRef:
    return URIRef(Minter(BASE, collection, str).source(sid))


def test_the_curation_file_merges_picks_and_links() -> None:
    triples = _triples(CURATION)
    trust, twin = _code("twins", "trustworthy_decision"), _code("twins", "trustworty_decision")
    assert not any(s == twin for s, _, _ in triples)  # one code
    notations = {o for s, p, o in triples if s == trust and p == SKOS.notation}
    assert notations == {Literal("trustworthy_decision"), Literal("trustworty_decision")}
    evidence = {o for s, p, o in triples if s == trust and p == MK.evidenceSource}
    assert evidence == {_source("twins", "s1"), _source("twins", "s2")}  # evidence united
    # the header of s1 says example yes, the trace False: the file picks the header
    assert (_source("twins", "s1"), MK.example, Literal(True)) in triples
    reasons = {str(o) for s, p, o in triples if p == MK.reason}
    assert any(r.startswith("picked by") and r.endswith("curation.toml:7") for r in reasons)
    assert (_code("twins", "mdm"), SKOS.exactMatch, _code("other", "mdm")) in triples


def test_without_the_file_the_notes_alone_decide(tmp_path: Path) -> None:
    copy = tmp_path / "curation"
    shutil.copytree(CURATION, copy)
    (copy / "twins" / "curation.toml").unlink()
    triples = _triples(copy)
    assert any(s == _code("twins", "trustworty_decision") for s, _, _ in triples)  # two codes
    assert (_source("twins", "s1"), MK.example, Literal(False)) in triples  # the trace's value
    assert not any(p in (SKOS.exactMatch, SKOS.notation) for _, p, _ in triples)


def test_entries_that_cannot_apply_are_findings() -> None:
    text = '[aliases]\nnope = "missing_code"\n[sources.s99]\nexample = "header"\n[matches]\nx = 3\n'
    curation = read_curation(text, "curation.toml")
    assert [(d.code, d.line) for d in curation.diagnostics] == [("bad-curation", 6)]
    broken = read_curation("[aliases\n", "curation.toml")
    assert [(d.code, d.line) for d in broken.diagnostics] == [("bad-curation", 1)]


def test_unused_entries_are_reported_against_the_study(tmp_path: Path) -> None:
    copy = tmp_path / "curation"
    shutil.copytree(CURATION, copy)
    (copy / "twins" / "curation.toml").write_text(
        '[aliases]\nnope = "missing_code"\n\n[sources.s99]\nexample = "header"\n', "utf-8"
    )
    twins = next(c for c in read([copy]).collections if c.name == "twins")
    found = sorted(
        (d.code, d.line) for d in twins.all_diagnostics() if d.code.startswith("curation")
    )
    assert found == [("curation-unused", 2), ("curation-unused", 5)]


def _suggest(root: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "suggest", str(root)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def test_suggest_proposes_what_the_file_would_say(tmp_path: Path) -> None:
    copy = tmp_path / "curation"
    shutil.copytree(CURATION, copy)
    (copy / "twins" / "curation.toml").unlink()
    proposed = _suggest(copy)
    assert 'trustworty_decision = "trustworthy_decision"' in proposed
    assert 'mdm = { close = "twins/mdm" }' in proposed  # a pattern there, a practice here
    assert "s_2.md:40" in proposed  # with the evidence for it
    assert _suggest(CURATION).strip() == "no suggestions"  # what the file says is not proposed


def test_each_entry_keeps_its_own_line() -> None:
    text = '[sources.s1]\nexample = "header"\n\n[sources.s2]\nexample = "trace"\n'
    picks = read_curation(text, "curation.toml").picks
    assert picks == {("s1", "example"): ("header", 2), ("s2", "example"): ("trace", 5)}
