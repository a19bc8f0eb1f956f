"""Stopping a run: SIGINT, SIGTERM and SIGHUP, a read error, Ctrl-C during start-up.

Whatever stops a run, everything read is written first, in input order (``--ordered``
included): the lines, the results already known, and for a URL still in flight nothing
or its ``--fallback`` line with error ``interrupted``; then the ``--stats`` line. The
runs are real subprocesses against a local server whose ``/hang`` page answers only
when the test lets it.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from command import CMD, clean_env, read_line, start
from linkfilter.writer import ExitStatus
from servers import page

#: The exit status each stop signal gives (128 + its number).
STATUS = {signal.SIGINT: ExitStatus.INTERRUPTED, signal.SIGTERM: ExitStatus.TERMINATED,
          signal.SIGHUP: ExitStatus.HANGUP}
#: How long a test waits for an expected line or exit before it fails.
WAIT = 10.0


@pytest.fixture
def site(http_server):
    """``/hang`` answers once ``release`` is set (at the end of the test at the latest), and
    sets ``hanging`` when asked; ``/t/C`` answers at once."""
    release, hanging = threading.Event(), threading.Event()

    def hang(request):
        hanging.set()
        release.wait(30)
        return page("<title>Hung</title>")

    http_server.route("/hang", hang)
    http_server.route("/t/C", page("<title>Cee</title>"))
    http_server.release, http_server.hanging = release, hanging
    yield http_server
    release.set()


def _stats(err: bytes) -> str:
    (line,) = [x for x in err.decode().splitlines() if " lines, " in x]
    return line


@pytest.mark.parametrize("stdin_open", [True, False], ids=["stdin-open", "stdin-closed"])
@pytest.mark.parametrize("fallback", [None, "{url} [{error}]"], ids=["plain", "fallback"])
@pytest.mark.parametrize("sig", list(STATUS), ids=lambda s: signal.Signals(s).name)
def test_a_stopped_ordered_run_writes_everything_it_read_in_order(site, sig, fallback, stdin_open):
    """The reproduction: A waits on a page that hangs, B is plain, C's title is known, D
    ends the input; the signal comes while A's fetch hangs. C's page was fetched by an
    earlier line (P), so its result is known the moment line C is read."""
    hang, c = site.url("/hang"), site.url("/t/C")
    args = ["--allow-private", "--ordered", "--stats", "-t", "30"]
    if fallback:
        args += ["--fallback", fallback]
    proc = start(args)
    try:
        proc.stdin.write(f"P {c}\n".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == f"P {c}\n".encode()
        assert read_line(proc.stdout, WAIT) == f"{site.authority}: Cee\n".encode()
        proc.stdin.write(f"A {hang}\nB plain line\nC {c}\nD last line\n".encode())
        proc.stdin.flush()
        if not stdin_open:
            proc.stdin.close()  # the EOF drain now waits on A
        assert read_line(proc.stdout, WAIT) == f"A {hang}\n".encode()
        assert site.hanging.wait(WAIT)  # A's fetch is in flight
        proc.send_signal(sig)
        out, err = _outputs(proc)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == STATUS[sig]
    expected = ([f"{hang} [interrupted]"] if fallback else []) + [
        "B plain line", f"C {c}", f"{site.authority}: Cee", "D last line"]
    assert out.decode().splitlines() == expected
    assert "Traceback" not in err.decode()
    assert re.fullmatch(r"linkfilter: 5 lines, 3 URLs, 2 fetched, 1 cached, 0 failed, [\d.]+s",
                        _stats(err))


def test_two_stop_signals_at_once_are_one_stop_that_writes_everything_it_read(site):
    """``timeout 2 linkfilter`` sends its signal to the command, then to its process group:
    two stop signals at once. They are one stop (the first one's status), which writes
    everything read; only a signal that comes later ends the run at once. Two different
    signals, so that neither is merged into the other before the handlers run."""
    hang, c = site.url("/hang"), site.url("/t/C")
    proc = start(["--allow-private", "--ordered", "--stats", "-t", "30"])
    try:
        proc.stdin.write(f"P {c}\n".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == f"P {c}\n".encode()
        assert read_line(proc.stdout, WAIT) == f"{site.authority}: Cee\n".encode()
        proc.stdin.write(f"A {hang}\nB plain line\nC {c}\nD last line\n".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == f"A {hang}\n".encode()
        assert site.hanging.wait(WAIT)
        proc.send_signal(signal.SIGHUP)
        proc.send_signal(signal.SIGTERM)
        out, err = _outputs(proc)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == ExitStatus.HANGUP  # handled first: the lower number
    assert out.decode().splitlines() == ["B plain line", f"C {c}", f"{site.authority}: Cee",
                                         "D last line"]
    assert _stats(err).startswith("linkfilter: 5 lines, 3 URLs, ")


def test_a_stopped_run_without_ordered_writes_a_result_held_behind_a_partial_line(site):
    """Without --ordered too: a result held behind a half-echoed line comes out once the
    stop ends the line. (C's page was fetched by an earlier line, so its result is known
    the moment line C is read, and is held behind the partial line read with it.)"""
    c = site.url("/t/C")
    proc = start(["--allow-private", "-t", "30", "--stats"])
    try:
        proc.stdin.write(f"P {c}\n".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == f"P {c}\n".encode()
        assert read_line(proc.stdout, WAIT) == f"{site.authority}: Cee\n".encode()
        proc.stdin.write(f"C {c}\nhalf a line".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == f"C {c}\n".encode()
        proc.send_signal(signal.SIGTERM)
        out, err = _outputs(proc)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == ExitStatus.TERMINATED
    assert out == f"half a line\n{site.authority}: Cee\n".encode()
    assert _stats(err).startswith("linkfilter: 2 lines, 2 URLs, 1 fetched, 1 cached, ")


def test_a_read_error_writes_everything_read_in_order(site):
    """An input that fails to read (``/proc/self/mem`` answers EIO) after stdin: one line on
    stderr, status 1, and every line and result read before it, in order, once the fetch
    in flight ends."""
    hang, c = site.url("/hang"), site.url("/t/C")
    proc = start(["--allow-private", "--ordered", "-t", "30", "-", "/proc/self/mem"])
    try:
        proc.stdin.write(f"A {hang}\nB plain line\nC {c}\nD last line\n".encode())
        proc.stdin.close()
        assert read_line(proc.stdout, WAIT) == f"A {hang}\n".encode()
        assert site.hanging.wait(WAIT)
        site.release.set()
        out, err = _outputs(proc)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == ExitStatus.ERROR
    assert out.decode().splitlines() == [f"{site.authority}: Hung", "B plain line", f"C {c}",
                                         f"{site.authority}: Cee", "D last line"]
    assert err.decode() == "linkfilter: /proc/self/mem: Input/output error\n"


def test_a_run_with_sighup_ignored_keeps_it_ignored(site):
    """``nohup``: a SIGHUP the caller ignores does not stop the run."""
    c = site.url("/t/C")
    proc = subprocess.Popen(CMD + ["--allow-private"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        proc.stdin.write(b"before\n")
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == b"before\n"
        proc.send_signal(signal.SIGHUP)
        proc.stdin.write(f"after {c}\n".encode())
        proc.stdin.close()
        out, err = _outputs(proc)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0
    assert out.decode().splitlines() == [f"after {c}", f"{site.authority}: Cee"]


def _outputs(proc) -> tuple[bytes, bytes]:
    """Everything the process writes to stdout and stderr until it ends (stdin left as it
    is: open or closed), then its exit."""
    got = {proc.stdout.fileno(): b"", proc.stderr.fileno(): b""}
    deadline = time.monotonic() + WAIT
    open_fds = set(got)
    while open_fds:
        ready = select.select(list(open_fds), [], [], max(deadline - time.monotonic(), 0))[0]
        if not ready:
            raise AssertionError(f"still running after {WAIT}s: {got}")
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                got[fd] += chunk
            else:
                open_fds.discard(fd)
    proc.wait(WAIT)
    return got[proc.stdout.fileno()], got[proc.stderr.fileno()]


# -- Ctrl-C during start-up -----------------------------------------------------------------

#: Runs with a SIGINT during start-up, and how many are started at once.
EARLY_RUNS = 120
EARLY_PARALLEL = 4


def test_ctrl_c_during_start_up_ends_quietly_with_status_130():
    """SIGINT at staggered moments from the first statement of ``__main__`` on, through
    the imports (tens of milliseconds, where a KeyboardInterrupt traceback used to come
    out): every run ends with status 130 and nothing on stderr but the import log.

    ``-X importtime`` logs each import as it ends: the first import after the package
    ``linkfilter`` is one ``__main__`` makes, after its handler is set. The delays after
    that moment are fractions of the time to the end of start-up, measured first."""
    startup = _time_to_first_echo()
    delays = [startup * (i % 40) / 40 for i in range(EARLY_RUNS)]
    results = []
    for first in range(0, EARLY_RUNS, EARLY_PARALLEL):
        batch = delays[first:first + EARLY_PARALLEL]
        procs = [subprocess.Popen([sys.executable, "-X", "importtime", "-m", "linkfilter"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=clean_env()) for _ in batch]
        for proc, delay in zip(procs, batch):
            log = _read_until_first_import_after_the_package(proc)
            until = time.perf_counter() + delay
            while time.perf_counter() < until:  # a busy wait: sleeping is far too coarse
                pass
            proc.send_signal(signal.SIGINT)
            results.append((delay, proc, log))
        for _, proc, log in results[-len(batch):]:
            _, err = proc.communicate(timeout=WAIT)
            log += err
    bad = [(round(d * 1000, 2), p.returncode, log.decode()[-400:]) for d, p, log in results
           if p.returncode != ExitStatus.INTERRUPTED or b"Traceback" in log
           or b"KeyboardInterrupt" in log]
    assert not bad, f"{len(bad)} of {len(results)} runs: {bad[:3]}"


def test_the_early_status_is_the_interrupted_status():
    from linkfilter.__main__ import EARLY_INTERRUPT_STATUS

    assert EARLY_INTERRUPT_STATUS == ExitStatus.INTERRUPTED == 128 + signal.SIGINT


def _read_until_first_import_after_the_package(proc) -> bytes:
    """stderr up to the first ``-X importtime`` line after the one for ``linkfilter``."""
    log = b""
    fd = proc.stderr.fileno()
    deadline = time.monotonic() + WAIT
    seen_package = False
    while True:
        if not select.select([fd], [], [], max(deadline - time.monotonic(), 0))[0]:
            raise AssertionError(f"no import log within {WAIT}s: {log[-300:]!r}")
        chunk = os.read(fd, 1)
        if not chunk:
            raise AssertionError(f"stderr ended: {log[-300:]!r}")
        log += chunk
        if chunk == b"\n":
            line = log[log.rfind(b"\n", 0, len(log) - 1) + 1:]
            if seen_package and line.startswith(b"import time:"):
                return log
            seen_package = seen_package or line.rstrip().endswith(b"| linkfilter")


def _time_to_first_echo() -> float:
    """Seconds from the start of a run to its first echoed line: all of start-up."""
    started = time.perf_counter()
    proc = start([])
    try:
        proc.stdin.write(b"x\n")
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == b"x\n"
        return time.perf_counter() - started
    finally:
        proc.stdin.close()
        proc.wait(WAIT)
