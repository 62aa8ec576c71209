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
    evidenceQuote: URIRef
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
}


@lru_cache(maxsize=1 << 17)
def uri(text: str) -> URIRef:
    """A minted IRI as an rdflib term; cached, as rdflib checks every IRI it is given and the
    same IRIs are minted many times over."""
    return URIRef(text)
