"""The progress line and --color, checked on pseudo-terminals (``pty``) against local servers.

linkfilter runs as a subprocess with its stderr, and stdout where a test says so, on a
pseudo-terminal of its own in raw mode (the bytes read are the bytes written) and of a
known width (set with TIOCSWINSZ, which is what the command reads); stdout is otherwise a
pipe, or a file. ``screen`` replays what a terminal would show, so a test can say that the
progress line never mixes with another line and is gone at the end.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
import tty

import pytest

from command import CMD, clean_env
from linkfilter.progress import INTERVAL, fit, wanted
from servers import Reply, hang, page

#: One drawing of the progress line: carriage return, the line, clear to the end of the line.
FRAME = re.compile(r"\r(linkfilter: [^\r\n\x1b]*)\x1b\[K")
#: What the line says.
PROGRESS = re.compile(
    r"linkfilter: (?:(?P<read>[\d.]+ (?:B|KiB|MiB))(?: of (?P<total>[\d.]+ (?:B|KiB|MiB)) "
    r"\((?P<percent>\d+)%\))? read, )?(?P<done>\d+)/(?P<urls>\d+) done"
    r"(?:, (?P<failed>\d+) failed)?(?:, (?P<rate>[\d.]+)/s)?$")
#: Result lines on a terminal stdout, failure lines on a terminal stderr.
CYAN, RED, RESET = "\x1b[36m", "\x1b[31m", "\x1b[0m"


def _terminal(columns: int) -> tuple[int, int]:
    """A pseudo-terminal (master, slave) in raw mode, ``columns`` wide."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return master, slave


