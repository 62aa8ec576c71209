"""Notes of one study to a resolved collection: codebook, facts and cross-note findings.

A note alone cannot tell whether ``ci_cd_proces`` is a code: only the whole collection can. Here
identifiers resolve against every definition of the collection, unresolved references become
unresolved codes (kept, never dropped, and reported with the closest defined identifier), and the
findings that need several notes are made: one label on two codes, one code with two labels,
one identifier with two kinds, one source id in two files.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from pathlib import PurePath
from typing import TypeVar

from rapidfuzz import fuzz
from rapidfuzz.process import extractOne

from app.model import (
    Code,
    CodeKind,
    Collection,
    Curation,
    Definition,
    Diagnostic,
    Loc,
    Note,
    OptionLink,
    Reference,
    Severity,
    Source,
    Stated,
    Statement,
)

T = TypeVar("T")


def note_order(note: Note) -> tuple[object, ...]:
    """Natural order of file names (s_2 before s_10), then the path."""
    parts = re.split(r"(\d+)", note.name)
    return (*((0, int(p)) if p.isdigit() else (1, p) for p in parts), note.file)


def resolve(
    name: str,
    notes: list[Note],
    *,
    title: str | None = None,
    description: str | None = None,
    curation: Curation | None = None,
) -> Collection:
    """Build the collection; pure: same notes (and curation) in, same collection out."""
    coll = Collection(name=name, title=title, description=description, curation=curation)
    coll.notes = sorted(notes, key=note_order)
    if curation is not None:
        for note in coll.notes:
            _alias(note, {k: v for k, (v, _) in curation.aliases.items()})
    _unique_source_ids(coll)
    sources = [(note, src) for note, src in coll.sources]
    _define_codes(coll, sources)
    _resolve_references(coll, sources)
    _collect_facts(coll, sources)
    _report_unresolved(coll)
    _report_label_clashes(coll)
    _report_copied_values(coll, sources)
    _doubt_copied_titles(coll)
    _report_option_names(coll)
    _report_forces_meant_as_practices(coll)
    if curation is not None:
        _curate(coll, curation)
    return coll


def _alias(note: Note, aliases: dict[str, str]) -> None:
    """Every spelling curation merges, written as the code it stands for (kept as written)."""
    if not aliases:
        return

    def a(ident: str) -> str:
        return aliases.get(ident, ident)

    note.definitions = [
        dataclasses.replace(d, ident=a(d.ident), raw_ident=d.raw_ident or d.ident)
        if d.ident in aliases
        else d
        for d in note.definitions
    ]
    note.references = [
        dataclasses.replace(r, ident=a(r.ident), raw=r.raw or r.ident) if r.ident in aliases else r
        for r in note.references
    ]
    note.relations = [
        dataclasses.replace(x, solution=a(x.solution), force=a(x.force)) for x in note.relations
    ]
    note.options = [
        dataclasses.replace(x, decision=a(x.decision), option=a(x.option)) for x in note.options
    ]
    note.dependencies = [
        dataclasses.replace(x, source=a(x.source), target=a(x.target)) for x in note.dependencies
    ]
    note.links = [
        dataclasses.replace(x, source=a(x.source), target=a(x.target)) for x in note.links
    ]


def _curate(coll: Collection, curation: Curation) -> None:
    """Check each entry against the study; apply the picks; note the merged spellings."""

    def find(line: int, message: str) -> None:
        curation.diagnostics.append(
            Diagnostic(Severity.WARNING, "curation-unused", curation.file, line, message)
        )

    for spelling, (code, line) in curation.aliases.items():
        if code not in coll.codes:
            find(line, f"{spelling} is an alias of {code}, which no note of {coll.name} names")
        else:
            coll.codes[code].spellings.append(spelling)
    by_id = {src.id: note for note, src in coll.sources}
    picked: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
    for (sid, key), (record, line) in curation.picks.items():
        if sid not in by_id:
            find(line, f"sources.{sid}: no source {sid} in {coll.name}")
        else:
            picked[sid].append((key, record, curation.file, line))
    for sid, picks in picked.items():
        note = by_id[sid]
        assert note.source is not None
        note.source = dataclasses.replace(note.source, picks=tuple(picks))
    for code, _kind, _other, _ident, line in curation.matches:
        if code not in coll.codes:
            find(line, f"matches.{code}: no code {code} in {coll.name}")


def _unique_source_ids(coll: Collection) -> None:
    seen: dict[str, Note] = {}
    for note in coll.notes:
        src = note.source
        if src is None or note.is_template:
            continue
        first = seen.get(src.id)
        if first is None:
            seen[src.id] = note
            continue
        stem = note.name.rsplit(".", 1)[0]
        new_id = f"{src.id}-{stem}"
        coll.diagnostics.append(
            Diagnostic(
                Severity.ERROR,
                "duplicate-source-id",
                note.file,
                src.header.line if src.header else 1,
                f"source {src.id} is already read from {first.file}; this note is kept as {new_id}",
            )
        )
        note.source = dataclasses.replace(src, id=new_id)
        seen[new_id] = note


def _define_codes(coll: Collection, sources: list[tuple[Note, Source]]) -> None:
    by_ident: dict[str, list[tuple[str, Definition]]] = defaultdict(list)
    for note, src in sources:
        for d in note.definitions:
            by_ident[d.ident].append((src.id, d))
    for ident, defs in by_ident.items():
        kinds = Counter(d.kind for _, d in defs)
        kind = _most_common(kinds, [d.kind for _, d in defs])
        if len(kinds) > 1:
            first = next(d for _, d in defs if d.kind != kind)
            coll.diagnostics.append(
                _at(
                    Severity.WARNING,
                    "kind-conflict",
                    first.at,
                    f"{ident} is defined as {', '.join(sorted(k.value for k in kinds))}; "
                    f"read as {kind.value}",
                )
            )
        labels_in_order = [d.label for _, d in defs]
        label = _most_common(Counter(labels_in_order), labels_in_order)
        coll.codes[ident] = Code(
            ident=ident,
            kind=kind,
            label=label,
            labels=list(dict.fromkeys(labels_in_order)),
            definitions=defs,
        )


def _most_common(counts: Counter[T], order: list[T]) -> T:
    best = max(counts.values())
    return next(x for x in order if counts[x] == best)


def _resolve_references(coll: Collection, sources: list[tuple[Note, Source]]) -> None:
    for note, src in sources:
        sid = src.id
        for ref in note.references:
            if ref.weak and ref.ident not in coll.codes:
                continue
            _code(coll, ref.ident).references.append((sid, ref))
        for rel in note.relations:
            for ident in (rel.solution, rel.force):
                _mention(coll, ident, sid, rel, "force-relation")
        for opt in note.options:
            for ident in (opt.decision, opt.option):
                _mention(coll, ident, sid, opt, "option-link")
        for dep in note.dependencies:
            for ident in (dep.source, dep.target):
                _mention(coll, ident, sid, dep, "dependency")
        for link in note.links:
            for ident in (link.source, link.target):
                _mention(coll, ident, sid, link, f"{link.kind}-link")


def _code(coll: Collection, ident: str) -> Code:
    code = coll.codes.get(ident)
    if code is None:
        code = coll.codes[ident] = Code(ident=ident, kind=None, label=None)
    return code


def _mention(coll: Collection, ident: str, sid: str, fact: Statement, via: str) -> None:
    """A statement names codes: the source stating it is evidence of each of them (and an
    undefined one becomes an unresolved code)."""
    code = _code(coll, ident)
    ref = Reference(ident, fact.at, fact.block, via, in_string=fact.in_string)
    code.references.append((sid, ref))


def _collect_facts(coll: Collection, sources: list[tuple[Note, Source]]) -> None:
    for note, src in sources:
        sid = src.id
        for rel in note.relations:
            level = rel.impact.value if rel.impact else rel.raw_impact
            key = (rel.solution, rel.force, level)
            coll.impacts.setdefault(key, Stated(rel)).statements.append((sid, rel))
        for opt in note.options:
            okey = (opt.decision, opt.option, opt.name)
            coll.options.setdefault(okey, Stated(opt)).statements.append((sid, opt))
        for dep in note.dependencies:
            dkey = (dep.source, dep.target, dep.stereotype)
            coll.dependencies.setdefault(dkey, Stated(dep)).statements.append((sid, dep))
        for link in note.links:
            lkey = (link.kind, link.source, link.target, link.stereotype)
            coll.links.setdefault(lkey, Stated(link)).statements.append((sid, link))


def _doubt_copied_titles(coll: Collection) -> None:
    """A record's title that is another source's title, where the source's other record gives
    a title of its own, is doubted: the source shows the other one (p5's trace repeating p4's
    title while its header names its own expert)."""
    titles: dict[str, set[str]] = defaultdict(set)  # title -> sources whose records give it
    for _, src in coll.sources:
        for record in (src.header, src.trace):
            fv = record.fields.get("title") if record is not None else None
            if fv is not None and isinstance(fv.value, str) and fv.value:
                titles[fv.value].add(src.id)
    for note, src in coll.sources:
        given = {
            record.kind: fv.value
            for record in (src.header, src.trace)
            if record is not None
            and (fv := record.fields.get("title")) is not None
            and isinstance(fv.value, str)
            and fv.value
        }
        doubts = []
        for kind, value in given.items():
            others = sorted(titles[value] - {src.id})
            own = [v for k, v in given.items() if k != kind and titles[v] == {src.id}]
            if others and own:
                doubts.append(("title", kind, f"is also the title of {', '.join(others)}"))
        if doubts:
            note.source = dataclasses.replace(src, doubts=tuple(doubts))


def _report_option_names(coll: Collection) -> None:
    """One option linked to a decision under two names, and one name given to two options of
    a decision: slips that make two options out of one, or one out of two."""
    names: dict[tuple[str, str], dict[str, OptionLink]] = defaultdict(dict)
    options: dict[tuple[str, str], dict[str, OptionLink]] = defaultdict(dict)
    for (decision, option, name), stated in coll.options.items():
        first = min((st for _, st in stated.statements), key=lambda st: (st.at.file, st.at.line))
        names[(decision, option)].setdefault(name, first)
        if name:
            options[(decision, name)].setdefault(option, first)
    for (decision, option), by_name in names.items():
        if len(by_name) > 1:
            (_, a), (_, b) = sorted(by_name.items(), key=lambda kv: (kv[1].at.file, kv[1].at.line))[
                :2
            ]
            coll.diagnostics.append(
                _at(
                    Severity.WARNING,
                    "option-names-differ",
                    b.at,
                    f"{decision} → {option} is an option under two names: {a.name!r} "
                    f"({a.at.file}:{a.at.line}) and {b.name!r}",
                )
            )
    for (decision, name), by_option in options.items():
        if len(by_option) > 1:
            (_, a), (_, b) = sorted(
                by_option.items(), key=lambda kv: (kv[1].at.file, kv[1].at.line)
            )[:2]
            coll.diagnostics.append(
                _at(
                    Severity.WARNING,
                    "option-name-shared",
                    b.at,
                    f"two options of {decision} share the name {name!r}: {a.option} "
                    f"({a.at.file}:{a.at.line}) and {b.option}",
                )
            )


def _report_unresolved(coll: Collection) -> None:
    unresolved = [i for i, c in coll.codes.items() if not c.resolved and c.references]
    close = _closest(unresolved, sorted(i for i, c in coll.codes.items() if c.resolved))
    for ident in unresolved:
        code = coll.codes[ident]
        code.suggestion = close.get(ident)
        first = code.references[0][1]
        hint = f"; did you mean {code.suggestion}?" if code.suggestion else ""
        uses = len(code.references)
        coll.diagnostics.append(
            _at(
                Severity.WARNING,
                "undefined-reference",
                first.at,
                f"{ident} is used {uses} time(s) but defined in no note of {coll.name}{hint}",
            )
        )


def _report_forces_meant_as_practices(coll: Collection) -> None:
    """A code list naming a force nothing impacts, where a solution extends its identifier.

    ``access_control`` listed among a source's practices resolves to the force "Access
    controls" while the practice ``access_control_management`` exists: the coder meant the
    practice. Forces that some statement impacts are left alone, since listing the forces a
    source discusses is common and deliberate.
    """
    impacted = {force for _, force, _ in coll.impacts}
    solutions = sorted(
        ident
        for ident, code in coll.codes.items()
        if code.kind in (CodeKind.PRACTICE, CodeKind.PATTERN)
    )
    for note in coll.notes:
        for ref in note.references:
            code = coll.codes.get(ref.ident)
            if ref.via != "trace" or code is None or code.kind is not CodeKind.FORCE:
                continue
            if ref.ident in impacted:
                continue
            longer = [s for s in solutions if s.startswith(ref.ident + "_")]
            if not longer:
                continue
            where = code.definitions[0][1].at if code.definitions else None
            defined = f" (defined at {PurePath(where.file).name}:{where.line})" if where else ""
            coll.diagnostics.append(
                _at(
                    Severity.WARNING,
                    "force-for-practice",
                    ref.at,
                    f"{ref.ident} is the force {code.label!r}{defined}, which no statement "
                    f"impacts; the solution {' or '.join(longer)} may be meant",
                )
            )


def _closest(queries: list[str], defined: list[str], cutoff: float = 85) -> dict[str, str]:
    """The defined identifier most like each query (a typo's target), if alike enough.

    Similarity is the normalised Indel ratio (what ``difflib`` approximates), computed by
    rapidfuzz, which rejects most candidates by length before comparing: thousands of
    unresolved codes against tens of thousands of defined ones take seconds, not minutes.
    Ties go to the first identifier in sorted order.
    """
    found = {}
    for query in queries:
        best = extractOne(query, defined, scorer=fuzz.ratio, score_cutoff=cutoff)
        if best is not None:
            found[query] = best[0]
    return found


def _report_label_clashes(coll: Collection) -> None:
    by_label: dict[tuple[CodeKind, str], list[Code]] = defaultdict(list)
    for code in coll.codes.values():
        if code.kind is None:
            continue
        for label in code.labels:
            by_label[(code.kind, label)].append(code)
        if len(code.labels) > 1:
            other = next(d for _, d in code.definitions if d.label != code.label)
            coll.diagnostics.append(
                _at(
                    Severity.WARNING,
                    "label-conflict",
                    other.at,
                    f"{code.ident} has {len(code.labels)} labels: "
                    + ", ".join(repr(x) for x in code.labels),
                )
            )
    for (kind, label), codes in by_label.items():
        if len(codes) < 2:
            continue
        later = codes[1]
        at = next(d.at for _, d in later.definitions if d.label == label)
        coll.diagnostics.append(
            _at(
                Severity.WARNING,
                "duplicate-label",
                at,
                f"{kind.value}s {', '.join(c.ident for c in codes)} share the label {label!r}",
            )
        )


def _at(severity: Severity, code: str, at: Loc, message: str) -> Diagnostic:
    return Diagnostic(severity, code, at.file, at.line, message)


def _report_copied_values(coll: Collection, sources: list[tuple[Note, Source]]) -> None:
    """A url or title written in two notes is usually copied from a neighbour.

    Interviews are left out: their records all point at the study's own folder by design.
    """
    seen: dict[tuple[str, str, str], list[tuple[str, Loc]]] = defaultdict(list)
    for note, src in sources:
        if src.prefix == "p":
            continue
        for record in (src.header, src.trace):
            if record is None:
                continue
            for key in ("url", "title"):
                fv = record.fields.get(key)
                if fv is not None and isinstance(fv.value, str) and fv.value:
                    seen[(record.kind, key, fv.value)].append((src.id, Loc(note.file, fv.line)))
    for (kind, key, value), places in seen.items():
        ids = sorted({sid for sid, _ in places})
        if len(ids) < 2:
            continue
        for sid, at in places:
            others = ", ".join(i for i in ids if i != sid)
            coll.diagnostics.append(
                _at(
                    Severity.WARNING,
                    "duplicate-value",
                    at,
                    f"the {kind} {key} {value!r} is also the {key} of {others}",
                )
            )
