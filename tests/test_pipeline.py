"""The live pipe (pipeline.py) through the real command against real local servers.

Echo never waits for fetching (pending list, ``--max-pending``, partial lines),
hosts are polite (``--per-host``) and dead ones fail at once, 429/503 with
Retry-After, a failing URL reported once per failure TTL, ``--workers`` bounds
and threads that cannot start, signals with ``--stats``; a signal is never lost
while the reader waits on a silent stdin (see ``signal_storm``).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback

import pytest
from command import CMD, clean_env, records, run, start
from servers import HTTPServer, RawServer, Reply, page, parse_head, recv_head

#: How long a test waits for an expected line before it fails.
WAIT = 10.0
#: How long a result that must be held back is watched for.
HELD = 0.5
#: Signals and the exit status each must give.
SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}


# -- helpers ------------------------------------------------------------------------------

class Output:
    """A child's stdout or stderr, read as it comes: lines, exact byte counts, or silence."""

    def __init__(self, stream) -> None:
        self.fd = stream.fileno()
        self.buf = b""

    def _fill(self, deadline: float) -> bool:
        if not select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))[0]:
            return False
        chunk = os.read(self.fd, 65536)
        if not chunk:
            raise AssertionError(f"output ended (got {self.buf!r})")
        self.buf += chunk
        return True

    def take(self, count: int, timeout: float = WAIT) -> bytes:
        """Exactly ``count`` bytes, newline or not."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < count:
            if not self._fill(deadline):
                raise AssertionError(f"no {count} bytes within {timeout}s (got {self.buf!r})")
        got, self.buf = self.buf[:count], self.buf[count:]
        return got

    def line(self, timeout: float = WAIT) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if not self._fill(deadline):
                raise AssertionError(f"no line within {timeout}s (got {self.buf!r})")
        cut = self.buf.index(b"\n") + 1
        got, self.buf = self.buf[:cut], self.buf[cut:]
        return got

    def record(self, timeout: float = WAIT) -> dict:
        return json.loads(self.line(timeout))

    def silent_for(self, seconds: float) -> bytes:
        """What arrives within ``seconds`` (the caller expects nothing)."""
        deadline = time.monotonic() + seconds
        while self._fill(deadline):
            pass
        got, self.buf = self.buf, b""
        return got


class Live:
    """A running linkfilter with its three pipes; killed at the end of the ``with``."""

    def __init__(self, args, env: dict | None = None) -> None:
        self.proc = start(args, env)
        self.out = Output(self.proc.stdout)
        self.err = Output(self.proc.stderr)

    def send(self, data: bytes | str) -> None:
        os.write(self.proc.stdin.fileno(), data.encode() if isinstance(data, str) else data)

    def echo(self, data: bytes | str, timeout: float = WAIT) -> float:
        """Send a line and wait for its echo; returns the round trip in seconds."""
        data = data.encode() if isinstance(data, str) else data
        sent = time.perf_counter()
        self.send(data)
        assert self.out.take(len(data), timeout) == data
        return time.perf_counter() - sent

    def stop(self, sig: int) -> float:
        """Send ``sig``; returns how long the process took to end (AssertionError past WAIT)."""
        sent = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(WAIT)
        return time.monotonic() - sent

    def __enter__(self) -> Live:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


class Stuck:
    """A RawServer script: read the request, count it, then say nothing until the end."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self, conn) -> None:
        if conn.read_request() is None:
            return
        with self._changed:
            self.count += 1
            self._changed.notify_all()
        conn.hold()

    def wait_for(self, count: int, timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count >= count, timeout)


class Gate:
    """An HTTPServer handler that holds every request until ``open()``; counts the
    requests in flight at once and the most there ever were."""

    def __init__(self, title: str = "Gated") -> None:
        self.title = title
        self.opened = threading.Event()
        self.in_flight = self.most = self.answered = 0
        self._changed = threading.Condition()

    def __call__(self, request) -> Reply:
        with self._changed:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self._changed.notify_all()
        self.opened.wait(30)
        with self._changed:
            self.in_flight -= 1
            self.answered += 1
            self._changed.notify_all()
        return page(f"<title>{self.title}</title>")

    def open(self) -> None:
        self.opened.set()

    def wait_for(self, condition, timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)