class Run:
    """linkfilter with stderr on a terminal (or a pipe), stdout on a pipe, another terminal or
    (``stdout_tty="same"``) the same one; ``pump`` reads as output comes, ``finish`` to the end."""

    def __init__(self, args, *, stdout_tty=False, stdin=subprocess.DEVNULL, env=None,
                 columns=100, stderr_tty=True, stdout_file=None) -> None:
        slaves = []
        self.err_master = self.out_master = None
        if stderr_tty:
            self.err_master, err = _terminal(columns)
            slaves.append(err)
        else:
            err = subprocess.PIPE
        if stdout_tty == "same":
            out = err
        elif stdout_tty:
            self.out_master, out = _terminal(columns)
            slaves.append(out)
        elif stdout_file is not None:  # a path: a regular file, or os.devnull
            out = os.open(stdout_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            slaves.append(out)
        else:
            out = subprocess.PIPE
        self.started = time.monotonic()
        # a terminal that shows colour, whatever the one running the tests
        self.proc = subprocess.Popen(CMD + list(args), stdin=stdin, stdout=out, stderr=err,
                                     env=clean_env({"TERM": "xterm", **(env or {})}))
        for fd in slaves:
            os.close(fd)
        self.out, self.err = bytearray(), bytearray()
        self._open = {self.err_master if stderr_tty else self.proc.stderr.fileno(): self.err}
        if stdout_tty != "same" and stdout_file is None:
            self._open[self.out_master if stdout_tty else self.proc.stdout.fileno()] = self.out
        self.elapsed = 0.0

    def pump(self, until, timeout: float = 20.0) -> None:
        """Read output until ``until()`` is true (AssertionError past ``timeout``)."""
        deadline = time.monotonic() + timeout
        while not until():
            if not self._open:
                raise AssertionError("output ended first")
            ready, _, _ = select.select(list(self._open), [], [],
                                        max(deadline - time.monotonic(), 0))
            if not ready:
                raise AssertionError(f"waited {timeout}s; stderr so far: {bytes(self.err)!r}")
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the terminal's other side is closed
                    chunk = b""
                if chunk:
                    self._open[fd] += chunk
                else:
                    del self._open[fd]

    def finish(self, timeout: float = 20.0) -> int:
        """Read to the end; the exit status."""
        try:
            self.pump(lambda: not self._open, timeout)
            self.proc.wait(timeout)
        finally:
            self.proc.kill()
            self.proc.wait()
            for fd in (self.err_master, self.out_master):
                if fd is not None:
                    os.close(fd)
        self.elapsed = time.monotonic() - self.started
        return self.proc.returncode

    def frames(self) -> list[str]:
        return FRAME.findall(self.err.decode())


def screen(data: bytes) -> list[str]:
    """The lines a terminal shows after ``data``: LF ends a line (as a terminal's output
    processing makes it), CR returns to column 0, ESC [ K clears to the end of the line;
    other escapes stay in the text."""
    rows, row, col = [], [], 0
    text, i = data.decode(), 0
    while i < len(text):
        if text.startswith("\x1b[K", i):
            del row[col:]
            i += 3
            continue
        c = text[i]
        if c == "\r":
            col = 0
        elif c == "\n":
            rows.append("".join(row))
            row, col = [], 0
        else:
            row[col:col + 1] = [c]
            col += 1
        i += 1
    if row:
        rows.append("".join(row))
    return rows


@pytest.fixture
def gated(http_server):
    """A server whose /slow/N pages answer once ``gate`` is set; /gone is a 404."""
    gate = threading.Event()

    def slow(request):
        assert gate.wait(20)
        return page("<title>slow</title>")

    for i in range(3):  # fewer than --per-host: /gone never waits behind them
        http_server.route(f"/slow/{i}", slow)
    http_server.route("/gone", Reply(404, [("Content-Type", "text/plain")], b"gone"))
    http_server.gate = gate
    return http_server


# -- the progress line ---------------------------------------------------------------------------

@pytest.mark.parametrize("width, line", [
    (100, "linkfilter: 1.5 MiB of 3.0 MiB (50%) read, 592/600 done, 3 failed, 48/s"),
    (60, "linkfilter: 1.5 MiB read, 592/600 done, 3 failed, 48/s"),
    (45, "linkfilter: 592/600 done, 3 failed, 48/s"),
    (35, "linkfilter: 592/600 done, 48/s"),
    (25, "linkfilter: 592/600 done"),
    (12, "linkfilter: "),
])
def test_the_line_drops_words_to_fit_keeping_the_done_count_and_the_rate_longest(width, line):
    assert fit("1.5 MiB", "3.0 MiB (50%)", 592, 600, 3, 48.2, width) == line
    assert len(line) <= width


def test_a_slow_rate_keeps_a_decimal():
    assert fit("0 B", None, 1, 9, 0, 0.25, 80) == "linkfilter: 0 B read, 1/9 done, 0 failed, 0.2/s"


@pytest.mark.parametrize("forced, quiet, stdout_file, stderr_tty, shown", [
    (None, False, True, True, True),
    (None, False, False, True, False),  # a pipe or a terminal
    (True, False, False, True, True),
    (False, False, True, True, False),
    (True, True, True, True, False),
    (True, False, True, False, False),
])
def test_wanted(forced, quiet, stdout_file, stderr_tty, shown):
    assert wanted(forced, quiet, stdout_file, stderr_tty) is shown


def test_progress_line_on_a_terminal_stderr_while_stdout_goes_to_a_file(gated, tmp_path):
    log = tmp_path / "big.log"
    log.write_bytes("".join(f"line {i} {gated.url(f'/slow/{i}')}\n" for i in range(3)).encode()
                    + f"and {gated.url('/gone')}\n".encode())
    size = log.stat().st_size
    out = tmp_path / "out.jsonl"
    run = Run(["--allow-private", "--json", str(log)], columns=100, stdout_file=out)
    # Every URL found and the 404 reported while the others wait: the line shows it.
    run.pump(lambda: any("1/4 done, 1 failed" in f for f in run.frames()))
    gated.gate.set()
    assert run.finish() == 0
    frames = run.frames()
    for frame in frames:
        assert len(frame) <= 99
        m = PROGRESS.match(frame)
        assert m, frame
        assert (m["total"], m["percent"]) in ((f"{size} B", "100"), (f"{size} B", "0"))
        assert m["rate"] is not None and m["failed"] is not None
    assert PROGRESS.match(frames[-1])["done"] in ("1", "4")
    # At most 10 drawings a second (the first one at once).
    assert len(frames) <= run.elapsed / INTERVAL + 2
    # Erased before the failure line and at the end: only that line is left on the terminal.
    failure = f"linkfilter: {gated.url('/gone')}: HTTP 404 Not Found"
    assert screen(run.err) == [f"{RED}{failure}{RESET}"]
    # stdout is not a terminal: JSON Lines, no colour, no progress.
    written = out.read_bytes()
    assert len(written.splitlines()) == 4 and b"\x1b" not in written and b"\r" not in written


def test_progress_on_the_terminal_the_results_go_to_is_erased_before_each_of_them(gated):
    run = Run(["--allow-private", "-n", "--progress"], stdin=subprocess.PIPE, stdout_tty="same")
    run.proc.stdin.write(f"{gated.url('/slow/0')} {gated.url('/gone')}\n".encode())
    run.proc.stdin.close()
    run.pump(lambda: any("1/2 done, 1 failed" in f for f in run.frames()))
    gated.gate.set()
    assert run.finish() == 0
    failure = f"linkfilter: {gated.url('/gone')}: HTTP 404 Not Found"
    assert screen(run.err) == [f"{RED}{failure}{RESET}", f"{CYAN}{gated.authority}: slow{RESET}"]


def test_progress_on_a_shared_terminal_never_wipes_a_partial_echoed_line(gated):
    """A partial line echoed on the terminal stderr shares (a prompt, a line being typed)
    stays on the screen: no drawing, hence no erasing, until the line is ended."""
    run = Run(["--allow-private", "--progress", "--color", "never"], stdin=subprocess.PIPE,
              stdout_tty="same")
    first = f"x {gated.url('/slow/0')}\n"
    run.proc.stdin.write(first.encode())
    run.proc.stdin.flush()
    run.pump(lambda: len(run.frames()) >= 3)  # drawn while the screen is at a line start
    # the time between drawings, measured here: the baseline for "no drawing since"
    times = []
    for _ in range(3):
        seen = len(run.frames())
        started = time.monotonic()
        run.pump(lambda: len(run.frames()) > seen)
        times.append(time.monotonic() - started)
    run.proc.stdin.write(b"half a line")
    run.proc.stdin.flush()
    run.pump(lambda: run.err.endswith(b"half a line"))
    mark = len(run.err)
    until = time.monotonic() + 3 * max(times)
    with pytest.raises(AssertionError, match="waited"):  # three drawings' time: nothing
        run.pump(lambda: False, timeout=max(until - time.monotonic(), 0))
    assert bytes(run.err[mark:]) == b""
    gated.gate.set()  # the result waits for the end of the line, and so does the progress
    run.proc.stdin.write(b" ended\n")
    run.proc.stdin.close()
    assert run.finish() == 0
    assert screen(run.err) == [first.rstrip("\n"), "half a line ended",
                               f"{gated.authority}: slow"]


@pytest.mark.parametrize("columns", [40, 0])  # 0: a terminal that does not say (80 assumed)
def test_progress_reads_stdin_of_unknown_size_and_fits_the_terminal(gated, columns):
    run = Run(["--allow-private", "-n", "--progress"], stdin=subprocess.PIPE, columns=columns)
    run.proc.stdin.write(f"x {gated.url('/slow/0')}\n".encode())
    run.proc.stdin.close()
    run.pump(lambda: run.frames())
    gated.gate.set()
    assert run.finish() == 0
    for frame in run.frames():
        m = PROGRESS.match(frame)
        assert m and m["rate"] is not None, frame  # words dropped, not the end cut
        assert len(frame) <= (columns or 80) - 1  # no wrap at the last column
        assert " of " not in frame
    assert screen(run.err) == []
    assert run.out == f"{gated.authority}: slow\n".encode()


def test_at_60_columns_the_done_count_and_the_rate_stay(gated, tmp_path):
    """A file's size and the bytes read make the full line wider than 60 columns: the
    words that go are those, never the counts at the end."""
    log = tmp_path / "big.log"
    log.write_bytes(b"x" * 3_000_000 + f"\n{gated.url('/slow/0')} {gated.url('/gone')}\n".encode())
    run = Run(["--allow-private", "--progress", "-n", str(log)], columns=60)
    run.pump(lambda: any("1/2 done, 1 failed" in f for f in run.frames()))
    gated.gate.set()
    assert run.finish() == 0
    for frame in run.frames():
        m = PROGRESS.match(frame)
        assert m and len(frame) <= 59, frame
        assert m["rate"] is not None and m["failed"] is not None, frame
        assert m["total"] is None, frame  # the least needed word went first


#: (args, stdout: a terminal, a pipe or a file?, stderr: a terminal?, environment, shown?)
WHEN_SHOWN = [
    ([], "file", True, {}, True),  # the default: stderr a terminal, stdout a file
    ([], os.devnull, True, {}, True),
    ([], False, True, {}, False),  # a pipe: another program may print on the terminal
    ([], True, True, {}, False),  # both terminals: the results are the progress
    (["--progress"], True, True, {}, True),
    (["--progress"], False, True, {}, True),
    ([], False, True, {"LINKFILTER_PROGRESS": "1"}, True),
    (["--no-progress"], "file", True, {}, False),
    ([], "file", True, {"LINKFILTER_PROGRESS": "off"}, False),
    (["-q"], "file", True, {}, False),
    (["-q", "--progress"], False, True, {}, False),
    (["--progress"], False, False, {}, False),  # never in a pipe
]


def test_when_the_progress_line_is_shown(raw_server, tmp_path):
    # Each run lasts its --timeout at least: time for several drawings when the line is on.
    # The runs are independent: they go at once.
    stuck = raw_server(hang())
    runs = []
    for n, (args, stdout, stderr_tty, env, _) in enumerate(WHEN_SHOWN):
        file = str(tmp_path / f"out{n}") if stdout == "file" else \
            stdout if isinstance(stdout, str) else None
        run = Run(["--allow-private", "-n", "-t", "0.3", "--color", "never", *args],
                  stdin=subprocess.PIPE, stdout_tty=stdout is True, stderr_tty=stderr_tty,
                  env=env, stdout_file=file)
        run.proc.stdin.write(f"x {stuck.url('/')}\n".encode())
        run.proc.stdin.close()
        runs.append(run)
    for run, (args, stdout, _, env, shown) in zip(runs, WHEN_SHOWN):
        assert run.finish() == 0
        assert bool(run.frames()) == shown, (args, stdout, env)
        assert (b" done" in run.err) == shown, (args, stdout, env)
        rows = screen(run.err)
        if "-q" in args:
            assert rows == []
        else:
            assert len(rows) == 1 and rows[0].startswith(f"linkfilter: {stuck.url('/')}: timed out")
        assert b"\x1b" not in run.out and b"\r" not in run.out


def test_a_signal_erases_the_progress_line(gated):
    run = Run(["--allow-private", "-n", "--stats", "--progress"], stdin=subprocess.PIPE)
    run.proc.stdin.write(f"x {gated.url('/slow/0')}\n".encode())
    run.proc.stdin.flush()
    run.pump(lambda: "0/1 done" in "".join(run.frames()))
    run.proc.send_signal(signal.SIGINT)
    assert run.finish() == 130
    (stats,) = screen(run.err)
    assert re.fullmatch(r"linkfilter: 1 line, 1 URL, [01] fetched, 0 cached, 0 failed, [\d.]+s",
                        stats)
    run.proc.stdin.close()
    gated.gate.set()


# -- colour ---------------------------------------------------------------------------------------

@pytest.fixture
def hostile(http_server):
    """/t has a title full of escapes (raw and as character references); /gone is a 404."""
    http_server.route("/t", page("<title>\x1b[31mred\x1b]0;pwned\x07 &#27;[2J \x9b1m"
                                 "\u202eend</title>"))
    http_server.route("/gone", Reply(404, [("Content-Type", "text/plain")], b"gone"))
    return http_server


def test_colour_on_terminals_sets_results_apart_and_never_lets_a_title_in(hostile):
    data = f"look {hostile.url('/t')}\nand {hostile.url('/gone')}\n".encode()
    run = Run(["--allow-private", "--ordered"], stdin=subprocess.PIPE, stdout_tty=True)
    run.proc.stdin.write(data)
    run.proc.stdin.close()
    assert run.finish() == 0
    title = f"{hostile.authority}: [31mred]0;pwned [2J 1mend"
    assert screen(run.out) == [f"look {hostile.url('/t')}", f"{CYAN}{title}{RESET}",
                               f"and {hostile.url('/gone')}"]
    assert run.out.count(b"\x1b") == 2  # ours, around the result; none from the page
    failure = f"linkfilter: {hostile.url('/gone')}: HTTP 404 Not Found"
    assert screen(run.err) == [f"{RED}{failure}{RESET}"]  # and no progress: stdout is a terminal
    assert run.err.count(b"\x1b") == 2


#: (args, environment, stdout and stderr terminals?, coloured?)
WHEN_COLOURED = [
    ([], {}, False, False),  # a pipe: never, by default
    (["--color", "always"], {}, False, True),
    ([], {"LINKFILTER_COLOR": "always"}, False, True),
    (["--color", "never"], {}, True, False),
    ([], {"NO_COLOR": "1"}, True, False),
    ([], {"NO_COLOR": ""}, True, True),  # set but empty: not set
    (["--color", "always"], {"NO_COLOR": "1"}, False, True),  # asked for on the command line
    (["--dry-run"], {}, True, True),
    ([], {"TERM": "dumb"}, True, False),  # a terminal that shows escapes as text
    ([], {"TERM": None}, True, False),  # no TERM: nothing says the terminal has colour
    ([], {"TERM": ""}, True, False),
    (["--color", "always"], {"TERM": "dumb"}, True, True),
    ([], {"TERM": "xterm-256color"}, True, True),
]


def test_colour_reaches_a_pipe_only_when_asked_for_always(hostile):
    data = f"look {hostile.url('/t')} {hostile.url('/gone')}\n".encode()
    runs = []
    for args, env, terminals, _ in WHEN_COLOURED:
        run = Run(["--allow-private", "-n", "--no-progress", *args], stdin=subprocess.PIPE,
                  stdout_tty=terminals, stderr_tty=terminals, env=env)
        run.proc.stdin.write(data)
        run.proc.stdin.close()
        runs.append(run)
    for run, (args, env, _, coloured) in zip(runs, WHEN_COLOURED):
        assert run.finish() == 0
        results = screen(run.out)
        assert results and all(line.startswith(CYAN) == coloured for line in results), (args, env)
        assert run.out.count(b"\x1b") == (2 * len(results) if coloured else 0)
        if "--dry-run" not in args:
            assert (RED.encode() in run.err) == coloured
            assert len(screen(run.err)) == 1


def test_json_lines_are_never_coloured(hostile):
    run = Run(["--allow-private", "--json", "--color", "always", "--no-progress"],
              stdin=subprocess.PIPE, stdout_tty=True)
    run.proc.stdin.write(f"{hostile.url('/t')} {hostile.url('/gone')}\n".encode())
    run.proc.stdin.close()
    assert run.finish() == 0
    assert b"\x1b" not in run.out and len(run.out.splitlines()) == 2
    assert run.err.startswith(RED.encode())
