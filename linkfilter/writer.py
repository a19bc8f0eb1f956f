"""Where bytes go: the one thread that owns stdout and stderr.

The reader hands it echoed input, workers hand it result lines; it writes them
unbuffered, in the order received, and holds result lines back while the echo
stands in the middle of a line, so a result never splits an echoed line.
Result lines end like the echoed line they follow (CRLF in a CRLF log). A
closed stdout ends the program quietly with ``ExitStatus.PIPE``; any other
write error ends it with a one-line message and ``ExitStatus.ERROR``.
"""

from __future__ import annotations

import enum
import errno
import os
import queue
import threading
import time
from typing import BinaryIO, Callable

from linkfilter.progress import CLEAR_TO_END, ERASE

#: Items the queue holds before senders wait (back-pressure from a slow stdout);
#: an echoed chunk can be 1 MiB.
QUEUE_ITEMS = 32
#: Most queued items handled in one wake-up, their bytes joined into one write per stream.
BATCH_ITEMS = 64

_CLEAR_TO_END = CLEAR_TO_END.encode("ascii")
_ERASE = ERASE.encode("ascii")


class ExitStatus(enum.IntEnum):
    """Exit statuses of linkfilter; scripts rely on them."""

    OK = 0  # all input read and every URL found reported (fetch failures are normal)
    ERROR = 1  # an input FILE could not be read, or output could not be written
    USAGE = 2  # a bad option or value; nothing was read
    HANGUP = 129  # 128 + SIGHUP: the terminal went away (what was read is written first)
    INTERRUPTED = 130  # 128 + SIGINT (Ctrl-C), from the first line of ``__main__`` on
    PIPE = 141  # 128 + SIGPIPE: stdout was closed by its reader (``| head``)
    TERMINATED = 143  # 128 + SIGTERM (``timeout``, ``kill``)


class _Op(enum.Enum):
    ECHO = 1
    OUT = 2
    ERR = 3
    EOF = 4
    STOP = 5


