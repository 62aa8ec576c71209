"""Settings, read from ``MESHKG_*`` environment variables when a command or app starts.

Nothing reads the environment at import time, so tests and embedders can build settings
explicitly and two apps with different settings can live in one process.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.iris import DEFAULT_BASE, check_base


class Settings(BaseSettings):
    """What a build and the service depend on besides the seeds themselves."""

    model_config = SettingsConfigDict(env_prefix="MESHKG_", extra="ignore")

    base_iri: str = DEFAULT_BASE
    """Prefix of every data IRI; the default is stable and documented in the README."""

    store_user: str | None = None
    """The user name for a remote SPARQL store (``--publish URL``, ``serve --store URL``)."""

    store_password: str | None = None
    """Its password (``MESHKG_STORE_PASSWORD``; never given on a command line, where other
    users of the machine can read it)."""

    include_set_aside: bool = True
    """Keep codes, relations and links written inside ``'''`` strings (marked as such)."""

    workers: int = 0
    """Processes for reading and validating; 0 means one per CPU core."""

    query_timeout: float = 10.0
    """Seconds a SPARQL query may run before it is stopped (its worker process is replaced)."""

    result_limit: int = 10_000
    """Rows (or triples) a SPARQL result may hold; a longer one is cut and says so."""

    query_workers: int = 0
    """Processes that evaluate SPARQL queries; 0 means two per core, at least four. More
    processes than cores let a short query start while long ones run (a long one is given
    the lowest CPU priority, so the short one is not slowed by it)."""

    memory_quads: int = 1_000_000
    """A stored snapshot of at most this many quads is served from a copy in memory (queries
    3-5x faster); a larger one from disk (small memory, start-up in about a second)."""

    cache_mb: int = 64
    """Megabytes of answers kept in memory for repeated GET requests (0: none kept). The
    snapshot never changes, so a kept answer is always the answer."""

    query_kb: int = 1024
    """Kilobytes a SPARQL request may send, as its query string (else 414) or as its body
    (else 413, refused before it is read whole, so that no client can make the service hold
    an unbounded body in memory)."""

    query_mb: int = 1024
    """Megabytes of memory a query worker may take beyond its size at start while it evaluates
    one query; past it the worker is stopped (like one past the time limit) and replaced."""

    answer_mb: int = 16
    """Megabytes a SPARQL answer may hold; a longer one is cut (and says so) or refused where
    its format cannot say it was cut. Bounds what the service holds per answer in memory."""

    head_kb: int = 64
    """Kilobytes of a request's line and headers together (a GET query travels in the line)."""

    max_headers: int = 100
    """Header fields a request may have."""

    read_timeout: float = 10.0
    """Seconds a request's head, and then its body, may take to arrive; slower clients are
    cut, so a connection cannot be held open by sending one byte at a time."""

    max_connections: int = 512
    """Open connections; one more is answered 503 and closed, so slow clients are bounded."""

    client_queries: int = 0
    """SPARQL queries one client (one address) may have in the query workers at once; 0 means
    half the workers, at least one. One more is answered 429, so one client cannot
    take every worker from the others."""

    trusted_hosts: str = "localhost,127.0.0.1,[::1]"
    """Host names (comma-separated, ``host`` or ``host:port``) the service writes absolute URLs
    for; a request naming another ``Host`` gets root-relative links, so a forged header
    cannot make the service point readers elsewhere."""

    access_log: str = "-"
    """Where the structured access log goes: ``-`` for stderr, a file path, or ``off``."""

    worker_isolation: Literal["auto", "netns", "seccomp"] = "auto"
    """How a query worker is kept off the network whatever a query says: a private network
    namespace, a seccomp filter refusing network sockets, or (``auto``) every one of the two
    the kernel allows."""

    @property
    def query_processes(self) -> int:
        return self.query_workers if self.query_workers > 0 else max(4, 2 * (os.cpu_count() or 1))

    @property
    def processes(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    @field_validator("query_timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if not 0 < value <= 3600:
            raise ValueError("query_timeout must be between 0 and 3600 seconds")
        return value

    @field_validator("result_limit")
    @classmethod
    def _limit(cls, value: int) -> int:
        if value < 1:
            raise ValueError("result_limit must be at least 1")
        return value

    @field_validator("cache_mb")
    @classmethod
    def _cache(cls, value: int) -> int:
        if not 0 <= value <= 1 << 20:
            raise ValueError("cache_mb must be between 0 (no cache) and 1048576")
        return value

    @field_validator("query_kb")
    @classmethod
    def _query_kb(cls, value: int) -> int:
        if not 1 <= value <= 1 << 20:
            raise ValueError("query_kb must be between 1 and 1048576")
        return value

    @property
    def client_query_limit(self) -> int:
        if self.client_queries > 0:
            return self.client_queries
        return max(1, self.query_processes // 2)

    @property
    def trusted_host_names(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.trusted_hosts.split(",") if h.strip())

    @field_validator("query_mb", "answer_mb")
    @classmethod
    def _megabytes(cls, value: int) -> int:
        if not 1 <= value <= 1 << 20:
            raise ValueError("must be between 1 and 1048576 megabytes")
        return value

    @field_validator("head_kb")
    @classmethod
    def _head(cls, value: int) -> int:
        if not 1 <= value <= 1 << 14:
            raise ValueError("head_kb must be between 1 and 16384")
        return value

    @field_validator("max_headers", "max_connections")
    @classmethod
    def _count(cls, value: int) -> int:
        if not 1 <= value <= 1 << 20:
            raise ValueError("must be between 1 and 1048576")
        return value

    @field_validator("client_queries")
    @classmethod
    def _client(cls, value: int) -> int:
        if value < 0:
            raise ValueError("client_queries must be 0 (half the workers) or more")
        return value

    @field_validator("read_timeout")
    @classmethod
    def _read(cls, value: float) -> float:
        if not 0 < value <= 3600:
            raise ValueError("read_timeout must be between 0 and 3600 seconds")
        return value

    @field_validator("memory_quads")
    @classmethod
    def _memory(cls, value: int) -> int:
        if value < 0:
            raise ValueError("memory_quads must be 0 (always serve from disk) or more")
        return value

    @field_validator("base_iri")
    @classmethod
    def _base(cls, value: str) -> str:
        return check_base(value)
