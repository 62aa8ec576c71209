"""The research views of a study: pages for people, each with its JSON and CSV twins.

Every view is at ``/views/{collection}/…`` and answers the form ``Accept`` asks for (JSON when
any will do, HTML to a browser), or the form its suffix names: ``.html``, ``.json``, ``.csv``
(``.svg`` for diagrams). The page, the JSON and the CSV are written from one body
(:mod:`app.api.view_bodies`), and every control on a page is a GET parameter, so each view,
filtered and sorted, has a URL that can be shared.
"""

from __future__ import annotations

import csv
import inspect
import io
import math
import weakref
from collections.abc import Awaitable, Callable
from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from app.api import charts, urls
from app.api import view_bodies as vb
from app.api.bodies import Responses, answered_as, errors
from app.api.errors import ApiError, NotFound
from app.api.generations import Generations
from app.api.negotiation import choose
from app.api.pages import render
from app.api.routes.api.answer import MAX_OFFSET, known_collection
from app.api.service import Service, ServiceDep
from app.export.files import artefacts
from app.export.qdpx import qdpx
from app.export.study import Evidence, read_study
from app.iris import Minter, segment
from app.read import lookup
from app.read import research as r
from app.read.tables import CodeKind, CodeRow

router = APIRouter(tags=["research views"])

HTML, JSON, CSV, SVG = "text/html", "application/json", "text/csv", "image/svg+xml"
SUFFIXES = {"html": HTML, "json": JSON, "csv": CSV}
OFFERS = [JSON, HTML, CSV]
OVERVIEW_OFFERS = [JSON, HTML]  # counts and findings: no table to write as CSV
DECISION_OFFERS = [*OFFERS, SVG]  # and its diagram on its own

EvidenceParam = Annotated[
    r.Evidence,
    Query(description="statement: the sources stating a sign; code: the sources coding both ends."),
]
LayerParam = Annotated[
    r.Layer, Query(description="notes, model, or all: which layer's statements are shown.")
]
KindParam = Annotated[CodeKind | None, Query(description="Only codes of this kind.")]
RowsParam = Annotated[int, Query(ge=1, le=100_000, description="Rows on one page.")]
OffsetParam = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="Rows skipped before the page.")
]
Ext = Annotated[str | None, Query(include_in_schema=False)]

VIEWS = [
    ("overview", "Overview"),
    ("decisions", "Decisions"),
    ("impacts", "Practices × forces"),
    ("coding", "Codes × sources"),
    ("co-occurrence", "Co-occurrence"),
    ("analytics", "Analytics"),
    ("guidance", "Guidance"),
    ("codes", "Codebook"),
]


Handler = Callable[..., Awaitable[Response]]


def _documented(offers: list[str]) -> Responses:
    """What a view answers, as ``/openapi.json`` says: its forms and its errors."""
    return answered_as(
        "The view, in the form the Accept header or the path's suffix asks for.", *offers
    ) | errors(400, 404, 406, 422)


def _twins(route: str, summary: str, offers: list[str] = OFFERS) -> Callable[[Handler], Handler]:
    """Register a view at ``route`` and at ``route.{ext}``: the same handler, whose ``ext`` is
    a hidden query parameter on the first and the path's suffix on the second."""

    def register(handler: Handler) -> Handler:
        signature = inspect.signature(handler)
        params = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            if p.name != "ext"
            else p.replace(
                kind=inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty,
                annotation="str",
            )
            for p in signature.parameters.values()
        ]

        async def suffixed(**kwargs: Any) -> Response:
            return await handler(**kwargs)

        suffixed.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        suffixed.__name__ = handler.__name__ + "_form"
        # the suffixed form first: "{decision}" alone would take "x.svg" as a name
        router.get(route + ".{ext}", include_in_schema=False)(suffixed)
        router.get(route, summary=summary, responses=_documented(offers))(handler)
        return handler

    return register


path = urls.view


# --- answering -------------------------------------------------------------------------------


def _form(request: Request, ext: str | None, offers: list[str] = OFFERS) -> str:
    if ext is not None:
        found = SUFFIXES.get(ext) if ext != "svg" else SVG
        if found is None or found not in offers:
            raise NotFound(f"no .{ext} form of this view")
        return found
    chosen = choose(request.headers.get("accept"), offers)
    if chosen is None:
        raise ApiError(406, "not-acceptable", "this view is offered as " + ", ".join(offers))
    return chosen


