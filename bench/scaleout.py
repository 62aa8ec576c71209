"""Throughput and latency of one mixed workload on every way of serving the graph, side by side.

    python bench/scaleout.py [--seconds 15] [--connections 8] [--json bench/out/scaleout.json]

Needs ``wrk`` and ``nginx`` (Debian packages) and Oxigraph's server (``pip install -e
'.[bench]'``). The shared corpus is served, in turn, by:

* ``embedded``: one ``meshkg serve`` over a stored snapshot (the reference);
* ``remote oxigraph``, ``remote virtuoso``: one ``meshkg serve --store URL`` over Oxigraph's
  server and over Virtuoso (when ``virtuoso-t`` is installed), the build published there first;
* ``nginx + 1 replica`` and ``nginx + 2 replicas``: ``meshkg serve`` processes reopening the
  same stored snapshot, behind ``deploy/nginx.conf``.

Each gets the same closed-loop wrk for ``--seconds``: the bench workload's SPARQL queries, JSON
API lists and details, and linked-data pages, every request with ``Cache-Control: no-cache``
so that each is computed (the answer cache would otherwise answer all of them). Then one
connection alone, whose latency is the per-request cost that decides how far replicas scale.
Printed: requests per second, p50 and p99, each setup's ratio to ``embedded``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.coldstart import free_port  # noqa: E402
from bench.load import KindRun, _kinds, _read, _start_wrk  # noqa: E402
from bench.scale import CORPUS  # noqa: E402
from bench.throughput import BIN, server  # noqa: E402
from tests.peers import ISQL, VIRTUOSO, Virtuoso  # noqa: E402

MESHKG = str(BIN / "meshkg")
OXIGRAPH = str(BIN / "oxigraph")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


# wrk connects from 127.0.0.1 and stands for many readers: the per-client budget would count
# them as one client (and so would a replica behind the proxy, which sees the proxy's address)
_SERVE = ("--access-log", "off", "--client-queries", "64")


@contextmanager
def _meshkg(*args: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server([MESHKG, "serve", *args, *_SERVE, "--port", str(port)], url + "/health"):
        yield url


@contextmanager
def _oxigraph(folder: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [OXIGRAPH, "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}"]
    with server(command, url + "/query?query=ASK%7B%7D"):
        yield url


@contextmanager
def _nginx(folder: Path, upstreams: list[str]) -> Iterator[str]:
    listen = free_port()
    text = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    servers = "".join(
        f"        server {u.split('://', 1)[1]} max_fails=2 fail_timeout=5s;\n" for u in upstreams
    )
    text = re.sub(r"(        server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, text)
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{listen};")
    text = text.replace("access_log access.log;", "access_log off;")
    prefix = folder / f"nginx-{listen}"
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(text, "utf-8")
    url = f"http://127.0.0.1:{listen}"
    with server([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], url + "/health"):
        yield url


def _run(url: str, paths: list[str], headers: dict[str, str], seconds: int, conns: int) -> KindRun:
    proc, script = _start_wrk(url, "mixed", paths, headers, seconds=seconds, conns=conns)
    out, _ = proc.communicate(timeout=seconds + 120)
    script.unlink(missing_ok=True)
    return _read("mixed", out)


def _workload(url: str) -> tuple[list[str], dict[str, str]]:
    kinds = _kinds(url)
    pages = [p + ".html" for p in kinds["pages"][0]]  # a page's own URL: no Accept needed
    paths = [*kinds["sparql-computed"][0], *kinds["api"][0], *pages]
    accept = "application/sparql-results+json, text/turtle;q=0.9, application/json;q=0.8"
    return paths, {"Accept": accept, "Cache-Control": "no-cache"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "scaleout.json")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="meshkg-scaleout-") as tmp:
        folder = Path(tmp)
        store = folder / "store"
        subprocess.run([MESHKG, "build", str(CORPUS), "--store", str(store)], check=True)
        seeds = (str(CORPUS), "--store", str(store))

        def measure(name: str, url: str) -> None:
            paths, headers = workload
            many = _run(url, paths, headers, args.seconds, args.connections)
            one = _run(url, paths, headers, max(5, args.seconds // 3), 1)
            results[name] = {
                "requests_per_s": many.requests_per_s,
                "p50_ms": many.p50_ms,
                "p99_ms": many.p99_ms,
                "one_connection_p50_ms": one.p50_ms,
                "one_connection_requests_per_s": one.requests_per_s,
                "errors": float(sum(n for s, n in many.statuses.items() if s[0] in "45")),
            }
            if many.statuses:
                print(f"  {name}: statuses {dict(sorted(many.statuses.items()))}")
            row = results[name]
            print(
                f"  {name:<20} {row['requests_per_s']:8.0f} req/s  p50 {row['p50_ms']:7.1f} ms"
                f"  p99 {row['p99_ms']:7.1f} ms  one connection {row['one_connection_p50_ms']:6.1f}"
                f" ms/request  errors {row['errors']:.0f}",
                flush=True,
            )

        with _meshkg(*seeds) as embedded:
            workload = _workload(embedded)
            measure("embedded", embedded)
        with _oxigraph(folder / "oxigraph") as oxigraph:
            subprocess.run([MESHKG, "build", str(CORPUS), "--publish", oxigraph], check=True)
            with _meshkg("--store", oxigraph) as remote:
                measure("remote oxigraph", remote)
        if VIRTUOSO is not None and ISQL is not None:
            virtuoso = Virtuoso(folder / "virtuoso")
            virtuoso.start()
            try:
                subprocess.run(
                    [MESHKG, "build", str(CORPUS), "--publish", virtuoso.url], check=True
                )
                with _meshkg("--store", virtuoso.url) as remote:
                    measure("remote virtuoso", remote)
            finally:
                virtuoso.stop()
        with _meshkg(*seeds) as one, _nginx(folder, [one]) as proxy:
            measure("nginx + 1 replica", proxy)
        with ExitStack() as stack:
            replicas = [stack.enter_context(_meshkg(*seeds)) for _ in range(2)]
            proxy = stack.enter_context(_nginx(folder, replicas))
            measure("nginx + 2 replicas", proxy)
    base = results["embedded"]
    print()
    print(f"{'setup':<20}{'req/s':>10}{'x embedded':>12}{'p50':>10}{'p99':>10}{'ms/request':>12}")
    for name, row in results.items():
        print(
            f"{name:<20}{row['requests_per_s']:>10.0f}"
            f"{row['requests_per_s'] / base['requests_per_s']:>12.2f}"
            f"{row['p50_ms']:>9.1f}ms{row['p99_ms']:>9.1f}ms{row['one_connection_p50_ms']:>10.1f}ms"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
