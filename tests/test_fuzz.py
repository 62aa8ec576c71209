"""Hostile notes: the reader reports, never crashes, never runs anything, never hangs.

Hypothesis generates notes around the hostile pieces the threat model names; each example has
a deadline, which bounds the time a single note may take (not a benchmark: a hang detector).
Every generated input must give a graph that every dump format writes and parses back: escapes
in trace strings, raw bytes, NUL and surrogates in ``collection.toml``, odd file names.
"""

from __future__ import annotations

import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.extraction import extraction
from app.model import Corpus, Note, clean_name, clean_text
from app.parse import read_note, resolve
from app.parse.decode import decode_bytes
from app.pipeline import Build, build, store
from app.rdf.formats import FORMATS
from app.store.snapshot import Snapshot
from app.store.write import OXIGRAPH

SETTINGS = Settings(base_iri="https://example.org/kg/", workers=1)

HEADER = "# s\n7\n## url\nhttps://example.org/a\n## title\nA title\n\n**AXIAL CODING TRACE:**\n"
FENCE = "```python\n{body}\n```\n"

HOSTILE = {
    "import": "__import__('os').system('touch {canary}')",
    "exec": "exec(\"open('{canary}', 'w').write('x')\")",
    "eval-in-label": "x = CClass(practice, __import__('os').system('touch {canary}'))",
    "brackets": "(" * 10_000,
    "dict-brackets": "add_force_relations(" + "{" * 10_000,
    "nul": "x = CClass(practice, 'A\x00B')",
    "surrogate": "y = CClass(force, '\udcff')",
    "huge-line": "z = CClass(practice, '" + "a" * 10_000_000 + "')",
}


def _note(text: str) -> Note:
    return read_note(text, file="hostile.md", name="s_7.md", collection="fuzz")


def _every_dump_parses(snapshot: Snapshot) -> None:
    """Each dump, of all collections and of each, is well-formed: parsed back, XML by expat."""
    for name in [None, *(c.name for c in snapshot.info.collections)]:
        for fmt in FORMATS:
            data = snapshot.serialize(fmt, name)
            list(ox.parse(data, OXIGRAPH[fmt.name]))
            if fmt.name == "rdfxml":
                ET.fromstring(data)


def _graph_of(coll_notes: list[Note]) -> None:
    coll = resolve("fuzz", coll_notes)
    for d in coll.all_diagnostics():
        assert d.line >= 0
        assert d.code
        assert d.message
    _every_dump_parses(store(Build(Corpus(collections=[coll]), SETTINGS, "k")))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_trace_gives_a_diagnostic_and_runs_nothing(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "canary"

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("seed content tried to run a command")

    monkeypatch.setattr(os, "system", forbidden)
    body = HOSTILE[name].replace("{canary}", str(canary))
    note = _note(HEADER + FENCE.format(body=body))
    assert note.diagnostics, name
    assert not canary.exists()
    assert note.source is not None
    assert note.source.id == "s7"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"# s\r\n7\r\n> quote\r\n", "crlf-line-endings"),
        (b"\xef\xbb\xbf# s\n7\n", "byte-order-mark"),
        (b"# s\n7\n> a \x00 b\n", "control-character"),
        (b"# s\n7\n> \xed\xb3\xbf lone surrogate bytes\n", "invalid-utf8"),
        (b"# s\n7\n> \xff\xfe not utf-8\n", "invalid-utf8"),
        (b"# s\n7\n> " + b"a" * 10_000_000 + b"\n", "long-line"),
        (b"# s\n7\n> quote\n\n```python\nx = CClass(practice, 'A')\n", "unclosed-fence"),
        (b"# s\n7\n```` python\nunterminated 4-backtick fence\n", "unclosed-fence"),
    ],
    ids=["crlf", "bom", "nul", "surrogate-bytes", "not-utf8", "10MB-line", "fence", "fence4"],
)
def test_hostile_bytes_give_a_diagnostic(raw: bytes, code: str) -> None:
    text, found = decode_bytes(raw, "hostile.md")
    note = _note(text)
    codes = {d.code for d in found} | {d.code for d in note.diagnostics}
    assert code in codes
    assert "\x00" not in text
    assert all(not 0xD800 <= ord(c) <= 0xDFFF for c in text)


def test_lone_surrogate_in_text_is_replaced() -> None:
    note = _note("# s\n7\n> bad \udcff char\n")
    assert "invalid-unicode" in {d.code for d in note.diagnostics}
    assert note.quotes[0].text == "bad \ufffd char"


PIECES = st.sampled_from(
    [
        "# s\n",
        "7\n",
        "## url\n",
        "https://example.org/x\n",
        "## title\n",
        "**AXIAL CODING TRACE:**\n",
        "**OPEN CODING TRACE:**\n",
        "added:\n",
        "add codes to s7:\n",
        "```python\n",
        "``` python\n",
        "````python\n",
        "```\n",
        "````\n",
        "> quoted passage\n",
        ">no space\n",
        "lazy continuation\n",
        "\n",
        "x = CClass(practice, 'X')\n",
        '    y = CClass(force, "Y")\n',
        "add_force_relations({x: {y: very_positive}})\n",
        "add_force_relations{(x: {y: positive})\n",
        "add_decision_option_link(d, x, 'name')\n",
        "add_decision_option_link(d, x.\n 'name')\n",
        "'''\n",
        "x,\n",
        "in place consumption\n",
        's7 = CClass(source, "s7", values={"title": "T", "url": "https://e.org\n"})\n',
        "__import__('os').system('echo pwned')\n",
        "(" * 300 + "\n",
        "\x00\n",
        "\udcff\n",
        "\r\n",
        "\ufeff",
        "![img](x.png)\n",
        "# coding\n",
    ]
)


