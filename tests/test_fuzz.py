"""Hostile notes: the reader reports, never crashes, never runs anything, never hangs.

Hypothesis generates notes around the hostile pieces the threat model names; each example has
a deadline, which bounds the time a single note may take (not a benchmark: a hang detector).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.model import Corpus, Note
from app.parse import read_note, resolve
from app.parse.decode import decode_bytes
from app.pipeline import Build, store
from app.rdf.formats import FORMATS

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
    max_examples=300,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(PIECES, max_size=60), st.text(st.characters(exclude_categories=()), max_size=200))
def test_any_note_reads_and_maps_to_rdf(pieces: list[str], noise: str) -> None:
    note = _note("".join(pieces) + noise)
    coll = resolve("fuzz", [note])
    for d in coll.all_diagnostics():
        assert d.line >= 0
        assert d.code
        assert d.message
    built = Build(Corpus(collections=[coll]), Settings(base_iri="https://example.org/kg/"), "k")
    for graph in built.graphs:
        graph.serialize(format="xml")  # rdflib's RDF/XML forbids most control characters
    snapshot = store(built)
    for fmt in FORMATS:
        snapshot.serialize(fmt)  # and every Oxigraph format carries every literal


@settings(max_examples=200, deadline=timedelta(seconds=5))
@given(st.binary(max_size=2000))
def test_any_bytes_decode(raw: bytes) -> None:
    text, _found = decode_bytes(raw, "random.md")
    _note(text)
