"""A capped pool of threads for DNS lookups, which cannot be interrupted, waited on within a deadline.

getaddrinfo cannot be cut off, so a lookup that outlives its caller's deadline keeps its
thread until the system resolver gives up; the pool caps how many such threads can
exist, and a caller waits for a free slot only within its deadline. A thread whose
lookup is done waits for the next one, since starting a thread costs far more than
looking up a name in /etc/hosts.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable


class PoolBusy(Exception):
    """Raised when every thread stayed busy until the caller's deadline."""


class LookupTimeout(Exception):
    """Raised when the call was not done by the caller's deadline (it goes on in its thread)."""


class _Job:
    """One call for a pool thread, holding a slot until the call returns."""

    def __init__(self, call: Callable[[], Any], pool: DNSPool) -> None:
        self.call = call
        self.pool = pool
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        pool = self.pool
        try:
            self.result = self.call()
        except BaseException as e:  # handed to the waiting caller
            self.error = e
        finally:
            with pool._idle_lock:  # idle before the slot is free: whoever takes it finds this thread
                pool._idle += 1
            pool.slots.release()  # before done, so a caller that saw done finds its slot free
            self.done.set()


class DNSPool:
    """At most ``size`` daemon threads named ``name``, each running one call at a time."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self.slots = threading.BoundedSemaphore(size)
        #: Calls for the idle threads, and how many threads wait with no call promised to them.
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._idle_lock = threading.Lock()
        self._idle = 0

    def run(self, call: Callable[[], Any], deadline: float) -> Any:
        """``call()`` on a pool thread, waiting for it until the ``time.monotonic()``
        ``deadline``; returns its result or raises what it raised. Raises PoolBusy when no
        thread came free in time, LookupTimeout when the call was not done in time."""
        if not self.slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise PoolBusy()
        job = _Job(call, self)
        try:
            self._hand_over(job)
        except BaseException:
            self.slots.release()
            raise
        if not job.done.wait(max(0.0, deadline - time.monotonic())):
            raise LookupTimeout()
        if job.error is not None:
            raise job.error
        return job.result

    def _serve(self, first: _Job) -> None:
        """A pool thread: the call it was started for, then every one handed to it."""
        first.run()
        while True:
            self._jobs.get().run()

    def _hand_over(self, job: _Job) -> None:
        """Run ``job`` on an idle thread, or on a new one when none is idle."""
        with self._idle_lock:
            idle = self._idle > 0
            if idle:
                self._idle -= 1
        if idle:
            self._jobs.put(job)
        else:
            threading.Thread(target=self._serve, args=(job,), name=self.name, daemon=True).start()
