"""What the service asks of a graph store: the one seam between HTTP and the engine.

Routes, read models and pages talk to a :class:`GraphStore` only. The first implementation is
the embedded Oxigraph snapshot with its query worker processes (:mod:`app.store.embedded`); a
remote SPARQL 1.1 server (Oxigraph's own, Virtuoso) is the next, and nothing above this seam
changes for it: user queries go through :meth:`GraphStore.query` with the service's time, row
and size limits, and everything else the service reads (the API's tables, a resource's
document, counts, dumps) is asked for in plain terms (:mod:`app.terms`), never in an engine's
types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app.rdf.formats import RdfFormat
from app.store.info import Dump, SnapshotInfo
from app.store.query import QueryRequest, QueryResult
from app.terms import Iri, Row, Subject, Term, Triple


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """How the store is serving, for ``/info`` and ``/metrics``."""

    kind: str  # "embedded" | …
    served_from: str  # "memory" | "disk" | an endpoint's URL
    stored: bool  # a stored snapshot is behind it (a restart reopens it)
    query_processes: int
    network_guards: tuple[str, ...] = ()
    restarts: Mapping[str, int] = field(default_factory=dict)


class QueryRunner(Protocol):
    """What evaluates user queries for an embedded store: the worker pool of
    :mod:`app.sparql.engine`, given to the store by whoever starts the service."""

    @property
    def timeout(self) -> float: ...

    @property
    def processes(self) -> int: ...

    async def start(self) -> None: ...

    def close(self) -> None: ...

    async def run(self, request: QueryRequest) -> QueryResult: ...

    def long_running(self) -> int: ...

    async def unready(self) -> str | None: ...

    def guards(self) -> tuple[str, ...]: ...

    def restarts(self) -> Mapping[str, int]: ...


class GraphReader(Protocol):
    """A read-only graph of named collection graphs: what read models are made from."""

    @property
    def info(self) -> SnapshotInfo:
        """What the graph holds (collections, base IRI, triples) and its content key."""
        ...

    @property
    def directory(self) -> Path | None:
        """Where files derived from this graph (its dumps, the API's tables) may be kept."""
        ...

    def select(
        self,
        text: str,
        bind: Mapping[str, Term] | None = None,
        graphs: Sequence[str] | None = None,
    ) -> Iterator[Row]:
        """Rows of a SELECT over ``graphs`` (default: the union of every graph). Only for the
        service's own constant queries, values bound through ``bind``, never request text."""
        ...

    def match(
        self,
        subject: Subject | None,
        predicate: Iri | None,
        obj: Term | None,
        graphs: Sequence[str],
    ) -> Iterator[Triple]:
        """The triples of ``graphs`` matching a pattern (``None`` matches anything)."""
        ...

    def about(self, subjects: Sequence[Subject], graphs: Sequence[str]) -> Iterator[Triple]:
        """The triples of ``graphs`` whose subject is one of ``subjects``: one request for a
        page's many neighbours, where a remote store would otherwise make one per subject."""
        ...

    def linking(self, objects: Sequence[Term], graphs: Sequence[str]) -> Iterator[Triple]:
        """The triples of ``graphs`` whose object is one of ``objects`` (as :meth:`about`)."""
        ...

    def class_counts(self, collection: str | None = None) -> dict[str, int]:
        """Instances per class, by CURIE, in one collection or in all."""
        ...

    def dump(self, fmt: RdfFormat, collection: str | None = None) -> Dump:
        """A whole collection (or all) serialised in ``fmt``, as a file with an ETag."""
        ...

    def damage(self) -> str | None:
        """Why the stored graph can no longer be trusted, or ``None``."""
        ...


class GraphStore(GraphReader, Protocol):
    """A graph reader that also answers user queries, within the service's limits."""

    @property
    def timeout(self) -> float:
        """Seconds a user query may take, waiting for the engine included."""
        ...

    async def start(self) -> None:
        """Ready to answer (query workers started, connections made)."""

    def close(self) -> None:
        """Stop answering and release what :meth:`start` took; queries in flight end."""

    async def query(self, request: QueryRequest) -> QueryResult:
        """Evaluate a checked user query within the limits; raises ``QueryTimeout``,
        ``ServiceBusy`` or ``WorkerStopped`` (:mod:`app.store.query`)."""
        ...

    def crowded(self) -> bool:
        """Long queries hold nearly all the capacity: heavy clients should wait."""
        ...

    async def unready(self) -> str | None:
        """Why no user query can be answered now, or ``None``."""
        ...

    def status(self) -> StoreStatus: ...
