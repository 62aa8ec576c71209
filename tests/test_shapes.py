"""SHACL shape cases: each TriG file in ``tests/fixtures/shapes/`` holds data and expected results.

The cases follow the style of pySHACL's own test data: one small file per case that carries both
the data graph and the validation results it must produce. Every file is one parametrized test,
which validates the data through the project's API (:func:`app.validate.validate`) and asserts
that the findings equal the expectations EXACTLY: none missing, none extra, none twice.

Case file convention
--------------------
* Data goes in one or more named graphs, each named by its collection IRI (for example
  ``<https://example.org/kg/study> { ... }``), exactly like the real build: one named graph per
  collection. Nothing may be written to the default graph.
* Expectations go in the named graph ``<urn:meshkg:expected>``, one blank node per expected
  result::

      <urn:meshkg:expected> {
          [] mk:findingCode "duplicate-label" ;      # required: the shape's mk:findingCode
             sh:focusNode <code/a> ;                 # required
             sh:resultSeverity sh:Warning ;          # required: sh:Violation/sh:Warning/sh:Info
             sh:resultPath dcterms:title ;           # optional: an IRI, compared when given
             sh:value <code/b> ;                     # optional: compared (as text) when given
             sh:resultMessage "did you mean b" .     # optional: a regular expression the
      }                                              #   message must match (re.search)

  Structure shapes (broken graphs) have the finding code ``"structure"``. A result whose path is
  not a single IRI (a sequence path, say) is reported without a path, so its expectation gives
  no ``sh:resultPath``. Messages are matched by pattern, not spelled out, so that rewording a
  shape's message does not break a case that is about something else; an expectation may also
  say ``a sh:ValidationResult``.
* A file whose expected graph is empty (or absent) asserts that the data conforms with no finding
  at all, not even a warning or an info.
* One concern per file. Passing variants of a check live in their own file (``…-ok.trig`` or a
  descriptive name), so a failure names the variant that broke.

"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from app.model import Level
from app.namespaces import PREFIXES
from app.validate import Finding, ValidationGraph, validate
from app.vocab import MK

CASES = Path(__file__).resolve().parent / "fixtures" / "shapes"
CASE_FILES = sorted(CASES.glob("*.trig"))
EXPECTED = URIRef("urn:meshkg:expected")

_LEVELS = {SH.Violation: Level.VIOLATION, SH.Warning: Level.WARNING, SH.Info: Level.INFO}
_REQUIRED = (MK.findingCode, SH.focusNode, SH.resultSeverity)
_OPTIONAL = {SH.resultPath, SH.value, SH.resultMessage}


@dataclass(frozen=True, slots=True)
class Expectation:
    """One expected result; ``None`` fields are not compared."""

    code: str
    focus: str
    level: Level
    path: str | None = None
    value: str | None = None
    message: str | None = None

    def matches(self, f: Finding) -> bool:
        return (
            f.code == self.code
            and f.focus == self.focus
            and f.level is self.level
            and (self.path is None or _expand(f.path) == self.path)
            and (self.value is None or f.value == self.value)
            and (self.message is None or re.search(self.message, f.message) is not None)
        )

    def __str__(self) -> str:
        extra = "".join(
            f" {name}={text!r}"
            for name, text in (("path", self.path), ("value", self.value), ("msg", self.message))
            if text is not None
        )
        return f"{self.level.value} {self.code} focus={self.focus}{extra}"


@dataclass(frozen=True, slots=True)
class Case:
    data: list[ValidationGraph]
    expected: list[Expectation]


def _expand(curie: str | None) -> str | None:
    """A finding's path (a CURIE such as ``mk:tinyUrl``) as a full IRI."""
    if curie is None:
        return None
    prefix, sep, local = curie.partition(":")
    if sep and prefix in PREFIXES:
        return str(PREFIXES[prefix]) + local
    return curie


def _one(g: Graph, node: Node, prop: URIRef, where: str) -> Node:
    values = list(g.objects(node, prop))
    assert len(values) == 1, f"{where}: an expectation needs exactly one {prop.n3()}"
    return values[0]


