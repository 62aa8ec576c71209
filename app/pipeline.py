"""The one place the stages are chained: seeds -> parse -> model -> RDF -> validate / store.

Commands and the service call these functions; no stage calls a later one. Every stage's
time is recorded in ``timings``, so ``meshkg stats`` and the benchmarks report where a run
spends it. Reading is spread over processes for large corpora; validation uses the rdflib
graph (pyshacl needs it), serving and dumping use the Oxigraph snapshot.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from rdflib import URIRef

from app import __version__, collector
from app.config import Settings
from app.iris import Minter
from app.model import Collection, Corpus, Curation, Diagnostic, ModelLayer, Note
from app.namespaces import ONTOLOGY_IRI
from app.parse import read_note, resolve
from app.parse.curation import read_curation
from app.parse.decode import decode_bytes
from app.parse.model_files import read_model_file
from app.parse.model_layer import attach, bind
from app.rdf.mapping import collection_triples
from app.rdf.records import Triple
from app.seeds import CollectionFiles, SeedFile, discover, read_bytes
from app.store.info import CollectionInfo, SnapshotInfo
from app.store.load import Converter, Quad, holds_iri, ontology_quads
from app.store.snapshot import Snapshot, reopen, snapshot_key
from app.validate import GraphSource, Report, Validation, ValidationGraph
from app.vocab import uri

Progress = Callable[[SeedFile, int, int], None]
"""Called after each seed file with the file, files done and files in all."""

PARALLEL_FROM = 64  # below this many notes, starting processes costs more than it saves


@dataclass(slots=True)
class Build:
    """Read seeds: the corpus, and its RDF forms made on demand."""

    corpus: Corpus
    settings: Settings
    key: str
    files: dict[str, URIRef] = field(default_factory=dict)  # display path -> mk:SeedFile
    timings: dict[str, float] = field(default_factory=dict)
    _triples: dict[str, list[Triple]] | None = None
    _graphs: list[ValidationGraph] | None = None

    @property
    def triples(self) -> dict[str, list[Triple]]:
        """Each collection's triples (mapped once, shared by the store and validation)."""
        if self._triples is None:
            base = self.settings.base_iri
            with _timed(self.timings, "rdf"), collector.paused():
                self._triples = {
                    c.name: list(collection_triples(c, base, holds_iri))
                    for c in self.corpus.collections
                }
        return self._triples

    @property
    def graphs(self) -> list[ValidationGraph]:
        """One rdflib graph per collection, for pyshacl."""
        if self._graphs is None:
            with _timed(self.timings, "graphs"):
                self._graphs = [build() for _size, build in self.graph_sources()]
        return self._graphs

    def graph_sources(self) -> list[GraphSource]:
        """Each collection's graph as size and builder: validation builds it where it runs.

        A builder maps its collection itself when the triples are not mapped yet, so forked
        validation workers map in parallel with the process that loads the store.
        """
        if self._graphs is not None:
            return [(len(g), _already(g)) for g in self._graphs]
        return [(_weight(coll), partial(self._graph, coll)) for coll in self.corpus.collections]

    def _graph(self, coll: Collection) -> ValidationGraph:
        base = self.settings.base_iri
        with collector.paused():
            if self._triples is not None:
                triples: Iterable[Triple] = self._triples[coll.name]
            else:
                triples = collection_triples(coll, base, holds_iri)
            graph = ValidationGraph(Minter(base, coll.name, uri).collection)
            graph.addN((s, p, o, graph) for s, p, o in triples)
        return graph


def _weight(coll: Collection) -> int:
    """A collection's size before mapping: its quotes and codes, which most triples describe."""
    return sum(len(n.quotes) + len(n.blocks) for n in coll.notes) + len(coll.codes) + 1


def _already(graph: ValidationGraph) -> Callable[[], ValidationGraph]:
    return lambda: graph


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def _text(seed: SeedFile) -> tuple[str | None, list[Diagnostic]]:
    """A seed's text (None when it cannot be read) and the findings of reading it."""
    data, problem = read_bytes(seed)
    if data is None:
        return None, [problem] if problem is not None else []
    return decode_bytes(data, seed.display)


def read_file(seed: SeedFile) -> Note:
    """One seed file to a note; an unreadable file still yields a note carrying the error."""
    text, found = _text(seed)
    if text is None:
        note = Note(file=seed.display, name=seed.name, collection=seed.collection, source=None)
        note.is_template = True  # nothing to show as a source
    else:
        note = read_note(text, file=seed.display, name=seed.name, collection=seed.collection)
    note.diagnostics[:0] = found
    return note


