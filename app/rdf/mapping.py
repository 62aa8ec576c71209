"""A collection to triples under the meshkg ontology; one function per model type.

Provenance, at the lowest cost in triples that keeps every line:

* what is read from one place (a source, a record, a quote, a definition, a coding block) has
  ``mk:line`` itself, and its file through ``mk:seedFile`` (or the source it is part of);
* a fact several notes may state (an impact, an option, a dependency) points to each statement's
  line with ``prov:atLocation`` (a ``mk:SeedLocation``, ``{file}#L{n}``);
* codes and facts point to the coding blocks (``mk:codedIn``) they were written in, and a block
  points to the quotes before it (``mk:evidenceQuote``): the passages that were being coded.

Values shown on a source are the trace's where present, else the header's (see
:meth:`app.model.Source.preferred`); both records stay attached, so disagreements stay visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SKOS

from app.iris import Minter
from app.model import (
    Code,
    Collection,
    Dependency,
    ForceRelation,
    GuidanceLink,
    Loc,
    Note,
    OptionLink,
    Source,
    SourceRecord,
    Stated,
)
from app.rdf.model_mapping import defines_code, model_triples
from app.rdf.records import RECORD_FLAGS, RECORD_TEXT, IriCheck, Triple, shown_values
from app.vocab import (
    CONTEXT_CONCEPT,
    DEPENDENCY_CONCEPT,
    IMPACT_CONCEPT,
    KIND_CLASS,
    MK,
    NEXT_CONCEPT,
    OA,
    SCHEMA,
    uri,
)


def collection_triples(coll: Collection, base: str, holds: IriCheck) -> Iterator[Triple]:
    """All triples of one collection (its named graph), each once."""
    seen: set[Triple] = set()
    for triple in _Mapper(coll, base, holds).triples():
        if triple not in seen:
            seen.add(triple)
            yield triple


STATEMENT_VIAS = frozenset(
    {"force-relation", "option-link", "dependency", "next-link", "context-link"}
)
"""How a statement names a code (``Reference.via``): its source is statement evidence."""


class _Mapper:
    def __init__(self, coll: Collection, base: str, holds: IriCheck) -> None:
        self.coll = coll
        self.holds = holds
        self.m = Minter(base, coll.name, uri)
        self.notes = {n.file: n for n in coll.notes}
        self.names = {n.file: n.name for n in coll.notes}  # file as shown -> name in IRIs
        if coll.model is not None:
            self.names.update((f.file, f.name) for f in coll.model.files)
        self.locations: set[URIRef] = set()

    def triples(self) -> Iterator[Triple]:
        yield from self.collection()
        for note, src in self.coll.sources:
            yield from self.note(note, src)
        for code in self.coll.codes.values():
            yield from self.code(code)
        for key, stated in self.coll.impacts.items():
            yield from self.impact(key, stated)
        for okey, ostated in self.coll.options.items():
            yield from self.option(okey, ostated)
        for dkey, dstated in self.coll.dependencies.items():
            yield from self.dependency(dkey, dstated)
        for lkey, lstated in self.coll.links.items():
            yield from self.guidance_link(lkey, lstated)
        yield from model_triples(self.coll, self.m, self.at, self.holds)
        yield from self.matches()

    def matches(self) -> Iterator[Triple]:
        """Codes curation declares the same as (or close to) a code of another study."""
        curation = self.coll.curation
        if curation is None:
            return
        for code, kind, other, ident, _line in curation.matches:
            if code in self.coll.codes:
                there = Minter(self.m.base, other, uri).code(ident)
                yield (
                    self.m.code(code),
                    SKOS.exactMatch if kind == "exact" else SKOS.closeMatch,
                    there,
                )

    # --- shared pieces ---------------------------------------------------------------------

    def loc(self, at: Loc) -> Iterator[Triple]:
        """The triples of a statement's location, once per location."""
        name = self.names[at.file]
        iri = self.m.location(name, at.line)
        if iri not in self.locations:
            self.locations.add(iri)
            yield iri, RDF.type, MK.SeedLocation
            yield iri, MK.seedFile, self.m.file(name)
            yield iri, MK.line, Literal(at.line)

    def at(self, subject: URIRef, at: Loc) -> Iterator[Triple]:
        yield from self.loc(at)
        yield subject, PROV.atLocation, self.m.location(self.names[at.file], at.line)

    def coded_in(self, subject: URIRef, sid: str, block: int) -> Iterator[Triple]:
        """The source and the coding block a statement was written in; the block is a Web
        Annotation whose bodies are what it codes and whose targets are its quotes."""
        b = self.m.block(sid, block)
        yield subject, MK.evidenceSource, self.m.source(sid)
        yield subject, MK.codedIn, b
        yield b, OA.hasBody, subject

    # --- collection, notes, sources ----------------------------------------------------------

    def collection(self) -> Iterator[Triple]:
        c, m = self.coll, self.m
        yield m.collection, RDF.type, MK.Collection
        yield m.collection, DCTERMS.identifier, Literal(c.name)
        yield m.collection, DCTERMS.title, Literal(c.title or c.name)
        if c.description:
            yield m.collection, DCTERMS.description, Literal(c.description)
        yield m.collection, MK.codebook, m.codebook
        yield m.codebook, RDF.type, MK.Codebook
        yield m.codebook, SKOS.prefLabel, Literal(f"Codebook of {c.title or c.name}")
        yield m.codebook, DCTERMS.isPartOf, m.collection

    def note(self, note: Note, src: Source) -> Iterator[Triple]:
        m = self.m
        file = m.file(note.name)
        yield file, RDF.type, MK.SeedFile
        yield file, MK.path, Literal(f"{self.coll.name}/{note.name}")
        yield file, DCTERMS.isPartOf, m.collection
        yield file, MK.lineCount, Literal(note.line_count)
        yield from self.source(note, src)
        s = m.source(src.id)
        for q in note.quotes:
            qi = m.quote(src.id, q.position)
            yield qi, RDF.type, MK.Quote
            yield qi, SCHEMA.text, Literal(q.text)
            yield qi, DCTERMS.isPartOf, s
            yield qi, MK.line, Literal(q.line)
            if q.end_line != q.line:
                yield qi, MK.endLine, Literal(q.end_line)
            if q.speaker is not None:
                yield qi, MK.speaker, Literal(q.speaker)
            if q.label_only:
                yield qi, MK.speakerLabel, Literal(True)
        yield from self.memos(note, src)
        for b in note.blocks:
            bi = m.block(src.id, b.index)
            yield bi, RDF.type, MK.TraceBlock if b.kind == "trace" else MK.OpenCodingSection
            yield bi, DCTERMS.isPartOf, s
            yield bi, MK.line, Literal(b.line)
            yield bi, MK.endLine, Literal(b.end_line)
            yield bi, OA.motivatedBy, OA.classifying
            for position in b.evidence:
                yield bi, MK.evidenceQuote, m.quote(src.id, position)

    def memos(self, note: Note, src: Source) -> Iterator[Triple]:
        """The analyst's open codes, as memos: Web Annotations commenting on the source, with
        the section they were written in and the codes they name."""
        m, s = self.m, self.m.source(src.id)
        sections = [b for b in note.blocks if b.kind == "open"]
        named: dict[int, list[str]] = {}
        for ref in note.references:
            code = self.coll.codes.get(ref.ident)
            if ref.via == "open-code" and code is not None and (code.resolved or not ref.weak):
                named.setdefault(ref.at.line, []).append(ref.ident)
        for position, memo in enumerate(note.open_codes, start=1):
            mi = m.memo(src.id, position)
            yield mi, RDF.type, MK.Memo
            yield mi, OA.motivatedBy, OA.commenting
            yield mi, OA.bodyValue, Literal(memo.text)
            yield mi, OA.hasTarget, s
            yield mi, DCTERMS.isPartOf, s
            yield mi, MK.line, Literal(memo.line)
            for b in sections:
                if b.line <= memo.line <= b.end_line:
                    yield mi, MK.memoSection, m.block(src.id, b.index)
            for ident in named.get(memo.line, ()):
                yield mi, MK.mentions, m.code(ident)

    def source(self, note: Note, src: Source) -> Iterator[Triple]:
        m = self.m
        s = m.source(src.id)
        yield s, RDF.type, MK.Source
        if src.prefix == "p" or src.preferred("source type") == "Interview":
            yield s, RDF.type, MK.Interview
        yield s, DCTERMS.identifier, Literal(src.id)
        yield s, DCTERMS.isPartOf, m.collection
        yield s, MK.seedFile, m.file(note.name)
        yield (
            s,
            MK.line,
            Literal(src.header.line if src.header else (src.trace.line if src.trace else 1)),
        )
        yield from shown_values(s, src.preferred, self.holds)
        yield from self.choices(src)
        for record, iri, link, cls in (
            (src.header, m.header_record(src.id), MK.headerRecord, MK.HeaderRecord),
            (src.trace, m.trace_record(src.id), MK.traceRecord, MK.TraceRecord),
        ):
            if record is not None:
                yield s, link, iri
                yield iri, RDF.type, cls
                yield iri, MK.seedFile, m.file(note.name)
                yield from self.record(record, iri)

    def choices(self, src: Source) -> Iterator[Triple]:
        """Where the header and the trace give different values, which one is shown and why."""
        m = self.m
        records = {"header": src.header, "trace": src.trace}
        links = {"header": m.header_record(src.id), "trace": m.trace_record(src.id)}
        for key in (*RECORD_TEXT, *RECORD_FLAGS):
            given = {
                fv.value
                for r in records.values()
                if r is not None
                and (fv := r.fields.get(key)) is not None
                and fv.value not in (None, "")
            }
            chosen = src.choice(key) if len(given) > 1 else None
            if chosen is None:
                continue
            c = m.shown(src.id, key)
            yield m.source(src.id), MK.valueChoice, c
            yield c, RDF.type, MK.ValueChoice
            yield c, MK.field, Literal(key)
            yield c, MK.chosenRecord, links[chosen.record]
            yield c, MK.reason, Literal(chosen.reason)

    def record(self, record: SourceRecord, iri: URIRef) -> Iterator[Triple]:
        if record.ident:
            yield iri, DCTERMS.identifier, Literal(record.ident)
        if record.variable:
            yield iri, MK.variable, Literal(record.variable)
        yield iri, MK.line, Literal(record.line)
        for key, fv in record.fields.items():
            if fv.value is None:
                continue
            prop = RECORD_TEXT.get(key) or RECORD_FLAGS[key]
            yield iri, prop, Literal(fv.value)

    # --- codes ---------------------------------------------------------------------------

    def code(self, code: Code) -> Iterator[Triple]:
        m = self.m
        c = m.code(code.ident)
        yield c, DCTERMS.identifier, Literal(code.ident)
        yield c, SKOS.inScheme, m.codebook
        if code.kind is not None:
            yield c, RDF.type, KIND_CLASS[code.kind]
        elif not defines_code(self.coll.model, code.ident):  # else the model's layer types it
            yield c, RDF.type, MK.UnresolvedCode
        if code.label is not None:
            yield c, SKOS.prefLabel, Literal(code.label)
        for label in code.labels:
            if label != code.label:
                yield c, SKOS.altLabel, Literal(label)
        if code.set_aside:
            yield c, MK.setAside, Literal(True)
        if code.suggestion:
            yield c, MK.closestDefined, m.code(code.suggestion)
        if code.spellings:  # curation merged typo twins: every spelling is a notation
            for spelling in (code.ident, *code.spellings):
                yield c, SKOS.notation, Literal(spelling)
        for sid, d in code.definitions:
            di = m.definition(code.ident, self.notes[d.at.file].name, d.at.line)
            yield c, MK.definition, di
            yield di, RDF.type, MK.CodeDefinition
            yield di, MK.label, Literal(d.label)
            yield di, MK.declaredKind, KIND_CLASS[d.kind]
            yield di, MK.inString, Literal(d.in_string)
            yield di, MK.inSource, m.source(sid)
            if d.raw_ident is not None:
                yield di, MK.identifierAsWritten, Literal(d.raw_ident)
            if d.raw_label is not None:
                yield di, MK.labelAsWritten, Literal(d.raw_label)
            yield di, MK.line, Literal(d.at.line)
            yield from self.coded_in(c, sid, d.block)
        for sid, r in code.references:
            yield from self.coded_in(c, sid, r.block)
            if r.via in STATEMENT_VIAS:  # evidence because the source states a fact naming it
                yield c, MK.statementSource, self.m.source(sid)

    # --- facts -----------------------------------------------------------------------------

    def statements(self, iri: URIRef, stated: Stated[Any]) -> Iterator[Triple]:
        yield iri, MK.layer, MK.NotesLayer
        for sid, st in stated.statements:
            yield from self.at(iri, st.at)
            yield from self.coded_in(iri, sid, st.block)
        if stated.set_aside:
            yield iri, MK.setAside, Literal(True)

    def impact(self, key: tuple[str, str, str], stated: Stated[ForceRelation]) -> Iterator[Triple]:
        solution, force, level = key
        i = self.m.impact(solution, force, level)
        yield i, RDF.type, MK.ForceImpact
        yield i, MK.solution, self.m.code(solution)
        yield i, MK.force, self.m.code(force)
        impact = stated.fact.impact
        if impact is not None:
            yield i, MK.impactLevel, IMPACT_CONCEPT[impact]
        else:
            yield i, MK.impactAsWritten, Literal(stated.fact.raw_impact)
        yield from self.statements(i, stated)

    def option(self, key: tuple[str, str, str], stated: Stated[OptionLink]) -> Iterator[Triple]:
        decision, option, name = key
        o = self.m.option(decision, option, name)
        yield o, RDF.type, MK.DecisionOption
        yield o, MK.decision, self.m.code(decision)
        yield o, MK.option, self.m.code(option)
        if name:
            yield o, MK.optionName, Literal(name)
        yield from self.statements(o, stated)

    def dependency(self, key: tuple[str, str, str], stated: Stated[Dependency]) -> Iterator[Triple]:
        solution, kind, required = key[0], key[2], key[1]
        d = self.m.dependency(solution, kind, required)
        yield d, RDF.type, MK.Dependency
        yield d, MK.dependentSolution, self.m.code(solution)
        yield d, MK.requiredSolution, self.m.code(required)
        concept = DEPENDENCY_CONCEPT.get(kind)
        if concept is not None:
            yield d, MK.dependencyKind, concept
        else:
            yield d, MK.dependencyKindAsWritten, Literal(kind)
        if stated.fact.role:
            yield d, MK.roleName, Literal(stated.fact.role)
        if stated.fact.how:
            yield d, MK.how, Literal(stated.fact.how)
        yield from self.statements(d, stated)

    def guidance_link(
        self, key: tuple[str, str, str, str], stated: Stated[GuidanceLink]
    ) -> Iterator[Triple]:
        """An "is next" or "has context" link the notes state (the same node as the model's)."""
        kind, source, target, stereotype = key
        m = self.m
        if kind == "next":
            n = m.next_link(source, stereotype, target)
            yield n, RDF.type, MK.NextDecisionLink
            yield n, MK.priorSolution, m.code(source)
            yield n, MK.nextDecision, m.code(target)
            yield n, MK.nextKind, NEXT_CONCEPT.get(stereotype, MK.NextDecision)
        else:
            n = m.context_link(source, stereotype, target)
            yield n, RDF.type, MK.ContextLink
            yield n, MK.contextOf, m.code(source)
            yield n, MK.domainClass, m.code(target)
            concept = CONTEXT_CONCEPT.get(stereotype)
            if concept is not None:
                yield n, MK.contextKind, concept
        yield from self.statements(n, stated)
