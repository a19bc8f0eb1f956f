"""Output in input order (``--ordered``): echoed bytes and result slots, released front to back.

The reader appends echoed bytes and one slot per URL occurrence in the order
they stand in the input; workers fill slots in any order. Whatever is at the
front and ready goes to the writer, so each line's results follow it, in the
order of its URLs, and a line waits only for its own URLs (each bounded by
``--timeout``). Later input queues behind it, up to ``MAX_HELD_BYTES`` of echo
or ``MAX_HELD_SLOTS`` results; past that the reader waits (``wait_room``), so a
slow line costs bounded memory, not the rest of the file. A stop signal
``close``s it: everything held goes out at once, in order, a slot not yet filled
as the line its ``unfinished`` callback gives (or nothing). Without
``--ordered`` nothing goes through here.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable

#: Echoed bytes held behind an unfinished line before the reader waits.
MAX_HELD_BYTES = 16 * 1024 * 1024
#: Result slots held behind an unfinished line before the reader waits.
MAX_HELD_SLOTS = 100_000


class Slot:
    """The place of one URL occurrence's result line (None: the result prints nothing);
    ``source`` is what the caller needs to say what stood there, should the run stop first."""

    __slots__ = ("line", "ready", "source")

    def __init__(self, source: Any = None) -> None:
        self.line: str | None = None
        self.ready = False
        self.source = source


class InOrder:
    """Thread-safe sequence of echoed bytes and slots in front of a ``Writer``."""

    def __init__(self, writer, *, max_bytes: int = MAX_HELD_BYTES,
                 max_slots: int = MAX_HELD_SLOTS) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._items: collections.deque[bytes | Slot] = collections.deque()
        self.max_bytes, self.max_slots = max_bytes, max_slots
        self._held_bytes = self._held_slots = 0
        self._closed = False

    def echo(self, data: bytes) -> None:
        """Input bytes: written at once unless a slot before them is still open."""
        with self._lock:
            if self._closed:
                return
            if self._items:
                self._items.append(data)
                self._held_bytes += len(data)
            else:
                self._writer.echo(data)

    def slot(self, source: Any = None) -> Slot:
        """Reserve the place of the next result."""
        slot = Slot(source)
        with self._lock:
            self._items.append(slot)
            self._held_slots += 1
        return slot

    def wait_room(self, timeout: float | None = None) -> bool:
        """Wait while more than ``max_bytes`` of echo or ``max_slots`` results are held; True
        once there is room, False at ``timeout``. Only the reader calls it, between lines (never
        while results it found itself wait to be filled), so it always ends."""
        with self._room:
            return self._room.wait_for(
                lambda: self._held_bytes <= self.max_bytes and self._held_slots <= self.max_slots,
                timeout)

    def fill(self, slot: Slot, line: str | None) -> None:
        """The result line for ``slot``; releases everything ready at the front."""
        with self._lock:
            if self._closed:
                return
            slot.line, slot.ready = line, True
            self._release()

    def close(self, unfinished: Callable[[Slot], str | None]) -> None:
        """Stop: write everything held, in order, each slot not filled yet as
        ``unfinished(slot)`` (None: nothing); later echo and fills are dropped."""
        with self._lock:
            for item in self._items:
                if isinstance(item, Slot) and not item.ready:
                    item.line, item.ready = unfinished(item), True
            self._release()
            self._closed = True

    def _release(self) -> None:
        """Write what is ready at the front (the lock held)."""
        items, writer = self._items, self._writer
        lines: list[str] = []
        slots = size = 0
        while items:
            item = items[0]
            if isinstance(item, Slot):
                if not item.ready:
                    break
                slots += 1
                if item.line is not None:
                    lines.append(item.line)
            else:
                if lines:
                    writer.out("\n".join(lines))
                    lines = []
                size += len(item)
                writer.echo(item)
            items.popleft()
        if lines:
            writer.out("\n".join(lines))
        if slots or size:
            self._held_slots -= slots
            self._held_bytes -= size
            self._room.notify_all()
