"""A stored snapshot's API tables, kept in its folder so that a reopened service answers at once.

Why: making the tables of a stored snapshot takes about 28 s at ×100 the corpus (15 s of SPARQL
over the on-disk store, the rest Python), and the JSON API cannot answer meanwhile. A
snapshot never changes, so its tables are written beside it once (by ``meshkg build --store``
or by the first service that makes them) and read back by every later start.

Why not pickle: loading a pickle runs whatever code it names, so anyone able to write to the
snapshot folder could run code in the service. This file is data only: JSON sections (orjson)
for the rows and raw sections for the integer arrays and the folded quote text, read with
``array.frombytes``. Objects that several tables refer to (a source row from its quotes,
definitions and facts; a fact from each code in it; a block's quote array from every code
coded only in that block) are written once and referred to by index, so loaded tables share
them as built ones do and take the same memory. Sections are decoded one at a time, so loading
never holds a second copy of all rows.

A file made for another snapshot, by other code than this (see ``_maker``) or on a machine of
another byte order, or a damaged one (its sections carry a CRC-32), is not used: the tables
are made again and the file replaced. The list orders are kept too, so that no first list
request sorts.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import sys
import zlib
from array import array
from collections.abc import Callable
from dataclasses import fields
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any

import orjson

from app.read import tables
from app.read.tables import (
    CODE_KEYS,
    SOURCE_KEYS,
    CodeRow,
    Concept,
    DefinitionRow,
    Fact,
    Location,
    MemoRow,
    QuoteRow,
    Record,
    SourceRow,
    Tables,
    Words,
)
from app.store.files import atomic_write
from app.store.info import SnapshotInfo

FILE = "api-tables"
_MAGIC = b"meshkg api tables 4\n"  # 2: evidence of facts too (quoted_for by IRI); 3: memos;
# 4: the layers stating each fact
_LENGTH = struct.Struct("!Q")
# written as positional lists, read back by the same code (see _maker)
_SOURCE_FIELDS = [f.name for f in fields(SourceRow)]
_CODE_FIELDS = [f.name for f in fields(CodeRow)]
_ITEMSIZES = {code: array(code).itemsize for code in "IQ"}


def _maker() -> str:
    """What made the tables: the code that builds and writes them, by content.

    A snapshot's key names the program's version, so a release that changes how tables are
    made gets new snapshots anyway; this also catches a change between releases, where kept
    tables would otherwise be read back as if the new code had made them.
    """
    digest = hashlib.sha256()
    for module in (tables, sys.modules[__name__]):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:32]


MAKER = _maker()

log = logging.getLogger("meshkg.api")


class Unusable(ValueError):
    """The file is not tables this program can use for this snapshot."""


def save(t: Tables, folder: Path, info: SnapshotInfo) -> Path:
    """Write ``t`` into the snapshot's ``folder`` (atomically: readers see all of it or none)."""
    source_at = {s.iri: i for i, s in enumerate(t.sources)}
    code_at = {c.iri: i for i, c in enumerate(t.codes)}
    quote_at = {id(q): i for i, q in enumerate(t.quotes)}
    fact_at: dict[int, int] = {}
    facts: list[Fact] = []
    for roles in t.facts_of.values():
        for found in roles.values():
            for fact in found:
                if id(fact) not in fact_at:
                    fact_at[id(fact)] = len(facts)
                    facts.append(fact)
    shared: dict[int, int] = {}
    quoted: list[array[int]] = []
    quoted_refs = []
    for iri, found_quotes in t.quoted_for.items():
        if id(found_quotes) not in shared:
            shared[id(found_quotes)] = len(quoted)
            quoted.append(found_quotes)
        quoted_refs.append([iri, shared[id(found_quotes)]])

    writer = _Writer()
    writer.json("concepts", [[c.iri, c.scheme, c.label, c.notation] for c in t.concepts.values()])
    writer.json("sources", [[getattr(s, f) for f in _SOURCE_FIELDS] for s in t.sources])
    writer.json("codes", [[getattr(c, f) for f in _CODE_FIELDS] for c in t.codes])
    writer.json(
        "quotes",
        [[source_at[q.source], q.iri, q.position, q.text, q.line, q.end_line] for q in t.quotes],
    )
    writer.json(
        "memos", [[source_at[m.source], m.iri, m.position, m.text, m.line] for m in t.memos]
    )
    writer.json(
        "links",
        {
            "quotes_of": [
                [source_at[s], [quote_at[id(q)] for q in found]] for s, found in t.quotes_of.items()
            ],
            "codes_of": [[source_at[s], [code_at[c] for c in cs]] for s, cs in t.codes_of.items()],
            "sources_of": [
                [code_at[c], [source_at[s] for s in ss]] for c, ss in t.sources_of.items()
            ],
            "quoted_for": quoted_refs,
        },
    )
    writer.json(
        "definitions",
        [
            [code_at[c], d.iri, d.label, d.declared_kind, d.in_string, d.line, _at(source_at, d)]
            for c, found_definitions in t.definitions_of.items()
            for d in found_definitions
        ],
    )
    writer.json(
        "records",
        [
            [source_at[s], link, r.iri, r.line, r.path, r.values]
            for s, records in t.records_of.items()
            for link, r in records.items()
        ],
    )
    writer.json(
        "facts",
        [
            [
                f.iri,
                f.type,
                f.links,
                f.texts,
                [source_at[s.iri] for s in f.sources],
                [[x.iri, x.path, x.line] for x in f.locations],
                f.layers,
            ]
            for f in facts
        ],
    )
    writer.json(
        "facts_of",
        [
            [code, {role: [fact_at[id(f)] for f in found] for role, found in roles.items()}]
            for code, roles in t.facts_of.items()
        ],
    )
    for source_sort in SOURCE_KEYS:  # every list order, so no first request of a kind sorts
        by_source = (source_at[s.iri] for s in t.sources_by(source_sort))
        writer.array(f"sources by {source_sort}", array("I", by_source))
    for code_sort in CODE_KEYS:
        by_code = (code_at[c.iri] for c, _ in t.codes_by(code_sort))
        writer.array(f"codes by {code_sort}", array("I", by_code))
    writer.json("vocabulary", t.words.vocabulary)
    writer.raw("quote_text", t.quote_text)
    writer.array("quote_ends", t.quote_ends)
    writer.array("postings", _flat(t.words.postings))
    writer.array("posting_ends", array("Q", accumulate(len(p) for p in t.words.postings)))
    writer.array("quoted", _flat(quoted))
    writer.array("quoted_ends", array("Q", accumulate(len(q) for q in quoted)))
    path = folder / FILE
    atomic_write(path, *writer.parts(info.key))
    return path


