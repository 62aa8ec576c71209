"""The graph on a SPARQL 1.1 server: publishing a build there, and serving from it.

**Publishing** (``meshkg build --publish URL``) puts each collection's graph, and the ontology,
into staging graphs named by the build's content key (Graph Store Protocol PUT), checks that
each holds the triples it should, and then switches readers in one SPARQL Update request: the
served graphs are replaced by their staging twins and the snapshot's description (its
:class:`~app.store.info.SnapshotInfo`, in the graph :data:`META`) is written, all in one
request, which the server applies as one transaction. A publish that fails or is stopped
before the switch leaves the served version as it was; its staging graphs are dropped by the
next publish.

**Serving** (``meshkg serve --store URL``): :class:`RemoteStore` is a
:class:`~app.store.seam.GraphStore` whose reads are SPARQL queries to the server, always over
the served graphs named explicitly (never the server's whole dataset, which holds the
description and staging graphs too). User queries go through the query runner it is given
(:mod:`app.sparql.remote`), which checks and limits them as the embedded store's workers do.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from app.namespaces import ONTOLOGY_IRI, PREFIXES, curie
from app.rdf.formats import RdfFormat
from app.store.files import Dumps, kept_dump
from app.store.info import Dump, SnapshotInfo
from app.store.query import QueryRequest, QueryResult
from app.store.seam import QueryRunner, StoreStatus
from app.store.sparql_http import SparqlClient
from app.store.write import serialize
from app.terms import Blank, Iri, Literal, Row, Subject, Term, Triple

T = TypeVar("T")

META = "urn:meshkg:snapshot"
"""The graph that describes the served version: one triple, the snapshot's ``meta.json``."""
_INFO = "urn:meshkg:info"
MK_SOURCE = PREFIXES["mk"] + "Source"
STAGING = "urn:meshkg:staging:"
"""The prefix of staging graphs: ``urn:meshkg:staging:{key}:{n}``."""


class NotPublished(Exception):
    """The server holds no published graph (nothing to serve)."""


# --- writing terms into query text ------------------------------------------------------------


def nt(term: Term) -> str:
    """A term in N-Triples syntax, escaped so that no value can end the term early."""
    if isinstance(term, Iri):
        return "<" + "".join(_IRI_ESCAPES.get(c, c) for c in term.value) + ">"
    if isinstance(term, Blank):
        return "_:" + "".join(c if c.isalnum() else "_" for c in term.value)
    text = '"' + "".join(_STRING_ESCAPES.get(c, c) for c in term.value) + '"'
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        return f"{text}^^{nt(term.datatype)}"
    return text


_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_STRING_ESCAPES |= {chr(c): f"\\u{c:04X}" for c in range(0x20) if chr(c) not in _STRING_ESCAPES}
_IRI_ESCAPES = {c: f"\\u{ord(c):04X}" for c in '<>"{}|^`\\ '}
_IRI_ESCAPES |= {chr(c): f"\\u{c:04X}" for c in range(0x21)}


def with_values(text: str, bind: Mapping[str, Term]) -> str:
    """``text`` with a trailing ``VALUES`` clause binding ``bind`` (SPARQL 1.1 §10.2.2): what
    the embedded store's substitutions do, in the standard's syntax."""
    names = list(bind)
    head = " ".join(f"?{n}" for n in names)
    row = " ".join(nt(bind[n]) for n in names)
    return f"{text}\nVALUES ({head}) {{ ({row}) }}"


# --- publishing -------------------------------------------------------------------------------


_SOURCES = "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH <{}> {{ ?s a <{}> }} }}"


def publish(
    client: SparqlClient, graphs: Mapping[str, bytes], counts: Mapping[str, int], info: SnapshotInfo
) -> None:
    """Publish a build: ``graphs`` maps each served graph to its N-Triples, ``counts`` to the
    triples it holds. Raises on any failure before the switch, leaving readers where they
    were. Each staged graph is checked twice before readers see it: its triples counted, and
    (for a collection) its sources counted by a query, as a reader's query would find them."""
    _drop_staging(client)
    staged = {g: f"{STAGING}{info.key}:{n}" for n, g in enumerate(graphs)}
    for graph, data in graphs.items():
        client.put_graph(staged[graph], data)
    for graph, staging in staged.items():
        found = _count(client, staging)
        if found != counts[graph]:
            raise RuntimeError(
                f"{staging} holds {found} triples after the upload, not {counts[graph]}; "
                "readers stay on the version they have"
            )
    for c in info.collections:
        rows = list(client.select(_SOURCES.format(staged[c.graph], MK_SOURCE)))
        found = int(rows[0]["n"].value) if rows and "n" in rows[0] else 0
        if found != c.sources:
            raise RuntimeError(
                f"{staged[c.graph]} holds {found} sources after the upload, not {c.sources}; "
                "readers stay on the version they have"
            )
    old = _served_graphs(client)
    gone = [g for g in old if g not in graphs]
    described = f"<{META}> <{_INFO}> {nt(Literal(info.to_json()))} .\n".encode()
    if client.endpoints.dialect.atomic_updates:
        steps = [f"DROP SILENT GRAPH <{g}>" for g in gone]
        for graph, staging in staged.items():
            steps += [
                f"DROP SILENT GRAPH <{graph}>",
                f"ADD <{staging}> TO <{graph}>",
                f"DROP SILENT GRAPH <{staging}>",
            ]
        steps += [
            f"DROP SILENT GRAPH <{META}>",
            f"INSERT DATA {{ GRAPH <{META}> {{ {described.decode().rstrip()} }} }}",
        ]
        client.update(" ;\n".join(steps))
        return
    # a server that applies a request's operations one by one: the switch is one operation
    staged[META] = f"{STAGING}{info.key}:meta"
    client.put_graph(staged[META], described)
    client.update(_switch(staged, gone))
    client.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in staged.values()))


