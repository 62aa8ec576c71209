"""Snapshots: a built graph in Oxigraph, in memory or on disk, with its dumps.

A snapshot is immutable. On disk it is a folder ``<root>/snapshots/<key>/`` holding the Oxigraph
store, ``meta.json`` and, as they are first asked for, the dumps; ``<root>/current`` names the
snapshot in use. The key is a content hash of the seeds and of everything else a build depends
on, so a service can reopen the snapshot of unchanged seeds without reading them again. A new
snapshot is written beside the old one and published by replacing ``current`` atomically:
readers never see a half-written store.

This module imports neither rdflib nor pyshacl, so reopening a snapshot starts fast.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from app import __version__
from app.config import Settings
from app.namespaces import ONTOLOGY_IRI, curie
from app.rdf.formats import RdfFormat
from app.seeds import CollectionFiles, discover, fingerprint
from app.store.files import Dumps, atomic_write, kept_dump
from app.store.info import SNAPSHOT_FORMAT, Dump, SnapshotInfo
from app.store.write import serialize
from app.terms import Blank, Iri, Literal, Row, Subject, Term, Triple

log = logging.getLogger("meshkg.store")
CURRENT = "current"
_UNION_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


class Snapshot:
    """A read-only graph with its metadata; dumps are written once, on first request."""

    def __init__(
        self,
        store: ox.Store,
        info: SnapshotInfo,
        directory: Path | None,
        *,
        on_disk: bool | None = None,
    ) -> None:
        self.store = store
        self.info = info
        self.directory = directory  # where the snapshot and its dumps live, if anywhere
        self.on_disk = directory is not None if on_disk is None else on_disk
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._dumps = Dumps(self._write_dump)
        self._class_counts: dict[str | None, dict[str, int]] = {}
        self._files = self._store_files() if self.on_disk else {}

    # --- making and opening ------------------------------------------------------------

    @classmethod
    def in_memory(cls, quads: Iterable[ox.Quad], info: SnapshotInfo) -> Snapshot:
        store = ox.Store()
        store.extend(quads)
        return cls(store, info, None)

    @classmethod
    def write(cls, root: Path, quads: Iterable[ox.Quad], info: SnapshotInfo) -> Snapshot:
        """Write a snapshot under ``root``, publish it as current and open it read-only."""
        snapshots = root / "snapshots"
        snapshots.mkdir(parents=True, exist_ok=True)
        final = snapshots / info.key
        if not (final / "meta.json").is_file():
            work = Path(tempfile.mkdtemp(prefix=f".{info.key}-", dir=snapshots))
            try:
                store = ox.Store(str(work / "store"))
                store.bulk_extend(quads)
                store.flush()
                store.optimize()
                del store  # closes the database before it is moved
                (work / "meta.json").write_text(info.to_json(), "utf-8")
                if final.exists():
                    shutil.rmtree(final)
                os.replace(work, final)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        previous = current_key(root)
        _publish(root, info.key)
        # the previous snapshot stays: a running service may still be reading it
        _prune(snapshots, keep={info.key, previous or info.key})
        return cls.open(root, info.key)

    @classmethod
    def open(cls, root: Path, key: str | None = None) -> Snapshot:
        """Open the current (or the named) snapshot under ``root`` read-only."""
        key = key or current_key(root)
        if key is None:
            raise FileNotFoundError(f"no snapshot in {root}")
        directory = root / "snapshots" / key
        info = SnapshotInfo.from_json((directory / "meta.json").read_text("utf-8"))
        if info.format != SNAPSHOT_FORMAT:
            raise FileNotFoundError(f"snapshot {key} has format {info.format}")
        return cls(ox.Store.read_only(str(directory / "store")), info, directory)

    def into_memory(self) -> Snapshot:
        """The same snapshot with its store copied into memory (dumps stay in its folder).

        Oxigraph answers the benchmark queries 3-5x faster from memory than from its on-disk
        store, for about the memory of the build; the service copies small snapshots.
        """
        if not self.on_disk:
            return self
        store = ox.Store()
        store.bulk_extend(self.store.quads_for_pattern(None, None, None, None))
        return Snapshot(store, self.info, self.directory, on_disk=False)

    def opener(self) -> Callable[[], ox.Store]:
        """How a query worker process gets this store: its own read-only open of the stored
        database, or (in memory) the store it inherited when it was forked."""
        if self.on_disk and self.directory is not None:
            path = str(self.directory / "store")
            return lambda: ox.Store.read_only(path)
        store = self.store
        return lambda: store

    def _store_files(self) -> dict[str, tuple[int, int, int]]:
        """What the database's files are (size, modification time, inode): a snapshot never
        changes, so any difference later is damage."""
        found: dict[str, tuple[int, int, int]] = {}
        if self.directory is None:
            return found
        try:
            for entry in os.scandir(self.directory / "store"):
                if entry.name.endswith(".sst") or entry.name.startswith(("MANIFEST", "CURRENT")):
                    st = entry.stat()
                    found[entry.name] = (st.st_size, st.st_mtime_ns, st.st_ino)
        except OSError:
            pass
        return found

    def damage(self) -> str | None:
        """Why the database files served from disk are not those opened, or ``None``.

        Cheap (one directory listing), so readiness checks can afford it every time: reading
        the store would not tell, as what was read before stays in the engine's caches.
        """
        if not self.on_disk:
            return None
        now = self._store_files()
        if now == self._files:
            return None
        changed = sorted(set(now.items()) ^ set(self._files.items()))
        return f"the stored snapshot's files changed on disk while served ({changed[0][0]}, …)"

    # --- reading (app.store.seam.GraphReader) ----------------------------------------

    def select(
        self,
        text: str,
        bind: Mapping[str, Term] | None = None,
        graphs: Sequence[str] | None = None,
    ) -> Iterator[Row]:
        options: dict[str, object] = {}
        if graphs is None:
            options["use_default_graph_as_union"] = True
        else:
            options["default_graph"] = [ox.NamedNode(g) for g in graphs]
        if bind:
            options["substitutions"] = {ox.Variable(k): _to_ox(v) for k, v in bind.items()}
        solutions = self.store.query(text, **options)  # type: ignore[arg-type]
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        for solution in solutions:
            yield {
                name: _from_ox(term)
                for name, term in zip(names, solution, strict=True)
                if term is not None
            }

    def match(
        self,
        subject: Subject | None,
        predicate: Iri | None,
        obj: Term | None,
        graphs: Sequence[str],
    ) -> Iterator[Triple]:
        store = self.store
        s = _to_ox(subject) if subject is not None else None
        p = ox.NamedNode(predicate.value) if predicate is not None else None
        o = _to_ox(obj) if obj is not None else None
        for graph in graphs:
            for q in store.quads_for_pattern(s, p, o, ox.NamedNode(graph)):  # type: ignore[arg-type]
                yield Triple(
                    _from_ox(q.subject),  # type: ignore[arg-type]
                    _iri(q.predicate.value),
                    _from_ox(q.object),
                )

    def about(self, subjects: Sequence[Subject], graphs: Sequence[str]) -> Iterator[Triple]:
        for subject in subjects:
            yield from self.match(subject, None, None, graphs)

    def linking(self, objects: Sequence[Term], graphs: Sequence[str]) -> Iterator[Triple]:
        for obj in objects:
            yield from self.match(None, None, obj, graphs)

    # --- dumps -------------------------------------------------------------------------

    def dump(self, fmt: RdfFormat, collection: str | None = None) -> Dump:
        """The dump of one collection or of all, written on first request and then reused."""
        return self._dumps.get(fmt, collection)

    def serialize(self, fmt: RdfFormat, collection: str | None = None) -> bytes:
        """One collection's graph, or all collections' (not the ontology), in ``fmt``."""
        graphs = self._graphs(collection)
        if fmt.quads:
            quads = (q for g in graphs for q in self.store.quads_for_pattern(None, None, None, g))
            return serialize(quads, fmt)
        triples = self.store.query(_UNION_QUERY, default_graph=graphs)
        assert isinstance(triples, ox.QueryTriples)
        return serialize(triples, fmt)

    @property
    def collection_graphs(self) -> list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph]:
        return [ox.NamedNode(c.graph) for c in self.info.collections]

    @property
    def graph_names(self) -> list[str]:
        """Every named graph a query may use: the collections and the ontology."""
        return [c.graph for c in self.info.collections] + [ONTOLOGY_IRI]

    def _graphs(
        self, collection: str | None
    ) -> list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph]:
        return [self._graph_of(collection)] if collection else self.collection_graphs

    def _graph_of(self, collection: str) -> ox.NamedNode:
        for c in self.info.collections:
            if c.name == collection:
                return ox.NamedNode(c.graph)
        raise KeyError(collection)

    def _dump_dir(self) -> Path:
        if self.directory is not None:
            target = self.directory / "dumps"
            try:
                target.mkdir(exist_ok=True)
                return target
            except OSError:
                pass  # a read-only snapshot folder: fall back to scratch space
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="meshkg-dumps-")
        return Path(self._scratch.name)

    def _write_dump(self, fmt: RdfFormat, collection: str | None) -> Dump:
        name = f"{collection or 'all'}{fmt.extension}"
        return kept_dump(
            self._dump_dir() / _safe_file_name(name),
            f"{self.info.key}/{name}",
            fmt.media_type,
            lambda: self.serialize(fmt, collection),
        )

    # --- facts for the service and the CLI --------------------------------------------

    def class_counts(self, collection: str | None = None) -> dict[str, int]:
        """Instances per class (rdf:type triples), by CURIE; counted once per snapshot (a
        tenth to a third of a second at ×100 the corpus)."""
        found = self._class_counts.get(collection)
        if found is None:
            found = self._class_counts[collection] = self._count_classes(collection)
        return dict(found)  # the caller's own: the kept counts stay as counted

    def _count_classes(self, collection: str | None) -> dict[str, int]:
        graphs = self._graphs(collection)
        query = "SELECT ?c (COUNT(*) AS ?n) WHERE { ?s a ?c } GROUP BY ?c"
        rows = self.store.query(query, default_graph=graphs)
        assert isinstance(rows, ox.QuerySolutions)
        out = {}
        for row in rows:
            cls, n = row["c"], row["n"]
            assert isinstance(cls, ox.NamedNode)
            assert isinstance(n, ox.Literal)
            out[curie(cls.value)] = int(n.value)
        return dict(sorted(out.items()))

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


def snapshot_key(found: list[CollectionFiles], settings: Settings) -> str:
    """What a snapshot depends on: the seeds, the program and the settings of the graph."""
    return fingerprint(
        found, f"meshkg {__version__}", settings.base_iri, str(settings.include_set_aside)
    )


def reopen(paths: list[Path], settings: Settings, root: Path) -> Snapshot | None:
    """The stored snapshot of ``paths`` if the seeds are unchanged, else ``None``.

    Only hashes the seeds; nothing is parsed, so a service restarts in about a second. A
    snapshot of at most ``settings.memory_quads`` quads comes back copied into memory.

    A damaged snapshot (a file missing, truncated or failing its checksums, an unreadable
    ``meta.json``) is never served: it is removed, the damage is logged, and ``None`` says the
    graph must be built again from the notes, which are unchanged.
    """
    found, _ = discover(paths)
    key = snapshot_key(found, settings)
    if not (current_key(root) == key or (root / "snapshots" / key / "meta.json").is_file()):
        return None
    try:
        snapshot = Snapshot.open(root, key)
        if snapshot.info.triples <= settings.memory_quads:
            return snapshot.into_memory()  # reads every quad: checksums and all
        snapshot.store.query("ASK { ?s ?p ?o }")
        return snapshot
    except (OSError, RuntimeError, ValueError, TypeError, KeyError) as err:
        log.warning(
            "the stored snapshot %s is damaged (%s); it is built again from the notes",
            key,
            _first_line(err),
        )
        shutil.rmtree(root / "snapshots" / key, ignore_errors=True)
        return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]


def current_key(root: Path) -> str | None:
    try:
        key = (root / CURRENT).read_text("utf-8").strip()
    except OSError:
        return None
    return key if key and (root / "snapshots" / key / "meta.json").is_file() else None


def _publish(root: Path, key: str) -> None:
    atomic_write(root / CURRENT, key.encode() + b"\n")


def _prune(snapshots: Path, keep: set[str]) -> None:
    """Remove older snapshots and leftovers of interrupted writes."""
    for child in snapshots.iterdir():
        if child.name not in keep and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)


def _safe_file_name(name: str) -> str:
    """A file name for any collection name; the hash keeps two names from meeting."""
    readable = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
    return f"{readable[:60]}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


_OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


@lru_cache(maxsize=1 << 16)  # predicates, classes and datatypes come again and again
def _iri(value: str) -> Iri:
    return Iri(value)


def _from_ox(term: _OxTerm) -> Term:
    if isinstance(term, ox.NamedNode):
        return _iri(term.value)
    if isinstance(term, ox.Literal):
        return Literal(term.value, _iri(term.datatype.value), term.language)
    if isinstance(term, ox.BlankNode):
        return Blank(term.value)
    raise ValueError(f"a quoted triple cannot cross the store seam: {term}")


def _to_ox(term: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, Iri):
        return ox.NamedNode(term.value)
    if isinstance(term, Blank):
        return ox.BlankNode(term.value)
    if term.language:
        return ox.Literal(term.value, language=term.language)
    return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype.value))
