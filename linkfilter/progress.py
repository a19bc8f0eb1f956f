"""The progress line for people: one line on a terminal's stderr, redrawn in place.

Shown on a long run whose stderr is a terminal (by default only when stdout is
not, e.g. ``linkfilter -n --json big.log > out.jsonl``): bytes read of the
FILEs' size where known, URLs found / done / failed, and the rate. The writer
draws it at most ``INTERVAL`` times a second, erases it before any other line
it writes to the terminal, and at the end.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from linkfilter.output import human_size

#: Seconds between two redraws, at the least.
INTERVAL = 0.1
#: Clear from the cursor to the end of the terminal line.
CLEAR_TO_END = "\x1b[K"
#: Erase the current terminal line: carriage return, then clear to its end.
ERASE = "\r" + CLEAR_TO_END


def wanted(forced: bool | None, quiet: bool, stdout_tty: bool, stderr_tty: bool) -> bool:
    """Whether to show it: never with ``-q`` nor on a stderr that is not a terminal;
    ``--progress`` / ``--no-progress`` decide, else only when stdout is not a terminal."""
    if quiet or not stderr_tty:
        return False
    return (not stdout_tty) if forced is None else forced


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
        s = self.stats
        took = max(self._clock() - self._started, 1e-9)
        read = human_size(s.bytes)
        if self.total:
            read += f" of {human_size(self.total)} ({min(100, s.bytes * 100 // self.total)}%)"
        text = (f"linkfilter: {read} read, {s.urls} URLs found, {s.done} done, "
                f"{s.failed} failed, {s.done / took:.1f} URLs/s")
        return text[: max(self._width() - 1, 10)]


#: Columns assumed when the terminal does not say (a pseudo-terminal nobody sized says 0).
DEFAULT_WIDTH = 80


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(2).columns or DEFAULT_WIDTH
    except OSError:
        return DEFAULT_WIDTH
