"""Suggestions for ``curation.toml``: typo twins to alias, codes of two studies to match.

Nothing here changes the graph: each suggestion is a line a person may copy into the study's
``curation.toml``, with the evidence for it (where each identifier is defined, its label and
kind, how many sources name it), and the choice stays theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from rapidfuzz import fuzz

from app.model import Code, Collection, Corpus

TWIN_SCORE = 90  # identifiers this similar (0-100, rapidfuzz ratio) may be one code mistyped


@dataclass(frozen=True, slots=True)
class Suggestion:
    collection: str
    table: str  # "aliases" | "matches"
    line: str  # the TOML line to add
    evidence: tuple[str, ...]  # one line per identifier: where and how it is used


def _about(coll: Collection, code: Code) -> str:
    kind = code.kind.value if code.kind else "unresolved"
    places = [f"{d.at.file}:{d.at.line}" for _, d in code.definitions][:3]
    sources = len({sid for sid, _ in [*code.definitions, *code.references]})
    label = f' "{code.label}"' if code.label else ""
    where = ", ".join(places) or "never defined"
    return f"{coll.name}/{code.ident}: {kind}{label}, named by {sources} source(s); {where}"


def _preference(code: Code) -> tuple[bool, int, str]:
    return (not code.resolved, -len(code.references) - len(code.definitions), code.ident)


def _matched(coll: Collection, other: Collection) -> set[str]:
    """Codes ``coll``'s curation already matches with the same identifier in ``other``."""
    if coll.curation is None:
        return set()
    return {c for c, _, o, ident, _ in coll.curation.matches if o == other.name and ident == c}


def suggest(corpus: Corpus) -> list[Suggestion]:
    """Aliases within each study, then matches between studies, each once."""
    out: list[Suggestion] = []
    for coll in corpus.collections:
        taken = set(coll.curation.aliases) if coll.curation else set()
        codes = sorted(coll.codes.values(), key=lambda c: c.ident)
        for a, b in combinations(codes, 2):
            if a.ident in taken or b.ident in taken:
                continue
            if a.kind and b.kind and a.kind != b.kind:
                continue
            if fuzz.ratio(a.ident, b.ident) < TWIN_SCORE:
                continue
            # a defined spelling is the code, else the one more often used; the other its alias
            keep, twin = sorted((a, b), key=_preference)
            out.append(
                Suggestion(
                    coll.name,
                    "aliases",
                    f'{twin.ident} = "{keep.ident}"',
                    (_about(coll, keep), _about(coll, twin)),
                )
            )
    for first, second in combinations(corpus.collections, 2):
        declared = _matched(first, second) | _matched(second, first)
        for ident in sorted(first.codes.keys() & second.codes.keys()):
            a, b = first.codes[ident], second.codes[ident]
            if not a.resolved or not b.resolved or ident in declared:
                continue
            kind = "exact" if a.kind == b.kind else "close"
            out.append(
                Suggestion(
                    first.name,
                    "matches",
                    f'{ident} = {{ {kind} = "{second.name}/{ident}" }}',
                    (_about(first, a), _about(second, b)),
                )
            )
    return out