def _query(request: Request) -> str:
    return ("?" + request.url.query) if request.url.query else ""


def _answer(
    request: Request,
    form: str,
    body: vb.Body,
    *,
    title: str,
    collection: str,
    view: str,
    table: Callable[[vb.Body], tuple[list[str], list[list[object]]]] | None = None,
    template: str | None = None,
    here: str | None = None,
    **extra: Any,
) -> Response:
    """The answer in ``form``; a page is ``views/{view}.html`` and the view is at its own path
    unless ``template`` and ``here`` say otherwise."""
    template = template or f"views/{view}.html"
    here = here or _view_path(collection, view)
    headers = {"Vary": "Accept"}
    if extra.get("refresh"):  # an answer that is about to change (the notes being checked)
        headers["Cache-Control"] = "no-store"
    if form == JSON:
        return Response(orjson.dumps(body), media_type=JSON, headers=headers)
    if form == CSV:
        if table is None:
            raise NotFound("this view has no CSV form")
        head, rows = table(body)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(head)
        writer.writerows(rows)
        name = f"{collection}-{view}.csv".replace('"', "")
        headers["Content-Disposition"] = f'inline; filename="{name}"'
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
    query = _query(request)
    if "total" in body and "offset" in body:
        extra["pager"] = _pager(request, here, body["offset"], body["limit"], body["total"])
    twins = {"JSON": f"{here}.json{query}"}
    if table is not None:
        twins["CSV"] = f"{here}.csv{query}"
    service: Service = request.state.service
    page = render(
        template,
        request,
        href=service.path_for_iri,
        title=title,
        body=body,
        collection=collection,
        view=view,
        views=[(name, label, _view_path(collection, name)) for name, label in VIEWS],
        twins=twins,
        params=dict(request.query_params),
        share=here + query,
        **extra,
    )
    return HTMLResponse(page, headers=headers)


def _pager(request: Request, here: str, offset: int, limit: int, total: int) -> dict[str, Any]:
    """The rows a page shows and the links to the pages beside it."""

    def at(start: int) -> str:
        params = dict(request.query_params) | {"offset": str(start), "limit": str(limit)}
        return f"{here}?{urlencode(params)}"

    return {
        "first": offset + 1 if total else 0,
        "last": min(offset + limit, total),
        "total": total,
        "previous": at(max(offset - limit, 0)) if offset > 0 else None,
        "next": at(offset + limit) if offset + limit < total else None,
    }


def _view_path(collection: str, name: str) -> str:
    return path(collection) if name == "overview" else path(collection, name)


async def _study(service: Service, collection: str) -> r.Study:
    name = known_collection(service, collection)
    return await run_in_threadpool(r.study, service.store, name)


def _writer(service: Service) -> vb.Writer:
    return vb.Writer(lambda iri: service.path_for_iri(iri) if iri else None)


def _code(s: r.Study, ident: str, what: str = "code") -> CodeRow:
    found = next((c for c in s.codes if c.ident == ident), None)
    if found is None:
        raise ApiError(400, "bad-parameter", f"{what}: no code {ident!r} in {s.name}")
    return found


def _split(collection: str, ext: str | None) -> tuple[str, str | None]:
    """``/views/study.json``: the suffix of the last segment, when it names a form."""
    if ext is None and "." in collection:
        name, suffix = collection.rsplit(".", 1)
        if suffix in SUFFIXES:
            return name, suffix
    return collection, ext


# --- the overview ----------------------------------------------------------------------------


