"""A per-client budget of queries in the workers, so one client cannot take every worker.

The query workers are few; without a budget, a client that sends as many heavy queries at
once as there are workers makes every other client wait for the time limit. Two rules, each
answered at once with 429 and ``Retry-After`` (which costs the service nothing and tells a
well-behaved client what to do):

* **concurrency**: each client (one remote address) may have ``limit`` queries being checked
  or evaluated at once;
* **heavy clients yield**: a client whose recent long queries (each longer than ``long``
  seconds: short ones never count, however many) took more than :data:`HEAVY` seconds of
  worker time, decaying by half every :data:`HALF_LIFE` seconds, is refused a new query while
  long-running queries already hold all but the reserved workers (``crowded``), so that those
  stay free for everyone else.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HEAVY = 1.0
"""Worker-seconds of recent use that make a client heavy."""
HALF_LIFE = 30.0
"""Seconds in which a client's recent use counts half as much."""


class OverBudget(Exception):
    """The client already has its share of the workers; ``reason`` says which rule applied."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "concurrency" | "heavy"


class Slot:
    """One query's place in its client's budget; the route notes its worker time here."""

    __slots__ = ("worker_seconds",)

    def __init__(self) -> None:
        self.worker_seconds = 0.0


class ClientBudget:
    """Each client's queries in flight and recent use; the event loop is its only user."""

    def __init__(
        self, limit: int, crowded: Callable[[], bool] = lambda: False, long: float = 0.25
    ) -> None:
        self.limit = limit
        self.crowded = crowded  # whether long queries hold all but the reserved workers
        self.long = long
        self._running: Counter[str] = Counter()
        self._use: dict[str, tuple[float, float]] = {}  # client: (worker-seconds, when)
        self.refused = 0

    @contextmanager
    def slot(self, client: str) -> Iterator[Slot]:
        """Hold one of ``client``'s slots for the duration; raises :class:`OverBudget`.

        The client is charged the worker time noted in the slot (time spent waiting for a
        worker is not use), when it makes the query a long one.
        """
        if self._running[client] >= self.limit:
            self.refused += 1
            raise OverBudget("concurrency")
        if self.crowded() and self.use(client) >= HEAVY:
            self.refused += 1
            raise OverBudget("heavy")
        self._running[client] += 1
        held = Slot()
        try:
            yield held
        finally:
            self._running[client] -= 1
            if not self._running[client]:
                del self._running[client]
            if held.worker_seconds >= self.long:
                self._charge(client, held.worker_seconds)

    def use(self, client: str) -> float:
        """The client's recent worker-seconds, decayed to now."""
        found = self._use.get(client)
        if found is None:
            return 0.0
        seconds, when = found
        return float(seconds * 0.5 ** ((time.monotonic() - when) / HALF_LIFE))

    def _charge(self, client: str, seconds: float) -> None:
        now = time.monotonic()
        self._use[client] = (self.use(client) + seconds, now)
        if len(self._use) > 10_000:  # forget clients whose use has decayed away
            self._use = {c: u for c, u in self._use.items() if self.use(c) >= 0.01}

    def running(self) -> int:
        return sum(self._running.values())