def refused_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill_backlog(port: int) -> list[socket.socket]:
    """Connect to a listener that never accepts until its backlog is full (a connection
    that cannot complete in a moment); returns the sockets, for the caller to close."""
    held = []
    for _ in range(8):
        sock = socket.socket()
        held.append(sock)
        sock.settimeout(0.2)
        try:
            sock.connect(("127.0.0.1", port))
        except TimeoutError:
            return held
    raise AssertionError("the listener's backlog never filled up")


# -- echo never waits for fetching ------------------------------------------------------------

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


# -- hosts: polite, and dead ones fail fast ---------------------------------------------------

def threads(proc) -> int:
    """How many threads the process runs (main and writer included)."""
    return len(os.listdir(f"/proc/{proc.pid}/task"))


@pytest.mark.parametrize("per_host", [None, 2])
def test_per_host_cap_leaves_the_other_workers_to_other_sites(per_host):
    gate = Gate("Slow site")
    with HTTPServer() as slow_site, HTTPServer() as fast_site:
        slow_site.route("/p", gate)
        fast_site.route("/p", page("<title>Fast site</title>"))
        cap = per_host or 4  # the documented default
        args = ["--allow-private", "-n", "-t", "30"] + (["--per-host", str(per_host)] if per_host else [])
        with Live(args) as lf:  # -w 8
            lf.send("".join(f"{slow_site.url('/p')}?n={i}\n" for i in range(100)))
            assert gate.wait_for(lambda g: g.in_flight == cap)
            lf.send("".join(f"{fast_site.url('/p')}?n={i}\n" for i in range(20)))
            fast = [lf.out.line() for _ in range(20)]  # while the slow site holds its workers
            assert gate.in_flight == cap and gate.answered == 0
            # 100 links to one site took `cap` workers; the other site's at most as many more
            assert threads(lf.proc) <= 2 + 2 * cap
            gate.open()
            slow = [lf.out.line() for _ in range(100)]
            lf.proc.stdin.close()
            assert lf.proc.wait(WAIT) == 0
        assert set(fast) == {f"{fast_site.authority}: Fast site\n".encode()}
        assert set(slow) == {f"{slow_site.authority}: Slow site\n".encode()}
        assert gate.most == cap
        assert len(slow_site.requests) == 100
        # keep-alive stays per worker: a worker reuses its own connection
        assert slow_site.connections <= 8


def test_idle_workers_each_take_one_of_a_burst_of_links_to_one_site(http_server):
    """Workers waiting for jobs are all woken by a burst (they used to take it one by one)."""
    warm, burst = Gate("Warm"), Gate("Burst")
    http_server.route("/warm", warm)
    http_server.route("/burst", burst)
    with Live(["--allow-private", "-n", "-t", "30"]) as lf:
        lf.send("".join(f"{http_server.url('/warm')}?n={i}\n" for i in range(3)))
        assert warm.wait_for(lambda g: g.in_flight == 3)  # three workers started
        warm.open()
        assert [lf.out.line() for _ in range(3)] == [f"{http_server.authority}: Warm\n".encode()] * 3
        lf.send("".join(f"{http_server.url('/burst')}?n={i}\n" for i in range(3)))  # to idle workers
        assert burst.wait_for(lambda g: g.in_flight == 3), f"{burst.in_flight} of 3 links fetched at once"
        assert threads(lf.proc) == 5  # main, writer and the same three workers
        burst.open()
        assert [lf.out.line() for _ in range(3)] == [f"{http_server.authority}: Burst\n".encode()] * 3


def no_tls_on(failing, context, answer=None):
    """A RawServer script for ``https://`` URLs: a connection whose number ``failing(n)``
    accepts gets a plain HTTP answer to its ClientHello, so TLS fails before any request
    (the host cannot be reached); the others get TLS and ``answer(path, tls_socket)``."""

    def script(conn) -> None:
        if failing(conn.number):
            conn.sock.recv(4096)
            conn.send(b"HTTP/1.1 400 No TLS here\r\nConnection: close\r\n\r\n")
            return
        with context.wrap_socket(conn.sock, server_side=True) as tls:
            head = recv_head(tls)
            if head is not None:
                answer(parse_head(head).path, tls)

    return script