@settings(
    max_examples=120,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(PIECES, max_size=60), st.text(st.characters(exclude_categories=()), max_size=200))
def test_any_note_reads_and_maps_to_rdf(pieces: list[str], noise: str) -> None:
    note = _note("".join(pieces) + noise)
    coll = resolve("fuzz", [note])
    built = Build(Corpus(collections=[coll]), SETTINGS, "k")
    for graph in built.graphs:
        graph.serialize(format="xml")  # rdflib's RDF/XML forbids most control characters
    _graph_of([note])


@settings(max_examples=80, deadline=timedelta(seconds=5))
@given(st.binary(max_size=2000))
def test_any_bytes_decode(raw: bytes) -> None:
    text, _found = decode_bytes(raw, "random.md")
    _note(text)


# --- strings whose escapes decode to what RDF cannot carry --------------------------------

ESCAPES = st.sampled_from(
    [
        r"\ud800",
        r"\udfff",
        r"\x00",
        r"\N{NULL}",
        r"\U0010FFFF",
        r"\U0000FFFE",
        r"\uffff",
        r"\0",
        r"\177",
        r"\x1b",
        r"\\",
        r"\"",
        r"\'",
        '"',
        "'",
        "{x}",
        "label",
        " ",
        "\u00e9",
        "\n",
    ]
)
STRING = st.builds(
    lambda prefix, quote, parts: f"{prefix}{quote}{''.join(parts)}{quote}",
    st.sampled_from(["", "", "r", "u", "f", "b", "rb"]),
    st.sampled_from(['"', "'", '"""', "'''"]),
    st.lists(ESCAPES, max_size=6),
)
STATEMENT = st.builds(
    lambda template, a, b, c: template.format(a=a, b=b, c=c),
    st.sampled_from(
        [
            "x = CClass(practice, {a})",
            "y = CClass(force, {a})",
            "d = CClass(decision, {a})",
            's7 = CClass(source, {a}, values={{{b}: {c}, "title": {a}, "type": {b}}})',
            "add_force_relations({{x: {{y: {a}, z: {b}}}}})",
            "add_decision_option_link(d, x, {a})",
            "x.add_links(y, role_name={a})",
            "{a}",
            "'''\nx = CClass(practice, {a})\nadd_force_relations({{x: {{y: {b}}}}})\n'''",
            "x = CClass(practice, {a}",
            "s7 = CClass(source, {a}, values={{{b}: {c}",
            "add_decision_option_link(d, x. {a}",
        ]
    ),
    STRING,
    STRING,
    STRING,
)


@settings(
    max_examples=100,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(STATEMENT, min_size=1, max_size=8))
def test_escapes_in_trace_strings_give_a_graph_every_format_carries(statements: list[str]) -> None:
    note = _note(HEADER + FENCE.format(body="\n".join(statements)))
    assert note.source is not None
    _graph_of([note])


# --- whole seed folders on disk: raw bytes, metadata, names ---------------------------------


def _toml_string(text: str) -> str:
    """A TOML basic string of ``text``: escapes for controls and surrogates (TOML refuses the
    latter, which must be a finding too)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF or ch in _NONCHAR:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_NONCHAR = "\ufffe\uffff"
NAME_BYTES = st.binary(max_size=8).map(lambda b: b.replace(b"/", b"").replace(b"\0", b""))
TITLE = st.text(st.characters(exclude_categories=()), max_size=20)


@pytest.mark.skipif(sys.platform != "linux", reason="names of any bytes need a Linux file system")
@settings(
    max_examples=40,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    statements=st.lists(STATEMENT, max_size=4),
    raw=st.binary(max_size=200),
    folder_junk=NAME_BYTES,
    file_junk=NAME_BYTES,
    title=TITLE,
    toml_junk=st.binary(max_size=40),
)
def test_hostile_seed_folders_build_and_every_dump_parses(
    *,
    statements: list[str],
    raw: bytes,
    folder_junk: bytes,
    file_junk: bytes,
    title: str,
    toml_junk: bytes,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(os.fsencode(tmp), b"seeds", b"c" + folder_junk)
        os.makedirs(folder)
        text = HEADER + FENCE.format(body="\n".join(statements)) + "> "
        with open(os.path.join(folder, b"s_7" + file_junk + b".md"), "wb") as handle:
            handle.write(text.encode("utf-8") + raw + b"\n")
        meta = f"title = {_toml_string(title)}\n".encode("utf-8", "surrogatepass") + toml_junk
        with open(os.path.join(folder, b"collection.toml"), "wb") as handle:
            handle.write(meta)
        result = build([Path(os.fsdecode(os.path.join(os.fsencode(tmp), b"seeds")))], SETTINGS)
        corpus = result.corpus
        (coll,) = corpus.collections
        assert len(coll.notes) == 1
        for d in corpus.all_diagnostics():  # every finding can be printed and reported
            assert clean_name(d.file) == d.file
            assert clean_text(d.message)[1] == []
        for value in (coll.name, coll.title or "", coll.description or ""):
            assert clean_text(value)[1] == []
        extraction(corpus).model_dump_json().encode("utf-8")  # what `parse --json` prints
        _every_dump_parses(store(result))
