"""The JSON API's tables: made from a stored snapshot against read back from its folder.

    python bench/tables.py [--scales 1 10 100] [--repeat 3] [--json bench/out/tables.json]

For each scale a snapshot is stored on disk (as ``meshkg build --store`` stores it), then, in
this one process and side by side, its tables are made from the on-disk store
(``tables.build``: what a service did at every start before the tables were kept) and read back
from the snapshot's file (``tables_file.load``: what a reopened service does now). Medians of
``--repeat``; at ×100 making them takes half a minute, so it runs once there. Both results are
compared and the script stops if they ever differ. The cycle collector is paused for both, as
the service pauses it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import collector  # noqa: E402
from app.pipeline import build, store  # noqa: E402
from app.read import tables, tables_file  # noqa: E402
from bench.scale import corpus_for  # noqa: E402


def _median(repeat: int, work: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        with collector.paused():
            start = time.perf_counter()
            result = work()
            times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_scale(scale: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="meshkg-tables-") as tmp:
        root = Path(tmp)
        snapshot = store(build([corpus_for(scale)]), root)  # reopened read-only from disk
        folder = snapshot.directory
        assert folder is not None
        made_s, made = _median(
            1 if scale >= 100 else repeat, lambda: tables.build(snapshot.store, snapshot.info)
        )
        assert isinstance(made, tables.Tables)
        start = time.perf_counter()
        path = tables_file.save(made, folder, snapshot.info)
        saved_s = time.perf_counter() - start
        read_s, read = _median(repeat, lambda: tables_file.load(folder, snapshot.info))
        if read != made:
            raise SystemExit(f"x{scale}: the tables read back differ from the tables made")
        return {
            "triples": float(snapshot.info.triples),
            "quotes": float(len(made.quotes)),
            "codes": float(len(made.codes)),
            "made_s": made_s,
            "written_s": saved_s,
            "read_s": read_s,
            "file_mb": path.stat().st_size / 1e6,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "tables.json")
    args = parser.parse_args()
    out: dict[str, dict[str, float]] = {}
    print(f"{'scale':>6} {'quotes':>9} {'made from the store':>20} {'read back':>10} {'ratio':>7}")
    for scale in args.scales:
        row = out[str(scale)] = bench_scale(scale, args.repeat)
        print(
            f"{'x' + str(scale):>6} {int(row['quotes']):>9,} {row['made_s']:>18.2f} s "
            f"{row['read_s']:>8.2f} s {row['made_s'] / row['read_s']:>6.1f}x"
            f"   (file {row['file_mb']:.1f} MB, written in {row['written_s']:.2f} s)"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n", "utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
