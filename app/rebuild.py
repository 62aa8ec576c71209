"""Building the served graph again after notes change: only what changed is read and checked.

A :class:`Rebuilder` keeps what its last build made: each note as parsed (by the hash of its
bytes) and each collection resolved, mapped, converted and validated (by the hashes of its
notes and metadata). A rebuild hashes the files, parses only notes whose bytes changed, and
resolves, maps and validates only collections with a changed, added or removed note; the
others' quads and SHACL results are reused. The snapshot is then assembled whole, so it is
exactly what a fresh build of the same notes gives.

A note edited into a state the reader cannot read whole (a statement that is not valid
Python, an unreadable file: findings it did not have before) is served as it was before the
edit, and its new findings are reported: an edit in progress neither takes a practice out of
the served graph nor puts half of one in.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import URIRef

from app import collector
from app.config import Settings
from app.iris import Minter
from app.model import Collection, Diagnostic, Note, Severity
from app.parse import resolve
from app.parse.model_layer import attach
from app.pipeline import (
    assemble,
    drop_set_aside,
    read_curation_of,
    read_file,
    read_models,
    serving_form,
)
from app.rdf.mapping import collection_triples
from app.seeds import CollectionFiles, SeedFile, discover, read_bytes
from app.store.load import Converter, Quad, holds_iri
from app.store.snapshot import Snapshot, snapshot_key
from app.validate import GraphSource, Part, Report, Validation, ValidationGraph, merge
from app.vocab import uri


@dataclass(slots=True)
class _NoteEntry:
    digest: str
    pickled: bytes  # the note as parsed: resolving changes notes, so each use gets a copy
    unread: Counter[str]  # its findings that say content could not be read, by code


@dataclass(slots=True)
class _CollectionEntry:
    fingerprint: str
    collection: Collection
    quads: list[Quad]
    parts: list[Part]
    diagnostics: list[Diagnostic]
    files: dict[str, URIRef]


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """One rebuild: the snapshot to serve, its full report, and what had to be redone."""

    snapshot: Snapshot
    report: Report
    collections_read: tuple[str, ...]
    notes_read: int
    notes_kept: tuple[str, ...]  # notes served as they were before their latest edit
    kept_because: tuple[Diagnostic, ...]  # what could not be read in those edits
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Read:
    """The collections as a rebuild or a check reads them."""

    key: str
    entries: list[_CollectionEntry]
    diagnostics: list[Diagnostic]
    redone: list[str]
    notes_read: int
    kept: list[str]


class Rebuilder:
    """Rebuilds the graph of ``paths``; one rebuild at a time (a lock keeps them in turn)."""

    def __init__(self, paths: list[Path], settings: Settings, root: Path | None) -> None:
        self.paths = paths
        self.settings = settings
        self.root = root
        self._notes: dict[str, _NoteEntry] = {}
        self._collections: dict[str, _CollectionEntry] = {}
        self._kept: dict[str, list[Diagnostic]] = {}  # notes served as before, and why
        self._lock = threading.Lock()

    def rebuild(self) -> Rebuilt:
        with self._lock, collector.paused():
            return self._rebuild()

    def check(self) -> Report:
        """The report of the notes as they are now, without assembling a snapshot: what a
        service shows as its findings. It fills the same per-note and per-collection memory a
        rebuild uses, so the next rebuild redoes nothing this check did."""
        with self._lock, collector.paused():
            read = self._read({})
            return self._report(read)

    def _rebuild(self) -> Rebuilt:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        read = self._read(timings)
        mark = time.perf_counter()
        parts = [(e.collection, e.quads) for e in read.entries]
        snapshot = serving_form(
            assemble(parts, read.key, self.settings, timings, self.root), self.settings
        )
        timings["store"] = time.perf_counter() - mark
        report = self._report(read)
        timings["total"] = time.perf_counter() - started
        return Rebuilt(
            snapshot,
            report,
            tuple(read.redone),
            read.notes_read,
            tuple(read.kept),
            tuple(d for file in read.kept for d in self._kept[file]),
            {k: round(v, 4) for k, v in timings.items()},
        )

    def _read(self, timings: dict[str, float]) -> _Read:
        """Every collection as the notes are now: read, resolved and validated again only
        where a note changed."""
        started = time.perf_counter()
        found, found_diagnostics = discover(self.paths)
        digests = {
            seed.display: _digest(seed) for coll in found for seed in [*coll.files, *coll.models]
        }
        timings["discover"] = time.perf_counter() - started
        notes_read = 0
        redone: list[str] = []
        entries: list[_CollectionEntry] = []
        fresh: list[tuple[_CollectionEntry, GraphSource]] = []
        converter = Converter(self.settings.base_iri)
        for coll_files in found:
            fingerprint = _fingerprint(coll_files, digests)
            entry = self._collections.get(coll_files.name)
            if entry is not None and entry.fingerprint == fingerprint:
                entries.append(entry)
                continue
            redone.append(coll_files.name)
            mark = time.perf_counter()
            notes = []
            for seed in coll_files.files:
                note, read_now, kept_old = self._note(seed, digests[seed.display])
                notes_read += read_now
                if kept_old:
                    self._kept[seed.display] = [d for d in note.diagnostics if d.code in UNREAD]
                elif read_now:
                    self._kept.pop(seed.display, None)
                notes.append(note)
            timings["parse"] = timings.get("parse", 0.0) + time.perf_counter() - mark
            entry, source = self._collection(coll_files, fingerprint, notes, converter, timings)
            entries.append(entry)
            fresh.append((entry, source))
        self._validate(fresh, timings)
        self._collections = {e.collection.name: e for e in entries}
        live = {seed.display for coll in found for seed in coll.files}
        self._notes = {k: v for k, v in self._notes.items() if k in live}
        self._kept = {k: v for k, v in self._kept.items() if k in live}
        return _Read(
            snapshot_key(found, self.settings),
            entries,
            list(found_diagnostics),
            redone,
            notes_read,
            sorted(self._kept),
        )

    def _report(self, read: _Read) -> Report:
        diagnostics = list(read.diagnostics)
        files: dict[str, URIRef] = {}
        for e in read.entries:
            diagnostics.extend(e.diagnostics)
            files.update(e.files)
        diagnostics.extend(_kept_findings(read.kept))
        return merge([p for e in read.entries for p in e.parts], diagnostics, files)

    def _note(self, seed: SeedFile, digest: str) -> tuple[Note, int, bool]:
        """The note of ``seed`` (a fresh copy), whether it was parsed now, and whether its
        earlier version was kept because the new one broke."""
        entry = self._notes.get(seed.display)
        if entry is not None and entry.digest == digest:
            return pickle.loads(entry.pickled), 0, False
        note = read_file(seed)
        unread = _unread(note)
        if entry is not None and unread - entry.unread:
            broken = note
            note = pickle.loads(entry.pickled)
            note.diagnostics.extend(d for d in broken.diagnostics if d.code in unread)
            return note, 1, True
        self._notes[seed.display] = _NoteEntry(
            digest, pickle.dumps(note, pickle.HIGHEST_PROTOCOL), unread
        )
        return pickle.loads(self._notes[seed.display].pickled), 1, False

    def _collection(
        self,
        coll_files: CollectionFiles,
        fingerprint: str,
        notes: list[Note],
        converter: Converter,
        timings: dict[str, float],
    ) -> tuple[_CollectionEntry, GraphSource]:
        """The collection resolved, mapped and converted, and its graph for the shapes."""
        mark = time.perf_counter()
        if not self.settings.include_set_aside:
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
        timings["resolve"] = timings.get("resolve", 0.0) + time.perf_counter() - mark
        mark = time.perf_counter()
        base = self.settings.base_iri
        triples = list(collection_triples(coll, base, holds_iri))
        quads = converter.quads(coll.name, triples)
        timings["rdf"] = timings.get("rdf", 0.0) + time.perf_counter() - mark
        minter = Minter(base, coll.name, uri)
        files = {note.file: minter.file(note.name) for note in coll.notes}
        files.update({m.display: minter.file(m.name) for m in coll_files.models})
        graph = ValidationGraph(minter.collection)
        graph.addN((s, p, o, graph) for s, p, o in triples)
        entry = _CollectionEntry(fingerprint, coll, quads, [], coll.all_diagnostics(), files)
        return entry, (len(graph), lambda: graph)

    def _validate(
        self, fresh: list[tuple[_CollectionEntry, GraphSource]], timings: dict[str, float]
    ) -> None:
        """SHACL results of the collections read again (the others keep theirs)."""
        if not fresh:
            return
        mark = time.perf_counter()
        files: dict[str, URIRef] = {}
        for e, _source in fresh:
            files.update(e.files)
        # in the rebuild's own thread: forking beside a serving event loop is not safe
        found = Validation([source for _e, source in fresh], [], files, workers=1).parts()
        for (e, _source), parts in zip(fresh, found, strict=True):
            e.parts = parts
        timings["validate"] = time.perf_counter() - mark


UNREAD = frozenset(
    {"unparseable-statement", "unreadable-file", "line-too-long", "too-many-statements"}
)
"""Finding codes that say part of a note could not be read as written."""


def _unread(note: Note) -> Counter[str]:
    return Counter(
        d.code for d in note.diagnostics if d.code in UNREAD or d.severity is Severity.ERROR
    )


def _digest(seed: SeedFile) -> str:
    data, problem = read_bytes(seed)
    return hashlib.sha256(data).hexdigest() if data is not None else f"!{problem}"


def _fingerprint(coll: CollectionFiles, digests: dict[str, str]) -> str:
    h = hashlib.sha256()
    curation = coll.curation[1] if coll.curation else ""
    for text in (coll.name, coll.title or "", coll.description or "", curation):
        h.update(text.encode("utf-8", "surrogatepass") + b"\0")
    for seed in sorted([*coll.files, *coll.models], key=lambda s: (s.name, s.display)):
        h.update(f"{seed.name}\0{digests[seed.display]}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _kept_findings(kept: list[str]) -> list[Diagnostic]:
    return [
        Diagnostic(
            Severity.WARNING,
            "note-kept",
            file,
            1,
            "this note's latest edit could not be read whole (see its errors); the note is "
            "served as it was before that edit",
        )
        for file in kept
    ]
