"""Reuse of results: bounded TTL caches, and the joining of occurrences of a URL in flight.

A URL pasted ten times is fetched once: the first occurrence claims it, the
others wait on that fetch (without holding a worker) or reuse its result while
it is fresh. Failures are kept for at most ``FAILURE_TTL`` seconds so that a
passing outage heals. Every cache here is an LRU of at most a fixed number of
entries, expired or not, with O(1) operations: a week-long run over millions of
distinct URLs stays flat in memory and in time per URL.
"""

from __future__ import annotations

import collections
import enum
import sys
import threading
import time
from typing import Any, Callable, Generic, Hashable, NamedTuple, TypeVar

from linkfilter.result import Result

#: Longest time a failed lookup is reused, whatever ``--cache-ttl`` says.
FAILURE_TTL = 60.0

#: Most results kept (least recently used go first).
MAX_RESULTS = 100_000
#: Most hosts remembered as down, and most failing URLs remembered as reported.
MAX_HOSTS = 10_000
MAX_REPORTED = 10_000

V = TypeVar("V")
Clock = Callable[[], float]


def failure_ttl(ttl: float) -> float:
    """How long a failure is remembered: the TTL, but never more than ``FAILURE_TTL``."""
    return min(ttl, FAILURE_TTL)


class LRU(Generic[V]):
    """Keys to values that expire; at most ``size`` entries, least recently used go first.

    Not thread-safe: callers hold their own lock. An entry is fresh strictly
    before its expiry time and gone at it.
    """

    def __init__(self, size: int, clock: Clock) -> None:
        self.size = size
        self._clock = clock
        self._items: collections.OrderedDict[Hashable, tuple[float, V]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: Hashable, value: V, ttl: float) -> None:
        items = self._items
        items[key] = (self._clock() + ttl, value)
        items.move_to_end(key)
        if len(items) > self.size:
            items.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        self._items.pop(key, None)


def compact(key: str, result: Result) -> Result:
    """What a cache keeps of a result: the outcome, not the occurrence (URL, line, host),
    with repeated short strings shared."""
    return result._replace(
        url="",
        line=0,
        host="",
        final_url=None if result.final_url == key else result.final_url,
        content_type=_intern(result.content_type),
        charset=_intern(result.charset),
        charset_source=_intern(result.charset_source),
        error=_intern(result.error),
        elapsed=0.0,
    )


def _intern(text: str | None) -> str | None:
    return sys.intern(text) if text is not None and len(text) < 64 else text


def expand(key: str, kept: Result, *, url: str, line: int, host: str, elapsed: float) -> Result:
    """A kept result reported for one occurrence, marked as cached."""
    final_url = kept.final_url if kept.final_url is not None or not kept.ok else key
    return kept._replace(
        url=url, line=line, host=host, final_url=final_url, elapsed=elapsed, cached=True
    )


class Claim(enum.Enum):
    """What the caller of ``ResultCache.claim`` is to do with its key."""

    HIT = "hit"  # use the fresh kept result that came back
    WAIT = "wait"  # nothing: the key is in flight and the waiter was queued for it
    FETCH = "fetch"  # fetch it: the key is now in flight, its waiters join the caller


class Claimed(NamedTuple):
    """``ResultCache.claim``'s answer: what to do, and the kept result for a HIT."""

    how: Claim
    result: Result | None = None


_WAIT = Claimed(Claim.WAIT)
_FETCH = Claimed(Claim.FETCH)


class ResultCache:
    """Thread-safe map from a normalised URL to its result, or to its waiters while in flight."""

    def __init__(self, ttl: float, *, clock: Clock = time.monotonic, size: int = MAX_RESULTS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._done: LRU[Result] = LRU(size, clock)
        self._flying: dict[Hashable, list[Any]] = {}

    def __len__(self) -> int:
        return len(self._done)

    def claim(self, key: str, waiter: Any) -> Claimed:
        """Ask for ``key`` on behalf of ``waiter``: a HIT with a fresh kept Result (see
        ``expand``), WAIT when the key is in flight (``waiter`` is queued for it), or
        FETCH (the key is now in flight). With a TTL of 0 every claim fetches."""
        if self.ttl <= 0:
            return _FETCH
        with self._lock:
            hit = self._done.get(key)
            if hit is not None:
                return Claimed(Claim.HIT, hit)
            waiters = self._flying.get(key)
            if waiters is not None:
                waiters.append(waiter)
                return _WAIT
            self._flying[key] = []
            return _FETCH

    def complete(self, key: str, result: Result, *, kept: Result | None = None) -> list[Any]:
        """Store the result of a claimed key; return the waiters that joined it.

        ``kept`` is the result already in kept form (from a persistent cache), if any.
        """
        if self.ttl <= 0:
            return []
        ttl = self.ttl if result.ok else failure_ttl(self.ttl)
        if kept is None:
            kept = compact(key, result)
        with self._lock:
            self._done.put(key, kept, ttl)
            return self._flying.pop(key, [])


class HostFailures:
    """Hosts that could not be reached, remembered for the failure TTL.

    Keyed by (scheme, host, port). A failure that counts (``Result.host_down``: nothing
    could be sent) marks a host down, unless the host answered within the failure TTL:
    then one such failure is forgiven as a passing fault, and only a second in a row, with
    no answer between, marks it down. An answer forgets that the host was down.
    """

    def __init__(self, ttl: float, *, clock: Clock = time.monotonic, size: int = MAX_HOSTS) -> None:
        self.ttl = failure_ttl(ttl)
        self._lock = threading.Lock()
        self._down: LRU[Result] = LRU(size, clock)
        #: Hosts that answered within the TTL, to their failures since (0, or 1 forgiven).
        self._answered: LRU[int] = LRU(size, clock)

    def get(self, host: Hashable) -> Result | None:
        """The failure that put ``host`` down, while it is remembered."""
        if self.ttl <= 0:
            return None
        with self._lock:
            return self._down.get(host)

    def failed(self, host: Hashable, result: Result) -> bool:
        """``host`` could not be reached; True when that marks it down."""
        if self.ttl <= 0:
            return False
        with self._lock:
            if self._answered.get(host) == 0:  # answered lately, no failure since
                self._answered.put(host, 1, self.ttl)
                return False
            self._answered.pop(host)
            self._down.put(host, compact("", result), self.ttl)
            return True

    def succeeded(self, host: Hashable) -> None:
        """``host`` answered a request (whatever the answer): it is not down."""
        if self.ttl > 0:
            with self._lock:
                self._down.pop(host)
                self._answered.put(host, 0, self.ttl)


class ReportOnce:
    """Failing URLs already reported on stderr: each once per failure TTL."""

    def __init__(self, ttl: float, *, clock: Clock = time.monotonic, size: int = MAX_REPORTED) -> None:
        self.ttl = failure_ttl(ttl)
        self._lock = threading.Lock()
        self._seen: LRU[bool] = LRU(size, clock)

    def first(self, url: str) -> bool:
        """True the first time ``url`` fails within the failure TTL."""
        if self.ttl <= 0:
            return True
        with self._lock:
            if self._seen.get(url):
                return False
            self._seen.put(url, True, self.ttl)
            return True
