"""One collection as a REFI-QDA project (``.qdpx``), read from its graph with SPARQL, so that a
study can go on in ATLAS.ti, NVivo, MAXQDA or QualCoder.

What the project holds:

* the codebook: one parent code per kind (practices, patterns, forces, decisions, unresolved
  codes; not codable themselves), each code under its kind, named by its label (its identifier
  when it has none), with the identifier and IRI in its description;
* one text source per source, whose text is the source's quotes in the note's order, each
  followed by a blank line. The rest of a note (headers, traces, memos) is the researcher's
  coding, not the data being coded, so it is not part of the text;
* one selection per coded quote, covering exactly the quote, with one coding for each code
  whose coding blocks hold the quote (mk:codedIn/mk:evidenceQuote). A quote that is only a
  speaker label (mk:speakerLabel) is part of the text but never selected; an interview
  quote's speaker (mk:speaker) is the selection's description;
* each memo as a note with its text, referred to by its source.

Choices the standard leaves open or that the importers need:

* Positions count characters (Unicode code points) from 0; a selection's end position is the
  position after its last character, so ``text[start:end]`` is the quote.
* Source texts are files ``sources/<guid>.txt`` (UTF-8, ``\\n`` line ends, no byte order mark)
  named by ``plainTextPath="internal://<guid>.txt"``: the importers read a text source from its
  file. Notes carry their text inline (``PlainTextContent``); the schema allows one or the
  other, never both.
* Every GUID is a name-based UUID (version 5) of an IRI, or of an IRI and what is derived from
  it, so a code keeps its GUID from one export to the next and a researcher's re-import can
  match what it already has. Nothing carries a date (the schema makes dates optional), and
  the archive's entries have a fixed time: the same graph gives the same bytes.
* Characters XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE, U+FFFF) become
  U+FFFD, and carriage returns become line feeds (XML parsers would turn them into line feeds
  anyway), in every text, before any position is counted.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from app import __version__
from app.namespaces import MK, sparql_prologue
from app.order import natural
from app.store.seam import GraphReader
from app.terms import Iri, Row

NAMESPACE = "urn:QDA-XML:project:1.0"
"""The REFI-QDA Project namespace (QDA-XML 1.0)."""

PROJECT_FILE = "project.qde"
SOURCES_FOLDER = "sources"

PREFIXES = sparql_prologue("mk", "dcterms", "schema", "skos", "oa")

KINDS: tuple[tuple[str, str], ...] = (
    (MK + "Practice", "Practices"),
    (MK + "Pattern", "Patterns"),
    (MK + "Force", "Forces"),
    (MK + "Decision", "Decisions"),
    (MK + "UnresolvedCode", "Unresolved codes"),
)
"""The code classes in the codebook's order, with their parent codes' names."""

_RANK = {kind: rank for rank, (kind, _) in enumerate(KINDS)}
_VALUES = " ".join(f"<{kind}>" for kind, _ in KINDS)

_COLLECTION = (
    PREFIXES
    + """SELECT ?collection ?title ?description WHERE {
    OPTIONAL { ?collection dcterms:title ?title }
    OPTIONAL { ?collection dcterms:description ?description } }"""
)
_SOURCES = (
    PREFIXES
    + """SELECT ?source ?ident ?title ?url WHERE {
    ?source a mk:Source ; dcterms:identifier ?ident .
    OPTIONAL { ?source dcterms:title ?title } OPTIONAL { ?source schema:url ?url } }"""
)
_CODES = (
    PREFIXES
    + f"""SELECT ?code ?kind ?ident ?label ?aside WHERE {{
    VALUES ?kind {{ {_VALUES} }}
    ?code a ?kind ; dcterms:identifier ?ident .
    OPTIONAL {{ ?code skos:prefLabel ?label }} OPTIONAL {{ ?code mk:setAside ?aside }} }}"""
)
_QUOTES = (
    PREFIXES
    + """SELECT ?quote ?source ?text ?line ?speaker ?label WHERE {
    ?quote a mk:Quote ; dcterms:isPartOf ?source ; schema:text ?text ; mk:line ?line .
    OPTIONAL { ?quote mk:speaker ?speaker } OPTIONAL { ?quote mk:speakerLabel ?label } }"""
)
_CODINGS = (
    PREFIXES
    + f"""SELECT DISTINCT ?code ?quote WHERE {{
    VALUES ?kind {{ {_VALUES} }}
    ?code a ?kind ; mk:codedIn ?block . ?block mk:evidenceQuote ?quote }}"""
)
_MEMOS = (
    PREFIXES
    + """SELECT ?memo ?source ?text ?line WHERE {
    ?memo a mk:Memo ; dcterms:isPartOf ?source ; oa:bodyValue ?text ; mk:line ?line }"""
)

_SELF = "https://w3id.org/meshkg/qdpx"
"""The exporter's own name, under which GUIDs of things without an IRI are made."""
_DERIVED = uuid.uuid5(uuid.NAMESPACE_URL, _SELF)
"""The namespace of GUIDs derived from an IRI and something else (an IRI never holds a line
feed, so ``iri + "\\n" + part`` names one thing only)."""

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class _Source:
    iri: str
    ident: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class _Code:
    iri: str
    ident: str
    label: str
    kind: str
    aside: bool


