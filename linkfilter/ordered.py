"""Output in input order (``--ordered``): echoed bytes and result slots, released front to back.

The reader appends echoed bytes and one slot per URL occurrence in the order
they stand in the input; workers fill slots in any order. Whatever is at the
front and ready goes to the writer, so each line's results follow it, in the
order of its URLs, and a line waits only for its own URLs (each bounded by
``--timeout``). Without ``--ordered`` nothing goes through here.
"""

from __future__ import annotations

import collections
import threading


class Slot:
    """The place of one URL occurrence's result line (None: the result prints nothing)."""

    __slots__ = ("line", "ready")

    def __init__(self) -> None:
        self.line: str | None = None
        self.ready = False


class InOrder:
    """Thread-safe sequence of echoed bytes and slots in front of a ``Writer``."""

    def __init__(self, writer) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self._items: collections.deque[bytes | Slot] = collections.deque()

    def echo(self, data: bytes) -> None:
        """Input bytes: written at once unless a slot before them is still open."""
        with self._lock:
            if self._items:
                self._items.append(data)
            else:
                self._writer.echo(data)

    def slot(self) -> Slot:
        """Reserve the place of the next result."""
        slot = Slot()
        with self._lock:
            self._items.append(slot)
        return slot

    def fill(self, slot: Slot, line: str | None) -> None:
        """The result line for ``slot``; releases everything ready at the front."""
        with self._lock:
            slot.line, slot.ready = line, True
            items, writer = self._items, self._writer
            lines: list[str] = []
            while items:
                item = items[0]
                if isinstance(item, Slot):
                    if not item.ready:
                        break
                    if item.line is not None:
                        lines.append(item.line)
                else:
                    if lines:
                        writer.out("\n".join(lines))
                        lines = []
                    writer.echo(item)
                items.popleft()
            if lines:
                writer.out("\n".join(lines))
