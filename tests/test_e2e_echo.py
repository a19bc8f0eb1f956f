"""Echo: input reaches stdout at once, byte for byte, and never waits for fetching.

Input files in order, a partial line on stdout at once, reading that pauses only past
``--max-pending``, every worker stuck and lines still echoed at once. Each run is the
real command in a subprocess (``command.py``) against local servers (``servers.py``).
"""

from __future__ import annotations

import json
import signal
import statistics
import threading

import pytest

from linkfilter.writer import ExitStatus

from command import HELD, Live, WAIT, read_line, run, start
from servers import Gate, RawServer, Stuck, page


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"plain\n",
        b"no newline at the end",
        b"crlf\r\nlines\r\n",
        b"nul\x00byte\n\x00\n",
        b"bad utf-8 \xff\xfe\xc3\x28 here\nand \xe9t\xe9 latin-1\n",
        b"\n\n\n",
        bytes(range(256)) * 3,
    ],
)
def test_echo_is_byte_for_byte(data):
    p = run([], data)
    assert p.returncode == 0
    assert p.stdout == data
    assert p.stderr == b""


def test_big_input_is_echoed_exactly():
    data = b"".join(b"line %d with a dot. and a / slash\n" % i for i in range(200_000))
    p = run([], data)
    assert p.stdout == data


def test_files_are_read_in_order_and_line_numbers_run_on(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"1\nhttp://a.example\n")
    b.write_bytes(b"3\nhttp://b.example\n")
    echoed = run(["--dry-run", "-f", "{line} {url}", str(a), "-", str(b)], b"stdin http://s.example\n")
    assert echoed.stdout == (b"1\nhttp://a.example\n2 http://a.example\nstdin http://s.example\n"
                             b"3 http://s.example\n3\nhttp://b.example\n5 http://b.example\n")
    p = run(["--dry-run", "--json", str(a), "-", str(b)], b"stdin http://s.example\n")
    records = [json.loads(x) for x in p.stdout.splitlines()]  # JSON Lines only: no echo
    assert [(r["url"], r["line"]) for r in records] == [
        ("http://a.example", 2),
        ("http://s.example", 3),
        ("http://b.example", 5),
    ]


