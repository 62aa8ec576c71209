"""Replicas of one stored snapshot behind nginx (Debian's ``nginx``, which ``.ci/run``
installs), with the repository's own ``deploy/nginx.conf``.

The snapshot is built once; two ``meshkg serve --store`` processes reopen it read-only with no
coordination; nginx spreads requests over both, every answer is the same whichever replica
gave it, and when one replica stops the other answers for it.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, STUDY
from tests.server import free_port, running

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def _config(folder: Path, listen: int, replicas: list[int]) -> Path:
    """The repository's config, with this test's ports."""
    text = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    servers = "".join(
        f"        server 127.0.0.1:{p} max_fails=2 fail_timeout=5s;\n" for p in replicas
    )
    text = re.sub(r"(        server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, text)
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{listen};")
    path = folder / "nginx.conf"
    path.write_text(text, "utf-8")
    return path


def test_two_replicas_of_one_snapshot_behind_nginx(tmp_path: Path) -> None:
    store = tmp_path / "store"
    built = subprocess.run(
        [sys.executable, "-m", "app.cli", "build", str(STUDY), "--store", str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert NGINX is not None
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    listen = free_port()
    proxy = f"http://127.0.0.1:{listen}"
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    nginx: subprocess.Popen[bytes] | None = None
    try:
        with (
            running([STUDY], "--store", str(store), output=logs[0]) as one,
            running([STUDY], "--store", str(store), output=logs[1]) as two,
        ):
            keys = {httpx.get(u + "/health").json()["generation"]["snapshot"] for u in (one, two)}
            assert len(keys) == 1  # the same content-addressed snapshot, reopened by both
            for log in logs:
                assert "reopened" in log.read_text("utf-8")  # neither built it again
            conf = _config(tmp_path, listen, [int(u.rsplit(":", 1)[1]) for u in (one, two)])
            nginx = subprocess.Popen(
                [NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _wait_for(proxy + "/health")
            paths = [f"/api/codes?limit={n}" for n in range(1, 21)]
            with httpx.Client(timeout=30) as client:
                through = [client.get(proxy + p) for p in paths]
                direct = [client.get(one + p) for p in paths]
            assert [a.status_code for a in through] == [200] * len(paths)
            for a, b in zip(through, direct, strict=True):
                # the same answer, its absolute links naming the host the client asked
                assert a.text.replace(proxy, "") == b.text.replace(one, "")
                assert proxy in a.text
            # which replica answered: request ids begin with their process's own prefix
            prefix_of = {_prefix(httpx.get(u + "/health")): u for u in (one, two)}
            answered_by = {prefix_of.get(_prefix(a)) for a in through}
            assert answered_by == {one, two}  # the proxy spread the requests over both
            # compressed by the proxy for a client that asks, the same answer once decoded
            page = "/api/codes?limit=200"
            plain = httpx.get(proxy + page, headers={"Accept-Encoding": "identity"})
            assert "content-encoding" not in plain.headers
            with httpx.stream("GET", proxy + page, headers={"Accept-Encoding": "gzip"}) as zipped:
                assert zipped.headers["content-encoding"] == "gzip"
                sent = b"".join(zipped.iter_raw())
            assert len(sent) < len(plain.content) / 3
            assert json.loads(gzip.decompress(sent)) == plain.json()
        # both stopped; one comes back: the proxy's other upstream is gone, it answers alone
        with running([STUDY], "--store", str(store)) as survivor:
            conf = _config(tmp_path, listen, [free_port(), int(survivor.rsplit(":", 1)[1])])
            subprocess.run([NGINX, "-p", str(prefix), "-c", str(conf), "-s", "reload"], check=True)
            _wait_for(proxy + "/api/collections")
            answers = [httpx.get(proxy + "/api/collections") for _ in range(6)]
            assert [a.status_code for a in answers] == [200] * 6
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=20)


def _prefix(answer: httpx.Response) -> str:
    return answer.headers["x-request-id"].rsplit("-", 1)[0]


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer")
        time.sleep(0.1)
