"""Reuse of results: a TTL cache that also joins occurrences of a URL in flight.

A URL pasted ten times is fetched once: the first occurrence claims it, the
others wait on that fetch (without holding a worker) or reuse its result while
it is fresh. Failures are kept for at most ``FAILURE_TTL`` seconds so that a
passing outage heals.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Hashable

from linkfilter.result import Result

#: Longest time a failed lookup is reused, whatever ``--cache-ttl`` says.
FAILURE_TTL = 60.0

#: Past this many stored results, expired ones are swept out on the next store.
SWEEP_AT = 40_000

class ResultCache:
    """Thread-safe map from a normalised URL to its result, or to its waiters while in flight."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._done: dict[Hashable, tuple[float, Result]] = {}
        self._flying: dict[Hashable, list[Any]] = {}

    def claim(self, key: Hashable, waiter: Any) -> Result | None | bool:
        """Ask for ``key`` on behalf of ``waiter``.

        Returns a fresh cached Result; or False when the key is in flight and
        ``waiter`` was queued for it; or None when the caller must fetch it
        (the key is now in flight). With a TTL of 0 every claim fetches.
        """
        if self.ttl <= 0:
            return None
        with self._lock:
            hit = self._done.get(key)
            if hit is not None:
                if hit[0] > self._clock():
                    return hit[1]
                del self._done[key]
            waiters = self._flying.get(key)
            if waiters is not None:
                waiters.append(waiter)
                return False
            self._flying[key] = []
            return None

    def complete(self, key: Hashable, result: Result) -> list[Any]:
        """Store the result of a claimed key; return the waiters that joined it."""
        if self.ttl <= 0:
            return []
        ttl = self.ttl if result.ok else min(self.ttl, FAILURE_TTL)
        with self._lock:
            self._done[key] = (self._clock() + ttl, result)
            if len(self._done) > SWEEP_AT:
                self._expire()
            return self._flying.pop(key, [])

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, (t, _) in self._done.items() if t <= now]:
            del self._done[key]

