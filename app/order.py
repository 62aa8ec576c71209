"""The one order of names people read: digit runs as numbers (``s2`` before ``s10``), case aside.

Source ids, file names, labels and IRIs are sorted with :func:`natural` everywhere (the JSON
API's lists, the pages, the reports), so the same things come in the same order wherever they
are shown.
"""

from __future__ import annotations

import re
from functools import lru_cache

_DIGITS = re.compile(r"(\d+)")


@lru_cache(maxsize=1 << 14)
def natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key: digit runs compare as numbers, other runs case-insensitively (and a number
    sorts before a word at the same place, so any two keys compare)."""
    return tuple(
        (1, int(part)) if part.isdigit() else (0, part.casefold())
        for part in _DIGITS.split(text)
        if part
    )
