"""SPARQL evaluation in worker processes, with limits that hold for any query.

Oxigraph evaluates a query inside Rust; a thread cannot be stopped there, and nothing bounds
what it allocates. So user queries run in a small pool of worker processes, each with its own
view of the snapshot (a read-only open of the stored database, or the in-memory store
inherited at fork), and each bounded the way only a process can be:

* **time**: a query that outlives the time limit (counted from when it asked for a worker, so
  a wait in the queue counts too) has its worker killed and replaced, and the client gets an
  explicit error while the other workers keep answering;
* **memory**: a worker's address space may grow by ``memory_bytes`` beyond its size once its
  store is open (``RLIMIT_AS``); an allocation past it fails, Oxigraph aborts the process,
  and the client is told the query ran past the memory limit;
* **network**: before it opens the store a worker makes outgoing connections impossible for
  itself (:mod:`app.sparql.isolation`), whatever a query asks for;
* **stack**: a query is evaluated on a thread with a large stack (address space, not memory,
  until used), so the engine's parser and planner, which recurse once per level of a query's
  structure, run out of neither for anything the text check lets through;
* **CPU**: a query still running after :data:`LONG_QUERY` seconds has its thread given the
  lowest priority (nice 19) and confined to the upper half of the CPUs, so the event loop and
  short queries in the other workers (there are more workers than cores) keep the CPU, while
  the long query still moves on with what they leave;
* **answer size**: results are serialised in the worker, capped at the row limit and at
  ``answer_bytes``, so only bounded bytes cross the pipe: a request pipe the worker reads
  blocking, and an answer pipe the event loop reads without blocking as the bytes arrive.

A worker that stops (past its memory, or crashed) is replaced and counted by reason, so the
service and its metrics say what happened; nothing is swallowed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import fcntl
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import stat
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from app.sparql import results
from app.sparql.isolation import IsolationUnavailable, available, isolate
from app.sparql.plan import per_row_optionals
from app.store.query import (
    QueryRequest,
    QueryResult,
    QueryTimeout,
    ServiceBusy,
    WorkerStopped,
)

StoreOpener = Callable[[], ox.Store]
log = logging.getLogger("meshkg.engine")

_STACK = 1 << 30  # address space reserved for the evaluating thread's stack; used as needed
UNREADABLE_FOR = 30.0
"""Seconds a query's finding that the store cannot be read keeps the service unready."""
LONG_QUERY = 0.25
"""Seconds after which a query counts as long: its worker yields the CPU to the others."""
_ALL_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
_LONG_CPUS = _ALL_CPUS[len(_ALL_CPUS) // 2 :]  # where long queries run: half the CPUs, the last
_TERM_OVERHEAD = 24  # what a term adds to an answer besides its value, at least
_STORAGE_ERRORS = ("Corruption", "IO error", "I/O error")
_OUT_OF_MEMORY = 3  # a worker's exit code when an allocation failed in Python
_CRASHED = 70  # its exit code when its serving thread ended on an unforeseen error


@dataclass(frozen=True, slots=True)
class WorkerLimits:
    """What every worker is held to besides the time limit."""

    isolation: str = "auto"  # auto | netns | seccomp
    memory_bytes: int = 1 << 30


def execute(store: ox.Store, req: QueryRequest) -> QueryResult:
    """Evaluate one query and serialise its result (runs in a worker)."""
    options: dict[str, object] = {"base_iri": req.base_iri}
    if req.default_graphs is None:
        options["use_default_graph_as_union"] = True
    else:
        options["default_graph"] = [ox.NamedNode(g) for g in req.default_graphs]
    if req.named_graphs is not None:
        options["named_graphs"] = [ox.NamedNode(g) for g in req.named_graphs]
    try:
        return results.answer(_query(store, req.text, options), req)
    except SyntaxError as err:
        return QueryResult(400, code="syntax", message=f"the query does not parse: {err}")
    except MemoryError:
        return QueryResult(503, code="memory-limit")
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        if str(err).startswith(_STORAGE_ERRORS):  # RocksDB's own words for a damaged store
            return QueryResult(503, code="store-unavailable", message="the store could not be read")
        # Oxigraph's evaluation errors may quote what a remote answered; none is passed on
        return QueryResult(400, code="evaluation", message="the query could not be evaluated")


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


_HEADER = struct.Struct("!Q")  # the length of the pickled frame that follows


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _send(fd: int, value: object) -> None:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _HEADER.pack(len(body)))
    _write_all(fd, body)  # not concatenated: answers run to megabytes


