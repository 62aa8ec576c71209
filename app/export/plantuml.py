"""The model's views as PlantUML class diagrams, one per view.

A view lists its classes, or holds what is connected to its start class by the links made
before the view was (as the modelling library walked the model when the view's statement
ran): the walk goes along links either way, leaves out its stops and every class of its stop
kinds, and does not go beyond its boundaries. Every link between two classes of the view is
drawn, stereotyped as the study's diagrams are (``«Option»`` with the option's name, an
impact's sign, a dependency's or next decision's kind).
"""

from __future__ import annotations

import re
from collections import defaultdict

from app.export.study import MK, Link, Study, View

HEADER = """@startuml
skinparam monochrome true
skinparam ClassBackgroundColor White
hide empty members
hide circle
skinparam defaultFontName Arial
skinparam defaultFontSize 11
skinparam classfontstyle bold
"""
KIND_NAMES = {
    MK + "Decision": "Decision",
    MK + "Practice": "Practice",
    MK + "Pattern": "Pattern",
    MK + "Force": "Force",
    MK + "DoNothing": "Do Nothing",
    MK + "DesignSolution": "Design Solution",
    MK + "DomainClass": "Domain Class",
    MK + "Category": "Category",
    MK + "KnownUse": "Known Use",
}
STEREOTYPE_NAMES = {
    "requires": "Requires",
    "uses": "Uses",
    "can_use": "Can Use",
    "can_be_combined_with": "Can be Combined With",
    "can_be_realized_with": "Can be Realized With",
    "variant": "Variant",
    "extension": "Extension",
    "is_a": "Is a",
    "realizes": "Realizes",
    "includes": "Includes",
    "alternative_to": "Alternative To",
    "rules_out": "Rules Out",
    "influences": "Influences",
    "leads_to": "Leads To",
    "enables": "Enables",
    "depends_on": "Depends On",
    "mandatory_next": "Mandatory Next",
    "optional_next": "Optional Next",
    "next_decision": "Next Decision",
    "consider_if_not_decided_yet": "Consider If Not Decided Yet",
    "decide_for_all_instances_of": "Decide For All Instances Of",
    "decide_for_some_instances_of": "Decide For Some Instances Of",
}
"""The library's names of the stereotypes, as the study's diagrams show them."""

_ALIAS = re.compile(r"[^0-9A-Za-z]")


def members(view: View, study: Study) -> set[str]:
    """The classes of ``view``."""
    if not view.start:
        return set(view.elements)
    around: dict[str, list[str]] = defaultdict(list)
    for link in study.links():
        if link.order < view.order:
            around[link.source].append(link.target)
            around[link.target].append(link.source)
    kept = {view.start}
    todo = [view.start]
    while todo:
        code = todo.pop()
        if code in view.boundaries and code != view.start:
            continue
        for other in around[code]:
            if other in kept or other in view.stops or study.kinds.get(other) in view.stop_kinds:
                continue
            kept.add(other)
            todo.append(other)
    return kept


def _label(link: Link) -> str:
    if link.kind == "option":
        return f'"«Option» \\n{{name = "{link.name}"}}\\n" '
    name = STEREOTYPE_NAMES.get(link.kind, link.kind)
    return f'"«{name}» \\n" '


def diagram(view: View, study: Study) -> str:
    classes = members(view, study)
    ordered = [e for e in dict.fromkeys(e.code for e in study.elements) if e in classes]
    alias: dict[str, str] = {}
    out = [HEADER]
    for i, code in enumerate(ordered, start=1):
        label = study.labels.get(code, "")
        alias[code] = f"__{i}_{_ALIAS.sub('_', label)}"
        kind = KIND_NAMES.get(study.kinds.get(code, ""), "Class")
        out.append(f'class "{label} : {kind}" as {alias[code]}\n')
    for link in study.links():
        if link.order < view.order and link.source in alias and link.target in alias:
            out.append(f"{alias[link.source]} --> {alias[link.target]}: {_label(link)}\n")
    out.append("@enduml\n")
    return "".join(out)


def diagrams(study: Study) -> dict[str, str]:
    """``plantuml/<view>.puml`` for every view."""
    return {f"plantuml/{view.name}.puml": diagram(view, study) for view in study.views}
