"""IRIs: minted from collection and identifier only, injective, safe for any character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rdflib import URIRef

from app.iris import DEFAULT_BASE, Minter, check_base, name_hash, segment, split
from app.vocab import uri

ANY = st.text(st.characters(exclude_categories=()), min_size=1, max_size=40)


@given(ANY, ANY)
def test_segments_are_injective(a: str, b: str) -> None:
    if a != b:
        assert segment(a) != segment(b)


@given(ANY)
def test_segments_are_iri_safe_and_reversible(value: str) -> None:
    seg = segment(value)
    assert seg.isascii()
    assert not set(seg) & set('/?#[]@ <>"{}|\\^`')
    assert seg not in (".", "..")
    assert split(DEFAULT_BASE, DEFAULT_BASE + "c/code/" + seg) == ("c", "code", value)


@given(ANY, ANY)
def test_collections_scope_every_iri(c1: str, c2: str) -> None:
    if c1 != c2:
        a, b = Minter(DEFAULT_BASE, c1, str), Minter(DEFAULT_BASE, c2, str)
        assert a.source("s1") != b.source("s1")
        assert a.code("scalability") != b.code("scalability")


def test_layout_is_documented_and_stable() -> None:
    m = Minter("https://example.org/kg/", "data-as-a-product", str)
    assert m.collection == ("https://example.org/kg/data-as-a-product")
    assert m.source("s6") == ("https://example.org/kg/data-as-a-product/source/s6")
    assert m.quote("s6", 3) == ("https://example.org/kg/data-as-a-product/source/s6/quote/3")
    assert m.block("s6", 0) == ("https://example.org/kg/data-as-a-product/source/s6/block/1")
    assert m.code("in place/../x") == (
        "https://example.org/kg/data-as-a-product/code/in%20place%2F..%2Fx"
    )
    assert m.location("s_6.md", 12) == ("https://example.org/kg/data-as-a-product/file/s_6.md#L12")
    assert m.option("d", "o", "Use a catalogue") == (
        "https://example.org/kg/data-as-a-product/option/d/o/" + name_hash("Use a catalogue")
    )
    assert m.impact("a", "b", "very_positive").endswith("/impact/a/b/very_positive")
    assert Minter(DEFAULT_BASE, "..", str).collection == DEFAULT_BASE + "%2E%2E"
    as_term = Minter("https://example.org/kg/", "data-as-a-product", uri)
    assert isinstance(as_term.source("s6"), URIRef)
    assert as_term.source("s6") == URIRef(m.source("s6"))


@pytest.mark.parametrize(
    "base",
    ["ftp://example.org/", "https://example.org/kg", "https://exa mple.org/", "example.org/"],
)
def test_bad_bases_are_refused(base: str) -> None:
    with pytest.raises(ValueError, match="base IRI"):
        check_base(base)


def test_empty_segment_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        segment("")
