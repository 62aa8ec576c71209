"""Evidence a researcher can trust: statements count as evidence of the codes they name, told
apart from definitions and mentions."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from app.config import Settings
from app.iris import Minter
from app.pipeline import build
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
