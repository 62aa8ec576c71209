"""A SPARQL 1.1 Protocol and Graph Store Protocol client: how the service talks to a server.

The remote store (:mod:`app.store.remote`) and the remote query runner
(:mod:`app.sparql.remote`) go through this one client, which owns the endpoints, the
credentials, the time-outs and the one error a caller has to know: :class:`RemoteUnavailable`
(the server cannot be reached, or answers 5xx). Queries are sent as form POSTs (every server
answers those; some never answer a direct ``application/sparql-query`` POST), with the dataset
as ``default-graph-uri`` / ``named-graph-uri`` parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app import terms

JSON_RESULTS = "application/sparql-results+json"
NTRIPLES = "application/n-triples"


class RemoteUnavailable(Exception):
    """The server cannot be reached, timed out, or answered with a server error."""


class RemoteRefused(Exception):
    """The server refused a request (4xx): a request this service wrote wrongly."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """What a server does otherwise than the standard, as the backend must know it."""

    name: str
    atomic_updates: bool = True  # one update request of several operations is one transaction
    ask_as_binding: bool = False  # ASK answers a one-row table (Virtuoso's __ASK_RETVAL)
    numeric_booleans: bool = False  # xsd:boolean values written as 1 and 0
    raw_controls: bool = False  # control characters in uploaded literals must be escaped
    iri_escapes: bool = True  # reads \u escapes inside IRIs (the checked text writes them)
    own_describe: bool = False  # DESCRIBE answers more than a resource's own triples
    typed_strings: bool = True  # "x"^^xsd:string matches "x" (RDF 1.1: they are one literal)


OXIGRAPH = Dialect("oxigraph")
VIRTUOSO = Dialect(
    "virtuoso",
    atomic_updates=False,
    ask_as_binding=True,
    numeric_booleans=True,
    raw_controls=True,
    iri_escapes=False,
    own_describe=True,
    typed_strings=False,
)
STANDARD = Dialect("standard", atomic_updates=False)
"""An unknown server: assumed to apply a multi-operation update in steps."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a server answers queries, updates and the graph store protocol.

    ``from_base`` reads the layout of Oxigraph's server (``/query``, ``/update``, ``/store``),
    which Fuseki's ``/{dataset}/query`` etc. share; other servers give each URL.
    """

    query: str
    update: str
    store: str
    user: str | None = None
    password: str | None = None
    dialect: Dialect = OXIGRAPH

    @classmethod
    def from_base(
        cls, base: str, user: str | None = None, password: str | None = None
    ) -> Endpoints:
        """The endpoints of the server at ``base``, found by asking it: Oxigraph's layout
        (``/query``, ``/update``, ``/store``), or one SPARQL endpoint (``/sparql``, or
        ``base`` itself) with Virtuoso's graph store at ``/sparql-graph-crud``; the dialect
        from the server's ``Server`` header."""
        base = base.rstrip("/")
        auth = httpx.BasicAuth(user, password or "") if user is not None else None
        with httpx.Client(timeout=10, auth=auth, follow_redirects=False, trust_env=False) as http:
            for query, layout in _LAYOUTS(base):
                try:
                    answer = http.get(query, params={"query": "ASK {}"})
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200:
                    server = answer.headers.get("server", "").lower()
                    update, store = layout
                    if "virtuoso" in server:  # it answers under any /sparql/… path
                        root = base.split("/sparql", 1)[0]
                        endpoint = f"{root}/sparql"
                        crud = f"{root}/sparql-graph-crud"
                        return cls(endpoint, endpoint, crud, user, password, VIRTUOSO)
                    dialect = OXIGRAPH if "oxigraph" in server else STANDARD
                    return cls(query, update, store, user, password, dialect)
        raise RemoteUnavailable(f"{base}: no SPARQL endpoint answers there")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.query)
        return f"{parts.scheme}://{parts.netloc}"


def _LAYOUTS(base: str) -> list[tuple[str, tuple[str, str]]]:  # noqa: N802
    root = base.removesuffix("/sparql")
    return [
        (f"{base}/query", (f"{base}/update", f"{base}/store")),
        (f"{root}/sparql", (f"{root}/sparql", f"{root}/sparql-graph-crud")),
    ]


