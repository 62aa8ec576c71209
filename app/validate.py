"""SHACL validation of the graph, merged with the reader's findings into one report.

pyshacl runs on the in-memory rdflib dataset (no inference, no owl:imports, so no network),
with the shapes parsed once per process. Each result is traced back to a seed file and line
through the focus node's ``prov:atLocation`` (or its definitions and mentions, for codes).

The reader and the shapes both know some checks (a label on two codes, an unresolved
reference, header/trace disagreement). The report keeps the SHACL result for every finding code
a shape declares (``mk:findingCode``) and the reader's diagnostics for all other codes, so no
finding appears twice and the standard report stays the authority.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

import pyshacl
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from app.iris import location_of
from app.model import Diagnostic, Severity
from app.namespaces import PREFIXES
from app.vocab import MK, shapes_path


class Level(StrEnum):
    """SHACL severities, in the order a reader should act on them."""

    VIOLATION = "violation"
    WARNING = "warning"
    INFO = "info"


_SH_LEVEL = {SH.Violation: Level.VIOLATION, SH.Warning: Level.WARNING, SH.Info: Level.INFO}
_LEVEL_SH = {v: k for k, v in _SH_LEVEL.items()}
_READER_LEVEL = {
    Severity.ERROR: Level.VIOLATION,
    Severity.WARNING: Level.WARNING,
    Severity.INFO: Level.INFO,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of validation, from SHACL or from the reader."""

    level: Level
    code: str
    message: str
    file: str | None
    line: int | None
    focus: str | None = None
    path: str | None = None
    value: str | None = None
    shape: str | None = None
    component: str | None = None  # e.g. sh:MinCountConstraintComponent
    origin: str = "shacl"  # "shacl" | "reader"


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    graph: Graph = field(default_factory=Graph)

    @property
    def conforms(self) -> bool:
        return not any(f.level is Level.VIOLATION for f in self.findings)

    def count(self, level: Level) -> int:
        return sum(1 for f in self.findings if f.level is level)


class _PreparedQueries(Graph):
    """One collection's graph whose SPARQL texts are parsed once.

    pyshacl runs each SPARQL constraint once per focus node with the same text, and rdflib
    re-parses the text every time; parsing is 90 % of the cost. The graph is a view on the
    build's store (one context of it), so nothing is copied.
    """

    def __init__(self, dataset: Dataset, identifier: URIRef) -> None:
        super().__init__(store=dataset.store, identifier=identifier)
        self.namespace_manager = dataset.namespace_manager
        self._prepared: dict[tuple[str, tuple[tuple[str, str], ...]], Query] = {}

    def query(self, query_object, *args, initNs=None, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N803
        if isinstance(query_object, str):
            namespaces = tuple(sorted((k, str(v)) for k, v in (initNs or {}).items()))
            key = (query_object, namespaces)
            prepared = self._prepared.get(key)
            if prepared is None:
                prepared = self._prepared[key] = prepareQuery(query_object, initNs=initNs or {})
            query_object = prepared
        return super().query(query_object, *args, **kwargs)


@cache
def shapes_graph() -> Graph:
    """The shapes, parsed once per process."""
    g = Graph()
    g.parse(shapes_path(), format="turtle")
    return g


@cache
def shape_codes() -> dict[Node, str]:
    """Finding code of every shape, property shapes inheriting their node shape's code."""
    g = shapes_graph()
    codes: dict[Node, str] = {}
    for shape, code in g.subject_objects(MK.findingCode):
        codes[shape] = str(code)
        for prop in g.objects(shape, SH.property):
            codes[prop] = str(code)
        for sparql in g.objects(shape, SH.sparql):
            codes[sparql] = str(code)
    return codes


def validate(
    dataset: Dataset,
    diagnostics: Iterable[Diagnostic],
    files: dict[str, URIRef],
    *,
    workers: int = 1,
) -> Report:
    """Validate each collection graph of ``dataset`` and merge in the reader's findings.

    ``files`` maps each seed's display path to its mk:SeedFile IRI. Collections are checked
    independently (every shape is scoped to one codebook), so with ``workers > 1`` they are
    checked in forked processes that share the built graph instead of copying it.
    """
    names = [g.identifier for g in dataset.graphs() if len(g) and isinstance(g.identifier, URIRef)]
    jobs = [(dataset, name, files) for name in names]
    if workers > 1 and len(jobs) > 1 and "fork" in multiprocessing.get_all_start_methods():
        # Forked workers inherit the jobs (and the built graph) instead of unpickling them.
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(workers, len(jobs)), _share, (jobs,)) as pool:
            parts = pool.map(_validate_shared, range(len(jobs)))
    else:
        parts = [_validate_graph(*job) for job in jobs]
    report = Report(graph=Graph())
    results = report.graph
    for findings, triples in parts:
        report.findings.extend(findings)
        for triple in triples:
            results.add(triple)
    shacl_codes = set(shape_codes().values())
    locate = _ReaderFocus(files)
    for d in diagnostics:
        if d.code in shacl_codes:
            continue
        report.findings.append(
            Finding(
                _READER_LEVEL[d.severity],
                d.code,
                d.message,
                d.file,
                d.line or None,
                origin="reader",
            )
        )
        _add_reader_result(results, d, locate)
    _finish_report_graph(results, report)
    report.findings.sort(key=_order)
    return report


_Triple = tuple[Node, Node, Node]
_Job = tuple[Dataset, URIRef, dict[str, URIRef]]
_SHARED: dict[str, list[_Job]] = {}


def _share(jobs: list[_Job]) -> None:
    _SHARED["jobs"] = jobs


