"""The HTTP/1.1 wire layer: status line, headers and body framing, read within one deadline.

``fetch`` decides what to ask and what an answer means; this module only reads one
response off a socket: every read waits for the time left to the fetch's deadline
(``Clock``), interim (1xx) responses are skipped, header blocks are read by
``read_head`` at http.client's limits, and ``Body`` frames the raw body by
Content-Length, chunks or the end of the connection. A body that stops short raises
``http.client.IncompleteRead``; broken chunked framing raises ``BadChunk``.
"""

from __future__ import annotations

import contextlib
import email.parser
import http.client
import io
import re
import socket
import time
from typing import Iterator

#: Raw bytes asked of the socket per read.
READ_SIZE = 16 * 1024
#: Longest status, header or chunk-size line, and most header lines: the limits
#: http.client enforces (``http.client._MAXLINE``, ``_MAXHEADERS``), quoted in our errors.
MAX_LINE = 65536
MAX_HEADERS = 100
#: Most interim (1xx) responses skipped before the real one.
MAX_INTERIM = 10


class TooManyHeaders(http.client.HTTPException):
    """Raised when a header block has more than ``MAX_HEADERS`` lines (http.client's message)."""


class BadChunk(Exception):
    """Raised when the chunked framing is broken (not a short body: the bytes are there, and wrong)."""


class Clock:
    """The one deadline of a fetch; ``left()`` is what the next operation may wait."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def left(self) -> float:
        """Seconds left; raises TimeoutError (socket.timeout) when none are."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline reached")
        return remaining

    @contextlib.contextmanager
    def narrowed(self, seconds: float) -> Iterator[None]:
        """Within the block the deadline is at most ``seconds`` away; after it, as before."""
        saved = self.deadline
        self.deadline = min(saved, time.monotonic() + seconds)
        try:
            yield
        finally:
            self.deadline = saved


class DeadlineReader(io.RawIOBase):
    """Raw socket reads that each wait only for the time left to the deadline.

    Counts the bytes received (a reused connection that fails before its first byte is
    retried) and notes EOF (a cut body is told from a bad chunk by it). Closing it leaves
    the socket open, as closing ``socket.makefile()`` does.
    """

    def __init__(self, sock: socket.socket, clock: Clock) -> None:
        super().__init__()
        self._sock = sock
        self._io = sock.makefile("rb", buffering=0)
        self.clock = clock
        self.received = 0
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:  # type: ignore[override]
        self._sock.settimeout(self.clock.left())
        n = self._io.readinto(buffer)
        if n == 0:
            self.eof = True
        elif n:
            self.received += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._io.close()
        super().close()


class TimedSocket:
    """What HTTPResponse is handed instead of the socket: its ``makefile`` is deadline-bound."""

    def __init__(self, sock: socket.socket, clock: Clock) -> None:
        self._sock = sock
        self._clock = clock
        self.reader: DeadlineReader | None = None

    def makefile(self, mode: str = "rb", *args, **kwargs) -> io.BufferedReader:
        self.reader = DeadlineReader(self._sock, self._clock)
        return io.BufferedReader(self.reader)


#: A header line as the email parser reads it (name: the characters it allows in one;
#: value: after the colon and the blanks it strips, up to the line end), when that is
#: all the line holds: a value with a CR or LF in it is left to the email parser.
_PLAIN_HEADER = re.compile(rb"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n")


