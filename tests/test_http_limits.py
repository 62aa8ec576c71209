"""The HTTP server's own limits, against a real ``meshkg serve`` and hostile raw-socket clients.

Every socket has a timeout and every loop a bound: the timeouts only stop a hung test, nothing
asserts on elapsed time. Throughout each attack another client's ``GET /health`` on a fresh
connection must answer, and normal requests must still work after it.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI

from app.api.http_limits import HttpLimits, limited_protocol
from app.api.server import run
from app.config import Settings
from tests.conftest import ROOT
from tests.server import running

HEAD = 4 * 1024  # --head-kb 4
MAX_HEADERS = 10
MAX_CONNECTIONS = 20
LIMITS = (
    "--head-kb",
    "4",
    "--max-headers",
    str(MAX_HEADERS),
    "--read-timeout",
    "1",
    "--max-connections",
    str(MAX_CONNECTIONS),
)
WAIT = 5.0  # a socket timeout: ends a hung test, never part of an assertion


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running([ROOT / "seeds"], *LIMITS) as url:
        yield url


# Clients


class Connection:
    """A raw client connection; responses are read from a buffer, as pipelined ones share reads."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=WAIT)
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answered(self, wait: float = 0) -> bool:
        """Something (an answer or the end) can be read within ``wait`` seconds."""
        return bool(self.buffer) or bool(select.select([self.sock], [], [], wait)[0])

    def _more(self) -> bool:
        try:
            piece = self.sock.recv(65536)
        except ConnectionResetError:  # the server closed with our bytes unread
            piece = b""
        self.buffer += piece
        return bool(piece)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next response (with a Content-Length); status 0 when the connection ended."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._more():
                return 0, {}, self.buffer
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *fields = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length and self._more():
            pass
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split(" ")[1]), headers, body

    def closed(self) -> bool:
        """The server has closed the connection after what was read."""
        return not self.buffer and not self._more()

    def refused(self, status: int, code: str) -> dict[str, str]:
        """The server's refusal: ``status``, the JSON error body with ``code``, then closed."""
        got, headers, body = self.response()
        assert got == status, body
        assert headers["content-type"] == "application/json"
        assert headers["connection"] == "close"
        error = orjson.loads(body)["error"]
        assert error["status"] == status
        assert error["code"] == code
        if status != 400:
            assert "--" in error["message"]  # it names the limit's setting
        assert self.closed()
        return headers


