"""OPTIONAL groups evaluated per row: which ones are rewritten, and that answers never change.

The rewritten text is evaluated by the real Oxigraph next to the text as written, on random
small graphs and random queries built around the shapes where a per-row evaluation could
differ from the left join: variables left unbound by an earlier OPTIONAL, repeated variables,
property paths, blank nodes, filters and patterns after the group, groups inside EXISTS,
UNION and sub-queries.
"""

from __future__ import annotations

from collections import Counter

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sparql.check import MAX_DEPTH
from app.sparql.engine import execute
from app.sparql.plan import per_row_optionals
from app.store.query import QueryRequest

EX = "http://example.org/"
PROLOGUE = f"PREFIX : <{EX}>\n"


@pytest.mark.parametrize(
    "marked",
    [
        "SELECT * { ?s :p ?o <OPTIONAL { ?o :q ?r . ?r :t ?u }> }",
        "SELECT * { ?s :p ?o <OPTIONAL { ?o :q ?r ; :t ?u }> }",
        "SELECT * { ?s :p ?o <OPTIONAL { ?o :q ?r , ?u }> }",
        "SELECT * { ?s :p ?o <OPTIONAL { ?o :q [ :t ?u ] }> }",
        "SELECT * { ?s :p ?o <OPTIONAL { $o :q/:r? ?x . ?x a :T }> }",
        "SELECT * { GRAPH ?g { ?s :p ?o } <OPTIONAL { ?g :q ?r . ?r :t true }> }",
        "SELECT * { ?s :p ?o FILTER EXISTS { ?o :p ?x <OPTIONAL { ?x :q ?r . ?r :t ?u }> } }",
        'ASK { ?s :p "OPTIONAL { }" <OPTIONAL { ?s :q ?r . ?r :t 1.5 }> }',
        "SELECT * { ?s :p ?o <OPTIONAL { ?o :q ?r . ?r :t ?u }> <OPTIONAL { ?s :q ?v ; :r ?w }> }",
    ],
)
def test_a_basic_pattern_sharing_a_bound_variable_is_evaluated_per_row(marked: str) -> None:
    """``<`` and ``>`` mark the groups to wrap (no IRI is written in full here)."""
    query = marked.replace("<", "").replace(">", "")
    expected = marked.replace("<", "LATERAL { ").replace(">", " }")
    assert per_row_optionals(PROLOGUE + query) == PROLOGUE + expected


@pytest.mark.parametrize(
    "query",
    [
        # one pattern: Oxigraph already evaluates it per row
        "SELECT * { ?s :p ?o OPTIONAL { ?o :q ?r } }",
        "SELECT * { ?s :p ?o OPTIONAL { ?o :q ?r . } }",
        # no variable bound before it: per row would repeat the same work for every row
        "SELECT * { ?s :p ?o OPTIONAL { ?x :q ?r . ?r :t ?u } }",
        "SELECT * { OPTIONAL { ?o :q ?r . ?r :t ?u } ?s :p ?o }",
        "SELECT * { OPTIONAL { ?s :p ?o } OPTIONAL { ?o :q ?r . ?r :t ?u } }",
        "SELECT * { BIND(:a AS ?o) OPTIONAL { ?o :q ?r . ?r :t ?u } }",
        "SELECT * { VALUES ?o { :a UNDEF } OPTIONAL { ?o :q ?r . ?r :t ?u } }",
        "SELECT * { ?s :p ?x FILTER(?o) OPTIONAL { ?o :q ?r . ?r :t ?u } }",
        "SELECT * { { ?s :p ?o } UNION { ?s :q ?o } OPTIONAL { ?o :q ?r . ?r :t ?u } }",
        # more than a basic graph pattern inside: scoping could differ
        "SELECT * { ?s :p ?o OPTIONAL { ?o :q ?r . ?r :t ?u FILTER(?u != ?s) } }",
        "SELECT * { ?s :p ?o OPTIONAL { ?o :q ?r . BIND(?s AS ?u) } }",
        "SELECT * { ?s :p ?o OPTIONAL { ?o :q ?r . { ?r :t ?u } } }",
        "SELECT * { ?s :p ?o OPTIONAL { ?o :q ?r OPTIONAL { ?r :t ?u } } }",
        "SELECT * { ?s :p ?o OPTIONAL { GRAPH ?g { ?o :q ?r . ?r :t ?u } } }",
        "SELECT * { ?s :p ?o OPTIONAL { ?o :q ?r . VALUES ?u { 1 } } }",
        # a negated property set: Oxigraph counts its rows differently once both ends are bound
        "SELECT * { ?a :q ?b OPTIONAL { ?a !:p ?b . ?a :q* ?a } }",
        # ... anywhere: the per-row form changes the order the patterns around it are read in
        "SELECT * { ?a !:p ?b . ?a :q ?a OPTIONAL { ?a :p ?a . ?a :p ?b } ?b :r ?c }",
        # not a keyword where the grammar does not say so
        'SELECT * { ?s :p "?o" . ?s :optional ?x # OPTIONAL { ?o :q ?r . ?r :t ?u }\n}',
    ],
)
def test_anything_else_is_left_as_written(query: str) -> None:
    assert per_row_optionals(PROLOGUE + query) is None


