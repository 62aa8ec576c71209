"""The read queries the benchmarks run: what a reader of the knowledge graph typically asks.

Each query is plain SPARQL text with its own PREFIX declarations, so the same workload can be
sent to any engine: rdflib, pyoxigraph in process, or the HTTP service (``/sparql``). No query
names a graph: each reads the union of the named graphs as its default graph (pyoxigraph:
``use_default_graph_as_union=True``; rdflib: ``Dataset(default_union=True)``; the service, when
no ``default-graph-uri`` is given). Loaded from the N-Quads dump that union is the collection
graphs; the service's store also holds the ontology graph, which changes only ``count``.

The six queries cover the shapes whose cost differs most between engines: an aggregate over a
class (``practice_support``), a selective star join with a property path
(``forces_of_practice``), a string scan over every quote (``quote_search``), a three-hop join
(``three_hop``), a ``DESCRIBE`` (``describe_source``) and a bare triple count (``count``).
Two of them are about one resource; :func:`pick_solution` and :func:`pick_source` choose it
deterministically, so every run and every engine asks about the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyoxigraph as ox

PREFIXES = """\
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX mk: <https://w3id.org/meshkg/ontology#>
PREFIX schema: <https://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""

Form = Literal["select", "describe"]


@dataclass(frozen=True, slots=True)
class Query:
    """One benchmark query; ``form`` tells how to consume and compare its results."""

    name: str
    description: str
    sparql: str
    form: Form = "select"


PRACTICE_SUPPORT = Query(
    "practice_support",
    "practices and patterns ranked by the number of distinct sources supporting them (top 20)",
    PREFIXES
    + """\
SELECT ?code (SAMPLE(?label) AS ?name) (COUNT(DISTINCT ?source) AS ?sources) WHERE {
  VALUES ?type { mk:Practice mk:Pattern }
  ?code a ?type ;
        mk:evidenceSource ?source .
  OPTIONAL { ?code skos:prefLabel ?label }
}
GROUP BY ?code
ORDER BY DESC(?sources) ?code
LIMIT 20
""",
)


def forces_of_practice(solution: str) -> Query:
    """The forces one solution impacts, at which level, with the quotes that evidence it."""
    return Query(
        "forces_of_practice",
        "forces one solution impacts, with the level and the evidence quotes' text",
        PREFIXES
        + f"""\
SELECT ?force ?forceName ?level ?quote ?text WHERE {{
  ?impact a mk:ForceImpact ;
          mk:solution {_iri(solution)} ;
          mk:force ?force ;
          mk:impactLevel ?level .
  OPTIONAL {{ ?force skos:prefLabel ?forceName }}
  OPTIONAL {{
    ?impact mk:codedIn/mk:evidenceQuote ?quote .
    ?quote schema:text ?text .
  }}
}}
ORDER BY ?force ?level ?quote
""",
    )


def quote_search(word: str = "catalog") -> Query:
    """How many quotes mention a word, ignoring case: a scan of every quote's text."""
    return Query(
        "quote_search",
        f'quotes whose text contains "{word}", case-insensitively (count; a full scan)',
        PREFIXES
        + f"""\
SELECT (COUNT(?quote) AS ?n) WHERE {{
  ?quote a mk:Quote ;
         schema:text ?text .
  FILTER(CONTAINS(LCASE(?text), {_string(word.lower())}))
}}
""",
    )


THREE_HOP = Query(
    "three_hop",
    "distinct (source, pattern) pairs: pattern -codedIn-> block -isPartOf-> practitioner source",
    PREFIXES
    + """\
SELECT (COUNT(*) AS ?n) WHERE {
  SELECT DISTINCT ?source ?pattern WHERE {
    ?source mk:authorType mk:PractitionerAuthor .
    ?block dcterms:isPartOf ?source .
    ?pattern mk:codedIn ?block ;
             a mk:Pattern .
  }
}
""",
)


def describe_source(source: str) -> Query:
    """Everything said about one source (the engines' own DESCRIBE: a bounded description)."""
    return Query(
        "describe_source",
        "DESCRIBE one source",
        PREFIXES + f"DESCRIBE {_iri(source)}\n",
        "describe",
    )


COUNT = Query(
    "count",
    "all triples in the union graph",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }\n",
)


# --- choosing the resources the parameterised queries are about ------------------------------


def pick_solution(store: ox.Store) -> str:
    """The IRI of the solution with most force impacts (ties: the smallest IRI).

    The most-cited solution makes ``forces_of_practice`` return the most rows, the case a
    reader waits for; the tie-break keeps the choice stable from run to run.
    """
    return _first(
        store,
        PREFIXES
        + """\
SELECT ?solution (COUNT(?impact) AS ?n) WHERE {
  ?impact a mk:ForceImpact ;
          mk:solution ?solution .
}
GROUP BY ?solution
ORDER BY DESC(?n) STR(?solution)
LIMIT 1
""",
        "solution with force impacts",
    )


def pick_source(store: ox.Store) -> str:
    """The IRI of the source with most coding blocks (ties: the smallest IRI).

    Sources differ little in what is said about them directly; the busiest one is as good as
    any and it is stable from run to run.
    """
    return _first(
        store,
        PREFIXES
        + """\
SELECT ?source (COUNT(?block) AS ?n) WHERE {
  ?source a mk:Source .
  OPTIONAL { ?block dcterms:isPartOf ?source }
}
GROUP BY ?source
ORDER BY DESC(?n) STR(?source)
LIMIT 1
""",
        "source",
    )


def workload(store: ox.Store) -> list[Query]:
    """All six queries, their parameters picked from ``store``, in the order they are reported."""
    return [
        PRACTICE_SUPPORT,
        forces_of_practice(pick_solution(store)),
        quote_search(),
        THREE_HOP,
        describe_source(pick_source(store)),
        COUNT,
    ]


def _first(store: ox.Store, sparql: str, what: str) -> str:
    solutions = store.query(sparql, use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions)
    for row in solutions:
        term = row[0]
        if isinstance(term, ox.NamedNode):
            return term.value
    raise LookupError(f"no {what} in the store")


def _iri(iri: str) -> str:
    """An IRI as a SPARQL term; refuses characters that would end it (queries are built as text)."""
    if not iri or any(c in iri for c in '<>"{}|^`\\ \n\t'):
        raise ValueError(f"not an IRI: {iri!r}")
    return f"<{iri}>"


def _string(text: str) -> str:
    """A string as a SPARQL literal, escaped."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'