def _read_notes(
    found: list[CollectionFiles], settings: Settings, progress: Progress | None
) -> list[list[Note]]:
    """Every collection's notes, in order; large corpora are read by several processes."""
    seeds = [seed for coll in found for seed in coll.files]
    workers = min(settings.processes, max(1, len(seeds) // PARALLEL_FROM))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            notes = pool.map(read_file, seeds, chunksize=max(1, len(seeds) // (workers * 8)))
            read = _report(notes, seeds, progress)
    else:
        read = _report(map(read_file, seeds), seeds, progress)
    out, start = [], 0
    for coll in found:
        out.append(read[start : start + len(coll.files)])
        start += len(coll.files)
    return out


def _report(notes: Iterator[Note], seeds: list[SeedFile], progress: Progress | None) -> list[Note]:
    done = []
    for seed, note in zip(seeds, notes, strict=True):
        done.append(note)
        if progress is not None:
            progress(seed, len(done), len(seeds))
    return done


def read(
    paths: list[Path],
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> Corpus:
    """Read every seed under ``paths`` into resolved collections."""
    settings = settings or Settings()
    timings = timings if timings is not None else {}
    corpus = Corpus()
    with _timed(timings, "discover"):
        found, corpus.diagnostics = discover(paths)
    with _timed(timings, "parse"), collector.paused():
        per_collection = _read_notes(found, settings, progress)
    with _timed(timings, "resolve"):
        for coll_files, notes in zip(found, per_collection, strict=True):
            if not settings.include_set_aside:
                for note in notes:
                    drop_set_aside(note)
            coll = resolve(
                coll_files.name,
                notes,
                title=coll_files.title,
                description=coll_files.description,
                curation=read_curation_of(coll_files),
            )
            attach(coll, read_models(coll_files))
            corpus.collections.append(coll)
    return corpus


def read_curation_of(coll: CollectionFiles) -> Curation | None:
    """The collection's ``curation.toml``, read; None without one."""
    if coll.curation is None:
        return None
    shown, text = coll.curation
    return read_curation(text, shown)


def read_models(coll: CollectionFiles) -> ModelLayer | None:
    """The collection's consolidated model, its files bound into one layer; None without any.

    An unreadable file is a finding and reads as empty, as an unreadable note does."""
    if not coll.models:
        return None
    files = []
    for seed in coll.models:
        text, found = _text(seed)
        read = read_model_file(
            text or "", file=seed.display, name=seed.name, collection=seed.collection
        )
        read.diagnostics[:0] = found
        files.append(read)
    return bind(files)


def drop_set_aside(note: Note) -> None:
    """Leave out code written inside triple-quoted strings, but not identifier lists.

    ``add codes to sN:`` followed by a string of identifiers is the study's normal way to say
    a note evidences codes, so references stay; definitions, relations and links were set aside.
    """
    note.definitions = [d for d in note.definitions if not d.in_string]
    note.relations = [r for r in note.relations if not r.in_string]
    note.options = [o for o in note.options if not o.in_string]
    note.dependencies = [d for d in note.dependencies if not d.in_string]
    note.links = [link for link in note.links if not link.in_string]


def build(
    paths: list[Path],
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
) -> Build:
    """Read the seeds; the RDF forms follow on demand (:attr:`Build.dataset`, :func:`store`)."""
    settings = settings or Settings()
    timings: dict[str, float] = {}
    found, _ = discover(paths)
    key = snapshot_key(found, settings)
    corpus = read(paths, settings, progress=progress, timings=timings)
    files = {
        note.file: Minter(settings.base_iri, coll.name, uri).file(note.name)
        for coll in corpus.collections
        for note in coll.notes
    }
    files.update(
        {
            f.file: Minter(settings.base_iri, coll.name, uri).file(f.name)
            for coll in corpus.collections
            if coll.model is not None
            for f in coll.model.files
        }
    )
    return Build(corpus, settings, key, files, timings)


def check(built: Build) -> Report:
    """Validate a build with the shapes and merge in the reader's findings."""
    return _start_check(built).report()


def _start_check(built: Build) -> Validation:
    sources = built.graph_sources()
    with _timed(built.timings, "validate"):
        return Validation(
            sources,
            built.corpus.all_diagnostics(),
            built.files,
            workers=built.settings.processes,
        )


def store_and_check(built: Build, root: Path | None = None) -> tuple[Snapshot, Report]:
    """Store the build and validate it at once: the store loads while workers validate."""
    validation = _start_check(built)
    snapshot = store(built, root)
    with _timed(built.timings, "validate"):
        return snapshot, validation.report()


def store(built: Build, root: Path | None = None) -> Snapshot:
    """The build as an Oxigraph snapshot: in memory, or written under ``root``."""
    with _timed(built.timings, "store"), collector.paused():
        converter = Converter(built.settings.base_iri)
        triples = built.triples
        parts = [
            (coll, converter.quads(coll.name, triples[coll.name]))
            for coll in built.corpus.collections
        ]
        return assemble(parts, built.key, built.settings, built.timings, root)


def assemble(
    parts: list[tuple[Collection, list[Quad]]],
    key: str,
    settings: Settings,
    timings: dict[str, float],
    root: Path | None,
) -> Snapshot:
    """A snapshot of collections already converted to quads (one named graph each), with
    the ontology beside them: in memory, or written under ``root``."""
    base = settings.base_iri
    all_quads: list[Quad] = []
    collections = []
    for coll, coll_quads in parts:
        all_quads.extend(coll_quads)
        collections.append(
            CollectionInfo(
                name=coll.name,
                graph=Minter(base, coll.name, str).collection,
                title=coll.title,
                description=coll.description,
                triples=len(coll_quads),
                sources=len(coll.sources),
            )
        )
    data_triples = len(all_quads)
    all_quads.extend(ontology_quads())
    info = SnapshotInfo(
        key=key,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        meshkg=__version__,
        base_iri=base,
        collections=tuple(collections),
        triples=data_triples,
        timings={k: round(v, 4) for k, v in timings.items()},
    )
    if root is None:
        return Snapshot.in_memory(all_quads, info)
    return Snapshot.write(root, all_quads, info)


def serving_form(snapshot: Snapshot, settings: Settings) -> Snapshot:
    """The snapshot as the service serves it: a stored one of up to ``memory_quads`` quads is
    copied into memory (Oxigraph answers several times faster from memory)."""
    if snapshot.on_disk and snapshot.info.triples <= settings.memory_quads:
        return snapshot.into_memory()
    return snapshot


def to_serve(
    paths: list[Path],
    settings: Settings,
    root: Path | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[Snapshot, str]:
    """What the service serves for ``paths``, and how it came to be (for the start banner):
    the stored snapshot when the seeds are unchanged, else a new build (stored under ``root``
    when given), in the form :func:`serving_form` picks."""
    snapshot = reopen(paths, settings, root) if root is not None else None
    how = f"reopened from {root}"
    if snapshot is None:
        snapshot, _ = open_or_build(paths, settings, root, progress=progress)
        how = "built"
    snapshot = serving_form(snapshot, settings)
    return snapshot, how + (", served from disk" if snapshot.on_disk else ", served from memory")


def open_or_build(
    paths: list[Path],
    settings: Settings,
    root: Path | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[Snapshot, Build | None]:
    """The snapshot of ``paths``: reopened from ``root`` when the seeds are unchanged.

    Returns the build too when one was made (``None`` when a stored snapshot was reused).
    """
    if root is not None and (snapshot := reopen(paths, settings, root)) is not None:
        return snapshot, None
    built = build(paths, settings, progress=progress)
    return store(built, root), built


def publish(built: Build, url: str) -> Snapshot:
    """Publish the build to the SPARQL server at ``url`` (see :mod:`app.store.remote`): each
    collection and the ontology staged, checked, then switched in one update."""
    from app.rdf.formats import BY_EXTENSION
    from app.store.remote import publish as publish_graphs
    from app.store.sparql_http import Endpoints, SparqlClient
    from app.store.write import serialize

    snapshot = store(built)
    settings = built.settings
    nt = BY_EXTENSION[".nt"]
    graphs = {c.graph: snapshot.serialize(nt, c.name) for c in snapshot.info.collections}
    counts = {c.graph: c.triples for c in snapshot.info.collections}
    ontology = [q.triple for q in ontology_quads()]
    graphs[ONTOLOGY_IRI] = serialize(ontology, nt)
    counts[ONTOLOGY_IRI] = len(set(ontology))
    client = SparqlClient(Endpoints.from_base(url, settings.store_user, settings.store_password))
    try:
        with _timed(built.timings, "publish"):
            publish_graphs(client, graphs, counts, snapshot.info)
    finally:
        client.close()
    return snapshot
