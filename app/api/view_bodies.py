"""The bodies of the research views: one dict per view, for its page, its JSON and its CSV.

A view's page is rendered from the very dict its ``.json`` twin sends, and its ``.csv`` twin is
the dict's ``table``: the three forms cannot say different things. Every code, source and
quote carries ``href``, the local page it opens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.read import research as r
from app.read.tables import CodeRow, QuoteRow, SourceRow

Body = dict[str, Any]
Href = Callable[[str | None], str | None]


class Writer:
    """Turns research rows into bodies, with local links."""

    def __init__(self, href: Href) -> None:
        self.href = href

    # --- references ------------------------------------------------------------------------

    def code(self, c: CodeRow) -> Body:
        return {
            "iri": c.iri,
            "href": self.href(c.iri),
            "id": c.ident,
            "label": c.label or c.ident,
            "kind": c.kind,
        }

    def source(self, s: SourceRow) -> Body:
        return {"iri": s.iri, "href": self.href(s.iri), "id": s.id, "title": s.title}

    def quote(self, q: QuoteRow) -> Body:
        return {
            "iri": q.iri,
            "href": self.href(q.iri),
            "text": q.text,
            "source": q.source_id,
            "source_href": self.href(q.source),
            "file": q.path,
            "line": q.line,
            "end_line": q.end_line,
        }

    def sign(self, sg: r.Sign) -> Body:
        return {
            "iri": sg.fact.iri,
            "href": self.href(sg.fact.iri),
            "solution": self.code(sg.solution),
            "force": self.code(sg.force),
            "sign": sg.notation,
            "value": sg.value,
            "layers": list(sg.layers),
            "sources": [self.source(x) for x in sg.sources],
            "stated_at": [{"file": x.path, "line": x.line} for x in sg.fact.locations],
        }

    # --- the decision catalogue ------------------------------------------------------------

    def decision(self, d: r.DecisionView) -> Body:
        return {
            "decision": self.code(d.decision),
            "layers": list(d.layers),
            "differences": d.differences,
            "options": [
                {
                    "option": self.code(o.option),
                    "names": o.names,
                    "layers": list(o.layers),
                    "signs": [self.sign(sg) for sg in o.signs],
                    "next": [
                        {"decision": self.code(c), "kind": kind, "layers": list(layers)}
                        for c, kind, layers in o.nexts
                    ],
                    "dependencies": [
                        {"direction": role, "other": self.code(c), "kind": kind, "layers": list(ls)}
                        for role, c, kind, ls in o.dependencies
                    ],
                }
                for o in d.options
            ],
        }

    def summary(self, sm: r.CodeSummary) -> Body:
        """What a code's page leads with (see :class:`app.read.research.CodeSummary`)."""
        return {
            "kind": sm.code.kind,
            "signs": [self.sign(sg) for sg in sm.signs],
            "option_of": [
                {"decision": self.code(d), "names": names, "layers": list(layers)}
                for d, names, layers in sm.option_of
            ],
            "decision": self.decision(sm.decision) if sm.decision is not None else None,
            "dependencies": [
                {"direction": role, "other": self.code(c), "kind": kind, "layers": list(ls)}
                for role, c, kind, ls in sm.dependencies
            ],
            "next": [
                {"decision": self.code(c), "kind": kind, "layers": list(layers)}
                for c, kind, layers in sm.nexts
            ],
            "memos": [
                {
                    "iri": m.iri,
                    "href": self.href(m.iri),
                    "text": m.text,
                    "source": m.source_id,
                    "source_href": self.href(m.source),
                    "line": m.line,
                }
                for m in sm.memos
            ],
        }


def catalogue_table(body: Body) -> tuple[list[str], list[list[object]]]:
    """One row per sign of an option (an option without signs has one empty row)."""
    head = ["decision", "option", "option names", "force", "sign", "layers", "sources"]
    rows: list[list[object]] = []
    for d in body["decisions"]:
        for o in d["options"]:
            first = [d["decision"]["id"], o["option"]["id"], " | ".join(o["names"])]
            if not o["signs"]:
                rows.append([*first, "", "", " ".join(o["layers"]), ""])
            for sg in o["signs"]:
                sources = " ".join(x["id"] for x in sg["sources"])
                rows.append(
                    [*first, sg["force"]["id"], sg["sign"], " ".join(sg["layers"]), sources]
                )
    return head, rows


def impacts_body(w: Writer, m: r.ImpactMatrix) -> Body:
    return {
        "total": m.total,
        "rows": [w.code(c) for c in m.rows],
        "columns": [w.code(c) for c in m.columns],
        "cells": [
            {
                "row": a,
                "column": b,
                "signs": [
                    {
                        "sign": sg.notation,
                        "value": sg.value,
                        "layers": list(sg.layers),
                        "sources": [x.id for x in sg.sources],
                    }
                    for sg in found
                ],
            }
            for (a, b), found in sorted(m.cells.items())
        ],
    }


