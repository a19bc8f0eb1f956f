"""End to end: the linkfilter command against real local HTTP(S) servers.

Each test runs the real program as a subprocess (pipes, exit statuses and
timing are only real there) and talks to servers from ``servers.py``.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from command import read_line, records, run, start
from servers import RawServer, Reply, hang, page, redirect, slow

from linkfilter import __version__

@pytest.fixture
def site(http_server):
    http_server.route("/", page("<html><head><title>Home  page</title></head></html>"))
    http_server.route("/png", page(b"\x89PNG" + b"x" * 19964, "image/png"))
    http_server.route("/untitled", page("<html><head></head><body>no title</body></html>"))
    http_server.route("/hostile", page("<title>a\x1b]0;pwned\x07b\x1b[2Jc\u202ed\x9b1m</title>"))
    http_server.route("/gone", Reply(404, [("Content-Type", "text/html")], b"<title>404</title>"))
    return http_server


# -- results ------------------------------------------------------------------------------

def test_title_follows_the_echoed_line(site):
    url = site.url("/")
    p = run(["--allow-private"], f"look: {url}\nbye\n".encode())
    assert p.returncode == 0
    assert p.stdout.decode().splitlines()[:2] == [f"look: {url}", "bye"]
    assert f"{site.authority}: Home page" in p.stdout.decode().splitlines()
    assert p.stderr == b""


def test_unfinished_last_line_gets_one_newline_before_the_result(site):
    p = run(["--allow-private"], f"x {site.url('/')}".encode())
    assert p.stdout == f"x {site.url('/')}\n{site.authority}: Home page\n".encode()


def test_non_html_prints_a_summary_and_untitled_is_a_failure(site):
    p = run(["--allow-private", "-n"], f"{site.url('/png')}\n{site.url('/untitled')}\n".encode())
    assert p.stdout.decode() == f"{site.authority}: [image/png, 19.5 KiB]\n"
    assert p.stderr.decode() == f"linkfilter: {site.url('/untitled')}: no title in the page\n"


def test_hostile_title_cannot_reach_the_terminal(site):
    p = run(["--allow-private", "-n"], f"{site.url('/hostile')}\n".encode())
    out = p.stdout.decode()
    assert out == f"{site.authority}: a]0;pwnedb[2Jcd1m\n"
    assert not any(ord(c) < 32 and c != "\n" for c in out)


def test_format_template_sees_every_field(site):
    template = "{line}|{url}|{final_url}|{host}|{title}|{status}|{content_type}|{charset}|{elapsed:.0f}"
    p = run(["--allow-private", "-n", "-f", template], f"a\nb {site.url('/')}\n".encode())
    assert p.stdout.decode() == (
        f"2|{site.url('/')}|{site.url('/')}|{site.authority}|Home page|200|text/html|utf-8|0\n"
    )


def test_json_record_of_a_page_and_of_a_failure(site):
    data = f"{site.url('/')}\n\n{site.url('/gone')}\n".encode()
    p = run(["--allow-private", "--json", "-n"], data)
    ok, bad = sorted(records(p.stdout), key=lambda r: r["line"])
    assert ok["url"] == site.url("/") and ok["final_url"] == site.url("/")
    assert (ok["status"], ok["title"], ok["content_type"], ok["charset"]) == (200, "Home page", "text/html", "utf-8")
    assert ok["error"] is None and ok["reason"] is None and ok["cached"] is False and ok["line"] == 1
    assert ok["host"] == site.authority
    assert bad["line"] == 3 and bad["status"] == 404 and bad["error"] == "http-404" and bad["title"] is None
    assert bad["reason"]
    assert p.stderr.decode().startswith(f"linkfilter: {site.url('/gone')}: ")


def test_failure_goes_to_stderr_and_quiet_silences_it(site):
    p = run(["--allow-private"], f"{site.url('/gone')}\n".encode())
    assert p.stdout == f"{site.url('/gone')}\n".encode()
    assert p.stderr.decode().startswith(f"linkfilter: {site.url('/gone')}: ")
    assert p.stderr.count(b"\n") == 1
    assert p.returncode == 0
    q = run(["--allow-private", "-q"], f"{site.url('/gone')}\n".encode())
    assert q.stderr == b"" and q.returncode == 0


def test_private_address_is_refused_without_a_request(site):
    p = run([], f"{site.url('/')}\n".encode())
    assert p.stdout == f"{site.url('/')}\n".encode()
    assert "--allow-private" in p.stderr.decode()
    (record,) = records(run(["--json", "-n"], f"{site.url('/')}\n".encode()).stdout)
    assert record["error"] == "blocked-address"
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


# -- limits --------------------------------------------------------------------------------

def test_timeout_cuts_a_slow_server_at_the_deadline():
    with RawServer(slow(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<title>never", 0.2)) as server:
        started = time.monotonic()
        p = run(["--allow-private", "-n", "--json", "-t", "0.5"], f"{server.url('/')}\n".encode())
        took = time.monotonic() - started
    (record,) = records(p.stdout)
    assert record["error"] == "timeout"
    assert took < 5


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


# -- workers, cache, draining ----------------------------------------------------------------

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


def test_cache_fetches_a_repeated_url_once(site):
    data = f"{site.url('/')}\nagain {site.url('/')}\n{site.url('/gone')} {site.url('/gone')}x\n{site.url('/gone')}\n".encode()
    p = run(["--allow-private", "-n", "--json", "-w", "1"], data)
    got = records(p.stdout)
    assert len(got) == 5
    assert len(site.requests_for("/")) == 1
    assert len(site.requests_for("/gone")) == 1
    assert sum(r["cached"] for r in got if r["url"] == site.url("/")) == 1
    no_cache = run(["--allow-private", "-n", "--cache-ttl", "0", "-w", "1"], f"{site.url('/untitled')}\n".encode() * 3)
    assert no_cache.returncode == 0
    assert len(site.requests_for("/untitled")) == 3


def test_stats_counts(site):
    data = f"{site.url('/')}\n{site.url('/')}\n{site.url('/gone')}\nplain\n".encode()
    p = run(["--allow-private", "-n", "-q", "--stats", "-w", "1"], data)
    assert p.stderr.decode().startswith("linkfilter: 4 lines, 3 URLs, 2 fetched, 1 cached, 1 failed, ")


def test_many_urls_with_few_workers_none_dropped(http_server):
    http_server.route("/", page("<title>t</title>"))
    data = "".join(f"{http_server.url('/')}?n={i}\n" for i in range(300)).encode()
    p = run(["--allow-private", "-n", "--json", "-w", "2"], data)
    assert sorted(r["line"] for r in records(p.stdout)) == list(range(1, 301))


def test_echo_does_not_wait_for_a_hanging_fetch_and_eof_drains(http_server):
    release = threading.Event()

    def held(request):
        release.wait(20)
        return page("<title>Finally</title>")

    http_server.route("/held", held)
    proc = start(["--allow-private", "-t", "20"])
    try:
        proc.stdin.write(f"a {http_server.url('/held')}\n".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout) == f"a {http_server.url('/held')}\n".encode()
        proc.stdin.write(b"typed while the fetch hangs\n")
        proc.stdin.flush()
        assert read_line(proc.stdout) == b"typed while the fetch hangs\n"
        proc.stdin.close()  # EOF with the fetch still running: it must be drained
        release.set()
        assert read_line(proc.stdout) == f"{http_server.authority}: Finally\n".encode()
        assert proc.wait(10) == 0
    finally:
        release.set()
        proc.kill()


def test_result_appears_while_input_stays_open(site):
    proc = start(["--allow-private"])
    try:
        proc.stdin.write(f"{site.url('/')}\n".encode())
        proc.stdin.flush()
        assert read_line(proc.stdout) == f"{site.url('/')}\n".encode()
        assert read_line(proc.stdout) == f"{site.authority}: Home page\n".encode()
    finally:
        proc.stdin.close()
        proc.wait(10)


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_with_busy_workers_stops_within_a_second(sig, status):
    with RawServer(hang()) as server:
        proc = start(["--allow-private", "-w", "2", "-t", "30"])
        try:
            lines = "".join(f"{server.url(f'/{i}')}\n" for i in range(6)).encode()
            proc.stdin.write(lines)
            proc.stdin.flush()
            for _ in range(6):
                read_line(proc.stdout)
            sent = time.monotonic()
            proc.send_signal(sig)
            proc.wait(5)
            assert time.monotonic() - sent < 1.0
        finally:
            proc.kill()
            proc.stdin.close()
        assert proc.returncode == status
        assert b"Traceback" not in proc.stderr.read()


# -- titles and encodings through the whole pipe (issue 4) ---------------------------------

JA_TITLE = "日本語のページ"
JA_TEXT = "これは日本語で書かれた長い文章です。文字コードの判定には十分な量のテキストが必要です。" * 20


@pytest.mark.parametrize(
    "content_type, head, body_encoding, charset, source",
    [
        ("text/html; charset=Shift_JIS", "", "shift_jis", "shift_jis", "header"),
        ("text/html", '<meta charset="euc-jp">', "euc_jp", "euc-jp", "meta"),
        ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=iso-2022-jp">',
         "iso2022_jp", "iso-2022-jp", "meta"),
        ("text/html; charset=utf-8", "", "utf-8", "utf-8", "header"),
        ("text/html", "", "utf-8", "utf-8", "utf-8"),
        ("text/html", "", "shift_jis", "shift_jis", "chardet"),
    ],
)
def test_titles_are_decoded_like_a_browser(http_server, content_type, head, body_encoding, charset, source):
    html = f"<html><head>{head}<title>{JA_TITLE}</title></head><body><p>{JA_TEXT}</p></body></html>"
    http_server.route("/ja", page(html.encode(body_encoding), content_type))
    p = run(["--allow-private", "-n", "--json"], f"{http_server.url('/ja')}\n".encode())
    (record,) = records(p.stdout)
    assert (record["title"], record["charset"], record["charset_source"]) == (JA_TITLE, charset, source)


def test_latin1_label_decodes_as_windows_1252_and_og_title_fallback(http_server):
    http_server.route("/w", page(b"<title>\x93quoted\x94 caf\xe9</title>", "text/html; charset=iso-8859-1"))
    http_server.route("/og", page('<head><meta property="og:title" content="Open &amp; Graph"></head><body>'))
    data = f"{http_server.url('/w')}\n{http_server.url('/og')}\n".encode()
    got = {r["url"]: r for r in records(run(["--allow-private", "-n", "--json"], data).stdout)}
    assert got[http_server.url("/w")]["title"] == "\u201cquoted\u201d caf\u00e9"
    assert got[http_server.url("/w")]["charset"] == "windows-1252"
    assert got[http_server.url("/og")]["title"] == "Open & Graph"


def test_max_title_cuts_with_an_ellipsis(http_server):
    http_server.route("/long", page("<title>" + "word " * 100 + "</title>"))
    p = run(["--allow-private", "-n", "-f", "{title}", "--max-title", "12"], f"{http_server.url('/long')}\n".encode())
    assert p.stdout.decode() == "word word w…\n"


@pytest.mark.parametrize("variable", ["http_proxy", "HTTP_PROXY", "all_proxy"])
def test_http_proxy_from_the_environment(http_server, proxy_server, variable):
    http_server.route("/", page("<title>Via proxy</title>"))
    proxy_server.route = lambda host, port: ("127.0.0.1", http_server.port)
    target = "http://site.example/"
    p = run(["-n", "--allow-private"], f"{target}\n".encode(), env={variable: proxy_server.url("/")})
    assert p.stdout.decode() == "site.example: Via proxy\n"
    assert http_server.requests[0].header("Host") == "site.example"


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


def test_every_numeric_spelling_of_loopback_is_found_and_refused(site):
    spellings = ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "[::ffff:127.0.0.1]", "localhost.", "LOCALHOST"]
    data = "".join(f"http://{host}:{site.port}/\n" for host in spellings).encode()
    got = records(run(["--json", "-n", "-q"], data).stdout)
    assert len(got) == len(spellings)
    assert {r["error"] for r in got} == {"blocked-address"}
    assert site.connections == 0


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


def test_https_through_a_connect_proxy_with_an_idna_host(https_server, proxy_server, ca_cert_file):
    https_server.route("/", page("<title>Tunnelled</title>"))
    proxy_server.route = lambda host, port: ("127.0.0.1", https_server.port)
    env = {"HTTPS_PROXY": proxy_server.url("/"), "SSL_CERT_FILE": str(ca_cert_file)}
    p = run(["-n", "--allow-private"], "https://bücher.example/\n".encode(), env=env)
    assert p.stdout.decode() == "bücher.example: Tunnelled\n"
    assert proxy_server.requests[0].method == "CONNECT"
    assert proxy_server.requests[0].target == "xn--bcher-kva.example:443"


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
