"""The reference points of the HTTP benchmark: a bare FastAPI + pyoxigraph route, and the floor.

    MESHKG_BENCH_STORE=<snapshot>/store uvicorn bench.bare_app:app --port 8001

``/sparql`` evaluates ``?query=`` on the same Oxigraph snapshot the service serves (copied into
memory as ``meshkg serve`` does below ``--memory-quads``, unless ``MESHKG_BENCH_ON_DISK=1``)
and returns Oxigraph's own serialisation: what a SPARQL route costs with no protocol checks,
no time limit, no result cap and no worker processes. ``/floor`` returns constant JSON: what
FastAPI and uvicorn cost on this machine before any query is run. ``/floor/{name}`` returns,
as constant bytes, an answer ``bench/throughput.py`` saved in ``MESHKG_BENCH_ANSWERS``: what
merely sending that answer costs, the most any FastAPI service could make of that query.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from fastapi import FastAPI, HTTPException, Response

app = FastAPI()
store = ox.Store.read_only(os.environ["MESHKG_BENCH_STORE"])
if os.environ.get("MESHKG_BENCH_ON_DISK") != "1":
    memory = ox.Store()
    memory.bulk_extend(store)
    store = memory


@app.get("/floor")
async def floor() -> dict[str, str]:
    return {"status": "ok"}


@lru_cache
def _answer(name: str) -> tuple[bytes, str]:
    folder = Path(os.environ["MESHKG_BENCH_ANSWERS"])
    if not name.isidentifier():
        raise HTTPException(404)
    return (folder / name).read_bytes(), (folder / f"{name}.type").read_text().strip()


@app.get("/floor/{name}")
async def answer_floor(name: str) -> Response:
    body, media_type = _answer(name)
    return Response(body, media_type=media_type)


@app.get("/sparql")
def sparql(query: str) -> Response:
    answer = store.query(query, use_default_graph_as_union=True)
    if isinstance(answer, ox.QueryTriples):
        body = answer.serialize(format=ox.RdfFormat.N_TRIPLES) or b""
        return Response(body, media_type="application/n-triples")
    body = answer.serialize(format=ox.QueryResultsFormat.JSON) or b""
    return Response(body, media_type="application/sparql-results+json")
