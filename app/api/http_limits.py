"""Limits on what one HTTP connection may send, enforced before the application sees it.

uvicorn reads whatever a client sends: a 128 MB header line was read whole (httptools buffers a
header until its end, re-copying it at every read, so it took 18 s and kept 300 MB), a client
sending one byte every few seconds held its connection forever, and any number of such
connections could be open at once. Its own answers to a malformed request or to
``limit_concurrency`` are plain text, not the service's one JSON error body.

:class:`LimitedHttpToolsProtocol` is uvicorn's httptools protocol (uvicorn's ``http=`` setting
takes a protocol class) with, per request:

========================  ======  ======================================================
what                      status  code
========================  ======  ======================================================
request line > head       414     ``uri-too-long``
line + headers > head     431     ``headers-too-large`` (also chunk framing + trailers)
header fields > max       431     ``too-many-headers``
head (or body) too slow   408     ``request-timeout``
connections > max         503     ``too-many-connections`` (with ``Retry-After``)
not HTTP/1.x              400     ``bad-request``
========================  ======  ======================================================

Each refusal is :func:`app.api.errors.raw_error` written to the socket, after which nothing more
is read and the connection is closed. When another response is still being written on that
connection (HTTP pipelining), or the application has started answering the refused request,
the connection is closed without an answer, as one cannot be put in the middle of another.

How it is counted, cheaply (a normal request costs a few attribute updates and one clock read):

- the head's bytes are counted in :meth:`data_received` with ``len()`` of each read while the
  head is incomplete, because httptools hands a header over only once it has ended. A read
  that would pass the limit is fed up to the limit only; when the head has not ended there, the
  request is refused, else the rest of the read is fed as usual.
- in a body, bytes that are not body (chunk framing, trailers, which httptools buffers like
  headers) are counted between two pieces of body, with the same limit.
- one deadline per connection: from its opening (or from the first byte of a later request)
  the head must end within ``read_timeout``, then the body within ``read_timeout`` again. While
  uvicorn itself is not reading (a pipelined request waiting, a body the application has not
  taken yet, a client waiting for ``100 Continue``) the client is not to blame: the deadline
  moves. Idle keep-alive between requests stays uvicorn's ``timeout_keep_alive``.
- open connections are uvicorn's own set of them (``server_state.connections``).

One leniency, for HTTP pipelining only: a head that begins in the middle of a read (after the
end of an earlier request in the same read) is counted, and given its deadline, from the next
read on; it may pass the limit by at most that one read (256 KB), and until that next read
uvicorn's keep-alive timeout bounds it.

Overridden from uvicorn: ``__init__``, ``connection_made``, ``connection_lost``,
``data_received`` (re-implemented: uvicorn's own answers a parser error with plain text and logs
a warning for each), ``on_headers_complete``, ``on_body``, ``on_message_complete``. Attributes
read: ``parser``, ``url``, ``headers``, ``cycle``, ``pipeline``, ``flow.read_paused``,
``connections``, ``loop``, ``transport`` and the cycle's ``response_started``,
``response_complete``, ``waiting_for_100_continue``, ``disconnected``, ``message_event``.
Checked against uvicorn 0.30.0 and 0.55.0 (httptools 0.6 to 0.9); meant to be run with
``ws="none"`` (a WebSocket upgrade hands the connection to another protocol, which these limits
do not follow).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.api.errors import raw_error
from app.config import Settings

RefusalHook = Callable[[str], None]
"""Called with the ``code`` of each refusal (for metrics); it must not raise."""

REQUEST_LINE_TAIL = len(b"  HTTP/1.1\r\n")
"""The request line's bytes besides its method and target."""


def _ignore(code: str) -> None:
    """The default refusal hook."""


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one connection may send; defaults are :class:`app.config.Settings`'."""

    head_bytes: int = 64 * 1024
    max_headers: int = 100
    read_timeout: float = 10.0
    max_connections: int = 512

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            head_bytes=settings.head_kb * 1024,
            max_headers=settings.max_headers,
            read_timeout=settings.read_timeout,
            max_connections=settings.max_connections,
        )


