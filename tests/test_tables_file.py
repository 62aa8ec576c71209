"""A stored snapshot keeps its API tables: written once, read back equal, never trusted blindly."""

from __future__ import annotations

import logging
import pickle
import socket
import threading
from array import array
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pyoxigraph as ox
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.app import create_app
from app.config import Settings as ServiceSettings
from app.pipeline import build, store
from app.rdf.formats import BY_EXTENSION
from app.read import lookup, tables, tables_file
from app.read.tables import Tables
from app.store.info import SnapshotInfo
from app.store.snapshot import Snapshot
from tests.test_cli import meshkg


@pytest.fixture(scope="module")
def stored(study_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """The study, stored; a fresh folder, so no tables were kept yet."""
    return store(build([study_dir]), tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def built(stored: Snapshot) -> Tables:
    return tables.build(stored, stored.info)


def _kept(stored: Snapshot, built: Tables, folder: Path) -> Path:
    return tables_file.save(built, folder, stored.info)


def test_kept_tables_read_back_equal_and_share_what_built_ones_share(
    stored: Snapshot, built: Tables, tmp_path: Path
) -> None:
    _kept(stored, built, tmp_path)
    loaded = tables_file.load(tmp_path, stored.info)
    assert loaded is not None
    assert loaded == built  # every table, row and array
    assert len(loaded.quotes) == 25  # the study's quote paragraphs
    assert len(loaded.sources) == 7
    assert len(loaded.words.postings) > 100

    # one object per source, quote and fact, wherever tables refer to it
    for quote in loaded.quotes:
        assert any(q is quote for q in loaded.quotes_of[quote.source])
        assert quote.collection is loaded.source_by_iri[quote.source].collection
    definitions = [d for found in loaded.definitions_of.values() for d in found if d.source]
    assert definitions
    assert all(d.source is loaded.source_by_iri[d.source.iri] for d in definitions)
    facts = [f for roles in loaded.facts_of.values() for found in roles.values() for f in found]
    # 18 impacts, 4 options and 3 dependencies
    assert len({id(f) for f in facts}) == len({f.iri for f in facts}) == 25
    # every list order is kept, so no first request sorts; of the same row objects
    assert set(loaded.source_orders) == {"id", "title"}
    assert set(loaded.code_orders) == {"label", "ident", "sources"}
    for sort, rows in loaded.source_orders.items():
        assert rows == sorted(built.sources, key=tables.SOURCE_KEYS[sort])
        assert all(row is loaded.source_by_iri[row.iri] for row in rows)
    for code_sort, pairs in loaded.code_orders.items():
        assert pairs == built.codes_by(code_sort)
        assert all(c is loaded.code_by_iri[c.iri] for c, _ in pairs)
    assert [c.ident for c, _ in loaded.codes_by("sources")][-1] == max(
        built.codes, key=tables.CODE_KEYS["sources"]
    ).ident
    # a block's quote array stays shared by the codes coded only in it
    assert (
        len({id(a) for a in loaded.quoted_for.values()})
        == len({id(a) for a in built.quoted_for.values()})
        < len(loaded.quoted_for)
    )


def test_a_reopened_snapshot_reads_its_tables_instead_of_building_them(
    stored: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stored.directory is not None
    kept = stored.directory / tables_file.FILE
    kept.unlink(missing_ok=True)
    first = lookup.tables(stored)  # built, and kept in the snapshot's folder
    assert kept.is_file()

    def no_build(*_: object) -> Tables:
        raise AssertionError("built again")

    monkeypatch.setattr(lookup, "build", no_build)
    again = Snapshot.open(stored.directory.parent.parent)
    assert lookup.tables(again) == first
    assert lookup.tables(again.into_memory()) == first  # a copy in memory keeps its folder
    found = lookup.search(lookup.tables(again), "partition", None)
    assert len(found.quotes) == 2  # s2 and s4 speak of a partition


def _header(data: bytes, **changes: object) -> bytes:
    """The file with fields of its header changed (and the header's length kept right)."""
    at = len(tables_file._MAGIC)
    (size,) = tables_file._LENGTH.unpack_from(data, at)
    header = orjson.loads(data[at + 8 : at + 8 + size]) | changes
    header = {k: v for k, v in header.items() if v is not None}  # None: the field left out
    new = orjson.dumps(header)
    return data[:at] + tables_file._LENGTH.pack(len(new)) + new + data[at + 8 + size :]


def _damaged(data: bytes, key: str) -> list[tuple[str, bytes, str]]:
    """(what, the file, what the warning says)."""
    wrong_shape = tables_file._Writer()
    wrong_shape.json("concepts", [["only an IRI"]])
    missing = tables_file._Writer()
    missing.json("concepts", [])
    flipped = data[:-5000] + bytes([data[-5000] ^ 1]) + data[-4999:]
    return [
        ("empty", b"", "not an API tables file"),
        ("a pickle", pickle.dumps({"sources": []}), "not an API tables file"),
        ("truncated", data[: len(data) // 2], "where the header announces"),
        ("one byte more", data + b"\0", "where the header announces"),
        ("one byte flipped", flipped, "checksum does not match"),
        ("another snapshot", _header(data, key="0" * 32), "made for snapshot 000"),
        ("other code", _header(data, maker="0" * 32), "made by other code"),
        ("another byte order", _header(data, byteorder="middle"), "another byte order"),
        ("a broken header", data[:40] + b"{" + data[41:], "not used"),
        ("a section of another kind", data.replace(b'"postings","I"', b'"postings","Q"'), "not I"),
        ("rows of the wrong shape", b"".join(wrong_shape.parts(key)), "missing"),
        ("a section missing", b"".join(missing.parts(key)), "'sources' is missing"),
        ("a header without a field", _header(data, maker=None), "'maker' is missing"),
    ]


def test_damaged_or_foreign_files_are_not_used_and_are_replaced(
    stored: Snapshot, built: Tables, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = _kept(stored, built, tmp_path).read_bytes()
    path = tmp_path / tables_file.FILE
    for what, data, reason in _damaged(good, stored.info.key):
        assert data != good, what
        path.write_bytes(data)
        caplog.clear()
        with caplog.at_level(logging.WARNING, "meshkg.api"):
            assert tables_file.load(tmp_path, stored.info) is None, what
        assert str(path) in caplog.text, what
        assert "made again" in caplog.text, what
        assert reason in caplog.text, (what, caplog.text)

    folder = Path(stored.directory or "")
    (folder / tables_file.FILE).write_bytes(good[:1000])
    made = lookup._made(stored)  # built again from the store, and the file replaced
    assert made == built
    assert tables_file.load(folder, stored.info) == built


EDITS = st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), min_size=1, max_size=4)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=EDITS)
def test_no_file_makes_loading_raise(
    stored: Snapshot, built: Tables, tmp_path: Path, edits: list[tuple[int, int]]
) -> None:
    """Bytes changed anywhere in the header or the first sections: the tables read back are
    the tables made, or none (then made again); loading never raises."""
    path = tmp_path / tables_file.FILE
    if not path.exists():
        _kept(stored, built, tmp_path)
    data = bytearray(path.read_bytes())
    for at, value in edits:
        data[at] = value
    changed = tmp_path / "changed"
    changed.mkdir(exist_ok=True)
    (changed / tables_file.FILE).write_bytes(bytes(data))
    loaded = tables_file.load(changed, stored.info)
    assert loaded is None or loaded == built


def test_a_folder_that_cannot_keep_them_still_serves_them(
    stored: Snapshot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = Snapshot(stored.store, stored.info, tmp_path / "no such folder")
    with caplog.at_level(logging.WARNING, "meshkg.api"):
        made = lookup._made(gone)
    assert made.sources
    assert "not kept" in caplog.text


def test_a_value_json_cannot_hold_is_refused_when_writing(
    built: Tables, stored: Snapshot, tmp_path: Path
) -> None:
    source = next(s for s in built.records_of)
    record = next(iter(built.records_of[source].values()))
    record.values["line"] = 2**70  # an xsd:integer beyond 64 bits
    try:
        with pytest.raises(TypeError):
            tables_file.save(built, tmp_path, stored.info)
        assert not (tmp_path / tables_file.FILE).exists()  # nothing half written
    finally:
        del record.values["line"]


def test_tables_of_an_empty_graph_round_trip(stored: Snapshot, tmp_path: Path) -> None:
    """No quotes, words or codes: every array section is empty, and still read back."""
    empty = tables.build(Snapshot(ox.Store(), stored.info, None), stored.info)
    assert not empty.quotes
    assert not empty.words.postings
    assert not empty.quoted_for
    tables_file.save(empty, tmp_path, stored.info)
    loaded = tables_file.load(tmp_path, stored.info)
    assert loaded == empty


def test_arrays_of_every_width_round_trip(stored: Snapshot, built: Tables, tmp_path: Path) -> None:
    """Word postings and quote offsets cross the file as raw machine integers."""
    _kept(stored, built, tmp_path)
    loaded = tables_file.load(tmp_path, stored.info)
    assert loaded is not None
    assert loaded.quote_ends.typecode == "Q"
    assert loaded.quote_ends == built.quote_ends
    assert all(isinstance(p, array) and p.typecode == "I" for p in loaded.words.postings)
    assert loaded.words.ends == built.words.ends


def test_build_store_keeps_the_tables(tmp_path: Path) -> None:
    root = tmp_path / "store"
    run = meshkg("build", "seeds", "--store", str(root))
    assert run.returncode == 0, run.stderr
    snapshot = Snapshot.open(root)
    assert snapshot.directory is not None
    loaded = tables_file.load(snapshot.directory, snapshot.info)
    assert loaded is not None
    assert [s.id for s in loaded.sources] == ["s6"]
    # readable by whoever may read the rest of the snapshot (a service of another user)
    kept, meta = snapshot.directory / tables_file.FILE, snapshot.directory / "meta.json"
    assert kept.stat().st_mode & 0o777 == meta.stat().st_mode & 0o777
    dump = snapshot.dump(BY_EXTENSION[".nt"]).path
    assert dump.stat().st_mode & 0o777 == meta.stat().st_mode & 0o777
    assert loaded == tables.build(snapshot, snapshot.info)


def test_the_service_answers_everything_else_while_the_api_tables_are_made(
    stored: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request for the API waits for the tables off the event loop: SPARQL and /health answer
    meanwhile (at ×100 the corpus, making the tables takes half a minute). Making them is held
    here until the other requests are answered."""
    entered, release = threading.Event(), threading.Event()
    build = lookup.build

    def held_build(store: ox.Store, info: SnapshotInfo) -> Tables:
        entered.set()
        release.wait(60)
        return build(store, info)

    monkeypatch.setattr(lookup, "build", held_build)
    snapshot = Snapshot(stored.store, stored.info, None)  # no folder: its tables must be made
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()  # connections wait in the backlog until the server accepts them
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(snapshot, ServiceSettings()), log_level="error")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    pool = ThreadPoolExecutor(1)
    try:
        url = f"http://127.0.0.1:{port}"
        api = pool.submit(httpx.get, url + "/api/codes", timeout=60)
        assert entered.wait(30)  # the API request is in, waiting for the tables
        assert httpx.get(url + "/health", timeout=10).status_code == 200
        answer = httpx.get(url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=10)
        assert answer.json()["boolean"] is True
        assert not api.done()
        release.set()
        codes = api.result()
        assert codes.status_code == 200
        listed = lookup.codes(
            lookup.tables(snapshot), collection=None, kind=None, q=None, sort="label", order="asc"
        )
        assert codes.json()["total"] == len(listed) == 18
    finally:
        release.set()
        pool.shutdown()
        server.should_exit = True
        thread.join(30)
        listening.close()
