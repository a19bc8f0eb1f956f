"""Workers and hosts: ``--workers`` fetch at once, ``--per-host`` keeps them polite, a host
that cannot be reached fails its other URLs at once, a failing URL is reported once, a
thread that cannot start is one line.

Each run is the real command in a subprocess against local servers.
"""

from __future__ import annotations

import itertools
import os
import re
import resource
import socket
import threading
import time

import pytest

from command import Live, WAIT, records, run
from servers import Gate, HTTPServer, RawServer, Reply, Stuck, page, parse_head, recv_head


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


def test_n_workers_fetch_at_the_same_time(http_server):
    barrier = threading.Barrier(3, timeout=10)

    def meet(request):
        barrier.wait()  # only returns once three requests are in flight together
        return page(f"<title>{request.path}</title>")

    for i in range(3):
        http_server.route(f"/{i}", meet)
    data = "".join(f"{http_server.url(f'/{i}')}\n" for i in range(3)).encode()
    p = run(["--allow-private", "-n", "-w", "3", "-t", "20"], data)
    assert sorted(p.stdout.decode().splitlines()) == [f"{http_server.authority}: /{i}" for i in range(3)]


def test_many_urls_with_few_workers_none_dropped(http_server):
    http_server.route("/", page("<title>t</title>"))
    data = "".join(f"{http_server.url('/')}?n={i}\n" for i in range(300)).encode()
    p = run(["--allow-private", "-n", "--json", "-w", "2"], data)
    assert sorted(r["line"] for r in records(p.stdout)) == list(range(1, 301))


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
        p = run(["--allow-private", "-n", "-w", "512", "--per-host", "512", "-t", "30"], data,
                timeout=60, preexec_fn=limits(8 << 20, 1 << 30))
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
    p = run(["--allow-private", "-w", "4"], b"hello\nsee http://127.0.0.1:9/x\n",
            env={"PYTHONPATH": path}, timeout=60)
    assert p.returncode == 1
    assert p.stderr.decode() == ("linkfilter: cannot load the fetch code (ImportError: "
                                 "libssl.so.3: failed to map segment from shared object)\n")
    assert p.stdout.startswith(b"hello\n")  # what was read before is still echoed


def test_the_writer_thread_that_cannot_start_is_one_line_and_exit_1():
    # 3 GiB stacks in 2 GiB of address space: not even the first thread fits
    p = run([], b"hello\n", timeout=60, preexec_fn=limits(3 << 30, 2 << 30))
    err = p.stderr.decode()
    assert "Traceback" not in err
    assert p.returncode == 1 and err.count("\n") == 1 and err.startswith("linkfilter: ")
