"""Mixed load on 127.0.0.1, quiet and then with heavy clients: does everyone else stay served?

    python bench/load.py [--seconds 60] [--connections 2] [--json bench/out/load.json]

Needs ``wrk`` (Debian package). One ``meshkg serve`` over the shared corpus (or ``--seeds``)
takes, all at once and for ``--seconds`` each phase, one closed-loop wrk per kind of request
(each sends its next request as soon as the last is answered, so together they drive the
service at the highest rate this machine sustains):

* ``sparql-repeated``: the workload's queries by GET, repeated (the answer cache answers);
* ``sparql-computed``: the same with ``Cache-Control: no-cache``, each evaluated by a worker;
* ``api``: JSON API lists, one code with its evidence, a search;
* ``pages``: linked-data pages of a source and a code, as HTML;
* ``dumps``: the whole graph as gzipped Turtle.

Phase one is that alone (quiet). Phase two adds ``--heavy`` clients, each from an address of
its own (127.0.0.50, .51, …), each sending, one after the other, a query that runs until the
time limit stops it. For each kind the script prints p50 and p99 in both phases, the ratio of
the p99s (the target: within 3×), the requests per second, and every answer that was a 5xx
other than the deliberate 503 and 429 of a limit. Everything is bounded: each phase ends after
``--seconds``, the heavy clients with it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.coldstart import free_port  # noqa: E402
from bench.scale import CORPUS  # noqa: E402
from bench.throughput import BIN, server  # noqa: E402
from bench.workload import workload  # noqa: E402

HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"

# One Lua script for every wrk: cycles through its paths, counts statuses per thread.
_LUA = """
local paths = {%s}
local headers = {%s}
local counter = 0
statuses = {}  -- a global: done() reads each thread's copy through thread:get
function init(args) end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], headers)
end
function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, k .. "=" .. v) end
  io.write("STATUSES " .. table.concat(parts, ",") .. "\\n")
end
"""


@dataclass
class KindRun:
    kind: str
    requests_per_s: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def unexpected_5xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("5") and s != "503")

    @property
    def limited(self) -> int:
        """Answers a limit refused on purpose (429, 503): not counted as served."""
        return self.statuses.get("429", 0) + self.statuses.get("503", 0)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _lua(paths: list[str], headers: dict[str, str]) -> str:
    quoted = ", ".join(json.dumps(p) for p in paths)
    head = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    return _LUA % (quoted, head)


def _start_wrk(
    url: str, kind: str, paths: list[str], headers: dict[str, str], *, seconds: int, conns: int
) -> tuple[subprocess.Popen[str], Path]:
    script = Path(tempfile.mkstemp(prefix=f"load-{kind}-", suffix=".lua")[1])
    script.write_text(_lua(paths, headers))
    proc = subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, script


def _read(kind: str, out: str) -> KindRun:
    run = KindRun(kind)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    found = re.search(r"STATUSES (\S*)", out)
    if rate:
        run.requests_per_s = float(rate.group(1))
    if p50:
        run.p50_ms = _ms(p50.group(1))
    if p99:
        run.p99_ms = _ms(p99.group(1))
    if found and found.group(1):
        run.statuses = {k: int(v) for k, v in (p.split("=") for p in found.group(1).split(","))}
    return run


def _kinds(url: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The requests of each kind, chosen from what the service holds."""
    local = ox.Store()  # the served graph, to pick the workload's parameters from
    local.load(httpx.get(url + "/dumps/all.nq", timeout=120).content, format=ox.RdfFormat.N_QUADS)
    queries = [q.sparql for q in workload(local)]
    sparql = [f"/sparql?query={quote(q)}" for q in queries]
    json_accept = {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}
    api = httpx.get(url + "/api/sources?limit=5").json()["items"]
    codes = httpx.get(url + "/api/codes?limit=5&sort=sources&order=desc").json()["items"]
    api_paths = [
        "/api/sources?limit=20",
        "/api/codes?limit=50&sort=sources&order=desc",
        "/api/search?q=catalog",
        *[_path(item["url"]) for item in api[:2] + codes[:2]],
    ]
    pages = [_path(item["iri"]) for item in api[:2] + codes[:2]]
    return {
        "sparql-repeated": (sparql, json_accept),
        "sparql-computed": (sparql, {**json_accept, "Cache-Control": "no-cache"}),
        "api": (api_paths, {"Accept": "application/json"}),
        "pages": (pages, {"Accept": "text/html"}),
        "dumps": (["/dumps/all.ttl"], {"Accept-Encoding": "gzip"}),
    }


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1] if "://" in url else url


