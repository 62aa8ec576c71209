"""The service's own URLs: the one place a path is built, and absolute only for trusted hosts.

Every path the service writes (dumps, API resources, the endpoint) comes from the builders
below, which percent-encode each name as one path segment: a collection folder named
``my study #2`` is ``/dumps/my%20study%20%232.ttl``, never a raw space that makes an invalid
IRI or a ``#`` that cuts the path.

Absolute URLs in answers (a list's ``next`` page, the JSON API's links, the SPARQL endpoint in
its service description, VoID's dumps) were written from the request's ``Host`` header, which
any client sets: a forged header made the service point readers, and every cache in between,
at another site. Now an absolute URL is written only for a host named in ``--trusted-hosts``;
for any other, links are root-relative (``/api/sources?offset=50``), which every client
resolves against the URL it asked. RDF needs absolute IRIs, so RDF about the service itself
names it by the address it listens on instead.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import Request

from app.iris import segment
from app.rdf.formats import RdfFormat

SPARQL = "/sparql"
DUMPS = "/dumps"


@lru_cache(maxsize=1 << 16)  # a body of hundreds of items names the same few paths again
def _segment(name: str) -> str:
    return segment(name)


def dump(collection: str | None, fmt: RdfFormat) -> str:
    """The path of a dump: all collections, or one."""
    return f"{DUMPS}/{_segment(collection) if collection else 'all'}{fmt.extension}"


def api(*parts: str) -> str:
    """The path of a JSON API resource, each part one segment (``/api/codes/my%20study/x``)."""
    return "/api/" + "/".join(map(_segment, parts))


def view(collection: str, *parts: str) -> str:
    """The path of a research view of a collection (``/views/my%20study/impacts``)."""
    return "/views/" + "/".join(map(_segment, (collection, *parts)))


def origin(request: Request) -> str:
    """``scheme://host[:port]`` when the request's ``Host`` is trusted, else ``""``."""
    host = request.headers.get("host", "")
    if host and _trusted(request, host):
        return f"{request.url.scheme}://{host}"
    return ""


def absolute_origin(request: Request) -> str:
    """An absolute origin whatever the ``Host``: a trusted one, else the listening address."""
    found = origin(request)
    if found:
        return found
    server = request.scope.get("server")
    if not server:
        return "http://localhost"
    host, port = server[0], server[1]
    if ":" in host:
        host = f"[{host}]"
    default = 443 if request.url.scheme == "https" else 80
    return f"{request.url.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def here(request: Request, **params: object) -> str:
    """This request's URL (with ``params`` replaced), absolute only for a trusted host."""
    url = request.url.include_query_params(**params) if params else request.url
    path = url.path + (f"?{url.query}" if url.query else "")
    return origin(request) + path


def _trusted(request: Request, host: str) -> bool:
    names: frozenset[str] = request.state.service.settings.trusted_host_names
    host = host.lower()
    if host in names:
        return True
    bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return bare in names