@dataclass(frozen=True, slots=True)
class _Quote:
    iri: str
    source: str
    text: str
    line: int
    speaker: str
    label: bool  # only a speaker label


@dataclass(frozen=True, slots=True)
class _Memo:
    iri: str
    source: str
    text: str
    line: int


def clean(text: str) -> str:
    """``text`` as XML 1.0 can carry it, every character where it was but for line ends."""
    return _FORBIDDEN.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def guid(iri: str, part: str | None = None) -> str:
    """The GUID of what ``iri`` names, or of ``part`` of it."""
    if part is None:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, iri))
    return str(uuid.uuid5(_DERIVED, f"{iri}\n{part}"))


def _text(row: Row, name: str) -> str:
    term = row.get(name)
    return term.value if term is not None else ""


def _first(found: dict[str, str], key: str, value: str) -> None:
    """Keep the least value of a key that has several, so the choice never depends on the
    store's order."""
    if value and (key not in found or natural(value) < natural(found[key])):
        found[key] = value


def _sources(reader: GraphReader, graph: str) -> list[_Source]:
    idents: dict[str, str] = {}
    titles: dict[str, str] = {}
    urls: dict[str, str] = {}
    for row in reader.select(_SOURCES, graphs=[graph]):
        source = _text(row, "source")
        _first(idents, source, _text(row, "ident"))
        _first(titles, source, _text(row, "title"))
        _first(urls, source, _text(row, "url"))
    found = [_Source(s, i, titles.get(s, ""), urls.get(s, "")) for s, i in idents.items()]
    return sorted(found, key=lambda s: (natural(s.ident), s.iri))


def _codes(reader: GraphReader, graph: str) -> list[_Code]:
    idents: dict[str, str] = {}
    labels: dict[str, str] = {}
    kinds: dict[str, str] = {}
    aside: set[str] = set()
    for row in reader.select(_CODES, graphs=[graph]):
        code = _text(row, "code")
        kind = _text(row, "kind")
        _first(idents, code, _text(row, "ident"))
        _first(labels, code, _text(row, "label"))
        if code not in kinds or _RANK[kind] < _RANK[kinds[code]]:
            kinds[code] = kind  # a code of two kinds is listed once, under the first
        if _text(row, "aside") == "true":
            aside.add(code)
    found = [_Code(c, i, labels.get(c, "") or i, kinds[c], c in aside) for c, i in idents.items()]
    return sorted(found, key=lambda c: (natural(c.ident), c.iri))


def _quotes(reader: GraphReader, graph: str) -> dict[str, list[_Quote]]:
    """Each source's quotes, in the note's order."""
    found: dict[str, _Quote] = {}
    for row in reader.select(_QUOTES, graphs=[graph]):
        quote = _Quote(
            _text(row, "quote"),
            _text(row, "source"),
            _text(row, "text"),
            int(_text(row, "line")),
            _text(row, "speaker"),
            _text(row, "label") == "true",
        )
        found.setdefault(quote.iri, quote)
    by_source: dict[str, list[_Quote]] = defaultdict(list)
    for quote in sorted(found.values(), key=lambda q: (q.line, natural(q.iri))):
        by_source[quote.source].append(quote)
    return by_source


def _memos(reader: GraphReader, graph: str) -> dict[str, list[_Memo]]:
    """Each source's memos, in the note's order."""
    found: dict[str, _Memo] = {}
    for row in reader.select(_MEMOS, graphs=[graph]):
        memo = _Memo(
            _text(row, "memo"), _text(row, "source"), _text(row, "text"), int(_text(row, "line"))
        )
        found.setdefault(memo.iri, memo)
    by_source: dict[str, list[_Memo]] = defaultdict(list)
    for memo in sorted(found.values(), key=lambda m: (m.line, natural(m.iri))):
        by_source[memo.source].append(memo)
    return by_source


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = clean(text)
    return element


