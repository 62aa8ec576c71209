"""Service generations: what is served now, the next one built beside it, and the swap.

A generation owns everything made from one snapshot: its store and query workers, its answer
and body caches and the JSON API's tables (:class:`~app.api.service.Service`). Every request
is pinned to the generation current when it arrives (:class:`Pin`) and keeps it to its last
byte, so no answer mixes two generations. A reload rebuilds only what changed
(:mod:`app.rebuild`) off the event loop, starts the new generation's workers and makes its
tables, then swaps it in with one assignment; the old one closes once its last request ends.
A failed rebuild leaves the current generation serving and is reported by ``/health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send
from watchfiles import awatch

from app.api.service import Service
from app.config import Settings
from app.read import lookup
from app.seeds import discover
from app.store.seam import GraphStore
from app.store.snapshot import Snapshot

if TYPE_CHECKING:
    from app.rebuild import Rebuilder, Rebuilt
    from app.validate import Report

log = logging.getLogger("meshkg.reload")

FOLLOW_EVERY = 2.0
"""Seconds between looks at a remote server for a newly published version."""
STALE_CHECK = 2.0
"""Seconds a look at the notes' modification times is reused for (``/health`` is polled)."""


@dataclass(slots=True)
class Generation:
    number: int
    service: Service
    built: float = field(default_factory=time.time)
    active: int = 0
    retired: bool = False
    snapshot_header: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.snapshot_header = self.service.store.info.key.encode("ascii")

    def describe(self) -> dict[str, object]:
        info = self.service.store.info
        return {
            "number": self.number,
            "snapshot": info.key,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.built)),
            "triples": info.triples,
        }


@dataclass(slots=True)
class Reload:
    """The last reload: what it did, or why it failed."""

    finished: float
    ok: bool
    seconds: float
    error: str | None = None
    collections_read: tuple[str, ...] = ()
    notes_read: int = 0
    notes_kept: tuple[str, ...] = ()
    kept_findings: tuple[dict[str, object], ...] = ()  # why those notes were kept
    findings: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.finished)),
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "collections_read": list(self.collections_read),
            "notes_read": self.notes_read,
            "notes_kept": list(self.notes_kept),
            "kept_findings": list(self.kept_findings),
            "findings": self.findings,
            "timings": self.timings,
        }


@dataclass(frozen=True, slots=True)
class Findings:
    """What validating the served notes found, as the study overview shows it.

    ``state``: ``ready``; ``checking`` (started on first request, off the event loop);
    ``unavailable`` (served from a stored snapshot without its notes); ``failed`` (``error``).
    """

    state: str
    snapshot: str
    items: tuple[dict[str, object], ...] = ()
    error: str | None = None