def _address_space() -> int | None:
    """This process's address space in bytes (Linux), to set a memory limit relative to it."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


def _close_sockets() -> None:
    """Close the sockets inherited at fork (the service's listening socket, its clients'
    connections): a worker talks through pipes only, and a guard against new connections
    does nothing about open ones."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return
    for name in names:
        fd = int(name)
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)


def _worker_main(
    requests: Connection, answers: int, opener: StoreOpener, limits: WorkerLimits
) -> None:
    """A worker's life: keep off the network, then answer on a thread with a large stack."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    os.environ["RUST_BACKTRACE"] = "0"  # one line on stderr when Oxigraph aborts, not a trace
    _close_sockets()
    try:
        guards = isolate(limits.isolation)  # before any thread: namespaces need one thread
    except IsolationUnavailable as err:
        _send(answers, {"ok": False, "error": str(err)})
        os._exit(0)
    threading.stack_size(_STACK)
    ended: list[int] = [_CRASHED]  # how the serving thread ended, as the worker's exit code

    def serve() -> None:
        try:
            _serve(requests, answers, opener, limits, guards)
            ended[0] = 0
        except MemoryError:  # anywhere, pickling included: past the memory limit
            ended[0] = _OUT_OF_MEMORY

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join()
    os._exit(ended[0])


def _serve(
    requests: Connection,
    answers: int,
    opener: StoreOpener,
    limits: WorkerLimits,
    guards: tuple[str, ...],
) -> None:
    try:
        store = opener()
    except Exception as err:  # a damaged or vanished store: the parent reports it
        _send(answers, {"ok": False, "error": f"the store cannot be opened ({type(err).__name__})"})
        return
    size = _address_space()
    if size is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = size + limits.memory_bytes
        if hard == resource.RLIM_INFINITY or soft <= hard:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    _send(answers, {"ok": True, "guards": guards, "thread": threading.get_native_id()})
    while True:
        try:
            data = requests.recv_bytes()
        except (EOFError, OSError):
            return
        request: QueryRequest = pickle.loads(data)
        try:
            result = execute(store, request)
        except MemoryError:
            result = QueryResult(503, code="memory-limit")
        except Exception as err:  # reported to the parent as a 500, never swallowed
            result = QueryResult(500, code="internal", message=type(err).__name__)
        try:
            _send(answers, result)
        except OSError:
            return
        if result.code == "memory-limit":
            raise MemoryError  # what a failed allocation left behind is not worth keeping


class _Frame:
    """One frame being read from a worker's answer pipe, on the event loop, as it arrives.

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


