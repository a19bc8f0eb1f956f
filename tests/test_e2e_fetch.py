"""Fetching through the command: addresses refused, headers sent, TLS, proxies, timeouts,
byte caps, redirects, Retry-After.

Each run is the real command in a subprocess against local servers.
"""

from __future__ import annotations

import time

import pytest

from linkfilter import __version__

from command import records, run
from servers import RawServer, Reply, page, redirect, slow


def test_private_address_is_refused_without_a_request(site):
    p = run([], f"{site.url('/')}\n".encode())
    assert p.stdout == f"{site.url('/')}\n".encode()
    assert "--allow-private" in p.stderr.decode()
    (record,) = records(run(["--json", "-n"], f"{site.url('/')}\n".encode()).stdout)
    assert record["error"] == "blocked-address"
    assert site.connections == 0


def test_every_numeric_spelling_of_loopback_is_found_and_refused(site):
    spellings = ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "[::ffff:127.0.0.1]", "localhost.", "LOCALHOST"]
    data = "".join(f"http://{host}:{site.port}/\n" for host in spellings).encode()
    got = records(run(["--json", "-n", "-q"], data).stdout)
    assert len(got) == len(spellings)
    assert {r["error"] for r in got} == {"blocked-address"}
    assert site.connections == 0


def test_user_agent_and_accept_language(site):
    run(["--allow-private", "-n"], f"{site.url('/')}\n".encode())
    run(["--allow-private", "-n", "-A", "probe/1", "--accept-language", "cs"], f"{site.url('/untitled')}\n".encode())
    first, second = site.requests
    assert first.header("User-Agent") == f"linkfilter/{__version__} (link title bot)"
    assert first.header("Accept-Language") == "en;q=0.9, *;q=0.5"
    assert (second.header("User-Agent"), second.header("Accept-Language")) == ("probe/1", "cs")


def test_https_with_a_ca_from_ssl_cert_file(https_server, ca_cert_file):
    https_server.route("/", page("<title>Secure</title>"))
    p = run(["--allow-private", "-n"], f"{https_server.url('/')}\n".encode(), env={"SSL_CERT_FILE": str(ca_cert_file)})
    assert p.stdout.decode() == f"{https_server.authority}: Secure\n"
    untrusted = run(["--allow-private", "-n", "--json"], f"{https_server.url('/')}\n".encode())
    assert records(untrusted.stdout)[0]["error"] == "tls"


@pytest.mark.parametrize("variable", ["http_proxy", "HTTP_PROXY", "all_proxy"])
def test_http_proxy_from_the_environment(http_server, proxy_server, variable):
    http_server.route("/", page("<title>Via proxy</title>"))
    proxy_server.route = lambda host, port: ("127.0.0.1", http_server.port)
    target = "http://site.example/"
    p = run(["-n", "--allow-private"], f"{target}\n".encode(), env={variable: proxy_server.url("/")})
    assert p.stdout.decode() == "site.example: Via proxy\n"
    assert http_server.requests[0].header("Host") == "site.example"


def test_https_through_a_connect_proxy_with_an_idna_host(https_server, proxy_server, ca_cert_file):
    https_server.route("/", page("<title>Tunnelled</title>"))
    proxy_server.route = lambda host, port: ("127.0.0.1", https_server.port)
    env = {"HTTPS_PROXY": proxy_server.url("/"), "SSL_CERT_FILE": str(ca_cert_file)}
    p = run(["-n", "--allow-private"], "https://bücher.example/\n".encode(), env=env)
    assert p.stdout.decode() == "bücher.example: Tunnelled\n"
    assert proxy_server.requests[0].method == "CONNECT"
    assert proxy_server.requests[0].target == "xn--bcher-kva.example:443"


def test_timeout_cuts_a_slow_server_at_the_deadline():
    with RawServer(slow(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<title>never", 0.2)) as server:
        started = time.monotonic()
        p = run(["--allow-private", "-n", "--json", "-t", "0.5"], f"{server.url('/')}\n".encode())
        took = time.monotonic() - started
    (record,) = records(p.stdout)
    assert record["error"] == "timeout"
    assert took < 5


def test_a_title_that_came_before_the_deadline_counts():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n"
    # no charset declared and a non-UTF-8 title: linkfilter reads on for detection, and the server stalls
    early = head + "<title>Caf\u00e9 cr\u00e8me</title><p>".encode("cp1252")
    late = head + b"<p>no title yet"
    with RawServer(slow(early + b"x" * 4000, 0.2, fast=len(early))) as a, \
            RawServer(slow(late + b"x" * 4000, 0.2, fast=len(late))) as b:
        data = f"{a.url('/')}\n{b.url('/')}\n".encode()
        got = {r["url"]: r for r in records(run(["--allow-private", "-n", "--json", "-t", "0.6"], data).stdout)}
    assert got[a.url("/")]["title"] == "Caf\u00e9 cr\u00e8me" and got[a.url("/")]["error"] is None
    assert got[b.url("/")]["error"] == "timeout" and got[b.url("/")]["title"] is None


def test_max_bytes_caps_the_page(http_server):
    http_server.route("/late", page("<html>" + "<p>filler</p>" * 1000 + "<title>Late</title>"))
    small = run(["--allow-private", "-n", "--json", "--max-bytes", "2000"], f"{http_server.url('/late')}\n".encode())
    assert records(small.stdout)[0]["error"] == "too-large"
    big = run(["--allow-private", "-n", "--json", "--max-bytes", "100000"], f"{http_server.url('/late')}\n".encode())
    assert records(big.stdout)[0]["title"] == "Late"


def test_max_redirects(http_server):
    http_server.route("/r1", redirect("/r2", 301))
    http_server.route("/r2", redirect("/r3", 302))
    http_server.route("/r3", redirect(http_server.url("/end"), 307))
    http_server.route("/end", page("<title>End</title>"))
    data = f"{http_server.url('/r1')}\n".encode()
    over = records(run(["--allow-private", "-n", "--json", "--max-redirects", "2"], data).stdout)[0]
    assert over["error"] == "too-many-redirects"
    ok = records(run(["--allow-private", "-n", "--json", "--max-redirects", "3"], data).stdout)[0]
    assert (ok["title"], ok["final_url"], ok["url"]) == ("End", http_server.url("/end"), http_server.url("/r1"))


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
