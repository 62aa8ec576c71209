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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.pool import AsyncResult, Pool

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from app.bundled import shapes_path
from app.iris import location_of
from app.model import Diagnostic, Level, Severity
from app.namespaces import PREFIXES, curie
from app.vocab import MK, uri

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


class ValidationGraph(Graph):
    """One collection's triples, in a graph whose SPARQL texts are parsed once.

    pyshacl runs each SPARQL constraint once per focus node with the same text, and rdflib
    re-parses the text every time; parsing would be most of the cost.
    """

    def __init__(self, identifier: URIRef) -> None:
        super().__init__(identifier=identifier)
        for prefix, ns in PREFIXES.items():
            self.bind(prefix, ns)
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
    graphs: Sequence[ValidationGraph],
    diagnostics: Iterable[Diagnostic],
    files: dict[str, URIRef],
    *,
    workers: int = 1,
) -> Report:
    """Validate built collection graphs and merge in the reader's findings."""
    sources = [(len(g), _constant(g)) for g in graphs]
    return Validation(sources, diagnostics, files, workers=workers).report()


GraphSource = tuple[int, Callable[[], ValidationGraph]]
"""A collection's graph to be: its size in triples and the function that builds it."""


class Validation:
    """A validation under way; with ``workers > 1`` it runs beside the caller.

    ``files`` maps each seed's display path to its mk:SeedFile IRI. Collections are checked
    independently (every shape is scoped to one codebook), in forked processes:

    * with at least as many collections as workers, each process builds the graphs of the
      collections it is given and checks them with every shape, so even building the rdflib
      graphs is spread over the cores;
    * with fewer, the graphs are built here and the shapes are split into groups of about
      equal cost; the (collection, group) jobs are shared with the workers, not copied.

    Jobs go out largest first, so the last to start are small ones and the workers finish
    together. Meanwhile the caller's process is free (a build loads its store then), and
    :meth:`report` waits.
    """

    def __init__(
        self,
        sources: Sequence[GraphSource],
        diagnostics: Iterable[Diagnostic],
        files: dict[str, URIRef],
        *,
        workers: int = 1,
    ) -> None:
        self.diagnostics = list(diagnostics)
        self.files = files
        self._count = len(sources)
        ordered = sorted(
            ((i, s) for i, s in enumerate(sources) if s[0]), key=lambda item: -item[1][0]
        )
        parallel = workers > 1 and "fork" in multiprocessing.get_all_start_methods()
        self._jobs: list[_Job]
        self._owners: list[int]  # the source each job checks (part of)
        if not parallel or len(ordered) >= workers:
            self._jobs = [(build, None, files) for _i, (_size, build) in ordered]
            self._owners = [i for i, _source in ordered]
        else:
            built = [(i, size, build()) for i, (size, build) in ordered]
            jobs = sorted(
                (
                    (i, _constant(graph), group, size * weight)
                    for i, size, graph in built
                    for group, weight in shape_groups(3 * workers)
                ),
                key=lambda job: -job[3],
            )
            self._jobs = [(graph, group, files) for _i, graph, group, _cost in jobs]
            self._owners = [i for i, _graph, _group, _cost in jobs]
        self._pool: Pool | None = None
        self._pending: AsyncResult[list[Part]] | None = None
        if parallel and len(self._jobs) > 1:
            ctx = multiprocessing.get_context("fork")
            self._pool = ctx.Pool(min(workers, len(self._jobs)), _share, (self._jobs,))
            jobs_count = len(self._jobs)
            self._pending = self._pool.map_async(_validate_shared, range(jobs_count), chunksize=1)

    def parts(self) -> list[list[Part]]:
        """Each source's results, in the order the sources were given (waits for them).

        Kept per collection, they let a rebuild check only the collections that changed and
        :func:`merge` them with the others' earlier results.
        """
        if self._pending is not None and self._pool is not None:
            try:
                done = self._pending.get()
            finally:
                self._pool.close()
                self._pool.join()
        else:
            done = [_run(*job) for job in self._jobs]
        out: list[list[Part]] = [[] for _ in range(self._count)]
        for owner, part in zip(self._owners, done, strict=True):
            out[owner].append(part)
        return out

    def report(self) -> Report:
        return merge([p for parts in self.parts() for p in parts], self.diagnostics, self.files)


def _constant(graph: ValidationGraph) -> Callable[[], ValidationGraph]:
    return lambda: graph


def merge(parts: list[Part], diagnostics: list[Diagnostic], files: dict[str, URIRef]) -> Report:
    """One report of SHACL results (``parts``) and the reader's findings (``diagnostics``)."""
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


@cache
def shape_groups(count: int) -> list[tuple[list[str] | None, int]]:
    """The shapes in up to ``count`` groups of about equal cost, each with its weight.

    A shape with a SPARQL constraint costs about as much as ten core ones; a SPARQL target,
    which picks few focus nodes, halves that.
    """
    g = shapes_graph()
    shapes = sorted(
        {str(s) for s in g.subjects(RDF.type, SH.NodeShape)}
        | {str(s) for s in g.subjects(RDF.type, SH.PropertyShape)}
    )

    def weight(iri: str) -> int:
        node = URIRef(iri)
        if (node, SH.sparql, None) not in g:
            return 1
        return 5 if (node, SH.target, None) in g else 10

    groups: list[list[str]] = [[] for _ in range(count)]
    loads = [0] * count
    for iri in sorted(shapes, key=lambda i: (-weight(i), i)):
        lightest = loads.index(min(loads))
        groups[lightest].append(iri)
        loads[lightest] += weight(iri)
    return [(group, load) for group, load in zip(groups, loads, strict=True) if group]


_Triple = tuple[Node, Node, Node]
Part = tuple[list["Finding"], list[_Triple]]
"""The results of checking one collection (or one group of shapes on it)."""
_Job = tuple[Callable[[], ValidationGraph], list[str] | None, dict[str, URIRef]]
_SHARED: dict[str, list[_Job]] = {}


def _share(jobs: list[_Job]) -> None:
    _SHARED["jobs"] = jobs


def _validate_shared(index: int) -> Part:
    return _run(*_SHARED["jobs"][index])


def _run(
    build: Callable[[], ValidationGraph], shapes: list[str] | None, files: dict[str, URIRef]
) -> Part:
    return _validate_graph(build(), shapes, files)


def _validate_graph(
    graph: ValidationGraph, shapes: list[str] | None, files: dict[str, URIRef]
) -> tuple[list[Finding], list[_Triple]]:
    _conforms, results, text = pyshacl.validate(
        graph,
        shacl_graph=shapes_graph(),
        inference="none",
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        advanced=True,  # SPARQL targets (SHACL-AF); no rules are defined, nothing is inferred
        inplace=True,  # the graph is built for this check alone: no copy
        use_shapes=shapes,
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
    return curie(str(node))


class _ReaderFocus:
    """The focus node a reader finding gets in the report: its line, its file, or its path."""

    def __init__(self, files: dict[str, URIRef]) -> None:
        self.files = files

    def __call__(self, file: str, line: int) -> Node:
        iri = self.files.get(file)
        if iri is None:
            return Literal(f"{file}:{line}" if line else file)
        return uri(location_of(iri, line)) if line else iri


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
