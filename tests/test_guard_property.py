"""The query check and the engine never disagree about SERVICE: a property, with a canary.

Hypothesis writes queries from the pieces a reading can go wrong on (comments, the four string
forms with their escapes, IRIs with ``\\u`` escapes and ``#``, prefixed names with ``\\#`` and
``\\'`` escapes, keywords glued to their neighbours, ``<`` after an operand, nesting in
sub-queries, EXISTS, MINUS, OPTIONAL, UNION, GRAPH, VALUES and BIND) around a ``SERVICE``
aimed at a canary HTTP server on 127.0.0.1. Whenever the check lets a query through, the text
it hands the engine is evaluated here, in this process, with the network open and data that
makes every pattern match: the canary must count no connection. The control shows that the
same pieces, evaluated as the client wrote them, do reach the canary.
"""

from __future__ import annotations

from datetime import timedelta

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sparql.check import QueryRefused, inspect
from tests.canary import Canary

_ONE = ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))


@pytest.fixture(scope="module")
def store() -> ox.Store:
    """Data every pattern of the generated queries matches, so a SERVICE is reached."""
    s = ox.Store()
    ex = "http://e/"
    for subject in ("s", "o"):
        for predicate in ("p", "a", "o"):
            for obj in (ox.NamedNode(ex + "o"), ox.Literal("o"), ox.Literal("1"), _ONE):
                s.add(ox.Quad(ox.NamedNode(ex + subject), ox.NamedNode(ex + predicate), obj))
                s.add(
                    ox.Quad(
                        ox.NamedNode(ex + subject),
                        ox.NamedNode(ex + predicate),
                        obj,
                        ox.NamedNode(ex + "g"),
                    )
                )
    return s


# --- the pieces ------------------------------------------------------------------------------

# group-pattern elements, each valid SPARQL on its own; {c} is the canary's URL
_LIVE = [
    "SERVICE <{c}a> {{ ?a ?b ?c }}",
    "SERVICE SILENT <{c}a> {{ ?a ?b ?c }}",
    "SERVICESILENT <{c}a> {{ ?a ?b ?c }}",
    "service<{c}a>{{?a ?b ?c}}",
    "SERVICE ex:a {{ ?a ?b ?c }}",
    "SERVICE :a {{ ?a ?b ?c }}",
    "BIND(<{c}a> AS ?svc) SERVICE ?svc {{ ?a ?b ?c }}",
    r"SERVICE <{c}\u0061> {{ ?a ?b ?c }}",
    "SERVICE # a note\n <{c}a> {{ ?a ?b ?c }}",
    "SERVICE\t<{c}a>\r\n{{ ?a ?b ?c }}",
]
_HIDDEN = [
    "# SERVICE <{c}a> {{ ?a ?b ?c }}\n",
    'BIND("SERVICE <{c}a> {{ ?a ?b ?c }}" AS ?h)',
    r"BIND('it\'s SERVICE <{c}a> {{ }}' AS ?h)",
    'BIND("""a " "" SERVICE <{c}a> {{ }}""" AS ?h)',
    "BIND('''a ' '' SERVICE <{c}a> {{ }}''' AS ?h)",
    "?s <{c}SERVICE> ?o .",
    "?s ex:SERVICE ?o .",
    r"?s ex:a\#SERVICE ?o .",
    r"BIND('\u0027 SERVICE <{c}a> {{ }}' AS ?h)",
]
_DESYNC = [
    "FILTER(1<2&&'>) # ' ) SERVICE <{c}a> {{ ?a ?b ?c }}\n",
    'FILTER(1<2&&">) # " ) SERVICE <{c}a> {{ ?a ?b ?c }}\n',
    "FILTER(?o<?o#>)\n) SERVICE <{c}a> {{ ?a ?b ?c }}",
    r"?s ex:a\# ?o . SERVICE <{c}a> {{ ?a ?b ?c }}",
    r"?s ex:a\' ?o . SERVICE <{c}a> {{ ?a ?b ?c }} #'",
    "?s ?p ?o.SERVICE <{c}a> {{ ?a ?b ?c }}",
    "?s ?p 1.SERVICE <{c}a> {{ ?a ?b ?c }}",
    "?s ?p 'o'#'\nSERVICE <{c}a> {{ ?a ?b ?c }}",
    "?s ?p 'o'.#\u2028SERVICE <{c}a> {{ ?a ?b ?c }}\n",
    "FILTER(1<2&&'>)'\n) SERVICE <{c}a> {{ ?a ?b ?c }}",
]
_NOISE = [
    "?s ?p ?o .",
    "FILTER(1<2)",
    "OPTIONAL {{ ?s ?p ?o }}",
    "VALUES ?v {{ 1 2 }}",
    "BIND(STR(?o) AS ?t)",
]
_WRAPPERS = [
    "{body}",
    "{{ SELECT * WHERE {{ {body} }} }}",
    "FILTER EXISTS {{ {body} }}",
    "FILTER NOT EXISTS {{ ?s ?p ?o . {body} }}",
    "MINUS {{ ?x ?y ?z . {body} }}",
    "OPTIONAL {{ {body} }}",
    "{{ {body} }} UNION {{ ?s ?p ?o }}",
    "GRAPH ?g {{ {body} }}",
    "VALUES ?v {{ 1 }} {body}",
    "BIND(1 AS ?b) {body}",
]
_STRAY = ["'", '"', "#", "<", ">", "\\", "\n", "\r", "{", "}", "(", ")", "\u2028", ".", "?"]