def impacts_table(body: Body) -> tuple[list[str], list[list[object]]]:
    ids = {c["iri"]: c["id"] for c in (*body["rows"], *body["columns"])}
    rows: list[list[object]] = [
        [
            ids[cell["row"]],
            ids[cell["column"]],
            s["sign"],
            " ".join(s["layers"]),
            len(s["sources"]),
            " ".join(s["sources"]),
        ]
        for cell in body["cells"]
        for s in cell["signs"]
    ]
    return ["solution", "force", "sign", "layers", "sources", "source ids"], rows


def coding_body(w: Writer, m: r.CodeSourceMatrix) -> Body:
    return {
        "total": m.total,
        "rows": [w.code(c) | {"sources": m.sources[c.iri]} for c in m.rows],
        "columns": [w.source(s) for s in m.columns],
        "cells": [{"code": c, "source": s, "quotes": n} for (c, s), n in sorted(m.cells.items())],
    }


def coding_table(body: Body) -> tuple[list[str], list[list[object]]]:
    ids = {c["iri"]: c["id"] for c in body["rows"]} | {s["iri"]: s["id"] for s in body["columns"]}
    rows: list[list[object]] = [
        [ids[cell["code"]], ids[cell["source"]], cell["quotes"]]
        for cell in body["cells"]
        if cell["code"] in ids and cell["source"] in ids
    ]
    return ["code", "source", "quotes"], rows


def co_body(w: Writer, m: r.CoMatrix) -> Body:
    return {
        "scope": m.scope,
        "codes": [w.code(c) for c in m.codes],
        "cells": [{"a": a, "b": b, "count": n} for (a, b), n in sorted(m.cells.items())],
    }


def co_table(body: Body) -> tuple[list[str], list[list[object]]]:
    ids = {c["iri"]: c["id"] for c in body["codes"]}
    rows: list[list[object]] = [[ids[c["a"]], ids[c["b"]], c["count"]] for c in body["cells"]]
    return ["code", "other code", body["scope"] + "s"], rows


def analytics_body(w: Writer, a: r.Analytics, limit: int) -> Body:
    """The ``limit`` most grounded codes and the first ``limit`` single-source ones, with how
    many there are; saturation for every source."""
    return {
        "codes": len(a.frequency),
        "frequency": [w.code(c) | {"sources": n} for c, n in a.frequency[:limit]],
        "single_sources": len(a.single_source),
        "single_source": [
            {"code": w.code(c), "source": w.source(s)} for c, s in a.single_source[:limit]
        ],
        "saturation": [
            {"source": w.source(s), "new": [w.code(c) for c in new], "total": total}
            for s, new, total in a.saturation
        ],
        "not_evidenced": [w.code(c) for c in a.uncoded],
    }


def analytics_table(body: Body) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = [
        [c["id"], c["kind"], c["label"], c["sources"]] for c in body["frequency"]
    ]
    return ["code", "kind", "label", "sources"], rows


def guidance_body(w: Writer, rankings: list[r.Ranking]) -> Body:
    return {
        "rule": r.RANKING_RULE,
        "decisions": [
            {
                "decision": w.code(rk.decision),
                "options": [
                    {
                        "rank": i,
                        "option": w.code(o.option),
                        "score": round(o.score, 4),
                        "mixed": o.mixed,
                        "sources": o.sources,
                        "forces": [
                            {
                                "force": w.code(force),
                                "weight": weight,
                                "signs": [w.sign(sg) for sg in found],
                            }
                            for force, weight, found in o.parts
                        ],
                    }
                    for i, o in enumerate(rk.options, 1)
                ],
            }
            for rk in rankings
        ],
    }


def guidance_table(body: Body) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = [
        [d["decision"]["id"], o["rank"], o["option"]["id"], o["score"], o["mixed"], o["sources"]]
        for d in body["decisions"]
        for o in d["options"]
    ]
    return ["decision", "rank", "option", "score", "mixed", "sources"], rows


def quotes_table(body: Body) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = [
        [q["source"], q["file"], q["line"], q["end_line"], q["text"]] for q in body["quotes"]
    ]
    return ["source", "file", "line", "end line", "text"], rows


def codes_table(body: Body) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = [
        [c["id"], c["kind"], c["label"], " ".join(c["layers"]), c["sources"]] for c in body["codes"]
    ]
    return ["code", "kind", "label", "layers", "sources"], rows
