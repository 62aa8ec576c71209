"""rdflib against pyoxigraph on the same graph: load, write and the read workload, side by side.

    python bench/engines.py [--scales 1 10 100] [--repeat 5] [--json bench/out/engines.json]
                            [--rdflib-max-scale 100] [--slow 60] [--timeout 300]

For each scale the corpus is built once with the app (not timed: ``bench/scale.py`` times
builds) and then, in this one process:

* load: the Turtle of all triples parsed into an rdflib ``Graph`` and into a fresh
  ``pyoxigraph.Store``;
* write: Turtle serialised again from each;
* queries: the N-Quads of the collection graphs loaded into an rdflib
  ``Dataset(default_union=True)`` and into a fresh ``pyoxigraph.Store`` (queried with
  ``use_default_graph_as_union``), then every query of ``bench/workload.py`` on both, results
  fully consumed. Not the snapshot's own store: it also holds the ontology graph, which the
  N-Quads dump leaves out, so the two engines would not read the same data. A query the
  service evaluates in another form (an OPTIONAL made per row) gets a second row, "…, per
  row": Oxigraph on that form beside rdflib on the text as written.

Runs are interleaved (rdflib, oxigraph, rdflib, …) so that noise from the rest of the machine
hits both engines alike, and the median of ``--repeat`` runs is reported with the ratio
rdflib/oxigraph. An rdflib run slower than ``--slow`` seconds is not repeated (marked
"(1 run)"): at ×100 one parse takes minutes. One longer than ``--timeout`` seconds is stopped
(marked "(stopped)", the ratio then a lower bound): rdflib plans ``three_hop`` as a cross
product, which grows with the square of the corpus. Both engines' answers are compared (row
count, count value or triple count, then the values); a WARNING line is printed when they differ.
Scale 1 is the shared corpus; larger scales are synthetic copies from ``bench/synth.py``.
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Dataset, Graph

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.namespaces import PREFIXES  # noqa: E402
from app.pipeline import build, store  # noqa: E402
from app.rdf.formats import BY_EXTENSION  # noqa: E402
from app.sparql.plan import per_row_optionals  # noqa: E402
from bench.scale import corpus_for  # noqa: E402
from bench.workload import Query, workload  # noqa: E402

ENGINES = ("rdflib", "oxigraph")


@dataclass(frozen=True, slots=True)
class Answer:
    """What is compared between engines.

    ``size`` is the number of rows or triples, or the value of a lone count (two engines that
    count differently still return one row); ``values`` are the rows as sorted tuples of
    strings (IRIs and lexical forms, which both engines spell alike).
    """

    size: int
    values: list[tuple[str, ...]]
    is_count: bool

    def describe(self, unit: str) -> str:
        return f"= {self.size:,}" if self.is_count else f"{self.size:,} {unit}"


@dataclass(slots=True)
class Timing:
    """One engine's runs of one piece of work."""

    samples: list[float] = field(default_factory=list)
    skipped: bool = False
    timed_out: float | None = None  # the time limit a run was stopped at

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def to_json(self) -> dict[str, Any]:
        return {
            "median_s": self.median,
            "runs": len(self.samples),
            "samples_s": self.samples,
            "skipped": self.skipped,
            "timed_out_after_s": self.timed_out,
        }


@dataclass(slots=True)
class Row:
    """A line of the table: one piece of work timed on both engines."""

    work: str
    timings: dict[str, Timing]
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """rdflib/oxigraph; after an rdflib time-out, the lower bound the limit gives."""
        rdflib, fast = self.timings["rdflib"], self.timings["oxigraph"].median
        slow = rdflib.median if rdflib.timed_out is None else rdflib.timed_out
        return slow / fast if slow is not None and fast else None

    def to_json(self) -> dict[str, Any]:
        return {
            "rdflib": self.timings["rdflib"].to_json(),
            "oxigraph": self.timings["oxigraph"].to_json(),
            "ratio": self.ratio,
            "ratio_is_lower_bound": self.timings["rdflib"].timed_out is not None,
            "note": self.note,
        }


# --- running -------------------------------------------------------------------------------


