"""The research views of a study: its guidance model with evidence, matrices, analytics, ranking.

Everything here is derived from the API tables (:mod:`app.read.tables`: codes, sources, quotes,
facts with the layers stating them, evidence) plus the few statements the tables do not hold
(next-decision links, which layers define a code, the model's code lists), read once per
snapshot. So a view is a pass over in-memory rows, and the pages, the JSON and the CSV of a
view are written from the same answer.

Two meanings of "the sources behind a sign" are offered, as the study's artefacts offer them:

- ``statement``: the sources whose notes state the impact (``add_force_relations``);
- ``code``: the sources that code both ends: their note defines, mentions or states both, or
  the consolidated model's code list names both.

Two layers: ``notes`` (what the field notes state) and ``model`` (the consolidated model);
``all`` is their union. A sign both state is one fact of both layers.
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from typing import Any

from app.namespaces import sparql_prologue
from app.order import natural
from app.read import lookup
from app.read.drift import Drift, drift
from app.read.tables import (
    KINDS,
    MK,
    CodeKind,
    CodeRow,
    Fact,
    MemoRow,
    QuoteRow,
    SourceRow,
    Tables,
)
from app.store.seam import GraphReader
from app.terms import Iri


class Evidence(StrEnum):
    """Which sources stand behind a sign (see the module's docstring)."""

    STATEMENT = "statement"
    CODE = "code"


class Layer(StrEnum):
    """Which layer's statements a view shows."""

    ALL = "all"
    NOTES = "notes"
    MODEL = "model"


NOTES_LAYER = MK + "NotesLayer"
MODEL_LAYER = MK + "ModelLayer"
_LAYER_IRI = {Layer.NOTES: NOTES_LAYER, Layer.MODEL: MODEL_LAYER}
LAYER_NAME = {NOTES_LAYER: "notes", MODEL_LAYER: "model"}

IMPACT = MK + "ForceImpact"
OPTION = MK + "DecisionOption"
DEPENDENCY = MK + "Dependency"

LEVEL_VALUE: dict[str, int] = {
    MK + "VeryPositive": 2,
    MK + "Positive": 1,
    MK + "Neutral": 0,
    MK + "PositiveAndNegative": 0,
    MK + "Negative": -1,
    MK + "VeryNegative": -2,
}
"""What a sign weighs in a ranking: ``++`` is 2 … ``--`` is -2; ``+/-`` (helps and hurts) is 0
and is flagged as mixed where it is used."""
MIXED = MK + "PositiveAndNegative"
SOLUTION_KINDS: tuple[CodeKind, ...] = ("practice", "pattern")

RANKING_RULE = (
    "An option's score is the sum, over the chosen forces, of the force's weight times the "
    "option's sign on it (++ = 2, + = 1, o = 0, +/- = 0 (mixed), - = -1, -- = -2); when the "
    "chosen layers give an option several signs on one force, their mean counts. Ties go to "
    "the option with more sources behind its signs, then to its label."
)

# --- what the tables do not hold -----------------------------------------------------------

_PREFIXES = sparql_prologue("mk", "dcterms", "skos")
_NEXT = (
    _PREFIXES
    + """SELECT ?link ?from ?to ?kind ?layer ?line WHERE {
  ?link a mk:NextDecisionLink ; mk:priorSolution ?from ; mk:nextDecision ?to .
  OPTIONAL { ?link mk:nextKind ?kind } OPTIONAL { ?link mk:layer ?layer }
}"""
)
_DEFINED_IN = (
    _PREFIXES
    + """SELECT DISTINCT ?c ?model WHERE {
  ?c mk:definition ?d . BIND (EXISTS { ?d a mk:ModelDefinition } AS ?model)
}"""
)
_CODE_LISTS = (
    _PREFIXES
    + """SELECT DISTINCT ?c ?s WHERE { ?e a mk:CodeEvidence ; mk:evidencedCode ?c ;
  mk:evidenceSource ?s }"""
)
_NOTATIONS = _PREFIXES + "SELECT ?c ?n WHERE { ?c skos:notation ?n }"
_MENTIONS = _PREFIXES + "SELECT ?m ?c WHERE { ?m a mk:Memo ; mk:mentions ?c }"


@dataclass(frozen=True, slots=True)
class NextLink:
    """An "is next" link: after choosing ``solution``, decide ``decision`` (``kind``)."""

    iri: str
    solution: str
    decision: str
    kind: str | None
    layers: tuple[str, ...]


@dataclass(slots=True)
class Extra:
    """Per snapshot: what the views need beside the tables."""

    nexts: list[NextLink]
    defined_in: dict[str, set[str]]  # code IRI -> layer IRIs whose statements define it
    code_lists: dict[str, set[str]]  # code IRI -> source IRIs whose model code list names it
    notations: dict[str, str]  # concept IRI -> its notation (impact levels, next kinds, …)
    mentions: dict[str, list[str]]  # code IRI -> the memos naming it


def _extra(reader: GraphReader) -> Extra:
    nexts: dict[str, NextLink] = {}
    layers: dict[str, set[str]] = defaultdict(set)
    for row in reader.select(_NEXT):
        link, src, dst = row.get("link"), row.get("from"), row.get("to")
        if not (isinstance(link, Iri) and isinstance(src, Iri) and isinstance(dst, Iri)):
            continue
        kind, layer = row.get("kind"), row.get("layer")
        if isinstance(layer, Iri):
            layers[link.value].add(layer.value)
        nexts.setdefault(
            link.value,
            NextLink(link.value, src.value, dst.value, kind.value if kind else None, ()),
        )
    found = [
        NextLink(n.iri, n.solution, n.decision, n.kind, tuple(sorted(layers[n.iri])))
        for n in sorted(nexts.values(), key=lambda n: n.iri)
    ]
    defined_in: dict[str, set[str]] = defaultdict(set)
    for row in reader.select(_DEFINED_IN):
        code, model = row.get("c"), row.get("model")
        if isinstance(code, Iri):
            is_model = model is not None and model.value in ("true", "1")
            defined_in[code.value].add(MODEL_LAYER if is_model else NOTES_LAYER)
    code_lists: dict[str, set[str]] = defaultdict(set)
    for row in reader.select(_CODE_LISTS):
        code, source = row.get("c"), row.get("s")
        if isinstance(code, Iri) and isinstance(source, Iri):
            code_lists[code.value].add(source.value)
    notations = {
        c.value: n.value
        for row in reader.select(_NOTATIONS)
        if isinstance(c := row.get("c"), Iri) and (n := row.get("n")) is not None
    }
    mentions: dict[str, list[str]] = defaultdict(list)
    for row in reader.select(_MENTIONS):
        memo, code = row.get("m"), row.get("c")
        if isinstance(memo, Iri) and isinstance(code, Iri):
            mentions[code.value].append(memo.value)
    return Extra(found, dict(defined_in), dict(code_lists), notations, dict(mentions))


# --- a study ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Study:
    """One collection's rows, arranged for the views (made once per snapshot and collection)."""

    name: str
    tables: Tables
    extra: Extra
    codes: list[CodeRow]  # by label
    sources: list[SourceRow]  # in review order (natural order of their identifiers)
    impacts: list[Fact]
    options: list[Fact]
    dependencies: list[Fact]
    nexts: list[NextLink]
    memo_by_iri: dict[str, MemoRow] = field(default_factory=dict)
    drift: Drift | None = None  # the layers' differences, made on first use (see differences)
    made: dict[tuple[object, ...], Any] = field(default_factory=dict)
    """Signs and decision views by evidence and layer: made once per snapshot, as the rows
    they come from never change; what a request asks beyond them is a pass over these."""

    @property
    def has_model(self) -> bool:
        """Whether a consolidated model defines any of the study's codes (its model layer)."""
        found: bool | None = self.made.get(("has model",))
        if found is None:
            defined = self.extra.defined_in
            found = self.made[("has model",)] = any(
                MODEL_LAYER in defined.get(c.iri, ()) for c in self.codes
            )
        return found

    def code(self, iri: str | None) -> CodeRow | None:
        return self.tables.code_by_iri.get(iri or "")

    def of_kind(self, kind: CodeKind) -> list[CodeRow]:
        return [c for c in self.codes if c.kind == kind]

    def layers_of(self, iri: str) -> tuple[str, ...]:
        """Which layers define a code (``notes``, ``model``)."""
        return tuple(sorted(LAYER_NAME[x] for x in self.extra.defined_in.get(iri, ())))

    def coded_by(self, code: str) -> set[str]:
        """The sources that code ``code``: their note defines, mentions or states it, or the
        model's code list of the source names it."""
        return set(self.tables.sources_of.get(code, ())) | self.extra.code_lists.get(code, set())

    def notation(self, concept: str | None) -> str:
        if concept is None:
            return ""
        return self.extra.notations.get(concept) or concept.rsplit("#", 1)[-1]


def in_layer(layers: list[str] | tuple[str, ...], layer: Layer) -> bool:
    """A statement's layers fit the chosen one (``all`` takes any statement)."""
    return layer is Layer.ALL or _LAYER_IRI[layer] in layers


def layer_names(layers: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(LAYER_NAME.get(x, x) for x in layers)


_cache: weakref.WeakKeyDictionary[GraphReader, dict[str, Study]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def study(reader: GraphReader, name: str) -> Study:
    """The study ``name`` of the graph (made on first use, from the graph's tables)."""
    tables = lookup.tables(reader)
    with _lock:
        studies = _cache.setdefault(reader, {})
        found = studies.get(name)
        if found is None:
            extra = next((x.extra for x in studies.values()), None) or _extra(reader)
            found = studies[name] = _arrange(tables, extra, name)
        return found


def _arrange(t: Tables, extra: Extra, name: str) -> Study:
    codes = sorted(
        (c for c in t.codes if c.collection == name),
        key=lambda c: ((c.label or c.ident).casefold(), c.ident),
    )
    sources = [s for s in t.sources_by("id") if s.collection == name]
    seen: dict[str, Fact] = {}
    for c in codes:
        for found in t.facts_of.get(c.iri, {}).values():
            for fact in found:
                seen.setdefault(fact.iri, fact)
    facts = sorted(seen.values(), key=lambda f: f.iri)
    iris = {c.iri for c in codes}
    return Study(
        name=name,
        tables=t,
        extra=extra,
        codes=codes,
        sources=sources,
        impacts=[f for f in facts if f.type == IMPACT],
        options=[f for f in facts if f.type == OPTION],
        dependencies=[f for f in facts if f.type == DEPENDENCY],
        nexts=[n for n in extra.nexts if n.solution in iris or n.decision in iris],
        memo_by_iri={m.iri: m for m in t.memos if m.collection == name},
    )


def _label(c: CodeRow) -> tuple[str, str]:
    return ((c.label or c.ident).casefold(), c.ident)


# --- signs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sign:
    """One impact of a solution on a force, with the sources behind it."""

    fact: Fact
    solution: CodeRow
    force: CodeRow
    level: str  # the impact level's IRI
    notation: str  # "++", "+", …
    layers: tuple[str, ...]  # "notes", "model"
    sources: tuple[SourceRow, ...]  # by the chosen evidence semantics, in review order

    @property
    def value(self) -> int:
        return LEVEL_VALUE.get(self.level, 0)


def signs(s: Study, evidence: Evidence, layer: Layer) -> list[Sign]:
    """Every impact of the study in ``layer``, with its sources by ``evidence`` (never change
    the list: it is kept for the next request)."""
    key = ("signs", evidence, layer)
    found: list[Sign] | None = s.made.get(key)
    if found is None:
        found = s.made[key] = _signs(s, evidence, layer)
    return found


def _signs(s: Study, evidence: Evidence, layer: Layer) -> list[Sign]:
    out = []
    for fact in s.impacts:
        if not in_layer(fact.layers, layer):
            continue
        solution, force = fact.code(s.tables, "solution"), fact.code(s.tables, "force")
        if solution is None or force is None:
            continue
        level = fact.links.get(MK + "impactLevel", "")
        out.append(
            Sign(
                fact,
                solution,
                force,
                level,
                s.notation(level) if level else "?",
                layer_names(fact.layers),
                _behind(s, fact, solution.iri, force.iri, evidence),
            )
        )
    return out


def _behind(s: Study, fact: Fact, a: str, b: str, evidence: Evidence) -> tuple[SourceRow, ...]:
    if evidence is Evidence.STATEMENT:
        return tuple(fact.sources)
    both = s.coded_by(a) & s.coded_by(b)
    rows = [s.tables.source_by_iri[x] for x in both if x in s.tables.source_by_iri]
    return tuple(sorted(rows, key=lambda r: natural(r.id)))


# --- the decision catalogue ------------------------------------------------------------------


@dataclass(slots=True)
class OptionView:
    option: CodeRow
    names: list[str]
    layers: tuple[str, ...]
    signs: list[Sign]
    nexts: list[tuple[CodeRow, str, tuple[str, ...]]]  # next decision, kind notation, layers
    dependencies: list[tuple[str, CodeRow, str, tuple[str, ...]]]
    """(direction, other end, kind, layers): "out" this depends on the other ("requires X"),
    "in" the other depends on this ("X requires this")."""


@dataclass(slots=True)
class DecisionView:
    decision: CodeRow
    layers: tuple[str, ...]
    options: list[OptionView]
    differences: int  # statements of this decision only one layer makes

    @property
    def forces(self) -> list[CodeRow]:
        found = {sg.force.iri: sg.force for o in self.options for sg in o.signs}
        return sorted(found.values(), key=_label)


def decisions(s: Study, evidence: Evidence, layer: Layer) -> list[DecisionView]:
    """Each decision with its options, their signs, next decisions and dependencies (kept, as
    :func:`signs` is)."""
    key = ("decisions", evidence, layer)
    found: list[DecisionView] | None = s.made.get(key)
    if found is None:
        found = s.made[key] = _decisions(s, evidence, layer)
    return found


def _decisions(s: Study, evidence: Evidence, layer: Layer) -> list[DecisionView]:
    by_solution: dict[str, list[Sign]] = defaultdict(list)
    for sg in signs(s, evidence, layer):
        by_solution[sg.solution.iri].append(sg)
    out = []
    for decision in s.of_kind("decision"):
        options: dict[str, OptionView] = {}
        for fact in s.options:
            if fact.links.get(MK + "decision") != decision.iri or not in_layer(fact.layers, layer):
                continue
            option = fact.code(s.tables, "option")
            if option is None:
                continue
            view = options.get(option.iri)
            if view is None:
                view = options[option.iri] = OptionView(
                    option, [], (), sorted(by_solution.get(option.iri, []), key=_sign_order), [], []
                )
            name = fact.texts.get(MK + "optionName")
            if isinstance(name, str) and name not in view.names:
                view.names.append(name)
            view.layers = tuple(sorted(set(view.layers) | set(layer_names(fact.layers))))
        for view in options.values():
            view.nexts = _nexts(s, view.option.iri, layer)
            view.dependencies = _dependencies(s, view.option.iri, layer)
        ordered = sorted(options.values(), key=lambda o: _label(o.option))
        differences = (
            sum(
                1
                for o in ordered
                for layers in (o.layers, *(sg.layers for sg in o.signs))
                if len(layers) == 1
            )
            if s.has_model
            else 0
        )
        out.append(DecisionView(decision, s.layers_of(decision.iri), ordered, differences))
    return out


def _sign_order(sg: Sign) -> tuple[object, ...]:
    return (_label(sg.force), -sg.value, sg.notation)


def _nexts(s: Study, solution: str, layer: Layer) -> list[tuple[CodeRow, str, tuple[str, ...]]]:
    out = []
    for n in s.nexts:
        if n.solution == solution and in_layer(n.layers, layer):
            target = s.code(n.decision)
            if target is not None:
                out.append((target, s.notation(n.kind), layer_names(n.layers)))
    return sorted(out, key=lambda x: _label(x[0]))


def _dependencies(
    s: Study, solution: str, layer: Layer
) -> list[tuple[str, CodeRow, str, tuple[str, ...]]]:
    out = []
    for fact in s.dependencies:
        if not in_layer(fact.layers, layer):
            continue
        kind = fact.links.get(MK + "dependencyKind")
        written = fact.texts.get(MK + "dependencyKindAsWritten")
        name = s.notation(kind) if kind else str(written or "")
        dependent = fact.links.get(MK + "dependentSolution")
        required = fact.links.get(MK + "requiredSolution")
        if dependent == solution and (other := s.code(required)) is not None:
            out.append(("out", other, name, layer_names(fact.layers)))
        elif required == solution and (other := s.code(dependent)) is not None:
            out.append(("in", other, name, layer_names(fact.layers)))
    return sorted(out, key=lambda x: (x[0], _label(x[1]), x[2]))


# --- matrices --------------------------------------------------------------------------------


@dataclass(slots=True)
class ImpactMatrix:
    """Solutions × forces: each cell holds the signs of one solution on one force.

    ``rows`` is one page of ``total`` rows; ``columns`` are the forces those rows touch.
    """

    rows: list[CodeRow]
    columns: list[CodeRow]
    cells: dict[tuple[str, str], list[Sign]]
    total: int


def impact_matrix(
    s: Study,
    evidence: Evidence,
    layer: Layer,
    *,
    kind: CodeKind | None = None,
    sort: str = "label",
    offset: int = 0,
    limit: int | None = None,
) -> ImpactMatrix:
    """Which solutions address which forces, with signs and the sources behind each; rows
    sorted by label, by how many sources stand behind them (``evidence``) or by how many
    forces they touch (``forces``), then cut to one page."""
    cells: dict[tuple[str, str], list[Sign]] = defaultdict(list)
    rows: dict[str, CodeRow] = {}
    behind: dict[str, set[str]] = defaultdict(set)
    width: dict[str, set[str]] = defaultdict(set)
    for sg in signs(s, evidence, layer):
        if kind is not None and sg.solution.kind != kind:
            continue
        rows[sg.solution.iri] = sg.solution
        cells[(sg.solution.iri, sg.force.iri)].append(sg)
        behind[sg.solution.iri].update(x.iri for x in sg.sources)
        width[sg.solution.iri].add(sg.force.iri)
    ordered = sorted(rows.values(), key=_label)
    if sort == "evidence":
        ordered.sort(key=lambda r: -len(behind[r.iri]))
    elif sort == "forces":
        ordered.sort(key=lambda r: -len(width[r.iri]))
    shown = ordered[offset : None if limit is None else offset + limit]
    keep = {r.iri for r in shown}
    page = {key: found for key, found in cells.items() if key[0] in keep}
    for found in page.values():
        found.sort(key=_sign_order)
    columns = {f for _, f in page}
    return ImpactMatrix(
        shown,
        sorted((c for c in map(s.code, columns) if c is not None), key=_label),
        page,
        len(ordered),
    )


@dataclass(slots=True)
class CodeSourceMatrix:
    """Codes × sources: whether a source is evidence of a code, and with how many quotes.

    ``rows`` is one page of ``total`` codes; ``columns`` the sources (in review order) that
    are evidence of at least one of them; ``sources`` per row counts all its sources.
    """

    rows: list[CodeRow]
    columns: list[SourceRow]
    cells: dict[tuple[str, str], int]  # (code, source) -> evidence quotes; 0: evidence, no quote
    sources: dict[str, int]
    total: int


def _quote_sources(s: Study, code: str) -> dict[str, int]:
    """Per source, how many quotes are coded with ``code``."""
    counts: dict[str, int] = defaultdict(int)
    for i in s.tables.quoted_for.get(code, ()):
        counts[s.tables.quotes[i].source] += 1
    return counts


def code_source_matrix(
    s: Study,
    evidence: Evidence,
    *,
    kind: CodeKind | None = None,
    sort: str = "label",
    offset: int = 0,
    limit: int | None = None,
) -> CodeSourceMatrix:
    """Per code of ``kind`` (all kinds by default), its evidence sources and quotes in each;
    codes sorted by label or by how many sources (``sources``), then cut to one page."""
    codes = [c for c in s.codes if kind is None or c.kind == kind]

    def sources_of(c: CodeRow) -> set[str]:
        if evidence is Evidence.CODE:
            return s.coded_by(c.iri)
        return set(s.tables.sources_of.get(c.iri, ()))

    if sort == "sources":
        count: dict[str, int] | None = s.made.get(("sources per code", evidence))
        if count is None:
            count = s.made[("sources per code", evidence)] = {
                c.iri: len(sources_of(c)) for c in s.codes
            }
        codes = sorted(codes, key=lambda c: (-count[c.iri], _label(c)))
    shown = codes[offset : None if limit is None else offset + limit]
    cells: dict[tuple[str, str], int] = {}
    per_row: dict[str, int] = {}
    for c in shown:
        quoted = _quote_sources(s, c.iri)
        found = sources_of(c) | set(quoted)
        per_row[c.iri] = len(found)
        for src in found:
            cells[(c.iri, src)] = quoted.get(src, 0)
    used = {src for _, src in cells}
    columns = [x for x in s.sources if x.iri in used]
    return CodeSourceMatrix(shown, columns, cells, per_row, len(codes))


@dataclass(slots=True)
class CoMatrix:
    """Code co-occurrence: how often two codes are coded in the same source or segment."""

    scope: str  # "source" | "segment"
    codes: list[CodeRow]
    cells: dict[tuple[str, str], int]  # both orders present; the diagonal is a code's own count


def co_occurrence(
    s: Study, scope: str = "source", kind: CodeKind | None = None, top: int = 30
) -> CoMatrix:
    """Among the ``top`` most frequent codes (of ``kind``), the sources (``scope="source"``)
    or quotes (``scope="segment"``: coded segments) the two codes share."""
    what: dict[str, set[int] | set[str]] = {}
    for c in s.codes:
        if kind is not None and c.kind != kind:
            continue
        if scope == "segment":
            what[c.iri] = set(s.tables.quoted_for.get(c.iri, ()))
        else:
            what[c.iri] = set(s.tables.sources_of.get(c.iri, ()))
    ranked = sorted(
        (c for c in s.codes if what.get(c.iri)),
        key=lambda c: (-len(what[c.iri]), _label(c)),
    )[: max(top, 0)]
    cells: dict[tuple[str, str], int] = {}
    for c in ranked:
        cells[(c.iri, c.iri)] = len(what[c.iri])
    for a, b in combinations(ranked, 2):
        n = len(what[a.iri] & what[b.iri])
        if n:
            cells[(a.iri, b.iri)] = cells[(b.iri, a.iri)] = n
    return CoMatrix(scope, ranked, cells)


# --- drill-down ------------------------------------------------------------------------------


@dataclass(slots=True)
class Passage:
    """A quote behind a cell, with why it is there."""

    quote: QuoteRow
    codes: list[CodeRow]


def cell_quotes(
    s: Study,
    codes: list[str],
    source: str | None = None,
    scope: str = "segment",
    facts: list[Fact] | None = None,
) -> list[QuoteRow]:
    """The quotes behind a cell, in review order.

    With ``facts`` (an impact cell): the quotes of the coding blocks stating those impacts.
    Otherwise the quotes coded with every code of ``codes`` (``scope="segment"``), or in
    sources evidencing all of them, the quotes coded with any of them (``scope="source"``);
    ``source`` keeps one source's.
    """
    t = s.tables
    if facts is not None:
        found = {i for f in facts for i in t.quoted_for.get(f.iri, ())}
    elif scope == "segment" or len(codes) < 2:
        sets = [set(t.quoted_for.get(c, ())) for c in codes]
        found = set.intersection(*sets) if sets else set()
    else:
        shared = set.intersection(*(set(t.sources_of.get(c, ())) for c in codes))
        found = {i for c in codes for i in t.quoted_for.get(c, ()) if t.quotes[i].source in shared}
    rows = [t.quotes[i] for i in sorted(found)]
    if source is not None:
        rows = [q for q in rows if q.source == source]
    return rows


# --- analytics -------------------------------------------------------------------------------


@dataclass(slots=True)
class Analytics:
    frequency: list[tuple[CodeRow, int]]  # codes by how many sources evidence them
    single_source: list[tuple[CodeRow, SourceRow]]
    saturation: list[tuple[SourceRow, list[CodeRow], int]]  # source, its new codes, total so far
    uncoded: list[CodeRow]  # codes no source evidences (model-only, or only referenced)


def analytics(s: Study, kind: CodeKind | None = None) -> Analytics:
    """Groundedness (sources per code), codes resting on one source, and saturation: the codes
    each source adds, in review order (kept, as :func:`signs` is)."""
    found: Analytics | None = s.made.get(("analytics", kind))
    if found is None:
        found = s.made[("analytics", kind)] = _analytics(s, kind)
    return found


def _analytics(s: Study, kind: CodeKind | None) -> Analytics:
    t = s.tables
    codes = [c for c in s.codes if kind is None or c.kind == kind]
    frequency = sorted(
        ((c, len(t.sources_of.get(c.iri, ()))) for c in codes),
        key=lambda x: (-x[1], _label(x[0])),
    )
    single = [
        (c, t.source_by_iri[t.sources_of[c.iri][0]])
        for c, n in frequency
        if n == 1 and t.sources_of[c.iri][0] in t.source_by_iri
    ]
    wanted = {c.iri for c in codes}
    seen: set[str] = set()
    saturation = []
    for src in s.sources:
        new = [
            t.code_by_iri[c]
            for c in t.codes_of.get(src.iri, ())
            if c in wanted and c not in seen and c in t.code_by_iri
        ]
        seen.update(c.iri for c in new)
        saturation.append((src, sorted(new, key=_label), len(seen)))
    uncoded = [c for c, n in frequency if n == 0]
    return Analytics(frequency, single, saturation, uncoded)


def counts(s: Study) -> dict[str, dict[str, int]]:
    """Per kind: the codes each layer defines (``notes``, ``model``), both, and in all."""
    out: dict[str, dict[str, int]] = {
        k: {"notes": 0, "model": 0, "both": 0, "all": 0} for k in KINDS
    }
    for c in s.codes:
        row = out[c.kind]
        row["all"] += 1
        layers = s.layers_of(c.iri)
        for name in layers:
            row[name] += 1
        if len(layers) == 2:
            row["both"] += 1
    return out


def fact_counts(s: Study) -> dict[str, dict[str, int]]:
    """Per kind of statement: how many each layer states, both, and in all."""
    groups: dict[str, list[tuple[str, ...]]] = {
        "impact": [tuple(f.layers) for f in s.impacts],
        "option": [tuple(f.layers) for f in s.options],
        "dependency": [tuple(f.layers) for f in s.dependencies],
        "next": [n.layers for n in s.nexts],
    }
    out = {}
    for name, layers in groups.items():
        row = {"notes": 0, "model": 0, "both": 0, "all": len(layers)}
        for found in layers:
            for x in found:
                row[LAYER_NAME.get(x, "notes")] += 1
            if len(found) == 2:
                row["both"] += 1
        out[name] = row
    return out


# --- decision guidance -----------------------------------------------------------------------


@dataclass(slots=True)
class Ranked:
    option: CodeRow
    score: float
    parts: list[tuple[CodeRow, float, list[Sign]]]  # force, weight, the option's signs on it
    mixed: bool
    sources: int

    @property
    def names(self) -> str:
        return self.option.label or self.option.ident


@dataclass(slots=True)
class Ranking:
    decision: CodeRow
    options: list[Ranked]


def rank(s: Study, weights: dict[str, float], evidence: Evidence, layer: Layer) -> list[Ranking]:
    """Each decision's options ranked by their evidenced impacts on the weighted forces
    (``weights``: force IRI -> how much it matters, negative to avoid it); see
    :data:`RANKING_RULE`. Decisions none of whose options touch a chosen force come last."""
    out = []
    for view in decisions(s, evidence, layer):
        ranked = []
        for o in view.options:
            parts = []
            score = 0.0
            mixed = False
            sources: set[str] = set()
            for force, weight in weights.items():
                found = [sg for sg in o.signs if sg.force.iri == force]
                if not found:
                    continue
                values = sorted({(sg.level, sg.value) for sg in found})
                mean = sum(v for _, v in values) / len(values)
                score += weight * mean
                mixed = mixed or any(level == MIXED for level, _ in values)
                sources.update(x.iri for sg in found for x in sg.sources)
                row = s.code(force)
                if row is not None:
                    parts.append((row, weight, found))
            ranked.append(Ranked(o.option, score, parts, mixed, len(sources)))
        ranked.sort(key=lambda r: (-r.score, -r.sources, _label(r.option)))
        out.append(Ranking(view.decision, ranked))
    touched = [r for r in out if any(o.parts for o in r.options)]
    rest = [r for r in out if not any(o.parts for o in r.options)]
    return touched + rest


# --- what a code's page leads with -----------------------------------------------------------


@dataclass(slots=True)
class CodeSummary:
    """What matters about one code, before its evidence: the forces a solution affects and
    the decisions it is an option of, the solutions affecting a force, a decision's options;
    then the memos naming it."""

    code: CodeRow
    signs: list[Sign]  # the code's impacts (as solution), or the impacts on it (as force)
    option_of: list[tuple[CodeRow, list[str], tuple[str, ...]]]  # decision, names, layers
    decision: DecisionView | None
    dependencies: list[tuple[str, CodeRow, str, tuple[str, ...]]]
    nexts: list[tuple[CodeRow, str, tuple[str, ...]]]
    memos: list[MemoRow]


def summary(s: Study, iri: str, evidence: Evidence = Evidence.STATEMENT) -> CodeSummary | None:
    """The summary of code ``iri`` over both layers, or ``None`` when it is not a code here."""
    code = s.code(iri)
    if code is None:
        return None
    if code.kind == "force":
        found = [sg for sg in signs(s, evidence, Layer.ALL) if sg.force.iri == iri]
        found.sort(key=lambda sg: (-sg.value, _label(sg.solution)))
    else:
        found = [sg for sg in signs(s, evidence, Layer.ALL) if sg.solution.iri == iri]
        found.sort(key=_sign_order)
    option_of: dict[str, tuple[CodeRow, list[str], set[str]]] = {}
    for fact in s.options:
        decision = fact.code(s.tables, "decision")
        if fact.links.get(MK + "option") != iri or decision is None:
            continue
        entry = option_of.setdefault(decision.iri, (decision, [], set()))
        name = fact.texts.get(MK + "optionName")
        if isinstance(name, str) and name not in entry[1]:
            entry[1].append(name)
        entry[2].update(layer_names(fact.layers))
    view = None
    if code.kind == "decision":
        view = next((d for d in decisions(s, evidence, Layer.ALL) if d.decision.iri == iri), None)
    memos = [s.memo_by_iri[m] for m in s.extra.mentions.get(iri, ()) if m in s.memo_by_iri]
    memos.sort(key=lambda m: (natural(m.source_id), m.position))
    return CodeSummary(
        code,
        found,
        [(d, names, tuple(sorted(ls))) for d, names, ls in option_of.values()],
        view,
        _dependencies(s, iri, Layer.ALL),
        _nexts(s, iri, Layer.ALL),
        memos,
    )


def differences(reader: GraphReader, s: Study, graph: str) -> Drift:
    """What the study's notes and its model state differently, read once per snapshot."""
    if s.drift is None:
        s.drift = drift(reader, graph, s.name)
    return s.drift
