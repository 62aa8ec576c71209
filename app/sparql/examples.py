"""Example queries for the common questions, offered on the query page.

Each is a question a researcher asks of a study, answered in SPARQL over the project's
ontology, so the query page teaches the graph's shape by example. Tests run every one of them
against a real service, so an example that stops matching the graph fails there.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.namespaces import sparql_prologue


@dataclass(frozen=True, slots=True)
class Example:
    name: str
    question: str
    query: str


_P = sparql_prologue("mk", "skos", "dcterms", "schema", "oa")

EXAMPLES: tuple[Example, ...] = (
    Example(
        "impacts",
        "Which practices address which forces, with what sign, and says who?",
        _P
        + """SELECT ?solution ?solutionLabel ?force ?forceLabel ?sign
       (COUNT(DISTINCT ?source) AS ?sources) (GROUP_CONCAT(DISTINCT ?id; separator=" ") AS ?ids)
WHERE {
  ?impact a mk:ForceImpact ; mk:solution ?solution ; mk:force ?force ; mk:impactLevel ?level .
  ?level skos:notation ?sign .
  ?solution skos:prefLabel ?solutionLabel . ?force skos:prefLabel ?forceLabel .
  OPTIONAL { ?impact mk:evidenceSource ?source . ?source dcterms:identifier ?id }
}
GROUP BY ?solution ?solutionLabel ?force ?forceLabel ?sign
ORDER BY ?solutionLabel ?forceLabel""",
    ),
    Example(
        "decisions",
        "What options does each decision have, and which forces do they touch?",
        _P
        + """SELECT ?decisionLabel ?optionLabel ?name ?forceLabel ?sign WHERE {
  ?link a mk:DecisionOption ; mk:decision ?decision ; mk:option ?option .
  OPTIONAL { ?link mk:optionName ?name }
  ?decision skos:prefLabel ?decisionLabel . ?option skos:prefLabel ?optionLabel .
  OPTIONAL { ?impact a mk:ForceImpact ; mk:solution ?option ; mk:force ?force ;
                     mk:impactLevel/skos:notation ?sign . ?force skos:prefLabel ?forceLabel }
}
ORDER BY ?decisionLabel ?optionLabel ?forceLabel""",
    ),
    Example(
        "groundedness",
        "Which codes are the most grounded (evidenced by the most sources)?",
        _P
        + """SELECT ?code ?label (COUNT(DISTINCT ?source) AS ?sources) WHERE {
  ?code skos:inScheme ?scheme ; mk:evidenceSource ?source . ?scheme a mk:Codebook .
  OPTIONAL { ?code skos:prefLabel ?label }
}
GROUP BY ?code ?label
ORDER BY DESC(?sources) ?label
LIMIT 50""",
    ),
    Example(
        "single-source",
        "Which codes rest on a single source?",
        _P
        + """SELECT ?code ?label (SAMPLE(?source) AS ?onlySource) WHERE {
  ?code skos:inScheme ?scheme ; mk:evidenceSource ?source . ?scheme a mk:Codebook .
  OPTIONAL { ?code skos:prefLabel ?label }
}
GROUP BY ?code ?label
HAVING (COUNT(DISTINCT ?source) = 1)
ORDER BY ?label""",
    ),
    Example(
        "co-occurrence",
        "Which practices and forces are coded in the same sources most often?",
        _P
        + """SELECT ?practice ?force (COUNT(DISTINCT ?source) AS ?sources) WHERE {
  ?practice a mk:Practice ; mk:evidenceSource ?source .
  ?force a mk:Force ; mk:evidenceSource ?source .
}
GROUP BY ?practice ?force
ORDER BY DESC(?sources)
LIMIT 50""",
    ),
    Example(
        "quotes",
        "What passages stand behind each impact?",
        _P
        + """SELECT ?impact ?sign ?quote ?text WHERE {
  ?impact a mk:ForceImpact ; mk:impactLevel/skos:notation ?sign ; mk:codedIn ?block .
  ?block mk:evidenceQuote ?quote . ?quote schema:text ?text .
}
ORDER BY ?impact
LIMIT 100""",
    ),
    Example(
        "memos",
        "What did the analysts write about each code (memos that name it)?",
        _P
        + """SELECT ?code ?memo ?text WHERE {
  ?memo a mk:Memo ; mk:mentions ?code ; oa:bodyValue ?text .
}
ORDER BY ?code
LIMIT 100""",
    ),
    Example(
        "model-only",
        "Which impacts does the consolidated model state that no note states?",
        _P
        + """SELECT ?impact ?solution ?force WHERE {
  ?impact a mk:ForceImpact ; mk:layer mk:ModelLayer ; mk:solution ?solution ; mk:force ?force .
  FILTER NOT EXISTS { ?impact mk:layer mk:NotesLayer }
}
ORDER BY ?solution ?force""",
    ),
)
