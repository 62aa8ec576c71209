"""Finding seeds on disk: collections from folders, metadata files, paths that are not there."""

from __future__ import annotations

from pathlib import Path

from app.parse import resolve
from app.pipeline import read, read_file
from app.seeds import discover

NOTE = "# s\n{n}\n## url\nhttps://example.org/{n}\n## title\nNote {n}\n"


def _note(folder: Path, name: str, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(NOTE.format(n=n), "utf-8")
    return path


def test_a_folder_of_notes_is_one_collection(tmp_path: Path) -> None:
    _note(tmp_path / "seeds" / "study-a", "s_1.md", 1)
    _note(tmp_path / "seeds" / "study-a", "s_2.txt", 2)
    _note(tmp_path / "seeds" / "study-b", "s_1.md", 1)
    (tmp_path / "seeds" / "study-a" / "README.md").write_text("# not a note\n", "utf-8")
    (tmp_path / "seeds" / "study-a" / "notes.json").write_text("{}", "utf-8")
    found, problems = discover([tmp_path / "seeds"])
    assert problems == []
    assert [(c.name, [f.name for f in c.files]) for c in found] == [
        ("study-a", ["s_1.md", "s_2.txt"]),
        ("study-b", ["s_1.md"]),
    ]
    single, _ = discover([tmp_path / "seeds" / "study-b" / "s_1.md"])
    assert [c.name for c in single] == ["study-b"]


def test_same_named_folders_are_one_study(tmp_path: Path) -> None:
    _note(tmp_path / "mine" / "study", "s_1.md", 1)
    _note(tmp_path / "shared" / "study", "s_2.md", 2)
    _note(tmp_path / "shared" / "study", "s_1.md", 1)
    corpus = read([tmp_path / "mine", tmp_path / "shared"])
    (coll,) = corpus.collections
    ids = sorted(src.id for _, src in coll.sources)
    assert ids == ["s1", "s1-s_1", "s2"]
    dup = [d for d in coll.diagnostics if d.code == "duplicate-source-id"]
    assert len(dup) == 1
    assert "already read from" in dup[0].message


def test_the_same_file_given_twice_is_read_once(tmp_path: Path) -> None:
    path = _note(tmp_path / "study", "s_1.md", 1)
    found, _ = discover([path, tmp_path / "study", tmp_path])
    assert sum(len(c.files) for c in found) == 1


def test_collection_metadata(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    _note(folder, "s_1.md", 1)
    (folder / "collection.toml").write_text(
        'title = "A study"\ndescription = """What it\nreads."""\n', "utf-8"
    )
    corpus = read([folder])
    assert (corpus.collections[0].title, corpus.collections[0].description) == (
        "A study",
        "What it\nreads.",
    )


def test_broken_metadata_is_reported_with_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    _note(folder, "s_1.md", 1)
    (folder / "collection.toml").write_text('title = "ok"\ndescription = = broken\n', "utf-8")
    corpus = read([folder])
    (problem,) = corpus.diagnostics
    assert problem.code == "bad-metadata"
    assert problem.line == 2
    assert len(corpus.collections[0].sources) == 1  # the notes still load


def test_missing_paths_are_findings(tmp_path: Path) -> None:
    _note(tmp_path / "study", "s_1.md", 1)
    corpus = read([tmp_path / "nope", tmp_path / "study"])
    assert [d.code for d in corpus.diagnostics] == ["missing-path"]
    assert len(corpus.collections[0].sources) == 1


def test_unreadable_file_keeps_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    _note(folder, "s_1.md", 1)
    (folder / "s_2.md").symlink_to(folder / "missing.md")
    found, _ = discover([folder])
    notes = [read_file(seed) for seed in found[0].files]
    coll = resolve("study", notes)
    assert [src.id for _, src in coll.sources] == ["s1"]
    assert [d.code for d in coll.all_diagnostics() if d.severity == "error"] == ["unreadable-file"]
