"""User queries answered by a remote SPARQL server, held to the limits the embedded store keeps.

The query reaching here is the one :mod:`app.sparql.check` wrote out again: no ``SERVICE``,
no graph outside the served ones (the remote server *would* fetch a ``SERVICE`` or ``FROM``
IRI; the check stops it before it leaves). It is sent as written, never with the embedded
engine's own rewrites. The dataset is named explicitly on every request: the collections and
the ontology, never the server's whole store, which also holds the published version's
description and staging graphs.

Limits: at most ``processes`` queries in flight (the rest wait, and a wait past the time limit
is :class:`~app.store.query.ServiceBusy`); the time limit is the HTTP time-out, and a query
past it is :class:`~app.store.query.QueryTimeout`; the answer is read in chunks and the
connection dropped once it passes what the row and size limits could ever keep. Results are
parsed and written out again by :func:`app.sparql.results.answer`, so a cut answer says so
exactly as the embedded store's does. A server that cannot be reached answers 503
``store-unavailable``; nothing is cached about it, so the service recovers when it returns.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pyoxigraph as ox

from app.sparql import results
from app.store.query import QueryRequest, QueryResult, QueryTimeout, ServiceBusy
from app.store.sparql_http import (
    JSON_RESULTS,
    NTRIPLES,
    XSD_BOOLEAN,
    Dialect,
    RemoteUnavailable,
    SparqlClient,
    boolean_text,
)

_CHUNK = 1 << 16


class RemoteRunner:
    """A :class:`~app.store.seam.QueryRunner` whose queries run on a SPARQL server."""

    def __init__(
        self,
        client: SparqlClient,
        graphs: list[str],
        timeout: float,
        processes: int,
        ping: Callable[[], str | None],
    ) -> None:
        self.client = client
        self.graphs = graphs
        self._timeout = timeout
        self._processes = max(1, processes)
        self._slots = asyncio.Semaphore(self._processes)
        self._running: dict[int, float] = {}
        self._ping = ping

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def processes(self) -> int:
        return self._processes

    async def start(self) -> None:
        reason = await asyncio.to_thread(self._ping)
        if reason is not None:
            raise RemoteUnavailable(reason)

    def close(self) -> None:
        """Nothing of its own to stop: the client is closed by the store."""

    def long_running(self) -> int:
        now = time.monotonic()
        return sum(1 for began in self._running.values() if now - began > 0.25)

    async def unready(self) -> str | None:
        return await asyncio.to_thread(self._ping)

    def guards(self) -> tuple[str, ...]:
        return ("checked-before-sent",)

    def restarts(self) -> Mapping[str, int]:
        return {}

    async def run(self, request: QueryRequest) -> QueryResult:
        began = time.monotonic()
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self._timeout)
        except TimeoutError:
            raise ServiceBusy() from None
        waited = time.monotonic() - began
        token = id(request)
        self._running[token] = time.monotonic()
        try:
            return await asyncio.to_thread(self._run, request, self._timeout - waited, waited)
        finally:
            self._running.pop(token, None)
            self._slots.release()

    def _run(self, request: QueryRequest, budget: float, waited: float) -> QueryResult:
        started = time.monotonic()
        deadline = started + budget
        graph = request.form in ("CONSTRUCT", "DESCRIBE")
        text = request.text
        dialect = self.client.endpoints.dialect
        if dialect.own_describe and request.form == "DESCRIBE":
            text = described(text)
        if not dialect.typed_strings:
            text = plain_strings(text)
        if not dialect.iri_escapes:
            text = raw_iris(text)
        if request.base_iri:
            text = f"BASE <{request.base_iri}>\n{text}"
        default = (
            list(request.default_graphs) if request.default_graphs is not None else self.graphs
        )
        named = list(request.named_graphs) if request.named_graphs is not None else self.graphs
        try:
            answer = self.client.stream(
                text, NTRIPLES if graph else JSON_RESULTS, default, named, max(budget, 0.001)
            )
        except httpx.TimeoutException:
            raise QueryTimeout(waited, time.monotonic() - started) from None
        except RemoteUnavailable as err:
            return QueryResult(503, code="store-unavailable", message=str(err))
        try:
            if answer.status_code >= 400:
                answer.read()
                return _refused(answer)
            body = io.BufferedReader(_Body(answer, deadline), _CHUNK)
            # a server that stopped at a row limit of its own says so here (Virtuoso's
            # ResultSetMaxRows): the answer is then cut, and marked so
            limit = answer.headers.get("x-sparql-maxrows")
            cut_before = int(limit) if limit and limit.isdigit() else None
            # parsed as it arrives: once the row or size limit is reached, the rest is
            # never read and the connection is dropped
            if graph:
                triples = (q.triple for q in ox.parse(body, ox.RdfFormat.N_TRIPLES))
                result = results.answer(triples, request, cut_before)
            else:
                parsed = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
                result = _solutions(self.client.endpoints.dialect, parsed, request, cut_before)
        except httpx.TimeoutException:
            raise QueryTimeout(waited, time.monotonic() - started) from None
        except httpx.HTTPError as err:
            return QueryResult(503, code="store-unavailable", message=type(err).__name__)
        except (SyntaxError, ValueError) as err:
            return QueryResult(502, code="store-answer", message=f"the store's answer: {err}")
        finally:
            answer.close()
        return QueryResult(
            result.status,
            result.body,
            result.media_type,
            result.cut,
            result.count,
            result.code,
            result.message,
            time.monotonic() - started,
        )


_ESCAPED_IRI = re.compile(r"<(?:[A-Za-z0-9:/._~%\-]|\\u[0-9A-F]{4}|\\U[0-9A-F]{8})*>")
_UCHAR = re.compile(r"\\u([0-9A-F]{4})|\\U([0-9A-F]{8})")


def raw_iris(text: str) -> str:
    """The checked text with its IRIs' ``\\u`` escapes read, for a server that reads none.

    The checked text writes an IRI with every character but letters, digits and ``:/._~%-``
    escaped (:func:`app.sparql.check.rewrite`), so an IRI is a ``<…>`` of those characters and
    escapes, and nothing else in the text is: the escapes are read back there only. Such a
    server reads ``<…>`` by the grammar's IRI terminal wherever it stands (a lexer that does not
    depend on context, as Virtuoso's), which is the reading the check made.
    """
    return _ESCAPED_IRI.sub(lambda m: _unescaped(m.group()), text)


_XSD = "http://www.w3.org/2001/XMLSchema#"
_PREFIX = re.compile(r"PREFIX\s*([A-Za-z][\w.\-]*)?:\s*<([^<>\s]*)>", re.IGNORECASE)


def plain_strings(text: str) -> str:
    """The checked text with ``^^xsd:string`` taken off its literals, for a server that tells
    ``"x"^^xsd:string`` from ``"x"`` (in RDF 1.1 they are one literal; the graph holds plain
    ones). A string in the checked text is one double-quoted token with every quote inside
    escaped, so ``"…"^^`` is found only where a literal ends."""
    names = [re.escape(p or "") for p, iri in _PREFIX.findall(text) if _unescaped(iri) == _XSD]
    typed = [re.escape(f"<{_XSD}string>"), re.escape("<" + _XSD[:-1] + r"\u0023string>")]
    typed += [rf"{n}:string(?![\w.\-:])" for n in names]
    literal = re.compile(r'("(?:[^"\\]|\\.)*")\^\^(?:' + "|".join(typed) + ")")
    return literal.sub(lambda m: m.group(1), text)


def _unescaped(iri: str) -> str:
    return _UCHAR.sub(lambda u: chr(int(u.group(1) or u.group(2), 16)), iri)


_DESCRIBE = re.compile(r"(?s)([^{}]*?)\bDESCRIBE((?:\s*<[^<>\s]*>)+)\s*")


def described(text: str) -> str:
    """``DESCRIBE <a> <b>`` as the embedded store answers it (each resource's own triples), for
    a server whose DESCRIBE answers more; any other DESCRIBE is sent as written."""
    found = _DESCRIBE.fullmatch(text)
    if found is None:
        return text
    prologue, iris = found.groups()
    return f"{prologue}CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{{iris} }} ?s ?p ?o }}"


def _solutions(
    dialect: Dialect,
    parsed: ox.QuerySolutions | ox.QueryBoolean,
    request: QueryRequest,
    cut_before: int | None,
) -> QueryResult:
    """A table or boolean answer, with what the server's dialect changed undone."""
    if isinstance(parsed, ox.QuerySolutions):
        if request.form == "ASK" and dialect.ask_as_binding:  # a one-row table for ASK
            first = next(iter(parsed), None)
            value = first[0] if first is not None and len(first) else None
            truth = isinstance(value, ox.Literal) and value.value in ("1", "true")
            return QueryResult(200, results.boolean(truth, request.media_type), request.media_type)
        if dialect.numeric_booleans:
            variables = [v.value for v in parsed.variables]
            rows = (tuple(_boolean(t) for t in s) for s in parsed)
            return results.answer(results.Table(variables, rows), request, cut_before)
    return results.answer(parsed, request, cut_before)


def _boolean(term: results.OxTerm) -> results.OxTerm:
    if isinstance(term, ox.Literal) and term.datatype.value == XSD_BOOLEAN:
        return ox.Literal(boolean_text(term.value), datatype=term.datatype)
    return term


class _Body(io.RawIOBase):
    """An answer's body as a file the parser reads from as it arrives, until the deadline."""

    def __init__(self, answer: httpx.Response, deadline: float) -> None:
        self._chunks = answer.iter_bytes(_CHUNK)
        self._rest = b""
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._rest:
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout("the time limit passed while reading the answer")
            self._rest = next(self._chunks, b"")
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


def _refused(answer: httpx.Response) -> QueryResult:
    text = answer.text[:300].replace("\n", " ")
    return QueryResult(400, code="evaluation", message=f"the store refused the query: {text}")
