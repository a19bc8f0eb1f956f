"""``python -m linkfilter`` and the ``linkfilter`` command: run the command line, then end at once.

When the command returns, its threads are joined and every byte it wrote is flushed (the
writer flushes each write, and ends the process the same way on a closed stdout). What
Python's normal exit adds, tearing down every module and freeing its objects, costs more
than a one-URL run's fetch (see bench/bench_speed.py), so the process ends with
``os._exit`` once stdout and stderr are flushed. It takes the normal way out when a flush
fails (Python then reports it as usual), when the exit code is no number, when something
registered an atexit callback (coverage, for one), or when a non-daemon thread still runs.

SIGINT (Ctrl-C) ends the run quietly with status 130 from the first statement on: the
imports that follow take tens of milliseconds, and a ``KeyboardInterrupt`` inside one
would print a traceback. ``cli.main`` then puts the run's own handlers in place.
"""

import os
import _signal  # the C module: ``signal`` itself takes milliseconds to import

#: ``ExitStatus.INTERRUPTED`` (128 + SIGINT), spelt out: importing it would come before
#: the handler.
EARLY_INTERRUPT_STATUS = 130


def _interrupted_early(signum, frame) -> None:
    os._exit(EARLY_INTERRUPT_STATUS)


if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:  # not ignored (``cmd &``)
    _signal.signal(_signal.SIGINT, _interrupted_early)

import atexit  # noqa: E402 - after the handler: see the module docstring
import gc  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402


#: Allocations between two collections of the young generation (Python's default: 700).
#: Start-up makes tens of thousands of objects that all live on, so collecting every 700
#: of them is wasted work on every run. Cycles are still collected, just less often.
GC_YOUNG_THRESHOLD = 10_000


def main() -> None:
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
    from linkfilter.cli import main as command

    try:
        command()
    except SystemExit as e:
        _leave(e.code)
    _leave(0)


def _leave(code) -> None:
    """End the process with ``code``: at once if nothing is left to do at exit."""
    code = 0 if code is None else code
    if not isinstance(code, int) or not _nothing_left():
        sys.exit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


def _nothing_left() -> bool:
    """Tell whether a normal exit would only tear down: no atexit callback, no thread to
    wait for."""
    callbacks = getattr(atexit, "_ncallbacks", None)  # CPython's count; unknown means "some"
    if callbacks is None or callbacks():
        return False
    main_thread = threading.main_thread()
    return not any(
        t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()
    )


if __name__ == "__main__":
    main()
