"""Cut a byte stream into numbered lines, keeping only lines that may hold a URL.

Bulk input must pass at near ``cat`` speed, so whole chunks are tested with
``bytes`` searches for ``://`` and ``www.``; only lines around a hit are cut
out and handed to the URL rules. Pure: no I/O, fed chunk by chunk.
"""

from __future__ import annotations

import re
from typing import Iterator

from linkfilter.urls import MAX_SCAN, SCAN_LOOKAHEAD

#: Bytes of a line handed on: the first MAX_SCAN are scanned for URLs, and the few
#: after them tell whether a URL running into the limit ends there. The rest of a
#: longer line is still echoed, just not searched.
LINE_CUT = MAX_SCAN + SCAN_LOOKAHEAD

_MARKS = (b"://", b"www.")
# ``re`` finds this literal faster than ``bytes.find`` does, ':' being rare.
_SCHEME = re.compile(re.escape(_MARKS[0]))


class CandidateLines:
    """Counts lines and yields ``(line_number, line_bytes)`` for lines with a URL mark.

    ``line_bytes`` has no newline and at most ``max_scan`` bytes. A line is
    reported once it is complete, or at ``finish()`` if the input ends without
    a newline.
    """

    def __init__(self, max_scan: int = LINE_CUT, *, count_lines: bool = True) -> None:
        self.max_scan = max_scan
        self.count_lines = count_lines  # without it, every line number is 0 (cheaper)
        self.lines = 0  # complete lines counted so far
        self._carry = b""  # start of the unfinished line, at most max_scan bytes
        self._overflow = False  # the unfinished line is longer than max_scan

    def feed(self, chunk: bytes) -> Iterator[tuple[int, bytes]]:
        end = chunk.rfind(b"\n") + 1
        if not end:
            self._keep(chunk)
            return
        begin = 0
        if self._carry or self._overflow:
            begin = chunk.find(b"\n") + 1
            first = self._carry + (b"\n" if self._overflow else chunk[:begin])
            self._carry, self._overflow = b"", False
            yield from self._region(first, 0, len(first))
        yield from self._region(chunk, begin, end)
        if end < len(chunk):
            self._keep(chunk[end:])

    def finish(self) -> Iterator[tuple[int, bytes]]:
        """End of input: a last line without a newline still counts."""
        if self._carry or self._overflow:
            carry, self._carry, self._overflow = self._carry, b"", False
            yield from self._region(carry + b"\n", 0, len(carry) + 1)

    def _keep(self, data: bytes) -> None:
        if self._overflow or not data:
            return
        self._carry += data
        if len(self._carry) > self.max_scan:
            self._carry = self._carry[: self.max_scan]
            self._overflow = True

    def _region(self, buf: bytes, lo: int, hi: int) -> Iterator[tuple[int, bytes]]:
        """Lines of ``buf[lo:hi]``, which ends with a newline; no copy of the span."""
        low = buf.lower()
        # Next position of each mark at or after ``pos``; -1 once there is none.
        match = _SCHEME.search(buf, lo, hi)
        scheme = match.start() if match else -1
        www = low.find(b"www.", lo, hi)
        count = self.count_lines
        if scheme < 0 and www < 0:
            if count:
                self.lines += buf.count(b"\n", lo, hi)
            return
        counted = lo  # lines are counted up to here
        max_scan = self.max_scan
        while scheme >= 0 or www >= 0:
            if scheme < 0 or 0 <= www < scheme:
                hit, size = www, 4
            else:
                hit, size = scheme, 3
            begin = buf.rfind(b"\n", lo, hit) + 1 or lo
            end = buf.find(b"\n", hit, hi)
            if count:
                self.lines += buf.count(b"\n", counted, begin) + 1
            counted = end + 1
            if hit + size <= begin + max_scan:
                yield self.lines, buf[begin : min(end, begin + max_scan)]
            if 0 <= scheme <= end:
                match = _SCHEME.search(buf, end + 1, hi)
                scheme = match.start() if match else -1
            if 0 <= www <= end:
                www = low.find(b"www.", end + 1, hi)
        if count:
            self.lines += buf.count(b"\n", counted, hi)