def read_head(fp) -> http.client.HTTPMessage:
    """Read a header block up to its blank line; what ``http.client.parse_headers`` returns.

    That parses every block with the email package; here a block of plain
    ``Name: value`` lines (nearly every response) is taken apart with one regex per line
    into the same message; any other block (folded lines, a line that is no header, a
    bare CR) still goes to the email parser, so the answer is the same. Raises
    LineTooLong or TooManyHeaders at http.client's limits, with its messages.
    """
    lines = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise TooManyHeaders(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            break
    message = http.client.HTTPMessage()
    plain = _PLAIN_HEADER.fullmatch
    for line in lines[:-1]:
        m = plain(line)
        if m is None:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
        message.set_raw(m[1].decode("ascii"), m[2].decode("iso-8859-1"))
    message.set_payload("")  # as the email parser leaves it: no body after the headers
    return message


class Response(http.client.HTTPResponse):
    """An HTTPResponse read within the deadline that skips every interim (1xx) response
    and reads its header block with ``read_head``."""

    def __init__(self, sock, debuglevel=0, method=None, url=None, *, clock: Clock) -> None:
        self.timed = TimedSocket(sock, clock)
        super().__init__(self.timed, debuglevel, method=method, url=url)

    @property
    def reader(self) -> DeadlineReader | None:
        return self.timed.reader

    def _read_status(self):  # http.client hook; begin() itself only skips 100 Continue
        for _ in range(MAX_INTERIM + 1):
            version, status, reason = super()._read_status()
            if not 100 <= status < 200:
                return version, status, reason
            read_head(self.fp)  # an interim response's headers: not ours
        raise http.client.HTTPException(f"more than {MAX_INTERIM} interim (1xx) responses")

    def begin(self) -> None:
        """What ``HTTPResponse.begin`` does (status, version, headers, framing, whether the
        connection closes after), with the headers read by ``read_head``."""
        if self.headers is not None:
            return
        version, status, reason = self._read_status()  # never 1xx: skipped there
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = read_head(self.fp)
        encoding = self.msg.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.msg.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                pass
            else:
                if self.length < 0:  # nonsense: as if there were none
                    self.length = None
        if status in (204, 304) or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body ends with the connection


def _short() -> http.client.IncompleteRead:
    """The body ended before its framing said it would."""
    return http.client.IncompleteRead(b"")


class Body:
    """The raw (still content-encoded) body of one response, framed by Content-Length,
    chunks, or the end of the connection. ``read()`` returns b"" once it is complete;
    it raises IncompleteRead when the body stops short and BadChunk on broken chunks."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.fp = response.fp
        self.chunked = bool(response.chunked)
        self.left = response.length  # bytes left (Content-Length) or None
        self.chunk_left: int | None = None  # in the current chunk; None before the first
        self.done = self.fp is None or (not self.chunked and self.left == 0)

    def read(self) -> bytes:
        if self.done:
            return b""
        if self.chunked:
            return self._read_chunked()
        want = READ_SIZE if self.left is None else min(READ_SIZE, self.left)
        data = self._read1(want)
        if self.left is None:
            if not data:
                self.done = True
            return data
        if not data:
            raise _short()
        self.left -= len(data)
        self.done = self.left == 0
        return data

    def _read1(self, n: int) -> bytes:
        try:
            return self.fp.read1(n)
        except (ConnectionResetError, ConnectionAbortedError) as e:
            raise _short() from e

    def _readline(self) -> bytes:
        try:
            line = self.fp.readline(MAX_LINE + 1)
        except (ConnectionResetError, ConnectionAbortedError) as e:
            raise _short() from e
        if len(line) > MAX_LINE:
            raise BadChunk(f"a chunk line longer than {MAX_LINE} bytes")
        if not line.endswith(b"\n"):
            raise _short()
        return line

    def _read_chunked(self) -> bytes:
        if not self.chunk_left:
            if self.chunk_left == 0:
                if self._readline().strip(b"\r\n"):
                    raise BadChunk("no line end after a chunk's data")
            size = self._readline().split(b";", 1)[0].strip(b" \t\r\n")
            if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
                raise BadChunk(f"bad chunk size {size[:20]!r}")
            self.chunk_left = int(size, 16)
            if self.chunk_left == 0:
                for _ in range(MAX_HEADERS + 1):  # trailer fields, up to a blank line
                    if not self._readline().strip(b"\r\n"):
                        self.done = True
                        return b""
                raise BadChunk(f"more than {MAX_HEADERS} trailer lines")
        data = self._read1(min(READ_SIZE, self.chunk_left))
        if not data:
            raise _short()
        self.chunk_left -= len(data)
        return data

    def drain(self, limit: int) -> bool:
        """Read and drop the rest if it is at most ``limit`` bytes; True if complete."""
        if not self.chunked and self.left is not None and self.left > limit:
            return False
        budget = limit
        try:
            while not self.done:
                data = self.read()
                budget -= len(data)
                if budget < 0:
                    return False
        except (http.client.IncompleteRead, BadChunk, OSError, ValueError):
            return False
        return True
