"""Drift between a study's two layers: what its notes state against what its model published.

For each kind of statement (a source's evidence for a code, a force impact and its sign, a
decision's option and its name, a dependency, a next decision, a code's label and kind) the
statements of both layers are keyed alike and compared; each difference names the place on
both sides (``file:line``), so a researcher can open the note and the model line and decide
which is right. Nothing here decides it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from app.model import Collection, LinkKind, Loc

KINDS = ("evidence", "impact", "option", "dependency", "next", "label", "kind")


@dataclass(frozen=True, slots=True)
class Difference:
    """One statement the layers do not share, or share with different values."""

    kind: str  # one of KINDS
    subject: str  # what the statement is about, e.g. "s35 → run_tests"
    notes: str | None  # the notes' value ("stated", a sign, a name); None: the notes lack it
    model: str | None  # the model's value; None: the model lacks it
    notes_at: tuple[str, ...] = ()
    model_at: tuple[str, ...] = ()


@dataclass(slots=True)
class Drift:
    collection: str
    differences: list[Difference] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, int]]:
        """Per kind: statements only in the notes, only in the model, and with other values."""
        out = {k: {"notes only": 0, "model only": 0, "differ": 0} for k in KINDS}
        for d in self.differences:
            slot = (
                "model only" if d.notes is None else "notes only" if d.model is None else "differ"
            )
            out[d.kind][slot] += 1
        return out


def _at(loc: Loc) -> str:
    return f"{loc.file}:{loc.line}"


Side = dict[tuple[str, ...], dict[str, list[str]]]  # key -> value -> places


def _put(side: Side, key: tuple[str, ...], value: str, loc: Loc) -> None:
    side.setdefault(key, {}).setdefault(value, []).append(_at(loc))


def drift(coll: Collection) -> Drift:
    """The differences of ``coll``'s layers (none when it has no model layer)."""
    result = Drift(coll.name)
    layer = coll.model
    if layer is None:
        return result
    notes: dict[str, Side] = defaultdict(dict)
    model: dict[str, Side] = defaultdict(dict)
    for code in coll.codes.values():
        for sid, d in code.definitions:
            _put(notes["evidence"], (sid, code.ident), "stated", d.at)
        for sid, r in code.references:
            _put(notes["evidence"], (sid, code.ident), "stated", r.at)
    for (solution, force, level), stated in coll.impacts.items():
        for _, st in stated.statements:
            _put(notes["impact"], (solution, force), level, st.at)
    for (decision, option, name), ostated in coll.options.items():
        for _, ost in ostated.statements:
            _put(notes["option"], (decision, option), name, ost.at)
    for key, dstated in coll.dependencies.items():
        dependent, required, kind = key
        for _, dst in dstated.statements:
            _put(notes["dependency"], (dependent, required), kind, dst.at)
    names = {
        LinkKind.EVIDENCE: "evidence",
        LinkKind.IMPACT: "impact",
        LinkKind.OPTION: "option",
        LinkKind.DEPENDENCY: "dependency",
        LinkKind.NEXT: "next",
    }
    for link in layer.links:
        link_kind = names.get(link.kind) if link.kind is not None else None
        if link_kind is None:
            continue
        kind = link_kind
        value = (
            "stated"
            if kind == "evidence"
            else (link.name or "")
            if kind == "option"
            else (link.stereotype or "")
        )
        _put(model[kind], (link.source, link.target), value, link.at)
    for name, cls in layer.final.items():
        defined = coll.codes.get(name)
        if defined is None or defined.kind is None or not defined.definitions:
            continue
        _, first = defined.definitions[0]
        if defined.label is not None:
            _put(notes["label"], (name,), defined.label, first.at)
            _put(model["label"], (name,), cls.label, cls.at)
        _put(notes["kind"], (name,), defined.kind.value, first.at)
        _put(model["kind"], (name,), cls.metaclass, cls.at)
    for kind in KINDS:
        result.differences.extend(_compare(kind, notes[kind], model[kind]))
    return result


def _compare(kind: str, notes: Side, model: Side) -> list[Difference]:
    out: list[Difference] = []
    for key in sorted(set(notes) | set(model)):
        subject = " → ".join(key)
        n, m = notes.get(key, {}), model.get(key, {})
        n_at = tuple(p for places in n.values() for p in places)
        m_at = tuple(p for places in m.values() for p in places)
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
