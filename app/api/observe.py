"""What the service did, for the people who run it: a structured access log and metrics.

Every request gets an id (the client's ``X-Request-Id`` when it is a sane one, else a new
one), sent back in ``X-Request-Id`` and written in one JSON line of the access log with its
route, status, time, bytes, whether the answer came from the cache, and for SPARQL the time in
the query worker and the outcome (``cut``, or the error code of a refusal, a time-out, a
memory stop). The same events feed Prometheus metrics at ``/metrics``: requests and latencies
by route, refusals by reason (including those the HTTP server makes before a request reaches
the application), query worker restarts by reason, the answer cache's hits and misses.

Routes are labelled by the part of the service they belong to (``/sparql``, ``/api``, data
IRIs, ``/dumps``, …), never by the raw path, so a crawler cannot grow the metrics without
bound. Log lines are gathered and written a few times a second, not one write per request.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

import orjson
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from app.api.generations import Generations

REQUEST_ID = b"x-request-id"
SNAPSHOT = b"meshkg-snapshot"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_FIXED_ROUTES = (
    "/sparql",
    "/api",
    "/dumps",
    "/static",
    "/docs",
    "/openapi.json",
    "/health",
    "/ready",
    "/info",
    "/metrics",
    "/version",
    "/.well-known/void",
)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class AccessLog:
    """JSON lines to stderr or a file, gathered and written at most a few times a second."""

    def __init__(self, target: str) -> None:
        self.enabled = target != "off"
        self._out: IO[bytes] | None = None
        self._own = False
        if target == "-":
            self._out = sys.stderr.buffer
        elif self.enabled:
            self._out = open(target, "ab")  # noqa: SIM115 - closed by close()
            self._own = True
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, record: dict[str, object]) -> None:
        if not self.enabled:
            return
        self._pending.append(orjson.dumps(record) + b"\n")
        if len(self._pending) >= 512:
            self.flush()
        elif not self._scheduled:
            try:
                asyncio.get_running_loop().call_later(0.2, self.flush)
                self._scheduled = True
            except RuntimeError:  # no event loop (a refusal written at shutdown): at once
                self.flush()

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending or self._out is None:
            return
        data, self._pending = b"".join(self._pending), []
        try:
            self._out.write(data)
            self._out.flush()
        except (OSError, ValueError):
            pass  # a closed or full log never stops the service

    def close(self) -> None:
        self.flush()
        if self._own and self._out is not None:
            self._out.close()


class _Histogram:
    """Counts per latency bucket and their sum: plain numbers, updated on the event loop."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(_LATENCY_BUCKETS) + 1)  # the last one: above every bucket
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative, as Prometheus has them."""
        out, running = [], 0
        for bound, count in zip((*_LATENCY_BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


class Metrics:
    """The service's figures, kept as plain counters on the event loop (its only writer) and
    turned into Prometheus metrics only when scraped: a request pays a dictionary update, not
    a lock and a label lookup."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.latency: dict[str, _Histogram] = {}
        self.refusals: Counter[str] = Counter()
        self.query_seconds = _Histogram()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_RequestCollector(self))

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests[(route, method, str(status))] += 1
        found = self.latency.get(route)
        if found is None:
            found = self.latency[route] = _Histogram()
        found.observe(seconds)

    def watch(self, generations: Generations) -> None:
        self.registry.register(_ServiceCollector(generations))


class _RequestCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        m = self.metrics
        requests = CounterMetricFamily(
            "meshkg_requests",
            "HTTP requests answered, by route, method and status",
            labels=["route", "method", "status"],
        )
        for labels, count in sorted(m.requests.items()):
            requests.add_metric(list(labels), count)
        yield requests
        latency = HistogramMetricFamily(
            "meshkg_request_seconds",
            "Time from a request's arrival to the end of its answer, by route",
            labels=["route"],
        )
        for route, histogram in sorted(m.latency.items()):
            latency.add_metric([route], histogram.buckets(), histogram.total)
        yield latency
        refusals = CounterMetricFamily(
            "meshkg_refusals",
            "Requests refused or stopped, by reason (the error code of the answer)",
            labels=["reason"],
        )
        for reason, count in sorted(m.refusals.items()):
            refusals.add_metric([reason], count)
        yield refusals
        query = HistogramMetricFamily(
            "meshkg_query_seconds",
            "Time SPARQL queries spent in a query worker (waiting for one included)",
            labels=[],
        )
        query.add_metric([], m.query_seconds.buckets(), m.query_seconds.total)
        yield query


