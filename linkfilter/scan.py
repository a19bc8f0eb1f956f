"""Cut a byte stream into numbered lines, keeping only lines that may hold a URL.

Bulk input must pass at near ``cat`` speed, so whole chunks are searched for
``://`` and ``www.`` (one ``re`` pass over the bytes each); only lines around a
hit are cut out and handed to the URL rules. Pure: no I/O, fed chunk by chunk.
"""

from __future__ import annotations

import re

from linkfilter.urls import MAX_SCAN, SCAN_LOOKAHEAD

#: Bytes of a line handed on: the first MAX_SCAN are scanned for URLs, and the few
#: after them tell whether a URL running into the limit ends there. The rest of a
#: longer line is still echoed, just not searched.
LINE_CUT = MAX_SCAN + SCAN_LOOKAHEAD

# The URL marks, found in the original bytes in one regex pass each (no lowered
# copy of the chunk). ``re`` scans for a pattern's first byte, then checks the
# rest, so each pattern starts at its rarer byte and looks behind for the others:
# "//" is rarer than ":" (time stamps), and a "." is checked for "www" in any
# case before it. A match ends where its mark ends.
_SCHEME = re.compile(rb"//(?<=://)")
_WWW = re.compile(rb"\.(?<=(?i:www)\.)")


class CandidateLines:
    """Counts lines and lists ``(line_number, line_bytes)`` for lines with a URL mark.

    ``line_bytes`` has no newline and at most ``max_scan`` bytes. A line is
    reported once it is complete, or at ``finish()`` if the input ends without
    a newline. A line whose marks all end past ``max_scan`` is not reported.
    """

    def __init__(self, max_scan: int = LINE_CUT, *, count_lines: bool = True) -> None:
        self.max_scan = max_scan
        self.count_lines = count_lines  # without it, every line number is 0 (cheaper)
        self.lines = 0  # complete lines counted so far
        self._carry = b""  # start of the unfinished line, at most max_scan bytes
        self._overflow = False  # the unfinished line is longer than max_scan

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        """The candidate lines completed by ``chunk``, in order."""
        end = chunk.rfind(b"\n") + 1
        if not end:
            self._keep(chunk)
            return []
        found: list[tuple[int, bytes]] = []
        begin = 0
        if self._carry or self._overflow:
            begin = chunk.find(b"\n") + 1
            first = self._carry + (b"\n" if self._overflow else chunk[:begin])
            self._carry, self._overflow = b"", False
            self._region(first, 0, len(first), found)
        self._region(chunk, begin, end, found)
        if end < len(chunk):
            self._keep(chunk[end:])
        return found

    def finish(self) -> list[tuple[int, bytes]]:
        """End of input: a last line without a newline still counts."""
        found: list[tuple[int, bytes]] = []
        if self._carry or self._overflow:
            carry, self._carry, self._overflow = self._carry, b"", False
            self._region(carry + b"\n", 0, len(carry) + 1, found)
        return found

    def _keep(self, data: bytes) -> None:
        if self._overflow or not data:
            return
        self._carry += data
        if len(self._carry) > self.max_scan:
            self._carry = self._carry[: self.max_scan]
            self._overflow = True

    def _region(self, buf: bytes, lo: int, hi: int, found: list[tuple[int, bytes]]) -> None:
        """Append the candidate lines of ``buf[lo:hi]``, which ends with a newline.

        ``buf[lo - 1]``, if any, is a newline, so no mark is seen across ``lo``.
        """
        # Where each mark ends, in order; a line with several is reported once.
        marks = [m.end() for m in _SCHEME.finditer(buf, lo, hi)]
        www = [m.end() for m in _WWW.finditer(buf, lo, hi)]
        if www:
            marks = sorted(marks + www) if marks else www
        count = self.count_lines
        if not marks:
            if count:
                self.lines += buf.count(b"\n", lo, hi)
            return
        max_scan = self.max_scan
        lines = self.lines
        counted = lo  # lines are counted up to here
        end = lo - 1  # newline ending the last line reported
        for mark in marks:
            if mark <= end:
                continue  # another mark of a line already seen
            begin = buf.rfind(b"\n", lo, mark) + 1 or lo
            end = buf.find(b"\n", mark, hi)
            if count:
                lines += buf.count(b"\n", counted, begin) + 1
                counted = end + 1
            if mark - begin <= max_scan:
                cut = end if end - begin <= max_scan else begin + max_scan
                found.append((lines, buf[begin:cut]))
        if count:
            lines += buf.count(b"\n", counted, hi)
        self.lines = lines


def decode_block(lines: list[bytes]) -> str:
    """The lines joined by newlines and decoded as UTF-8, undecodable bytes escaped (surrogateescape).

    One decode for a batch of lines: a newline is ASCII and never part of a
    UTF-8 sequence, so each line decodes in the block as it does alone.
    """
    return b"\n".join(lines).decode("utf-8", "surrogateescape")
