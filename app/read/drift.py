"""Drift between a study's two layers, read from its graph: what its notes state against what
its consolidated model published.

For each kind of statement (a source's evidence for a code, a force impact and its sign, a
decision's option and its name, a dependency and its kind, a next decision, a code's label and
kind) the statements of both layers are keyed alike and compared; each difference names where
each side wrote it (``collection/file:line``), so a researcher can open the note and the model
line and decide which is right. Nothing here decides it.

Read from the graph, so ``meshkg drift``, ``meshkg validate`` and the JSON API show the same
differences: the notes' evidence is the sources whose note defines, mentions or states a code
(``mk:evidenceSource`` on the code), the model's the sources whose code list names it
(``mk:CodeEvidence``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from app.model import Diagnostic, Severity
from app.namespaces import ONTOLOGY_IRI, sparql_prologue
from app.order import natural
from app.store.seam import GraphReader
from app.terms import Row

KINDS = ("evidence", "impact", "option", "dependency", "next", "label", "kind")
NOTES, MODEL = "notes", "model"


@dataclass(frozen=True, slots=True)
class Difference:
    """One statement the layers do not share, or share with different values."""

    kind: str  # one of KINDS
    subject: str  # what the statement is about, e.g. "s35 → run_tests"
    notes: str | None  # the notes' value ("stated", a sign, a name); None: the notes lack it
    model: str | None  # the model's value; None: the model lacks it
    notes_at: tuple[str, ...] = ()  # "collection/file:line", each place the notes state it
    model_at: tuple[str, ...] = ()


@dataclass(slots=True)
class Drift:
    collection: str
    differences: list[Difference] = field(default_factory=list)

    def diagnostics(self, shown: Mapping[str, str]) -> list[Diagnostic]:
        """Each difference as an info finding at the model's line (the notes' when the model
        lacks it); ``shown`` maps a graph path (``collection/file``) to the path shown."""
        found = []
        for d in self.differences:
            place = (d.model_at or d.notes_at or ("",))[0]
            path, _, line = place.rpartition(":")
            other = d.notes_at if d.model_at else ()
            where = f" (notes: {', '.join(other)})" if other else ""
            found.append(
                Diagnostic(
                    Severity.INFO,
                    "layer-drift",
                    shown.get(path, path),
                    int(line) if line.isdigit() else 0,
                    f"{d.kind} {d.subject}: notes {d.notes or '—'}, model {d.model or '—'}{where}",
                )
            )
        return found

    def body(self, statement: str | None = None) -> dict[str, object]:
        """As the JSON API and ``meshkg drift --format json`` write it (``DriftOut``), with the
        differences of one kind of statement, or all."""
        return {
            "collection": self.collection,
            "counts": self.summary(),
            "disagreements": [
                {
                    "statement": d.kind,
                    "subject": d.subject,
                    "notes": d.notes,
                    "model": d.model,
                    "notes_at": list(d.notes_at),
                    "model_at": list(d.model_at),
                }
                for d in self.differences
                if statement is None or d.kind == statement
            ],
        }

    def summary(self) -> dict[str, dict[str, int]]:
        """Per kind: statements only in the notes, only in the model, and with other values."""
        out = {k: {"notes_only": 0, "model_only": 0, "differ": 0} for k in KINDS}
        for d in self.differences:
            slot = (
                "model_only" if d.notes is None else "notes_only" if d.model is None else "differ"
            )
            out[d.kind][slot] += 1
        return out


_PREFIXES = sparql_prologue("mk", "dcterms", "prov", "skos")
_PLACE = """?loc mk:seedFile ?file ; mk:line ?line . ?file mk:path ?path .
    BIND (IF(EXISTS { ?file a mk:ModelFile }, "model", "notes") AS ?layer)"""

# every query answers ?kind ?a ?b ?value ?layer ?path ?line: one statement of one layer
_FACTS = (
    _PREFIXES
    + """SELECT ?kind ?a ?b ?value ?layer ?path ?line WHERE {
    { ?f a mk:ForceImpact ; mk:solution ?x ; mk:force ?y . BIND ("impact" AS ?kind)
      OPTIONAL { ?f mk:impactLevel/skos:notation ?n1 } OPTIONAL { ?f mk:impactAsWritten ?w1 }
      BIND (COALESCE(?n1, ?w1) AS ?value) }
    UNION { ?f a mk:DecisionOption ; mk:decision ?x ; mk:option ?y . BIND ("option" AS ?kind)
      OPTIONAL { ?f mk:optionName ?n2 } BIND (COALESCE(?n2, "") AS ?value) }
    UNION { ?f a mk:Dependency ; mk:dependentSolution ?x ; mk:requiredSolution ?y .
      BIND ("dependency" AS ?kind)
      OPTIONAL { ?f mk:dependencyKind/skos:notation ?n3 }
      OPTIONAL { ?f mk:dependencyKindAsWritten ?w3 } BIND (COALESCE(?n3, ?w3) AS ?value) }
    UNION { ?f a mk:NextDecisionLink ; mk:priorSolution ?x ; mk:nextDecision ?y ;
      mk:nextKind/skos:notation ?value . BIND ("next" AS ?kind) }
    UNION { ?f a mk:CodeEvidence ; mk:evidenceSource ?x ; mk:evidencedCode ?y .
      BIND ("evidence" AS ?kind) BIND ("stated" AS ?value) }
    ?x dcterms:identifier ?a . ?y dcterms:identifier ?b .
    ?f prov:atLocation ?loc . """
    + _PLACE
    + " }"
)
_NOTES_EVIDENCE = (
    _PREFIXES
    + """SELECT ?kind ?a ?b ?value ?layer ?path ?line WHERE {
    ?code skos:inScheme ?codebook ; mk:codedIn ?block ; dcterms:identifier ?b .
    ?block dcterms:isPartOf ?source ; mk:line ?line .
    ?source dcterms:identifier ?a ; mk:seedFile ?file . ?file mk:path ?path .
    BIND ("evidence" AS ?kind) BIND ("stated" AS ?value) BIND ("notes" AS ?layer) }"""
)
_NOTES_DEFINITIONS = (
    _PREFIXES
    + """SELECT ?a ?label ?kind ?path ?line WHERE {
    ?code mk:definition ?d ; dcterms:identifier ?a ; skos:prefLabel ?label .
    ?d a mk:CodeDefinition ; mk:declaredKind ?k ; mk:line ?line ;
      mk:inSource/mk:seedFile/mk:path ?path .
    BIND (STRAFTER(STR(?k), "#") AS ?kind) }"""
)
_MODEL_DEFINITIONS = (
    _PREFIXES
    + """SELECT ?a ?label ?kind ?path ?line WHERE {
    ?code mk:definition ?d ; dcterms:identifier ?a .
    ?d a mk:ModelDefinition ; mk:label ?label ; mk:order ?order ; prov:atLocation ?loc .
    ?loc mk:seedFile/mk:path ?path ; mk:line ?line .
    OPTIONAL { ?d mk:declaredKind ?k } OPTIONAL { ?d mk:metaclassAsWritten ?written }
    BIND (COALESCE(STRAFTER(STR(?k), "#"), ?written) AS ?kind) } ORDER BY ?order"""
)

Side = dict[tuple[str, str], dict[str, list[str]]]  # (a, b) -> value -> places


def drift(reader: GraphReader, graph: str, collection: str) -> Drift:
    """The differences of the two layers of the collection whose named graph is ``graph``."""
    graphs = [graph, ONTOLOGY_IRI]  # the study, and the notations of the stereotypes
    sides: dict[str, dict[str, Side]] = {NOTES: defaultdict(dict), MODEL: defaultdict(dict)}
    for query in (_FACTS, _NOTES_EVIDENCE):
        for row in reader.select(query, graphs=graphs):
            _put(sides, row)
    notes = _definitions(reader.select(_NOTES_DEFINITIONS, graphs=graphs))
    model = _definitions(reader.select(_MODEL_DEFINITIONS, graphs=graphs), last_only=True)
    for key in notes.keys() & model.keys():  # codes both layers define
        for kind in ("label", "kind"):
            for layer, found in ((NOTES, notes), (MODEL, model)):
                for value, place in found[key][kind]:
                    places = sides[layer][kind].setdefault((key, ""), {}).setdefault(value, [])
                    places.append(place)
    result = Drift(collection)
    if not model and not any(sides[MODEL].values()):
        return result  # a study without a model layer has no drift
    for kind in KINDS:
        result.differences.extend(_compare(kind, sides[NOTES][kind], sides[MODEL][kind]))
    return result


def _put(sides: dict[str, dict[str, Side]], row: Row) -> None:
    def text(name: str) -> str:
        term = row.get(name)
        return term.value if term is not None else ""

    kind, layer = text("kind"), text("layer")
    place = f"{text('path')}:{text('line')}"
    values = sides[layer][kind].setdefault((text("a"), text("b")), {})
    places = values.setdefault(text("value"), [])
    if place not in places:
        places.append(place)


Definitions = dict[str, dict[str, list[tuple[str, str]]]]  # code -> label|kind -> values


def _definitions(rows: Iterator[Row], last_only: bool = False) -> Definitions:
    """Each code's labels and kinds with where they are written; with ``last_only``, those of
    its last definition only (the one Python keeps, rows coming in creation order)."""
    found: Definitions = {}
    for row in rows:
        code = row["a"].value
        place = f"{row['path'].value}:{row['line'].value}"
        entry = found.get(code)
        if entry is None or last_only:
            entry = found[code] = {"label": [], "kind": []}
        for kind in ("label", "kind"):
            term = row.get(kind)
            value = (
                (term.value if term is not None else "").casefold()
                if kind == "kind"
                else (term.value if term is not None else "")
            )
            if (value, place) not in entry[kind]:
                entry[kind].append((value, place))
    return found


def _compare(kind: str, notes: Side, model: Side) -> list[Difference]:
    out: list[Difference] = []
    for key in sorted(set(notes) | set(model), key=lambda k: (natural(k[0]), natural(k[1]))):
        subject = " → ".join(part for part in key if part)
        n, m = notes.get(key, {}), model.get(key, {})
        n_at = tuple(sorted({p for places in n.values() for p in places}, key=natural))
        m_at = tuple(sorted({p for places in m.values() for p in places}, key=natural))
        if not n or not m:
            out.append(
                Difference(
                    kind,
                    subject,
                    " | ".join(sorted(n)) or None,
                    " | ".join(sorted(m)) or None,
                    n_at,
                    m_at,
                )
            )
        elif kind != "evidence" and set(n) != set(m):
            out.append(
                Difference(kind, subject, " | ".join(sorted(n)), " | ".join(sorted(m)), n_at, m_at)
            )
    return out
