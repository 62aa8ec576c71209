"""What a stored graph is, as plain values: its metadata (``meta.json``) and its dump files.

Read models and routes read these through the store seam; they do not depend on the engine.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SNAPSHOT_FORMAT = 1
"""The layout of a stored snapshot; a snapshot of another format is built again."""


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    name: str
    graph: str  # the named graph's IRI (also the collection's IRI)
    title: str | None
    description: str | None
    triples: int
    sources: int


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """What a snapshot holds and how it was made (``meta.json``)."""

    key: str
    created: str
    meshkg: str
    base_iri: str
    collections: tuple[CollectionInfo, ...]
    triples: int
    format: int = SNAPSHOT_FORMAT
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SnapshotInfo:
        data = json.loads(text)
        data["collections"] = tuple(CollectionInfo(**c) for c in data["collections"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Dump:
    """A serialised dump on disk, with a strong ETag and a gzip twin."""

    path: Path
    gzip_path: Path
    etag: str
    media_type: str
    size: int
