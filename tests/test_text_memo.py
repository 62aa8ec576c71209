"""Results kept per query text: the same answer as computing it, within a bound."""

from __future__ import annotations

import pytest

from app.sparql.check import QueryRefused, inspect
from app.sparql.plan import per_row_optionals
from app.sparql.text_memo import by_text


def test_a_repeated_text_is_read_once_and_a_long_one_every_time() -> None:
    calls: list[str] = []

    @by_text(size=2, chars=10)
    def length(text: str) -> int:
        calls.append(text)
        return len(text)

    assert [length("abc"), length("abc"), length("abc")] == [3, 3, 3]
    assert calls == ["abc"]
    long = "x" * 11
    assert [length(long), length(long)] == [11, 11]
    assert calls == ["abc", long, long]  # longer than ``chars``: never kept
    length("d")
    length("e")  # two kept at most: "abc" is out
    length("abc")
    assert calls[-1] == "abc"


def test_refusals_are_raised_again_not_kept() -> None:
    for _ in range(3):
        with pytest.raises(QueryRefused):
            inspect("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")


def test_kept_results_equal_fresh_ones() -> None:
    query = "SELECT * WHERE { ?i <urn:p> ?f . OPTIONAL { ?i <urn:q> ?x . ?x <urn:r> ?y } }"
    first = inspect(query)
    assert inspect(query) is first  # kept
    assert inspect(query + " ") == first  # another text, read afresh, the same shape
    planned = per_row_optionals(query)
    assert planned is not None
    assert "LATERAL" in planned
    assert per_row_optionals(query) == planned
    assert inspect.__wrapped__(query) == first  # type: ignore[attr-defined]
