"""Live reload: from a note's change to the new generation answering, at several scales.

    python bench/reload.py --scales 1 10 100 [--repeat 3]

For each scale a copy of the corpus (×1: the shared corpus; ×N: ``bench/synth.py``) is served
by ``meshkg serve --watch`` on 127.0.0.1. Once the first reading is done, one note gains a
practice; the time runs from the write until ``/sparql`` answers with one practice more
(polled every 10 ms). The service's own account of that reload (``/health``) splits it into
reading the changed notes (parse, resolve), mapping to RDF, validating the changed collection,
assembling the snapshot (store) and preparing the generation (query workers started, the JSON
API's tables made). Printed per scale as the median of ``--repeat`` edits, with each part's
share of the whole.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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

PRACTICES = (
    "PREFIX mk: <https://w3id.org/meshkg/ontology#>\n"
    "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a mk:Practice }"
)
PARTS = ("parse", "resolve", "rdf", "validate", "store")
NOTE = re.compile(r"(^|-)[sp]_\d+\.md$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count(client: httpx.Client, base: str) -> int:
    r = client.get(
        base + "/sparql", params={"query": PRACTICES}, headers={"Cache-Control": "no-cache"}
    )
    r.raise_for_status()
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def wait(check: object, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {limit:.0f} s")
        time.sleep(0.01)


def measure(seeds: Path, repeat: int, limit: float) -> list[dict[str, float]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "app.cli", "serve", str(seeds), "--port", str(port)]
    command += ["--watch", "--access-log", "off"]
    log = tempfile.TemporaryFile()  # noqa: SIM115  # closed below
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    runs = []
    try:
        with httpx.Client(timeout=60) as client:

            def health() -> dict[str, object]:
                try:
                    r = client.get(base + "/health")
                except httpx.HTTPError:
                    return {}
                return dict(r.json()) if r.status_code == 200 else {}

            wait(lambda: health().get("last_reload") is not None, limit, "the first reading")
            # notes of a source (s_12.md, copy3-p_4.md), not templates (s_.md): a practice
            # added to a template is not part of the graph
            notes = sorted(p for p in seeds.rglob("*.md") if NOTE.search(p.name))
            for i in range(repeat):
                note = notes[(i * 7919) % len(notes)]
                before = count(client, base)
                last = health().get("last_reload")
                text = note.read_text("utf-8")
                started = time.perf_counter()
                fence = f'bench_{i} = CClass(practice, "Bench Practice {i}")'
                note.write_text(text + f"\n```python\n{fence}\n```\n", "utf-8")
                wanted = before + 1
                wait(lambda: count(client, base) == wanted, limit, "the new practice")  # noqa: B023
                seen = time.perf_counter() - started
                previous = last
                wait(lambda: health().get("last_reload") != previous, limit, "its account")  # noqa: B023
                reload = health()["last_reload"]
                assert isinstance(reload, dict)
                timings = reload["timings"]
                row = {"seen_s": seen, "reload_s": float(reload["seconds"])}
                row |= {part: float(timings.get(part, 0.0)) for part in PARTS}
                row["prepare"] = row["reload_s"] - float(timings.get("total", 0.0))
                row["notes_read"] = float(reload["notes_read"])
                row["collections_read"] = float(len(reload["collections_read"]))
                runs.append(row)
                time.sleep(0.5)  # the watcher's debounce: edits stay apart
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=float, default=600.0, help="seconds to wait at most")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "reload.json")
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}; median of {args.repeat} edits per scale")
    rows = {}
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="meshkg-reload-") as tmp:
            seeds = Path(tmp) / "seeds"
            shutil.copytree(corpus_for(scale), seeds)
            runs = measure(seeds, args.repeat, args.limit)
        row = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        rows[scale] = row
        whole = row["reload_s"]
        shares = "  ".join(
            f"{part} {row[part]:.3f} s ({row[part] / whole:.0%})" for part in (*PARTS, "prepare")
        )
        print(
            f"x{scale:<4} change -> answered {row['seen_s']:.2f} s  |  reload {whole:.2f} s "
            f"({row['notes_read']:.0f} note, {row['collections_read']:.0f} collection read "
            f"again): {shares}",
            flush=True,
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
