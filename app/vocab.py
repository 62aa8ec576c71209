"""The ontology's terms as rdflib namespaces, and where the ontology and shapes files live.

Every term used in code is declared here once, as an annotated attribute of :class:`MK`: a
typo is an error for mypy and at run time, and a test checks that each declared term is
defined, labelled and commented in ``ontology/meshkg.ttl``. The terms are plain class
attributes (not rdflib's ``DefinedNamespace``, whose look-ups cost a method call each): the
mapping touches them hundreds of thousands of times per build.
"""

from __future__ import annotations

from functools import lru_cache

from rdflib import Namespace, URIRef

from app.model import CodeKind, Impact
from app.namespaces import ONTOLOGY_IRI, SHAPES_IRI

SCHEMA = Namespace("https://schema.org/")
VOID = Namespace("http://rdfs.org/ns/void#")
OA = Namespace("http://www.w3.org/ns/oa#")
MKS = Namespace(SHAPES_IRI + "#")


class MK:
    """The meshkg ontology (``ontology/meshkg.ttl``)."""

    _NS = Namespace(ONTOLOGY_IRI + "#")

    # classes
    Collection: URIRef
    Codebook: URIRef
    SeedFile: URIRef
    SeedLocation: URIRef
    Source: URIRef
    Interview: URIRef
    SourceRecord: URIRef
    HeaderRecord: URIRef
    TraceRecord: URIRef
    Quote: URIRef
    Memo: URIRef
    CodingBlock: URIRef
    TraceBlock: URIRef
    OpenCodingSection: URIRef
    Code: URIRef
    DesignSolution: URIRef
    Practice: URIRef
    Pattern: URIRef
    Decision: URIRef
    Force: URIRef
    UnresolvedCode: URIRef
    CodeDefinition: URIRef
    ForceImpact: URIRef
    DecisionOption: URIRef
    Dependency: URIRef
    ImpactLevel: URIRef
    SourceType: URIRef
    AuthorType: URIRef
    DependencyKind: URIRef
    SeedReaderFinding: URIRef
    Category: URIRef
    KnownUse: URIRef
    DoNothing: URIRef
    DomainClass: URIRef
    DomainClassGroup: URIRef
    AndCombinedGroup: URIRef
    OrCombinedGroup: URIRef
    Reference: URIRef
    ModelFile: URIRef
    ModelRecord: URIRef
    ValueChoice: URIRef
    ModelDefinition: URIRef
    Layer: URIRef
    NextDecisionLink: URIRef
    ContextLink: URIRef
    CodeEvidence: URIRef
    DecisionType: URIRef
    NextDecisionKind: URIRef
    ContextKind: URIRef
    View: URIRef

    # concept schemes and their concepts
    ImpactLevels: URIRef
    VeryPositive: URIRef
    Positive: URIRef
    Neutral: URIRef
    Negative: URIRef
    VeryNegative: URIRef
    PositiveAndNegative: URIRef
    SourceTypes: URIRef
    DiscussionForumPost: URIRef
    GeneralAudienceArticle: URIRef
    PractitionerAudienceArticle: URIRef
    PractitionerBook: URIRef
    ToolDocumentation: URIRef
    BlogPost: URIRef
    Slides: URIRef
    VideoStreaming: URIRef
    InterviewTranscript: URIRef
    AuthorTypes: URIRef
    PractitionerAuthor: URIRef
    MixedAuthors: URIRef
    AcademicAuthor: URIRef
    UnknownAuthor: URIRef
    DependencyKinds: URIRef
    Uses: URIRef
    Requires: URIRef
    CanUse: URIRef
    AlternativeTo: URIRef
    DependsOn: URIRef
    CanBeCombinedWith: URIRef
    CanBeRealizedWith: URIRef
    Variant: URIRef
    Extension: URIRef
    IsA: URIRef
    Realizes: URIRef
    Includes: URIRef
    RulesOut: URIRef
    Influences: URIRef
    LeadsTo: URIRef
    Enables: URIRef
    Layers: URIRef
    NotesLayer: URIRef
    ModelLayer: URIRef
    DecisionTypes: URIRef
    SingleAnswer: URIRef
    MultipleAnswers: URIRef
    NextDecisionKinds: URIRef
    MandatoryNext: URIRef
    OptionalNext: URIRef
    NextDecision: URIRef
    ConsiderIfNotDecidedYet: URIRef
    ContextKinds: URIRef
    DecideForAllInstancesOf: URIRef
    DecideForSomeInstancesOf: URIRef

    # properties
    codebook: URIRef
    seedFile: URIRef
    line: URIRef
    endLine: URIRef
    lineCount: URIRef
    path: URIRef
    tinyUrl: URIRef
    archiveUrl: URIRef
    sourceType: URIRef
    authorType: URIRef
    sourceTypeName: URIRef
    authorTypeName: URIRef
    example: URIRef
    sourceCode: URIRef
    headerRecord: URIRef
    traceRecord: URIRef
    variable: URIRef
    definition: URIRef
    declaredKind: URIRef
    label: URIRef
    identifierAsWritten: URIRef
    labelAsWritten: URIRef
    inString: URIRef
    setAside: URIRef
    inSource: URIRef
    codedIn: URIRef
    closestDefined: URIRef
    evidenceSource: URIRef
    statementSource: URIRef
    evidenceQuote: URIRef
    memoSection: URIRef
    speaker: URIRef
    speakerLabel: URIRef
    valueChoice: URIRef
    field: URIRef
    chosenRecord: URIRef
    reason: URIRef
    mentions: URIRef
    solution: URIRef
    force: URIRef
    impactLevel: URIRef
    impactAsWritten: URIRef
    decision: URIRef
    option: URIRef
    optionName: URIRef
    dependentSolution: URIRef
    requiredSolution: URIRef
    dependencyKind: URIRef
    dependencyKindAsWritten: URIRef
    roleName: URIRef
    findingCode: URIRef
    aka: URIRef
    backgroundReading: URIRef
    recommendation: URIRef
    decisionType: URIRef
    knownUseReference: URIRef
    usedIn: URIRef
    ownsDecision: URIRef
    subCategory: URIRef
    references: URIRef
    bibliographicReference: URIRef
    how: URIRef
    role: URIRef
    priorSolution: URIRef
    nextDecision: URIRef
    nextKind: URIRef
    contextOf: URIRef
    domainClass: URIRef
    contextKind: URIRef
    order: URIRef
    layer: URIRef
    modelRecord: URIRef
    evidencedCode: URIRef
    metaclassAsWritten: URIRef
    viewElement: URIRef
    viewStart: URIRef
    viewStop: URIRef
    viewBoundary: URIRef
    viewStopKind: URIRef