def titled(path: str, tls) -> None:
    """Answer with a page titled after its path, and close."""
    body = f"<title>{path.strip('/')}</title>".encode()
    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def test_a_dead_host_fails_at_once_until_a_success_on_it_forgets_it(server_ssl_context, ca_cert_file):
    held = threading.Event()
    seen = threading.Event()

    def answer(path, tls) -> None:
        if path == "/held":
            seen.set()
            held.wait(30)
        titled("/Up", tls)

    script = no_tls_on(lambda n: n == 2, server_ssl_context, answer)
    env = {"SSL_CERT_FILE": str(ca_cert_file)}
    with RawServer(script) as server, \
            Live(["--allow-private", "--json", "-w", "2", "-t", "30"], env) as lf:
        base = f"https://{server.authority}"
        lf.send(f"{base}/held\n")
        assert seen.wait(WAIT)
        lf.send(f"{base}/no-tls\n")  # connection 2: no TLS handshake, no request sent
        failed = lf.out.record()
        assert (failed["error"], failed["cached"]) == ("tls", False)
        assert server.connections == 2
        lf.send(f"{base}/a\n{base}/b\n")
        at_once = [lf.out.record(), lf.out.record()]
        for record in at_once:  # same error, no new connection, no time spent
            assert (record["error"], record["reason"], record["cached"]) == \
                ("tls", failed["reason"], True)
            assert record["elapsed"] == 0
        assert server.connections == 2
        held.set()
        assert lf.out.record()["title"] == "Up"  # a success on the host: it is up again
        lf.send(f"{base}/c\n")
        again = lf.out.record()
        assert (again["title"], again["cached"]) == ("Up", False)
        assert server.connections == 3


def test_a_host_that_answered_lately_is_down_only_after_two_failures_in_a_row(
    server_ssl_context, ca_cert_file
):
    """Connections 2, 4 and 5 fail their TLS handshake; one failure after an answer is
    forgiven, the second in a row marks the host down."""
    script = no_tls_on(lambda n: n in (2, 4, 5), server_ssl_context, titled)
    env = {"SSL_CERT_FILE": str(ca_cert_file)}
    with RawServer(script) as server, \
            Live(["--allow-private", "--json", "-w", "1", "-t", "30"], env) as lf:
        base = f"https://{server.authority}"
        got = {}
        for name in "abcdef":
            lf.send(f"{base}/{name}\n")
            got[name] = lf.out.record()
        assert got["a"]["title"] == "a"
        assert (got["b"]["error"], got["b"]["cached"]) == ("tls", False)
        assert (got["c"]["title"], got["c"]["cached"]) == ("c", False)  # b was forgiven
        assert (got["d"]["error"], got["e"]["error"]) == ("tls", "tls")
        assert not got["d"]["cached"] and not got["e"]["cached"]
        assert (got["f"]["error"], got["f"]["reason"], got["f"]["cached"]) == \
            ("tls", got["e"]["reason"], True)  # d and e in a row: the host is down
        assert server.connections == 5


#: Paths of one server that fail only themselves, after the request was sent.
FAILING_PATHS = {
    "/reset0": "connect", "/reset1": "connect", "/reset2": "connect",
    "/close": "connect", "/malformed": "bad-response", "/error": "http-500",
}


def by_path(conn) -> None:
    """Reset, close, garble or fail the FAILING_PATHS; a page titled after any other path."""
    request = conn.read_request()
    if request is None:
        return
    path = request.path
    if path.startswith("/reset"):
        conn.reset()
    elif path == "/close":
        return
    elif path == "/malformed":
        conn.send(b"SPDY/9 banana\r\n\r\n")
    elif path == "/error":
        conn.send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
    else:
        body = f"<title>{path[1:]}</title>".encode()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                  b"\r\n%s" % (len(body), body))


@pytest.mark.parametrize("workers", ["1", "8"])
@pytest.mark.parametrize("order", ["failing first", "good first", "interleaved"])
def test_resets_on_some_paths_leave_the_good_pages_of_the_host_titled(order, workers):
    good = [f"/ok{i}" for i in range(5)]
    bad = list(FAILING_PATHS)
    paths = {"failing first": bad + good, "good first": good + bad,
             "interleaved": [p for pair in itertools.zip_longest(bad, good) for p in pair if p]}[order]
    with RawServer(by_path) as server:
        data = "".join(f"{server.url(p)}\n" for p in paths).encode()
        p = run(["--allow-private", "--json", "-w", workers, "-t", "20"], data)
        asked = sorted(r.path for r in server.requests)
    got = {r["url"].rsplit("/", 1)[1]: r for r in records(p.stdout)}
    assert sorted(got) == sorted(path[1:] for path in paths)
    for path in good:
        assert (got[path[1:]]["title"], got[path[1:]]["error"]) == (path[1:], None)
    for path, error in FAILING_PATHS.items():
        assert got[path[1:]]["error"] == error
    assert got["reset0"]["reason"] == "connection to 127.0.0.1 was reset"
    assert not any(r["cached"] for r in got.values())
    assert asked == sorted(paths)  # every URL was asked for