@pytest.mark.timeout(30)  # a hang detector: a scan per group took minutes here
def test_groups_nested_as_deep_as_allowed_and_thousands_of_others_are_read() -> None:
    depth = MAX_DEPTH - 2  # the outer group and the qualifying one are the other two levels
    query = (
        "SELECT * { ?s ?p ?o "
        + "{ ?s ?p ?o } " * 20_000
        + "OPTIONAL { ?s ?p ?o . " * depth
        + "OPTIONAL { ?o ?q ?r . ?r ?t ?u }"
        + " }" * depth
        + " }"
    )
    planned = per_row_optionals(query)
    assert planned is not None
    assert planned.count("LATERAL") == 1
    assert "LATERAL { OPTIONAL { ?o ?q ?r . ?r ?t ?u } }" in planned


def test_a_text_nested_deeper_than_allowed_is_left_to_the_checks() -> None:
    """The service refuses it before a worker sees it; the plan does not read it either."""
    deep = "SELECT * { " + "{ " * MAX_DEPTH + "OPTIONAL { ?o ?q ?r . ?r ?t ?u }" + " }" * MAX_DEPTH
    assert per_row_optionals(deep + " }") is None


def test_a_text_that_does_not_tokenise_is_left_to_the_engine() -> None:
    assert per_row_optionals("SELECT * { ?s ?p ?o OPTIONAL { ?o ?q ?r . ?r ?t ?u } } ~") is None


class _Recording:
    """A store that notes the text each query is evaluated from."""

    def __init__(self, store: ox.Store) -> None:
        self.store, self.texts = store, list[str]()

    def query(self, text: str, **options: object) -> object:
        self.texts.append(text)
        return self.store.query(text, **options)  # type: ignore[arg-type]


def test_the_engine_evaluates_the_per_row_form_and_answers_as_written() -> None:
    store = ox.Store()
    store.load(
        PROLOGUE.replace("PREFIX", "@prefix").rstrip()
        + " .\n:s :p :o , :o2 . :o :q :r . :r :t 1 .\n",
        format=ox.RdfFormat.TURTLE,
    )
    text = PROLOGUE + "SELECT ?o ?u { ?s :p ?o OPTIONAL { ?o :q ?r . ?r :t ?u } } ORDER BY ?o"
    recording = _Recording(store)
    req = QueryRequest(text, "SELECT", "text/csv", None, None, 100)
    result = execute(recording, req)  # type: ignore[arg-type]
    assert recording.texts == [per_row_optionals(text)]
    assert result.body == b"o,u\r\nhttp://example.org/o,1\r\nhttp://example.org/o2,\r\n"


