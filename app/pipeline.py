"""The one place the stages are chained: seeds -> parse -> model -> RDF -> validate.

Commands and the service call :func:`read`, :func:`build` and :func:`check`; no stage calls a
later one. Each stage's time is recorded, so ``meshkg stats`` and the benchmarks report where
a run spends it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Dataset, URIRef

from app.config import Settings
from app.iris import Minter
from app.model import Corpus, Note
from app.parse import read_note, resolve
from app.parse.decode import decode_bytes
from app.rdf.mapping import collection_triples
from app.seeds import SeedFile, discover, read_bytes
from app.validate import Report, validate
from app.vocab import PREFIXES

Progress = Callable[[SeedFile, int, int], None]
"""Called after each seed file with the file, files done and files in all."""


@dataclass(slots=True)
class Build:
    """A built graph: the corpus it came from and one named graph per collection."""

    corpus: Corpus
    dataset: Dataset
    settings: Settings
    files: dict[str, URIRef] = field(default_factory=dict)  # display path -> mk:SeedFile
    timings: dict[str, float] = field(default_factory=dict)

    def triple_count(self) -> int:
        return sum(len(g) for g in self.dataset.graphs() if g.identifier != _DEFAULT)


_DEFAULT = URIRef("urn:x-rdflib:default")


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def read_file(seed: SeedFile) -> Note:
    """One seed file to a note; an unreadable file still yields a note carrying the error."""
    data, problem = read_bytes(seed)
    if data is None:
        note = Note(file=seed.display, name=seed.name, collection=seed.collection, source=None)
        note.is_template = True  # nothing to show as a source
        if problem is not None:
            note.diagnostics.append(problem)
        return note
    text, found = decode_bytes(data, seed.display)
    note = read_note(text, file=seed.display, name=seed.name, collection=seed.collection)
    note.diagnostics[:0] = found
    return note


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
    total = sum(len(c.files) for c in found)
    done = 0
    for coll_files in found:
        notes = []
        with _timed(timings, "parse"):
            for seed in coll_files.files:
                notes.append(read_file(seed))
                done += 1
                if progress is not None:
                    progress(seed, done, total)
            if not settings.include_set_aside:
                for note in notes:
                    _drop_set_aside(note)
        with _timed(timings, "resolve"):
            corpus.collections.append(
                resolve(
                    coll_files.name,
                    notes,
                    title=coll_files.title,
                    description=coll_files.description,
                )
            )
    return corpus


def _drop_set_aside(note: Note) -> None:
    """Leave out code written inside triple-quoted strings, but not identifier lists.

    ``add codes to sN:`` followed by a string of identifiers is the study's normal way to say
    a note evidences codes, so references stay; definitions, relations and links were set aside.
    """
    note.definitions = [d for d in note.definitions if not d.in_string]
    note.relations = [r for r in note.relations if not r.in_string]
    note.options = [o for o in note.options if not o.in_string]
    note.dependencies = [d for d in note.dependencies if not d.in_string]


def to_dataset(corpus: Corpus, base: str) -> Dataset:
    """One named graph per collection, named by the collection's IRI."""
    ds = Dataset()
    for prefix, ns in PREFIXES.items():
        ds.bind(prefix, ns)
    ds.bind("id", base)
    for coll in corpus.collections:
        graph = ds.graph(Minter(base, coll.name).collection)
        graph.addN((s, p, o, graph) for s, p, o in collection_triples(coll, base))
    return ds


def build(
    paths: list[Path],
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
) -> Build:
    """Read the seeds and map them to RDF."""
    settings = settings or Settings()
    timings: dict[str, float] = {}
    corpus = read(paths, settings, progress=progress, timings=timings)
    with _timed(timings, "rdf"):
        dataset = to_dataset(corpus, settings.base_iri)
    files = {
        note.file: Minter(settings.base_iri, coll.name).file(note.name)
        for coll in corpus.collections
        for note in coll.notes
    }
    return Build(corpus, dataset, settings, files, timings)


def check(built: Build) -> Report:
    """Validate a build with the shapes and merge in the reader's findings."""
    with _timed(built.timings, "validate"):
        return validate(
            built.dataset,
            built.corpus.all_diagnostics(),
            built.files,
            workers=built.settings.processes,
        )