def _expectation(g: Graph, node: Node, where: str) -> Expectation:
    unknown = {p for p in g.predicates(node, None) if p not in _REQUIRED and p not in _OPTIONAL}
    unknown -= {RDF.type} if set(g.objects(node, RDF.type)) <= {SH.ValidationResult} else set()
    assert not unknown, f"{where}: unknown expectation properties {sorted(unknown)}"
    code, focus, severity = (_one(g, node, p, where) for p in _REQUIRED)
    assert isinstance(code, Literal), f"{where}: mk:findingCode is a string"
    assert isinstance(focus, URIRef), f"{where}: sh:focusNode is an IRI"
    assert severity in _LEVELS, f"{where}: sh:resultSeverity is sh:Violation/Warning/Info"
    optional: dict[URIRef, str | None] = {}
    for prop in _OPTIONAL:
        values = list(g.objects(node, prop))
        assert len(values) <= 1, f"{where}: at most one {prop.n3()}"
        optional[prop] = str(values[0]) if values else None
        if prop == SH.resultPath and values:
            assert isinstance(values[0], URIRef), f"{where}: sh:resultPath must be an IRI"
    return Expectation(
        str(code),
        str(focus),
        _LEVELS[severity],
        path=optional[SH.resultPath],
        value=optional[SH.value],
        message=optional[SH.resultMessage],
    )


def load_case(path: Path) -> Case:
    """The case's data (the expectation graph removed) and its expectations."""
    ds = Dataset()
    ds.parse(path, format="trig")
    where = path.name
    assert not len(ds.default_graph), (
        f"{where}: data belongs in named graphs, not the default graph"
    )
    expected_graph = Graph()
    for triple in ds.graph(EXPECTED):
        expected_graph.add(triple)
    ds.remove_graph(EXPECTED)
    names = [g.identifier for g in ds.graphs() if len(g)]
    assert names, f"{where}: no data graph"
    assert all(isinstance(n, URIRef) for n in names), f"{where}: data graphs are named by IRIs"
    nodes = set(expected_graph.subjects(MK.findingCode, None))
    stray = set(expected_graph.subjects()) - nodes
    assert not stray, f"{where}: expectation subjects without mk:findingCode: {stray}"
    assert all(isinstance(n, BNode) for n in nodes), f"{where}: expectations are blank nodes"
    expected = [_expectation(expected_graph, node, where) for node in nodes]
    graphs = []
    for name in names:
        assert isinstance(name, URIRef)
        graph = ValidationGraph(name)
        for triple in ds.graph(name):
            graph.add(triple)
        graphs.append(graph)
    return Case(graphs, expected)


def _match(expected: list[Expectation], findings: list[Finding]) -> dict[int, int]:
    """A maximum one-to-one matching of expectations to findings (expectation -> finding)."""
    owner: dict[int, int] = {}  # finding index -> expectation index

    def augment(e: int, seen: set[int]) -> bool:
        for f, finding in enumerate(findings):
            if f in seen or not expected[e].matches(finding):
                continue
            seen.add(f)
            if f not in owner or augment(owner[f], seen):
                owner[f] = e
                return True
        return False

    for e in range(len(expected)):
        augment(e, set())
    return {e: f for f, e in owner.items()}


def _show(f: Finding) -> str:
    return (
        f"{f.level.value} {f.code} focus={f.focus} path={f.path!r} value={f.value!r} "
        f"msg={f.message!r} shape={f.shape}"
    )


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_shape_case(path: Path) -> None:
    case = load_case(path)
    report = validate(case.data, [], {})
    findings = report.findings
    assert all(f.origin == "shacl" for f in findings)
    matched = _match(case.expected, findings)
    missing = [str(x) for i, x in enumerate(case.expected) if i not in matched]
    used = set(matched.values())
    extra = [_show(f) for i, f in enumerate(findings) if i not in used]
    if missing or extra:
        pytest.fail(
            f"{path.name}: findings differ from the expectations\n  missing:\n    "
            + "\n    ".join(missing or ["-"])
            + "\n  unexpected:\n    "
            + "\n    ".join(extra or ["-"])
        )
    violations = any(x.level is Level.VIOLATION for x in case.expected)
    assert report.conforms is not violations


def test_cases_present() -> None:
    """The folder holds the cases (an empty glob would silently test nothing)."""
    names = {p.name for p in CASE_FILES}
    assert "valid-minimal.trig" in names
    assert len(names) >= 20


def test_harness_is_exact() -> None:
    """The comparison fails on one finding too few or too many (guards the harness itself)."""
    case = load_case(CASES / "duplicate-label.trig")
    findings = validate(case.data, [], {}).findings
    assert len(_match(case.expected, findings)) == len(case.expected) == len(findings) == 2
    # An expectation dropped leaves a finding unmatched (an "unexpected" finding).
    assert len(_match(case.expected[:1], findings)) < len(findings)
    # An expectation added twice cannot be matched twice (no finding counts for two).
    twice = [case.expected[0], *case.expected]
    assert len(_match(twice, findings)) < len(twice)
    # A message pattern that does not match fails the expectation.
    wrong = Expectation(case.expected[0].code, case.expected[0].focus, Level.WARNING, message="^$")
    assert not any(wrong.matches(f) for f in findings)
