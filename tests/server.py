"""A real ``meshkg serve`` process on 127.0.0.1 for protocol tests; it stops by itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PIDS: dict[str, int] = {}
"""The process id of each running service, by its base URL (to send it signals)."""


@contextmanager
def running(
    seeds: list[Path], *args: str, timeout: float = 60, output: Path | None = None
) -> Iterator[str]:
    """Start the service on a free loopback port, wait until it answers, stop it after.

    ``output``: a file that receives what the service prints (by default a temporary one).
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        *map(str, seeds),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # A file, not a pipe: an unread pipe fills with access logs and stalls the server.
    # closed once the server has stopped
    log = open(output, "w+b") if output is not None else tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                out = log.read().decode(errors="replace")
                raise RuntimeError(f"meshkg serve exited with {proc.returncode}: {out}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("meshkg serve did not answer in time")
            time.sleep(0.1)
        PIDS[url] = proc.pid
        yield url
    finally:
        PIDS.pop(url, None)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def from_address(n: int, **options: object) -> httpx.Client:
    """An HTTP client whose connections come from 127.0.0.``n``: on loopback every address of
    127/8 is this machine, so tests can be several clients, as the per-client budget sees them."""
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{n}")
    return httpx.Client(transport=transport, **options)  # type: ignore[arg-type]
