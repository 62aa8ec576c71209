"""Answers kept in memory: a snapshot never changes, so the same request gets the same bytes.

Notebooks re-run their cells, dashboards poll, crawlers come back: most requests to a
read-only knowledge graph repeat earlier ones. This ASGI middleware keeps the complete
``200`` answers to ``GET`` and ``HEAD`` requests in a least-recently-used store bounded in
bytes, keyed by everything an answer depends on (method, scheme, host, path, query string,
``Accept``, whether the request is cross-origin). A hit is answered without routing, protocol
checks or a query worker.

What is never kept: answers a route marks ``Cache-Control: no-store`` (``/health``, ``/info``,
SPARQL queries calling ``NOW()``, ``RAND()``, ``UUID()`` or ``STRUUID()``), errors, answers
larger than an eighth of the budget, and files (``/dumps`` and ``/static`` answer conditional
requests themselves). A client that sends ``Cache-Control: no-cache`` (or ``Pragma:
no-cache``) gets a freshly computed answer, and ``no-store`` keeps it from being kept; so do
conditional and range requests. Every answer says ``Meshkg-Cache: hit`` or ``miss``.

:class:`Bodies` keeps parts of answers the same way: the JSON of an item (a source or a code
in a list, a search hit's code or source) for one host. Pages of a list overlap (other
filters, sorts and offsets show the same items), and writing the items was most of a list
request's time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"meshkg-cache"
_UNCACHED_PREFIXES = ("/dumps", "/static")
_BYPASS = (b"if-none-match", b"if-modified-since", b"if-match", b"range")
_Key = tuple[str, str, bytes, str, str, bytes, bytes, bool]


@dataclass(frozen=True, slots=True)
class _Entry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 64


@dataclass(slots=True)
class CacheStats:
    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int


K = TypeVar("K")
V = TypeVar("V")


class Kept(Generic[K, V]):
    """Values kept least recently used first out, at most ``max_bytes``; 0 keeps none."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def size(self, value: V) -> int:
        raise NotImplementedError

    def stats(self) -> CacheStats:
        return CacheStats(len(self._entries), self._bytes, self.max_bytes, self.hits, self.misses)

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= self.size(old)
        self._entries[key] = value
        self._bytes += self.size(value)
        while self._bytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= self.size(evicted)


class Answers(Kept[_Key, _Entry]):
    """Whole answers; one larger than an eighth of the budget is not kept."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self.max_entry = max_bytes // 8

    def size(self, value: _Entry) -> int:
        return value.size


class Bodies(Kept[tuple[str, str, str], tuple[orjson.Fragment, int]]):
    """Items written as JSON, keyed by (kind of item, the request's root URL, IRI)."""

    def size(self, value: tuple[orjson.Fragment, int]) -> int:
        return value[1]

    def item(self, kind: str, root: str, iri: str, write: Callable[[], object]) -> orjson.Fragment:
        """The item's JSON, written by ``write`` only when it is not kept."""
        key = (kind, root, iri)
        found = self.get(key)
        if found is not None:
            self.hits += 1
            return found[0]
        self.misses += 1
        data = orjson.dumps(write())
        fragment = orjson.Fragment(data)
        if self.max_bytes > 0:  # the key's strings, the entry and the objects: about 200 bytes
            self.put(key, (fragment, len(data) + len(root) + len(iri) + 200))
        return fragment


class ResponseCache:
    """The middleware: answers a request from :class:`Answers` or records the app's answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # the answers of the generation this request is pinned to (app.api.generations)
        answers: Answers = scope["state"]["service"].answers
        if (
            answers.max_bytes <= 0
            or scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or scope["path"].startswith(_UNCACHED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # HTTP/1.1 lower-cased names; last one wins
        if any(name in headers for name in _BYPASS):
            await self.app(scope, receive, send)
            return
        directives = headers.get(b"cache-control", b"").lower() + headers.get(b"pragma", b"")
        state = scope.setdefault("state", {})  # where the access log reads hit or miss
        key: _Key = (
            scope["method"],
            scope["scheme"],
            headers.get(b"host", b""),
            scope.get("root_path", ""),
            scope["path"],
            scope["query_string"],
            headers.get(b"accept", b""),
            b"origin" in headers,  # a cross-origin request's answer carries the CORS headers
        )
        if b"no-cache" not in directives and b"no-store" not in directives:
            entry = answers.get(key)
            if entry is not None:
                answers.hits += 1
                state["cache"] = "hit"
                await _replay(entry, send)
                return
        answers.misses += 1
        state["cache"] = "miss"
        keep = b"no-store" not in directives
        await self.app(scope, receive, self._recorder(answers, key, send, keep))

    def _recorder(self, answers: Answers, key: _Key, send: Send, keep: bool) -> Send:
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        size = 0

        async def record(message: Message) -> None:
            nonlocal keep, size, status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
                control = b",".join(v for k, v in headers if k.lower() == b"cache-control")
                if status != 200 or b"no-store" in control.lower():
                    keep = False
                message = {**message, "headers": [*headers, (HEADER, b"miss")]}
            elif message["type"] == "http.response.body" and keep:
                body = message.get("body", b"")
                size += len(body)
                if size > answers.max_entry:
                    keep, chunks[:] = False, []
                else:
                    chunks.append(body)
                if keep and not message.get("more_body", False):
                    answers.put(key, _Entry(status, headers, b"".join(chunks)))
            await send(message)

        return record


async def _replay(entry: _Entry, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": entry.status,
            "headers": [*entry.headers, (HEADER, b"hit")],
        }
    )
    await send({"type": "http.response.body", "body": entry.body})
