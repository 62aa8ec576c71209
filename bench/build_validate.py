"""Time reading, mapping and validating a seed corpus; print a table, write JSON.

    python bench/build_validate.py [SEEDS…] [--repeat 5] [--json bench/out/build_validate.json]

Defaults to ../shared/corpus. Each configuration (one process, then one per core) runs
``--repeat`` times in this process, interleaved so machine noise hits both alike; the table
reports medians per stage and the ratio between the two configurations.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.pipeline import build, check  # noqa: E402

STAGES = ("discover", "parse", "resolve", "rdf", "validate")


def run_once(paths: list[Path], workers: int) -> dict[str, float]:
    settings = Settings(workers=workers)
    start = time.perf_counter()
    built = build(paths, settings)
    report = check(built)
    total = time.perf_counter() - start
    return {
        **{s: built.timings.get(s, 0.0) for s in STAGES},
        "total": total,
        "triples": float(built.triple_count()),
        "findings": float(len(report.findings)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="*", type=Path, default=[ROOT.parent / "shared" / "corpus"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "build_validate.json")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    configs = {"1 process": 1, f"{cores} processes": cores}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    run_once(args.seeds, 1)  # warm caches (imports, parsed shapes) before measuring
    for _ in range(args.repeat):
        for name, workers in configs.items():
            runs[name].append(run_once(args.seeds, workers))
    medians = {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()
    }
    first, second = list(configs)
    print(f"seeds: {', '.join(map(str, args.seeds))}; median of {args.repeat} runs")
    print(f"{'stage':<10} {first:>12} {second:>14} {'ratio':>7}")
    for key in (*STAGES, "total"):
        a, b = medians[first][key], medians[second][key]
        ratio = a / b if b else float("nan")
        print(f"{key:<10} {a * 1000:>10.1f}ms {b * 1000:>12.1f}ms {ratio:>6.2f}x")
    print(f"triples {int(medians[first]['triples']):,}; findings {int(medians[first]['findings'])}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"medians": medians, "runs": runs}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
