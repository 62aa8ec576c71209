"""Build and validate the shared corpus and synthetic copies of it (×1, ×10, ×100).

    python bench/scale.py [--scales 1 10 100] [--json bench/out/scale.json]

Each scale runs in a fresh process (so peak memory is that scale's own) and is measured twice:

* separately: build (read + model + RDF + load into the Oxigraph store), then validate;
* together, as ``meshkg build`` with validation runs them: validation workers start first and
  the store loads beside them.

Synthetic corpora come from ``bench/synth.py`` (generated when missing). The table ends with the
growth ratios ×10/×1 and ×100/×10: linear growth keeps them near 10.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_for(scale: int) -> Path:
    if scale == 1:
        return CORPUS
    target = ROOT / "bench" / "out" / f"synth-x{scale}"
    if not target.is_dir():
        from bench.synth import generate

        generate(CORPUS, target, scale)
    return target


def measure(seeds: Path, mode: str) -> dict[str, float]:
    """Runs in a child process; prints one JSON line."""
    from app.pipeline import build, check, store, store_and_check

    start = time.perf_counter()
    built = build([seeds])
    if mode == "separate":
        snapshot = store(built)
        built_at = time.perf_counter()
        report = check(built)
        done = time.perf_counter()
        result = {"build": built_at - start, "validate": done - built_at}
    else:
        snapshot, report = store_and_check(built)
        done = time.perf_counter()
        result = {"total": done - start}
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result |= {
        "triples": float(snapshot.info.triples),
        "findings": float(len(report.findings)),
        "peak_rss_mb": own,
        "peak_worker_rss_mb": children,
        **{f"stage_{k}": v for k, v in built.timings.items()},
    }
    return result


def run(scale: int, mode: str) -> dict[str, float]:
    seeds = corpus_for(scale)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(seeds), mode],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "scale.json")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), args.child[1])))
        return
    rows = {}
    for scale in args.scales:
        rows[scale] = run(scale, "separate") | run(scale, "together")
        r = rows[scale]
        print(
            f"x{scale:<4} triples {int(r['triples']):>9,}  build {r['build']:7.2f} s  "
            f"validate {r['validate']:7.2f} s  build+validate together {r['total']:7.2f} s  "
            f"peak RSS {r['peak_rss_mb']:6.0f} MB (workers {r['peak_worker_rss_mb']:5.0f} MB)  "
            f"findings {int(r['findings'])}",
            flush=True,
        )
    scales = sorted(rows)
    for small, big in itertools.pairwise(scales):
        ratio = rows[big]["total"] / rows[small]["total"]
        print(f"growth x{big}/x{small}: {ratio:.2f} (size ratio {big / small:.0f})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
