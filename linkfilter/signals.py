"""Stop signals and thread start-up: SIGINT, SIGTERM and SIGHUP end a run, in the main thread.

Every thread but the main one is started with the stop signals blocked
(``start_thread``), so the main thread gets them even while blocked on input.
A stop signal ends the run without fetching more (``Stop.interrupt``): what was
read is written first; if that cannot be done within ``STOP_GRACE`` seconds (a
stdout nobody reads), SIGALRM ends the process anyway (``Stop.give_up``), and so
does a second stop signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Callable

from linkfilter.writer import ExitStatus

#: Signals that stop a run; only the main thread may receive them.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
#: Signals blocked in every thread but the main one: the stop signals, and SIGALRM (their
#: deadline), so that they interrupt whatever the main thread waits on.
MAIN_THREAD_SIGNALS = STOP_SIGNALS | {signal.SIGALRM}
#: Seconds a stopped run has to write what it read before it ends regardless.
STOP_GRACE = 0.5
#: Seconds after a stop signal in which another one is the same stop: ``timeout`` sends its
#: signal to the command and then to the command's process group, two at once.
SAME_STOP = 0.25


class Interrupted(Exception):
    """Raised in the main thread, at a point where no state is half changed, once a stop
    signal came: the run then writes what it read and ends."""


class Stop:
    """The stop signal a run received, if any, and the waits it may cut short."""

    def __init__(self, stopping: Callable[[], None], last_words: Callable[[], str]) -> None:
        """``stopping`` is called in the handler (no lock may be taken there) to stop
        waiting for room; ``last_words`` gives what stderr gets if the process must end
        at once."""
        #: The stop signal received, if any (set by its handler, read by the reader).
        self.signum: int | None = None
        self._signalled_at = 0.0  # time.monotonic() of the first stop signal
        self._stopping = stopping
        self._last_words = last_words
        self._may_raise = False  # the main thread waits where Interrupted may be raised

    def check(self) -> None:
        """Raise ``Interrupted`` if a stop signal came."""
        if self.signum is not None:
            raise Interrupted

    def interruptible(self, wait) -> None:
        """Call ``wait``, a wait that changes nothing it would leave half done if cut
        short, so that a stop signal raises ``Interrupted`` in it at once."""
        self._may_raise = True
        try:
            self.check()
            wait()
        finally:
            self._may_raise = False

    def interrupt(self, signum: int) -> None:
        """A stop signal (the main thread, in its handler; no lock may be taken here).

        Reading stops at the next chunk, the pending list waits for room no more, and
        ``STOP_GRACE`` seconds from now ``give_up`` ends the process whatever is left.
        A second stop signal ends it at once, unless it comes within ``SAME_STOP``
        seconds of the first (then it is the same stop).
        """
        now = time.monotonic()
        if self.signum is not None:
            if now - self._signalled_at < SAME_STOP:
                return
            self.give_up()
        self.signum, self._signalled_at = signum, now
        self._stopping()
        signal.setitimer(signal.ITIMER_REAL, STOP_GRACE)
        if self._may_raise:
            raise Interrupted

    def give_up(self) -> None:
        """End the process now (a stopped run that could not write in time, or a second
        signal): the progress line erased and the --stats line, straight to stderr."""
        with contextlib.suppress(Exception):
            text = self._last_words()
            if text:
                os.write(2, text.encode("utf-8", "replace"))
        os._exit(signal_status(self.signum or signal.SIGINT))

    def status(self) -> ExitStatus:
        """The exit status of the stopped run (see ``ExitStatus``)."""
        return signal_status(self.signum)


def start_thread(thread: threading.Thread) -> None:
    """Start ``thread`` with the stop signals blocked in it (and in the threads it starts),
    so that they are always delivered to the main thread, whose handler ends the run."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, MAIN_THREAD_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def signal_status(signum: int) -> ExitStatus:
    """The exit status of a run a stop signal ended: 128 + its number."""
    return ExitStatus(128 + signum)


def install_signal_handlers(stop: Callable[[], Stop | None]) -> tuple[dict, int]:
    """SIGINT, SIGTERM and SIGHUP stop the run (``Stop.interrupt``), without a traceback;
    one the caller ignores (``nohup``) stays ignored.

    ``stop()`` gives the run's ``Stop`` (None until there is one: then the signal ends the
    process at once). SIGALRM is its ``STOP_GRACE`` deadline (``Stop.give_up``).
    Returns the previous handlers, for ``restore_signal_handlers``, and the read end of
    the wake-up pipe, for ``Pipeline(wake_fd=...)``.
    """

    def interrupt(signum, frame):
        target = stop()
        if target is None:
            os._exit(signal_status(signum))
        target.interrupt(signum)

    def deadline(signum, frame):
        target = stop()
        if target is not None:
            target.give_up()

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS
                if signal.getsignal(sig) is not signal.SIG_IGN}  # nohup, ``cmd &``: still ignored
    previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, deadline)
    previous["wakeup"] = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    previous["pipe"] = (wake_r, wake_w)
    return previous, wake_r


def restore_signal_handlers(previous: dict) -> None:
    """Put back what ``install_signal_handlers`` replaced, and close its wake-up pipe."""
    signal.setitimer(signal.ITIMER_REAL, 0)  # a stopped run's deadline, if any
    signal.set_wakeup_fd(previous.pop("wakeup"))
    for fd in previous.pop("pipe"):
        os.close(fd)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
