"""Counts of a build: per collection from the model, per class from the snapshot.

Both views are printed side by side so a researcher sees what was read and what became triples.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.model import CodeKind, Collection, Corpus, Severity
from app.store.snapshot import Snapshot


@dataclass(slots=True)
class CollectionCounts:
    name: str
    files: int
    sources: int
    skipped: int
    quotes: int
    open_codes: int
    codes: dict[str, int]
    unresolved: int
    relations: int
    impacts: int
    option_links: int
    options: int
    dependencies: int
    diagnostics: dict[str, int]
    triples: int = 0
    classes: dict[str, int] = field(default_factory=dict)


def collection_counts(coll: Collection) -> CollectionCounts:
    kinds = Counter(code.kind for code in coll.codes.values())
    severities = Counter(d.severity for d in coll.all_diagnostics())
    return CollectionCounts(
        name=coll.name,
        files=len(coll.notes),
        sources=len(coll.sources),
        skipped=sum(1 for n in coll.notes if n.is_template or n.source is None),
        quotes=sum(len(n.quotes) for n, _ in coll.sources),
        open_codes=sum(len(n.open_codes) for n, _ in coll.sources),
        codes={k.value: kinds.get(k, 0) for k in CodeKind},
        unresolved=kinds.get(None, 0),
        relations=sum(len(n.relations) for n, _ in coll.sources),
        impacts=len(coll.impacts),
        option_links=sum(len(n.options) for n, _ in coll.sources),
        options=len(coll.options),
        dependencies=len(coll.dependencies),
        diagnostics={s.value: severities.get(s, 0) for s in Severity},
    )


def counts(corpus: Corpus, snapshot: Snapshot | None = None) -> list[CollectionCounts]:
    """Per-collection counts; with the built snapshot, also triples and instances per class."""
    out = []
    graphs = {c.name: c for c in snapshot.info.collections} if snapshot is not None else {}
    for coll in corpus.collections:
        c = collection_counts(coll)
        if snapshot is not None and coll.name in graphs:
            c.triples = graphs[coll.name].triples
            c.classes = snapshot.class_counts(coll.name)
        out.append(c)
    return out
