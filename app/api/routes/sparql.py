"""``/sparql``: the SPARQL 1.1 Protocol, read-only, over the snapshot's graphs.

Queries come by GET (``?query=``), by POST of a form, or by POST of the query itself
(``application/sparql-query``). Every collection is a named graph and the default graph is the
union of all of them (and of the ontology's graph); ``default-graph-uri``, ``named-graph-uri``,
``FROM`` and ``FROM NAMED`` may only name those graphs: nothing is ever fetched. Updates of any
kind are refused. Without a query, GET answers with a SPARQL Service Description, or with a
query page for a browser.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from urllib.parse import parse_qs, urlencode, urljoin

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.api import urls
from app.api.bodies import answered_as, errors
from app.api.errors import ApiError, error_response, mark
from app.api.fair_share import OverBudget, Slot
from app.api.negotiation import choose
from app.api.pages import render
from app.api.routes.fast import fast_route
from app.api.service import Service
from app.api.urls import absolute_origin
from app.namespaces import PREFIXES
from app.rdf.formats import FORMATS, graph_format
from app.sparql import results
from app.sparql.check import QueryRefused, QueryShape, inspect, locate
from app.sparql.examples import EXAMPLES
from app.store.query import QueryRequest, QueryResult, QueryTimeout, ServiceBusy, WorkerStopped
from app.store.write import write
from app.terms import Blank, Iri, Literal, Triple

router = APIRouter(tags=["SPARQL"])

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = PREFIXES["void"]
RDF_TYPE = Iri(PREFIXES["rdf"] + "type")
_RESULT_FORMATS = {
    results.JSON_RESULTS: "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    results.XML_RESULTS: "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    results.CSV_RESULTS: "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    results.TSV_RESULTS: "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    "text/turtle": "http://www.w3.org/ns/formats/Turtle",
    "application/n-triples": "http://www.w3.org/ns/formats/N-Triples",
    "application/ld+json": "http://www.w3.org/ns/formats/JSON-LD",
    "application/rdf+xml": "http://www.w3.org/ns/formats/RDF_XML",
    "application/trig": "http://www.w3.org/ns/formats/TriG",
    "application/n-quads": "http://www.w3.org/ns/formats/N-Quads",
}
_DESCRIPTION_TYPES = ["text/turtle", "text/html"] + [
    f.media_type for f in FORMATS if f.media_type != "text/turtle"
]

_PARAMETERS = [
    {
        "name": "query",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE).",
    },
    {
        "name": "default-graph-uri",
        "in": "query",
        "required": False,
        "schema": {"type": "array", "items": {"type": "string"}},
        "description": "A collection graph to use as (part of) the default graph.",
    },
    {
        "name": "named-graph-uri",
        "in": "query",
        "required": False,
        "schema": {"type": "array", "items": {"type": "string"}},
        "description": "A collection graph to offer as a named graph.",
    },
]
_FORM = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
        "named-graph-uri": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["query"],
}
_BODY = {
    "description": "The query as a form field, or the query itself (the graphs then go in the"
    " query string). Updates are refused.",
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {"schema": _FORM},
        "application/sparql-query": {"schema": {"type": "string"}},
    },
}


def _params(raw: str, where: str) -> dict[str, list[str]]:
    try:
        return parse_qs(raw, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError as err:
        raise ApiError(400, "encoding", f"the {where} is not UTF-8 percent-encoded") from err


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, refused as soon as it is known to pass ``limit`` bytes.

    A declared length over the limit is refused before any of the body is read; a body sent
    in chunks is read up to the limit and no further.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "request-too-large",
        f"the request body is larger than this service's limit of {limit} bytes",
        headers={"Connection": "close"},
    )


def _content_type(header: str | None) -> tuple[str | None, str | None]:
    if not header:
        return None, None
    parts = [p.strip() for p in header.split(";")]
    charset = None
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return parts[0].lower(), charset


async def sparql(request: Request) -> Response:
    """Evaluate a query, or describe the service when there is none."""
    service: Service = request.state.service
    limit = service.settings.query_kb * 1024
    if len(request.scope["query_string"]) > limit:
        raise ApiError(
            414,
            "query-too-long",
            f"the query string is longer than this service's limit of {limit} bytes; "
            "send a long query by POST",
        )
    url = _params(request.url.query, "query string")
    params = dict(url)
    direct: str | None = None
    if request.method == "POST":
        kind, charset = _content_type(request.headers.get("content-type"))
        body = await _body(request, limit)
        if kind == "application/x-www-form-urlencoded":
            if charset not in (None, "utf-8", "utf8"):
                raise ApiError(415, "encoding", "forms must be sent in UTF-8")
            try:
                form = _params(body.decode("ascii"), "form")
            except UnicodeDecodeError as err:
                raise ApiError(400, "encoding", "a form body must be percent-encoded") from err
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
        elif kind == "application/sparql-query":
            if charset not in (None, "utf-8", "utf8"):
                raise ApiError(415, "encoding", f"queries must be sent in UTF-8, not {charset}")
            try:
                direct = body.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ApiError(400, "encoding", "the query body is not valid UTF-8") from err
        elif kind == "application/sparql-update":
            raise ApiError(403, "read-only", "this is a read-only service: updates are refused")
        else:
            raise ApiError(
                415,
                "media-type",
                "send a query as application/sparql-query or as an "
                "application/x-www-form-urlencoded form",
            )
    if "update" in params:
        if request.method == "GET":
            raise ApiError(400, "update-by-get", "updates cannot be sent by GET (and are refused)")
        raise ApiError(403, "read-only", "this is a read-only service: updates are refused")
    queries = params.get("query", [])
    if direct is not None:
        queries = [*queries, direct]
    if len(queries) > 1:
        raise ApiError(400, "several-queries", "give exactly one query, not several")
    if not queries:
        if request.method == "POST":
            raise ApiError(400, "no-query", "the request holds no query")
        return _describe(request, service)
    if request.method == "GET" and _wants_page(request):
        # a browser opening a shared query link: the query page, which runs it and shows it
        return _page(request, service, queries[0], run=True)
    return await _answer(request, service, queries[0], params)


# every answer format, then the page: a tie (no Accept, */*) goes to an answer format
_ANSWER_OR_PAGE = [
    *dict.fromkeys([*results.SOLUTION_TYPES, *results.GRAPH_TYPES]),
    "text/html",
]


def _wants_page(request: Request) -> bool:
    accept = request.headers.get("accept") or ""
    # negotiated only when HTML is named at all: programs (``*/*``, results types) skip it
    return "html" in accept and choose(accept, _ANSWER_OR_PAGE) == "text/html"


# A text longer than this is read on a thread: the event loop goes on answering meanwhile.
_READ_INLINE = 4096


async def _answer(
    request: Request, service: Service, text: str, params: dict[str, list[str]]
) -> Response:
    client = request.client.host if request.client else ""
    try:
        if len(text) <= _READ_INLINE:
            shape = _inspect(text)
            if shape.empty:  # the probe clients send: its one solution exists over any dataset
                media = _media(request, shape)
                answer = QueryResult(200, results.boolean(True, media), media)
                return _respond(request, shape, answer)
            with service.clients.slot(client) as slot:
                return await _evaluate(request, service, (text, shape), params, slot)
        with service.clients.slot(client) as slot:
            shape = await asyncio.to_thread(_inspect, text)
            return await _evaluate(request, service, (text, shape), params, slot)
    except OverBudget as over:
        limit = service.clients.limit
        if over.reason == "heavy":
            raise ApiError(
                429,
                "heavy-client",
                "this client's recent queries kept the query workers busy, and long queries "
                "now hold all but the workers kept for other clients; try again shortly",
                headers={"Retry-After": "2"},
            ) from over
        raise ApiError(
            429,
            "too-many-queries",
            f"this client already has {limit} SPARQL {'query' if limit == 1 else 'queries'} "
            "running; one more is refused so that every client keeps a share of the query "
            "workers",
            headers={"Retry-After": "1"},
        ) from over


def _inspect(text: str) -> QueryShape:
    try:
        return inspect(text)
    except QueryRefused as refused:
        status = 403 if refused.code == "update" else 400
        raise ApiError(status, refused.code, str(refused)) from refused


def _media(request: Request, shape: QueryShape) -> str:
    offers = (
        results.SOLUTION_TYPES
        if shape.form == "SELECT"
        else results.BOOLEAN_TYPES
        if shape.form == "ASK"
        else results.GRAPH_TYPES
    )
    media = choose(request.headers.get("accept"), offers)
    if media is None and shape.form in ("CONSTRUCT", "DESCRIBE"):
        media = _graph_twin(request.headers.get("accept"))
    if media is None:
        raise ApiError(
            406,
            "not-acceptable",
            f"no result format of a {shape.form} query is acceptable; offered: {', '.join(offers)}",
            headers={"Vary": "Accept"},
        )
    return media


async def _evaluate(
    request: Request,
    service: Service,
    query_read: tuple[str, QueryShape],
    params: dict[str, list[str]],
    slot: Slot,
) -> Response:
    """Evaluate a query (its text as sent, and as read) in a worker; ``slot`` is charged."""
    text, shape = query_read
    default, named = _dataset(service, shape, params)
    media = _media(request, shape)
    settings = service.settings
    query = QueryRequest(
        shape.text,
        shape.form,
        media,
        default,
        named,
        settings.result_limit,
        settings.answer_mb * 1024 * 1024,
        service.base,
    )
    retry = {"Retry-After": str(math.ceil(service.store.timeout))}
    started = time.perf_counter()
    try:
        result = await service.store.query(query)
        slot.worker_seconds = result.seconds
    except QueryTimeout as stopped:
        slot.worker_seconds = stopped.ran
        waited = (
            f" (of which {stopped.waited:.1f} s waiting for a worker)"
            if stopped.waited >= 0.1
            else ""
        )
        raise ApiError(
            503,
            "time-limit",
            f"the query ran past the time limit of {service.store.timeout:g} s{waited} and was "
            "stopped",
            headers=retry,
        ) from stopped
    except ServiceBusy as busy:
        raise ApiError(
            503,
            "busy",
            "every query worker stayed busy for the time limit; try again",
            headers=retry,
        ) from busy
    except WorkerStopped as stopped:
        slot.worker_seconds = stopped.ran
        raise _stopped(service, stopped, retry) from stopped
    finally:
        mark(request.scope, query_seconds=time.perf_counter() - started)
    if result.status == 400 and result.code == "syntax":
        result = QueryResult(400, code="syntax", message=locate(shape, text, result.message))
    return _respond(request, shape, result)


def _stopped(service: Service, stopped: WorkerStopped, retry: dict[str, str]) -> ApiError:
    if stopped.reason == "memory-limit":
        return ApiError(
            503,
            "memory-limit",
            f"the query needed more than the memory limit of {service.settings.query_mb} MB "
            "and was stopped",
            headers=retry,
        )
    if stopped.reason == "store-unavailable":
        return ApiError(
            503,
            "store-unavailable",
            "the graph's store cannot be read at the moment; this is logged",
            headers={"Retry-After": "5"},
        )
    return ApiError(
        500, "worker-crashed", "the query stopped the worker evaluating it; this is logged"
    )


def _respond(request: Request, shape: QueryShape, result: QueryResult) -> Response:
    headers = {"Vary": "Accept"}
    if shape.volatile:
        headers["Cache-Control"] = "no-store"
    if result.status != 200:
        if result.status == 503:
            headers["Retry-After"] = "5"
        mark(request.scope, error_code=result.code)
        return error_response(result.status, result.code, result.message, headers)
    if result.cut is not None:
        headers["Meshkg-Result-Cut"] = result.cut.header
        mark(request.scope, outcome="cut")
    media_type = result.media_type or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("json"):
        media_type += "; charset=utf-8"
    return Response(result.body, headers=headers, media_type=media_type)


# Clients such as roqet ask for a results format whatever the query form; the RDF syntax of
# the same family is what they can read, so a graph answer is sent in that instead of a 406.
_GRAPH_TWINS = {
    "application/sparql-results+xml": "application/rdf+xml",
    "application/sparql-results+json": "application/ld+json",
    "application/xml": "application/rdf+xml",
}


def _graph_twin(accept: str | None) -> str | None:
    chosen = choose(accept, list(_GRAPH_TWINS))
    return _GRAPH_TWINS[chosen] if chosen is not None else None


def _dataset(
    service: Service, shape: QueryShape, params: dict[str, list[str]]
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The graphs to query: the protocol's parameters, else the query's FROM, else all."""
    known = set(service.graph_names)
    default_uris = params.get("default-graph-uri", [])
    named_uris = params.get("named-graph-uri", [])
    _check_once(default_uris, "default-graph-uri")
    _check_once(named_uris, "named-graph-uri")
    # a FROM IRI without a BASE of its own resolves as the engine resolves it: against ours
    from_graphs = [urljoin(service.base, g) for g in shape.from_graphs]
    from_named = [urljoin(service.base, g) for g in shape.from_named]
    _check_once(from_graphs, "FROM")
    _check_once(from_named, "FROM NAMED")
    if default_uris or named_uris:
        _check_known(known, [*default_uris, *named_uris], "default-graph-uri/named-graph-uri")
        return tuple(default_uris), tuple(named_uris)
    if from_graphs or from_named:
        _check_known(known, [*from_graphs, *from_named], "FROM")
        return tuple(from_graphs), tuple(from_named)
    return None, None