@pytest.mark.parametrize("workers", ["1", "8"])
def test_a_refused_port_fails_its_later_urls_at_once_without_a_connection(workers):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        address = sock.getsockname()
        base = f"http://127.0.0.1:{address[1]}"
        with Live(["--allow-private", "--json", "-w", workers, "-t", "30"]) as lf:
            lf.send(f"{base}/first\n")
            first = lf.out.record()
            assert (first["error"], first["cached"]) == ("connect", False)
            assert "refused" in first["reason"]
            sock.listen()  # from now on a connection attempt would wait here to be accepted
            lf.send("".join(f"{base}/{i}\n" for i in range(5)))
            later = [lf.out.record() for _ in range(5)]
        for record in later:
            assert (record["error"], record["reason"], record["cached"], record["elapsed"]) == \
                ("connect", first["reason"], True, 0)
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            sock.accept()  # no connection attempt came
        with socket.create_connection(address, timeout=WAIT):
            sock.setblocking(True)
            sock.settimeout(WAIT)
            sock.accept()[0].close()  # one would have been seen


@pytest.mark.parametrize("how", ["refused", "tls", "connect timeout"])
def test_a_host_that_cannot_be_reached_fails_its_other_urls_at_once(how, request, http_server):
    http_server.route("/", page("<title>Other port</title>"))
    closing: list[socket.socket] = []
    if how == "refused":
        base, error = f"http://127.0.0.1:{refused_port()}", "connect"
    elif how == "tls":
        tls_server = request.getfixturevalue("https_server")  # its CA is not trusted here
        base, error = f"https://{tls_server.authority}", "tls"
    else:  # a listener whose backlog is full: the kernel drops the SYNs, connect times out
        listener = socket.create_server(("127.0.0.1", 0), backlog=0)
        closing = [listener] + fill_backlog(listener.getsockname()[1])
        base, error = f"http://127.0.0.1:{listener.getsockname()[1]}", "timeout"
    try:
        data = "".join(f"{base}/{i}\n" for i in range(5)) + f"{http_server.url('/')}\n"
        p = run(["--allow-private", "--json", "-w", "1", "-t", "0.5", "--stats"], data.encode())
    finally:
        for sock in closing:
            sock.close()
    got = sorted(records(p.stdout), key=lambda r: r["line"])
    first, rest, other = got[0], got[1:5], got[5]
    assert (first["error"], first["cached"]) == (error, False)
    assert all((r["error"], r["reason"], r["cached"]) == (error, first["reason"], True) for r in rest)
    assert (other["title"], other["cached"]) == ("Other port", False)  # same host, another port
    assert ", 6 URLs, 2 fetched, 4 cached, 5 failed, " in p.stderr.decode()
    if how == "tls":
        assert tls_server.connections == 1  # no new connection for the others


def test_host_failure_and_its_report_last_the_failure_ttl(server_ssl_context, ca_cert_file):
    """--cache-ttl 1: a dead host, and a failing URL's stderr line, are forgotten after 1 s."""
    env = {"SSL_CERT_FILE": str(ca_cert_file)}
    with RawServer(no_tls_on(lambda n: True, server_ssl_context)) as server, \
            Live(["--allow-private", "--json", "-w", "1", "--cache-ttl", "1"], env) as lf:
        a, b = f"https://{server.authority}/a", f"https://{server.authority}/b"
        sent = time.monotonic()
        lf.send(f"{a}\n")
        assert lf.out.record()["cached"] is False
        assert lf.err.line().decode().startswith(f"linkfilter: {a}: ")
        lf.send(f"{a}\n{b}\n")
        assert [r["cached"] for r in (lf.out.record(), lf.out.record())] == [True, True]
        # /a is not reported again; /b is another URL
        assert lf.err.line().decode().startswith(f"linkfilter: {b}: ")
        assert server.connections == 1
        pause = threading.Event()
        while True:  # ask again until the failure is forgotten
            lf.send(f"{a}\n")
            if not lf.out.record()["cached"]:
                break
            assert time.monotonic() - sent < WAIT, "the host failure was never forgotten"
            pause.wait(0.05)
        assert time.monotonic() - sent >= 1.0
        assert server.connections == 2
        assert lf.err.line().decode().startswith(f"linkfilter: {a}: ")  # reported again
        assert lf.err.silent_for(0.1) == b""


