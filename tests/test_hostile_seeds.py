"""Hostile seeds at every entry: escapes in trace strings, collection metadata, file names,
symbolic links and sizes. Each test reads real files from disk through the real pipeline, and a
graph that loads must serialise in every dump format and parse back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest

from app.config import Settings
from app.model import Diagnostic, Note, Severity
from app.parse import read_note
from app.parse.notes import (
    MAX_FENCE_CHARS,
    MAX_FENCE_LINES,
    MAX_NOTE_FINDINGS,
    MAX_NOTE_ITEMS,
    MAX_NOTE_LINES,
)
from app.parse.traces import MAX_STATEMENTS
from app.pipeline import Build, build, read, store
from app.rdf.formats import FORMATS
from app.seeds import MAX_NOTE_BYTES, discover
from app.store.snapshot import Snapshot
from app.store.write import OXIGRAPH

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = Settings(base_iri="https://example.org/kg/", workers=1)
HEADER = (
    "# s\n{n}\n## url\nhttps://example.org/{n}\n## title\nNote {n}\n\n**AXIAL CODING TRACE:**\n"
)
FIRST = 10  # the line of a trace body's first line in a note made by ``note``
CAP_CODES = {
    "file-too-large",
    "note-too-long",
    "fence-too-large",
    "too-many-statements",
    "too-many-items",
    "too-many-findings",
}
linux_names = pytest.mark.skipif(
    sys.platform != "linux", reason="needs a file system that takes any bytes in a name"
)


def note(n: int, body: str, *more: str) -> str:
    """A note of source ``n`` whose first trace fence holds ``body`` (line ``FIRST`` on)."""
    fences = "".join(f"\n**AXIAL CODING TRACE:**\n```python\n{b}\n```\n" for b in more)
    return HEADER.format(n=n) + f"```python\n{body}\n```\n" + fences


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def inline(text: str) -> Note:
    return read_note(text, file="c/s_1.md", name="s_1.md", collection="c")


def found(diagnostics: list[Diagnostic], code: str) -> list[tuple[str, int]]:
    return [(d.file, d.line) for d in diagnostics if d.code == code]


def literals(data: bytes, fmt: ox.RdfFormat) -> set[str]:
    return {q.object.value for q in ox.parse(data, fmt) if isinstance(q.object, ox.Literal)}


def every_format(snapshot: Snapshot) -> dict[str, bytes]:
    """Every dump of the snapshot (all and per collection), each proven to parse back."""
    dumps: dict[str, bytes] = {}
    for name in [None, *(c.name for c in snapshot.info.collections)]:
        for fmt in FORMATS:
            data = snapshot.serialize(fmt, name)
            assert list(ox.parse(data, OXIGRAPH[fmt.name])), (name, fmt.name)
            if fmt.name == "rdfxml":
                ET.fromstring(data)  # expat: strict XML 1.0, refuses what RDF/XML cannot hold
            dumps[f"{name or 'all'}{fmt.extension}"] = data
    return dumps


def built(*paths: Path) -> tuple[Build, dict[str, bytes]]:
    result = build(list(paths), SETTINGS)
    return result, every_format(store(result))


# --- escapes in trace strings --------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected", "codes"),
    [
        (r'"Sur\ud800rogate"', "Sur\ufffdrogate", ["invalid-unicode"]),
        (r"'\udfff'", "\ufffd", ["invalid-unicode"]),
        (r'"A\x00B"', "A\ufffdB", ["control-character"]),
        (r'"bell\x07"', "bell\ufffd", ["control-character"]),
        (r'"\U0000FFFE\uffff"', "\ufffd\ufffd", ["control-character"]),
        (r'"\N{NULL}x"', "\ufffdx", ["control-character"]),
        (r'"octal\0\177"', "octal\ufffd\ufffd", ["control-character"]),
        (r'"""triple\x00"""', "triple\ufffd", ["control-character"]),
        (r"u'prefixed\x01'", "prefixed\ufffd", ["control-character"]),
        (
            r'"joined " "\ud800\x00"',
            "joined \ufffd\ufffd",
            ["control-character", "invalid-unicode"],
        ),
        (r'"\U0010FFFF is a character"', "\U0010ffff is a character", []),
        (r'r"\x00 is raw"', "\\x00 is raw", []),
        (r'"quotes \" \' and \\ stay"', "quotes \" ' and \\ stay", []),
    ],
    ids=[
        "surrogate",
        "low-surrogate",
        "nul",
        "bell",
        "non-characters",
        "named",
        "octal",
        "triple-quoted",
        "u-prefix",
        "concatenated",
        "astral",
        "raw",
        "quotes",
    ],
)
def test_escapes_in_a_trace_label_are_cleaned(
    tmp_path: Path, label: str, expected: str, codes: list[str]
) -> None:
    write(tmp_path / "c", "s_1.md", note(1, f"x = CClass(practice, {label})"))
    result, dumps = built(tmp_path)
    (coll,) = result.corpus.collections
    assert coll.codes["x"].label == expected
    diagnostics = result.corpus.all_diagnostics()
    for code in ("control-character", "invalid-unicode"):
        where = [(Path(f).name, line) for f, line in found(diagnostics, code)]
        assert where == ([("s_1.md", FIRST)] if code in codes else [])
    assert expected in literals(dumps["all.nt"], ox.RdfFormat.N_TRIPLES)


def test_escapes_in_source_values_keys_impacts_options_and_roles(tmp_path: Path) -> None:
    body = "\n".join(
        [
            's1 = CClass(source, "s1", values={',
            r'    "title": "T\x00itle",',
            r'    "archive url": "https://bit.ly/\ud800",',
            r'    "odd\x00key": "x",',
            "})",
            r'add_force_relations({a: {b: "positive\x07"}})',
            r'add_decision_option_link(d, o, "name\udfff")',
            r'a.add_links(b, role_name="to\x1b")',
        ]
    )
    write(tmp_path / "c", "s_1.md", note(1, body))
    result, dumps = built(tmp_path)
    (coll,) = result.corpus.collections
    (note_read,) = coll.notes
    trace = note_read.source.trace if note_read.source else None
    assert trace is not None
    assert trace.fields["title"].value == "T\ufffditle"
    assert trace.fields["archive url"].value == "https://bit.ly/\ufffd"
    assert [r.raw_impact for r in note_read.relations] == ["positive\ufffd"]
    assert [o.name for o in note_read.options] == ["name\ufffd"]
    assert [d.role for d in note_read.dependencies] == ["to\ufffd"]
    # each kind once per fence, at the line of its first string
    assert [line for _, line in found(note_read.diagnostics, "control-character")] == [FIRST + 1]
    assert [line for _, line in found(note_read.diagnostics, "invalid-unicode")] == [FIRST + 2]
    unknown = [d.message for d in note_read.diagnostics if d.code == "unknown-field"]
    assert unknown == ["trace key 'odd\ufffdkey' ignored"]
    assert "T\ufffditle" in literals(dumps["all.ttl"], ox.RdfFormat.TURTLE)


def test_escapes_in_a_string_read_again_as_code(tmp_path: Path) -> None:
    # the fence holds `"F\\x00orce"`: the string's value is code whose own string has an escape
    body = (
        "'''\n"
        + r'y = CClass(force, "F\\x00orce")'
        + "\n"
        + r"z = CClass(force, '\\udcff')"
        + "\n'''"
    )
    write(tmp_path / "c", "s_1.md", note(1, body))
    result, _ = built(tmp_path)
    (coll,) = result.corpus.collections
    assert (coll.codes["y"].label, coll.codes["z"].label) == ("F\ufffdorce", "\ufffd")
    assert all(d.in_string for _, d in coll.codes["y"].definitions)
    diagnostics = coll.all_diagnostics()
    assert [line for _, line in found(diagnostics, "control-character")] == [FIRST + 1]
    assert [line for _, line in found(diagnostics, "invalid-unicode")] == [FIRST + 2]


def test_f_string_parts_and_recovered_statements_stay_clean(tmp_path: Path) -> None:
    body = "\n".join(
        [
            r'x = CClass(practice, f"\x00{y}\ud800")',  # not a label, but never a crash
            r'w = CClass(practice, "A\ud800B"',  # unparseable: recovered as written
            'v = CClass(force, "V")',
        ]
    )
    write(tmp_path / "c", "s_1.md", note(1, body))
    result, dumps = built(tmp_path)
    (coll,) = result.corpus.collections
    assert "x" not in coll.codes  # an f-string is no label
    # a pattern recovers text as written: the escape is six characters, never decoded
    assert coll.codes["w"].label == "A\\ud800B"
    assert coll.codes["v"].label == "V"
    assert "A\\ud800B" in literals(dumps["all.nq"], ox.RdfFormat.N_QUADS)


def test_a_huge_number_as_role_is_a_finding(tmp_path: Path) -> None:
    write(tmp_path / "c", "s_1.md", note(1, "a.add_links(b, role_name=0x" + "f" * 5000 + ")"))
    result, _ = built(tmp_path)
    (coll,) = result.corpus.collections
    assert [d.role for d in coll.notes[0].dependencies] == [None]
    assert [line for _, line in found(coll.all_diagnostics(), "non-literal-value")] == [FIRST]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args, "--workers", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )


def test_cli_reads_a_note_with_an_escaped_surrogate(tmp_path: Path) -> None:
    seeds = tmp_path / "sur"
    write(seeds / "c", "s_1.md", note(1, r'x = CClass(practice, "Sur\ud800rogate")'))
    for suffix, fmt in ((".ttl", ox.RdfFormat.TURTLE), (".rdf", ox.RdfFormat.RDF_XML)):
        out = tmp_path / f"graph{suffix}"
        run = _cli("build", str(seeds), "-o", str(out))
        assert run.returncode == 0, run.stderr
        assert "Sur\ufffdrogate" in literals(out.read_bytes(), fmt)
    run = _cli("parse", str(seeds), "--json")
    assert run.returncode == 0, run.stderr
    assert "Sur\ufffdrogate" in run.stdout
    json.loads(run.stdout)
    run = _cli("stats", str(seeds))
    assert run.returncode == 0, run.stderr
    run = _cli("validate", str(seeds), "--format", "json")
    assert run.returncode == 0, run.stderr
    findings = json.loads(run.stdout)["findings"]
    assert [
        (Path(f["file"]).name, f["line"]) for f in findings if f["code"] == "invalid-unicode"
    ] == [("s_1.md", FIRST)]


# --- collection.toml ----------------------------------------------------------------------


def test_escapes_in_collection_metadata_are_cleaned(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    write(folder, "s_1.md", note(1, 'x = CClass(practice, "X")'))
    write(
        folder,
        "collection.toml",
        '# the study\ntitle = "A\\u0000B"\ndescription = """one\\u0007\ntwo\\uFFFE"""\n',
    )
    result, dumps = built(folder)
    (coll,) = result.corpus.collections
    assert (coll.title, coll.description) == ("A\ufffdB", "one\ufffd\ntwo\ufffd")
    meta = [
        (Path(f).name, line) for f, line in found(result.corpus.diagnostics, "control-character")
    ]
    assert meta == [("collection.toml", 2), ("collection.toml", 3)]
    assert "A\ufffdB" in literals(dumps["all.rdf"], ox.RdfFormat.RDF_XML)
    assert "A\ufffdB" in literals(dumps["study.jsonld"], ox.RdfFormat.JSON_LD)


@pytest.mark.parametrize(
    ("raw", "code", "line"),
    [
        (b'title = "ok"\ndescription = "A\x00B"\n', "bad-metadata", 2),
        (b'title = "\xff\xfe"\n', "unreadable-file", 1),
        (b'title = "\\ud800"\n', "bad-metadata", 1),
    ],
    ids=["raw-nul", "not-utf8", "escaped-surrogate"],
)
def test_metadata_that_toml_refuses_is_a_finding(
    tmp_path: Path, raw: bytes, code: str, line: int
) -> None:
    folder = tmp_path / "study"
    write(folder, "s_1.md", note(1, 'x = CClass(practice, "X")'))
    write(folder, "collection.toml", raw)
    result, _ = built(folder)
    (coll,) = result.corpus.collections
    assert [(Path(f).name, n) for f, n in found(result.corpus.diagnostics, code)] == [
        ("collection.toml", line)
    ]
    assert coll.description is None
    assert len(coll.sources) == 1


# --- file and folder names ----------------------------------------------------------------


@linux_names
def test_undecodable_and_control_characters_in_names(tmp_path: Path) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"st\xffudy\x01")
    os.makedirs(folder)
    text = note(1, 'x = CClass(practice, "X")').encode()
    for name, data in (
        (b"s_1\x07\xfe.md", text),
        (b"s_2\n\t.md", text.replace(b"# s\n1", b"# s\n2")),
        (b"s_3.md", text.replace(b"# s\n1", b"# s\n3")),
    ):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)
    collections, findings = discover([tmp_path])
    (coll,) = collections
    assert coll.name == "st\ufffdudy\ufffd"
    assert [s.name for s in coll.files] == ["s_1\ufffd\ufffd.md", "s_2\ufffd\ufffd.md", "s_3.md"]
    named = [(Path(d.file).name, d.line) for d in findings if d.code == "invalid-name"]
    assert named == [
        ("st\ufffdudy\ufffd", 0),
        ("s_1\ufffd\ufffd.md", 0),
        ("s_2\ufffd\ufffd.md", 0),
    ]
    result, dumps = built(tmp_path)
    assert len(result.corpus.collections[0].sources) == 3
    assert "st\ufffdudy\ufffd/s_3.md" in literals(dumps["all.nt"], ox.RdfFormat.N_TRIPLES)
    for run in (
        _cli("parse", str(tmp_path), "--json"),
        _cli("stats", str(tmp_path)),
        _cli("validate", str(tmp_path)),
    ):
        assert run.returncode == 0, run.stderr
        assert "st\ufffdudy\ufffd" in run.stdout


def test_a_missing_path_with_an_undecodable_name_is_a_clean_finding(tmp_path: Path) -> None:
    _, findings = discover([tmp_path / "no\udcffne"])
    assert [(d.code, Path(d.file).name) for d in findings] == [("missing-path", "no\ufffdne")]


# --- caps ---------------------------------------------------------------------------------


def _caps(diagnostics: list[Diagnostic]) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in diagnostics if d.code in CAP_CODES]


def test_a_note_over_the_size_cap_is_not_read_and_the_rest_loads(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    write(folder, "s_1.md", note(1, 'x = CClass(practice, "X")'))
    big = note(2, 'y = CClass(practice, "Y")') + "> " + "q" * MAX_NOTE_BYTES + "\n"
    write(folder, "s_2.md", big)
    result, _ = built(folder)
    (coll,) = result.corpus.collections
    assert [src.id for _, src in coll.sources] == ["s1"]
    assert "y" not in coll.codes
    (cap,) = [d for d in coll.all_diagnostics() if d.code == "file-too-large"]
    assert (Path(cap.file).name, cap.line, cap.severity) == ("s_2.md", 1, Severity.ERROR)


def test_a_note_over_the_line_cap_is_read_up_to_it() -> None:
    text = note(1, "early") + "\n" * MAX_NOTE_LINES + "> late quote\n"
    read_ = inline(text)
    assert [r.ident for r in read_.references] == ["early"]
    assert read_.quotes == []
    assert _caps(read_.diagnostics) == [("note-too-long", MAX_NOTE_LINES + 1)]


@pytest.mark.parametrize(
    "body",
    [
        "a_big = 1  # "
        + "x" * 90
        + "\n"
        + ("b = 1  # " + "x" * 90 + "\n") * (MAX_FENCE_CHARS // 100),
        "a_big\n" + "b\n" * MAX_FENCE_LINES,
    ],
    ids=["characters", "lines"],
)
def test_a_fence_over_the_size_cap_is_not_read_and_the_next_one_is(body: str) -> None:
    read_ = inline(note(1, body, "after_it"))
    assert [r.ident for r in read_.references] == ["after_it"]
    (cap,) = [d for d in read_.diagnostics if d.code == "fence-too-large"]
    assert (cap.line, cap.severity) == (FIRST - 1, Severity.ERROR)


def _semicolons(names: list[str]) -> str:
    """Ten statements a line: a fence over the statement cap stays under the line cap."""
    return "\n".join("; ".join(names[i : i + 10]) for i in range(0, len(names), 10))


@pytest.mark.parametrize("broken", [False, True], ids=["parses", "split-by-statement"])
def test_a_fence_reads_at_most_the_statement_cap(broken: bool) -> None:
    body = _semicolons([f"r{i}" for i in range(MAX_STATEMENTS + 5)])
    body += "\nx = CClass(practice, 'X')"
    if broken:
        body += "\nnever_closed = ("  # the block does not parse: statements one by one
    read_ = inline(note(1, body, "later_fence"))
    assert _caps(read_.diagnostics) == [("too-many-statements", FIRST + MAX_STATEMENTS // 10)]
    assert [d.ident for d in read_.definitions] == []
    named = [f"r{i}" for i in range(MAX_STATEMENTS)]
    assert [r.ident for r in read_.references] == [*named, "later_fence"]  # the rest loads
    assert not [d for d in read_.diagnostics if d.code == "unparseable-statement"]


def test_statements_inside_strings_count_toward_the_cap() -> None:
    inner = _semicolons([f"r{i}" for i in range(MAX_STATEMENTS)])
    read_ = inline(note(1, "'''\n" + inner + "\n'''"))
    read_count = MAX_STATEMENTS - 1  # the string statement counts too
    assert [r.ident for r in read_.references] == [f"r{i}" for i in range(read_count)]
    assert _caps(read_.diagnostics) == [("too-many-statements", FIRST + 1 + read_count // 10)]


def test_a_note_yields_at_most_the_item_cap(tmp_path: Path) -> None:
    per_fence, full = 4_990, MAX_NOTE_ITEMS // 5_000
    fences = [[f"r{f}_{i}" for i in range(per_fence)] for f in range(full)]
    fences.append([f"last_{i}" for i in range(1_000)])
    bodies = ["\n".join(", ".join(f[i : i + 10]) for i in range(0, len(f), 10)) for f in fences]
    text = note(1, bodies[0], *bodies[1:]) + "\n> a quote after the cap\n"
    folder = tmp_path / "study"
    write(folder, "s_1.md", text)
    write(folder, "s_2.md", note(2, "neighbour"))
    (coll,) = read([folder], SETTINGS).collections
    first, second = coll.notes
    assert len(first.blocks) == full + 1
    assert len(first.references) + len(first.blocks) == MAX_NOTE_ITEMS
    room = MAX_NOTE_ITEMS - full * (per_fence + 1) - 1  # what the last fence had room for
    assert first.references[-1].ident == f"last_{room - 1}"
    assert first.quotes == []
    last_fence = text.split("\n").index(bodies[-1].split("\n")[0]) + 1
    assert _caps(first.diagnostics) == [("too-many-items", last_fence + room // 10)]
    assert [r.ident for r in second.references] == ["neighbour"]  # the collection loads


def test_evidence_links_count_toward_the_item_cap() -> None:
    quotes = MAX_NOTE_ITEMS // 4 - 1
    text = HEADER.format(n=1) + "> q\n\n" * quotes + "**OPEN CODING TRACE:**\n\n" * 10
    read_ = inline(text)
    assert len(read_.quotes) == quotes
    # each open section cites every quote: three fit, the fourth does not
    assert [len(b.evidence) for b in read_.blocks] == [quotes] * 3
    (cap,) = _caps(read_.diagnostics)
    assert cap == ("too-many-items", read_.blocks[-1].line + 2)


def test_findings_past_the_cap_are_counted_in_one() -> None:
    others = len(inline(note(1, "1")).diagnostics) - 1  # header findings, all above the fence
    statements = MAX_NOTE_FINDINGS + 300
    read_ = inline(note(1, "\n".join("1" for _ in range(statements))))
    assert len(read_.diagnostics) == MAX_NOTE_FINDINGS + 1
    summary = read_.diagnostics[-1]
    assert (summary.code, summary.severity) == ("too-many-findings", Severity.ERROR)
    left_out = statements + others - MAX_NOTE_FINDINGS
    assert summary.message.startswith(f"{left_out:,} more findings")
    # the earliest are kept: the unknown statements from here on are the ones left out
    assert summary.line == FIRST + MAX_NOTE_FINDINGS - others
    kept = [d.line for d in read_.diagnostics if d.code == "unknown-statement"]
    assert max(kept) == summary.line - 1


# --- symbolic links -----------------------------------------------------------------------


def test_symlinks_leading_out_of_the_seed_folder_are_refused(tmp_path: Path) -> None:
    seeds, outside = tmp_path / "seeds", tmp_path / "outside"
    write(seeds / "study", "s_1.md", note(1, "inside_note"))
    write(outside / "other", "s_9.md", note(9, "outside_folder"))
    secret = write(outside, "s_8.md", note(8, "outside_file"))
    write(outside, "collection.toml", 'title = "Not ours"\n')
    kept = write(seeds, "kept.dat", note(3, "linked_inside"))  # not a seed by its own name
    (seeds / "study" / "s_3.md").symlink_to(kept)  # a link that stays inside is read
    (seeds / "study" / "s_4.md").symlink_to(secret)
    (seeds / "study" / "collection.toml").symlink_to(outside / "collection.toml")
    (seeds / "other").symlink_to(outside / "other", target_is_directory=True)
    result, _ = built(seeds)
    (coll,) = result.corpus.collections
    idents = {r.ident for n in coll.notes for r in n.references}
    assert idents == {"inside_note", "linked_inside"}
    assert coll.title is None
    refused = sorted(
        (Path(d.file).relative_to(seeds.resolve()).as_posix(), d.line, d.severity)
        for d in result.corpus.diagnostics
        if d.code == "symlink-outside"
    )
    assert refused == [
        ("other", 0, Severity.ERROR),
        ("study/collection.toml", 0, Severity.ERROR),
        ("study/s_4.md", 0, Severity.ERROR),
    ]
    # a file given by name is read wherever its link leads
    direct = read([seeds / "study" / "s_4.md"], SETTINGS)
    assert [r.ident for c in direct.collections for n in c.notes for r in n.references] == [
        "outside_file"
    ]
    beside = [Path(d.file).name for d in direct.diagnostics if d.code == "symlink-outside"]
    assert beside == ["collection.toml"]  # beside it, a link out of its folder is still refused


def test_a_link_loop_and_a_fifo_are_findings_not_hangs(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    write(folder, "s_1.md", note(1, "ok"))
    (folder / "s_2.md").symlink_to(folder / "s_3.md")
    (folder / "s_3.md").symlink_to(folder / "s_2.md")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "s_4.md")
    result, _ = built(folder)
    (coll,) = result.corpus.collections
    assert [src.id for _, src in coll.sources] == ["s1"]
    unreadable = sorted(
        (Path(d.file).name, d.message)
        for d in coll.all_diagnostics()
        if d.code == "unreadable-file"
    )
    assert [name for name, _ in unreadable] == ["s_2.md", "s_3.md"] + (
        ["s_4.md"] if hasattr(os, "mkfifo") else []
    )
    if hasattr(os, "mkfifo"):
        assert unreadable[-1][1] == "not a regular file"


@pytest.mark.parametrize(
    "url", ["https://example.org/%zz", "https://exa[mple.org/", "https://example.org/\ufffd"]
)
def test_a_source_url_that_is_not_an_iri_stays_text(tmp_path: Path, url: str) -> None:
    """It is kept as the source's literal value, never as a link the store cannot hold."""
    folder = tmp_path / "study"
    text = note(1, 'x = CClass(practice, "X")').replace("https://example.org/1", url)
    assert url in text
    write(folder, "s_1.md", text)
    _, dumps = built(folder)
    assert url in literals(dumps["all.nt"], ox.RdfFormat.N_TRIPLES)
    assert f"<{url}>".encode() not in dumps["all.nt"]