@router.get(
    "/views/{collection}",
    summary="A study at a glance: counts, findings, drift",
    responses=_documented(OVERVIEW_OFFERS),
)
async def overview(
    request: Request, service: ServiceDep, collection: str, ext: Ext = None
) -> Response:
    collection, ext = _split(collection, ext)
    form = _form(request, ext, OVERVIEW_OFFERS)
    s = await _study(service, collection)
    info = next(c for c in service.store.info.collections if c.name == s.name)
    generations: Generations = request.app.state.generations
    found = generations.findings()
    minter = Minter(service.base, s.name, str)
    mine = [
        f | {"href": _finding_href(service, minter, f)} for f in found.items if _in_collection(f, s)
    ]
    groups: dict[str, dict[str, Any]] = {}
    for f in mine:
        group = groups.setdefault(
            str(f["code"]), {"code": f["code"], "level": f["level"], "findings": []}
        )
        group["findings"].append(f)
    has_model = s.has_model
    summary = (
        (await run_in_threadpool(r.differences, service.store, s, info.graph)).summary()
        if has_model
        else {}
    )
    studied = (
        await run_in_threadpool(_study_artefacts, service, s.name, "code") if has_model else {}
    )
    body = {
        "collection": s.name,
        "title": info.title or s.name,
        "description": info.description,
        "built": service.store.info.created,
        "snapshot": service.store.info.key,
        "sources": len(s.sources),
        "quotes": sum(len(s.tables.quotes_of.get(x.iri, ())) for x in s.sources),
        "memos": sum(len(s.tables.memos_of.get(x.iri, [])) for x in s.sources),
        "codes": r.counts(s),
        "statements": r.fact_counts(s),
        "findings": {
            "state": found.state,
            "error": found.error,
            "total": len(mine),
            "groups": sorted(
                groups.values(), key=lambda g: (_LEVELS.get(g["level"], 9), g["code"])
            ),
        },
        "drift": {
            "has_model": has_model,
            "counts": summary,
            "total": sum(sum(v.values()) for v in summary.values()),
            "href": f"/api/collections/{segment(s.name)}/drift",
        },
        "exports": {
            "qdpx": path(s.name, "export.qdpx"),
            "dumps": f"/dumps/{segment(s.name)}.ttl",
            "artefacts": [
                {"name": n, "href": path(s.name, "artefacts", *n.split("/"))} for n in studied
            ],
        },
    }
    return _answer(
        request,
        form,
        body,
        title=f"{body['title']}: overview",
        collection=s.name,
        view="overview",
        refresh=found.state == "checking",
    )


def _finding_href(service: Service, minter: Minter[str], finding: dict[str, object]) -> str | None:
    """The page of the finding's file, at its line (the seed file's page anchors its lines)."""
    file = finding.get("file")
    if not isinstance(file, str) or not file:
        return None
    page = service.path_for_iri(minter.file(PurePath(file.replace("\\", "/")).name))
    line = finding.get("line")
    return None if page is None else page + (f"#L{line}" if isinstance(line, int) else "")


_LEVELS = {"violation": 0, "warning": 1, "info": 2}


def _in_collection(finding: dict[str, object], s: r.Study) -> bool:
    """A finding about one of the study's files (reader findings name the file; SHACL ones
    the focus node's IRI under the collection)."""
    focus = str(finding.get("focus") or "")
    if focus.startswith(s.tables.base + segment(s.name) + "/"):
        return True
    file = str(finding.get("file") or "")
    return any(x.path and file.endswith(x.path) for x in s.sources) or (
        f"/{s.name}/" in file.replace("\\", "/")
    )


# --- the decision catalogue ------------------------------------------------------------------


@_twins("/views/{collection}/decisions", "Each decision, its options and their forces")
async def catalogue(
    request: Request,
    service: ServiceDep,
    collection: str,
    *,
    evidence: EvidenceParam = r.Evidence.STATEMENT,
    layer: LayerParam = r.Layer.ALL,
    limit: Annotated[int, Query(ge=1, le=100_000, description="Decisions on one page.")] = 50,
    offset: OffsetParam = 0,
    ext: Ext = None,
) -> Response:
    form = _form(request, ext)
    s = await _study(service, collection)
    w = _writer(service)
    views = await run_in_threadpool(r.decisions, s, evidence, layer)
    body = {
        "collection": s.name,
        "evidence": evidence.value,
        "layer": layer.value,
        "offset": offset,
        "limit": limit,
        "total": len(views),
        "decisions": [
            w.decision(d) | {"page": path(s.name, "decisions", d.decision.ident)}
            for d in views[offset : offset + limit]
        ],
    }
    return _answer(
        request,
        form,
        body,
        title=f"{s.name}: decisions",
        collection=s.name,
        view="decisions",
        table=vb.catalogue_table,
    )