def test_a_syntax_error_is_reported_on_the_query_as_written() -> None:
    store = ox.Store()
    text = PROLOGUE + "SELECT * { ?s :p ?o OPTIONAL { ?o :q ?r . ?r :t ?u } FILTER( }"
    assert per_row_optionals(text) is not None
    result = execute(store, QueryRequest(text, "SELECT", "application/json", None, None, 100))
    assert result.status == 400
    assert result.code == "syntax"
    assert "LATERAL" not in result.message
    with pytest.raises(SyntaxError) as written:
        store.query(text)
    assert str(written.value) in result.message


NODES = [f":n{i}" for i in range(3)]
PREDICATES = [":p", ":q", ":r"]
VARIABLES = ["?a", "?b", "?c", "?d", "?e"]

_node = st.sampled_from(NODES)
_literal = st.sampled_from(['"x"', "1"])
_triple = st.tuples(_node, st.sampled_from(PREDICATES), _node | _literal)
_term = st.sampled_from([*VARIABLES, *VARIABLES, *NODES])
_path = st.sampled_from(
    [":p", ":q", ":r", ":p/:q", "^:p", ":q*", ":r?", ":p+", "(:p|:q)", "!:p", ":q/^:r"]
)


@st.composite
def _optional_query(draw: st.DrawFn) -> str:
    """A query whose group puts an OPTIONAL of several patterns after patterns binding ?a."""
    prefix = [f"?a {draw(_path)} {draw(_term)}"]
    if draw(st.booleans()):
        prefix.append(f"{draw(_term)} {draw(_path)} {draw(_term)}")
    earlier = (
        [f"OPTIONAL {{ {draw(_term)} {draw(_path)} {draw(_term)} }}"] if draw(st.booleans()) else []
    )
    first = f"{draw(st.sampled_from(['?a', *VARIABLES]))} {draw(_path)} {draw(_term)}"
    second = draw(
        st.sampled_from(
            [
                f". {draw(_term)} {draw(_path)} {draw(_term)}",
                f"; {draw(_path)} {draw(_term)}",
                f", {draw(_term)}",
                f". {draw(_term)} {draw(_path)} [ {draw(_path)} {draw(_term)} ]",
                f". _:x {draw(_path)} {draw(_term)} . _:x :p ?e",
            ]
        )
    )
    if "?a" not in first + second:
        first = f"?a {draw(_path)} {draw(_term)} . {first}"
    after = draw(
        st.sampled_from(
            ["", "?e :q ?d", "FILTER(BOUND(?c))", "FILTER(!BOUND(?d) || ?d != ?b)", "?b :r ?c"]
        )
    )
    group = " . ".join(prefix) + f" {' '.join(earlier)} OPTIONAL {{ {first} {second} }} {after}"
    context = draw(
        st.sampled_from(
            [
                "{}",
                "{{ ?a ?p0 ?o0 FILTER EXISTS {{ {} }} }}",
                "{{ {{ {} }} UNION {{ ?a :p ?b }} }}",
                "{{ {{ SELECT * {{ {} }} }} }}",
            ]
        )
    )
    return PROLOGUE + "SELECT * " + context.format("{ " + group + " }")


def _answer(store: ox.Store, text: str) -> tuple[list[str], Counter[tuple[str | None, ...]]]:
    solutions = store.query(text)
    assert isinstance(solutions, ox.QuerySolutions)
    names = [v.value for v in solutions.variables]
    rows = Counter(
        tuple(None if row[n] is None else str(row[n]) for n in names) for row in solutions
    )
    return names, rows


@settings(max_examples=1000, deadline=None)
@given(graph=st.lists(_triple, min_size=3, max_size=30), query=_optional_query())
def test_per_row_optionals_answer_exactly_as_written(
    graph: list[tuple[str, str, str]], query: str
) -> None:
    store = ox.Store()
    if graph:
        data = PROLOGUE.replace("PREFIX", "@prefix").rstrip() + " .\n"
        data += "".join(f"{s} {p} {o} .\n" for s, p, o in graph)
        store.load(data, format=ox.RdfFormat.TURTLE)
    planned = per_row_optionals(query)
    if planned is None:
        assert "!" in query, query  # a negated property set anywhere: see the test above
        return
    assert _answer(store, planned) == _answer(store, query), query
