"""SPARQL evaluation in worker processes, with a time limit that holds for any query.

Oxigraph evaluates a query inside Rust; a thread cannot be stopped there. So user queries run
in a small pool of worker processes, each with its own view of the snapshot (a read-only open
of the stored database, or the in-memory store inherited at fork). A query that outlives the
time limit has its worker killed and replaced, and the client gets an explicit error; the
other workers keep answering meanwhile. Results are serialised in the worker, capped at the
result limit, so only bytes cross the pipe: a request pipe the worker reads blocking, and an
answer pipe the event loop reads without blocking as the bytes arrive, no thread in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import multiprocessing
import os
import pickle
import signal
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import pyoxigraph as ox

from app.api import results
from app.api.optional_plan import per_row_optionals

StoreOpener = Callable[[], ox.Store]


@dataclass(frozen=True, slots=True)
class QueryRequest:
    text: str
    form: str  # SELECT | ASK | CONSTRUCT | DESCRIBE
    media_type: str
    default_graphs: tuple[str, ...] | None  # None: the union of all graphs
    named_graphs: tuple[str, ...] | None  # None: every graph
    limit: int


@dataclass(frozen=True, slots=True)
class QueryResult:
    status: int
    body: bytes = b""
    media_type: str | None = None
    cut: int | None = None  # the limit, when the result was cut there
    count: int = 0
    code: str = ""
    message: str = ""


class QueryTimeout(Exception):
    """The query ran past the time limit; its worker was replaced."""


class ServiceBusy(Exception):
    """No worker became free in time."""


def execute(store: ox.Store, req: QueryRequest) -> QueryResult:
    """Evaluate one query and serialise its result (runs in a worker)."""
    options: dict[str, object] = {}
    if req.default_graphs is None:
        options["use_default_graph_as_union"] = True
    else:
        options["default_graph"] = [ox.NamedNode(g) for g in req.default_graphs]
    if req.named_graphs is not None:
        options["named_graphs"] = [ox.NamedNode(g) for g in req.named_graphs]
    try:
        answer = _query(store, req.text, options)
        if isinstance(answer, ox.QueryBoolean):
            return QueryResult(200, results.boolean(bool(answer), req.media_type), req.media_type)
        if isinstance(answer, ox.QuerySolutions):
            variables = [v.value for v in answer.variables]
            rows: list[tuple[results.Term, ...]] = []
            for solution in answer:
                if len(rows) == req.limit:
                    break
                rows.append(tuple(solution))  # in the order of ``variables``
            cut = req.limit if len(rows) == req.limit and _more(answer) else None
            body = results.solutions(variables, rows, req.media_type, cut)
            return QueryResult(200, body, req.media_type, cut, len(rows))
        triples: list[ox.Triple] = []
        for triple in answer:
            if len(triples) == req.limit:
                break
            triples.append(triple)
        cut = req.limit if len(triples) == req.limit and _more(answer) else None
        fmt = results.graph_format(req.media_type)
        return QueryResult(200, results.graph(triples, fmt, cut), req.media_type, cut, len(triples))
    except SyntaxError as err:
        return QueryResult(400, code="syntax", message=f"the query does not parse: {err}")
    except results.CannotCut:
        return QueryResult(
            422,
            code="result-too-large",
            message=(
                f"the result has more than {req.limit} rows and {req.media_type} cannot say it "
                "was cut; add a LIMIT, or ask for JSON, XML or Turtle, which mark a cut result"
            ),
        )
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        return QueryResult(
            400, code="evaluation", message=f"the query could not be evaluated: {err}"
        )


def _query(
    store: ox.Store, text: str, options: dict[str, object]
) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
    """Evaluate the text in the form Oxigraph plans best (see ``optional_plan``)."""
    planned = per_row_optionals(text)
    if planned is not None:
        try:
            return store.query(planned, **options)  # type: ignore[arg-type]
        except SyntaxError:
            pass  # evaluated as written below, which reports its own error or answers
    return store.query(text, **options)  # type: ignore[arg-type]


def _more(answer: ox.QuerySolutions | ox.QueryTriples) -> bool:
    for _ in answer:
        return True
    return False


_HEADER = struct.Struct("!Q")  # the length of the pickled answer that follows


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _worker_main(requests: Connection, answers: int, opener: StoreOpener) -> None:
    """A worker's life: open the store, then answer requests until the request pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    store = opener()
    while True:
        try:
            data = requests.recv_bytes()
        except (EOFError, OSError):
            break
        request: QueryRequest = pickle.loads(data)
        try:
            result = execute(store, request)
        except Exception as err:  # reported to the parent as a 500, never swallowed
            result = QueryResult(500, code="internal", message=type(err).__name__)
        body = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _write_all(answers, _HEADER.pack(len(body)))
            _write_all(answers, body)  # not concatenated: answers run to megabytes
        except OSError:
            break
    os._exit(0)


