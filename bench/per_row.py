"""OPTIONAL groups as written against the per-row form the service gives Oxigraph, side by side.

    python bench/per_row.py [--scales 1 10] [--repeat 5] [--json bench/out/per_row.json]

The per-row form (``app/sparql/plan.py``) pays most when the rows before the group are
few and the group alone is large, as in ``forces_of_practice``. This script also asks where it
could cost: groups after every quote, impact or code of the graph, so that the group is
evaluated tens of thousands of times, and a group whose two patterns share no variable. Both
forms run interleaved in one Oxigraph store (medians of ``--repeat``), and their answers are
compared as multisets of rows: the script stops if they ever differ.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.pipeline import build, store  # noqa: E402
from app.rdf.formats import BY_EXTENSION  # noqa: E402
from app.sparql.plan import per_row_optionals  # noqa: E402
from bench.scale import corpus_for  # noqa: E402
from bench.workload import PREFIXES, forces_of_practice, pick_solution  # noqa: E402

SHAPES = {
    "every quote, its blocks and codes": """
SELECT ?q ?b ?c WHERE { ?q a mk:Quote OPTIONAL { ?b mk:evidenceQuote ?q . ?c mk:codedIn ?b } }
""",
    "every impact, its evidence text": """
SELECT ?i ?t WHERE {
  ?i a mk:ForceImpact OPTIONAL { ?i mk:codedIn/mk:evidenceQuote ?q . ?q schema:text ?t }
}
""",
    "every code, label and source title": """
SELECT ?c ?l ?title WHERE {
  ?c mk:evidenceSource ?s OPTIONAL { ?c skos:prefLabel ?l . ?s dcterms:title ?title }
}
""",
    "count over every typed node": """
SELECT (COUNT(*) AS ?n) WHERE { ?x a ?t OPTIONAL { ?x ?p ?y . ?y a ?u } }
""",
}


def rows(st: ox.Store, text: str) -> Counter[tuple[str | None, ...]]:
    solutions = st.query(text, use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions)
    return Counter(tuple(None if t is None else str(t) for t in row) for row in solutions)


def bench_scale(scale: int, repeat: int) -> list[dict[str, object]]:
    nquads = store(build([corpus_for(scale)])).serialize(BY_EXTENSION[".nq"])
    st = ox.Store()
    st.load(nquads, format=ox.RdfFormat.N_QUADS)
    shapes = {"forces of a practice": forces_of_practice(pick_solution(st)).sparql}
    shapes |= {name: PREFIXES + text for name, text in SHAPES.items()}
    out: list[dict[str, object]] = []
    for name, written in shapes.items():
        planned = per_row_optionals(written)
        assert planned is not None, f"{name}: the service would not rewrite it"
        times: dict[str, list[float]] = {"written": [], "per row": []}
        answers: dict[str, Counter[tuple[str | None, ...]]] = {}
        for _ in range(repeat):
            for form, text in (("written", written), ("per row", planned)):
                started = time.perf_counter()
                answers[form] = rows(st, text)
                times[form].append(time.perf_counter() - started)
        if answers["written"] != answers["per row"]:
            sys.exit(f"x{scale} {name}: the two forms answer differently")
        a, b = (statistics.median(times[f]) for f in ("written", "per row"))
        count = sum(answers["written"].values())
        out.append({"scale": scale, "shape": name, "rows": count, "written_s": a, "per_row_s": b})
        print(
            f"x{scale:<4} {name:<36} {count:>8} rows  "
            f"written {a * 1000:9.2f} ms  per row {b * 1000:8.2f} ms  {a / b:7.2f}×",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "per_row.json")
    args = parser.parse_args()
    results = [row for scale in args.scales for row in bench_scale(scale, args.repeat)]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