def request(path: str = "/health", *headers: str, method: str = "GET", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def health(url: str, tries: int = 100) -> None:
    """``GET /health`` on a fresh connection answers 200 (a few tries, as under an attack)."""
    for _ in range(tries):
        with contextlib.suppress(OSError, ValueError, IndexError), Connection(url) as client:
            client.sock.settimeout(2)
            client.send(request("/health", "Connection: close"))
            if client.response()[0] == 200:
                return
        time.sleep(0.05)
    pytest.fail("GET /health did not answer 200")


def still_works(url: str) -> None:
    ask = httpx.get(f"{url}/sparql?query=ASK%7B%7D", timeout=WAIT)
    assert ask.status_code == 200
    assert ask.json()["boolean"] is True
    query = "# " + "x" * 3000 + "\nSELECT ?s WHERE { ?s ?p ?o } LIMIT 1"
    select_ = httpx.post(
        f"{url}/sparql",
        data={"query": query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=WAIT,
    )
    assert select_.status_code == 200
    assert len(select_.json()["results"]["bindings"]) == 1


def sized(size: int, *extra: str, method: str = "GET", path: str = "/health") -> bytes:
    """A request whose line and headers are exactly ``size`` bytes."""
    bare = request(path, *extra, "X-Pad: ", method=method)
    return request(path, *extra, "X-Pad: " + "p" * (size - len(bare)), method=method)


# The limits


def test_a_request_line_over_the_limit_gets_414(server: str) -> None:
    with Connection(server) as client:
        client.send(request("/sparql?query=" + quote("ASK {}" + " " * HEAD)))
        health(server)
        client.refused(414, "uri-too-long")
    still_works(server)


def test_headers_over_the_limit_get_431(server: str) -> None:
    with Connection(server) as client:
        client.send(request("/health", "X-Big: " + "b" * HEAD))
        health(server)
        client.refused(431, "headers-too-large")
    still_works(server)


@pytest.mark.parametrize(("size", "status"), [(HEAD, 200), (HEAD + 1, 431)])
def test_the_head_limit_is_exact(server: str, size: int, status: int) -> None:
    raw = sized(size, *(f"X-{i}: {i}" for i in range(MAX_HEADERS - 2)))  # Host, X-Pad: 10
    assert len(raw) == size
    with Connection(server) as client:
        client.send(raw)
        assert client.response()[0] == status
    if status == 200:  # and the same again in pieces, as a slow network delivers it
        with Connection(server) as client:
            for at in range(0, size, 1000):
                client.send(raw[at : at + 1000])
            assert client.response()[0] == 200


def test_a_read_holding_more_than_one_head_is_not_taken_for_one(server: str) -> None:
    form = b"query=ASK%7B%7D"
    kind, length = "Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(form)}"
    post = sized(HEAD, kind, length, method="POST", path="/sparql")
    pipelined = [sized(HEAD // 3, f"X-N: {n}") for n in range(7)]  # 2.3 heads' worth
    with Connection(server) as client:
        client.send(post + form)  # a head of exactly the limit, and its body, in one read
        assert client.response()[0] == 200
        client.send(b"".join(pipelined))
        assert [client.response()[0] for _ in pipelined] == [200] * len(pipelined)


def test_a_50_mb_header_line_is_cut_after_a_bounded_read(server: str) -> None:
    total, piece = 50 << 20, b"a" * (64 << 10)
    sent = 0
    with Connection(server) as client:
        client.send(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        while sent < total and not client.answered():
            try:
                client.send(piece)
            except OSError:  # reset by the server, which closed without reading it all
                break
            sent += len(piece)
            if sent == 1 << 20:
                health(server)
        assert sent < 16 << 20  # what the kernel's buffers held, not the 50 MB
        client.refused(431, "headers-too-large")
    health(server)
    still_works(server)


def test_too_many_headers_get_431(server: str) -> None:
    with Connection(server) as client:
        client.send(request("/health", *(f"X-{i}: {i}" for i in range(MAX_HEADERS))))
        health(server)
        client.refused(431, "too-many-headers")
    with Connection(server) as client:  # Host and 9 more: the limit itself is fine
        client.send(request("/health", *(f"X-{i}: {i}" for i in range(MAX_HEADERS - 1))))
        assert client.response()[0] == 200
    still_works(server)


def test_a_slowloris_head_is_cut_with_408(server: str) -> None:
    with Connection(server) as client:
        client.send(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for dripped in range(100):  # a byte every 0.1 s, never ending the header
            if client.answered(0.1):
                break
            with contextlib.suppress(OSError):
                client.send(b"s")
            if dripped == 2:
                health(server)
        else:
            pytest.fail("a head dripping for 10 s was not cut")
        client.refused(408, "request-timeout")
    still_works(server)


def test_a_silent_connection_is_cut_with_408(server: str) -> None:
    with Connection(server) as client:
        health(server)
        client.refused(408, "request-timeout")


def test_a_body_that_stops_arriving_is_cut_with_408(server: str) -> None:
    with Connection(server) as client:
        client.send(
            request(
                "/sparql",
                "Content-Type: application/x-www-form-urlencoded",
                "Content-Length: 1000",
                method="POST",
                body=b"query=ASK",
            )
        )
        health(server)
        client.refused(408, "request-timeout")
    still_works(server)


def test_chunk_trailers_over_the_limit_get_431(server: str) -> None:
    with Connection(server) as client:
        client.send(
            request(
                "/sparql",
                "Content-Type: application/x-www-form-urlencoded",
                "Transfer-Encoding: chunked",
                method="POST",
                body=b"9\r\nquery=ASK\r\n0\r\n",
            )
        )
        for i in range(100):  # trailers, but never their end
            try:
                client.send(f"X-Trailer-{i}: {'t' * 100}\r\n".encode())
            except OSError:
                break
        health(server)
        client.refused(431, "headers-too-large")
    still_works(server)


def test_a_malformed_request_gets_400_json(server: str) -> None:
    with Connection(server) as client:
        client.send(b"GET /health HTTP/1.1 and more\r\nHost: 127.0.0.1\r\n\r\n")
        client.refused(400, "bad-request")
    still_works(server)


def test_connections_over_the_limit_get_503(server: str) -> None:
    extra = 5
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(Connection(server)) for _ in range(MAX_CONNECTIONS + extra)]
        busy = []
        for client in clients:
            if not client.answered(0.2):
                continue  # accepted, idle (until --read-timeout)
            status, headers, body = client.response()
            if status == 503:  # (an accepted one may already have been cut: 408)
                busy.append(client)
                assert orjson.loads(body)["error"]["code"] == "too-many-connections"
                assert int(headers["retry-after"]) >= 1
                assert client.closed()
        assert len(busy) >= extra
        assert busy[-1] is clients[-1]  # the last ones are refused, not the first
        health(server)  # once the idle ones are cut
    still_works(server)


def test_keep_alive_serves_several_requests_on_one_connection(server: str) -> None:
    with Connection(server) as client:
        for _ in range(3):
            client.send(request("/health"))
            assert client.response()[0] == 200
        client.send(request("/health") * 3 + request("/sparql?query=ASK%7B%7D"))  # pipelined
        assert [client.response()[0] for _ in range(4)] == [200] * 4
        client.send(request("/health", "Connection: close"))
        assert client.response()[0] == 200
        assert client.closed()


# In process: the refusal hook, listening


def test_each_refusal_is_reported_to_the_hook() -> None:
    codes: list[str] = []
    limits = HttpLimits(head_bytes=1024, read_timeout=5)
    config = uvicorn.Config(
        FastAPI(),
        http=limited_protocol(limits, codes.append),
        ws="none",
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    with socket.create_server(("127.0.0.1", 0)) as listening:
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]})
        thread.start()
        try:
            for _ in range(100):
                if server.started:
                    break
                time.sleep(0.05)
            host, port = listening.getsockname()
            with Connection(f"http://{host}:{port}") as client:
                client.send(request("/" + "u" * 2000))
                assert client.response()[0] == 414
            with Connection(f"http://{host}:{port}") as client:
                client.send(b"NOT HTTP\r\n\r\n")
                assert client.response()[0] == 400
        finally:
            server.should_exit = True
            thread.join(WAIT)
    assert codes == ["uri-too-long", "bad-request"]


def test_a_busy_port_is_one_line_and_exit_code_3(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exit_:
            run(FastAPI(), Settings(), "127.0.0.1", port, on_ready=lambda h, p: None)
    assert exit_.value.code == 3
    assert capsys.readouterr().err == (
        f"meshkg: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


def test_on_ready_is_told_the_bound_port() -> None:
    ready: list[tuple[str, int]] = []

    class Stop(Exception):
        pass

    def on_ready(host: str, port: int) -> None:
        ready.append((host, port))
        with socket.create_connection((host, port), timeout=WAIT):  # it listens already
            pass
        raise Stop

    with pytest.raises(Stop):
        run(FastAPI(), Settings(), "127.0.0.1", 0, on_ready=on_ready)
    assert ready[0][0] == "127.0.0.1"
    assert ready[0][1] > 0