class TimeLimit(BaseException):
    """Raised inside a run that passed ``--timeout``.

    A ``BaseException``, like ``KeyboardInterrupt``: rdflib catches ``Exception`` in places
    (its Turtle serialiser around every prefix lookup) and would swallow an ordinary one.
    """


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Stop the enclosed Python code after ``seconds`` (SIGALRM; main thread only).

    rdflib is pure Python, so the signal handler's exception lands inside its loops; a query
    that would run for hours (a cross product at ×100) ends and the benchmark goes on. The
    alarm repeats every second until the block is left, in case one is swallowed all the same;
    the handler raises only while the block runs, so a late alarm cannot hit the caller.
    """
    if not seconds:
        yield
        return
    active = True

    def on_alarm(_signum: int, _frame: object) -> None:
        if active:
            raise TimeLimit

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def interleaved(
    work: dict[str, Callable[[], object]],
    repeat: int,
    slow: float,
    *,
    timeout: float | None = None,
    collect: bool = False,
) -> tuple[dict[str, Timing], dict[str, object]]:
    """Run each engine's work ``repeat`` times, alternating engines; the last results too.

    Alternating spreads slow moments of the machine over both engines instead of charging them
    to whichever happened to run then. A run beyond ``slow`` seconds is not repeated (only
    rdflib's get there): a second minute-long sample changes little and costs the whole budget.
    An rdflib run beyond ``timeout`` is stopped, and rdflib gets no result for that work.
    ``collect`` runs the garbage collector between runs (outside the timer) where the work
    leaves big cyclic garbage behind, such as a discarded rdflib graph.
    """
    timings = {name: Timing() for name in ENGINES}
    results: dict[str, object] = {}
    for name in ENGINES:
        if name not in work:
            timings[name].skipped = True
    for _ in range(repeat):
        for name in ENGINES:
            timing = timings[name]
            if name not in work or timing.timed_out or any(s > slow for s in timing.samples):
                continue
            results.pop(name, None)  # the previous result is garbage before the run, not during
            if collect:
                gc.collect()
            limit = timeout if name == "rdflib" else None
            try:
                with time_limit(limit):
                    start = time.perf_counter()
                    results[name] = work[name]()
                    timing.samples.append(time.perf_counter() - start)
            except TimeLimit:
                timing.timed_out = limit
    return timings, results


def rdflib_answer(rows: list[Any]) -> Answer:
    """Rows (SELECT) or triples (DESCRIBE) from rdflib: both are tuples of terms or None."""
    return _answer([tuple("" if t is None else str(t) for t in row) for row in rows])


def oxigraph_answer(rows: list[Any], form: str) -> Answer:
    if form == "describe":
        return _answer([(t.subject.value, t.predicate.value, t.object.value) for t in rows])
    return _answer([tuple("" if t is None else t.value for t in row) for row in rows])


def _answer(rows: list[tuple[str, ...]]) -> Answer:
    if len(rows) == 1 and len(rows[0]) == 1 and rows[0][0].isdigit():
        return Answer(int(rows[0][0]), rows, True)
    return Answer(len(rows), sorted(rows), False)


def as_served(queries: list[Query]) -> Iterator[tuple[Query, str, str]]:
    """Each query as written, then, where the service rewrites it, as Oxigraph gets it there.

    The engines are compared on the text as written; the second row shows what the service's
    per-row OPTIONAL (``app/sparql/plan.py``) makes of Oxigraph's time. rdflib runs the
    text as written in both rows (it has no LATERAL), and the answers are compared as usual.
    """
    for query in queries:
        yield query, query.name, query.sparql
        planned = per_row_optionals(query.sparql)
        if planned is not None:
            yield query, f"{query.name}, per row", planned


def run_rdflib(graph: Dataset, query: Query) -> Callable[[], object]:
    """The query on rdflib, every row or triple pulled out (results are lazy until iterated)."""

    def run() -> object:
        return list(graph.query(query.sparql))

    return run


def run_oxigraph(st: ox.Store, query: Query) -> Callable[[], object]:
    """The query on Oxigraph, every solution or triple pulled out with its terms."""

    def run() -> object:
        results = st.query(query.sparql, use_default_graph_as_union=True)
        if isinstance(results, ox.QuerySolutions):
            width = len(results.variables)
            return [tuple(row[i] for i in range(width)) for row in results]
        assert isinstance(results, ox.QueryTriples)
        return list(results)

    return run


# --- reporting -----------------------------------------------------------------------------


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_cell(timing: Timing) -> str:
    if timing.skipped:
        return "skipped"
    if timing.timed_out is not None:
        return f"> {fmt_time(timing.timed_out)} (stopped)"
    text = fmt_time(timing.median)
    return f"{text} (1 run)" if len(timing.samples) == 1 else text


def print_row(scale: int, row: Row) -> None:
    ratio = f"{row.ratio:.1f}×" if row.ratio is not None else "-"
    if row.timings["rdflib"].timed_out is not None and row.ratio is not None:
        ratio = f"> {row.ratio:.0f}×"
    print(
        f"x{scale:<4} {row.work:<28} {fmt_cell(row.timings['rdflib']):>18} "
        f"{fmt_cell(row.timings['oxigraph']):>12} {ratio:>8}  {row.note}".rstrip(),
        flush=True,
    )


def warn(scale: int, work: str, message: str) -> str:
    print(f"WARNING x{scale} {work}: {message}", flush=True)
    return message


def compare(scale: int, work: str, a: Answer, b: Answer) -> list[str]:
    """Warnings when the engines' answers differ: first the size, else the values."""
    if a.size != b.size:
        return [warn(scale, work, f"rdflib gives {a.size}, oxigraph {b.size}")]
    if a.values != b.values:
        return [warn(scale, work, f"same size ({a.size}) but different values")]
    return []


# --- one scale -----------------------------------------------------------------------------


@dataclass(slots=True)
class Scale:
    """What one scale reports, printed as it goes and kept for the JSON file."""

    scale: int
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    disagreements: list[str] = field(default_factory=list)

    def record(self, row: Row, problems: list[str], **extra: Any) -> None:
        row.note = "; ".join(filter(None, [row.note, *(f"DIFFERS: {p}" for p in problems)]))
        print_row(self.scale, row)
        self.rows[row.work] = row.to_json() | extra
        self.disagreements.extend(f"{row.work}: {p}" for p in problems)


def bench_io(report: Scale, turtle: bytes, use_rdflib: bool, args: argparse.Namespace) -> None:
    """Load the Turtle dump into each engine, then write Turtle again from what was loaded.

    A function of its own so that the loaded copies are dropped when it returns, before the
    query phase loads the dataset again.
    """

    def load_rdflib() -> Graph:
        return Graph().parse(data=turtle, format="turtle")

    def load_oxigraph() -> ox.Store:
        st = ox.Store()
        st.load(turtle, format=ox.RdfFormat.TURTLE, to_graph=ox.DefaultGraph())
        return st

    work: dict[str, Callable[[], object]] = {"oxigraph": load_oxigraph}
    if use_rdflib:
        work["rdflib"] = load_rdflib
    timings, loaded = interleaved(work, args.repeat, args.slow, timeout=args.timeout, collect=True)
    sizes = {name: len(graph) for name, graph in loaded.items()}  # type: ignore[arg-type]
    problems = []
    if "rdflib" in sizes and sizes["rdflib"] != sizes["oxigraph"]:
        problems.append(f"rdflib loads {sizes['rdflib']} triples, oxigraph {sizes['oxigraph']}")
        warn(report.scale, "load Turtle", problems[-1])
    report.record(Row("load Turtle", timings, f"{sizes['oxigraph']:,} triples"), problems)

    ox_store = loaded["oxigraph"]
    assert isinstance(ox_store, ox.Store)
    work = {
        "oxigraph": lambda: ox_store.dump(
            format=ox.RdfFormat.TURTLE, from_graph=ox.DefaultGraph(), prefixes=PREFIXES
        )
    }
    if "rdflib" in loaded:  # not when its load was stopped
        graph = loaded["rdflib"]
        assert isinstance(graph, Graph)
        work["rdflib"] = lambda: graph.serialize(format="turtle", encoding="utf-8")
    timings, written = interleaved(work, args.repeat, args.slow, timeout=args.timeout, collect=True)
    note = ", ".join(f"{name} {len(data) / 1e6:.1f} MB" for name, data in written.items())  # type: ignore[arg-type]
    report.record(Row("write Turtle", timings, note), [])


def bench_queries(report: Scale, nquads: bytes, use_rdflib: bool, args: argparse.Namespace) -> None:
    """Load the N-Quads into a union dataset of each engine, then run the workload on both.

    Both engines get the same bytes: the snapshot's own store also holds the ontology as a
    graph of its own, and the workload reads the union of the collection graphs only. The
    load is timed like the Turtle one; the copy loaded last is the one queried.
    """

    def load_rdflib() -> Dataset:
        dataset = Dataset(default_union=True)
        dataset.parse(data=nquads, format="nquads")
        return dataset

    def load_oxigraph() -> ox.Store:
        st = ox.Store()
        st.load(nquads, format=ox.RdfFormat.N_QUADS)
        return st

    work: dict[str, Callable[[], object]] = {"oxigraph": load_oxigraph}
    if use_rdflib:
        work["rdflib"] = load_rdflib
    timings, loaded = interleaved(work, args.repeat, args.slow, timeout=args.timeout, collect=True)
    ox_store = loaded["oxigraph"]
    assert isinstance(ox_store, ox.Store)
    dataset = loaded.get("rdflib")
    assert dataset is None or isinstance(dataset, Dataset)
    note = f"{len(ox_store):,} quads"
    report.record(Row("load N-Quads (dataset)", timings, note), [])
    del loaded, work

    # the loaded data lives to the end: freezing it keeps the collector from rescanning
    # millions of rdflib objects during the timed queries (their own garbage is short-lived)
    gc.collect()
    gc.freeze()
    try:
        for query, name, text in as_served(workload(ox_store)):
            work = {"oxigraph": run_oxigraph(ox_store, replace(query, sparql=text))}
            if dataset is not None:
                work["rdflib"] = run_rdflib(dataset, query)
            timings, results = interleaved(work, args.repeat, args.slow, timeout=args.timeout)
            answer = oxigraph_answer(results["oxigraph"], query.form)  # type: ignore[arg-type]
            problems = []
            if "rdflib" in results:
                other = rdflib_answer(results["rdflib"])  # type: ignore[arg-type]
                problems = compare(report.scale, name, other, answer)
            unit = "triples" if query.form == "describe" else "rows"
            report.record(
                Row(name, timings, answer.describe(unit)),
                problems,
                description=query.description,
                query=text,
            )
            del work, results
    finally:
        gc.unfreeze()


def bench_scale(scale: int, args: argparse.Namespace) -> dict[str, Any]:
    """Everything for one scale: build (untimed), load and write Turtle, then the queries."""
    snap = store(build([corpus_for(scale)]))
    turtle = snap.serialize(BY_EXTENSION[".ttl"])
    nquads = snap.serialize(BY_EXTENSION[".nq"])
    triples, graphs = snap.info.triples, len(snap.info.collections)
    del snap  # from here on each engine works from the serialised bytes
    gc.collect()
    use_rdflib = scale <= args.rdflib_max_scale
    print(
        f"x{scale:<4} {triples:,} triples in {graphs} collection graphs; "
        f"Turtle {len(turtle) / 1e6:.1f} MB, N-Quads {len(nquads) / 1e6:.1f} MB"
        + ("" if use_rdflib else f"; rdflib skipped (--rdflib-max-scale {args.rdflib_max_scale})"),
        flush=True,
    )
    report = Scale(scale)
    out: dict[str, Any] = {
        "triples": triples,
        "turtle_bytes": len(turtle),
        "nquads_bytes": len(nquads),
    }
    bench_io(report, turtle, use_rdflib, args)
    del turtle
    gc.collect()
    bench_queries(report, nquads, use_rdflib, args)
    return out | {"rows": report.rows, "disagreements": report.disagreements}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "engines.json")
    parser.add_argument(
        "--rdflib-max-scale", type=int, default=100, help="run rdflib only up to this scale"
    )
    parser.add_argument(
        "--slow", type=float, default=60.0, help="an rdflib run slower than this is not repeated"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="stop an rdflib run after this many seconds (0: never)",
    )
    args = parser.parse_args()
    print(
        f"{'scale':<5} {'work':<28} {'rdflib':>18} {'oxigraph':>12} {'ratio':>8}  "
        f"(medians of {args.repeat}, interleaved)",
        flush=True,
    )
    report: dict[str, Any] = {
        "repeat": args.repeat,
        "slow_s": args.slow,
        "timeout_s": args.timeout,
        "scales": {},
    }
    for scale in args.scales:
        report["scales"][str(scale)] = bench_scale(scale, args)
        # written after every scale: a long run interrupted at ×100 keeps ×1 and ×10
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        gc.collect()
    disagreements = [
        f"x{scale} {d}" for scale, r in report["scales"].items() for d in r["disagreements"]
    ]
    agreed = "the engines agree on every query both answered"
    print(agreed if not disagreements else "DISAGREEMENTS:", flush=True)
    for d in disagreements:
        print(f"  {d}")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