for _term in MK.__annotations__:
    setattr(MK, _term, MK._NS[_term])

KIND_CLASS: dict[CodeKind, URIRef] = {
    CodeKind.PRACTICE: MK.Practice,
    CodeKind.PATTERN: MK.Pattern,
    CodeKind.FORCE: MK.Force,
    CodeKind.DECISION: MK.Decision,
}

IMPACT_CONCEPT: dict[Impact, URIRef] = {
    Impact.VERY_POSITIVE: MK.VeryPositive,
    Impact.POSITIVE: MK.Positive,
    Impact.NEUTRAL: MK.Neutral,
    Impact.NEGATIVE: MK.Negative,
    Impact.VERY_NEGATIVE: MK.VeryNegative,
    Impact.POSITIVE_AND_NEGATIVE: MK.PositiveAndNegative,
}

SOURCE_TYPE_CONCEPT: dict[str, URIRef] = {
    "Discussion Forum Post": MK.DiscussionForumPost,
    "General Audience Article": MK.GeneralAudienceArticle,
    "Practitioner Audience Article": MK.PractitionerAudienceArticle,
    "Practitioner Book": MK.PractitionerBook,
    "Tool Documentation": MK.ToolDocumentation,
    "Blog Post": MK.BlogPost,
    "Slides": MK.Slides,
    "Video Streaming": MK.VideoStreaming,
    "Interview": MK.InterviewTranscript,
}

AUTHOR_TYPE_CONCEPT: dict[str, URIRef] = {
    "Practitioner": MK.PractitionerAuthor,
    "Mixed": MK.MixedAuthors,
    "Academic": MK.AcademicAuthor,
    "Unknown": MK.UnknownAuthor,
}

DEPENDENCY_CONCEPT: dict[str, URIRef] = {
    "uses": MK.Uses,
    "requires": MK.Requires,
    "can_use": MK.CanUse,
    "alternative_to": MK.AlternativeTo,
    "depends_on": MK.DependsOn,
    "can_be_combined_with": MK.CanBeCombinedWith,
    "can_be_realized_with": MK.CanBeRealizedWith,
    "variant": MK.Variant,
    "extension": MK.Extension,
    "is_a": MK.IsA,
    "realizes": MK.Realizes,
    "includes": MK.Includes,
    "rules_out": MK.RulesOut,
    "influences": MK.Influences,
    "leads_to": MK.LeadsTo,
    "enables": MK.Enables,
}

NEXT_CONCEPT: dict[str, URIRef] = {
    "mandatory_next": MK.MandatoryNext,
    "optional_next": MK.OptionalNext,
    "next_decision": MK.NextDecision,
    "consider_if_not_decided_yet": MK.ConsiderIfNotDecidedYet,
}

CONTEXT_CONCEPT: dict[str, URIRef] = {
    "decide_for_all_instances_of": MK.DecideForAllInstancesOf,
    "decide_for_some_instances_of": MK.DecideForSomeInstancesOf,
}

DECISION_TYPE_CONCEPT: dict[str, URIRef] = {
    "single_answer": MK.SingleAnswer,
    "multiple_answers": MK.MultipleAnswers,
}

IMPACT_BY_NAME: dict[str, URIRef] = {i.value: c for i, c in IMPACT_CONCEPT.items()}

METACLASS_CLASS: dict[str, URIRef] = {
    "practice": MK.Practice,
    "pattern": MK.Pattern,
    "force": MK.Force,
    "decision": MK.Decision,
    "design_solution": MK.DesignSolution,
    "do_nothing_design_solution": MK.DoNothing,
    "category": MK.Category,
    "known_use": MK.KnownUse,
    "domain_metaclass": MK.DomainClass,
    "domain_class_group": MK.DomainClassGroup,
    "and_combined_group": MK.AndCombinedGroup,
    "or_combined_group": MK.OrCombinedGroup,
    "code": MK.Code,
}
"""The model layer's metaclasses that name resources of the codebook (sources and references
are the study's sources: :data:`REFERENCE_METACLASSES`)."""

REFERENCE_METACLASSES = frozenset({"source", "reference"})


@lru_cache(maxsize=1 << 17)
def uri(text: str) -> URIRef:
    """A minted IRI as an rdflib term; cached, as rdflib checks every IRI it is given and the
    same IRIs are minted many times over."""
    return URIRef(text)
