"""A study's consolidated model (its second layer) to triples in the study's named graph.

The two layers share the study's resources: a code identifier is one resource whichever layer
names it, a source id one source. What each layer states is kept apart on the statement nodes:
every fact (impact, option, dependency, next decision, context, a source's listing of a code)
says which layer states it with ``mk:layer``; a fact both layers state is one node stated by
both, with each statement's location. A code defined by both keeps the notes' kind and label
(the notes are the evidence); the model's definition stays beside it as its own
``mk:CodeDefinition`` and any disagreement is a finding of the layer merge.

``mk:order`` keeps the order the model created its classes and added its links: the study's
artefacts (catalogue, tables) follow it, and they are written from the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from app.iris import Minter
from app.model import Collection, LinkKind, Loc, ModelClass, ModelLayer, ModelLink, ModelView
from app.rdf.records import RECORD_FLAGS, RECORD_TEXT, IriCheck, Triple, shown_values
from app.vocab import (
    CONTEXT_CONCEPT,
    DECISION_TYPE_CONCEPT,
    DEPENDENCY_CONCEPT,
    IMPACT_BY_NAME,
    METACLASS_CLASS,
    MK,
    NEXT_CONCEPT,
    REFERENCE_METACLASSES,
)

At = Callable[[URIRef, Loc], Iterator[Triple]]
"""Where a statement was written: the collection mapper's writer of ``prov:atLocation``."""

_VALUE_KEY = {"type": "source type"}  # the model's key for what the notes call "source type"
_CODE_VALUES = {
    "aka": MK.aka,
    "description": DCTERMS.description,
    "background reading": MK.backgroundReading,
    "recommendation": MK.recommendation,
    "reference": MK.knownUseReference,
}


def model_triples(coll: Collection, m: Minter[URIRef], at: At, holds: IriCheck) -> Iterator[Triple]:
    """The model layer of ``coll`` (nothing when it has none)."""
    layer = coll.model
    if layer is None:
        return
    yield from _Layer(coll, layer, m, at, holds).triples()


def defines_code(layer: ModelLayer | None, ident: str) -> bool:
    """The model layer defines ``ident`` as a resource of the codebook."""
    if layer is None:
        return False
    cls = layer.final.get(ident)
    return cls is not None and cls.metaclass not in REFERENCE_METACLASSES