class Writer:
    """Serialises all output on its own thread; see the module docstring."""

    def __init__(
        self,
        out: BinaryIO | None,
        err: BinaryIO | None,
        *,
        on_fatal=None,
        status: Callable[[], str] | None = None,
        interval: float = 0.1,
        shared_terminal: bool = False,
    ) -> None:
        """``status()``, if given, is a line kept on stderr (a progress line): drawn at most
        every ``interval`` seconds, erased before any other stderr line and at the end. With
        ``shared_terminal`` (stdout and stderr are one terminal) it is erased before stdout
        bytes too, and drawn only while no partial echoed line is on the screen: erasing it
        must never take echoed bytes with it."""
        self._status = status
        self._interval = interval
        self._shared = shared_terminal
        self._shown = False
        self._next_draw = 0.0
        self._pending: list[bytes] = []  # bytes for _pending_stream, not yet written
        self._pending_stream: BinaryIO | None = None
        self._stdout = out if out is not None else _Closed()
        self._stderr = err if err is not None else _Closed()
        self._queue: queue.Queue = queue.Queue(QUEUE_ITEMS)
        self._at_line_start = True
        self._eol = b"\n"  # the line ending of the last echoed line: result lines take it
        self._cr = False  # the last echoed byte was a CR (a CRLF split between two chunks)
        self._ended = False
        self._held: list[tuple[BinaryIO, bytes]] = []
        self._on_fatal = on_fatal or _exit_now
        #: The writer thread: ``start()`` it, or start it your own way.
        self.thread = threading.Thread(target=self._run, name="linkfilter-writer", daemon=True)

    # -- called from other threads ------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def echo(self, data: bytes) -> None:
        """Input bytes to copy to stdout exactly."""
        if data:
            self._queue.put((_Op.ECHO, data))

    def out(self, line: str) -> None:
        """A result line for stdout (newline added)."""
        self._queue.put((_Op.OUT, line.encode("utf-8", "replace") + b"\n"))

    def err(self, line: str) -> None:
        """A message line for stderr (newline added)."""
        self._queue.put((_Op.ERR, line.encode("utf-8", "replace") + b"\n"))

    def eof(self) -> None:
        """All input has been echoed: results may now close an unfinished last line."""
        self._queue.put((_Op.EOF, b""))

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, then stop the thread."""
        self._queue.put((_Op.STOP, b""))
        if timeout is not None:
            self.thread.join(timeout)
            return
        while self.thread.is_alive():  # in steps: a signal's handler must not wait on it
            self.thread.join(0.25)

    # -- the writer thread --------------------------------------------------------
    def _run(self) -> None:
        while True:
            if self._status is None:
                batch = [self._queue.get()]
            else:
                try:
                    batch = [self._queue.get(timeout=max(self._next_draw - time.monotonic(), 0.001))]
                except queue.Empty:
                    batch = []
            while len(batch) < BATCH_ITEMS:  # what else is queued already goes in the same writes
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                for op, data in batch:
                    if not self._handle(op, data):
                        self._erase()
                        self._flush()
                        return
                if self._status is not None and time.monotonic() >= self._next_draw:
                    self._draw()
                self._flush()
            except OSError as e:
                self._pending.clear()
                self._fail(e)
                return

    def _handle(self, op: _Op, data: bytes) -> bool:
        """Do one queued operation; False on STOP."""
        if op is _Op.ECHO:
            if self._held:  # release held results at the first line end
                cut = data.find(b"\n") + 1
                if cut:
                    self._echo(data[:cut])
                    self._release()
                    data = data[cut:]
            if data:
                self._echo(data)
        elif op is _Op.OUT or op is _Op.ERR:
            stream = self._stdout if op is _Op.OUT else self._stderr
            if self._at_line_start or (self._ended and stream is self._stderr):
                self._write(stream, self._ending(stream, data))
            elif self._ended:
                self._end_line()
                self._write(stream, self._ending(stream, data))
            else:
                self._held.append((stream, data))
        elif op is _Op.EOF:
            self._ended = True
            if any(stream is self._stdout for stream, _ in self._held):
                self._end_line()
            self._release()
        else:
            return False
        return True

    def _draw(self) -> None:
        """Redraw the status line in place (on a shared terminal, only at a line start)."""
        self._next_draw = time.monotonic() + self._interval
        if self._shared and not self._at_line_start:
            return
        try:
            line = self._status() if self._status is not None else ""
        except Exception:  # a glance at counters must never stop the output
            return
        self._write(self._stderr, b"\r" + line.encode("utf-8", "replace") + _CLEAR_TO_END)
        self._shown = True

    def _erase(self) -> None:
        if self._shown:
            self._shown = False
            self._write(self._stderr, _ERASE)

    def _echo(self, data: bytes) -> None:
        """Write echoed bytes, noting whether they end a line, and how."""
        self._write(self._stdout, data)
        if data.endswith(b"\n"):
            self._at_line_start = True
            crlf = data.endswith(b"\r\n") or (len(data) == 1 and self._cr)
            self._eol = b"\r\n" if crlf else b"\n"
        else:
            self._at_line_start = False
        self._cr = data.endswith(b"\r")

    def _ending(self, stream: BinaryIO, data: bytes) -> bytes:
        """Result lines (newline-separated) for ``stream``, ending like the last echoed line."""
        if self._eol == b"\n" or stream is not self._stdout:
            return data
        return data.replace(b"\n", self._eol)

    def _end_line(self) -> None:
        """What linkfilter adds after an unfinished last line: a line ending."""
        self._write(self._stdout, self._eol)
        self._at_line_start = True

    def _release(self) -> None:
        held, self._held = self._held, []
        for stream, data in held:
            self._write(stream, self._ending(stream, data))

    def _write(self, stream: BinaryIO, data: bytes) -> None:
        """Queue ``data`` for ``stream``: consecutive writes to one stream go out as one
        write at the end of the batch (or when the other stream's turn comes)."""
        if self._shown and (stream is self._stderr or self._shared) and not data.startswith(b"\r"):
            self._erase()
        if self._pending and self._pending_stream is not stream:
            self._flush()
        self._pending_stream = stream
        self._pending.append(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        stream = self._pending_stream
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if stream is self._stderr:
            try:
                stream.write(data)
                stream.flush()
            except (OSError, ValueError):
                pass  # nowhere left to complain
        else:
            stream.write(data)
            stream.flush()

    def _fail(self, e: OSError) -> None:
        if e.errno == errno.EPIPE:
            self._on_fatal(ExitStatus.PIPE, None)
        else:
            reason = e.strerror or str(e)
            self._on_fatal(ExitStatus.ERROR, f"linkfilter: write error: {reason}")


class _Closed:
    """Stands for a standard stream the program was started without (``>&-``)."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def flush(self) -> None:
        pass


def _exit_now(status: ExitStatus, message: str | None) -> None:
    """End the whole process from the writer thread; nothing is buffered anywhere."""
    if message:
        try:
            os.write(2, message.encode("utf-8", "replace") + b"\n")
        except OSError:
            pass
    os._exit(int(status))