def _project(
    reader: GraphReader, graph: str, name: str, title: str | None
) -> tuple[ET.Element, list[tuple[str, str]]]:
    """The project's XML and the texts of its sources (file name, text)."""
    about: dict[str, str] = {}
    for row in reader.select(_COLLECTION, bind={"collection": Iri(graph)}, graphs=[graph]):
        _first(about, "title", _text(row, "title"))
        _first(about, "description", _text(row, "description"))
    codes = _codes(reader, graph)
    sources = _sources(reader, graph)
    quotes = _quotes(reader, graph)
    memos = _memos(reader, graph)
    coded: dict[str, set[str]] = defaultdict(set)
    for row in reader.select(_CODINGS, graphs=[graph]):
        coded[_text(row, "quote")].add(_text(row, "code"))

    user = guid(_SELF + "#user")
    root = ET.Element(
        "Project",
        {
            "xmlns": NAMESPACE,  # the default namespace: every element is in it
            "name": clean(title or about.get("title") or name),
            "origin": f"meshkg {__version__}",
            "creatingUserGUID": user,
        },
    )
    _el(_el(root, "Users"), "User", guid=user, name="meshkg", id="meshkg")

    codebook = _el(_el(root, "CodeBook"), "Codes")
    by_kind: dict[str, list[_Code]] = defaultdict(list)
    for code in codes:
        by_kind[code.kind].append(code)
    for kind, parent_name in KINDS:
        parent = _el(codebook, "Code", guid=guid(graph, kind), name=parent_name, isCodable="false")
        _el(parent, "Description", f"The {parent_name.lower()} of {name}: {kind}")
        for code in by_kind[kind]:
            element = _el(parent, "Code", guid=guid(code.iri), name=code.label, isCodable="true")
            lines = [code.ident, code.iri]
            if code.aside:
                lines.append("set aside: every statement of it sits in a ''' string")
            _el(element, "Description", "\n".join(lines))

    # codings in the codebook's order
    rank = {code.iri: (_RANK[code.kind], n) for n, code in enumerate(codes)}
    texts: list[tuple[str, str]] = []
    notes: list[tuple[str, _Memo]] = []
    # the schema's <Sources> holds one source at least: without sources there is none
    sources_element = _el(root, "Sources") if sources else root
    for source in sources:
        source_guid = guid(source.iri)
        file_name = f"{source_guid}.txt"
        element = _el(
            sources_element,
            "TextSource",
            guid=source_guid,
            name=f"{source.ident} — {source.title}" if source.title else source.ident,
            plainTextPath=f"internal://{file_name}",
            creatingUser=user,
        )
        _el(element, "Description", "\n".join(filter(None, (source.url, source.iri))))
        parts: list[str] = []
        position = 0
        for quote in quotes.get(source.iri, []):
            text = clean(quote.text)
            start, end = position, position + len(text)
            parts.append(text + "\n\n")
            position = end + 2
            by_code = sorted(
                (c for c in coded.get(quote.iri, ()) if c in rank), key=lambda c: rank[c]
            )
            if quote.label or not by_code:
                continue
            selection = _el(
                element,
                "PlainTextSelection",
                guid=guid(quote.iri),
                startPosition=str(start),
                endPosition=str(end),
                creatingUser=user,
            )
            if quote.speaker:
                _el(selection, "Description", f"Speaker: {quote.speaker}")
            for code_iri in by_code:
                coding = _el(selection, "Coding", guid=guid(quote.iri, code_iri), creatingUser=user)
                _el(coding, "CodeRef", targetGUID=guid(code_iri))
        for memo in memos.get(source.iri, []):
            _el(element, "NoteRef", targetGUID=guid(memo.iri))
            notes.append((source.ident, memo))
        texts.append((f"{SOURCES_FOLDER}/{file_name}", "".join(parts)))

    if notes:
        notes_element = _el(root, "Notes")
        for ident, memo in notes:
            note = _el(
                notes_element,
                "Note",
                guid=guid(memo.iri),
                name=f"Memo on {ident}, line {memo.line}",
                creatingUser=user,
            )
            _el(note, "PlainTextContent", memo.text)
    description = about.get("description")
    _el(root, "Description", "\n".join(filter(None, (description, graph))))
    return root, texts


def _archive(files: list[tuple[str, bytes]]) -> bytes:
    """A ZIP whose bytes depend on the files only (fixed times and modes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files:
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # the mode below is a Unix one
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def qdpx(reader: GraphReader, graph: str, name: str, title: str | None = None) -> bytes:
    """The ``.qdpx`` file of the collection ``name`` whose named graph is ``graph``; the
    project is named ``title`` (default: the collection's title, else ``name``)."""
    root, texts = _project(reader, graph, name, title)
    files = [(PROJECT_FILE, _serialise(root))]
    files += [(path, text.encode("utf-8")) for path, text in texts]
    return _archive(files)


def write_qdpx(
    reader: GraphReader, graph: str, name: str, folder: Path, title: str | None = None
) -> Path:
    """Write ``folder/<name>.qdpx`` (see :func:`qdpx`); the path written."""
    path = folder / f"{name}.qdpx"
    data = qdpx(reader, graph, name, title)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