def test_unreadable_file_is_named_others_still_read_exit_1(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes(b"good\n")
    missing = tmp_path / "missing.txt"
    p = run([str(missing), str(good), str(tmp_path)], b"")
    assert p.stdout == b"good\n"
    lines = p.stderr.decode().splitlines()
    assert lines[0] == f"linkfilter: {missing}: No such file or directory"
    assert lines[1] == f"linkfilter: {tmp_path}: Is a directory"
    assert p.returncode == ExitStatus.ERROR


#: Runs whose echo is checked line by line, input left open: the arguments, and whether
#: the page answers only once the input has ended.
ECHO_MODES = {
    "dry-run": (["--dry-run"], False),
    "fetch": (["--allow-private"], False),
    "hanging fetch": (["--allow-private", "-t", "20"], True),
}


@pytest.mark.parametrize("mode", list(ECHO_MODES))
def test_each_line_is_echoed_at_once_while_input_stays_open(http_server, mode):
    """A line is on stdout as soon as it is read, with the input still open, and its
    result follows as soon as it is known (a dry run's URL at once, a page's title when
    it comes); a fetch that hangs holds back neither the next line's echo nor the end of
    input: at EOF the run waits for it, then ends with 0."""
    args, hangs = ECHO_MODES[mode]
    release = threading.Event()

    def answer(request):
        if hangs:
            release.wait(20)
        return page("<html><head><title>Home  page</title></head></html>")

    http_server.route("/", answer)
    url = http_server.url("/")
    result = f"{url}\n" if mode == "dry-run" else f"{http_server.authority}: Home page\n"
    proc = start(args)
    try:
        proc.stdin.write(f"hello {url}\n".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout) == f"hello {url}\n".encode()
        if not hangs:
            assert read_line(proc.stdout) == result.encode()
        proc.stdin.write(b"typed while the input stays open\n")
        proc.stdin.flush()
        assert read_line(proc.stdout) == b"typed while the input stays open\n"
        proc.stdin.close()  # EOF, a fetch perhaps still running: it must be drained
        release.set()
        if hangs:
            assert read_line(proc.stdout) == result.encode()
        assert proc.wait(10) == 0
    finally:
        release.set()
        proc.kill()


def test_every_worker_stuck_and_1000_url_lines_each_still_echoed_at_once():
    """8 workers stuck and more link lines keep coming: every line is still echoed at once
    (echo once stopped at the 33rd)."""
    a, b = Stuck(), Stuck()
    with RawServer(a) as site_a, RawServer(b) as site_b, \
            Live(["--allow-private", "-t", "60", "-q", "--stats"]) as lf:
        busy = [site.url(f"/busy{i}") for i in range(4) for site in (site_a, site_b)]
        lf.echo("".join(f"{url}\n" for url in busy))
        assert a.wait_for(4) and b.wait_for(4)  # default -w 8, --per-host 4: every worker stuck
        plain = [lf.echo(f"plain line {i}\n") for i in range(100)]
        links = [lf.echo(f"link {(site_a, site_b)[i % 2].url(f'/{i}')}\n") for i in range(1000)]
        plain += [lf.echo(f"plain line {i}\n") for i in range(100)]
        assert (a.count, b.count) == (4, 4)  # nothing more was fetched: 1000 URLs are pending
        assert lf.stop(signal.SIGTERM) < 1.0
        stats = lf.proc.stderr.read().decode()
    assert lf.proc.returncode == 143
    # the run is cut short, yet the stats line is printed on the way out, as dd does
    assert stats.startswith("linkfilter: 1208 lines, 1008 URLs, 8 fetched, 0 cached, 0 failed, ")
    assert stats.count("\n") == 1
    # a link line costs its scan and a place on the list, never a wait: its echo comes
    # within the same order of magnitude as a line without a link
    assert statistics.median(links) < 10 * statistics.median(plain)


def test_partial_lines_are_echoed_at_once_and_results_wait_for_a_line_end(http_server):
    gate = Gate("Held back")
    http_server.route("/gated", gate)
    http_server.route("/quick", page("<title>Quick</title>"))
    gated, quick = http_server.url("/gated"), http_server.url("/quick")
    with Live(["--allow-private", "-t", "30"]) as lf:
        for piece in (b"prompt> ", f"{gated}".encode(), b"\n", b"\rdownloading 10%", b"\rdownloading 50%"):
            lf.echo(piece)  # each piece on stdout at once, newline or not
        gate.open()
        assert gate.wait_for(lambda g: g.answered == 1)
        # the title is in, but the output stands in the middle of a line: it waits
        assert lf.out.silent_for(HELD) == b""
        lf.send(b"\rdownloading 100%\n")
        assert lf.out.line() == b"\rdownloading 100%\n"
        assert lf.out.line() == f"{http_server.authority}: Held back\n".encode()
        # the last line has no newline: its result waits for the end of input
        lf.echo(f"last words {quick}")
        assert lf.out.silent_for(HELD) == b""
        lf.proc.stdin.close()
        assert lf.out.line() == b"\n"  # the one byte linkfilter adds
        assert lf.out.line() == f"{http_server.authority}: Quick\n".encode()
        assert lf.proc.wait(WAIT) == 0


def test_reading_pauses_only_past_max_pending_from_the_environment(http_server):
    gate = Gate()
    http_server.route("/q", gate)
    urls = [http_server.url(f"/q?n={i}") for i in range(6)]
    with Live(["--allow-private", "-w", "1", "-t", "30", "-q", "--stats"],
              env={"LINKFILTER_MAX_PENDING": "3"}) as lf:
        lf.echo(f"{urls[0]}\n")
        assert gate.wait_for(lambda g: g.in_flight == 1)  # the one worker is stuck
        for url in urls[1:4]:
            lf.echo(f"{url}\n")
        lf.echo("three URLs wait: reading goes on\n")
        lf.echo(f"{urls[4]}\n")  # echoed, then its URL is the fourth: reading pauses
        lf.send("sentinel\n")
        assert lf.out.silent_for(HELD) == b""
        # a signal reaches the reader while it waits for room, with the stats so far
        assert lf.stop(signal.SIGINT) < 1.0
        stats = lf.proc.stderr.read().decode()
        gate.open()
    assert lf.proc.returncode == 130
    assert ", 5 URLs, 1 fetched, 0 cached, 0 failed, " in stats


def test_a_full_queue_pauses_reading_and_drops_nothing(http_server):
    release = threading.Event()

    def held(request):
        release.wait(20)
        return page(f"<title>{request.target}</title>")

    http_server.route("/held", held)
    proc = start(["--allow-private", "-w", "1", "-t", "30", "--max-pending", "4"])
    try:
        lines = [f"{http_server.url('/held')}?n={i}\n".encode() for i in range(20)]
        proc.stdin.write(b"".join(lines))
        proc.stdin.flush()
        echoed = [read_line(proc.stdout) for _ in range(20)]
        assert echoed == lines
        # one worker, four pending: the reader is stuck on a later URL, so a line
        # sent now is not read (nor echoed) until the queue moves
        proc.stdin.write(b"sentinel\n")
        proc.stdin.flush()
        with pytest.raises(AssertionError, match="no line"):
            read_line(proc.stdout, 0.5)
        release.set()
        rest = [read_line(proc.stdout, 10) for _ in range(21)]
        proc.stdin.close()
        assert proc.wait(10) == 0
    finally:
        release.set()
        proc.kill()
    assert b"sentinel\n" in rest
    results = sorted(x for x in rest if x != b"sentinel\n")
    assert results == sorted(f"{http_server.authority}: /held?n={i}\n".encode() for i in range(20))