# -- 429 and 503 with Retry-After ------------------------------------------------------------

def busy_then_ok(status: int, retry_after: str | None, times: list[float], busy_for: int = 1):
    """A handler: ``status`` with that Retry-After for the first ``busy_for`` requests, then a page."""

    def handler(request) -> Reply:
        times.append(time.monotonic())
        if len(times) <= busy_for:
            headers = [("Content-Type", "text/plain")]
            if retry_after is not None:
                headers.append(("Retry-After", retry_after))
            return Reply(status, headers, b"busy, come back later\n")
        return page("<title>Second try</title>")

    return handler


def test_retry_after_that_fits_the_deadline_is_waited_for_once(http_server):
    times = {429: [], 503: []}
    for status in times:
        http_server.route(f"/{status}", busy_then_ok(status, "1", times[status]))
    data = f"{http_server.url('/429')}\n{http_server.url('/503')}\n".encode()
    got = records(run(["--allow-private", "--json", "-w", "2", "-t", "10"], data).stdout)
    assert [(r["title"], r["error"]) for r in got] == [("Second try", None)] * 2
    for status, (first, second) in times.items():
        assert second - first >= 0.95  # the server asked for a second
    assert all(r["elapsed"] >= 0.95 for r in got)


def test_retry_after_that_does_not_fit_is_an_error_naming_it(http_server):
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3600))
    times = {"late": [], "date": [], "twice": []}
    http_server.route("/late", busy_then_ok(429, "120", times["late"]))
    http_server.route("/date", busy_then_ok(503, date, times["date"]))
    http_server.route("/twice", busy_then_ok(429, "0", times["twice"], busy_for=2))
    data = "".join(f"{http_server.url(path)}\n" for path in ("/late", "/date", "/twice")).encode()
    started = time.monotonic()
    p = run(["--allow-private", "--json", "-w", "3", "-t", "5"], data)
    took = time.monotonic() - started
    got = {r["url"].rsplit("/", 1)[1]: r for r in records(p.stdout)}
    assert (got["late"]["error"], got["date"]["error"], got["twice"]["error"]) == \
        ("http-429", "http-503", "http-429")
    assert "Retry-After: 120" in got["late"]["reason"]
    assert f"Retry-After: {date}" in got["date"]["reason"]
    assert "retried once already" in got["twice"]["reason"]
    assert [len(times[k]) for k in ("late", "date", "twice")] == [1, 1, 2]  # retried once only
    assert took < 5  # no wait for a Retry-After that cannot fit in --timeout 5 (120 s, an hour)


# -- a failing URL is reported once per failure TTL --------------------------------------------

def test_a_dead_link_repeated_40000_times_is_one_stderr_line_and_stats_count_them_all():
    dead = f"http://127.0.0.1:{refused_port()}/x"
    data = f"see {dead}\n".encode() * 40000
    p = run(["--allow-private", "--stats"], data, timeout=60)
    assert p.stdout == data
    first, stats = p.stderr.decode().splitlines()
    assert first.startswith(f"linkfilter: {dead}: ") and "refused" in first
    assert ", 40000 URLs, 1 fetched, 39999 cached, 40000 failed, " in stats


def test_json_has_a_record_for_every_occurrence_of_a_failing_url(http_server):
    http_server.route("/gone", Reply(404, [("Content-Type", "text/html")], b"<title>gone</title>"))
    gone = http_server.url("/gone")
    p = run(["--allow-private", "--json"], f"{gone}\n".encode() * 2000)
    got = records(p.stdout)
    assert [r["line"] for r in got] == list(range(1, 2001))
    assert {(r["error"], r["cached"]) for r in got[1:]} == {("http-404", True)}
    assert p.stderr.decode() == f"linkfilter: {gone}: HTTP 404 Not Found\n"
    assert len(http_server.requests) == 1


