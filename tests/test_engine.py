"""The query workers on their own: their network guard, memory limit, deadline and crashes.

These drive a real :class:`QueryPool` (real forked workers, real Oxigraph) with requests that
never passed the service's text check, so what is seen here is the workers' own limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import cast

import pyoxigraph as ox
import pytest

from app.sparql import results
from app.sparql.engine import LONG_QUERY, QueryPool, WorkerLimits, _Idle, _Worker
from app.store.query import (
    Cut,
    QueryRequest,
    QueryResult,
    QueryTimeout,
    ServiceBusy,
    WorkerStopped,
)
from tests.canary import Canary

JSON = results.JSON_RESULTS


def _store() -> ox.Store:
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://s"), ox.NamedNode("http://p"), ox.Literal("o")))
    return store


def _request(text: str, form: str = "SELECT", answer_bytes: int = 1 << 30) -> QueryRequest:
    return QueryRequest(text, form, JSON, None, None, 100, answer_bytes)


SLOW = (
    "SELECT (COUNT(*) AS ?n) WHERE { "
    + " ".join(f"VALUES ?v{i} {{ {' '.join(map(str, range(60)))} }}" for i in range(6))
    + " }"
)


def _with_pool(
    work: object, *, processes: int = 1, timeout: float = 10, memory_mb: int = 256
) -> object:
    async def main() -> object:
        store = _store()
        pool = QueryPool(lambda: store, processes, timeout, WorkerLimits("auto", memory_mb << 20))
        await pool.start()
        try:
            assert callable(work)
            return await work(pool)
        finally:
            pool.close()

    return asyncio.run(main())


def test_a_service_call_that_reaches_a_worker_fetches_nothing(canary: Canary) -> None:
    url, hits = canary.url, canary.hits
    before = len(hits)
    text = f"SELECT * WHERE {{ ?s ?p ?o SERVICE <{url}x> {{ ?a ?b ?c }} }}"
    silent = f"SELECT * WHERE {{ ?s ?p ?o SERVICE SILENT <{url}x> {{ ?a ?b ?c }} }}"

    async def work(pool: QueryPool) -> list[QueryResult]:
        assert pool.stats.guards  # this machine allows at least one guard
        return [await pool.run(_request(text)), await pool.run(_request(silent))]

    loud, quiet = _with_pool(work)  # type: ignore[misc]
    assert len(hits) == before
    assert loud.status == 400
    assert loud.code == "evaluation"
    assert "CANARY" not in loud.message
    assert quiet.status == 200


def test_the_same_call_in_this_process_does_fetch(canary: Canary) -> None:
    """The control: without the workers' guard, Oxigraph fetches."""
    url, hits = canary.url, canary.hits
    before = len(hits)
    text = f"SELECT * WHERE {{ ?s ?p ?o SERVICE SILENT <{url}x> {{ ?a ?b ?c }} }}"
    with pytest.raises(RuntimeError):  # it fetched, then could not read what it got
        list(_store().query(text))  # type: ignore[call-overload]
    assert len(hits) > before


def _doubling(times: int) -> str:
    binds = " ".join(f"BIND(CONCAT(?v{i},?v{i}) AS ?v{i + 1})" for i in range(times))
    return f'SELECT (STRLEN(?v{times}) AS ?n) WHERE {{ BIND("0123456789abcdef" AS ?v0) {binds} }}'


def test_a_worker_past_its_memory_is_stopped_and_replaced() -> None:
    async def work(pool: QueryPool) -> tuple[str, QueryResult, int]:
        try:
            await pool.run(_request(_doubling(30)))
        except WorkerStopped as err:
            reason = err.reason
        else:
            reason = "answered"
        after = await pool.run(_request("SELECT * WHERE { ?s ?p ?o }"))
        return reason, after, pool.stats.restarts["memory-limit"]

    reason, after, restarts = _with_pool(work, memory_mb=128)  # type: ignore[misc]
    assert reason == "memory-limit"
    assert restarts == 1
    assert after.status == 200  # the replacement answers


def test_an_answer_past_its_size_is_cut_in_the_worker() -> None:
    text = "SELECT ?x WHERE { VALUES ?x { " + " ".join(f'"{i:0100d}"' for i in range(200)) + " } }"

    async def work(pool: QueryPool) -> QueryResult:
        return await pool.run(_request(text, answer_bytes=5000))

    answer = _with_pool(work)
    assert isinstance(answer, QueryResult)
    assert answer.cut == Cut(5000, "bytes")
    assert 0 < answer.count < 200
    assert len(answer.body) < 5000 * 2