def _switch(staged: Mapping[str, str], gone: Sequence[str]) -> str:
    """One DELETE/INSERT operation replacing every served graph (and the description) by its
    staging twin: one operation is one transaction on every server."""
    cleared = " ".join(f"<{g}>" for g in (*staged, *gone))
    pairs = " ".join(f"(<{s}> <{g}>)" for g, s in staged.items())
    return (
        "DELETE { GRAPH ?g { ?s ?p ?o } } INSERT { GRAPH ?t { ?a ?b ?c } } WHERE {\n"
        f"  {{ VALUES ?g {{ {cleared} }} GRAPH ?g {{ ?s ?p ?o }} }}\n"
        f"  UNION {{ VALUES (?from ?t) {{ {pairs} }} GRAPH ?from {{ ?a ?b ?c }} }}\n"
        "}"
    )


def _count(client: SparqlClient, graph: str) -> int:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    rows = list(client.select(query))
    term = rows[0].get("n") if rows else None
    return int(term.value) if term is not None else 0


def _drop_staging(client: SparqlClient) -> None:
    found = client.select(
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
        f'FILTER STRSTARTS(STR(?g), "{STAGING}") }}'
    )
    names = [row["g"].value for row in found if "g" in row]
    if names:
        client.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in names))


def _served_graphs(client: SparqlClient) -> list[str]:
    info = read_info(client)
    if info is None:
        return []
    return [c.graph for c in info.collections] + [ONTOLOGY_IRI]


def read_info(client: SparqlClient) -> SnapshotInfo | None:
    """The description of the published version, or ``None`` when nothing is published."""
    rows = list(
        client.select(f"SELECT ?info WHERE {{ GRAPH <{META}> {{ <{META}> <{_INFO}> ?info }} }}")
    )
    if not rows or "info" not in rows[0]:
        return None
    return SnapshotInfo.from_json(rows[0]["info"].value)


# --- serving ----------------------------------------------------------------------------------


