"""The progress line for people: one line on a terminal's stderr, redrawn in place.

Shown on a run whose stderr is a terminal and whose stdout is a regular file or
/dev/null (``linkfilter --json big.log > out.jsonl``): never by default when
stdout is a pipe (another program may print on the same terminal) or a terminal
(the output is the progress). It says bytes read of the FILEs' size where known,
URLs done of those found, failed, and the rate, and fits the terminal's width by
dropping the least needed words. The writer draws it at most ``INTERVAL`` times a
second, erases it before any other line it writes to the terminal, and at the
end; on a terminal stdout shares, only while no partial echoed line is on it.
"""

from __future__ import annotations

import os
import stat
import time
from typing import Callable

from linkfilter.output import human_size

#: Seconds between two redraws, at the least.
INTERVAL = 0.1
#: Clear from the cursor to the end of the terminal line.
CLEAR_TO_END = "\x1b[K"
#: Erase the current terminal line: carriage return, then clear to its end.
ERASE = "\r" + CLEAR_TO_END


def wanted(forced: bool | None, quiet: bool, stdout_file: bool, stderr_tty: bool) -> bool:
    """Whether to show it: never with ``-q`` nor on a stderr that is not a terminal;
    ``--progress`` / ``--no-progress`` decide, else only when stdout is a file
    (``stdout_file``: a regular file or /dev/null)."""
    if quiet or not stderr_tty:
        return False
    return stdout_file if forced is None else forced


def is_file(stream) -> bool:
    """Whether ``stream`` is a regular file or /dev/null: output nobody watches as it comes."""
    try:
        st = os.fstat(stream.fileno())
        if stat.S_ISREG(st.st_mode):
            return True
        return stat.S_ISCHR(st.st_mode) and os.path.samestat(st, os.stat(os.devnull))
    except (OSError, ValueError, AttributeError):
        return False


def same_terminal(out, err) -> bool:
    """Whether ``out`` and ``err`` are one terminal (what one draws, the other can wipe)."""
    try:
        return out.isatty() and err.isatty() and os.path.samestat(
            os.fstat(out.fileno()), os.fstat(err.fileno()))
    except (OSError, ValueError, AttributeError):
        return False


def input_size(names: list[str], stdin) -> int | None:
    """Total size of the inputs when every one is a regular file, else None."""
    total = 0
    for name in names or ["-"]:
        try:
            st = os.fstat(stdin.fileno()) if name == "-" else os.stat(name)
        except (OSError, ValueError, AttributeError):
            return None
        if not (st.st_mode & 0o170000 == 0o100000):
            return None
        total += st.st_size
    return total


class Progress:
    """Renders the line from live counters (read without a lock: a glance, not an account)."""

    def __init__(self, stats, total: int | None, *, width: Callable[[], int] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stats = stats
        self.total = total
        self._width = width or _terminal_width
        self._clock = clock
        self._started = clock()

    def line(self) -> str:
        """The line, at most the terminal's width less one column (no wrap at the last)."""
        s = self.stats
        rate = s.done / max(self._clock() - self._started, 1e-9)
        size = None
        if self.total:
            size = f"{human_size(self.total)} ({min(100, s.bytes * 100 // self.total)}%)"
        return fit(human_size(s.bytes), size, s.done, s.urls, s.failed, rate,
                   self._width() - 1)


def fit(read: str, size: str | None, done: int, urls: int, failed: int, rate: float,
        width: int) -> str:
    """``linkfilter: 1.2 MiB of 3.0 MiB (40%) read, 592/600 done, 3 failed, 48/s``, less
    the words that do not fit in ``width`` columns: first the size, then the bytes read,
    then the failures, then the rate; the done count is what the line is for."""
    counts = [f"{done}/{urls} done", f"{failed} failed", f"{rate:.0f}/s" if rate >= 10
              else f"{rate:.1f}/s"]
    steps = [[f"{read} of {size} read" if size else f"{read} read", *counts],
             [f"{read} read", *counts], counts, [counts[0], counts[2]], counts[:1]]
    for parts in steps:
        text = "linkfilter: " + ", ".join(parts)
        if len(text) <= width:
            return text
    return text[: max(width, 0)]


#: Columns assumed when the terminal does not say (a pseudo-terminal nobody sized says 0).
DEFAULT_WIDTH = 80


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(2).columns or DEFAULT_WIDTH
    except OSError:
        return DEFAULT_WIDTH