# -- workers: 1 to 512, and a thread that cannot start -----------------------------------------

def test_workers_accepts_1_to_512(http_server):
    http_server.route("/", page("<title>Hi</title>"))
    for args, env in ((["-w", "513"], None), ([], {"LINKFILTER_WORKERS": "513"})):
        p = run(args, f"{http_server.url('/')}\n".encode(), env=env)
        assert p.returncode == 2 and p.stdout == b""
        err = p.stderr.decode()
        assert err.count("\n") == 1 and err.startswith("linkfilter: ") and "512" in err
    for workers in ("1", "512"):
        p = run(["--allow-private", "-n", "-w", workers], f"{http_server.url('/')}\n".encode())
        assert (p.returncode, p.stdout) == (0, f"{http_server.authority}: Hi\n".encode())


def limits(stack: int, address_space: int):
    """A preexec_fn: a thread's stack size (glibc takes it from RLIMIT_STACK) and the most
    address space the process may map."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return apply


def test_a_downloader_thread_that_cannot_start_is_one_line_and_exit_1():
    with RawServer(Stuck()) as server:
        data = "".join(f"{server.url(f'/{i}')}\n" for i in range(600)).encode()
        # 8 MiB stacks in 1 GiB: far fewer than 512 threads fit
        p = subprocess.run(CMD + ["--allow-private", "-n", "-w", "512", "--per-host", "512", "-t", "30"],
                           input=data, capture_output=True, env=clean_env(), timeout=60,
                           preexec_fn=limits(8 << 20, 1 << 30))
    err = p.stderr.decode()
    assert p.returncode == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    started = re.match(r"linkfilter: cannot start downloader thread (\d+) of 512 \(", err)
    assert started and 1 < int(started[1]) < 512 and "try fewer --workers" in err


def test_fetch_code_that_cannot_load_is_one_line_and_exit_1(tmp_path):
    # what a run out of address space met (1 in 75 runs of the test above): loading
    # libssl failed in the first downloader thread, which died with a traceback
    (tmp_path / "ssl.py").write_text(
        'raise ImportError("libssl.so.3: failed to map segment from shared object")\n')
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    p = subprocess.run(CMD + ["--allow-private", "-w", "4"], input=b"hello\nsee http://127.0.0.1:9/x\n",
                       capture_output=True, env=clean_env({"PYTHONPATH": path}), timeout=60)
    assert p.returncode == 1
    assert p.stderr.decode() == ("linkfilter: cannot load the fetch code (ImportError: "
                                 "libssl.so.3: failed to map segment from shared object)\n")
    assert p.stdout.startswith(b"hello\n")  # what was read before is still echoed


def test_the_writer_thread_that_cannot_start_is_one_line_and_exit_1():
    # 3 GiB stacks in 2 GiB of address space: not even the first thread fits
    p = subprocess.run(CMD, input=b"hello\n", capture_output=True, env=clean_env(), timeout=60,
                       preexec_fn=limits(3 << 30, 2 << 30))
    err = p.stderr.decode()
    assert "Traceback" not in err
    assert p.returncode == 1 and err.count("\n") == 1 and err.startswith("linkfilter: ")


# -- a signal is never lost while the reader waits ----------------------------------------------

#: Runs of the signal storm, and how many run at once.
STORM_RUNS = 240
STORM_PARALLEL = 8
#: Longest a signalled run may take to end (the documented bound).
STORM_BOUND = 1.0
#: The fork server: a process of its own, so that forking never copies pytest's threads.
STORM = ("import json, sys, test_pipeline as t; "
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
    assert all(r["status"] == SIGNALS[r["signal"]] for r in runs), runs
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
            _read_lines(kid["stdout"], 3)
        for kid in kids:  # a round trip of one line, to aim the signals
            trips = []
            for _ in range(3):
                sent = time.perf_counter()
                os.write(kid["stdin"], b"ping\n")
                _read_lines(kid["stdout"], 1)
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


def _read_lines(fd: int, count: int) -> None:
    got = b""
    deadline = time.monotonic() + WAIT
    while got.count(b"\n") < count:
        if not select.select([fd], [], [], max(deadline - time.monotonic(), 0))[0]:
            raise SystemExit(f"no echo within {WAIT}s: {got!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise SystemExit(f"the run ended early: {got!r}")
        got += chunk


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

