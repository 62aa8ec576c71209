"""HTTP throughput and latency with wrk: the service beside the engines it is measured against.

    python bench/throughput.py [--scales 1 10] [--duration 10] [--connections 10] \
        [--json bench/out/throughput.json]

Needs ``wrk`` (Debian package) and the bench extra (``pip install -e '.[bench]'``: the PyPI
packages ``rdflib-endpoint`` and ``oxigraph``). For each scale one snapshot is built from the
seeds (``meshkg build --store``) and the same data is served, all on 127.0.0.1, by:

* **meshkg**: ``meshkg serve --store`` (``/sparql`` with every protocol check, time limit and
  result cap, queries in worker processes, all but the constant ``ASK {}`` probe; and the JSON
  API). Its runs send ``Cache-Control:
  no-cache`` so every request is computed; each is followed by a run without it, where repeated
  requests are answered from the answer cache (printed as "repeated (cache)");
* **bare**: a FastAPI route calling pyoxigraph on the same snapshot (``bench/bare_app.py``):
  what a SPARQL route costs without any of that work;
* **oxigraph**: Oxigraph's own Rust server on the N-Quads dump, the limit to approach; in
  memory or on disk as meshkg serves the snapshot (``oxigraph serve`` loaded over its Graph
  Store endpoint, or ``oxigraph serve-read-only``);
* **rdflib-endpoint**: rdflib's engine behind FastAPI, on the same dump;
* **floor**: a FastAPI route returning constant JSON (in ``bench/bare_app.py``); and for each
  query, a FastAPI route returning meshkg's answer to it as constant bytes (the **answer
  floor**: what any FastAPI service computing that answer would stay under).

Every server first answers every query once and the answers are compared (row or triple
counts), so a faster server that answers something else is caught. Then each (query, server)
pair gets a wrk run of ``--duration`` seconds with ``--connections`` connections, one pair
after the other in one run, so the ratios printed compare like with like on a noisy machine.
rdflib-endpoint gets three times the duration (it may answer a handful of requests only).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bundled import ontology_path  # noqa: E402
from app.namespaces import ONTOLOGY_IRI  # noqa: E402
from bench.coldstart import free_port  # noqa: E402
from bench.scale import corpus_for  # noqa: E402
from bench.workload import Query, workload  # noqa: E402

BIN = Path(sys.executable).parent
SERVERS = ("meshkg", "bare", "oxigraph", "rdflib-endpoint")
ASK = "ASK {}"
SMALLEST = "ASK { FILTER(true) }"
"""The smallest query that reaches a query worker (``ASK {}`` itself is answered in process)."""


@dataclass
class Run:
    """One wrk run."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers, socket errors and timeouts
    seconds: float


