"""Pure functions of a query's text, their results kept for texts that come again.

Clients repeat their queries: notebooks re-run cells, dashboards poll, and a ``POST`` query or
one sent with ``Cache-Control: no-cache`` is evaluated again rather than answered from the
answer cache. Reading a short query's tokens (for the protocol checks, then for the per-row
plan) costs about as much as Oxigraph's own parse. Only texts of up to ``chars`` characters
are kept, at most ``size`` of them, so what is kept stays within a few megabytes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar

T = TypeVar("T")


def by_text(
    size: int = 256, chars: int = 16_384
) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    def wrap(f: Callable[[str], T]) -> Callable[[str], T]:
        kept = lru_cache(maxsize=size)(f)

        @wraps(f)
        def call(text: str) -> T:
            return kept(text) if len(text) <= chars else f(text)

        return call

    return wrap
