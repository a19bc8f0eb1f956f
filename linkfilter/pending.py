"""URLs waiting for a worker: a bounded pending list, fair between hosts, capped per host.

The reader puts jobs here and never waits while fewer than ``max_pending`` are
waiting: that bound, not the number of workers, is what pauses reading on bulk
input. Workers take jobs host by host in turn, and never more than ``per_host``
jobs of one host run at once, so a paste of 100 links to one site leaves the
other workers to the other sites. Every job a worker could take at once wakes one
waiting worker, and ``put`` asks for a new worker only when such a job has no idle
worker to go to, so 100 jobs of one host need ``per_host`` workers, not all of them.
Every operation is O(1).
"""

from __future__ import annotations

import collections
import threading
from typing import Generic, Hashable, TypeVar

T = TypeVar("T")

#: Longest a wait in the main thread goes without a look at pending signals.
POLL = 0.25


class Pending(Generic[T]):
    """Jobs grouped by host; ``put`` / ``get`` / ``done`` are thread-safe."""

    def __init__(self, max_pending: int, per_host: int) -> None:
        self.max_pending = max_pending
        self.per_host = per_host
        self._lock = threading.Lock()
        self._jobs = threading.Condition(self._lock)  # a job became ready, or closed
        self._room = threading.Condition(self._lock)  # a pending job was taken
        self._idle = threading.Condition(self._lock)  # nothing is waiting or running
        self._queues: dict[Hashable, collections.deque[T]] = {}
        self._running: dict[Hashable, int] = {}
        self._ready: collections.deque[Hashable] = collections.deque()  # hosts with a job and room
        self._waiting = 0  # jobs put and not yet taken
        self._takeable = 0  # of those, jobs whose host has room: sum of min(queued, per_host - running)
        self._busy = 0  # jobs taken and not yet done
        self._unfinished = 0  # jobs put and not yet done
        self._takers = 0  # workers blocked in get()
        self._requested = 0  # workers asked for: times put returned True
        self._closed = False
        #: Set (without the lock: a signal handler sets it) when the run is stopping:
        #: ``put`` then waits no longer for room.
        self.stopping = False

    def put(self, host: Hashable, job: T) -> bool:
        """Add a job for ``host``; waits only while ``max_pending`` jobs are waiting.

        Returns True when the caller should start one more worker: more jobs could be
        taken at once than there are idle workers (waiting in ``get``, or asked for by
        an earlier True and not running a job).
        """
        with self._lock:
            while self._waiting >= self.max_pending and not self.stopping:
                self._room.wait(POLL)
            queue = self._queues.get(host)
            room = self.per_host - self._running.get(host, 0)
            if queue is None:
                queue = self._queues[host] = collections.deque()
                if room > 0:
                    self._ready.append(host)
            if len(queue) < room:  # this job can be taken at once: wake a waiting worker
                self._takeable += 1
                self._jobs.notify()
            queue.append(job)
            self._waiting += 1
            self._unfinished += 1
            more = self._takeable > max(self._takers, self._requested - self._busy)
            if more:
                self._requested += 1
            return more

    def get(self) -> tuple[Hashable, T] | None:
        """The next job whose host has room, as ``(host, job)``; None once closed and empty."""
        with self._lock:
            while not self._ready:
                if self._closed:
                    return None
                self._takers += 1
                try:
                    self._jobs.wait()
                finally:
                    self._takers -= 1
            host = self._ready.popleft()
            queue = self._queues[host]
            job = queue.popleft()
            running = self._running.get(host, 0) + 1
            self._running[host] = running
            if not queue:
                del self._queues[host]
            elif running < self.per_host:
                self._ready.append(host)  # behind the other hosts: take turns
            self._waiting -= 1
            self._takeable -= 1
            self._busy += 1
            self._room.notify()
            return host, job

    def done(self, host: Hashable) -> None:
        """A job of ``host`` taken by ``get`` has finished."""
        with self._lock:
            running = self._running[host] - 1
            if running:
                self._running[host] = running
            else:
                del self._running[host]
            self._busy -= 1
            queue = self._queues.get(host)
            if queue is not None and len(queue) >= self.per_host - running:
                self._takeable += 1  # one more of the host's jobs can be taken at once
                if running == self.per_host - 1:
                    self._ready.append(host)  # it had no room: back in turn
                self._jobs.notify()
            self._unfinished -= 1
            if not self._unfinished:
                self._idle.notify_all()

    def join(self) -> None:
        """Wait until every job put has been done.

        Wakes up every ``POLL`` seconds, so that a signal handler waiting to run in
        this thread is never held up longer than that.
        """
        with self._lock:
            while self._unfinished:
                self._idle.wait(POLL)

    def close(self) -> None:
        """No more jobs will come: ``get`` returns None once the list is empty."""
        with self._lock:
            self._closed = True
            self._jobs.notify_all()
