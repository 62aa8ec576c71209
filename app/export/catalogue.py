"""The decision catalogue (markdown), in the layout the study published.

Per decision, in creation order: its evidence and context, its options in link order (each
with its evidence and, when it has force links, one line per force link with the evidence of
the force that is also evidence of the decision), its next decisions; then every force with its
evidence. Spacing follows the study's file exactly, so a regenerated catalogue can be compared
with the published one byte for byte.
"""

from __future__ import annotations

from app.export.study import MK, Study


def names(items: list[str]) -> str:
    return ", ".join(items)


def catalogue(study: Study, title: str) -> str:
    label = study.labels.get
    out = [f"# {title}\n\n\n"]
    for decision in study.of_kind(MK + "Decision"):
        evidence = study.evidence_of(decision.code)
        contexts = [label(c.target, "") for c in study.contexts.get(decision.code, [])]
        out.append(f"## Decision: {decision.label}\n")
        out.append(f"**Evidences:** {names(evidence)}\n\n")
        out.append(f"**Context:** {names(contexts)}\n")
        out.append("\n### **Solution Options**\n")
        for i, option in enumerate(study.options.get(decision.code, []), start=1):
            out.append(f"#### Solution {i}: {label(option.target, '')}\n")
            out.append(f"**Evidences:** {names(study.evidence_of(option.target))}\n\n")
            forces = study.impacts.get(option.target, [])
            if forces:
                out.append("**Forces:**\n")
                for force in forces:
                    shared = [e for e in study.evidence_of(force.target) if e in evidence]
                    out.append(f"- {label(force.target, '')} ({force.kind}) [{names(shared)}]\n")
            out.append("\n")
        for nxt in study.next.get(decision.code, []):
            out.append(f"#### **Next Decision**: {label(nxt.target, '')}\n")
        out.append("\n\n")
    out.append("# Forces: \n")
    for element in study.of_kind(MK + "Force"):
        out.append(f"- {element.label} [{names(study.evidence_of(element.code))}]\n")
    out.append("\n\n")
    return "".join(out)