def _expire(future: asyncio.Future[Any]) -> None:
    """A wait past its deadline: what waited gets ``TimeoutError``."""
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
    def __init__(self, opener: StoreOpener, limits: WorkerLimits) -> None:
        ctx = multiprocessing.get_context("fork")
        child_requests, self.requests = ctx.Pipe(duplex=False)  # (reader, writer)
        self.answer_fd, answer_write = os.pipe()
        _widen(answer_write)
        os.set_blocking(self.answer_fd, False)
        self.process = ctx.Process(
            target=_worker_main,
            args=(child_requests, answer_write, opener, limits),
            daemon=True,
        )
        self.process.start()
        child_requests.close()
        os.close(answer_write)
        self.hello: dict[str, object] | None = None
        self.thread = 0  # the evaluating thread's id, whose CPU priority a long query lowers
        self.lowered = False

    async def frame(self, deadline: float) -> bytes:
        """The next frame this worker writes, by ``deadline`` (the event loop's clock)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        reader = _Frame(self.answer_fd, future)
        timer = loop.call_at(deadline, _expire, future)
        loop.add_reader(self.answer_fd, reader.readable)
        try:
            return await future
        finally:
            loop.remove_reader(self.answer_fd)
            timer.cancel()

    def stop(self) -> None:
        """Close the pipes and kill the process if it still runs; it is reaped later.

        Not waited for: a killed worker whose thread runs at the lowest priority may take a
        while to be scheduled and exit, and the event loop must not wait for that.
        """
        with contextlib.suppress(OSError):
            self.requests.close()
        with contextlib.suppress(OSError):
            os.close(self.answer_fd)
        if self.process.exitcode is None:
            with contextlib.suppress(OSError):
                self.process.kill()

    def kill(self) -> int | None:
        """Stop the process and wait (a few seconds at most) until it is reaped; its exit code."""
        self.stop()
        self.process.join(timeout=5)
        return self.process.exitcode


def _reap(loop: asyncio.AbstractEventLoop, worker: _Worker) -> None:
    """Reap a worker that has closed its end of the sentinel; it may still be tearing its
    memory down, not yet waitable, so look again shortly until it is."""
    if worker.process.exitcode is None:  # a wait that does not block
        loop.call_later(0.05, _reap, loop, worker)


@dataclass(slots=True)
class PoolStats:
    """What the pool has done, for ``/info`` and ``/metrics``."""

    restarts: Counter[str] = field(default_factory=Counter)  # by reason
    guards: tuple[str, ...] = ()
    broken: str | None = None  # why no worker could start, while none could


class _Idle:
    """The idle workers, each handed to the request that has waited longest for one.

    ``asyncio.Queue`` only wakes the request waiting longest when a worker is put back; a
    request arriving meanwhile finds the worker there and takes it, and the one woken finds
    none and waits again, at the back. Under a steady load a few requests then wait for many
    turns, for far longer than any query runs. Here a worker put back goes straight to the
    first request waiting. With none waiting, the worker that answered last is taken first
    (a stack): a light load keeps one worker busy and lets the others sleep.
    """

    def __init__(self) -> None:
        self._free: list[_Worker] = []  # only while no request waits
        self._waiting: collections.deque[asyncio.Future[_Worker]] = collections.deque()

    def put(self, worker: _Worker) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # not given up (its time ran out, or its client left)
                waiter.set_result(worker)
                return
        self._free.append(worker)

    def take_all(self) -> list[_Worker]:
        taken, self._free = self._free, []
        return taken

    async def get(self, deadline: float) -> _Worker:
        """The next idle worker; ``TimeoutError`` when none is free by ``deadline``."""
        if self._free:
            return self._free.pop()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Worker] = loop.create_future()
        self._waiting.append(waiter)
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.put(waiter.result())  # handed over just as its request was given up
            raise
        finally:
            timer.cancel()


class QueryPool:
    """Worker processes that evaluate user queries under a time, memory and network limit."""

    def __init__(
        self,
        opener: StoreOpener,
        processes: int,
        timeout: float,
        limits: WorkerLimits | None = None,
    ) -> None:
        self.opener = opener
        self.processes = processes
        self.timeout = timeout
        self.limits = limits or WorkerLimits()
        self._idle: _Idle | None = None
        self._all: set[_Worker] = set()
        self.stats = PoolStats()
        self._long: set[_Worker] = set()  # workers whose query has run past LONG_QUERY
        self._checked: tuple[float, str | None] | None = None  # (when, why not ready)
        self._unreadable: float | None = None  # when a query last found the store unreadable
        self._checking: asyncio.Lock | None = None

    async def start(self) -> None:
        """Start the workers and wait until each has opened its store and kept off the network.

        Raises ``RuntimeError`` when a worker cannot do so at all (a guard that was asked for
        by name is not available here, or the store does not open): serving would then be a
        lie.
        """
        self._idle = _Idle()
        for _ in range(self.processes):
            self._add()
        deadline = asyncio.get_running_loop().time() + 60
        starting = self._idle.take_all()
        for worker in starting:
            try:
                await self._greet(worker, deadline)
            except (WorkerStopped, TimeoutError) as err:
                self.close()
                raise RuntimeError(str(err) or "a query worker did not start in time") from err
        for worker in starting:
            self._idle.put(worker)
        if not self.stats.guards:
            why = "; ".join(f"{g}: {r}" for g, r in available().items() if r)
            log.warning(
                "query workers run without a network guard (%s): only the query check keeps "
                "them from fetching",
                why or self.limits.isolation,
            )

    def _add(self) -> None:
        worker = _Worker(self.opener, self.limits)
        self._all.add(worker)
        assert self._idle is not None
        self._idle.put(worker)
        # reaped as soon as it exits, whenever and however: killed, crashed, or unable to start
        # while it waited in the queue (its last frame stays readable in its pipe meanwhile)
        sentinel = worker.process.sentinel
        asyncio.get_running_loop().add_reader(sentinel, self._exited, worker, sentinel)

    @staticmethod
    def _exited(worker: _Worker, sentinel: int) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(sentinel)
        _reap(loop, worker)

    async def _greet(self, worker: _Worker, deadline: float) -> None:
        """Read a new worker's first frame: whether it could open the store and isolate."""
        try:
            hello = pickle.loads(await worker.frame(deadline))
        except TimeoutError:
            # the request's time ran out while a new worker was still starting (a busy machine
            # forks slowly): that is the time limit, not a crash (TimeoutError is an OSError)
            raise
        except (EOFError, OSError) as err:
            self._retire(worker, "worker-crashed")
            raise WorkerStopped("worker-crashed", "a query worker stopped while starting") from err
        if not hello.get("ok"):
            self.stats.broken = str(hello.get("error"))
            self._retire(worker, "store-unavailable")
            raise WorkerStopped("store-unavailable", str(hello.get("error")))
        self.stats.broken = None
        worker.hello = hello
        worker.thread = int(hello.get("thread") or 0)
        guards = hello.get("guards", ())
        assert isinstance(guards, tuple)
        self.stats.guards = guards

    async def run(self, request: QueryRequest, deadline: float | None = None) -> QueryResult:
        """Evaluate ``request`` by ``deadline`` (default: the time limit from now).

        Raises :class:`ServiceBusy` when no worker came free by then, :class:`QueryTimeout`
        when the query did not finish by then, :class:`WorkerStopped` when its worker stopped.
        """
        assert self._idle is not None, "the pool is not started"
        loop = asyncio.get_running_loop()
        asked = loop.time()
        if deadline is None:
            deadline = asked + self.timeout
        try:
            worker = await self._idle.get(deadline)
        except TimeoutError as err:
            raise ServiceBusy from err
        started = loop.time()
        lower: asyncio.TimerHandle | None = None
        try:
            if worker.hello is None:
                await self._greet(worker, deadline)
            worker.requests.send_bytes(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
            lower = loop.call_later(LONG_QUERY, self._lower, worker)
            data = await worker.frame(deadline)
        except WorkerStopped:
            raise
        except asyncio.CancelledError:
            self._replace(worker, "abandoned")
            raise
        except TimeoutError as err:
            self._replace(worker, "time-limit")
            raise QueryTimeout(started - asked, loop.time() - started) from err
        except (EOFError, OSError) as err:
            reason = self._replace(worker, None)
            raise WorkerStopped(
                reason, "the query stopped its worker", loop.time() - started
            ) from err
        finally:
            if lower is not None:
                lower.cancel()
            self._long.discard(worker)
        result: QueryResult = pickle.loads(data)
        if result.code == "store-unavailable":
            self._unreadable = loop.time()
            log.warning("a query found the store unreadable")
        if result.code == "memory-limit":
            self._replace(worker, "memory-limit")  # it stops by itself after saying so
            ran = loop.time() - started
            raise WorkerStopped("memory-limit", "the query ran past the memory limit", ran)
        if worker.lowered and not self._raise(worker):
            self._recycle(worker)
        else:
            self._idle.put(worker)
        return dataclasses.replace(result, seconds=loop.time() - started)

    def guards(self) -> tuple[str, ...]:
        """The network guards the workers run under (known once the first has started)."""
        return tuple(self.stats.guards)

    def restarts(self) -> dict[str, int]:
        """Workers stopped and replaced, by reason."""
        return dict(self.stats.restarts)

    def long_running(self) -> int:
        """How many workers are busy with a query that has run past :data:`LONG_QUERY`."""
        return len(self._long)

    def _lower(self, worker: _Worker) -> None:
        """A long query: its thread gets the lowest priority (a share of the CPU when others
        want it, not nothing: it still finishes under load) on half the CPUs, until it is
        answered. A CPU it shares runs slower for others even so (its caches, and on a virtual
        machine the host's sibling threads), so the other half is kept free of long queries."""
        self._long.add(worker)
        if worker.thread:
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, worker.thread, 19)
                worker.lowered = True
            with contextlib.suppress(OSError, AttributeError):
                os.sched_setaffinity(worker.thread, _LONG_CPUS)

    def _raise(self, worker: _Worker) -> bool:
        """Give a worker back its priority; False where that takes a privilege not held."""
        try:
            os.setpriority(os.PRIO_PROCESS, worker.thread, 0)
            os.sched_setaffinity(worker.thread, _ALL_CPUS)
        except (OSError, AttributeError):
            return False
        worker.lowered = False
        return True

    def _recycle(self, worker: _Worker) -> None:
        """Replace a worker that cannot get its priority back (not a failure: not counted)."""
        self._discard(worker)
        self._add()

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker without waiting for it; it is reaped when it has exited."""
        self._all.discard(worker)
        self._long.discard(worker)
        worker.stop()

    async def unready(self, seconds: float = 2.0) -> str | None:
        """Why no query can be answered now, or ``None`` when a worker answered one.

        A worker evaluates a query over the store (not a constant), so a store that cannot be
        read, workers that cannot start and workers all busy for ``seconds`` are all seen; and
        so is a store that a query found unreadable in the last :data:`UNREADABLE_FOR` seconds
        (a probe reads little of it). The answer is kept for a second, and probes asked for
        meanwhile wait for the one running, so frequent probes cost one query a second.
        """
        loop = asyncio.get_running_loop()
        if self.stats.broken is not None:
            return f"a query worker could not start: {self.stats.broken}"
        if self._unreadable is not None and loop.time() - self._unreadable < UNREADABLE_FOR:
            ago = loop.time() - self._unreadable
            return f"a query found the store unreadable {ago:.0f} s ago"
        if self._checking is None:
            self._checking = asyncio.Lock()
        async with self._checking:
            if self._checked is not None and loop.time() - self._checked[0] < 1.0:
                return self._checked[1]
            why = await self._probe(loop.time() + seconds)
            self._checked = (loop.time(), why)
            return why

    async def _probe(self, deadline: float) -> str | None:
        probe = QueryRequest("ASK { ?s ?p ?o }", "ASK", results.JSON_RESULTS, None, None, 1)
        try:
            result = await self.run(probe, deadline)
        except ServiceBusy:
            return "every query worker is busy"
        except QueryTimeout:
            return "a query over the store did not finish in time"
        except WorkerStopped as err:
            return self.stats.broken or str(err)
        if result.status != 200:
            return result.message or result.code
        return None

    def _retire(self, worker: _Worker, reason: str) -> None:
        self.stats.restarts[reason] += 1
        self._discard(worker)
        self._add()

    def _replace(self, worker: _Worker, reason: str | None) -> str:
        """Stop a worker and start a fresh one; why it stopped, when ``reason`` is not known.

        A worker that died by SIGABRT was aborted by Oxigraph on a failed allocation, and one
        that exited with :data:`_OUT_OF_MEMORY` failed an allocation in Python: past its
        memory limit either way. Any other end is a crash, logged with its exit code.
        """
        if reason is None:  # it stopped by itself (its pipe closed): reaped at once
            code = worker.kill()
            self._all.discard(worker)
            self._long.discard(worker)
            memory = code in (-signal.SIGABRT, _OUT_OF_MEMORY)
            reason = "memory-limit" if memory else "worker-crashed"
            log.warning("a query worker stopped (exit code %s): %s", code, reason)
        else:
            self._discard(worker)
        self.stats.restarts[reason] += 1
        self._add()
        return reason

    @property
    def killed(self) -> int:
        return sum(self.stats.restarts.values())

    def close(self) -> None:
        for worker in self._all:
            worker.stop()
        for worker in self._all:
            worker.process.join(timeout=5)
        self._all.clear()