def _validate_shared(index: int) -> tuple[list[Finding], list[_Triple]]:
    return _validate_graph(*_SHARED["jobs"][index])


def _validate_graph(
    dataset: Dataset, name: URIRef, files: dict[str, URIRef]
) -> tuple[list[Finding], list[_Triple]]:
    graph = _PreparedQueries(dataset, name)
    _conforms, results, text = pyshacl.validate(
        graph,
        shacl_graph=shapes_graph(),
        inference="none",
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        advanced=False,
        do_owl_imports=False,
        meta_shacl=False,
    )
    if not isinstance(results, Graph):
        raise RuntimeError(f"the shapes could not be applied: {text}")
    locate = _Locator(graph, files)
    codes = shape_codes()
    findings = [
        _finding(results, result, codes, locate)
        for result in results.subjects(RDF.type, SH.ValidationResult)
    ]
    return findings, list(results)


def _order(f: Finding) -> tuple[object, ...]:
    levels = list(Level)
    return (f.file or "", f.line or 0, levels.index(f.level), f.code, f.message)


def _finding(g: Graph, result: Node, codes: dict[Node, str], locate: _Locator) -> Finding:
    focus = g.value(result, SH.focusNode)
    shape = g.value(result, SH.sourceShape)
    severity = g.value(result, SH.resultSeverity)
    message = g.value(result, SH.resultMessage)
    path = g.value(result, SH.resultPath)
    value = g.value(result, SH.value)
    file, line = locate(focus) if focus is not None else (None, None)
    code = codes.get(shape, "structure") if shape is not None else "structure"
    g.add((result, MK.findingCode, Literal(code)))
    return Finding(
        _SH_LEVEL.get(severity, Level.VIOLATION)
        if isinstance(severity, URIRef)
        else Level.VIOLATION,
        code,
        str(message) if message is not None else "constraint not met",
        file,
        line or None,
        focus=str(focus) if focus is not None else None,
        path=_short(path),
        value=str(value) if value is not None else None,
        shape=str(shape) if isinstance(shape, URIRef) else None,
        component=_short(g.value(result, SH.sourceConstraintComponent)),
    )


def _short(node: Node | None) -> str | None:
    if node is None or isinstance(node, BNode):
        return None
    text = str(node)
    for prefix, ns in PREFIXES.items():
        if text.startswith(str(ns)):
            return f"{prefix}:{text[len(str(ns)) :]}"
    return text


class _ReaderFocus:
    """The focus node a reader finding gets in the report: its line, its file, or its path."""

    def __init__(self, files: dict[str, URIRef]) -> None:
        self.files = files

    def __call__(self, file: str, line: int) -> Node:
        iri = self.files.get(file)
        if iri is None:
            return Literal(f"{file}:{line}" if line else file)
        return location_of(iri, line) if line else iri


class _Locator:
    """Focus node -> (display path, line) through the graph's provenance.

    Things read from one place carry ``mk:line`` (file via ``mk:seedFile``, or the source they
    are part of); facts point to statement locations; codes to their definitions, else to the
    coding blocks that mention them. The first place of the first kind found wins.
    """

    def __init__(self, graph: Graph, files: dict[str, URIRef]) -> None:
        self.ds = graph
        self.shown = {iri: path for path, iri in files.items()}

    def __call__(self, node: Node) -> tuple[str | None, int | None]:
        return self._locate(node, depth=0) or (None, None)

    def _locate(self, node: Node, depth: int) -> tuple[str, int] | None:
        ds = self.ds
        line = ds.value(node, MK.line)
        if isinstance(line, Literal):
            file = self._file(node)
            return (file, int(line.toPython())) if file is not None else None
        if (node, RDF.type, MK.SeedFile) in ds:
            shown = self.shown.get(node)  # type: ignore[call-overload]
            return (shown, 0) if shown is not None else None
        if depth > 1:
            return None
        for prop in (PROV.atLocation, MK.definition, MK.codedIn):
            places = [self._locate(other, depth + 1) for other in ds.objects(node, prop)]
            found = [p for p in places if p is not None]
            if found:
                return min(found)
        return None

    def _file(self, node: Node) -> str | None:
        ds = self.ds
        for prop in (MK.seedFile, DCTERMS.isPartOf, MK.inSource):
            target = ds.value(node, prop)
            if target is None:
                continue
            if prop != MK.seedFile:
                target = ds.value(target, MK.seedFile)
            if isinstance(target, URIRef):
                return self.shown.get(target) or str(ds.value(target, MK.path) or target)
        return None


def _add_reader_result(g: Graph, d: Diagnostic, focus: _ReaderFocus) -> None:
    """The reader's finding as an sh:ValidationResult, so one standard report holds all."""
    result = BNode()
    g.add((result, RDF.type, SH.ValidationResult))
    g.add((result, SH.resultSeverity, _LEVEL_SH[_READER_LEVEL[d.severity]]))
    g.add((result, SH.sourceConstraintComponent, MK.SeedReaderFinding))
    g.add((result, SH.resultMessage, Literal(d.message)))
    g.add((result, MK.findingCode, Literal(d.code)))
    g.add((result, SH.focusNode, focus(d.file, d.line)))


def _finish_report_graph(g: Graph, report: Report) -> None:
    """One sh:ValidationReport holding every result (the per-collection ones are merged)."""
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns)
    for old in list(g.subjects(RDF.type, SH.ValidationReport)):
        g.remove((old, None, None))
    rep = BNode()
    g.add((rep, RDF.type, SH.ValidationReport))
    g.add((rep, SH.conforms, Literal(report.conforms)))
    for result in list(g.subjects(RDF.type, SH.ValidationResult)):
        g.add((rep, SH.result, result))
