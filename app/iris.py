"""The only place data IRIs are minted and taken apart.

An IRI is the base, the collection and a path of typed segments, each segment percent-encoded
from the identifier it stands for (RFC 3986 unreserved characters stay as they are; ``.`` and
``..`` alone are encoded so no client normalises them away). Encoding is injective, so two
different identifiers never share an IRI, and IRIs depend only on collection and identifiers:
the same seeds give the same IRIs on every machine and run.

Layout under the base (default :data:`DEFAULT_BASE`)::

    {collection}                                   the collection (a study)
    {collection}/codebook                          its codes as a SKOS concept scheme
    {collection}/file/{file}                       a seed file; {file}#L{n} a line of it
    {collection}/source/{id}                       a source; /header, /trace its records
    {collection}/source/{id}/quote/{n}             the n-th quote of the source's note
    {collection}/source/{id}/block/{n}             its n-th coding block (trace or open coding)
    {collection}/code/{ident}                      a code
    {collection}/code/{ident}/definition/{file}/{n}   one definition of it
    {collection}/impact/{solution}/{force}/{level}
    {collection}/option/{decision}/{option}/{name-hash}
    {collection}/dependency/{solution}/{kind}/{solution}
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

from rdflib import URIRef

DEFAULT_BASE = "https://w3id.org/meshkg/id/"


@lru_cache(maxsize=1 << 16)
def segment(value: str) -> str:
    """Percent-encode one path segment; every character is safe to pass."""
    if not value:
        raise ValueError("an IRI segment cannot be empty")
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="", errors="surrogatepass")


def name_hash(text: str) -> str:
    """A short stable key for free text (option names) that cannot be an IRI segment."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def check_base(base: str) -> str:
    """A base must be an absolute http(s) IRI ending in ``/`` so segments append cleanly."""
    if not base.startswith(("http://", "https://")) or not base.endswith("/"):
        raise ValueError(f"base IRI must be http(s) and end with '/': {base!r}")
    if any(ch in base for ch in ' <>"{}|\\^`'):
        raise ValueError(f"base IRI contains characters not allowed in an IRI: {base!r}")
    return base


@dataclass(frozen=True, slots=True)
class Minter:
    """Mints the IRIs of one collection under a base."""

    base: str
    collection_name: str

    def _iri(self, *parts: str) -> URIRef:
        path = "/".join(segment(p) for p in (self.collection_name, *parts))
        return _uri(self.base + path)

    @property
    def collection(self) -> URIRef:
        return self._iri()

    @property
    def codebook(self) -> URIRef:
        return _uri(self._iri() + "/codebook")

    def file(self, name: str) -> URIRef:
        return _uri(self._iri() + "/file/" + segment(name))

    def location(self, name: str, line: int) -> URIRef:
        return location_of(self.file(name), line)

    def source(self, sid: str) -> URIRef:
        return _uri(self._iri() + "/source/" + segment(sid))

    def header_record(self, sid: str) -> URIRef:
        return _uri(self.source(sid) + "/header")

    def trace_record(self, sid: str) -> URIRef:
        return _uri(self.source(sid) + "/trace")

    def quote(self, sid: str, position: int) -> URIRef:
        return _uri(f"{self.source(sid)}/quote/{position}")

    def block(self, sid: str, index: int) -> URIRef:
        return _uri(f"{self.source(sid)}/block/{index + 1}")

    def code(self, ident: str) -> URIRef:
        return _uri(self._iri() + "/code/" + segment(ident))

    def definition(self, ident: str, file: str, line: int) -> URIRef:
        return _uri(f"{self.code(ident)}/definition/{segment(file)}/{line}")

    def impact(self, solution: str, force: str, level: str) -> URIRef:
        tail = "/".join(segment(p) for p in (solution, force, level))
        return _uri(self._iri() + "/impact/" + tail)

    def option(self, decision: str, option: str, name: str) -> URIRef:
        tail = "/".join((segment(decision), segment(option), name_hash(name)))
        return _uri(self._iri() + "/option/" + tail)

    def dependency(self, solution: str, kind: str, required: str) -> URIRef:
        tail = "/".join(segment(p) for p in (solution, kind, required))
        return _uri(self._iri() + "/dependency/" + tail)


def location_of(file: URIRef, line: int) -> URIRef:
    """A line of a seed file: ``{file}#L{line}``."""
    return _uri(f"{file}#L{line}")


@lru_cache(maxsize=1 << 17)
def _uri(text: str) -> URIRef:
    """rdflib checks every IRI it is given; the same IRIs are minted many times over."""
    return URIRef(text)


def split(base: str, iri: str) -> tuple[str, ...] | None:
    """The decoded segments of a data IRI under ``base`` (fragment dropped), else ``None``."""
    if not iri.startswith(base):
        return None
    path = iri[len(base) :].split("#", 1)[0]
    if not path:
        return None
    return tuple(unquote(p, errors="surrogatepass") for p in path.split("/"))
