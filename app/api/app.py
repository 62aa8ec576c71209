"""The FastAPI application over one snapshot: ``create_app(snapshot, settings)``.

Nothing is read from the environment or the disk at import time; ``create_app`` is given what
it serves. The query worker pool starts with the application and stops with it.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route
from starlette.types import ASGIApp

from app import __version__
from app.api import errors
from app.api.cache import Answers, Bodies, ResponseCache
from app.api.fair_share import ClientBudget
from app.api.generations import Generations, Pin
from app.api.head import HeadAsGet
from app.api.observe import AccessLog, Metrics, Observe, Observer
from app.api.pages import STATIC, SWAGGER_UI
from app.api.routes import api, dumps, meta, resources, sparql, views
from app.api.service import Service
from app.config import Settings
from app.namespaces import ONTOLOGY_IRI
from app.read import lookup
from app.sparql.engine import LONG_QUERY, QueryPool, WorkerLimits
from app.sparql.remote import RemoteRunner
from app.store.embedded import EmbeddedStore
from app.store.remote import RemoteStore, read_info
from app.store.seam import GraphStore
from app.store.snapshot import Snapshot
from app.store.sparql_http import Endpoints, SparqlClient

DESCRIPTION = """A knowledge graph of data-mesh practices built from grounded-theory field notes:
which practices address which forces, says who, with what evidence.

* `/sparql`: SPARQL 1.1 Protocol (read-only); every collection is a named graph.
* `/api/…`: this JSON API, paginated, each resource also as JSON-LD.
* Data IRIs dereference to HTML or RDF, by `Accept` or by a `.ttl`, `.jsonld`, `.nt`, `.rdf`
  or `.html` suffix; full dumps under `/dumps`; `/` is the home page.
"""


class _Served(FastAPI):
    """FastAPI with the observer and the answer cache in front of its own middleware.

    A kept answer is then sent by the outermost layer, without passing through Starlette's
    error, telemetry and body-limit layers, CORS and routing: the same bytes sooner. The CORS
    headers an answer carries are kept with it (the cache key says whether the request had an
    ``Origin``), and the observer sees every answer, kept or computed, and errors too.
    """

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        pinned = Pin(ResponseCache(HeadAsGet(inner)), self.state.generations)
        return Observe(pinned, observer=self.state.observer)


def newer_remote(url: str, settings: Settings) -> Callable[[GraphStore], GraphStore | None]:
    """What a service over ``url`` asks to follow new publishes: the store of the version
    published now, when it is not the one served."""
    client = SparqlClient(Endpoints.from_base(url, settings.store_user, settings.store_password))

    def newer(current: GraphStore) -> GraphStore | None:
        info = read_info(client)
        if info is None or info.key == current.info.key:
            return None
        return remote_store(url, settings)

    return newer


def remote_store(url: str, settings: Settings) -> GraphStore:
    """The store of the version published at ``url`` (see :mod:`app.store.remote`)."""
    client = SparqlClient(
        Endpoints.from_base(url, settings.store_user, settings.store_password),
        timeout=max(settings.query_timeout, 30.0),
    )
    info = read_info(client)
    graphs = [*(c.graph for c in info.collections), ONTOLOGY_IRI] if info is not None else []
    runner = RemoteRunner(
        client, graphs, settings.query_timeout, settings.query_processes, client.ping
    )
    return RemoteStore(client, runner)


def create_app(
    snapshot: Snapshot | GraphStore,
    settings: Settings,
    *,
    seeds: list[Path] | None = None,
    store_path: Path | None = None,
    watch: bool = False,
    follow: Callable[[GraphStore], GraphStore | None] | None = None,
) -> FastAPI:
    """The service over ``snapshot``; with ``seeds`` it can reload them (``SIGHUP``, and on
    every change with ``watch``), storing each new snapshot under ``store_path`` if given."""
    limits = WorkerLimits(settings.worker_isolation, settings.query_mb * 1024 * 1024)
    budget = settings.cache_mb * 1024 * 1024
    generations: list[Generations] = []  # the one below; the client budget asks it

    def crowded() -> bool:
        return bool(generations) and generations[0].current.service.store.crowded()

    clients = ClientBudget(settings.client_query_limit, crowded, LONG_QUERY)

    def make(snapshot: Snapshot) -> Service:
        pool = QueryPool(
            snapshot.opener(), settings.query_processes, settings.query_timeout, limits
        )
        return Service(
            EmbeddedStore(snapshot, pool), settings, Answers(budget), Bodies(budget // 4), clients
        )

    def serve_store(store: GraphStore) -> Service:
        return Service(store, settings, Answers(budget), Bodies(budget // 4), clients)

    if isinstance(snapshot, Snapshot):
        first = make(snapshot)
    else:  # a store served as it is (a remote server): never rebuilt here
        first = serve_store(snapshot)
        seeds = None
    served = Generations(first, make, seeds, settings, store_path)
    served.follow, served.serve_store = follow, serve_store
    generations.append(served)

    metrics = Metrics()
    metrics.watch(served)
    observer = Observer(AccessLog(settings.access_log), metrics, served.current.service.data_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        first = served.current.service.store
        await first.start()
        # the JSON API's tables are built once per snapshot; building them beside the first
        # requests instead of in the first /api request keeps that request as fast as the rest
        threading.Thread(target=lookup.tables, args=(first,), daemon=True).start()
        await served.start(watch)
        try:
            yield
        finally:
            await served.close()
            served.current.service.store.close()
            observer.log.close()

    app = _Served(
        title="meshkg",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.generations = served
    app.state.observer = observer
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=[
            "Meshkg-Result-Cut",
            "Meshkg-Cache",
            "ETag",
            "Link",
            "Vary",
            "Content-Location",
            "Retry-After",
            "X-Request-Id",
        ],
        max_age=86400,
    )
    errors.install(app)
    # the longer prefix first: Starlette matches mounts in order, and "/static" would take
    # every "/static/swagger/…" request and answer 404
    app.mount("/static/swagger", StaticFiles(directory=SWAGGER_UI), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="meshkg API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon.png",
        )

    # resources last: it answers the data IRIs' paths
    routers = [sparql.router, *api.ROUTERS, dumps.router, meta.router, views.router]
    routers.append(resources.router)
    for router in routers:
        app.include_router(router)
    # every route as declared, for the methods a 405 names (app.api.errors)
    app.state.routes = [
        *(r for r in app.router.routes if isinstance(r, Route)),
        *(r for router in routers for r in router.routes),
    ]
    return app