class SparqlClient:
    """One HTTP connection pool to one server, with a time-out for every request."""

    def __init__(self, endpoints: Endpoints, timeout: float = 30.0) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        auth = (
            httpx.BasicAuth(endpoints.user, endpoints.password or "")
            if endpoints.user is not None
            else None
        )
        # the service never follows a redirect to elsewhere, nor reads proxy settings
        self._http = httpx.Client(
            timeout=timeout, auth=auth, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    # --- queries --------------------------------------------------------------------------

    def _form(
        self, query: str, default: Sequence[str] | None, named: Sequence[str] | None
    ) -> list[tuple[str, str]]:
        form = [("query", query)]
        form += [("default-graph-uri", g) for g in default or ()]
        form += [("named-graph-uri", g) for g in named or ()]
        return form

    def select(
        self,
        query: str,
        default: Sequence[str] | None = None,
        named: Sequence[str] | None = None,
    ) -> Iterator[terms.Row]:
        """The rows of a SELECT, as plain terms."""
        answer = self._post(self.endpoints.query, self._form(query, default, named), JSON_RESULTS)
        data = answer.json()
        numeric = self.endpoints.dialect.numeric_booleans
        for binding in data.get("results", {}).get("bindings", []):
            yield {name: _term(value, numeric) for name, value in binding.items()}

    def ping(self) -> str | None:
        """Why the server cannot answer now, or ``None`` when it answers."""
        try:
            self.ask("ASK {}")
        except (RemoteUnavailable, RemoteRefused) as err:
            return f"the store at {self.endpoints.origin} is unavailable ({err})"
        return None

    def ask(self, query: str) -> bool:
        answer = self._post(self.endpoints.query, self._form(query, None, None), JSON_RESULTS)
        data = answer.json()
        if "boolean" in data:
            return bool(data["boolean"])
        rows: list[dict[str, dict[str, str]]] = data.get("results", {}).get("bindings", [])
        # a server answering ASK as a one-row table
        values = [v.get("value") for v in rows[0].values()] if rows else []
        return bool(values) and values[0] in ("1", "true")

    def stream(
        self,
        query: str,
        accept: str,
        default: Sequence[str] | None,
        named: Sequence[str] | None,
        timeout: float,
    ) -> httpx.Response:
        """An answer whose body the caller reads (and closes) itself, in chunks."""
        request = self._http.build_request(
            "POST",
            self.endpoints.query,
            data=dict_list(self._form(query, default, named)),
            headers={"Accept": accept},
            timeout=timeout,
        )
        try:
            answer = self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as err:
            raise RemoteUnavailable(f"{self.endpoints.origin}: {type(err).__name__}") from err
        if answer.status_code >= 500:
            answer.close()
            raise RemoteUnavailable(f"{self.endpoints.origin} answered {answer.status_code}")
        return answer

    # --- updates and the graph store protocol ---------------------------------------------

    def update(self, text: str) -> None:
        self._post(self.endpoints.update, [("update", text)], None)

    def put_graph(self, graph: str, ntriples: bytes) -> None:
        """Replace one named graph with the N-Triples given (Graph Store Protocol PUT)."""
        if self.endpoints.dialect.raw_controls:
            ntriples = escape_controls(ntriples)
        try:
            answer = self._http.put(
                self.endpoints.store,
                params={"graph": graph},
                content=ntriples,
                headers={"Content-Type": NTRIPLES},
            )
        except httpx.HTTPError as err:
            raise RemoteUnavailable(f"{self.endpoints.origin}: {type(err).__name__}") from err
        _check(answer, self.endpoints.origin)

    def _post(self, url: str, form: list[tuple[str, str]], accept: str | None) -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        try:
            answer = self._http.post(url, data=dict_list(form), headers=headers)
        except httpx.HTTPError as err:
            raise RemoteUnavailable(f"{self.endpoints.origin}: {type(err).__name__}") from err
        _check(answer, self.endpoints.origin)
        return answer


def dict_list(form: list[tuple[str, str]]) -> dict[str, list[str]]:
    """A form with repeated keys, as httpx takes it."""
    out: dict[str, list[str]] = {}
    for key, value in form:
        out.setdefault(key, []).append(value)
    return out


def _check(answer: httpx.Response, origin: str) -> None:
    if answer.status_code >= 500:
        raise RemoteUnavailable(f"{origin} answered {answer.status_code}")
    if answer.status_code >= 400:
        raise RemoteRefused(f"{origin} answered {answer.status_code}: {answer.text[:300]}")


XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape_controls(ntriples: bytes) -> bytes:
    """N-Triples with every control character written as a ``\\u`` escape (they can only be in
    literals), for servers that store raw ones wrongly."""
    return _CONTROLS.sub(lambda m: b"\\u%04X" % m.group()[0], ntriples)


def boolean_text(value: str) -> str:
    """``1``/``0`` as a server may write an xsd:boolean, in the canonical ``true``/``false``."""
    return {"1": "true", "0": "false"}.get(value, value)


def _term(value: dict[str, str], numeric_booleans: bool = False) -> terms.Term:
    kind = value.get("type")
    text = value.get("value", "")
    if kind == "uri":
        return terms.Iri(text)
    if kind == "bnode":
        return terms.Blank(text)
    datatype = value.get("datatype")
    if numeric_booleans and datatype == XSD_BOOLEAN:
        text = boolean_text(text)
    return terms.Literal.of(text, datatype, value.get("xml:lang"))
