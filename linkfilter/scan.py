"""Cut a byte stream into numbered lines, keeping only lines that may hold a URL.

Bulk input must pass at near ``cat`` speed, so whole chunks are tested with
``bytes`` searches for ``://`` and ``www.``; only lines around a hit are cut
out and handed to the URL rules. Pure: no I/O, fed chunk by chunk.
"""

from __future__ import annotations

from typing import Iterator

#: Only this many bytes at the start of a line are scanned for URLs; the rest
#: of a longer line is still echoed, just not searched.
MAX_SCAN = 1 << 20

_MARKS = (b"://", b"www.")


class CandidateLines:
    """Counts lines and yields ``(line_number, line_bytes)`` for lines with a URL mark.

    ``line_bytes`` has no newline and at most ``max_scan`` bytes. A line is
    reported once it is complete, or at ``finish()`` if the input ends without
    a newline.
    """

    def __init__(self, max_scan: int = MAX_SCAN) -> None:
        self.max_scan = max_scan
        self.lines = 0  # complete lines counted so far
        self._carry = b""  # start of the unfinished line, at most max_scan bytes
        self._overflow = False  # the unfinished line is longer than max_scan

    def feed(self, chunk: bytes) -> Iterator[tuple[int, bytes]]:
        end = chunk.rfind(b"\n")
        if end < 0:
            self._keep(chunk)
            return
        head, tail = chunk[: end + 1], chunk[end + 1 :]
        if self._overflow:
            first = head.find(b"\n")
            yield from self._region(self._carry + b"\n")
            head = head[first + 1 :]
        elif self._carry:
            head = self._carry + head
        self._carry, self._overflow = b"", False
        yield from self._region(head)
        self._keep(tail)

    def finish(self) -> Iterator[tuple[int, bytes]]:
        """End of input: a last line without a newline still counts."""
        if self._carry or self._overflow:
            carry, self._carry, self._overflow = self._carry, b"", False
            yield from self._region(carry + b"\n")

    def _keep(self, data: bytes) -> None:
        if self._overflow or not data:
            return
        self._carry += data
        if len(self._carry) > self.max_scan:
            self._carry = self._carry[: self.max_scan]
            self._overflow = True

    def _region(self, region: bytes) -> Iterator[tuple[int, bytes]]:
        """Lines of ``region``, which ends with a newline."""
        low = region.lower()
        if b"://" not in region and b"www." not in low:
            self.lines += region.count(b"\n")
            return
        counted = 0  # offset in region up to which lines were counted
        pos = 0
        while True:
            hit = _next_mark(low, pos)
            if hit < 0:
                break
            start = region.rfind(b"\n", 0, hit) + 1
            stop = region.find(b"\n", hit)
            self.lines += region.count(b"\n", counted, start) + 1
            counted = pos = stop + 1
            if stop - start <= self.max_scan or _next_mark(low[start : start + self.max_scan], 0) >= 0:
                yield self.lines, region[start : min(stop, start + self.max_scan)]
        self.lines += region.count(b"\n", counted)


def _next_mark(low: bytes, pos: int) -> int:
    hits = [h for h in (low.find(m, pos) for m in _MARKS) if h >= 0]
    return min(hits) if hits else -1
