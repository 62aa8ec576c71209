"""The small collections the protocol tests serve, and what their graphs hold.

Expected values come from an in-process build of the same folders (the pipeline the service
runs when it starts): counts and IRIs from the read model, triples from the snapshot's store.
Nothing here reads the shared corpus.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from app.iris import Minter
from app.pipeline import Build, build, store
from app.store.snapshot import Snapshot
from tests.conftest import FIXTURES, ROOT

BASE = "https://w3id.org/meshkg/id/"
MK = "https://w3id.org/meshkg/ontology#"
SOURCE = MK + "Source"

PLATFORM = FIXTURES / "notes" / "platform"
"""Collection ``platform``: sources s1 to s3, and a template note without a source."""
PLATFORM_S6 = FIXTURES / "notes" / "seed"
"""A second folder of collection ``platform``: its source s6."""
PRODUCT = FIXTURES / "notes" / "product"
"""Collection ``product``: sources s6 to s8, with decisions, options and force impacts."""
NAMES = FIXTURES / "names" / "my study #1 %é"
"""Collection ``my study #1 %é``: a name every IRI and URL has to encode."""
SAMPLE = ROOT / "seeds"
"""The project's sample collection ``self-serve-platform``: one real note, many quotes."""


def graph_iri(collection: str) -> str:
    return Minter(BASE, collection, str).collection


def minter(collection: str) -> Minter[str]:
    return Minter(BASE, collection, str)


@functools.cache
def built(*paths: Path) -> Build:
    """The build of ``paths``, made once per test process."""
    return build(list(paths))


@functools.cache
def snapshot(*paths: Path) -> Snapshot:
    """The snapshot the service would serve for ``paths`` (in memory)."""
    return store(built(*paths))


def sources(data: Build, collection: str | None = None) -> set[str]:
    """The IRIs of the sources the read model holds, in one collection or in all."""
    return {
        minter(c.name).source(source.id)
        for c in data.corpus.collections
        if collection in (None, c.name)
        for _note, source in c.sources
    }


def collections(data: Build) -> list[str]:
    return [c.name for c in data.corpus.collections]


def construct(snap: Snapshot, query: str) -> set[ox.Triple]:
    """A graph query answered by the snapshot's store in-process, over the union graph."""
    answer = snap.store.query(query, use_default_graph_as_union=True)
    assert isinstance(answer, ox.QueryTriples)
    return set(answer)


def error_code(response: httpx.Response, status: int) -> str:
    """The code of an error answer, checked to be the service's JSON error and to leak nothing."""
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["status"] == status
    assert "Traceback" not in response.text
    assert "/work/" not in response.text
    assert "site-packages" not in response.text
    return str(body["code"])


_DEBIAN_PACKAGES = {"roqet": "rasqal-utils", "rapper": "raptor2-utils"}


def tool(name: str) -> str:
    """A peer tool; CI installs it, so there its absence fails instead of skipping."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package {_DEBIAN_PACKAGES[name]})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
