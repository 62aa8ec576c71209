"""A canary: an HTTP server on 127.0.0.1 that counts every connection made to it.

It answers every request like a SPARQL endpoint (with a marker in the body), so a fetch made
past a guard would succeed and its body could be echoed; what the tests look at is the count
of connections accepted, which also sees a connection that never sent a request.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import socket

BODY = b'{"head":{"vars":["x"]},"results":{"bindings":[]}} CANARY-BODY'


class _Endpoint(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def do_POST(self) -> None:
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


class Canary(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Endpoint)
        self.hits: list[tuple[str, int]] = []  # the peer of each connection accepted
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def process_request(self, request: socket | tuple[bytes, socket], client: object) -> None:
        with self._lock:
            self.hits.append(client)  # type: ignore[arg-type]
        super().process_request(request, client)  # type: ignore[arg-type]

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