class _ServiceCollector(Collector):
    """Figures the service keeps anyway, read when metrics are scraped."""

    def __init__(self, generations: Generations) -> None:
        self.generations = generations

    def collect(self) -> Iterable[Metric]:
        service = self.generations.current.service
        status = service.store.status()
        restarts = CounterMetricFamily(
            "meshkg_worker_restarts",
            "Query workers stopped and replaced, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(status.restarts.items()):
            restarts.add_metric([reason], count)
        yield restarts
        answers = service.answers.stats()
        hits = CounterMetricFamily(
            "meshkg_cache_hits", "Requests answered from the answer cache", labels=[]
        )
        hits.add_metric([], answers.hits)
        yield hits
        misses = CounterMetricFamily(
            "meshkg_cache_misses", "Cacheable requests the answer cache did not hold", labels=[]
        )
        misses.add_metric([], answers.misses)
        yield misses
        cached = GaugeMetricFamily("meshkg_cache_bytes", "Bytes of answers kept")
        cached.add_metric([], answers.bytes)
        yield cached
        running = GaugeMetricFamily(
            "meshkg_queries_running", "SPARQL queries being checked or evaluated"
        )
        running.add_metric([], service.clients.running())
        yield running
        workers = GaugeMetricFamily("meshkg_query_workers", "Query worker processes")
        workers.add_metric([], status.query_processes)
        yield workers


class Observer:
    """The access log and the metrics, with the one place that labels a request's route."""

    def __init__(self, log: AccessLog, metrics: Metrics, data_path: str) -> None:
        self.log = log
        self.metrics = metrics
        self._data = data_path.rstrip("/")
        # a route by the first segment of a path, and by the first two for a data IRI's
        self._by_segment = {r.split("/")[1]: r for r in _FIXED_ROUTES}
        self._ids = itertools.count(1)
        self._boot = os.urandom(3).hex()

    def route(self, path: str) -> str:
        if path == "/":
            return "/"
        if path.startswith(self._data) and path[len(self._data) : len(self._data) + 1] in ("", "/"):
            return self._data
        first = path.split("/", 2)[1]
        found = self._by_segment.get(first)
        if found is not None and (path == found or path.startswith(found + "/")):
            return found
        return "/meshkg" if first == "meshkg" else "other"

    def request_id(self, given: bytes | None) -> str:
        if given and _SANE_ID.fullmatch(given):
            return given.decode("ascii")
        return f"{self._boot}-{next(self._ids)}"

    def refused(self, code: str, client: str | None = None) -> None:
        """A refusal by the HTTP server itself, before any application saw a request."""
        self.metrics.refusals[code] += 1
        self.log.write({"time": _now(), "event": "refused", "code": code, "client": client or ""})


class Observe:
    """The ASGI middleware, outermost, so that answers from the cache are seen too."""

    def __init__(self, app: ASGIApp, observer: Observer) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observer = self.observer
        started = time.perf_counter()
        given = next((v for k, v in scope["headers"] if k == REQUEST_ID), None)
        rid = observer.request_id(given)
        state = scope.setdefault("state", {})
        status = 0
        sent = 0

        async def wrapped(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                mine = [(REQUEST_ID, rid.encode("ascii"))]
                snapshot = state.get("snapshot")  # the generation's (app.api.generations.Pin)
                if snapshot is not None:
                    mine.append((SNAPSHOT, snapshot))
                headers = message.get("headers")
                if isinstance(headers, list):  # each answer's own list (Starlette's, the cache's)
                    headers.extend(mine)
                else:
                    message = {**message, "headers": [*(headers or ()), *mine]}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            seconds = time.perf_counter() - started
            route = observer.route(scope["path"])
            code = state.get("error_code")
            metrics = observer.metrics
            metrics.request(route, scope["method"], status or 499, seconds)
            if code:
                metrics.refusals[code] += 1
            query_seconds = state.get("query_seconds")
            if query_seconds is not None:
                metrics.query_seconds.observe(query_seconds)
            if observer.log.enabled:
                client = scope.get("client")
                record: dict[str, object] = {
                    "time": _now(),
                    "id": rid,
                    "client": client[0] if client else "",
                    "method": scope["method"],
                    "path": scope["path"][:512],
                    "query_bytes": len(scope.get("query_string", b"")),
                    "route": route,
                    "status": status or 499,
                    "ms": round(seconds * 1000, 2),
                    "bytes": sent,
                }
                cache = state.get("cache")
                if cache:
                    record["cache"] = cache
                if query_seconds is not None:
                    record["query_ms"] = round(query_seconds * 1000, 2)
                outcome = code or state.get("outcome")
                if outcome:
                    record["outcome"] = outcome
                observer.log.write(record)


_second: list[object] = [-1, ""]  # the last whole second written, and its text


def _now() -> str:
    """The time in ISO 8601 to the millisecond, UTC; the date and time of day are written once
    a second, not for every line."""
    now = time.time()
    whole = int(now)
    if whole != _second[0]:
        _second[0], _second[1] = (
            whole,
            datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        )
    return f"{_second[1]}.{int((now - whole) * 1000):03d}+00:00"
