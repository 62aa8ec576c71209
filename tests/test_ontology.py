"""The ontology and shapes files: complete, labelled, and in step with the code and the data."""

from __future__ import annotations

import re
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

import app
from app.bundled import ontology_path, shapes_path
from app.pipeline import Build, check
from app.vocab import MK, ONTOLOGY_IRI


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ontology_path(), format="turtle")


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(shapes_path(), format="turtle")


NS = str(MK._NS)


def _declared(g: Graph) -> set[URIRef]:
    return {s for s in g.subjects() if isinstance(s, URIRef) and str(s).startswith(NS)}


def test_every_term_has_a_label_and_a_comment(ontology: Graph) -> None:
    for term in _declared(ontology):
        labels = list(ontology.objects(term, RDFS.label))
        comments = list(ontology.objects(term, RDFS.comment))
        assert labels, term
        assert all(isinstance(x, Literal) and x.language == "en" for x in labels), term
        assert comments, term


def test_code_and_ontology_declare_the_same_terms(ontology: Graph) -> None:
    in_code = {URIRef(NS + name) for name in MK.__annotations__}
    assert in_code == _declared(ontology)


def test_ontology_header(ontology: Graph) -> None:
    onto = URIRef(ONTOLOGY_IRI)
    assert (onto, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(onto, OWL.versionInfo) is not None
    assert ontology.value(onto, OWL.versionIRI) is not None


def test_impact_levels_are_a_skos_scheme_with_notations(ontology: Graph) -> None:
    levels = set(ontology.objects(MK.ImpactLevels, SKOS.hasTopConcept))
    notations = {str(ontology.value(c, SKOS.notation)) for c in levels}
    assert notations == {"++", "+", "o", "-", "--", "+/-"}
    for c in levels:
        assert (c, SKOS.inScheme, MK.ImpactLevels) in ontology


def test_classes_reuse_standard_vocabularies(ontology: Graph) -> None:
    parents = {str(o) for o in ontology.objects(None, RDFS.subClassOf)}
    assert "http://www.w3.org/2004/02/skos/core#Concept" in parents
    assert "http://www.w3.org/ns/prov#Entity" in parents
    assert "https://schema.org/Quotation" in parents
    assert (MK.Pattern, RDFS.subClassOf, MK.Practice) in ontology
    assert (MK.Interview, RDFS.subClassOf, MK.Source) in ontology


def test_shapes_only_use_declared_terms(ontology: Graph, shapes: Graph) -> None:
    declared = _declared(ontology)
    used = {
        t for triple in shapes for t in triple if isinstance(t, URIRef) and str(t).startswith(NS)
    }
    assert used <= declared, used - declared
    assert set(shapes.subjects(RDF.type, SH.NodeShape))


def test_data_only_uses_declared_terms(ontology: Graph, study_build: Build) -> None:
    """The study states every kind of fact the mapping writes, each in terms the ontology has."""
    declared = _declared(ontology)
    used = {
        t
        for graph in study_build.graphs
        for triple in graph
        for t in triple
        if isinstance(t, URIRef) and str(t).startswith(NS)
    }
    assert used - declared == set()
    kinds = {MK.ForceImpact, MK.DecisionOption, MK.Dependency, MK.Interview, MK.UnresolvedCode}
    assert kinds <= used


def test_validation_uses_no_network(study_build: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    in_process = replace(
        study_build, settings=study_build.settings.model_copy(update={"workers": 1})
    )
    report = check(in_process)
    # the study's own defects: s2's header against its trace, s4's typo, s3's set-aside coding
    assert {f.code for f in report.findings} == {
        "header-trace-mismatch",
        "short-link-mismatch",
        "undefined-reference",
        "set-aside",
    }


_TERM_IN_CODE = re.compile(r'MK \+ "([A-Za-z]+)"|\{MK\}([A-Za-z]+)|\bmk:([A-Za-z]+)')


def test_every_mk_term_the_program_names_is_in_the_ontology(ontology: Graph) -> None:
    """A term spelled in a query, a page or a route (``mk:codedIn``, ``MK + "Force"``) that
    the ontology does not declare is a typo that no type checker sees: every one is checked."""
    root = Path(app.__file__).resolve().parent
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".py", ".html", ".js", ".jsonld"):
            continue
        for match in _TERM_IN_CODE.finditer(path.read_text("utf-8")):
            name = next(group for group in match.groups() if group)
            found.setdefault(name, str(path.relative_to(root)))
    assert len(found) > 40  # the scan reads the program, not nothing
    declared = {str(t)[len(NS) :] for t in _declared(ontology)}
    missing = {name: where for name, where in found.items() if name not in declared}
    assert missing == {}


def test_a_readers_guess_is_not_asserted_as_meaning(ontology: Graph) -> None:
    """The "did you mean" suggestion for an unresolved code is the reader's guess: it must not
    entail a SKOS mapping between the two codes."""
    closest = URIRef(NS + "closestDefined")
    assert (closest, RDF.type, OWL.ObjectProperty) in ontology
    assert list(ontology.objects(closest, RDFS.subPropertyOf)) == []
    assert list(ontology.objects(closest, OWL.equivalentProperty)) == []
