"""A query as the service asks a store to answer it, and what comes back: plain values.

Routes build a :class:`QueryRequest` and read a :class:`QueryResult` whatever store answers
(worker processes over an embedded snapshot, or a remote server); nothing here depends on
the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

CUT_LINK = "urn:meshkg:result-cut"


@dataclass(frozen=True, slots=True)
class Cut:
    """The limit a result was cut at: so many rows (or triples), or so many bytes."""

    limit: int
    unit: str  # "rows" | "bytes"

    @property
    def link(self) -> str:
        return (
            f"{CUT_LINK}?limit={self.limit}"
            if self.unit == "rows"
            else f"{CUT_LINK}?bytes={self.limit}"
        )

    @property
    def header(self) -> str:
        """The ``Meshkg-Result-Cut`` header's value."""
        return f"{self.limit} {self.unit}"

    def note(self, items: str) -> str:
        if self.unit == "rows":
            return f"result cut at {self.limit} {items} by the service's result limit"
        return f"result cut at {self.limit} bytes by the service's answer size limit"


@dataclass(frozen=True, slots=True)
class QueryRequest:
    text: str
    form: str  # SELECT | ASK | CONSTRUCT | DESCRIBE
    media_type: str
    default_graphs: tuple[str, ...] | None  # None: the union of all graphs
    named_graphs: tuple[str, ...] | None  # None: every graph
    limit: int
    answer_bytes: int = 1 << 62
    base_iri: str | None = None  # relative IRIs in the text resolve against it (SPARQL 1.1 4.1.1.1)


@dataclass(frozen=True, slots=True)
class QueryResult:
    status: int
    body: bytes = b""
    media_type: str | None = None
    cut: Cut | None = None  # the limit, when the result was cut there
    count: int = 0
    code: str = ""
    message: str = ""
    seconds: float = 0.0  # the time it ran in its worker (waiting for one not included)


class QueryTimeout(Exception):
    """The query ran past the time limit; its worker was replaced."""

    def __init__(self, waited: float, ran: float) -> None:
        super().__init__(f"waited {waited:.2f} s, ran {ran:.2f} s")
        self.waited = waited
        self.ran = ran


class ServiceBusy(Exception):
    """No worker became free within the time limit."""


class WorkerStopped(Exception):
    """The worker evaluating the query stopped; ``reason`` says why, as a stable code."""

    def __init__(self, reason: str, detail: str, ran: float = 0.0) -> None:
        super().__init__(detail)
        self.reason = reason  # memory-limit | worker-crashed | store-unavailable
        self.ran = ran  # seconds the query had run in its worker
