"""Live reload on a real ``meshkg serve --watch``: edits are served, a broken edit is not.

While a client loops on a query, a note gains a practice (served within a few seconds), is
then broken (the practice stays, the reload reports why the note was kept), then fixed; a
collection is added and removed. No request fails, and every answer names its snapshot
(``Meshkg-Snapshot``): one snapshot never gives two different answers, so none mixes two
generations.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.server import PIDS, running

PRACTICES = (
    "PREFIX mk: <https://w3id.org/meshkg/ontology#>\n"
    "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a mk:Practice }"
)
NEW_PRACTICE = '\n```python\nnewly_found = CClass(practice, "Newly Found Practice")\n```\n'
BROKEN = '\n```python\nhalf = CClass(practice, "Half written"\n```\n'
WAIT = 30.0  # seconds a change may take to be served before the test gives up


class Client(threading.Thread):
    """Asks the practice count again and again, recording every status and answer."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.answers: dict[str, set[int]] = {}  # snapshot -> counts it answered
        self.requests = 0

    def run(self) -> None:
        with httpx.Client(timeout=20) as client:
            while not self.stop.is_set():
                try:
                    r = client.get(
                        self.base + "/sparql",
                        params={"query": PRACTICES},
                        headers={"Cache-Control": "no-cache"},
                    )
                except httpx.HTTPError as err:
                    self.failures.append(repr(err))
                    continue
                self.requests += 1
                if r.status_code != 200:
                    self.failures.append(f"{r.status_code} {r.text[:200]}")
                    continue
                count = int(r.json()["results"]["bindings"][0]["n"]["value"])
                self.answers.setdefault(r.headers["meshkg-snapshot"], set()).add(count)


def _count(base: str) -> int:
    r = httpx.get(base + "/sparql", params={"query": PRACTICES})
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"not served within {WAIT} s: {what}"
        time.sleep(0.1)


def _health(base: str) -> dict[str, object]:
    r = httpx.get(base + "/health")
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    return body


def _graphs(base: str) -> list[str]:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    r = httpx.get(base + "/sparql", params={"query": query})
    return [b["g"]["value"] for b in r.json()["results"]["bindings"]]


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    root = tmp_path / "seeds"
    for name in ("platform", "product"):
        shutil.copytree(FIXTURES / "notes" / name, root / name)
    return root


@pytest.fixture
def watched(seeds: Path) -> Iterator[str]:
    with running([seeds], "--watch") as base:
        _until(lambda: _health(base)["last_reload"] is not None, "the first reading")
        yield base


def test_edits_are_served_and_a_broken_edit_is_not(watched: str, seeds: Path) -> None:
    base = watched
    note = seeds / "platform" / "s_1.md"
    original = note.read_text("utf-8")
    before = _count(base)
    first = _health(base)["generation"]
    assert isinstance(first, dict)
    client = Client(base)
    client.start()
    try:
        note.write_text(original + NEW_PRACTICE, "utf-8")
        _until(lambda: _count(base) == before + 1, "a new practice")
        assert _health(base)["stale"] is False

        note.write_text(original + NEW_PRACTICE + BROKEN, "utf-8")

        def kept() -> bool:
            last = _health(base)["last_reload"]
            return isinstance(last, dict) and str(note) in str(last["notes_kept"])

        _until(kept, "the broken edit reported")
        assert _count(base) == before + 1  # the note as it was: the practice stays
        last = _health(base)["last_reload"]
        assert isinstance(last, dict)
        assert last["ok"] is True
        assert last["kept_findings"], last  # why it was kept, with file and line
        assert all(f["file"] == str(note) for f in last["kept_findings"])

        note.write_text(original, "utf-8")
        _until(lambda: _count(base) == before, "the note fixed")
        last = _health(base)["last_reload"]
        assert isinstance(last, dict)
        assert last["notes_kept"] == []

        added = seeds / "added"
        shutil.copytree(FIXTURES / "notes" / "product", added)
        _until(lambda: any(g.endswith("/added") for g in _graphs(base)), "a new collection")
        shutil.rmtree(added)
        _until(lambda: not any(g.endswith("/added") for g in _graphs(base)), "its removal")
    finally:
        client.stop.set()
        client.join(timeout=30)
    assert client.failures == []
    assert client.requests > 10
    mixed = {key: counts for key, counts in client.answers.items() if len(counts) > 1}
    assert mixed == {}
    assert len(client.answers) >= 3  # the client saw several generations
    generation = _health(base)["generation"]
    assert isinstance(generation, dict)
    assert generation["number"] > first["number"]


def test_only_the_changed_collection_is_read_again(watched: str, seeds: Path) -> None:
    note = seeds / "product" / "s_7.md"
    reloads = _health(watched)["last_reload"]
    note.write_text(note.read_text("utf-8") + NEW_PRACTICE, "utf-8")

    def reloaded() -> bool:
        last = _health(watched)["last_reload"]
        return last != reloads and isinstance(last, dict) and last["collections_read"] != []

    _until(reloaded, "the edit")
    last = _health(watched)["last_reload"]
    assert isinstance(last, dict)
    assert last["collections_read"] == ["product"]
    assert last["notes_read"] == 1


def test_sighup_rebuilds_without_watching(seeds: Path) -> None:
    """Without --watch nothing is rebuilt until SIGHUP; /health says the notes are newer."""
    with running([seeds]) as base:
        before = _count(base)
        note = seeds / "platform" / "s_2.md"
        note.write_text(note.read_text("utf-8") + NEW_PRACTICE, "utf-8")
        _until(lambda: _health(base)["stale"] is True, "the notes seen newer")
        assert _count(base) == before
        os.kill(PIDS[base], signal.SIGHUP)
        _until(lambda: _count(base) == before + 1, "the rebuild after SIGHUP")
        assert _health(base)["stale"] is False


def test_a_malformed_collection_file_is_a_finding_not_a_failure(watched: str, seeds: Path) -> None:
    before = _count(watched)
    (seeds / "platform" / "collection.toml").write_bytes(b"title = [unclosed\n")
    note = seeds / "platform" / "s_2.md"
    note.write_text(note.read_text("utf-8") + NEW_PRACTICE, "utf-8")
    _until(lambda: _count(watched) == before + 1, "the edit beside a malformed collection.toml")
    last = _health(watched)["last_reload"]
    assert isinstance(last, dict)
    assert last["ok"] is True


def test_a_failed_rebuild_keeps_the_generation_serving_and_says_why(seeds: Path) -> None:
    """A rebuild that raises (here: the store folder cannot be written) is reported, and the
    generation that was serving goes on serving."""
    from app.api.app import create_app
    from app.config import Settings
    from app.pipeline import to_serve

    settings = Settings()
    snapshot, _how = to_serve([seeds], settings)
    unwritable = seeds / "not-a-folder"
    unwritable.write_text("a file where the store folder should be", "utf-8")
    app = create_app(snapshot, settings, seeds=[seeds], store_path=unwritable)
    generations = app.state.generations
    first = generations.current

    async def reload() -> bool:
        ok: bool = await generations.reload()
        return ok

    assert asyncio.run(reload()) is False
    assert generations.current is first
    assert generations.last is not None
    assert generations.last.ok is False
    assert "not-a-folder" in (generations.last.error or "")
    first.service.store.close()
