"""Render time of the research views, at ×1, ×10 and ×100 of the corpus.

    python bench/pages.py [--scales 1 10 100] [--requests 30] [--json bench/out/pages.json]

For each scale one ``meshkg serve`` (its snapshot kept under ``bench/out/store-x{N}``, so a
second run starts at once) answers every view of one collection as HTML, from a client on
127.0.0.1: the time is the whole answer as a browser would wait for it. Each view is asked
once first (``first``: that request makes the study's read model, once per snapshot), then
``--requests`` times with a distinct ``_n`` parameter so that the service's answer cache never
answers. Prints p50 and p99 per view and scale, and the ratio of each scale's p50 to ×1's.
The overview is measured last: its first request starts checking the notes in the background,
which would share the machine with the other views.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.coldstart import free_port  # noqa: E402
from bench.scale import corpus_for  # noqa: E402
from bench.throughput import BIN, server  # noqa: E402

COLLECTION = "data-as-a-product"
HTML = {"Accept": "text/html"}


def _views(client: httpx.Client, base: str) -> list[tuple[str, str, dict[str, object]]]:
    """The views asked, with parameters read from the collection itself."""
    view = f"{base}/views/{COLLECTION}"
    by_kind = {
        kind: client.get(
            f"{view}/codes.json", params={"kind": kind, "limit": 100_000}, timeout=600
        ).json()["codes"]
        for kind in ("decision", "force", "practice")
    }
    decision = by_kind["decision"][0]["id"]
    forces = sorted(by_kind["force"], key=lambda c: -c["sources"])[:2]
    practice = sorted(by_kind["practice"], key=lambda c: -c["sources"])[0]
    impacts = client.get(f"{view}/impacts.json", params={"limit": 1}, timeout=600).json()
    cell = impacts["cells"][0]
    ids = {c["iri"]: c["id"] for c in (*impacts["rows"], *impacts["columns"])}
    return [
        ("decisions", f"{view}/decisions", {}),
        ("decision", f"{view}/decisions/{decision}", {}),
        ("impacts", f"{view}/impacts", {}),
        ("coding", f"{view}/coding", {"sort": "sources"}),
        ("co-occurrence", f"{view}/co-occurrence", {}),
        ("quotes", f"{view}/quotes", {"solution": ids[cell["row"]], "force": ids[cell["column"]]}),
        ("analytics", f"{view}/analytics", {}),
        (
            "guidance",
            f"{view}/guidance",
            {"force": [f"{forces[0]['id']}:2", f"{forces[1]['id']}:-1"]},
        ),
        ("codebook", f"{view}/codes", {}),
        ("code page", base + str(practice["href"]), {}),
        ("search", f"{base}/search", {"q": "data product"}),
        ("overview", view, {}),
    ]


def _time(client: httpx.Client, url: str, params: dict[str, object]) -> float:
    start = time.perf_counter()
    answer = client.get(url, params=params, headers=HTML, timeout=600)  # type: ignore[arg-type]
    took = time.perf_counter() - start
    if answer.status_code != 200:
        raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    return took


def bench_scale(scale: int, requests: int) -> dict[str, dict[str, float]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = ROOT / "bench" / "out" / f"store-x{scale}"
    command = [str(BIN / "meshkg"), "serve", str(corpus_for(scale)), "--port", str(port)]
    command += ["--store", str(store)]
    out: dict[str, dict[str, float]] = {}
    with server(command, base + "/health"), httpx.Client() as client:
        for name, url, params in _views(client, base):
            first = _time(client, url, params)
            times = [_time(client, url, {**params, "_n": i}) for i in range(requests)]
            times.sort()
            out[name] = {
                "first_ms": first * 1000,
                "p50_ms": statistics.median(times) * 1000,
                "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
            }
            row = out[name]
            print(
                f"  x{scale:<4} {name:<14} first {row['first_ms']:8.1f} ms"
                f"   p50 {row['p50_ms']:8.1f} ms   p99 {row['p99_ms']:8.1f} ms",
                flush=True,
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "pages.json")
    args = parser.parse_args()
    results = {str(scale): bench_scale(scale, args.requests) for scale in args.scales}
    print()
    scales = [str(s) for s in args.scales]
    print(
        f"{'view':<14}"
        + "".join(f"{'p50 x' + s:>12}{'p99 x' + s:>12}" for s in scales)
        + "".join(f"{'x' + s + '/x' + scales[0]:>10}" for s in scales[1:])
    )
    for name in results[scales[0]]:
        cells = "".join(
            f"{results[s][name]['p50_ms']:>10.1f}ms{results[s][name]['p99_ms']:>10.1f}ms"
            for s in scales
        )
        ratios = "".join(
            f"{results[s][name]['p50_ms'] / results[scales[0]][name]['p50_ms']:>10.1f}"
            for s in scales[1:]
        )
        print(f"{name:<14}{cells}{ratios}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