class RemoteStore:
    """A :class:`~app.store.seam.GraphStore` over a published version on a SPARQL server."""

    def __init__(
        self, client: SparqlClient, runner: QueryRunner, cache: Path | None = None
    ) -> None:
        info = read_info(client)
        if info is None:
            raise NotPublished(
                f"{client.endpoints.origin} holds no published meshkg graph; "
                "run meshkg build --publish first"
            )
        self.client = client
        self.runner = runner
        self._info = info
        self.graphs = [c.graph for c in info.collections] + [ONTOLOGY_IRI]
        self._scratch = None if cache is not None else tempfile.TemporaryDirectory(prefix="meshkg-")
        root = cache if cache is not None else Path(self._scratch.name)  # type: ignore[union-attr]
        self._directory = root / info.key
        self._directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._dumps = Dumps(self._write_dump)
        self._counts: dict[str | None, dict[str, int]] = {}

    # --- what it is --------------------------------------------------------------------

    @property
    def info(self) -> SnapshotInfo:
        return self._info

    @property
    def directory(self) -> Path | None:
        """A local folder for files derived from this version (the API's tables, dumps)."""
        return self._directory

    @property
    def timeout(self) -> float:
        return self.runner.timeout

    def damage(self) -> str | None:
        return None

    def status(self) -> StoreStatus:
        return StoreStatus(
            kind="remote",
            served_from=self.client.endpoints.query,
            stored=True,
            query_processes=self.runner.processes,
            network_guards=self.runner.guards(),
        )

    # --- life ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.runner.start()

    def close(self) -> None:
        self.runner.close()
        self.client.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    async def unready(self) -> str | None:
        return await self.runner.unready()

    def crowded(self) -> bool:
        return self.runner.long_running() >= max(1, self.runner.processes)

    async def query(self, request: QueryRequest) -> QueryResult:
        return await self.runner.run(request)

    # --- reads ---------------------------------------------------------------------------

    def select(
        self,
        text: str,
        bind: Mapping[str, Term] | None = None,
        graphs: Sequence[str] | None = None,
    ) -> Iterator[Row]:
        query = with_values(text, bind) if bind else text
        # the named graphs too: a dataset given by default-graph-uri alone has none, and the
        # service's queries ask GRAPH ?g of the collections
        return self.client.select(
            query, default=list(graphs) if graphs else self.graphs, named=self.graphs
        )

    def match(
        self,
        subject: Subject | None,
        predicate: Iri | None,
        obj: Term | None,
        graphs: Sequence[str],
    ) -> Iterator[Triple]:
        s = nt(subject) if subject is not None else "?s"
        p = nt(predicate) if predicate is not None else "?p"
        o = nt(obj) if obj is not None else "?o"
        if graphs:
            query = f"SELECT * WHERE {{ GRAPH ?g {{ {s} {p} {o} }} }}"
            for row in self.client.select(query, default=list(graphs), named=list(graphs)):
                yield Triple(
                    subject if subject is not None else row["s"],  # type: ignore[arg-type]
                    predicate if predicate is not None else row["p"],  # type: ignore[arg-type]
                    obj if obj is not None else row["o"],
                )

    def about(self, subjects: Sequence[Subject], graphs: Sequence[str]) -> Iterator[Triple]:
        for chunk in _chunks(list(subjects)):
            values = " ".join(nt(x) for x in chunk)
            query = f"SELECT ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} VALUES ?s {{ {values} }} }}"
            for row in self.client.select(query, default=list(graphs), named=list(graphs)):
                yield Triple(row["s"], row["p"], row["o"])  # type: ignore[arg-type]

    def linking(self, objects: Sequence[Term], graphs: Sequence[str]) -> Iterator[Triple]:
        for chunk in _chunks(list(objects)):
            values = " ".join(nt(x) for x in chunk)
            query = f"SELECT ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} VALUES ?o {{ {values} }} }}"
            for row in self.client.select(query, default=list(graphs), named=list(graphs)):
                yield Triple(row["s"], row["p"], row["o"])  # type: ignore[arg-type]

    def class_counts(self, collection: str | None = None) -> dict[str, int]:
        with self._lock:
            found = self._counts.get(collection)
        if found is None:
            query = "SELECT ?c (COUNT(*) AS ?n) WHERE { ?s a ?c } GROUP BY ?c"
            found = {}
            for row in self.client.select(query, default=self._collection_graphs(collection)):
                cls, n = row.get("c"), row.get("n")
                if isinstance(cls, Iri) and n is not None:
                    found[curie(cls.value)] = int(n.value)
            found = dict(sorted(found.items()))
            with self._lock:
                self._counts[collection] = found
        return dict(found)

    def _collection_graphs(self, collection: str | None) -> list[str]:
        if collection is None:
            return [c.graph for c in self._info.collections]
        return [c.graph for c in self._info.collections if c.name == collection]

    def dump(self, fmt: RdfFormat, collection: str | None = None) -> Dump:
        """A collection (or all) in ``fmt``, read from the server once and kept locally."""
        return self._dumps.get(fmt, collection)

    def _write_dump(self, fmt: RdfFormat, collection: str | None) -> Dump:
        name = f"{collection or 'all'}{fmt.extension}"
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]  # a file name for any name
        return kept_dump(
            self._directory / f"dump-{digest}{fmt.extension}",
            f"{self._info.key}/{name}",
            fmt.media_type,
            lambda: self._serialize(fmt, collection),
        )

    def _serialize(self, fmt: RdfFormat, collection: str | None) -> bytes:
        graphs = self._collection_graphs(collection)
        if fmt.quads:
            quads: list[ox.Quad] = []
            for graph in graphs:
                name = ox.NamedNode(graph)
                quads += [
                    ox.Quad(t.subject, t.predicate, t.object, name) for t in self._triples([graph])
                ]
            return serialize(quads, fmt)
        return serialize(self._triples(graphs), fmt)

    def _triples(self, graphs: list[str]) -> list[ox.Triple]:
        query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
        answer = self.client.stream(query, "application/n-triples", graphs, None, 600)
        try:
            data = answer.read()
        finally:
            answer.close()
        return [q.triple for q in ox.parse(data, ox.RdfFormat.N_TRIPLES)]


def _chunks(items: list[T], size: int = 500) -> Iterator[list[T]]:
    """Items in requests of at most ``size``: a query text stays well under servers' limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