@st.composite
def _queries(draw: st.DrawFn, canary: str) -> str:  # canary: the URL
    pools = [_LIVE, _HIDDEN, _DESYNC, _NOISE]
    segments = []
    for _ in range(draw(st.integers(1, 3))):
        segment = draw(st.sampled_from(draw(st.sampled_from(pools)))).format(c=canary)
        for _ in range(draw(st.integers(0, 2))):
            segment = draw(st.sampled_from(_WRAPPERS)).format(body=segment)
        segments.append(segment)
    body = " ".join(segments)
    if draw(st.integers(0, 3)) == 0:  # a stray character anywhere: readings part there
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from(_STRAY)) + body[at:]
    return f"PREFIX ex: <{canary}> PREFIX : <{canary}>\nSELECT * WHERE {{ ?s ?p ?o . {body} }}"


def _evaluate(store: ox.Store, text: str) -> None:
    try:
        answer = store.query(text, use_default_graph_as_union=True)
        if not isinstance(answer, ox.QueryBoolean):
            for _ in zip(range(50), answer, strict=False):
                pass
    except (SyntaxError, OSError, RuntimeError, ValueError, TypeError):
        pass


def test_the_pieces_reach_the_canary_when_nothing_checks_them(
    canary: Canary, store: ox.Store
) -> None:
    """The control: evaluated as written, such forms do fetch (so the property can fail)."""
    hits, c = canary.hits, canary.url
    forms = [
        f"SELECT * WHERE {{ ?s ?p ?o . SERVICE <{c}a> {{ ?a ?b ?c }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o . FILTER(1<2&&'>) # ' ) SERVICE <{c}a> {{ ?a ?b ?c }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o . SERVICESILENT <{c}a> {{ ?a ?b ?c }} }}",
        f"PREFIX : <{c}> SELECT * WHERE {{ ?s ?p ?o . SERVICE :c {{ ?a ?b ?c }} }}",
    ]
    for form in forms:
        before = len(hits)
        _evaluate(store, form)
        assert len(hits) > before, form


@settings(
    max_examples=400,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(data=st.data())
def test_a_query_the_check_lets_through_never_reaches_the_canary(
    canary: Canary, store: ox.Store, data: st.DataObject
) -> None:
    query = data.draw(_queries(canary.url))
    hits = canary.hits
    try:
        shape = inspect(query)
    except QueryRefused:
        return
    before = len(hits)
    _evaluate(store, shape.text)
    assert len(hits) == before, (query, shape.text)
