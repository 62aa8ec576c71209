"""The extraction as JSON: what ``meshkg parse --json`` prints, with a published JSON Schema.

The schema is generated from these pydantic models (``meshkg parse --schema``) and kept in
``docs/extraction.schema.json``; a test fails when the two drift apart. Models mirror
:mod:`app.model` but flatten what JSON cannot say (tuple keys, enums) and name every field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.model import Collection, Corpus, Diagnostic, Note, Source, SourceRecord, Statement

SCHEMA_ID = "https://w3id.org/meshkg/extraction/1"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DiagnosticOut(_Out):
    severity: Literal["error", "warning", "info"]
    code: str = Field(description="Short stable code, e.g. unparseable-statement")
    file: str
    line: int = Field(description="1-based; 0 when the finding is about a whole file or path")
    message: str


class FieldOut(_Out):
    value: str | bool | None
    line: int


class RecordOut(_Out):
    kind: Literal["header", "trace"]
    line: int
    ident: str | None = Field(description="The source id as this record writes it")
    variable: str | None = Field(description="Trace only: the Python variable name")
    fields: dict[str, FieldOut]


class QuoteOut(_Out):
    position: int
    line: int
    end_line: int
    text: str


class OpenCodeOut(_Out):
    line: int
    text: str


class BlockOut(_Out):
    index: int
    kind: Literal["trace", "open"]
    line: int
    end_line: int
    evidence: list[int] = Field(description="Positions of the quotes this block codes")


class DefinitionOut(_Out):
    ident: str
    kind: Literal["practice", "pattern", "force", "decision"]
    label: str
    line: int
    block: int
    in_string: bool
    raw_ident: str | None
    raw_label: str | None


class ReferenceOut(_Out):
    ident: str
    line: int
    block: int
    via: str
    in_string: bool
    raw: str | None
    weak: bool = Field(description="An open-code single word: counts only if defined")


class RelationOut(_Out):
    solution: str
    force: str
    impact: str | None = Field(description="very_positive … positive_and_negative, or null")
    notation: str | None = Field(description="++ + o - -- +/-")
    raw_impact: str
    line: int
    block: int
    in_string: bool


class OptionOut(_Out):
    decision: str
    option: str
    name: str
    line: int
    block: int
    in_string: bool
    function: str


class DependencyOut(_Out):
    source: str
    target: str
    stereotype: str
    role: str | None
    how: str | None = Field(description="The dependency's how tagged value, if given")
    line: int
    block: int
    in_string: bool


class GuidanceLinkOut(_Out):
    kind: Literal["next", "context"] = Field(
        description="next: a solution to the decision to take next; context: a decision or "
        "category to a domain class"
    )
    source: str
    target: str
    stereotype: str
    line: int
    block: int
    in_string: bool


class SourceOut(_Out):
    id: str
    file: str
    witnesses: dict[str, str | None] = Field(description="file, header, variable, label")
    preferred: dict[str, str | bool | None] = Field(description="The values the graph shows")
    header: RecordOut | None
    trace: RecordOut | None
    quotes: list[QuoteOut]
    open_codes: list[OpenCodeOut]
    blocks: list[BlockOut]
    definitions: list[DefinitionOut]
    references: list[ReferenceOut]
    relations: list[RelationOut]
    options: list[OptionOut]
    dependencies: list[DependencyOut]
    links: list[GuidanceLinkOut]


class MentionOut(_Out):
    source: str
    file: str
    line: int
    via: str
    in_string: bool


class CodeOut(_Out):
    ident: str
    kind: Literal["practice", "pattern", "force", "decision"] | None = Field(
        description="null for an unresolved code (referenced, never defined)"
    )
    label: str | None
    labels: list[str]
    set_aside: bool
    suggestion: str | None = Field(description="Closest defined identifier, if unresolved")
    definitions: list[MentionOut]
    references: list[MentionOut]


class StatementOut(_Out):
    source: str
    file: str
    line: int
    in_string: bool


class ImpactOut(_Out):
    solution: str
    force: str
    impact: str
    notation: str | None
    statements: list[StatementOut]


class OptionLinkOut(_Out):
    decision: str
    option: str
    name: str
    statements: list[StatementOut]


class DependencyLinkOut(_Out):
    source: str
    target: str
    stereotype: str
    statements: list[StatementOut]


class GuidanceLinkLinkOut(_Out):
    kind: Literal["next", "context"]
    source: str
    target: str
    stereotype: str
    statements: list[StatementOut]


class CollectionOut(_Out):
    name: str
    title: str | None
    description: str | None
    files: list[str] = Field(description="Every seed file read, templates included")
    skipped: list[str] = Field(description="Files read but not sources (templates, unreadable)")
    sources: list[SourceOut]
    codes: list[CodeOut]
    impacts: list[ImpactOut]
    options: list[OptionLinkOut]
    dependencies: list[DependencyLinkOut]
    links: list[GuidanceLinkLinkOut]


class ExtractionOut(_Out):
    schema_: str = Field(SCHEMA_ID, alias="$schema")
    collections: list[CollectionOut]
    diagnostics: list[DiagnosticOut]


def json_schema() -> dict[str, object]:
    schema = ExtractionOut.model_json_schema(by_alias=True)
    schema["$id"] = SCHEMA_ID
    schema["title"] = "meshkg extraction"
    return schema


def extraction(corpus: Corpus) -> ExtractionOut:
    return ExtractionOut.model_validate(
        {
            "$schema": SCHEMA_ID,
            "collections": [_collection(c) for c in corpus.collections],
            "diagnostics": [_diagnostic(d) for d in corpus.all_diagnostics()],
        }
    )


def _diagnostic(d: Diagnostic) -> dict[str, object]:
    return {
        "severity": d.severity.value,
        "code": d.code,
        "file": d.file,
        "line": d.line,
        "message": d.message,
    }


def _record(r: SourceRecord | None) -> dict[str, object] | None:
    if r is None:
        return None
    return {
        "kind": r.kind,
        "line": r.line,
        "ident": r.ident,
        "variable": r.variable,
        "fields": {k: {"value": v.value, "line": v.line} for k, v in r.fields.items()},
    }


_KEYS = ("title", "url", "tiny url", "archive url", "source type", "author type", "example")


def _source(note: Note, src: Source) -> dict[str, object]:
    return {
        "id": src.id,
        "file": note.file,
        "witnesses": src.id_witnesses,
        "preferred": {k: src.preferred(k) for k in (*_KEYS, "source code")},
        "header": _record(src.header),
        "trace": _record(src.trace),
        "quotes": [
            {"position": q.position, "line": q.line, "end_line": q.end_line, "text": q.text}
            for q in note.quotes
        ],
        "open_codes": [{"line": o.line, "text": o.text} for o in note.open_codes],
        "blocks": [
            {
                "index": b.index,
                "kind": b.kind,
                "line": b.line,
                "end_line": b.end_line,
                "evidence": list(b.evidence),
            }
            for b in note.blocks
        ],
        "definitions": [
            {
                "ident": d.ident,
                "kind": d.kind.value,
                "label": d.label,
                "line": d.at.line,
                "block": d.block,
                "in_string": d.in_string,
                "raw_ident": d.raw_ident,
                "raw_label": d.raw_label,
            }
            for d in note.definitions
        ],
        "references": [
            {
                "ident": r.ident,
                "line": r.at.line,
                "block": r.block,
                "via": r.via,
                "in_string": r.in_string,
                "raw": r.raw,
                "weak": r.weak,
            }
            for r in note.references
        ],
        "relations": [
            {
                "solution": r.solution,
                "force": r.force,
                "impact": r.impact.value if r.impact else None,
                "notation": r.impact.notation if r.impact else None,
                "raw_impact": r.raw_impact,
                "line": r.at.line,
                "block": r.block,
                "in_string": r.in_string,
            }
            for r in note.relations
        ],
        "options": [
            {
                "decision": o.decision,
                "option": o.option,
                "name": o.name,
                "line": o.at.line,
                "block": o.block,
                "in_string": o.in_string,
                "function": o.function,
            }
            for o in note.options
        ],
        "dependencies": [
            {
                "source": d.source,
                "target": d.target,
                "stereotype": d.stereotype,
                "role": d.role,
                "how": d.how,
                "line": d.at.line,
                "block": d.block,
                "in_string": d.in_string,
            }
            for d in note.dependencies
        ],
        "links": [
            {
                "kind": link.kind,
                "source": link.source,
                "target": link.target,
                "stereotype": link.stereotype,
                "line": link.at.line,
                "block": link.block,
                "in_string": link.in_string,
            }
            for link in note.links
        ],
    }


def _statements(pairs: Sequence[tuple[str, Statement]]) -> list[dict[str, object]]:
    return [
        {"source": sid, "file": st.at.file, "line": st.at.line, "in_string": st.in_string}
        for sid, st in pairs
    ]


def _collection(c: Collection) -> dict[str, object]:
    codes = []
    for code in c.codes.values():
        codes.append(
            {
                "ident": code.ident,
                "kind": code.kind.value if code.kind else None,
                "label": code.label,
                "labels": code.labels,
                "set_aside": code.set_aside,
                "suggestion": code.suggestion,
                "definitions": [
                    {
                        "source": sid,
                        "file": d.at.file,
                        "line": d.at.line,
                        "via": "definition",
                        "in_string": d.in_string,
                    }
                    for sid, d in code.definitions
                ],
                "references": [
                    {
                        "source": sid,
                        "file": r.at.file,
                        "line": r.at.line,
                        "via": r.via,
                        "in_string": r.in_string,
                    }
                    for sid, r in code.references
                ],
            }
        )
    return {
        "name": c.name,
        "title": c.title,
        "description": c.description,
        "files": [n.file for n in c.notes],
        "skipped": [n.file for n in c.notes if n.is_template or n.source is None],
        "sources": [_source(note, src) for note, src in c.sources],
        "codes": codes,
        "impacts": [
            {
                "solution": sol,
                "force": force,
                "impact": level,
                "notation": st.fact.impact.notation if st.fact.impact else None,
                "statements": _statements(st.statements),
            }
            for (sol, force, level), st in c.impacts.items()
        ],
        "options": [
            {
                "decision": dec,
                "option": opt,
                "name": name,
                "statements": _statements(st.statements),
            }
            for (dec, opt, name), st in c.options.items()
        ],
        "dependencies": [
            {
                "source": a,
                "target": b,
                "stereotype": kind,
                "statements": _statements(st.statements),
            }
            for (a, b, kind), st in c.dependencies.items()
        ],
        "links": [
            {
                "kind": kind,
                "source": a,
                "target": b,
                "stereotype": stereotype,
                "statements": _statements(st.statements),
            }
            for (kind, a, b, stereotype), st in c.links.items()
        ],
    }
