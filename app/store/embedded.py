"""The embedded store: an Oxigraph snapshot in this process, user queries in worker processes.

The service's own reads (tables, documents, counts) run in process on the snapshot's store:
they are constant queries the service wrote, bounded by the graph. User queries run in the
worker pool of :mod:`app.sparql.engine`, with the time, memory, network and answer limits.
Terms cross the seam as :mod:`app.terms` values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from app.rdf.formats import RdfFormat
from app.store.info import Dump, SnapshotInfo
from app.store.query import QueryRequest, QueryResult
from app.store.seam import QueryRunner, StoreStatus
from app.store.snapshot import Snapshot
from app.terms import Iri, Row, Subject, Term, Triple


class EmbeddedStore:
    """A :class:`~app.store.seam.GraphStore` over a :class:`Snapshot` and a query pool."""

    def __init__(self, snapshot: Snapshot, pool: QueryRunner) -> None:
        self.snapshot = snapshot
        self.pool = pool

    @property
    def info(self) -> SnapshotInfo:
        return self.snapshot.info

    @property
    def timeout(self) -> float:
        return self.pool.timeout

    async def start(self) -> None:
        await self.pool.start()

    def close(self) -> None:
        self.pool.close()
        self.snapshot.close()

    async def query(self, request: QueryRequest) -> QueryResult:
        return await self.pool.run(request)

    def crowded(self) -> bool:
        pool = self.pool
        return pool.long_running() >= pool.processes - max(1, pool.processes // 4)

    @property
    def directory(self) -> Path | None:
        return self.snapshot.directory

    def select(
        self,
        text: str,
        bind: Mapping[str, Term] | None = None,
        graphs: Sequence[str] | None = None,
    ) -> Iterator[Row]:
        return self.snapshot.select(text, bind, graphs)

    def match(
        self,
        subject: Subject | None,
        predicate: Iri | None,
        obj: Term | None,
        graphs: Sequence[str],
    ) -> Iterator[Triple]:
        return self.snapshot.match(subject, predicate, obj, graphs)

    def about(self, subjects: Sequence[Subject], graphs: Sequence[str]) -> Iterator[Triple]:
        return self.snapshot.about(subjects, graphs)

    def linking(self, objects: Sequence[Term], graphs: Sequence[str]) -> Iterator[Triple]:
        return self.snapshot.linking(objects, graphs)

    def class_counts(self, collection: str | None = None) -> dict[str, int]:
        return self.snapshot.class_counts(collection)

    def dump(self, fmt: RdfFormat, collection: str | None = None) -> Dump:
        return self.snapshot.dump(fmt, collection)

    def damage(self) -> str | None:
        return self.snapshot.damage()

    async def unready(self) -> str | None:
        return await self.pool.unready()

    def status(self) -> StoreStatus:
        pool = self.pool
        return StoreStatus(
            kind="embedded",
            served_from="disk" if self.snapshot.on_disk else "memory",
            stored=self.snapshot.directory is not None,
            query_processes=pool.processes,
            network_guards=pool.guards(),
            restarts=dict(pool.restarts()),
        )
