"""Stopping a run: SIGINT, SIGTERM and SIGHUP, a read error, a closed stdout, Ctrl-C during start-up.

Whatever stops a run, everything read is written first, in input order (``--ordered``
included): the lines, the results already known, and for a URL still in flight nothing
or its ``--fallback`` line with error ``interrupted``; then the ``--stats`` line. The
runs are real subprocesses against a local server whose ``/hang`` page answers only
when the test lets it.
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback

import pytest

from linkfilter.writer import ExitStatus

from command import CMD, Output, WAIT, clean_env, outputs, read_line, start
from servers import RawServer, Stuck, hang, page


#: The exit status each stop signal gives (128 + its number).
STATUS = {signal.SIGINT: ExitStatus.INTERRUPTED, signal.SIGTERM: ExitStatus.TERMINATED,
          signal.SIGHUP: ExitStatus.HANGUP}


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


def _prime(proc, site, c: str) -> None:
    """Have ``proc`` fetch ``c`` on a line P first, so that its result is known the moment
    a later line names it again."""
    proc.stdin.write(f"P {c}\n".encode())
    proc.stdin.flush()
    assert read_line(proc.stdout, WAIT) == f"P {c}\n".encode()
    assert read_line(proc.stdout, WAIT) == f"{site.authority}: Cee\n".encode()


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
        _prime(proc, site, c)
        proc.stdin.write(f"A {hang}\nB plain line\nC {c}\nD last line\n".encode())
        proc.stdin.flush()
        if not stdin_open:
            proc.stdin.close()  # the EOF drain now waits on A
        assert read_line(proc.stdout, WAIT) == f"A {hang}\n".encode()
        assert site.hanging.wait(WAIT)  # A's fetch is in flight
        proc.send_signal(sig)
        out, err = outputs(proc)
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
        _prime(proc, site, c)
        proc.stdin.write(f"A {hang}\nB plain line\nC {c}\nD last line\n".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == f"A {hang}\n".encode()
        assert site.hanging.wait(WAIT)
        proc.send_signal(signal.SIGHUP)
        proc.send_signal(signal.SIGTERM)
        out, err = outputs(proc)
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
        _prime(proc, site, c)
        proc.stdin.write(f"C {c}\nhalf a line".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == f"C {c}\n".encode()
        proc.send_signal(signal.SIGTERM)
        out, err = outputs(proc)
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
        out, err = outputs(proc)
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
    proc = start(["--allow-private"],
                 preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        proc.stdin.write(b"before\n")
        proc.stdin.flush()
        assert read_line(proc.stdout, WAIT) == b"before\n"
        proc.send_signal(signal.SIGHUP)
        proc.stdin.write(f"after {c}\n".encode())
        proc.stdin.close()
        out, err = outputs(proc)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0
    assert out.decode().splitlines() == [f"after {c}", f"{site.authority}: Cee"]


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy-workers"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: signal.Signals(s).name)
def test_a_stop_signal_ends_the_run_within_a_second_without_a_traceback(sig, busy):
    """SIGINT or SIGTERM ends a run that waits on open input within a second, with 128 +
    the signal's number: an idle run says nothing on stderr; with every worker stuck on a
    server that never answers, there is no traceback either."""
    with RawServer(hang()) as server:
        if busy:
            proc = start(["--allow-private", "-w", "2", "-t", "30"])
            data = "".join(f"{server.url(f'/{i}')}\n" for i in range(6)).encode()
        else:
            proc = start([])
            data = b"started\n"
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
            for line in data.splitlines(keepends=True):
                assert read_line(proc.stdout) == line
            sent = time.monotonic()
            proc.send_signal(sig)
            proc.wait(5)
            assert time.monotonic() - sent < 1.0
        finally:
            proc.kill()
            proc.stdin.close()
        assert proc.returncode == STATUS[sig]
        stderr = proc.stderr.read()
    if busy:
        assert b"Traceback" not in stderr
    else:
        assert stderr == b""


def test_signal_during_the_eof_drain_stops_at_once():
    with RawServer(hang()) as server:
        proc = start(["--allow-private", "-w", "2", "-t", "30"])
        try:
            proc.stdin.write(f"{server.url('/a')}\n{server.url('/b')}\n".encode())
            proc.stdin.close()  # EOF: linkfilter now waits for the hanging fetches
            read_line(proc.stdout)
            read_line(proc.stdout)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait(5)
            assert time.monotonic() - sent < 1.0
        finally:
            proc.kill()
        assert proc.returncode == 130


def test_closed_stdout_ends_quietly_with_status_141():
    code = (
        f"set -o pipefail; yes 'line http://a.example' | head -c 50000000 | "
        f"{sys.executable} -m linkfilter --dry-run | head -n 1"
    )
    p = subprocess.run(["bash", "-c", code + "; echo \"status=${PIPESTATUS[2]}\" >&2"],
                       capture_output=True, timeout=60)
    assert p.stdout == b"line http://a.example\n"
    assert p.stderr.decode().strip() == "status=141"


def test_output_errors_are_one_line_and_status_1():
    full = subprocess.run(CMD, input=b"hello\n", stdout=open("/dev/full", "wb"), stderr=subprocess.PIPE, timeout=30)
    assert full.returncode == ExitStatus.ERROR
    assert full.stderr == b"linkfilter: write error: No space left on device\n"
    closed = subprocess.run(["bash", "-c", f"{sys.executable} -m linkfilter >&-"], input=b"hello\n",
                            capture_output=True, timeout=30)
    assert closed.returncode == ExitStatus.ERROR
    assert closed.stderr == b"linkfilter: write error: Bad file descriptor\n"


# -- a signal is never lost while the reader waits ----------------------------------------------

#: Runs of the signal storm, and how many run at once.
STORM_RUNS = 240
STORM_PARALLEL = 8
#: Longest a signalled run may take to end (the documented bound).
STORM_BOUND = 1.0


#: The fork server: a process of its own, so that forking never copies pytest's threads.
STORM = ("import json, sys, test_e2e_stop as t; "
         "print(json.dumps(t.signal_storm(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))")


def test_a_signal_is_never_lost_while_the_reader_waits_on_a_silent_stdin():
    """SIGINT or SIGTERM, 240 times, each run blocked on an open stdin with 3 workers stuck and
    the writer at work; every run must end at once with 130 or 143.

    The signal is sent at a varied moment around the reader's return to its wait (after one
    short line, or after a filler that leaves the writer blocked on a full stdout), where a
    signal used to be lost until more input came (about 1 run in 50). The runs are forked
    from a server process that has imported linkfilter once (see ``signal_storm``), so 240
    of them take seconds, not minutes.
    """
    stuck = Stuck()
    with RawServer(stuck) as server:
        p = subprocess.run(
            [sys.executable, "-c", STORM, server.url("/"), str(STORM_RUNS), str(STORM_PARALLEL)],
            capture_output=True, env=clean_env(), cwd=os.path.dirname(__file__), timeout=120,
        )
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    runs = json.loads(p.stdout)
    assert len(runs) == STORM_RUNS
    lost = [r for r in runs if r["took"] is None]
    late = sum(bool(r["after_input"]) for r in lost)
    assert not lost, f"{len(lost)} of {len(runs)} signals lost ({late} acted only on more input): {lost[:5]}"
    assert all(r["status"] == STATUS[r["signal"]] for r in runs), runs
    assert not [r for r in runs if "Traceback" in r["stderr"]]


def signal_storm(base_url: str, total: int, parallel: int, seed: int = 8) -> list[dict]:
    """Fork ``total`` runs of linkfilter, ``parallel`` at a time, and signal each once.

    Each run gets 3 URLs of the server at ``base_url`` (3 workers stuck); once they are
    echoed, one short line with a signal a random 0.5 to 2 echo round trips later, or (one
    run in 3) a 200 KB filler that blocks the writer on a stdout nobody reads, and the signal
    0 to 2 ms later. Returns per run the signal, the exit status, and the seconds until it
    ended (None past ``STORM_BOUND``; such a run is then given a line of input, and
    ``after_input`` says whether it ended then).
    """
    import linkfilter.cli
    import linkfilter.fetch
    import linkfilter.pipeline
    import linkfilter.title
    import linkfilter.worker  # noqa: F401 - everything a child needs, imported once

    rnd = random.Random(seed)
    args = ["--allow-private", "-w", "3", "-t", "60", "-q"]
    urls = "".join(f"{base_url}s{i}\n" for i in range(3)).encode()
    report: list[dict] = []
    for first in range(0, total, parallel):
        kids = [_fork_run(linkfilter.cli.main, args) for _ in range(min(parallel, total - first))]
        for kid in kids:
            os.write(kid["stdin"], urls)
        for kid in kids:
            kid["out"] = Output(kid["stdout"])
            for _ in range(3):
                kid["out"].line()
        for kid in kids:  # a round trip of one line, to aim the signals
            trips = []
            for _ in range(3):
                sent = time.perf_counter()
                os.write(kid["stdin"], b"ping\n")
                kid["out"].line()
                trips.append(time.perf_counter() - sent)
            kid["trip"] = statistics.median(trips)
        for n, kid in enumerate(kids):
            kid["signal"] = signal.SIGINT if (first + n) % 2 else signal.SIGTERM
            if (first + n) % 3 == 2:
                os.write(kid["stdin"], b"x" * 200_000 + b"\n")
                delay = rnd.uniform(0, 0.002)
            else:
                os.write(kid["stdin"], b"a short line\n")
                delay = kid["trip"] * rnd.uniform(0.5, 2.0)
            until = time.perf_counter() + delay
            while time.perf_counter() < until:  # a busy wait: sleeping is far too coarse
                pass
            kid["after"] = "filler" if (first + n) % 3 == 2 else "short line"
            kid["sent"] = time.monotonic()
            os.kill(kid["pid"], kid["signal"])
        for kid in kids:
            report.append(_reap(kid))
    return report


def _fork_run(main, args: list[str]) -> dict:
    """Fork a child that runs the command line ``main(args)`` on three fresh pipes."""
    ends = [os.pipe() for _ in range(3)]
    pid = os.fork()
    if pid == 0:
        os.dup2(ends[0][0], 0)
        os.dup2(ends[1][1], 1)
        os.dup2(ends[2][1], 2)
        os.closerange(3, 1024)  # not the other runs' pipes: their ends must stay theirs
        status = 70
        try:
            main(args, prog_name="linkfilter")
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    os.close(ends[0][0])
    os.close(ends[1][1])
    os.close(ends[2][1])
    return {"pid": pid, "pidfd": os.pidfd_open(pid), "stdin": ends[0][1],
            "stdout": ends[1][0], "stderr": ends[2][0]}


def _reap(kid: dict) -> dict:
    """Wait for a signalled child; note how long it took, its status and its stderr."""
    left = kid["sent"] + STORM_BOUND - time.monotonic()
    ended = bool(select.select([kid["pidfd"]], [], [], max(left, 0))[0])
    took = time.monotonic() - kid["sent"] if ended else None
    after_input = None
    if not ended:
        os.write(kid["stdin"], b"more input\n")
        after_input = bool(select.select([kid["pidfd"]], [], [], 1.0)[0])
        if not after_input:
            os.kill(kid["pid"], signal.SIGKILL)
    status = os.waitstatus_to_exitcode(os.waitpid(kid["pid"], 0)[1])
    os.set_blocking(kid["stderr"], False)
    try:
        stderr = os.read(kid["stderr"], 65536)
    except BlockingIOError:
        stderr = b""
    for name in ("stdin", "stdout", "stderr", "pidfd"):
        os.close(kid[name])
    return {"signal": int(kid["signal"]), "after": kid["after"], "status": status, "took": took,
            "after_input": after_input, "stderr": stderr.decode("utf-8", "replace")}


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
    deadline = time.monotonic() + WAIT
    seen_package = False
    while True:
        line = read_line(proc.stderr, max(deadline - time.monotonic(), 0))
        if not line.endswith(b"\n"):
            raise AssertionError(f"stderr ended: {(log + line)[-300:]!r}")
        log += line
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