@_twins("/views/{collection}/decisions/{decision}", "One decision, with a diagram", DECISION_OFFERS)
async def decision_page(
    request: Request,
    service: ServiceDep,
    collection: str,
    decision: str,
    *,
    evidence: EvidenceParam = r.Evidence.STATEMENT,
    layer: LayerParam = r.Layer.ALL,
    ext: Ext = None,
) -> Response:
    if ext is not None and ext not in (*SUFFIXES, "svg"):
        decision, ext = f"{decision}.{ext}", None
    form = _form(request, ext, DECISION_OFFERS)
    s = await _study(service, collection)
    found = next((d for d in r.decisions(s, evidence, layer) if d.decision.ident == decision), None)
    if found is None:
        raise NotFound(f"no decision {decision!r} in {s.name}")
    w = _writer(service)
    svg = _diagram(found, w, s.name)
    if form == SVG:
        return Response(svg, media_type=SVG, headers={"Vary": "Accept"})
    body = {
        "collection": s.name,
        "evidence": evidence.value,
        "layer": layer.value,
        "decisions": [w.decision(found)],
        "diagram": path(s.name, "decisions", decision) + ".svg",
    }
    return _answer(
        request,
        form,
        body,
        template="views/decision.html",
        title=f"{found.decision.label or found.decision.ident}",
        collection=s.name,
        view="decisions",
        here=path(s.name, "decisions", decision),
        table=vb.catalogue_table,
        svg=svg,
    )


def _diagram(d: r.DecisionView, w: vb.Writer, collection: str) -> str:
    def node(c: CodeRow, kind: str, layers: tuple[str, ...] | list[str] = ()) -> charts.Node:
        return charts.Node(c.iri, c.label or c.ident, w.href(c.iri), kind, _layer(layers))

    options: list[charts.Node] = []
    forces: dict[str, charts.Node] = {}
    nexts: dict[str, charts.Node] = {}
    edges: list[charts.Edge] = []
    for o in d.options:
        options.append(node(o.option, "option", o.layers))
        edges.append(
            charts.Edge(
                d.decision.iri, o.option.iri, " | ".join(o.names[:1]), "option", _layer(o.layers)
            )
        )
        for sg in o.signs:
            forces.setdefault(sg.force.iri, node(sg.force, "force"))
            edges.append(
                charts.Edge(
                    o.option.iri,
                    sg.force.iri,
                    sg.notation,
                    _sign_kind(sg.value, sg),
                    _layer(sg.layers),
                )
            )
        for target, kind, layers in o.nexts:
            nexts.setdefault(target.iri, node(target, "next"))
            edges.append(charts.Edge(o.option.iri, target.iri, kind, "next", _layer(layers)))
    return charts.decision_diagram(
        node(d.decision, "decision", d.layers),
        options,
        list(forces.values()),
        list(nexts.values()),
        edges,
        d.decision.label or d.decision.ident,
    )


def _layer(layers: tuple[str, ...] | list[str]) -> str:
    if len(layers) == 1:
        return layers[0]
    return "both" if layers else ""


def _sign_kind(value: int, sg: r.Sign) -> str:
    if sg.level == r.MIXED:
        return "mixed"
    return "positive" if value > 0 else "negative" if value < 0 else "neutral"


# --- matrices --------------------------------------------------------------------------------


@_twins("/views/{collection}/impacts", "Practices and patterns × forces, with signs")
async def impacts(
    request: Request,
    service: ServiceDep,
    collection: str,
    *,
    evidence: EvidenceParam = r.Evidence.STATEMENT,
    layer: LayerParam = r.Layer.ALL,
    kind: Annotated[
        CodeKind | None, Query(description="practice or pattern: only solutions of this kind.")
    ] = None,
    sort: Annotated[
        str,
        Query(
            pattern="^(label|evidence|forces)$", description="Rows by label, evidence or forces."
        ),
    ] = "label",
    limit: RowsParam = 100,
    offset: OffsetParam = 0,
    ext: Ext = None,
) -> Response:
    form = _form(request, ext)
    s = await _study(service, collection)
    m = r.impact_matrix(s, evidence, layer, kind=kind, sort=sort, offset=offset, limit=limit)
    body = {
        "collection": s.name,
        "evidence": evidence.value,
        "layer": layer.value,
        "kind": kind,
        "sort": sort,
        "offset": offset,
        "limit": limit,
    } | vb.impacts_body(_writer(service), m)
    return _answer(
        request,
        form,
        body,
        title=f"{s.name}: practices × forces",
        collection=s.name,
        view="impacts",
        table=vb.impacts_table,
        quotes=path(s.name, "quotes"),
    )


