"""The HTTP server: uvicorn, with the service's limits on what a connection may send.

uvicorn alone reads whatever a client sends (see :mod:`app.api.http_limits`); here it runs with
:class:`~app.api.http_limits.LimitedHttpToolsProtocol` configured from the settings, on uvloop
and httptools when present, logging warnings only (the service keeps its own access log).

The listening sockets are bound here, before uvicorn starts: a busy port or an unknown host is
then one line on stderr and exit code 3, not uvicorn's logged traceback after a "serving on"
banner, and ``on_ready`` can print that banner once the service can really be reached (with
the port the system chose for ``--port 0``).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from app.api.http_limits import HttpLimits, RefusalHook, limited_protocol
from app.config import Settings

LISTEN_FAILURE = 3
"""Exit code when the service cannot listen (the code uvicorn uses for a failed start)."""


def run(
    app: FastAPI,
    settings: Settings,
    host: str,
    port: int,
    *,
    on_ready: Callable[[str, int], None] | None = None,
    on_refusal: RefusalHook | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until interrupted.

    ``on_ready(host, port)`` is called once the sockets listen (``port`` is the bound one),
    before the first request is answered. ``on_refusal(code)`` is called for each request the
    HTTP server refuses itself (``uri-too-long``, ``headers-too-large``, ``too-many-headers``,
    ``request-timeout``, ``too-many-connections``, ``bad-request``). A host or port that cannot
    be listened on is one line on stderr and ``SystemExit(3)``.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=limited_protocol(HttpLimits.from_settings(settings), on_refusal),
        ws="none",  # no WebSocket routes; an upgrade would leave these limits behind
        log_level="warning",
    )
    sockets = _listen(host, port, config.backlog)
    server = uvicorn.Server(config)
    try:
        if on_ready is not None:
            on_ready(host, int(sockets[0].getsockname()[1]))
        server.run(sockets=sockets)
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it stopped on
        pass
    finally:
        for sock in sockets:
            sock.close()
    if not server.started:  # the application's start-up failed (uvicorn logged why)
        raise SystemExit(LISTEN_FAILURE)


def _listen(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Listening sockets for every address of ``host`` (as asyncio's ``create_server``)."""
    sockets: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:  # one free port for every address
                sock.bind((address[0], sockets[0].getsockname()[1], *address[2:]))
            else:
                sock.bind(address)
            sock.listen(backlog)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        where = f"[{host}]" if ":" in host else host
        reason = exc.strerror or str(exc)
        print(f"meshkg: error: cannot listen on {where}:{port}: {reason}", file=sys.stderr)
        raise SystemExit(LISTEN_FAILURE) from None
    return sockets