def load(folder: Path, info: SnapshotInfo) -> Tables | None:
    """The tables kept in the snapshot's ``folder``; ``None`` when there are none to use."""
    path = folder / FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        log.warning("%s: cannot be read (%s); the API tables are made again", path, err)
        return None
    try:
        return _decode(_Reader(memoryview(data), info.key), info)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, struct.error) as err:
        reason = f"{err.args[0]!r} is missing" if isinstance(err, KeyError) else err
        log.warning("%s: not used (%s); the API tables are made again", path, reason)
        return None


def _at(source_at: dict[str, int], d: DefinitionRow) -> int | None:
    return None if d.source is None else source_at[d.source.iri]


def _flat(arrays: list[array[int]]) -> array[int]:
    flat = array("I")
    for found in arrays:
        flat.extend(found)
    return flat


def _split(flat: array[int], ends: array[int]) -> list[array[int]]:
    return [flat[start:end] for start, end in pairwise([0, *ends])]


class _Writer:
    """Sections in order; a header of their names, kinds and lengths comes first."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, str, bytes]] = []

    def json(self, name: str, content: object) -> None:
        self.sections.append((name, "json", orjson.dumps(content)))

    def raw(self, name: str, content: bytes) -> None:
        self.sections.append((name, "raw", content))

    def array(self, name: str, content: array[int]) -> None:
        self.sections.append((name, content.typecode, content.tobytes()))

    def parts(self, key: str) -> list[bytes]:
        crc = 0
        for _, _, body in self.sections:
            crc = zlib.crc32(body, crc)
        header = orjson.dumps(
            {
                "key": key,
                "crc32": crc,
                "maker": MAKER,
                "byteorder": sys.byteorder,
                "itemsizes": _ITEMSIZES,
                "sections": [[name, kind, len(body)] for name, kind, body in self.sections],
            }
        )
        return [_MAGIC, _LENGTH.pack(len(header)), header] + [b for _, _, b in self.sections]


class _Reader:
    """The sections of a file, each decoded when asked for."""

    def __init__(self, data: memoryview, key: str) -> None:
        if data[: len(_MAGIC)] != _MAGIC:
            raise Unusable("not an API tables file")
        at = len(_MAGIC)
        (size,) = _LENGTH.unpack_from(data, at)
        at += _LENGTH.size
        header = orjson.loads(data[at : at + size])
        at += size
        if header["key"] != key:
            raise Unusable(f"made for snapshot {header['key']}")
        if header["maker"] != MAKER:
            raise Unusable("made by other code")
        if header["byteorder"] != sys.byteorder or header["itemsizes"] != _ITEMSIZES:
            raise Unusable("made on a machine of another byte order or integer size")
        self.data = data
        self.spans: dict[str, tuple[str, int, int]] = {}
        first = at
        for name, kind, length in header["sections"]:
            self.spans[name] = (kind, at, at + length)
            at += length
        if at != len(data):
            raise Unusable(f"{len(data)} bytes where the header announces {at}")
        if zlib.crc32(data[first:]) != header["crc32"]:
            raise Unusable("damaged: its checksum does not match")

    def json(self, name: str) -> Any:
        kind, start, end = self.spans[name]
        if kind != "json":
            raise Unusable(f"section {name} is {kind}, not json")
        return orjson.loads(self.data[start:end])

    def raw(self, name: str) -> bytes:
        kind, start, end = self.spans[name]
        if kind != "raw":
            raise Unusable(f"section {name} is {kind}, not raw")
        return bytes(self.data[start:end])

    def array(self, name: str, typecode: str) -> array[int]:
        kind, start, end = self.spans[name]
        if kind != typecode:
            raise Unusable(f"section {name} is {kind}, not {typecode}")
        found = array(typecode)
        found.frombytes(self.data[start:end])
        return found


def _rows(cls: Callable[..., Any], rows: list[list[Any]]) -> list[Any]:
    return [cls(*row) for row in rows]


def _decode(r: _Reader, info: SnapshotInfo) -> Tables:
    names = {c.graph: c.name for c in info.collections}
    concepts = {c.iri: c for c in _rows(Concept, r.json("concepts"))}
    sources: list[SourceRow] = _rows(SourceRow, r.json("sources"))
    codes: list[CodeRow] = _rows(CodeRow, r.json("codes"))
    quotes = []
    for at, iri, position, text, line, end_line in r.json("quotes"):
        s = sources[at]
        quotes.append(
            QuoteRow(s.collection, iri, s.iri, s.id, position, text, line, end_line, s.path)
        )
    memos = [
        MemoRow(
            sources[at].collection,
            iri,
            sources[at].iri,
            sources[at].id,
            position,
            text,
            line,
            sources[at].path,
        )
        for at, iri, position, text, line in r.json("memos")
    ]

    links = r.json("links")
    quoted_ends = r.array("quoted_ends", "Q")
    quoted = _split(r.array("quoted", "I"), quoted_ends)
    definitions_of: dict[str, list[DefinitionRow]] = {}
    for c, iri, label, kind, in_string, line, at in r.json("definitions"):
        definition = DefinitionRow(
            iri, label, kind, in_string, line, None if at is None else sources[at]
        )
        definitions_of.setdefault(codes[c].iri, []).append(definition)
    records_of: dict[str, dict[str, Record]] = {}
    for at, link, iri, line, path, values in r.json("records"):
        records_of.setdefault(sources[at].iri, {})[link] = Record(iri, line, path, values)
    facts = [
        Fact(
            iri,
            kind,
            fact_links,
            texts,
            [sources[at] for at in fact_sources],
            [Location(*x) for x in locations],
            layers,
        )
        for iri, kind, fact_links, texts, fact_sources, locations, layers in r.json("facts")
    ]
    facts_of = {
        code: {role: [facts[i] for i in found] for role, found in roles.items()}
        for code, roles in r.json("facts_of")
    }

    words = Words(
        vocabulary=r.json("vocabulary"),
        postings=_split(r.array("postings", "I"), r.array("posting_ends", "Q")),
    )
    quote_text, quote_ends = r.raw("quote_text"), r.array("quote_ends", "Q")
    if len(quote_ends) != len(quotes) or (quote_ends and quote_ends[-1] != len(quote_text)):
        raise Unusable("the quote text does not match the quotes")
    if len(words.ends) != len(words.postings):
        raise Unusable("the word index does not match its vocabulary")
    t = Tables(
        base=info.base_iri,
        collections=names,
        sources=sources,
        codes=codes,
        quotes=quotes,
        concepts=concepts,
        quotes_of={sources[s].iri: [quotes[i] for i in found] for s, found in links["quotes_of"]},
        codes_of={sources[s].iri: [codes[i].iri for i in cs] for s, cs in links["codes_of"]},
        sources_of={codes[c].iri: [sources[i].iri for i in ss] for c, ss in links["sources_of"]},
        quoted_for={iri: quoted[k] for iri, k in links["quoted_for"]},
        definitions_of=definitions_of,
        records_of=records_of,
        facts_of=facts_of,
        quote_text=quote_text,
        quote_ends=quote_ends,
        words=words,
        memos=memos,
    )
    for source_sort in SOURCE_KEYS:
        found = r.array(f"sources by {source_sort}", "I")
        t.source_orders[source_sort] = [sources[i] for i in found]
    for code_sort in CODE_KEYS:
        t.code_orders[code_sort] = [
            (codes[i], t.code_terms[i]) for i in r.array(f"codes by {code_sort}", "I")
        ]
    return t