@contextmanager
def server(command: list[str], ready: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run ``command`` until the block ends; wait until ``ready`` answers 200."""
    print(f"  starting {Path(command[0]).name} …", end="", flush=True)
    began = time.monotonic()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 900
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    out = log.read().decode(errors="replace")[-3000:]
                    raise RuntimeError(f"{command[0]} exited: {out}")
                try:
                    if httpx.get(ready, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command} did not answer in time")
                time.sleep(0.2)
            print(f" answering after {time.monotonic() - began:.1f} s", flush=True)
            yield
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, accept: str, seconds: float, connections: int, fresh: bool = False) -> Run:
    """``fresh``: every request says ``Cache-Control: no-cache``, so meshkg computes each one."""
    fresh_header = ["-H", "Cache-Control: no-cache"] if fresh else []
    out = subprocess.run(
        [
            "wrk",
            *fresh_header,
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "60s",
            "--latency",
            "-H",
            f"Accept: {accept}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return Run(
        float(rate.group(1)) if rate else 0.0,
        _ms(p50.group(1)) if p50 else float("nan"),
        _ms(p99.group(1)) if p99 else float("nan"),
        int(done.group(1)) if done else 0,
        errors,
        seconds,
    )


def _size(response: httpx.Response, form: str) -> int:
    """What is compared between servers: rows of a SELECT, triples of a DESCRIBE.

    Graphs are asked for as Turtle; rdflib-endpoint answers a DESCRIBE with RDF/XML whatever
    is asked (labelled ``application/sparql-results+xml``), so XML is recognised by its start.
    """
    response.raise_for_status()
    if form == "describe":
        xml = response.content.lstrip().startswith(b"<?xml")
        syntax = ox.RdfFormat.RDF_XML if xml else ox.RdfFormat.TURTLE
        return len(list(ox.parse(response.content, format=syntax)))
    body = response.json()
    rows = body["results"]["bindings"]
    if len(rows) == 1 and len(body["head"]["vars"]) == 1:  # a count: compare the number
        return int(next(iter(rows[0].values()))["value"])
    return len(rows)


def accept_for(query: Query) -> str:
    return "text/turtle" if query.form == "describe" else "application/sparql-results+json"


def bench_scale(scale: int, args: argparse.Namespace) -> dict[str, object]:
    seeds = corpus_for(scale)
    report: dict[str, object] = {"scale": scale}
    with tempfile.TemporaryDirectory(prefix="meshkg-http-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        subprocess.run(
            [str(BIN / "meshkg"), "build", str(seeds), "--store", str(work / "store")],
            check=True,
            capture_output=True,
        )
        key = (work / "store" / "current").read_text().strip()
        snapshot_store = work / "store" / "snapshots" / key / "store"
        ports = {name: free_port() for name in (*SERVERS, "before", "floor")}
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        ask = "/sparql?" + urlencode({"query": ASK})
        stack.enter_context(
            server(
                [
                    str(BIN / "meshkg"),
                    "serve",
                    str(seeds),
                    "--store",
                    str(work / "store"),
                    "--port",
                    str(ports["meshkg"]),
                    # wrk is one client (one address) with many connections, measuring the
                    # service's throughput, not its fair share between clients: no budget
                    "--client-queries",
                    "1024",
                ],
                base["meshkg"] + ask,
            )
        )
        if args.baseline is not None:
            # the same seeds served by another installation (the code before a change), with
            # its own stored snapshot: side by side in one run, on one machine state
            baseline = Path(args.baseline)
            subprocess.run(
                [str(baseline / "meshkg"), "build", str(seeds), "--store", str(work / "before")],
                check=True,
                capture_output=True,
            )
            stack.enter_context(
                server(
                    [
                        str(baseline / "meshkg"),
                        "serve",
                        str(seeds),
                        "--store",
                        str(work / "before"),
                        "--port",
                        str(ports["before"]),
                        "--client-queries",
                        "1024",
                    ],
                    base["before"] + ask,
                )
            )
        dump = work / "all.nq"
        dump.write_bytes(httpx.get(base["meshkg"] + "/dumps/all.nq", timeout=600).content)
        stack.enter_context(
            server(
                [
                    str(BIN / "uvicorn"),
                    "bench.bare_app:app",
                    "--port",
                    str(ports["bare"]),
                    "--log-level",
                    "warning",
                ],
                base["bare"] + "/floor",
                env={"MESHKG_BENCH_STORE": str(snapshot_store), "MESHKG_BENCH_ANSWERS": str(work)},
            )
        )
        base["floor"] = base["bare"]
        in_memory = httpx.get(base["meshkg"] + "/info").json()["snapshot"]["served_from"]
        report["served_from"] = in_memory
        stack.enter_context(oxigraph_server(work, dump, ports["oxigraph"], in_memory == "memory"))
        base["oxigraph"] += "/query"
        for name in ("meshkg", "bare", "before"):
            base[name] += "/sparql"
        base["rdflib-endpoint"] += "/"  # rdflib-endpoint answers queries at its root
        rdflib = Restartable(
            [
                str(BIN / "rdflib-endpoint"),
                "serve",
                str(dump),
                str(ontology_path()),
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["rdflib-endpoint"]),
            ],
            base["rdflib-endpoint"] + "?" + urlencode({"query": ASK}),
        )
        servers = list(SERVERS) + (["before"] if args.baseline is not None else [])
        if args.skip_rdflib:
            servers.remove("rdflib-endpoint")
        else:
            stack.callback(rdflib.stop)
            rdflib.start()
        queries = workload(ox.Store.read_only(str(snapshot_store)))
        queries = [q for q in queries if not args.queries or q.name in args.queries]
        report["sparql"] = sparql_runs(queries, servers, base, rdflib, args, answers=work)
        if args.sparql_only:
            return report
        ask_url = base["meshkg"] + "?" + urlencode({"query": ASK})
        smallest_url = base["meshkg"] + "?" + urlencode({"query": SMALLEST})
        results_json = "application/sparql-results+json"
        report["ask_vs_floor"] = {
            "meshkg_ask": asdict(
                wrk(ask_url, results_json, args.duration, args.connections, fresh=True)
            ),
            "meshkg_smallest_worker_query": asdict(
                wrk(smallest_url, results_json, args.duration, args.connections, fresh=True)
            ),
            "meshkg_ask_cached": asdict(
                wrk(ask_url, results_json, args.duration, args.connections)
            ),
            "floor": asdict(
                wrk(base["floor"] + "/floor", "application/json", args.duration, args.connections)
            ),
        }
        if args.baseline is not None:
            before_ask = base["before"] + "?" + urlencode({"query": ASK})
            report["ask_vs_floor"]["before_ask"] = asdict(  # type: ignore[index]
                wrk(before_ask, results_json, args.duration, args.connections, fresh=True)
            )
        report["api"] = api_runs(base["meshkg"].removesuffix("/sparql"), args)
        if args.baseline is not None:
            print("  the code before (--baseline):", flush=True)
            report["api_before"] = api_runs(base["before"].removesuffix("/sparql"), args)
    return report


@contextmanager
def oxigraph_server(work: Path, dump: Path, port: int, in_memory: bool) -> Iterator[None]:
    """Oxigraph's Rust server holding what meshkg serves, from memory or disk as meshkg does.

    In memory, the server is the writable ``oxigraph serve`` with the data POSTed to its Graph
    Store endpoint (the read-only server only opens stores on disk); on disk, a store loaded
    with ``oxigraph load`` and opened by ``serve-read-only``.
    """
    oxigraph = str(BIN / "oxigraph")
    bind = ["--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    url = f"http://127.0.0.1:{port}"
    ready = url + "/query?" + urlencode({"query": ASK})
    if in_memory:
        with server([oxigraph, "serve", *bind], ready):
            for path, media, graph in (
                (dump, "application/n-quads", None),
                (ontology_path(), "text/turtle", ONTOLOGY_IRI),
            ):
                params = {"graph": graph} if graph else {}  # N-Quads: the whole dataset
                headers = {"Content-Type": media}
                with path.open("rb") as data:
                    r = httpx.post(
                        url + "/store", params=params, content=data, headers=headers, timeout=600
                    )
                r.raise_for_status()
            yield
        return
    location = str(work / "oxigraph")
    for path, graph in ((dump, None), (ontology_path(), ONTOLOGY_IRI)):
        load = [oxigraph, "load", "--location", location, "--file", str(path)]
        subprocess.run(
            load + (["--graph", graph] if graph else []), check=True, capture_output=True
        )
    with server([oxigraph, "serve-read-only", "--location", location, *bind], ready):
        yield


class Restartable:
    """A server that can be stopped and started again (rdflib-endpoint after a query that
    outlived ``--answer-timeout``: its thread would go on computing and slow every later run)."""

    def __init__(self, command: list[str], ready: str) -> None:
        self.command, self.ready = command, ready
        self.running: ExitStack | None = None

    def start(self) -> None:
        self.running = ExitStack()
        self.running.enter_context(server(self.command, self.ready))

    def stop(self) -> None:
        if self.running is not None:
            self.running.close()
            self.running = None


def sparql_runs(
    queries: list[Query],
    servers: list[str],
    base: dict[str, str],
    rdflib: Restartable,
    args: argparse.Namespace,
    *,
    answers: Path,
) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for query in queries:
        accept = accept_for(query)
        urls = {s: base[s] + "?" + urlencode({"query": query.sparql}) for s in servers}
        sizes: dict[str, int | None] = {}
        for s in servers:
            try:
                answer = httpx.get(urls[s], headers={"Accept": accept}, timeout=args.answer_timeout)
                sizes[s] = _size(answer, query.form)
                if s == "meshkg":  # for the answer floor
                    (answers / query.name).write_bytes(answer.content)
                    (answers / f"{query.name}.type").write_text(answer.headers["content-type"])
            except httpx.TimeoutException:
                sizes[s] = None
                print(f"  ! {query.name}: {s} gave no answer in {args.answer_timeout:g} s")
                if s == "rdflib-endpoint":
                    rdflib.stop()
                    rdflib.start()
        row: dict[str, object] = {"answer_sizes": sizes}
        if len({v for v in sizes.values() if v is not None}) > 1:
            row["warning"] = f"servers disagree: {sizes}"
            print(f"  ! {query.name}: servers disagree on the answer: {sizes}", flush=True)
        for s in servers:
            if sizes[s] is None:
                row[s] = None
                continue
            seconds = args.duration * (3 if s == "rdflib-endpoint" else 1)
            fresh = s in ("meshkg", "before")
            row[s] = asdict(wrk(urls[s], accept, seconds, args.connections, fresh=fresh))
        row["meshkg_cached"] = asdict(wrk(urls["meshkg"], accept, args.duration, args.connections))
        if "before" in servers:
            row["before_cached"] = asdict(
                wrk(urls["before"], accept, args.duration, args.connections)
            )
        floor_url = base["floor"] + f"/floor/{query.name}"
        row["answer_floor"] = asdict(wrk(floor_url, accept, args.duration, args.connections))
        out[query.name] = row
        print_sparql_row(query.name, row, servers, args.answer_timeout)
    return out


def print_sparql_row(
    name: str, row: dict[str, object], servers: list[str], answer_timeout: float
) -> None:
    runs = {s: row[s] for s in servers}
    # a server that gave no answer in the time allowed made fewer than 1/timeout requests/s
    rates = {s: r["requests_per_s"] if r else None for s, r in runs.items()}  # type: ignore[index]
    mine = rates["meshkg"] or 0.0
    cells = "  ".join(
        f"{s} {rates[s]:8.1f}" if rates[s] is not None else f"{s}  (none in {answer_timeout:g} s)"
        for s in servers
    )
    ratios = "  ".join(
        f"meshkg/{s} {mine / rates[s]:6.2f}"  # type: ignore[operator]
        if rates[s]
        else f"meshkg/{s} > {mine * answer_timeout:.0f}"
        for s in servers
        if s != "meshkg"
    )
    m, cached, floor = runs["meshkg"], row["meshkg_cached"], row["answer_floor"]
    rdflib = rates.get("rdflib-endpoint")
    old: dict[str, float] | None = row.get("before_cached")  # type: ignore[assignment]
    repeated = ""
    if old:
        now = cached["requests_per_s"]  # type: ignore[index]
        repeated = f" (before: {old['requests_per_s']:.0f}, {now / old['requests_per_s']:.2f}x)"
    print(
        f"  {name:<20} req/s: {cells}  |  {ratios}  |  meshkg p50 {m['p50_ms']:.1f} ms "  # type: ignore[index]
        f"p99 {m['p99_ms']:.1f} ms  |  repeated (cache) {cached['requests_per_s']:.0f} req/s "  # type: ignore[index]
        f"p50 {cached['p50_ms']:.2f} ms{repeated}  |  "
        f"answer floor {floor['requests_per_s']:.0f} req/s"  # type: ignore[index]
        + (f" (20x rdflib-endpoint: {20 * rdflib:.0f})" if rdflib else ""),
        flush=True,
    )


def api_runs(root: str, args: argparse.Namespace) -> dict[str, dict[str, object]]:
    """The JSON API's list and detail routes, about resources the API itself names."""
    collections = httpx.get(root + "/api/collections").json()["items"]
    coll = max(collections, key=lambda c: c["counts"]["sources"])["name"]
    source = httpx.get(root + "/api/sources", params={"collection": coll, "limit": 1}).json()
    code = httpx.get(
        root + "/api/codes", params={"collection": coll, "sort": "sources", "order": "desc"}
    ).json()
    routes = {
        "sources list": "/api/sources?limit=50",
        "codes list": "/api/codes?limit=50&sort=sources&order=desc",
        "practices list": f"/api/practices?collection={coll}&limit=50",
        "source detail": source["items"][0]["url"].removeprefix(root),
        "code detail (most evidence)": code["items"][0]["url"].removeprefix(root),
        "search": "/api/search?q=catalog&limit=20",
    }
    out: dict[str, dict[str, object]] = {}
    for name, path in routes.items():
        assert httpx.get(root + path).status_code == 200, path
        run = wrk(root + path, "application/json", args.duration, args.connections, fresh=True)
        cached = wrk(root + path, "application/json", args.duration, args.connections)
        out[name] = {"path": path, **asdict(run), "cached": asdict(cached)}
        print(
            f"  api {name:<28} {run.requests_per_s:8.1f} req/s  p50 {run.p50_ms:6.2f} ms  "
            f"p99 {run.p99_ms:6.2f} ms  errors {run.errors}  |  repeated (cache) "
            f"{cached.requests_per_s:8.1f} req/s  p50 {cached.p50_ms:6.2f} ms",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--skip-rdflib", action="store_true", help="leave rdflib-endpoint out")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="the bin/ folder of another installation (the code before a change): its "
        "meshkg serves the same seeds beside this one, and every run compares the two",
    )
    parser.add_argument(
        "--answer-timeout",
        type=float,
        default=120,
        help="seconds a server may take to answer a query once before it is left out of it",
    )
    parser.add_argument(
        "--queries", nargs="+", metavar="NAME", help="run only these workload queries"
    )
    parser.add_argument(
        "--sparql-only", action="store_true", help="leave out ASK {}, the floor and the JSON API"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "throughput.json")
    args = parser.parse_args()
    missing = [t for t in ("wrk",) if shutil.which(t) is None]
    missing += [t for t in ("oxigraph", "rdflib-endpoint", "uvicorn") if not (BIN / t).exists()]
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (apt-get install wrk; pip install -e '.[bench]')")
    print(
        f"cores {os.cpu_count()}; wrk {args.connections} connections, {args.duration:g} s per run "
        "(rdflib-endpoint: 3x); all servers on 127.0.0.1",
        flush=True,
    )
    results = []
    for scale in args.scales:
        print(f"x{scale}", flush=True)
        report = bench_scale(scale, args)
        results.append(report)
        if args.sparql_only:
            continue
        floor = report["ask_vs_floor"]
        base = floor["floor"]  # type: ignore[index]
        print(
            f"  floor {base['requests_per_s']:.0f} req/s (p50 {base['p50_ms']:.2f} ms)", flush=True
        )
        for key, how in (
            ("meshkg_ask", "ASK {} computed"),
            ("meshkg_ask_cached", "ASK {} repeated (cache)"),
            ("meshkg_smallest_worker_query", f"{SMALLEST} computed, in a worker"),
            ("before_ask", "ASK {} computed by the code before"),
        ):
            if key not in floor:  # type: ignore[operator]
                continue
            ask = floor[key]  # type: ignore[index]
            print(
                f"  {how} on /sparql: {ask['requests_per_s']:.0f} req/s "
                f"(p50 {ask['p50_ms']:.2f} ms): "
                f"{ask['requests_per_s'] / base['requests_per_s']:.0%} of the floor",
                flush=True,
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
