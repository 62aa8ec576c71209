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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar
from urllib.parse import quote, unquote

T = TypeVar("T", bound=str)

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
class Minter(Generic[T]):
    """Mints the IRIs of one collection under a base, as ``term`` makes them.

    ``term`` is ``str`` where an IRI is only text (the service) and a cached rdflib ``URIRef``
    where triples are made, so the layout lives here once and this module needs no rdflib.
    """

    base: str
    collection_name: str
    term: Callable[[str], T]

    def _iri(self, *parts: str) -> T:
        path = "/".join(segment(p) for p in (self.collection_name, *parts))
        return self.term(self.base + path)

    @property
    def collection(self) -> T:
        return self._iri()

    @property
    def codebook(self) -> T:
        return self.term(self._iri() + "/codebook")

    def file(self, name: str) -> T:
        return self.term(self._iri() + "/file/" + segment(name))

    def location(self, name: str, line: int) -> T:
        return self.term(location_of(self.file(name), line))

    def source(self, sid: str) -> T:
        return self.term(self._iri() + "/source/" + segment(sid))

    def header_record(self, sid: str) -> T:
        return self.term(self.source(sid) + "/header")

    def trace_record(self, sid: str) -> T:
        return self.term(self.source(sid) + "/trace")

    def shown(self, sid: str, key: str) -> T:
        """Why a source shows the value it does for ``key`` (when its records disagree)."""
        return self.term(f"{self.source(sid)}/shown/{segment(key)}")

    def model_record(self, sid: str) -> T:
        return self.term(self.source(sid) + "/model")

    def quote(self, sid: str, position: int) -> T:
        return self.term(f"{self.source(sid)}/quote/{position}")

    def memo(self, sid: str, position: int) -> T:
        return self.term(f"{self.source(sid)}/memo/{position}")

    def block(self, sid: str, index: int) -> T:
        return self.term(f"{self.source(sid)}/block/{index + 1}")

    def code(self, ident: str) -> T:
        return self.term(self._iri() + "/code/" + segment(ident))

    def definition(self, ident: str, file: str, line: int) -> T:
        return self.term(f"{self.code(ident)}/definition/{segment(file)}/{line}")

    def impact(self, solution: str, force: str, level: str) -> T:
        tail = "/".join(segment(p) for p in (solution, force, level))
        return self.term(self._iri() + "/impact/" + tail)

    def option(self, decision: str, option: str, name: str) -> T:
        tail = "/".join((segment(decision), segment(option), name_hash(name)))
        return self.term(self._iri() + "/option/" + tail)

    def dependency(self, solution: str, kind: str, required: str) -> T:
        tail = "/".join(segment(p) for p in (solution, kind, required))
        return self.term(self._iri() + "/dependency/" + tail)

    def evidence(self, sid: str, code: str) -> T:
        """A source listing a code in the consolidated model ("contains codes")."""
        return self.term(f"{self.source(sid)}/evidence/{segment(code)}")

    def next_link(self, prior: str, kind: str, decision: str) -> T:
        tail = "/".join(segment(p) for p in (prior, kind, decision))
        return self.term(self._iri() + "/next/" + tail)

    def view(self, name: str) -> T:
        return self.term(self._iri() + "/view/" + segment(name))

    def context_link(self, owner: str, kind: str, domain: str) -> T:
        tail = "/".join(segment(p) for p in (owner, kind, domain))
        return self.term(self._iri() + "/context/" + tail)


def location_of(file: str, line: int) -> str:
    """A line of a seed file: ``{file}#L{line}``."""
    return f"{file}#L{line}"


def split(base: str, iri: str) -> tuple[str, ...] | None:
    """The decoded segments of a data IRI under ``base`` (fragment dropped), else ``None``."""
    if not iri.startswith(base):
        return None
    path = iri[len(base) :].split("#", 1)[0]
    if not path:
        return None
    return tuple(unquote(p, errors="surrogatepass") for p in path.split("/"))
