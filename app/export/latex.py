"""The study's LaTeX tables: sources, forces, and the overview of decisions and options.

Cells are shaded by a share of evidence, in seven steps (``emerald_shape_1`` … ``_7``): a
force by its evidence count over the number of forces (the denominator the study printed), a
decision by its evidence count over the number of sources, an option by its evidence count over
its decision's. A source's link goes to ``https://<tiny url>``, or to the tiny URL itself when
it already holds a scheme, or to its URL for the sources named in ``by_url`` (the study linked
three sources by URL because their short links were broken).
"""

from __future__ import annotations

from collections.abc import Collection

from app.export.catalogue import names
from app.export.study import MK, Study

_STEPS = (0.05, 0.10, 0.20, 0.35, 0.5, 0.7)


def shade(part: int, whole: int) -> str:
    share = part / whole if whole else 0.0
    step = next((i for i, limit in enumerate(_STEPS, start=1) if share < limit), len(_STEPS) + 1)
    return f"\\cellcolor{{emerald_shape_{step}}}"


def _header(cells: list[str]) -> str:
    return " & ".join(f"{{\\bf {c}}}" for c in cells) + "\\\\\n"


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def sources_table(study: Study, by_url: Collection[str] = ()) -> str:
    out = ["\\begin{tabular}{|c|p{0.4\\linewidth}|l|l|c|c|}\n", "\\hline\n"]
    out.append(_header(["ID", "Title", "Tiny URL", "Source Type", "Example", "Source Code"]))
    out.append("\\hline\n")
    for s in study.sources:
        if s.ident in by_url:
            target = s.url
        elif s.tiny_url.startswith(("http://", "https://")):
            target = s.tiny_url
        else:
            target = f"https://{s.tiny_url}"
        out.append(
            f"{s.ident} &  {{\\em {s.title}}} & \\href{{{target}}}{{{s.tiny_url}}} & "
            f"{s.source_type} & {_yes(s.example)} & {_yes(s.source_code)}\\\\\n"
        )
    out.append("\\bottomrule\n\\end{tabular}\n")
    return "".join(out)


def force_numbers(study: Study) -> dict[str, str]:
    """``f1``, ``f2``, … by creation order of the forces (a code's first definition)."""
    numbers: dict[str, str] = {}
    for i, force in enumerate(study.of_kind(MK + "Force"), start=1):
        numbers.setdefault(force.code, f"f{i}")
    return numbers


def force_table(study: Study) -> str:
    forces = study.of_kind(MK + "Force")
    out = ["\\begin{tabular}{|c|p{0.48\\columnwidth}|p{0.37\\columnwidth}|}\n", "\\hline\n"]
    out.append(_header(["ID", "Force", "Evidences"]))
    out.append("\\hline\n")
    for i, force in enumerate(forces, start=1):
        evidence = study.evidence_of(force.code)
        out.append(
            f"f{i} & {force.label} & {shade(len(evidence), len(forces))} {{{names(evidence)}}}"
            "\\\\\n"
        )
    out.append("\\hline\n\\end{tabular}\n")
    return "".join(out)


def overview_table(study: Study) -> str:
    numbers = force_numbers(study)
    label = study.labels.get
    out = [
        "\\begin{tabular}{|p{0.12\\linewidth}|p{0.015\\linewidth}|p{0.3\\linewidth}|"
        "p{0.15\\linewidth}|p{0.31\\linewidth}|}\n",
        "\\hline\n",
        _header(["Design Decision", "\\#", "Solution", "Evidences", "Forces"]),
        "\\hline\n",
    ]
    for decision in study.of_kind(MK + "Decision"):
        evidence = study.evidence_of(decision.code)
        options = study.options.get(decision.code, [])
        n = len(options)
        colour = shade(len(evidence), len(study.sources))
        out.append(f"\\multirow{{{n}}}{{\\linewidth}}{{{decision.label}}} &")
        if n == 1:
            out.append(f"\\multirow{{1}}{{\\linewidth}}{{ {colour}{{{len(evidence)}}}}} &")
        else:
            out.append(f"{colour}{{}} &")
        for i, option in enumerate(options):
            if n != 1 and i == n - 1:
                out.append(
                    f" & \\multirow{{-{n}}}{{\\linewidth}}{{ {colour}{{{len(evidence)}}}}} &"
                )
            elif i != 0:
                out.append(f" & {colour}{{}} & ")
            own = study.evidence_of(option.target)
            forces = ", ".join(
                f"{numbers.get(f.target, '?')}({f.kind.replace('--', '-{}-')})"
                for f in study.impacts.get(option.target, [])
            )
            out.append(
                f"{i + 1}.{label(option.target, '')}&{shade(len(own), len(evidence))}"
                f"{{{names(own)}}} & {forces}\\\\\n"
            )
    footnote = ", ".join(
        f"{{\\bf f{i}}}:{force.label} [{names(study.evidence_of(force.code))}]"
        for i, force in enumerate(study.of_kind(MK + "Force"), start=1)
    )
    out.append("\\hline\n")
    out.append("\\multicolumn{5}{l}{\\parbox{\\textwidth}{\\smallskip\n")
    out.append(f"{{\\bf Forces Codes/Sources}}: {footnote}}}}}\n\\end{{tabular}}\n")
    return "".join(out)