class _Layer:
    def __init__(
        self, coll: Collection, layer: ModelLayer, m: Minter[URIRef], at: At, holds: IriCheck
    ) -> None:
        self.coll = coll
        self.layer = layer
        self.m = m
        self.at = at
        self.holds = holds
        self.names = {f.file: f.name for f in layer.files}
        self.noted_sources = {src.id for _, src in coll.sources}

    def triples(self) -> Iterator[Triple]:
        m = self.m
        for f in self.layer.files:
            file = m.file(f.name)
            yield file, RDF.type, MK.SeedFile
            yield file, RDF.type, MK.ModelFile
            yield file, MK.path, Literal(f"{self.coll.name}/{f.name}")
            yield file, DCTERMS.isPartOf, m.collection
            yield file, MK.lineCount, Literal(f.line_count)
        for cls in self.layer.classes:
            if cls.metaclass in REFERENCE_METACLASSES:
                if self.layer.final[cls.name] is cls:
                    yield from self.source(cls)
            else:
                yield from self.definition(cls)
        for link in self.layer.links:
            yield from self.link(link)
        for view in self.layer.views:
            yield from self.view(view)

    def view(self, view: ModelView) -> Iterator[Triple]:
        """A view, as the model defines it: listed classes, or a walk from one class."""
        m = self.m
        v = m.view(view.name)
        yield v, RDF.type, MK.View
        yield v, DCTERMS.identifier, Literal(view.name)
        yield v, MK.layer, MK.ModelLayer
        yield v, MK.order, Literal(view.order)
        yield from self.at(v, view.at)
        for name in view.elements:
            yield v, MK.viewElement, m.code(name)
        if view.start is not None:
            yield v, MK.viewStart, m.code(view.start)
        for name in view.stops:
            yield v, MK.viewStop, m.code(name)
        for name in view.boundaries:
            yield v, MK.viewBoundary, m.code(name)
        for kind in view.stop_kinds:
            cls = METACLASS_CLASS.get(kind)
            if cls is not None:
                yield v, MK.viewStopKind, cls

    # --- classes -------------------------------------------------------------------------

    def definition(self, cls: ModelClass) -> Iterator[Triple]:
        m = self.m
        c = m.code(cls.name)
        d = m.definition(cls.name, self.names[cls.at.file], cls.at.line)
        yield c, MK.definition, d
        yield d, RDF.type, MK.ModelDefinition
        yield d, MK.label, Literal(cls.label)
        kind = METACLASS_CLASS.get(cls.metaclass)
        if kind is not None:
            yield d, MK.declaredKind, kind
        else:
            yield d, MK.metaclassAsWritten, Literal(cls.metaclass)
        yield d, MK.layer, MK.ModelLayer
        yield d, MK.order, Literal(cls.order)
        yield d, MK.line, Literal(cls.at.line)
        yield from self.at(d, cls.at)
        if self.layer.final[cls.name] is not cls:
            return  # redefined later: the later definition gives the code its values
        code = self.coll.codes.get(cls.name)
        if code is None or code.kind is None:  # the notes do not define it: the model does
            yield c, RDF.type, kind if kind is not None else MK.Code
            yield c, DCTERMS.identifier, Literal(cls.name)
            yield c, SKOS.inScheme, m.codebook
            yield c, SKOS.prefLabel, Literal(cls.label)
        elif cls.label != code.label and cls.label not in code.labels:
            yield c, SKOS.altLabel, Literal(cls.label)
        for key, value in cls.values.items():
            prop = _CODE_VALUES.get(key)
            if prop is not None and isinstance(value, str):
                yield c, prop, Literal(value)
        for stereotype in cls.stereotypes:
            concept = DECISION_TYPE_CONCEPT.get(stereotype)
            if concept is not None:
                yield c, MK.decisionType, concept

    def source(self, cls: ModelClass) -> Iterator[Triple]:
        m = self.m
        s = m.source(cls.name)
        r = m.model_record(cls.name)
        yield s, RDF.type, MK.Source if cls.metaclass == "source" else MK.Reference
        yield s, DCTERMS.identifier, Literal(cls.name)
        yield s, DCTERMS.isPartOf, m.collection
        yield s, MK.modelRecord, r
        yield r, RDF.type, MK.ModelRecord
        yield r, DCTERMS.identifier, Literal(cls.label)
        yield r, MK.variable, Literal(cls.name)
        yield r, MK.seedFile, m.file(self.names[cls.at.file])
        yield r, MK.line, Literal(cls.at.line)
        yield r, MK.order, Literal(cls.order)
        yield r, MK.layer, MK.ModelLayer
        yield from self.at(r, cls.at)
        values = {_VALUE_KEY.get(k, k): v for k, v in cls.values.items()}
        for key, value in values.items():
            prop = RECORD_TEXT.get(key) if isinstance(value, str) else None
            if isinstance(value, bool):
                prop = RECORD_FLAGS.get(key)
            if key == "bibliographic reference" and isinstance(value, str):
                prop = MK.bibliographicReference
            if prop is not None:
                yield r, prop, Literal(value)
        if cls.name not in self.noted_sources:  # no note: the model's values are shown
            shown = {k: v for k, v in values.items() if isinstance(v, (str, bool))}
            yield from shown_values(s, shown.get, self.holds)

    # --- links ---------------------------------------------------------------------------

    def stated(self, node: URIRef, link: ModelLink) -> Iterator[Triple]:
        yield node, MK.layer, MK.ModelLayer
        yield node, MK.order, Literal(link.order)
        yield from self.at(node, link.at)

    def link(self, link: ModelLink) -> Iterator[Triple]:
        m, kind = self.m, link.kind
        src, tgt = link.source, link.target
        if kind is LinkKind.EVIDENCE:
            node = m.evidence(src, tgt)
            yield node, RDF.type, MK.CodeEvidence
            yield node, MK.evidenceSource, m.source(src)
            yield node, MK.evidencedCode, m.code(tgt)
        elif kind is LinkKind.IMPACT:
            level = link.stereotype or ""
            node = m.impact(src, tgt, level)
            yield node, RDF.type, MK.ForceImpact
            yield node, MK.solution, m.code(src)
            yield node, MK.force, m.code(tgt)
            concept = IMPACT_BY_NAME.get(level)
            if concept is not None:
                yield node, MK.impactLevel, concept
            else:
                yield node, MK.impactAsWritten, Literal(level)
        elif kind is LinkKind.OPTION:
            node = m.option(src, tgt, link.name or "")
            yield node, RDF.type, MK.DecisionOption
            yield node, MK.decision, m.code(src)
            yield node, MK.option, m.code(tgt)
            if link.name:
                yield node, MK.optionName, Literal(link.name)
        elif kind is LinkKind.DEPENDENCY:
            stereotype = link.stereotype or "depends_on"
            node = m.dependency(src, stereotype, tgt)
            yield node, RDF.type, MK.Dependency
            yield node, MK.dependentSolution, m.code(src)
            yield node, MK.requiredSolution, m.code(tgt)
            concept = DEPENDENCY_CONCEPT.get(stereotype)
            if concept is not None:
                yield node, MK.dependencyKind, concept
            else:
                yield node, MK.dependencyKindAsWritten, Literal(stereotype)
            if link.role:
                yield node, MK.roleName, Literal(link.role)
            for key, value in link.tagged:
                if key in ("how", "role"):
                    yield node, MK.how if key == "how" else MK.role, Literal(value)
        elif kind is LinkKind.NEXT:
            stereotype = link.stereotype or "next_decision"
            node = m.next_link(src, stereotype, tgt)
            yield node, RDF.type, MK.NextDecisionLink
            yield node, MK.priorSolution, m.code(src)
            yield node, MK.nextDecision, m.code(tgt)
            yield node, MK.nextKind, NEXT_CONCEPT.get(stereotype, MK.NextDecision)
        elif kind is LinkKind.CONTEXT:
            stereotype = link.stereotype or ""
            node = m.context_link(src, stereotype, tgt)
            yield node, RDF.type, MK.ContextLink
            yield node, MK.contextOf, m.code(src)
            yield node, MK.domainClass, m.code(tgt)
            concept = CONTEXT_CONCEPT.get(stereotype)
            if concept is not None:
                yield node, MK.contextKind, concept
        else:
            yield from self.association(link)
            return
        yield from self.stated(node, link)

    def association(self, link: ModelLink) -> Iterator[Triple]:
        """Links the artefacts do not order: stated once, as plain triples."""
        m = self.m
        if link.kind is LinkKind.CATEGORY:
            target = self.layer.final[link.target]
            prop = MK.subCategory if target.metaclass == "category" else MK.ownsDecision
            yield m.code(link.source), prop, m.code(link.target)
        elif link.kind is LinkKind.KNOWN_USE:
            yield m.code(link.source), MK.usedIn, m.code(link.target)
        elif link.kind is LinkKind.REFERENCE:
            yield m.source(link.source), MK.references, m.source(link.target)