def _some(names: list[str]) -> str:
    shown = ", ".join(n[:200] for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _check_once(names: list[str], where: str) -> None:
    """A graph named twice would count its triples twice (the dataset is a bag of graphs)."""
    if len(set(names)) != len(names):
        twice = sorted(n for n, k in Counter(names).items() if k > 1)
        raise ApiError(
            400,
            "repeated-graph",
            f"{where} names the same graph more than once ({_some(twice)}); name each graph once",
        )


def _check_known(known: set[str], names: list[str], where: str) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ApiError(
            400,
            "unknown-graph",
            f"{where} names {_some(unknown)}, which this service does not hold; it never "
            "fetches graphs from elsewhere. Its graphs: " + ", ".join(sorted(known)),
        )


def _describe(request: Request, service: Service) -> Response:
    media = choose(request.headers.get("accept"), _DESCRIPTION_TYPES)
    if media is None:
        raise ApiError(406, "not-acceptable", "offered: " + ", ".join(_DESCRIPTION_TYPES))
    if media == "text/html":
        return _page(request, service, _EXAMPLE, run=False)
    endpoint = absolute_origin(request) + request.url.path
    fmt = graph_format(media)
    body = write(_description(service, endpoint), fmt)
    return Response(body, media_type=media, headers={"Vary": "Accept"})


def _page(request: Request, service: Service, query: str, run: bool) -> HTMLResponse:
    """The query page, holding ``query``; ``run``: it runs the query once loaded."""
    root = str(request.scope.get("root_path", ""))
    return HTMLResponse(
        render(
            "query.html",
            request,
            title="SPARQL query",
            endpoint=absolute_origin(request) + request.url.path,
            action=root + urls.SPARQL,
            graphs=service.graph_names,
            limit=service.settings.result_limit,
            timeout=service.store.timeout,
            query=query,
            run=run,
            local=[[prefix, root + path] for prefix, path in service.local_prefixes()],
            examples=[
                (e.name, e.question, root + urls.SPARQL + "?" + urlencode({"query": e.query}))
                for e in EXAMPLES
            ],
        ),
        headers={"Vary": "Accept"},
    )


_EXAMPLE = EXAMPLES[0].query


def _description(service: Service, endpoint: str) -> list[Triple]:
    sd = Iri
    me = sd(endpoint)
    triples = [
        Triple(me, RDF_TYPE, sd(SD + "Service")),
        Triple(me, sd(SD + "endpoint"), me),
        Triple(me, sd(SD + "supportedLanguage"), sd(SD + "SPARQL11Query")),
        Triple(me, sd(SD + "feature"), sd(SD + "UnionDefaultGraph")),
        Triple(
            me, sd(SD + "defaultEntailmentRegime"), sd("http://www.w3.org/ns/entailment/Simple")
        ),
    ]
    triples.extend(Triple(me, sd(SD + "resultFormat"), sd(f)) for f in _RESULT_FORMATS.values())
    dataset = Blank("dataset")
    default = Blank("default")
    triples += [
        Triple(me, sd(SD + "defaultDataset"), dataset),
        Triple(dataset, RDF_TYPE, sd(SD + "Dataset")),
        Triple(dataset, sd(SD + "defaultGraph"), default),
        Triple(default, RDF_TYPE, sd(SD + "Graph")),
        Triple(
            default,
            sd(VOID + "triples"),
            Literal(str(service.store.info.triples), _INTEGER),
        ),
    ]
    for info in service.store.info.collections:
        named = Blank(f"g{len(triples)}")
        graph = Blank(f"c{len(triples)}")
        triples += [
            Triple(dataset, sd(SD + "namedGraph"), named),
            Triple(named, RDF_TYPE, sd(SD + "NamedGraph")),
            Triple(named, sd(SD + "name"), sd(info.graph)),
            Triple(named, sd(SD + "graph"), graph),
            Triple(graph, RDF_TYPE, sd(SD + "Graph")),
            Triple(graph, sd(VOID + "triples"), Literal(str(info.triples), _INTEGER)),
        ]
    return triples


_INTEGER = Iri(PREFIXES["xsd"] + "integer")


fast_route(
    router,
    "/sparql",
    sparql,
    name="sparql",
    methods=("GET", "POST"),
    parameters=_PARAMETERS,
    request_body=_BODY,
    summary="SPARQL 1.1 Protocol endpoint (read-only)",
    response_class=Response,
    responses=answered_as(
        "Results, a graph, the query page (text/html) or, with no query, the service description.",
        *_RESULT_FORMATS,
        "text/html",
    )
    | errors(400, 403, 406, 413, 414, 415, 429, 500, 503),
)