class _Refused(Exception):
    """Raised in a parser callback to stop httptools; the refusal is in ``_pending``."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`HttpLimits`; see the module's docstring."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HttpLimits | None = None,
        on_refusal: RefusalHook = _ignore,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = limits = limits or HttpLimits()
        self._on_refusal = on_refusal
        self._head_limit = limits.head_bytes
        self._max_headers = limits.max_headers
        self._timeout = limits.read_timeout
        self._in_head = True  # the next bytes belong to a request's line and headers
        self._last_url: bytes | None = None  # the URL of the last request completed
        self._head_used = 0  # bytes of that head received so far
        self._since_body = 0  # bytes of a body's framing since its last piece of body
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._grace = False  # the client waited for "100 Continue" until the last check
        self._pending: tuple[int, str, str] | None = None
        self._refused = False

    # The connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limit = self._limits.max_connections
        if len(self.connections) > limit:
            retry = str(max(1, math.ceil(self._timeout)))
            self._refuse(
                503,
                "too-many-connections",
                f"the service already has its limit of {limit} open connections "
                f"(--max-connections); retry in {retry} s",
                {"Retry-After": retry},
            )
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes | memoryview) -> None:
        if self._refused:
            return
        if self._in_head:
            if self._deadline is None:
                self._arm()  # the first byte of a head
            used = self._head_used + len(data)
            if used > self._head_limit:
                self._overflow(data)
                return
            self._head_used = used
        else:
            self._since_body += len(data)
        self._feed(data)
        if not self._in_head and not self._refused:  # a body is under way
            if self._since_body > self._head_limit:
                self._refuse(
                    431,
                    "headers-too-large",
                    "the request's chunk framing and trailers are larger than this "
                    f"service's limit of {self._head_limit} bytes (--head-kb)",
                )
            elif self._deadline is None:
                self._arm()  # the body's own read_timeout, from the head's end

    def _overflow(self, data: bytes | memoryview) -> None:
        """A read that would pass the head limit: fed up to the limit only, then the rest."""
        view = memoryview(data)
        while True:
            budget = self._head_limit - self._head_used
            self._head_used = self._head_limit
            if budget > 0:
                self._feed(view[:budget])
            if self._refused:
                return
            if self._in_head and self._head_used == self._head_limit:
                self._refuse_head()
                return
            view = view[budget:]  # the head ended within the limit: the rest (never empty)
            if not self._in_head or self._head_used + len(view) <= self._head_limit:
                self.data_received(view)
                return

    def _feed(self, data: bytes | memoryview) -> None:
        """uvicorn's ``data_received``, answering a parser error with the JSON body."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():  # only with uvicorn's ws enabled
                self._refused = True  # another protocol takes the connection over
                self._deadline = None
                self.handle_websocket_upgrade()
        except httptools.HttpParserError as exc:
            status, code, message = self._pending or (
                400,
                "bad-request",
                f"the request is not valid HTTP/1.1: {exc}",
            )
            self._refuse(status, code, message)

    def _refuse_head(self) -> None:
        limit = self._head_limit
        line = 0
        url = getattr(self, "url", None)  # uvicorn's, set anew when a request begins
        if url is not None and url is not self._last_url:  # the request line is under way
            line = len(self.parser.get_method()) + len(url) + REQUEST_LINE_TAIL
        if line > limit:
            self._refuse(
                414,
                "uri-too-long",
                f"the request line is longer than this service's limit of {limit} bytes for a "
                "request's line and headers (--head-kb); send a long query by POST",
            )
        else:
            self._refuse(
                431,
                "headers-too-large",
                f"the request's headers are larger than this service's limit of {limit} bytes "
                "(--head-kb)",
            )

    # Parser callbacks (uvicorn's own are called directly: no super() on the hot path)

    def on_headers_complete(self) -> None:
        if len(self.headers) > self._max_headers:
            self._pending = (
                431,
                "too-many-headers",
                f"the request has more than this service's limit of {self._max_headers} "
                "header fields (--max-headers)",
            )
            raise _Refused
        self._in_head = False
        self._since_body = 0
        self._deadline = None  # data_received arms the body's once this read is parsed
        self._grace = False
        HttpToolsProtocol.on_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        self._since_body = 0
        HttpToolsProtocol.on_body(self, body)

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_used = 0
        self._deadline = None  # idle until the next request's first byte
        self._last_url = self.url
        HttpToolsProtocol.on_message_complete(self)

    # The deadline

    def _arm(self) -> None:
        self._deadline = deadline = self.loop.time() + self._timeout
        if self._timer is None:
            self._timer = self.loop.call_at(deadline, self._expire)

    def _expire(self) -> None:
        """One timer per connection, moved lazily: requests only set ``_deadline``."""
        self._timer = None
        deadline = self._deadline
        if deadline is None or self._refused:
            return
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._expire)
        elif self.flow.read_paused or self._awaits_continue():
            self._arm()  # uvicorn is not reading: the client is not late
        else:
            what = "line and headers" if self._in_head else "body"
            self._refuse(
                408,
                "request-timeout",
                f"the request's {what} did not arrive within this service's limit of "
                f"{self._timeout:g} s (--read-timeout)",
            )

    def _awaits_continue(self) -> bool:
        """The client is (or was until the last check) waiting for ``100 Continue``."""
        if self._in_head or self.cycle is None:
            return False
        waiting = self.cycle.waiting_for_100_continue
        grace, self._grace = self._grace, waiting
        return waiting or grace

    # Refusing

    def _refuse(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        """Answer ``status`` when nothing else is being answered, and close."""
        if self._refused:
            return
        self._refused = True
        self._deadline = None
        cycle = self.cycle
        if self._in_head:  # the refused request has no cycle; a previous one may answer still
            answer = cycle is None or cycle.response_complete
        else:  # the cycle is the refused request's own
            answer = not cycle.response_started and not self.pipeline
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the application's receive() and send() stop
            cycle.message_event.set()
        if not self.transport.is_closing():
            if answer:
                self.transport.write(raw_error(status, code, message, headers))
            self.transport.close()
        self._on_refusal(code)


def limited_protocol(
    limits: HttpLimits, on_refusal: RefusalHook | None = None
) -> type[LimitedHttpToolsProtocol]:
    """A protocol class for uvicorn's ``Config(http=...)`` enforcing ``limits``."""
    hook = on_refusal or _ignore

    class Limited(LimitedHttpToolsProtocol):
        def __init__(
            self,
            config: Config,
            server_state: ServerState,
            app_state: dict[str, Any],
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            super().__init__(config, server_state, app_state, _loop, limits=limits, on_refusal=hook)

    return Limited