@_twins("/views/{collection}/coding", "Codes × sources: who codes what")
async def coding(
    request: Request,
    service: ServiceDep,
    collection: str,
    *,
    evidence: EvidenceParam = r.Evidence.STATEMENT,
    kind: KindParam = None,
    sort: Annotated[
        str, Query(pattern="^(label|sources)$", description="Rows by label or by sources.")
    ] = "label",
    limit: RowsParam = 100,
    offset: OffsetParam = 0,
    ext: Ext = None,
) -> Response:
    form = _form(request, ext)
    s = await _study(service, collection)
    m = r.code_source_matrix(s, evidence, kind=kind, sort=sort, offset=offset, limit=limit)
    body = {
        "collection": s.name,
        "evidence": evidence.value,
        "kind": kind,
        "sort": sort,
        "offset": offset,
        "limit": limit,
    }
    body |= vb.coding_body(_writer(service), m)
    return _answer(
        request,
        form,
        body,
        title=f"{s.name}: codes × sources",
        collection=s.name,
        view="coding",
        table=vb.coding_table,
        quotes=path(s.name, "quotes"),
    )


@_twins("/views/{collection}/co-occurrence", "Codes coded together")
async def co_occurrence(
    request: Request,
    service: ServiceDep,
    collection: str,
    *,
    scope: Annotated[
        str,
        Query(pattern="^(source|segment)$", description="Together in a source, or on a passage."),
    ] = "source",
    kind: KindParam = None,
    top: Annotated[int, Query(ge=1, le=200, description="The most frequent codes shown.")] = 30,
    ext: Ext = None,
) -> Response:
    form = _form(request, ext)
    s = await _study(service, collection)
    m = r.co_occurrence(s, scope, kind, top)
    body = {"collection": s.name, "kind": kind, "top": top} | vb.co_body(_writer(service), m)
    return _answer(
        request,
        form,
        body,
        title=f"{s.name}: co-occurrence",
        collection=s.name,
        view="co-occurrence",
        table=vb.co_table,
        quotes=path(s.name, "quotes"),
    )


@_twins("/views/{collection}/quotes", "The quotes behind a cell of a matrix")
async def quotes(
    request: Request,
    service: ServiceDep,
    collection: str,
    *,
    code: Annotated[list[str], Query(description="Codes (identifiers) the quotes are of.")] = [],  # noqa: B006
    source: Annotated[str | None, Query(description="Only this source's (its id).")] = None,
    scope: Annotated[str, Query(pattern="^(source|segment)$")] = "segment",
    solution: Annotated[str | None, Query(description="With force: an impact cell.")] = None,
    force: Annotated[str | None, Query(description="With solution: an impact cell.")] = None,
    evidence: EvidenceParam = r.Evidence.STATEMENT,
    layer: LayerParam = r.Layer.ALL,
    ext: Ext = None,
) -> Response:
    form = _form(request, ext)
    s = await _study(service, collection)
    w = _writer(service)
    source_iri = None
    if source is not None:
        row = next((x for x in s.sources if x.id == source), None)
        if row is None:
            raise ApiError(400, "bad-parameter", f"source: no source {source!r} in {s.name}")
        source_iri = row.iri
    if solution is not None or force is not None:
        if solution is None or force is None:
            raise ApiError(400, "bad-parameter", "solution and force go together")
        a, b = _code(s, solution, "solution"), _code(s, force, "force")
        found = [
            sg
            for sg in r.signs(s, evidence, layer)
            if sg.solution.iri == a.iri and sg.force.iri == b.iri
        ]
        rows = r.cell_quotes(s, [a.iri, b.iri], source_iri, facts=[sg.fact for sg in found])
        what = [w.code(a), w.code(b)]
        signs = [w.sign(sg) for sg in found]
    else:
        if not code:
            raise ApiError(400, "bad-parameter", "code: name at least one code")
        codes = [_code(s, c) for c in code]
        rows = r.cell_quotes(s, [c.iri for c in codes], source_iri, scope)
        what = [w.code(c) for c in codes]
        signs = []
    body = {
        "collection": s.name,
        "codes": what,
        "source": source,
        "scope": scope,
        "signs": signs,
        "quotes": [w.quote(q) for q in rows],
    }
    return _answer(
        request,
        form,
        body,
        title=f"{s.name}: quotes",
        collection=s.name,
        view="quotes",
        table=vb.quotes_table,
    )