def test_a_wait_for_a_worker_counts_against_the_time_limit() -> None:
    async def work(pool: QueryPool) -> list[BaseException | QueryResult]:
        first = asyncio.ensure_future(pool.run(_request(SLOW)))
        await asyncio.sleep(0.2)  # the one worker has taken it
        second = asyncio.ensure_future(pool.run(_request(SLOW)))
        return await asyncio.gather(first, second, return_exceptions=True)

    first, second = _with_pool(work, timeout=1.5)  # type: ignore[misc]
    assert isinstance(first, QueryTimeout)
    # the second waited until the first was stopped, and was given only what was left of its
    # own limit, not a whole one: its wait and its run together make one limit
    assert isinstance(second, QueryTimeout | ServiceBusy)
    if isinstance(second, QueryTimeout):
        assert second.waited > 1.0
        assert second.waited + second.ran < 1.5 + 0.5


def test_a_worker_still_starting_when_the_time_runs_out_is_the_time_limit() -> None:
    """A request that waited for a worker may get a new one (its predecessor stopped at the
    limit) that is still starting, on a busy machine for longer than the time left: that is
    the time limit (503), not a crashed worker (500)."""
    slow = [False]  # read in each forked worker: set once the first one has started

    async def main() -> tuple[BaseException | QueryResult, dict[str, int]]:
        store = _store()

        def slow_after_the_first() -> ox.Store:
            if slow[0]:  # every replacement starts slowly
                time.sleep(3)
            return store

        pool = QueryPool(slow_after_the_first, 1, 1.0, WorkerLimits("auto", 256 << 20))
        await pool.start()
        slow[0] = True
        try:
            with contextlib.suppress(QueryTimeout):
                await pool.run(_request(SLOW))  # stopped at the limit: its worker is replaced
            loop = asyncio.get_running_loop()
            try:
                result: BaseException | QueryResult = await pool.run(
                    _request("ASK { ?s ?p ?o }", "ASK"), loop.time() + 0.5
                )
            except (QueryTimeout, WorkerStopped) as err:
                result = err
            return result, pool.restarts()
        finally:
            pool.close()

    result, restarts = asyncio.run(main())
    assert isinstance(result, QueryTimeout), result
    assert "worker-crashed" not in restarts


def test_a_crashed_worker_is_reported_and_replaced() -> None:
    async def work(pool: QueryPool) -> tuple[str, QueryResult]:
        victim = next(iter(pool._all))  # the test stands in for a crash
        running = asyncio.ensure_future(pool.run(_request(SLOW)))
        await asyncio.sleep(0.3)  # the worker has taken the query
        assert victim.process.pid is not None
        os.kill(victim.process.pid, signal.SIGSEGV)
        try:
            await running
            reason = "answered"
        except WorkerStopped as err:
            reason = err.reason
        return reason, await pool.run(_request("SELECT * WHERE { ?s ?p ?o }"))

    reason, after = _with_pool(work)  # type: ignore[misc]
    assert reason == "worker-crashed"
    assert after.status == 200


def test_readiness_is_a_query_a_worker_answers() -> None:
    async def work(pool: QueryPool) -> tuple[str | None, str | None]:
        ready = await pool.unready()
        busy = asyncio.ensure_future(pool.run(_request(SLOW)))
        await asyncio.sleep(0.2)
        pool._checked = None  # past the second a probe's answer is kept
        unready = await pool.unready(0.5)
        busy.cancel()
        return ready, unready

    ready, unready = _with_pool(work)  # type: ignore[misc]
    assert ready is None
    assert unready == "every query worker is busy"


def test_a_store_that_cannot_be_opened_stops_the_start() -> None:
    async def main() -> str:
        def broken() -> ox.Store:
            raise OSError("gone")

        pool = QueryPool(broken, 1, 5, WorkerLimits())
        try:
            await pool.start()
        except RuntimeError as err:
            return str(err)
        finally:
            pool.close()
        return "started"

    assert "cannot be opened" in asyncio.run(main())


def _nice(tid: int) -> int:
    """A thread's nice value, as /proc says."""
    return int(Path(f"/proc/{tid}/stat").read_text().rsplit(")", 1)[1].split()[16])


# a query of about a second: 60⁴ rows counted
SECOND = (
    "SELECT (COUNT(*) AS ?n) WHERE { "
    + " ".join(f"VALUES ?v{i} {{ {' '.join(map(str, range(60)))} }}" for i in range(4))
    + " }"
)