class _Answer:
    """One answer being read from a worker's answer pipe, on the event loop, as it arrives.

    The pipe is non-blocking (the event loop watches it) and a large answer spans many
    pipe-fulls, so bytes are gathered until the length announced in the frame header is in.
    """

    def __init__(self, fd: int, future: asyncio.Future[bytes]) -> None:
        self.fd, self.future = fd, future
        self.buffer = bytearray()

    def readable(self) -> None:
        if self.future.done():
            return
        try:
            chunk = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError as err:
            self.future.set_exception(err)
            return
        if not chunk:
            self.future.set_exception(EOFError("the worker closed its answer pipe"))
            return
        self.buffer += chunk
        if len(self.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.buffer)
            if len(self.buffer) >= _HEADER.size + size:
                self.future.set_result(bytes(self.buffer[_HEADER.size : _HEADER.size + size]))


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


_PIPE_SIZE = 1 << 20  # Linux's default ceiling for an unprivileged process


def _widen(fd: int) -> None:
    """Let a whole answer of up to a megabyte sit in the pipe, not 64 KB of it.

    With the default size a worker writing a 90 KB answer waits until the event loop has read
    the first part, so it cannot take the next query meanwhile.
    """
    with contextlib.suppress(OSError, AttributeError):  # elsewhere than Linux: keep the default
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


class _Worker:
    def __init__(self, opener: StoreOpener) -> None:
        ctx = multiprocessing.get_context("fork")
        child_requests, self.requests = ctx.Pipe(duplex=False)  # (reader, writer)
        self.answer_fd, answer_write = os.pipe()
        _widen(answer_write)
        os.set_blocking(self.answer_fd, False)
        self.process = ctx.Process(
            target=_worker_main, args=(child_requests, answer_write, opener), daemon=True
        )
        self.process.start()
        child_requests.close()
        os.close(answer_write)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.requests.close()
        with contextlib.suppress(OSError):
            os.close(self.answer_fd)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class QueryPool:
    """Worker processes that evaluate user queries under a time limit."""

    def __init__(self, opener: StoreOpener, processes: int, timeout: float) -> None:
        self.opener = opener
        self.processes = processes
        self.timeout = timeout
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self.killed = 0

    def start(self) -> None:
        self._idle = asyncio.Queue()
        for _ in range(self.processes):
            self._add()

    def _add(self) -> None:
        worker = _Worker(self.opener)
        self._all.add(worker)
        assert self._idle is not None
        self._idle.put_nowait(worker)

    async def run(self, request: QueryRequest) -> QueryResult:
        assert self._idle is not None, "the pool is not started"
        try:
            worker = await asyncio.wait_for(self._idle.get(), timeout=self.timeout)
        except TimeoutError as err:
            raise ServiceBusy from err
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()
        reader = _Answer(worker.answer_fd, answer)
        started = time.monotonic()
        timer = loop.call_later(self.timeout, _expire, answer)
        try:
            worker.requests.send_bytes(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
            loop.add_reader(worker.answer_fd, reader.readable)
            try:
                data = await answer
            finally:
                loop.remove_reader(worker.answer_fd)
        except (TimeoutError, asyncio.CancelledError, EOFError, OSError) as err:
            self._replace(worker)
            if isinstance(err, asyncio.CancelledError):
                raise
            if isinstance(err, TimeoutError):
                raise QueryTimeout(time.monotonic() - started) from err
            return QueryResult(500, code="internal", message="the query worker stopped")
        finally:
            timer.cancel()
        self._idle.put_nowait(worker)
        result: QueryResult = pickle.loads(data)
        return result

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker that ran too long (or was abandoned) and start a fresh one."""
        self.killed += 1
        self._all.discard(worker)
        worker.kill()
        self._add()

    def close(self) -> None:
        for worker in list(self._all):
            worker.kill()
        self._all.clear()