def _heavy_client(url: str, n: int, stop: threading.Event, seen: Counter[str]) -> None:
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{50 + n}")
    with httpx.Client(transport=transport, timeout=60) as client:
        for _ in range(100_000):  # ends with the phase
            if stop.is_set():
                return
            try:
                r = client.post(url + "/sparql", data={"query": HEAVY})
                seen[str(r.status_code)] += 1
                if r.status_code == 429:
                    stop.wait(float(r.headers.get("retry-after", "1")))
            except httpx.HTTPError:
                seen["error"] += 1


def phase(url: str, seconds: int, conns: int, heavy: int) -> tuple[list[KindRun], Counter[str]]:
    stop = threading.Event()
    seen: Counter[str] = Counter()
    clients = [
        threading.Thread(target=_heavy_client, args=(url, n, stop, seen)) for n in range(heavy)
    ]
    for thread in clients:
        thread.start()
    if heavy:
        time.sleep(1)  # the heavy queries hold their workers before the others start
    running = [
        (kind, *_start_wrk(url, kind, paths, headers, seconds=seconds, conns=conns))
        for kind, (paths, headers) in _kinds(url).items()
    ]
    runs = []
    for kind, proc, script in running:
        out, _ = proc.communicate(timeout=seconds + 120)
        script.unlink(missing_ok=True)
        runs.append(_read(kind, out))
    stop.set()
    for thread in clients:
        thread.join(timeout=120)
    return runs, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=2, help="per kind of request")
    parser.add_argument("--heavy", type=int, default=2, help="clients sending heavy queries")
    parser.add_argument("--seeds", type=Path, default=CORPUS)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "load.json")
    parser.add_argument(
        "serve_args", nargs="*", help="more options for meshkg serve (after --)", default=[]
    )
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(BIN / "meshkg"),
        "serve",
        str(args.seeds),
        "--port",
        str(port),
        "--access-log",
        "off",
        # every wrk connects from 127.0.0.1 and stands for many readers, so the per-client
        # budget would see them as one client; the heavy clients have addresses of their own
        # and send one query at a time, so their share is what the budget would give them
        "--client-queries",
        "64",
        *args.serve_args,
    ]
    report: dict[str, object] = {"seconds": args.seconds, "heavy_clients": args.heavy}
    with server(command, url + "/ready"):
        _kinds(url)  # every path answers once before anything is timed
        print(f"phase 1: quiet, {args.seconds} s", flush=True)
        quiet, _ = phase(url, args.seconds, args.connections, 0)
        print(f"phase 2: {args.heavy} heavy clients, {args.seconds} s", flush=True)
        loaded, heavy_seen = phase(url, args.seconds, args.connections, args.heavy)
        metrics = httpx.get(url + "/metrics").text
    print()
    header = (
        f"{'kind':16} {'quiet req/s':>11} {'p50 ms':>8} {'p99 ms':>8} │ "
        f"{'heavy req/s':>11} {'p50 ms':>8} {'p99 ms':>8} │ {'p99 ratio':>9} "
        f"{'429/503':>8} {'other 5xx':>9}"
    )
    print(header)
    print("─" * len(header))
    worst = 0.0
    for q, h in zip(quiet, loaded, strict=True):
        ratio = h.p99_ms / q.p99_ms if q.p99_ms else float("nan")
        worst = max(worst, ratio)
        bad = q.unexpected_5xx + h.unexpected_5xx
        print(
            f"{q.kind:16} {q.requests_per_s:11.0f} {q.p50_ms:8.2f} {q.p99_ms:8.2f} │ "
            f"{h.requests_per_s:11.0f} {h.p50_ms:8.2f} {h.p99_ms:8.2f} │ {ratio:8.2f}× "
            f"{q.limited + h.limited:8} {bad:9}"
        )
    print()
    print(f"heavy clients' answers: {dict(heavy_seen)}")
    print(f"worst p99 ratio: {worst:.2f}× (target ≤ 3×)")
    restarts = re.findall(r'meshkg_worker_restarts_total\{reason="([^"]+)"\} (\S+)', metrics)
    print(f"worker restarts: {dict(restarts)}")
    report |= {
        "quiet": [asdict(r) for r in quiet],
        "heavy": [asdict(r) for r in loaded],
        "heavy_answers": dict(heavy_seen),
        "worst_p99_ratio": worst,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