def test_a_long_query_yields_the_cpu_and_then_gets_it_back() -> None:
    async def work(pool: QueryPool) -> tuple[tuple[int, set[int]], tuple[int, set[int]] | None]:
        running = asyncio.ensure_future(pool.run(_request(SECOND)))
        await asyncio.sleep(LONG_QUERY + 0.2)
        (worker,) = [w for w in pool._all if w.lowered]
        during = (_nice(worker.thread), os.sched_getaffinity(worker.thread))
        answer = await running
        assert answer.status == 200
        if worker not in pool._all:  # recycled: giving the priority back needs a privilege
            return during, None
        return during, (_nice(worker.thread), os.sched_getaffinity(worker.thread))

    during, after = _with_pool(work, timeout=30)  # type: ignore[misc]
    every = os.sched_getaffinity(0)
    assert during == (19, set(sorted(every)[len(every) // 2 :]))
    assert after in (None, (0, every))


def test_workers_without_a_network_guard_are_a_warning_saying_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Where the kernel allows no guard, ``auto`` still serves, and says so at start."""
    from app.sparql import engine

    monkeypatch.setattr(engine, "isolate", lambda method: ())  # forked workers inherit it
    monkeypatch.setattr(engine, "available", lambda: {"netns": "refused", "seccomp": None})

    async def work(pool: QueryPool) -> tuple[str, ...]:
        return pool.stats.guards

    with caplog.at_level("WARNING", logger="meshkg.engine"):
        guards = _with_pool(work)
    assert guards == ()
    assert "without a network guard (netns: refused)" in caplog.text


def _switches(pid: int) -> int:
    """How often a process's threads gave up the CPU to wait (each query read is one)."""
    return sum(
        int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir()
        for line in (task / "status").read_text().splitlines()
        if line.startswith("voluntary_ctxt_switches")
    )


def test_queries_one_after_another_go_to_the_worker_that_answered_last() -> None:
    """A light load keeps one worker warm and lets the others sleep."""

    async def work(pool: QueryPool) -> list[int]:
        await pool.run(_request("ASK { ?s ?p ?o }"))
        pids = [w.process.pid for w in pool._all]
        before = [_switches(pid) for pid in pids if pid is not None]
        for _ in range(40):
            assert (await pool.run(_request("ASK { ?s ?p ?o }"))).status == 200
        after = [_switches(pid) for pid in pids if pid is not None]
        return sorted(b - a for a, b in zip(before, after, strict=True))

    woken = _with_pool(work, processes=3)
    assert isinstance(woken, list)
    # the one worker that answered: at least one wait per two queries (a read that finds the
    # next query already in the pipe does not wait)
    assert woken[-1] >= 20
    assert woken[:-1] == [0, 0]


def test_as_many_queries_at_once_as_workers_each_get_a_worker_of_their_own() -> None:
    """Right after the start too: each worker is handed out once, however they were greeted."""

    async def work(pool: QueryPool) -> list[str]:
        answers = await asyncio.gather(*(pool.run(_request(SECOND)) for _ in range(3)))
        return [a.code or str(a.status) for a in answers]

    assert _with_pool(work, processes=3, timeout=8) == ["200"] * 3


def _idle_worker(name: str) -> _Worker:
    """A stand-in: the idle list only hands workers on, it never looks inside one."""
    return cast(_Worker, name)


def test_a_worker_put_back_goes_to_the_request_waiting_longest() -> None:
    """Not to a request that arrives while the one waiting has yet to run."""

    async def main() -> tuple[object, str]:
        idle = _Idle()
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(idle.get(loop.time() + 5))
        await asyncio.sleep(0)  # it waits now
        # a request that arrives just before the worker comes back: it would run before the
        # one waiting is woken
        newcomer = asyncio.ensure_future(idle.get(loop.time() + 0.2))
        await asyncio.sleep(0)
        idle.put(_idle_worker("w"))
        try:
            await newcomer
            late = "served"
        except TimeoutError:
            late = "timed out"
        return await first, late

    assert asyncio.run(main()) == ("w", "timed out")


def test_a_worker_handed_to_a_request_given_up_is_not_lost() -> None:
    async def main() -> object:
        idle = _Idle()
        loop = asyncio.get_running_loop()
        leaving = asyncio.ensure_future(idle.get(loop.time() + 5))
        await asyncio.sleep(0)
        idle.put(_idle_worker("w"))  # handed over …
        leaving.cancel()  # … as its client goes, before it ran again
        with contextlib.suppress(asyncio.CancelledError):
            await leaving
        return await idle.get(loop.time() + 0.2)

    assert asyncio.run(main()) == "w"


def test_idle_workers_are_taken_last_returned_first() -> None:
    async def main() -> list[object]:
        idle = _Idle()
        for name in ("a", "b", "c"):
            idle.put(_idle_worker(name))
        deadline = asyncio.get_running_loop().time() + 1
        return [await idle.get(deadline) for _ in range(3)]

    assert asyncio.run(main()) == ["c", "b", "a"]