# --- analytics, guidance, codebook -----------------------------------------------------------


@_twins("/views/{collection}/analytics", "Groundedness, single-source codes, saturation")
async def analytics(
    request: Request,
    service: ServiceDep,
    collection: str,
    *,
    kind: KindParam = None,
    limit: Annotated[
        int, Query(ge=1, le=100_000, description="Codes listed by frequency and single source.")
    ] = 200,
    ext: Ext = None,
) -> Response:
    form = _form(request, ext)
    s = await _study(service, collection)
    a = await run_in_threadpool(r.analytics, s, kind)
    w = _writer(service)
    body = {"collection": s.name, "kind": kind, "limit": limit}
    body |= vb.analytics_body(w, a, limit)
    by_id = {x.id: x.iri for x in s.sources}
    saturation = charts.saturation_chart(
        [(src.id, len(new), total) for src, new, total in a.saturation],
        "New codes per source, in review order",
        lambda label: w.href(by_id.get(label)),
    )
    frequency = charts.bar_chart(
        [(c.label or c.ident, n, w.href(c.iri)) for c, n in a.frequency[:40]],
        "Sources per code (the 40 most grounded)",
        "sources",
    )
    return _answer(
        request,
        form,
        body,
        title=f"{s.name}: analytics",
        collection=s.name,
        view="analytics",
        table=vb.analytics_table,
        saturation=saturation,
        frequency=frequency,
    )


@_twins("/views/{collection}/guidance", "Options ranked for the forces that matter")
async def guidance(
    request: Request,
    service: ServiceDep,
    collection: str,
    *,
    force: Annotated[
        list[str],
        Query(
            description="force:weight, e.g. scalability:2 or complexity:-1 (weight 1 if left out)."
        ),
    ] = [],  # noqa: B006
    evidence: EvidenceParam = r.Evidence.STATEMENT,
    layer: LayerParam = r.Layer.ALL,
    ext: Ext = None,
) -> Response:
    form = _form(request, ext)
    s = await _study(service, collection)
    weights: dict[str, float] = {}
    for item in force:
        if not item:  # a force the form left unchosen
            continue
        ident, _, weight = item.partition(":")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise ApiError(
                400, "bad-parameter", f"force: {item!r} has no number after ':'"
            ) from None
        if not math.isfinite(value) or abs(value) > 1e6:
            raise ApiError(400, "bad-parameter", f"force: {item!r} is out of range")
        code = _code(s, ident.strip(), "force")
        if code.kind != "force":
            raise ApiError(400, "bad-parameter", f"force: {ident!r} is a {code.kind}, not a force")
        weights[code.iri] = value
    w = _writer(service)
    body = {
        "collection": s.name,
        "evidence": evidence.value,
        "layer": layer.value,
        "weights": [
            {"force": w.code(c), "weight": weights[c.iri]} for c in s.codes if c.iri in weights
        ],
        "forces": [w.code(c) for c in s.of_kind("force")],
    } | vb.guidance_body(w, r.rank(s, weights, evidence, layer) if weights else [])
    return _answer(
        request,
        form,
        body,
        title=f"{s.name}: decision guidance",
        collection=s.name,
        view="guidance",
        table=vb.guidance_table,
    )


@_twins("/views/{collection}/codes", "The codebook, kind by kind")
async def codebook(
    request: Request,
    service: ServiceDep,
    collection: str,
    *,
    kind: KindParam = None,
    limit: Annotated[int, Query(ge=1, le=100_000, description="Codes on one page.")] = 1000,
    offset: OffsetParam = 0,
    ext: Ext = None,
) -> Response:
    form = _form(request, ext)
    s = await _study(service, collection)
    w = _writer(service)
    order = ("decision", "practice", "pattern", "force", "unresolved")
    codes = sorted(
        (c for c in s.codes if kind is None or c.kind == kind),
        key=lambda c: order.index(c.kind),  # stable: by label within a kind
    )
    shown = [
        w.code(c)
        | {"layers": list(s.layers_of(c.iri)), "sources": len(s.tables.sources_of.get(c.iri, ()))}
        for c in codes[offset : offset + limit]
    ]
    groups = [
        {"kind": k, "codes": [c for c in shown if c["kind"] == k]}
        for k in order
        if kind is None or k == kind
    ]
    body = {
        "collection": s.name,
        "kind": kind,
        "offset": offset,
        "limit": limit,
        "total": len(codes),
        "groups": groups,
        "codes": shown,
    }
    return _answer(
        request,
        form,
        body,
        title=f"{s.name}: codebook",
        collection=s.name,
        view="codes",
        table=vb.codes_table,
    )


