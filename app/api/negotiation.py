"""HTTP content negotiation: the best offered media type for an ``Accept`` header.

RFC 9110 rules: each media range has a quality (``q``, default 1, ``q=0`` means "not this");
a more specific range (``text/turtle`` over ``text/*`` over ``*/*``, and one with parameters
over one without) decides the quality of a type it matches. Among acceptable offers the highest
quality wins, ties going to the server's order of preference. No ``Accept`` header accepts all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MediaRange:
    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    q: float

    def specificity(self) -> int:
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 2 + (1 if self.params else 0)

    def matches(self, media_type: str) -> bool:
        kind, _, sub = media_type.partition("/")
        if self.type == "*":
            return True
        if self.type != kind:
            return False
        return self.subtype in ("*", sub)


def parse_accept(header: str | None) -> list[MediaRange]:
    """The header's media ranges; malformed entries are skipped, as clients expect."""
    if header is None or not header.strip():
        return [MediaRange("*", "*", (), 1.0)]
    ranges = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        kind, _, sub = pieces[0].lower().partition("/")
        if not kind or not sub:
            continue
        q = 1.0
        params = []
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
            elif key:
                params.append((key, value))
        ranges.append(MediaRange(kind, sub, tuple(params), q))
    return ranges


def quality(ranges: list[MediaRange], media_type: str) -> float:
    """The quality the client gives ``media_type``: that of the most specific matching range."""
    best: MediaRange | None = None
    for r in ranges:
        if r.matches(media_type) and (best is None or r.specificity() > best.specificity()):
            best = r
    return best.q if best is not None else 0.0


def choose(header: str | None, offers: list[str]) -> str | None:
    """The offer to send, or ``None`` when the client accepts none of them (a 406)."""
    ranges = parse_accept(header)
    best, best_q = None, 0.0
    for offer in offers:
        q = quality(ranges, offer)
        if q > best_q:
            best, best_q = offer, q
    return best
