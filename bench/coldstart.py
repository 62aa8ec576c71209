"""Cold start and serving memory: from process start to the first answered query.

    python bench/coldstart.py [--scales 1 10 100] [--repeat 3] [--json bench/out/coldstart.json]

For each scale, ``meshkg serve`` is started as a fresh process on 127.0.0.1 and polled with
``ASK { ?s a ?type }`` on ``/sparql`` until it answers (a query a worker evaluates over the
graph), two ways side by side:

* **rebuild**: no store; the seeds are read, mapped and loaded in memory on every start;
* **reopen**: ``--store`` pointing at a snapshot written beforehand by ``meshkg build --store``
  from the same seeds; the seeds are only hashed, the snapshot opened read-only.

After the first answer, the time to the first JSON API answer is taken (the API answers once its
per-snapshot tables and search index are built, in the background from the start); then a code
detail, a search and four of the benchmark queries run (so every query worker has touched the
data), and the service's memory is read from ``/proc``: the RSS of the main process, and the
PSS summed over the main process and its query workers (PSS shares pages between the forked
processes fairly, so the sum is the real footprint; an RSS sum would count shared pages twice).
The ×100 rebuild takes minutes and runs once whatever ``--repeat`` says.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import corpus_for  # noqa: E402
from bench.workload import COUNT, PRACTICE_SUPPORT, THREE_HOP, quote_search  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory(pid: int) -> dict[str, float]:
    """RSS of the main process; PSS of it and its descendants (the query workers)."""
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        try:
            todo += _children(p)
        except FileNotFoundError:
            continue
    pss = 0
    for p in tree:
        try:
            pss += _memory_kb(p, "Pss")
        except FileNotFoundError:
            continue
    return {
        "main_rss_mb": _memory_kb(pid, "Rss") / 1024,
        "total_pss_mb": pss / 1024,
        "processes": float(len(tree)),
    }


# a query that reads the graph, in a query worker: ``ASK {}`` would be answered without either
PROBE = "ASK { ?s a ?type }"


def start(seeds: Path, store: Path | None) -> dict[str, float]:
    """One cold start; returns seconds to the first answer and memory after a workload pass."""
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", str(seeds), "--port", str(port)]
    if store is not None:
        command += ["--store", str(store)]
    url = f"http://127.0.0.1:{port}/sparql"
    with tempfile.TemporaryFile() as log:
        began = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"serve exited: {log.read().decode(errors='replace')}")
                try:
                    r = httpx.get(url, params={"query": PROBE}, timeout=2)
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
            first = time.perf_counter() - began
            with httpx.Client(timeout=120) as client:
                # the API answers once its tables are built, in the background from the start
                api = url.removesuffix("/sparql") + "/api"
                codes = client.get(api + "/codes", params={"sort": "sources", "order": "desc"})
                first_api = time.perf_counter() - began
                client.get(codes.raise_for_status().json()["items"][0]["url"]).raise_for_status()
                client.get(api + "/search", params={"q": "catalog"}).raise_for_status()
                for query in (PRACTICE_SUPPORT, quote_search(), THREE_HOP, COUNT):
                    for _ in range(4):  # reach every query worker
                        client.post(url, data={"query": query.sparql}).raise_for_status()
            return {"first_answer_s": first, "first_api_answer_s": first_api, **memory(proc.pid)}
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def prepare_store(seeds: Path, store: Path) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "build", str(seeds), "--store", str(store)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - began


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "coldstart.json")
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}; median of {args.repeat} starts (×100 rebuild: one)")
    rows: dict[int, dict[str, dict[str, float]]] = {}
    for scale in args.scales:
        seeds = corpus_for(scale)
        with tempfile.TemporaryDirectory(prefix="meshkg-store-") as tmp:
            store = Path(tmp) / "store"
            written = prepare_store(seeds, store)
            rebuilds = 1 if scale >= 100 else args.repeat
            row = {
                "rebuild": _median([start(seeds, None) for _ in range(rebuilds)]),
                "reopen": _median([start(seeds, store) for _ in range(args.repeat)]),
            }
            row["reopen"]["store_written_s"] = written
        rows[scale] = row
        rb, ro = row["rebuild"], row["reopen"]
        print(
            f"x{scale:<4} first answer: rebuild {rb['first_answer_s']:7.2f} s  "
            f"reopen {ro['first_answer_s']:5.2f} s  "
            f"(×{rb['first_answer_s'] / ro['first_answer_s']:.1f} faster)  |  first API answer: "
            f"rebuild {rb['first_api_answer_s']:7.2f} s  "
            f"reopen {ro['first_api_answer_s']:5.2f} s  |  "
            f"memory after workload: rebuild RSS {rb['main_rss_mb']:6.0f} MB, "
            f"PSS {rb['total_pss_mb']:6.0f} MB;  reopen RSS {ro['main_rss_mb']:5.0f} MB, "
            f"PSS {ro['total_pss_mb']:5.0f} MB ({int(ro['processes'])} processes)",
            flush=True,
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