_artefacts: weakref.WeakKeyDictionary[object, dict[tuple[str, str], dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)
ARTEFACT_TYPES = {
    ".md": "text/markdown; charset=utf-8",
    ".tex": "application/x-tex; charset=utf-8",
    ".puml": "text/plain; charset=utf-8",
}


def _study_artefacts(service: Service, name: str, evidence: str) -> dict[str, str]:
    """The study's artefacts as ``meshkg export`` writes them, made once per snapshot."""
    kept = _artefacts.setdefault(service.store, {})
    found = kept.get((name, evidence))
    if found is None:
        info = next(c for c in service.store.info.collections if c.name == name)
        study = read_study(service.store, info.graph, Evidence(evidence))
        found = kept[(name, evidence)] = (
            artefacts(study, info.title or name) if study.elements else {}
        )
    return found


@router.get(
    "/views/{collection}/artefacts/{name:path}",
    summary="A study artefact regenerated from the graph (catalogue, LaTeX tables, PlantUML)",
    response_class=Response,
    responses=answered_as("The file, by its name's suffix.", *ARTEFACT_TYPES.values())
    | errors(404, 422),
)
async def artefact(
    service: ServiceDep,
    collection: str,
    name: str,
    evidence: Annotated[
        str, Query(pattern="^(code|statement)$", description="code: the model's code lists.")
    ] = "code",
) -> Response:
    """What ``meshkg export`` writes for a study with a consolidated model, one file each."""
    coll = known_collection(service, collection)
    found = await run_in_threadpool(_study_artefacts, service, coll, evidence)
    text = found.get(name)
    if text is None:
        raise NotFound(f"no artefact {name!r} for {coll}" + ("" if found else " (it has no model)"))
    media = next((m for ext, m in ARTEFACT_TYPES.items() if name.endswith(ext)), "text/plain")
    return Response(text.encode("utf-8"), media_type=media)


@router.get(
    "/views/{collection}/export.qdpx",
    summary="The study as a REFI-QDA project",
    response_class=Response,
    responses=answered_as("A REFI-QDA project (a zip).", "application/zip") | errors(404),
)
async def export_qdpx(service: ServiceDep, collection: str) -> Response:
    """Codes, sources, quotations as coded segments and memos, for ATLAS.ti, NVivo or MAXQDA."""
    name = known_collection(service, collection)
    info = next(c for c in service.store.info.collections if c.name == name)
    data = await run_in_threadpool(qdpx, service.store, info.graph, name, info.title)
    filename = f"{name}.qdpx".replace('"', "")
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- search ----------------------------------------------------------------------------------


@router.get("/search", summary="Search labels, quotes and memos (a page)", include_in_schema=False)
async def search_page(
    request: Request,
    service: ServiceDep,
    q: Annotated[str, Query(max_length=200)] = "",
    collection: str | None = None,
) -> Response:
    coll = None if not collection else known_collection(service, collection)
    t = await run_in_threadpool(lookup.tables, service.store)
    w = _writer(service)
    hits: list[dict[str, Any]] = []
    total = 0
    if q:
        found = lookup.search(t, q, coll)
        total = len(found)
        for h in lookup.hits(t, found, 0, 100):
            if h.code is not None:
                hits.append({"type": "code"} | w.code(h.code) | {"collection": h.code.collection})
            else:
                item = h.quote or h.memo
                assert item is not None
                hits.append(
                    {
                        "type": "quote" if h.quote is not None else "memo",
                        "href": w.href(item.iri),
                        "snippet": lookup.snippet(item.text, h.at, len(q)),
                        "source": item.source_id,
                        "source_href": w.href(item.source),
                        "collection": item.collection,
                        "line": item.line,
                    }
                )
    more = urlencode({"q": q} | ({"collection": coll} if coll else {}))
    page = render(
        "views/search.html",
        request,
        title=f"Search: {q}" if q else "Search",
        q=q,
        collection=coll,
        hits=hits,
        total=total,
        api=f"/api/search?{more}",
        collections=[c.name for c in service.store.info.collections],
    )
    return HTMLResponse(page)
