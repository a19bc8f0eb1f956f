"""Input to lines: copy each input to the writer at once and hand its candidate lines on.

The main thread reads the input as it comes, hands every byte to the writer at
once (a partial line too), and gives the lines that may hold URLs to the
pipeline's dispatch. On a pipe or terminal it waits on the signal wake-up pipe
as well, so a stop signal is never slept through; under ``--ordered`` it echoes
up to the end of each line with URLs, then lets dispatch reserve its slots.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import stat
from typing import BinaryIO, Callable

from linkfilter.ordered import InOrder
from linkfilter.scan import CandidateLines
from linkfilter.signals import Stop
from linkfilter.writer import Writer

#: Bytes asked of the input per read; a pipe on stdin is widened to match.
READ_SIZE = 256 * 1024

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class Reader:
    """Reads the inputs of one run on the main thread; see the module docstring."""

    def __init__(
        self,
        stdin: BinaryIO | None,
        writer: Writer,
        lines: CandidateLines,
        dispatch: Callable[[list[tuple[int, bytes]]], None],
        *,
        echo: bool,
        inorder: InOrder | None,
        stats,
        stop: Stop,
        wake_fd: int | None,
    ) -> None:
        """``dispatch`` takes a batch of ``(line number, raw line)`` from ``lines``;
        ``stats.bytes`` counts the bytes read."""
        self.stdin = stdin
        self.writer = writer
        self.lines = lines
        self.dispatch = dispatch
        self.echo = echo
        self.inorder = inorder
        self.stats = stats
        self.stop = stop
        self.wake_fd = wake_fd

    def read(self, name: str) -> bool:
        """Copy one input to the writer and dispatch its URLs; False if it failed.

        Raises ``Interrupted`` between two chunks once a stop signal came: a chunk read
        is always handed on whole first."""
        try:
            stream = self.stdin if name == "-" else open(name, "rb", buffering=0)
            if stream is None:
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        except OSError as e:
            self.writer.err(f"linkfilter: {name}: {e.strerror or e}")
            return False
        echo = self.echo
        lines = self.lines
        read = self._reader(stream)
        widen_pipe(stream)
        try:
            inorder = self.inorder
            stats = self.stats
            while True:
                if inorder is not None:  # a line still waiting holds only so much input
                    self.stop.interruptible(inorder.wait_room)
                else:
                    self.stop.check()
                data = read(READ_SIZE)
                if not data:
                    return True
                stats.bytes += len(data)
                if inorder is not None:
                    self._feed_in_order(data, lines, echo)
                    continue
                if echo:
                    self.writer.echo(data)
                found = lines.feed(data)
                if found:
                    self.dispatch(found)
        except OSError as e:
            self.writer.err(f"linkfilter: {name}: {e.strerror or e}")
            return False
        finally:
            if stream is not self.stdin:
                stream.close()

    def _reader(self, stream):
        """The read function for ``stream``: on a pipe or terminal, one that waits on the
        signal wake-up pipe too (a signal that lands just before ``read`` is not lost)."""
        wake = self.wake_fd
        try:
            fd = stream.fileno()
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except (OSError, ValueError, AttributeError):
            regular = True
        if wake is None or regular:
            return getattr(stream, "read1", stream.read)
        stop = self.stop

        def read(size: int) -> bytes:
            while True:
                ready = select.select([fd, wake], [], [])[0]
                if wake in ready:  # the handler has run by now
                    with contextlib.suppress(OSError):
                        os.read(wake, 512)
                    stop.check()
                if fd in ready:
                    return os.read(fd, size)

        return read

    def _feed_in_order(self, data: bytes, lines: CandidateLines, echo: bool) -> None:
        """``--ordered``: echo up to the end of each line with URLs, then reserve its slots."""
        inorder = self.inorder
        seen = lines.lines  # lines complete before this chunk (line N ends at the Nth newline)
        found = lines.feed(data)
        done = pos = 0
        for number, raw in found:
            if echo:
                while seen < number:
                    pos = data.find(b"\n", pos) + 1
                    seen += 1
                if pos > done:
                    inorder.echo(data[done:pos])
                    done = pos
            self.dispatch([(number, raw)])
        if echo and done < len(data):
            inorder.echo(data[done:])


def widen_pipe(stream) -> None:
    """Ask for a bigger pipe buffer, so bulk input comes in fewer, larger reads."""
    try:
        fd = stream.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, F_SETPIPE_SZ, READ_SIZE)
    except (OSError, ValueError, AttributeError):
        pass  # not a pipe, not Linux, or over the system's limit: reads are smaller