class Generations:
    """The current generation, and reloads that replace it."""

    def __init__(
        self,
        first: Service,
        make: Callable[[Snapshot], Service],
        seeds: list[Path] | None = None,
        settings: Settings | None = None,
        store_path: Path | None = None,
    ) -> None:
        self.current = Generation(1, first)
        self._make = make
        self.seeds = seeds
        self._settings = settings or first.settings
        self._store_path = store_path
        self._rebuilder: Rebuilder | None = None
        self.last: Reload | None = None
        self._dirty = asyncio.Event()
        self._reloading = False
        self._stale_seen: tuple[float, bool] = (0.0, False)
        self._seeds_at_build = self._seeds_state()
        self._tasks: list[asyncio.Task[None]] = []
        self.reloads = 0
        self._findings: dict[str, Findings] = {}
        self.follow: Callable[[GraphStore], GraphStore | None] | None = None
        """For a store published elsewhere: the store of a newer published version, if any."""
        self.serve_store: Callable[[GraphStore], Service] | None = None
        """How a followed store becomes a service (set with ``follow``)."""
        self._checking: asyncio.Task[None] | None = None

    # --- requests -----------------------------------------------------------------------

    def pin(self) -> Generation:
        generation = self.current
        generation.active += 1
        return generation

    def release(self, generation: Generation) -> None:
        generation.active -= 1
        if generation.retired and generation.active == 0:
            _close(generation)

    # --- reloads ------------------------------------------------------------------------

    def request_reload(self) -> None:
        """Ask for a rebuild (a change was seen, or SIGHUP); requests while one runs coalesce
        into one more after it."""
        self._dirty.set()

    def rebuilder(self) -> Rebuilder:
        """Made at the first reload: rebuilding needs rdflib and pyshacl, which a service that
        never reloads does not load (its start stays fast)."""
        if self._rebuilder is None:
            from app.rebuild import Rebuilder

            assert self.seeds is not None
            self._rebuilder = Rebuilder(self.seeds, self._settings, self._store_path)
        return self._rebuilder

    async def start(self, watch: bool) -> None:
        """Start reloading on request (SIGHUP), and on changes to the notes with ``watch``; or,
        for a store published elsewhere, following the version published there."""
        if self.follow is not None:
            self._tasks.append(asyncio.create_task(self._following(self.follow)))
        if self.seeds is None:
            return
        self._tasks.append(asyncio.create_task(self._reloader()))
        loop = asyncio.get_running_loop()
        # not in the main thread (an embedded server): reloads by watching only
        with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        if watch:
            self._tasks.append(asyncio.create_task(self._watch()))
            self.request_reload()  # the first rebuild reads everything once: later ones don't

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # ended either way
                await task
        with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    async def _reloader(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self.reload()

    async def _watch(self) -> None:
        assert self.seeds is not None
        paths = [p for p in self.seeds if p.exists()]
        try:
            async for _changes in awatch(*paths, debounce=200, step=50, recursive=True):
                self.request_reload()
        except Exception:  # a watch that stops must say so: edits would go unseen
            log.exception("watching the notes stopped; SIGHUP still rebuilds")
            raise

    async def reload(self) -> bool:
        """Rebuild and swap; ``False`` (the current generation kept) when the rebuild failed."""
        rebuilder = self.rebuilder()
        self._reloading = True
        started = time.perf_counter()
        seeds = self._seeds_state()
        try:
            rebuilt = await asyncio.to_thread(rebuilder.rebuild)
            if rebuilt.snapshot.info.key == self.current.service.store.info.key:
                service = None  # the same notes as served: nothing to swap
            else:
                service = await self._prepare(rebuilt)
        except Exception as err:  # the reason is reported; the current generation serves on
            log.exception("reload failed; generation %s serves on", self.current.number)
            self.last = Reload(
                time.time(), False, time.perf_counter() - started, f"{type(err).__name__}: {err}"
            )
            return False
        finally:
            self._reloading = False
        if service is not None:
            self._swap(service)
        key = self.current.service.store.info.key
        self._findings[key] = Findings("ready", key, _finding_items(rebuilt.report))
        self._seeds_at_build = seeds
        self._stale_seen = (0.0, False)
        self.reloads += 1
        self.last = Reload(
            time.time(),
            True,
            time.perf_counter() - started,
            None,
            rebuilt.collections_read,
            rebuilt.notes_read,
            rebuilt.notes_kept,
            tuple(
                dict[str, object](file=d.file, line=d.line, code=d.code, message=d.message)
                for d in rebuilt.kept_because[:50]
            ),
            len(rebuilt.report.findings),
            rebuilt.timings,
        )
        log.warning(
            "generation %s serves snapshot %s (%s collection(s) and %s note(s) read again, %.2f s)",
            self.current.number,
            self.current.service.store.info.key,
            len(rebuilt.collections_read),
            rebuilt.notes_read,
            self.last.seconds,
        )
        return True

    async def _following(self, newer: Callable[[GraphStore], GraphStore | None]) -> None:
        """Look for a newly published version every :data:`FOLLOW_EVERY` seconds and serve it
        as the next generation (its caches and tables keyed by its content key)."""
        while True:
            await asyncio.sleep(FOLLOW_EVERY)
            try:
                store = await asyncio.to_thread(newer, self.current.service.store)
                if store is None:
                    continue
                assert self.serve_store is not None
                service = self.serve_store(store)
                await service.store.start()
                await asyncio.to_thread(lookup.tables, service.store)
            except Exception:  # the server is down or mid-change: the current one serves on
                log.warning("looking for a newer published version failed", exc_info=True)
                continue
            self._swap(service)
            self.reloads += 1
            log.warning(
                "generation %s serves the published version %s",
                self.current.number,
                service.store.info.key,
            )

    # --- findings ----------------------------------------------------------------------

    def findings(self) -> Findings:
        """The findings of the notes the current generation serves; a check is started (once)
        when none is known yet, and the answer meanwhile says it is running."""
        key = self.current.service.store.info.key
        known = self._findings.get(key)
        if known is not None:
            return known
        if self.seeds is None:
            return Findings("unavailable", key)
        if self._checking is None or self._checking.done():
            self._checking = asyncio.get_running_loop().create_task(self._check(key))
            self._tasks.append(self._checking)
        return Findings("checking", key)

    async def _check(self, key: str) -> None:
        """Check the notes in a process of its own: validating is pure Python, and in a thread
        it would hold the interpreter lock against every request for as long as it runs."""
        assert self.seeds is not None
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")  # a fresh interpreter, not a fork
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                items = await loop.run_in_executor(
                    pool, check_notes, list(self.seeds), self._settings
                )
        except Exception as err:  # shown on the overview; the service serves on
            log.exception("checking the notes failed")
            self._findings[key] = Findings("failed", key, error=f"{type(err).__name__}: {err}")
            return
        self._findings[key] = Findings("ready", key, items)

    async def _prepare(self, rebuilt: Rebuilt) -> Service:
        """The next generation, ready to answer everything before anyone sees it."""
        service = self._make(rebuilt.snapshot)
        try:
            await service.store.start()
            await asyncio.to_thread(lookup.tables, service.store)
        except BaseException:
            service.store.close()
            raise
        return service

    def _swap(self, service: Service) -> None:
        old = self.current
        self.current = Generation(old.number + 1, service)
        old.retired = True
        if old.active == 0:
            _close(old)

    # --- what is served -----------------------------------------------------------------

    def stale(self) -> bool:
        """Whether the notes on disk differ from what the current generation was built from
        (by the files' names and modification times; looked at every few seconds at most)."""
        if self.seeds is None:
            return False
        if self._reloading or self._dirty.is_set():
            return True
        checked, found = self._stale_seen
        now = time.monotonic()
        if now - checked > STALE_CHECK:
            found = self._seeds_state() != self._seeds_at_build
            self._stale_seen = (now, found)
        return found

    @property
    def reloading(self) -> bool:
        return self._reloading

    def _seeds_state(self) -> frozenset[tuple[str, int, int]]:
        if self.seeds is None:
            return frozenset()
        found, _ = discover(self.seeds)
        return frozenset(_stats(seed.path for coll in found for seed in coll.files))


def check_notes(seeds: list[Path], settings: Settings) -> tuple[dict[str, object], ...]:
    """The findings of the notes under ``seeds`` (run in a child process)."""
    from app.rebuild import Rebuilder

    return _finding_items(Rebuilder(seeds, settings, None).check())


def _finding_items(report: Report) -> tuple[dict[str, object], ...]:
    return tuple(
        {
            "level": f.level.value,
            "code": f.code,
            "message": f.message,
            "file": f.file,
            "line": f.line,
            "focus": f.focus,
            "origin": f.origin,
        }
        for f in report.findings
    )


def _stats(paths: Iterable[Path]) -> Iterable[tuple[str, int, int]]:
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        yield str(path), st.st_mtime_ns, st.st_size


def _close(generation: Generation) -> None:
    generation.service.store.close()


class Pin:
    """ASGI middleware: the request is served by the generation current when it arrived.

    The pinned :class:`Service` goes in the request's state, where routes, the answer cache
    and the observer read it; the generation is released when the response has been sent.
    Every answer names the snapshot it came from (``Meshkg-Snapshot``, written by the observer
    with the request id), so a client can tell answers of different generations apart.
    """

    def __init__(self, app: ASGIApp, generations: Generations) -> None:
        self.app = app
        self.generations = generations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        generation = self.generations.pin()
        state = scope.setdefault("state", {})
        state["service"] = generation.service
        state["snapshot"] = generation.snapshot_header  # the observer writes it on the answer
        try:
            await self.app(scope, receive, send)
        finally:
            self.generations.release(generation)
