"""Snapshots in Oxigraph: written once, reopened read-only, reused while seeds are unchanged."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Dataset

from app.config import Settings
from app.pipeline import build, open_or_build, store
from app.rdf.formats import BY_EXTENSION, FORMATS
from app.store.snapshot import Snapshot, current_key
from tests.conftest import ROOT


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", folder)
    return folder


def test_written_snapshot_reopens_read_only(seeds: Path, tmp_path: Path) -> None:
    root = tmp_path / "store"
    built = build([seeds])
    written = store(built, root)
    assert current_key(root) == built.key == written.info.key
    assert (root / "snapshots" / built.key / "meta.json").is_file()
    again = Snapshot.open(root)
    assert again.info == written.info
    in_memory = store(built)
    assert len(again.store) == len(in_memory.store)
    data = sum(
        len(list(again.store.quads_for_pattern(None, None, None, ox.NamedNode(c.graph))))
        for c in again.info.collections
    )
    assert data == written.info.triples == in_memory.info.triples
    assert len(again.store) > data  # and the ontology, in a graph of its own
    assert again.class_counts() == written.class_counts()
    quad = ox.Quad(ox.NamedNode("http://x/a"), ox.NamedNode("http://x/b"), ox.Literal("c"))
    with pytest.raises(RuntimeError, match="read-write"):
        again.store.add(quad)


def test_unchanged_seeds_reuse_the_snapshot(seeds: Path, tmp_path: Path) -> None:
    root = tmp_path / "store"
    settings = Settings()
    first, made = open_or_build([seeds], settings, root)
    assert made is not None
    second, made_again = open_or_build([seeds], settings, root)
    assert made_again is None  # nothing was read or built
    assert second.info.key == first.info.key
    other_base, made = open_or_build([seeds], Settings(base_iri="https://example.org/kg/"), root)
    assert made is not None
    assert other_base.info.key != first.info.key


def test_a_changed_seed_makes_a_new_snapshot_and_keeps_the_last_one(
    seeds: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    settings = Settings()
    first, _ = open_or_build([seeds], settings, root)
    note = next(seeds.rglob("*.txt"))
    note.write_text(note.read_text("utf-8") + "\n> One more quoted passage.\n", "utf-8")
    second, made = open_or_build([seeds], settings, root)
    assert made is not None
    assert second.info.key != first.info.key
    assert current_key(root) == second.info.key
    kept = {p.name for p in (root / "snapshots").iterdir()}
    assert kept == {first.info.key, second.info.key}  # a running service may read the old one
    note.write_text(note.read_text("utf-8") + "\n> And another.\n", "utf-8")
    third, _ = open_or_build([seeds], settings, root)
    kept = {p.name for p in (root / "snapshots").iterdir()}
    assert kept == {second.info.key, third.info.key}


def test_dumps_are_written_once_with_etag_and_gzip(seeds: Path, tmp_path: Path) -> None:
    snap = store(build([seeds]), tmp_path / "store")
    turtle = BY_EXTENSION[".ttl"]
    dump = snap.dump(turtle)
    assert dump.path.read_bytes() == snap.serialize(turtle)
    assert gzip.decompress(dump.gzip_path.read_bytes()) == dump.path.read_bytes()
    mtime = dump.path.stat().st_mtime_ns
    reopened = Snapshot.open(tmp_path / "store")
    again = reopened.dump(turtle)
    assert again.etag == dump.etag
    assert again.path.stat().st_mtime_ns == mtime  # reused, not written again
    for fmt in FORMATS:
        for collection in (None, "self-serve-platform"):
            d = snap.dump(fmt, collection)
            assert d.size > 0
            assert d.media_type == fmt.media_type
    etags = {snap.dump(f, c).etag for f in FORMATS for c in (None, "self-serve-platform")}
    assert len(etags) == 2 * len(FORMATS)


def test_dumps_of_an_unwritable_snapshot_go_to_scratch_space(seeds: Path, tmp_path: Path) -> None:
    root = tmp_path / "store"
    key = store(build([seeds]), root).info.key
    blocker = root / "snapshots" / key / "dumps"
    blocker.write_text("not a folder", "utf-8")  # the dumps folder cannot be made
    snap = Snapshot.open(root)
    dump = snap.dump(BY_EXTENSION[".nt"])
    assert blocker not in dump.path.parents
    assert dump.path.read_bytes() == snap.serialize(BY_EXTENSION[".nt"])
    snap.close()
    assert not dump.path.exists()


def test_collection_dump_is_that_collections_graph(study_dir: Path, seeds: Path) -> None:
    """Two collections stored together; the dump of one holds its graph whole, and no other."""
    built = build([study_dir, seeds])
    snap = store(built)
    data = snap.serialize(BY_EXTENSION[".trig"], "study")
    back = Dataset()
    back.parse(data=data, format="trig")
    names = {str(g.identifier) for g in back.graphs() if len(g)}
    assert names == {"https://w3id.org/meshkg/id/study"}
    (study,) = (g for g in built.graphs if str(g.identifier) == "https://w3id.org/meshkg/id/study")
    assert set(back.graph(study.identifier)) == set(study)


def test_unknown_collection_is_a_key_error(seeds: Path) -> None:
    snap = store(build([seeds]))
    with pytest.raises(KeyError):
        snap.serialize(BY_EXTENSION[".ttl"], "no-such-study")


def test_a_stored_snapshot_copied_into_memory_holds_the_same_quads(
    seeds: Path, tmp_path: Path
) -> None:
    on_disk = store(build([seeds]), tmp_path / "store")
    copy = on_disk.into_memory()
    assert on_disk.on_disk
    assert not copy.on_disk
    assert set(copy.store) == set(on_disk.store)
    assert copy.directory == on_disk.directory  # its dumps are still written once, there
    assert copy.dump(BY_EXTENSION[".nt"]).path.parent == on_disk.directory / "dumps"
    assert copy.into_memory() is copy


def test_serve_reuses_a_stored_snapshot_until_a_seed_changes(seeds: Path, tmp_path: Path) -> None:
    """Unchanged seeds reuse the stored snapshot; a changed note makes serve rebuild it."""
    from tests.server import running

    root = tmp_path / "store"
    key = store(build([seeds]), root).info.key
    with running([seeds], "--store", str(root)) as url:
        info = httpx.get(f"{url}/info").json()["snapshot"]
        assert info["key"] == key
        assert info["served_from"] == "memory"  # small: copied into memory
    with running([seeds], "--store", str(root), "--memory-quads", "0") as url:
        info = httpx.get(f"{url}/info").json()["snapshot"]
        assert info["served_from"] == "disk"
        query = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/meshkg/ontology#Source> }"
        answer = httpx.get(f"{url}/sparql", params={"query": query}).json()
        assert answer["results"]["bindings"][0]["n"]["value"] == "1"
    note = next(seeds.rglob("*.txt"))
    note.write_text(note.read_text("utf-8") + "\n> One more quoted passage.\n", "utf-8")
    with running([seeds], "--store", str(root)) as url:
        assert httpx.get(f"{url}/info").json()["snapshot"]["key"] != key  # rebuilt
