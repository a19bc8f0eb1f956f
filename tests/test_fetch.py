"""The fetcher against real local servers: requests, TLS, redirects, the address guard,
the deadline, the byte cap, content decoding, errors, connection reuse and proxies.

Servers come from tests/servers.py; timeouts are short (0.5-1 s) so deadline tests
are quick, and every timing assertion allows a small margin over the deadline.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import time
import tracemalloc
import zlib

import pytest
from servers import (
    IDN_HOST,
    HTTPServer,
    ProxyServer,
    Reply,
    canned,
    each,
    endless,
    gzip_bomb,
    hang,
    page,
    redirect,
    reset,
    slow,
)

from linkfilter import fetch as fetch_module
from linkfilter import netguard
from linkfilter.errors import (
    BadResponse,
    BadURL,
    BlockedAddress,
    ConnectError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TLSError,
    TooManyRedirects,
)
from linkfilter.fetch import (
    ACCEPT,
    SINK_STEP,
    Fetcher,
    Page,
    parse_content_length,
    parse_content_type,
)
from linkfilter.settings import Settings
from linkfilter.urls import normalize_for_fetch

#: Slack allowed past a deadline (thread scheduling, closing sockets).
MARGIN = 0.35

TITLE_PAGE = b"<html><head><title>Hello</title></head><body>" + b"x" * 500 + b"</body></html>"


@pytest.fixture
def fetcher(ssl_client_context):
    """``fetcher(**settings)`` -> a Fetcher trusting the test CA, loopback allowed."""
    made = []

    def make(ssl_context=ssl_client_context, environ=None, resolver=None, **options):
        options.setdefault("timeout", 5.0)
        options.setdefault("allow_private", True)
        f = Fetcher(Settings(**options), ssl_context, environ=environ, resolver=resolver)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


class StopAtTitle:
    """A sink that has enough once ``</title>`` went by; records what it was given."""

    made: list[StopAtTitle] = []

    def __init__(self, charset: str | None) -> None:
        self.charset = charset
        self.data = bytearray()
        self.feeds = 0
        StopAtTitle.made.append(self)

    def feed(self, data: bytes) -> bool:
        self.feeds += 1
        self.data += data
        return b"</title>" in self.data


@pytest.fixture
def sinks():
    StopAtTitle.made = []
    return StopAtTitle.made


def raw_response(body: bytes = b"", status: str = "200 OK", headers=()) -> bytes:
    head = [f"HTTP/1.1 {status}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def html_response(body: bytes, *headers: str) -> bytes:
    return raw_response(
        body, headers=("Content-Type: text/html", f"Content-Length: {len(body)}", *headers)
    )


def fake_dns(names: dict[str, str]):
    """A resolver that answers ``names`` itself (as if public DNS pointed them at our
    loopback servers) and hands every other host to the real guard."""

    def resolve(host, port, *, deadline, allow_private):
        if host in names:
            return [(socket.AF_INET, (names[host], port))]
        return netguard.resolve(host, port, deadline=deadline, allow_private=allow_private)

    return resolve


# -- request ------------------------------------------------------------------------


def test_request_headers_are_exactly_the_documented_ones(fetcher, http_server):
    http_server.route("/", page(TITLE_PAGE))
    f = fetcher(user_agent="test-agent/1.0", accept_language="fr;q=0.9, *;q=0.1")
    result = f.fetch(http_server.url("/"))
    assert result.status == 200 and result.body == TITLE_PAGE
    (request,) = http_server.requests
    assert request.method == "GET" and request.target == "/"
    assert request.headers == [
        ("Host", http_server.authority),
        ("User-Agent", "test-agent/1.0"),
        ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Accept-Language", "fr;q=0.9, *;q=0.1"),
    ]
    assert ACCEPT == "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


def test_default_user_agent_and_accept_language(fetcher, http_server):
    http_server.route("/", page(TITLE_PAGE))
    fetcher().fetch(http_server.url("/"))
    request = http_server.requests[0]
    assert request.header("User-Agent").startswith("linkfilter/")
    assert request.header("Accept-Language") == "en;q=0.9, *;q=0.5"


def test_path_and_query_are_percent_encoded_and_fragment_dropped(fetcher, http_server):
    http_server.route("/caf\u00e9 x", page(TITLE_PAGE))  # never matched: the server sees bytes
    http_server.route("/caf%C3%A9%20x", page(TITLE_PAGE))
    result = fetcher().fetch(http_server.url("/caf\u00e9 x?q=\u00e9#frag"))
    assert result.status == 200
    assert http_server.requests[0].target == "/caf%C3%A9%20x?q=%C3%A9"
    assert result.final_url == http_server.url("/caf%C3%A9%20x?q=%C3%A9")


def test_credentials_in_the_url_are_never_sent(fetcher, http_server):
    http_server.route("/a", redirect(f"http://bob:secret@{http_server.authority}/b"))
    http_server.route("/b", page(TITLE_PAGE))
    url = f"http://alice:hunter2@{http_server.authority}/a"
    result = fetcher().fetch(url)
    assert result.url == url and result.final_url == http_server.url("/b")
    assert len(http_server.requests) == 2
    for request in http_server.requests:
        assert request.header("Authorization") is None
        assert request.header("Host") == http_server.authority
        assert "hunter2" not in repr(request) and "secret" not in repr(request)


def test_https_with_sni_and_host_from_the_url(fetcher, trustme_ca, server_ssl_context):
    seen = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme_ca.issue_cert("localhost").configure_cert(context)
    context.sni_callback = lambda sock, name, ctx: seen.append(name)
    with HTTPServer(tls=context) as server:
        server.route("/", page(TITLE_PAGE))
        url = f"https://localhost:{server.port}/"
        result = fetcher().fetch(url)
    assert result.status == 200 and result.final_url == url
    assert seen == ["localhost"]
    assert server.requests[0].header("Host") == f"localhost:{server.port}"


def test_default_context_is_shared_and_reads_ssl_cert_file(monkeypatch, ca_cert_file, https_server):
    https_server.route("/", page(TITLE_PAGE))
    monkeypatch.setattr(fetch_module, "_default_context", None)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_cert_file))
    with Fetcher(Settings(allow_private=True, timeout=5)) as f:
        assert f.fetch(https_server.url("/")).status == 200
    assert fetch_module.default_ssl_context() is fetch_module.default_ssl_context()


def test_untrusted_certificate_is_a_tls_error(fetcher, https_server):
    https_server.route("/", page(TITLE_PAGE))
    f = fetcher(ssl_context=ssl.create_default_context())  # system CAs only
    with pytest.raises(TLSError, match="certificate") as info:
        f.fetch(https_server.url("/"))
    assert info.value.code == "tls"
    assert https_server.requests == []


def test_certificate_for_another_name_is_a_tls_error(fetcher, trustme_ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme_ca.issue_cert("other.example").configure_cert(context)
    with HTTPServer(tls=context) as server:
        with pytest.raises(TLSError):
            fetcher().fetch(server.url("/"))


# -- redirects ----------------------------------------------------------------------


def test_relative_redirect_chain_of_every_status(fetcher, http_server):
    s = http_server
    s.route("/start", redirect("next/one", 301))  # relative to the directory
    s.route("/next/one", redirect("/two?x=1", 302))  # absolute path
    s.route("/two", redirect("../three", 303))  # dot segments
    s.route("/three", redirect(f"//{s.authority}/four", 307))  # scheme-relative
    s.route("/four", redirect(s.url("/five"), 308))  # absolute URL
    s.route("/five", page(TITLE_PAGE))
    result = fetcher(max_redirects=5).fetch(s.url("/start"))
    assert result.status == 200 and result.body == TITLE_PAGE
    assert result.url == s.url("/start") and result.final_url == s.url("/five")
    assert [r.target for r in s.requests] == [
        "/start", "/next/one", "/two?x=1", "/three", "/four", "/five"
    ]
    assert s.connections == 1  # redirect bodies drained, connection kept


def chain(server, hops: int) -> str:
    for i in range(hops):
        server.route(f"/{i}", redirect(f"/{i + 1}"))
    server.route(f"/{hops}", page(TITLE_PAGE))
    return server.url("/0")


def test_redirects_up_to_the_limit_are_followed(fetcher, http_server):
    assert fetcher(max_redirects=3).fetch(chain(http_server, 3)).final_url == http_server.url("/3")


def test_one_hop_too_many_names_the_limit(fetcher, http_server):
    with pytest.raises(TooManyRedirects, match="--max-redirects 2") as info:
        fetcher(max_redirects=2).fetch(chain(http_server, 3))
    assert info.value.code == "too-many-redirects"
    assert len(http_server.requests) == 3  # the third redirect is not followed


@pytest.mark.parametrize("limit, said", [(1, "more than 1 redirect "), (2, "more than 2 redirects ")])
def test_the_redirect_limit_is_counted_in_words(fetcher, http_server, limit, said):
    with pytest.raises(TooManyRedirects) as info:
        fetcher(max_redirects=limit).fetch(chain(http_server, limit + 1))
    assert said in str(info.value)


def test_max_redirects_zero_follows_none(fetcher, http_server):
    with pytest.raises(TooManyRedirects, match="0"):
        fetcher(max_redirects=0).fetch(chain(http_server, 1))


@pytest.mark.parametrize("loop", [["/a"], ["/a", "/b"], ["/a", "/b", "/c"]])
def test_redirect_loop_is_an_error_naming_the_limit(fetcher, http_server, loop):
    for here, there in zip(loop, loop[1:] + loop[:1]):
        http_server.route(here, redirect(there))
    with pytest.raises(TooManyRedirects, match="--max-redirects 5"):
        fetcher(max_redirects=5).fetch(http_server.url("/a"))
    assert len(http_server.requests) == len(loop)  # seen again: stopped at once


def test_redirect_without_location_is_the_final_response(fetcher, http_server):
    http_server.route("/", Reply(302, [("Content-Type", "text/html")], b"<title>x</title>"))
    result = fetcher().fetch(http_server.url("/"))
    assert result.status == 302 and result.body == b""


def test_redirect_to_another_scheme_is_a_bad_url(fetcher, http_server):
    http_server.route("/", redirect("ftp://example.com/file"))
    with pytest.raises(BadURL, match="ftp"):
        fetcher().fetch(http_server.url("/"))


@pytest.mark.parametrize(
    "location, target",
    [
        ("/caf\u00e9".encode("utf-8").decode("latin-1"), "/caf%C3%A9"),  # UTF-8 bytes
        ("/caf\u00e9", "/caf%E9"),  # the single byte E9: not UTF-8, kept as it is
    ],
)
def test_redirect_location_is_followed_percent_encoded_byte_for_byte(fetcher, raw_server, location, target):
    server = raw_server(
        each(
            canned(
                raw_response(
                    status="302 Found", headers=(f"Location: {location}", "Content-Length: 0")
                )
            ),
            canned(html_response(TITLE_PAGE)),
        )
    )
    result = fetcher().fetch(server.url("/"))
    assert result.final_url == server.url(target)
    assert server.requests[-1].target == target


# -- address guard ------------------------------------------------------------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.0.0.1.",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "[::ffff:127.0.0.1]",
    "[::1]",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_before_any_request(fetcher, http_server, host):
    http_server.route("/", page(TITLE_PAGE))
    with pytest.raises(BlockedAddress) as info:
        fetcher(allow_private=False).fetch(f"http://{host}:{http_server.port}/")
    assert "--allow-private" in info.value.reason
    assert http_server.connections == 0


def test_allow_private_lets_loopback_through(fetcher, http_server):
    http_server.route("/", page(TITLE_PAGE))
    assert fetcher(allow_private=True).fetch(http_server.url("/")).status == 200


def test_a_public_page_redirecting_to_loopback_is_refused(fetcher, http_server):
    with HTTPServer() as inside:
        inside.route("/", page(TITLE_PAGE))
        http_server.route("/", redirect(inside.url("/admin")))
        dns = fake_dns({"public.test": "127.0.0.1"})
        url = f"http://public.test:{http_server.port}/"
        with pytest.raises(BlockedAddress, match="--allow-private"):
            fetcher(allow_private=False, resolver=dns).fetch(url)
        assert http_server.requests[0].header("Host") == f"public.test:{http_server.port}"
        assert inside.connections == 0
        inside.route("/admin", page(TITLE_PAGE))
        result = fetcher(allow_private=True, resolver=dns).fetch(url)
        assert result.final_url == inside.url("/admin")


def test_connects_to_the_checked_address_not_the_name(fetcher, http_server):
    """The resolver's answer is used as is: the name itself never resolves here."""
    http_server.route("/", page(TITLE_PAGE))
    dns = fake_dns({"nowhere.invalid": "127.0.0.1"})
    result = fetcher(resolver=dns).fetch(f"http://nowhere.invalid:{http_server.port}/")
    assert result.status == 200
    assert http_server.requests[0].header("Host") == f"nowhere.invalid:{http_server.port}"


def test_tries_each_address_in_order(fetcher, http_server):
    http_server.route("/", page(TITLE_PAGE))
    closed = socket.create_server(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()

    def resolve(host, port, *, deadline, allow_private):
        return [(socket.AF_INET, ("127.0.0.1", dead_port)), (socket.AF_INET, ("127.0.0.1", port))]

    assert fetcher(resolver=resolve).fetch(http_server.url("/")).status == 200


# -- one deadline -------------------------------------------------------------------


def timed(f, url, **kwargs):
    started = time.monotonic()
    try:
        f.fetch(url, **kwargs)
    except FetchTimeout as e:
        return time.monotonic() - started, e
    raise AssertionError("no timeout")


def test_headers_one_byte_at_a_time_are_cut_at_the_deadline(fetcher, raw_server):
    server = raw_server(slow(html_response(TITLE_PAGE), 0.02))  # would take ~12 s
    elapsed, error = timed(fetcher(timeout=0.6), server.url("/"))
    assert 0.55 <= elapsed < 0.6 + MARGIN
    assert "--timeout 0.6" in error.reason and error.code == "timeout"


def test_body_one_byte_at_a_time_is_cut_at_the_deadline(fetcher, raw_server):
    data = html_response(b"<html><title>Early</title>" + b"x" * 1000)
    server = raw_server(slow(data, 0.02, fast=data.index(b"</title>x") + 8))
    started = time.monotonic()
    page = fetcher(timeout=0.6).fetch(server.url("/"))  # no sink: it reads on to the deadline
    elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 0.6 + MARGIN
    # what came before the deadline is handed over, marked, for the title layer to judge
    assert page.body.startswith(b"<html><title>Early</title>x") and page.cut
    assert "--timeout 0.6" in page.timed_out


def test_silent_server_is_cut_at_the_deadline(fetcher, raw_server):
    server = raw_server(hang())
    elapsed, _ = timed(fetcher(timeout=0.5), server.url("/"))
    assert elapsed < 0.5 + MARGIN


def test_tls_handshake_gets_only_the_time_left(fetcher, raw_server):
    server = raw_server(hang(read=False))  # TCP accepted, never a ServerHello
    elapsed, error = timed(fetcher(timeout=0.5), server.url("/").replace("http:", "https:"))
    assert elapsed < 0.5 + MARGIN


def test_one_deadline_covers_every_redirect(fetcher, http_server):
    def slow_redirect(request):
        http_server.stopping.wait(0.25)
        return redirect(f"/{int(request.path[1:]) + 1}")

    for i in range(5):
        http_server.route(f"/{i}", slow_redirect)
    elapsed, _ = timed(fetcher(timeout=0.6, max_redirects=10), http_server.url("/0"))
    assert elapsed < 0.6 + MARGIN
    assert len(http_server.requests) <= 3


def test_a_slow_body_after_the_title_still_stops_at_the_sink(fetcher, raw_server, sinks):
    data = html_response(TITLE_PAGE + b"y" * 1000)
    server = raw_server(slow(data, 0.05, fast=data.index(b"</title>") + 8))
    started = time.monotonic()
    result = fetcher(timeout=5).fetch(server.url("/"), sink_factory=StopAtTitle)
    assert time.monotonic() - started < 1
    assert result.body.endswith(b"</title>") and not result.capped and not result.cut


# -- the byte cap and content decoding ----------------------------------------------


def test_endless_body_stops_at_max_bytes(fetcher, raw_server):
    server = raw_server(endless(raw_response(headers=("Content-Type: text/html",))))
    started = time.monotonic()
    result = fetcher(max_bytes=100_000, timeout=5).fetch(server.url("/"))
    assert time.monotonic() - started < 2
    assert len(result.body) == 100_000 and result.capped and not result.cut


def test_endless_body_with_a_sink_that_never_has_enough(fetcher, raw_server, sinks):
    server = raw_server(endless(raw_response(headers=("Content-Type: text/html",))))
    result = fetcher(max_bytes=50_000).fetch(server.url("/"), sink_factory=StopAtTitle)
    assert result.capped and len(result.body) == 50_000
    assert bytes(sinks[0].data) == result.body


@pytest.mark.parametrize("size, capped", [(999, False), (1000, False), (1001, True)])
def test_cap_is_reached_only_by_a_longer_body(fetcher, http_server, size, capped):
    http_server.route("/", page(b"z" * size))
    result = fetcher(max_bytes=1000).fetch(http_server.url("/"))
    assert result.capped is capped
    assert result.body == b"z" * min(size, 1000)


def gz_members(data: bytes, parts: int = 3) -> bytes:
    step = len(data) // parts + 1
    return b"".join(gzip.compress(data[i : i + step]) for i in range(0, len(data), step))


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(
    "encoding, encode",
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("gzip", gz_members),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
    ],
    ids=["gzip", "x-gzip", "gzip-members", "deflate-zlib", "deflate-raw"],
)
@pytest.mark.parametrize("chunked", [False, True])
def test_encoded_bodies_are_decoded(fetcher, http_server, encoding, encode, chunked):
    body = TITLE_PAGE * 50
    wire = encode(body)
    pieces = [wire[i : i + 777] for i in range(0, len(wire), 777)] if chunked else wire
    headers = [("Content-Type", "text/html"), ("Content-Encoding", encoding)]
    http_server.route("/", Reply(200, headers, pieces, chunked=chunked))
    result = fetcher().fetch(http_server.url("/"))
    assert result.body == body and not result.capped and not result.cut
    assert result.content_length == (None if chunked else len(wire))


def test_cap_applies_to_the_decoded_body(fetcher, http_server):
    body = b"<title>t</title>" + b"a" * 100_000
    http_server.route(
        "/", page(gzip.compress(body), headers=[("Content-Encoding", "gzip")])
    )
    result = fetcher(max_bytes=10_000).fetch(http_server.url("/"))
    assert result.body == body[:10_000] and result.capped


def test_gzip_bomb_costs_no_more_memory_than_the_cap(fetcher, raw_server):
    server = raw_server(gzip_bomb(1 << 30))  # 1 GiB of zeros, ~1 MiB on the wire
    f = fetcher(timeout=10)  # default max_bytes: 1 MiB
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = f.fetch(server.url("/"))
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.capped and result.body == bytes(f.settings.max_bytes)
    assert peak < 100 * 2**20
    assert peak < 8 * f.settings.max_bytes  # a few times the cap, not the bomb
    assert elapsed < 5


def test_unsupported_content_encoding_is_a_bad_response(fetcher, http_server):
    http_server.route("/", page(b"\x00\x01", headers=[("Content-Encoding", "br")]))
    with pytest.raises(BadResponse, match="br"):
        fetcher().fetch(http_server.url("/"))


def test_corrupt_gzip_after_good_data_yields_what_came(fetcher, http_server):
    import random

    text = TITLE_PAGE + random.Random(1).randbytes(60_000)  # incompressible: several reads
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    wire = c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH) + b"\xff\xff\xff"
    http_server.route("/", page(wire, headers=[("Content-Encoding", "gzip")]))
    result = fetcher().fetch(http_server.url("/"))
    assert result.cut and result.body.startswith(TITLE_PAGE) and text.startswith(result.body)


def test_corrupt_gzip_from_the_start_is_a_bad_response(fetcher, http_server):
    http_server.route("/", page(b"this is not gzip", headers=[("Content-Encoding", "gzip")]))
    with pytest.raises(BadResponse):
        fetcher().fetch(http_server.url("/"))


# -- cut bodies ---------------------------------------------------------------------


def test_body_shorter_than_content_length_yields_what_arrived(fetcher, raw_server):
    head = ("Content-Type: text/html", "Content-Length: 100000")
    server = raw_server(canned(raw_response(TITLE_PAGE, headers=head)))
    result = fetcher().fetch(server.url("/"))
    assert result.body == TITLE_PAGE and result.cut and not result.capped
    assert result.content_length == 100000


def test_chunked_body_closed_mid_chunk_yields_what_arrived(fetcher, raw_server):
    body = b"%x\r\n%s\r\n" % (len(TITLE_PAGE), TITLE_PAGE) + b"400\r\nonly a little"
    head = ("Content-Type: text/html", "Transfer-Encoding: chunked")
    server = raw_server(canned(raw_response(body, headers=head)))
    result = fetcher().fetch(server.url("/"))
    assert result.body == TITLE_PAGE + b"only a little" and result.cut


def test_reset_mid_body_yields_what_arrived(fetcher, raw_server):
    data = raw_response(TITLE_PAGE, headers=("Content-Type: text/html", "Content-Length: 100000"))
    server = raw_server(reset(data))
    result = fetcher().fetch(server.url("/"))
    assert result.cut and TITLE_PAGE.startswith(result.body)


def test_truncated_gzip_without_length_is_cut(fetcher, raw_server):
    wire = gzip.compress(TITLE_PAGE * 20)
    data = raw_response(
        wire[: len(wire) // 2],
        headers=("Content-Type: text/html", "Content-Encoding: gzip", "Connection: close"),
    )
    result = fetcher().fetch(raw_server(canned(data)).url("/"))
    assert result.cut and result.body and (TITLE_PAGE * 20).startswith(result.body)


def test_body_until_close_is_complete(fetcher, raw_server):
    data = raw_response(TITLE_PAGE, headers=("Content-Type: text/html", "Connection: close"))
    result = fetcher().fetch(raw_server(canned(data)).url("/"))
    assert result.body == TITLE_PAGE and not result.cut and result.content_length is None


# -- status and type ----------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 503])
def test_status_400_and_up_is_an_error_carrying_it(fetcher, http_server, status):
    http_server.route("/", Reply(status, [("Content-Type", "text/html")], b"<title>Oops</title>"))
    with pytest.raises(HTTPStatusError) as info:
        fetcher().fetch(http_server.url("/"))
    assert info.value.status == status and info.value.code == f"http-{status}"
    assert str(status) in info.value.reason


def test_status_reason_from_the_server_is_made_printable(fetcher, raw_server):
    data = raw_response(status="418 \x1b[31mTeapot\x07", headers=("Content-Length: 0",))
    with pytest.raises(HTTPStatusError) as info:
        fetcher().fetch(raw_server(canned(data)).url("/"))
    assert info.value.status == 418
    assert "\x1b" not in info.value.reason and "\x07" not in info.value.reason


def test_non_html_stops_after_the_headers(fetcher, raw_server, sinks):
    head = raw_response(headers=("Content-Type: image/png", "Content-Length: 123456789"))
    server = raw_server(endless(head, b"\x89PNG" * 256))
    started = time.monotonic()
    result = fetcher().fetch(server.url("/"), sink_factory=StopAtTitle)
    assert time.monotonic() - started < 1
    assert result.content_type == "image/png" and result.content_length == 123456789
    assert result.body == b"" and not result.is_html and sinks == []


def test_no_content_type_counts_as_html(fetcher, raw_server):
    data = raw_response(TITLE_PAGE, headers=(f"Content-Length: {len(TITLE_PAGE)}",))
    result = fetcher().fetch(raw_server(canned(data)).url("/"))
    assert result.content_type is None and result.is_html and result.body == TITLE_PAGE


def test_xhtml_and_charset_are_reported(fetcher, http_server, sinks):
    http_server.route("/", page(TITLE_PAGE, 'Application/XHTML+XML; Charset="Shift_JIS"'))
    result = fetcher().fetch(http_server.url("/"), sink_factory=StopAtTitle)
    assert result.content_type == "application/xhtml+xml" and result.charset == "Shift_JIS"
    assert result.is_html
    assert [s.charset for s in sinks] == ["Shift_JIS"]


def test_sink_is_fed_until_it_has_enough(fetcher, raw_server, sinks):
    head = raw_response(b"<title>Endless</title>", headers=("Content-Type: text/html",))
    server = raw_server(endless(head))
    result = fetcher(timeout=2).fetch(server.url("/"), sink_factory=StopAtTitle)
    assert result.body.startswith(b"<title>Endless</title>") and not result.capped
    assert len(sinks) == 1 and bytes(sinks[0].data) == result.body


def test_a_normalized_url_is_not_normalized_again_but_a_redirect_is(
    monkeypatch, fetcher, http_server
):
    normalized: list[str] = []

    def counting(url: str) -> str:
        normalized.append(url)
        return normalize_for_fetch(url)

    monkeypatch.setattr(fetch_module, "normalize_for_fetch", counting)
    http_server.route("/a", redirect("/B b", 302))
    http_server.route("/B%20b", page(TITLE_PAGE))
    start = http_server.url("/a")
    result = fetcher().fetch(start, normalized=True)
    assert result.status == 200 and result.final_url == http_server.url("/B%20b")
    assert normalized == [http_server.url("/B b")]  # the Location only
    fetcher().fetch(start)
    assert normalized[1] == start


def test_sink_is_fed_in_small_pieces_and_reading_stops_at_the_one_with_the_title(
    fetcher, http_server, sinks
):
    http_server.route("/", page(b"<title>Early</title>" + b"<p>filler</p>" * 5000))
    result = fetcher().fetch(http_server.url("/"), sink_factory=StopAtTitle)
    assert len(sinks) == 1 and sinks[0].feeds == 1
    assert result.body == bytes(sinks[0].data) and len(result.body) <= SINK_STEP
    assert result.body.startswith(b"<title>Early</title>") and not result.capped


def test_sink_is_not_made_for_redirects_or_errors(fetcher, http_server, sinks):
    http_server.route("/", redirect("/gone"))
    http_server.route("/gone", Reply(404, [("Content-Type", "text/html")], b"<title>404</title>"))
    with pytest.raises(HTTPStatusError):
        fetcher().fetch(http_server.url("/"), sink_factory=StopAtTitle)
    assert sinks == []


def test_interim_responses_are_skipped(fetcher, raw_server):
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        + html_response(TITLE_PAGE)
    )
    result = fetcher().fetch(raw_server(canned(data)).url("/"))
    assert result.status == 200 and result.body == TITLE_PAGE


def test_a_retry_after_date_in_the_past_is_retried_at_once(fetcher, http_server):
    past = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 3600))
    answers = iter([Reply(503, [("Retry-After", past)], b"busy"), page(TITLE_PAGE)])
    http_server.route("/", lambda request: next(answers))
    result = fetcher(timeout=5).fetch(http_server.url("/"))
    assert (result.status, len(http_server.requests)) == (200, 2)


# -- malformed responses ------------------------------------------------------------


@pytest.mark.parametrize(
    "data, match",
    [
        (b"garbage\r\n\r\n", "status line"),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "status line"),
        (b"HTTP/1.1 OK 200\r\n\r\n", "status line"),
        (b"HTTP/1.1 20\r\n\r\n", "status line"),
        (b"HTTP/2 200\r\n\r\n", "protocol"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Many: header\r\n" * 500 + b"\r\n", "more than 100 header"),
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", "longer than 65536"),
        (b"HTTP/1.1 200 " + b"a" * 70000 + b"\r\n\r\n", "longer than 65536"),
        (b"HTTP/1.1 103 Early Hints\r\n\r\n" * 12, "more than 10 interim"),
    ],
    ids=[
        "garbage",
        "tls-bytes",
        "swapped",
        "short-status",
        "http2",
        "500-headers",
        "long-header",
        "long-status",
        "endless-1xx",
    ],
)
def test_malformed_heads_are_bad_responses(fetcher, raw_server, data, match):
    with pytest.raises(BadResponse, match=match) as info:
        fetcher().fetch(raw_server(canned(data)).url("/"))
    assert info.value.code == "bad-response"


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"5" + b" " * 70000 + b"\r\nhello\r\n0\r\n\r\n",
    ],
    ids=["not-hex", "negative", "0x", "long-size-line"],
)
def test_bad_chunking_is_a_bad_response(fetcher, raw_server, body):
    data = raw_response(body, headers=("Content-Type: text/html", "Transfer-Encoding: chunked"))
    with pytest.raises(BadResponse, match="chunk"):
        fetcher().fetch(raw_server(canned(data)).url("/"))


@pytest.mark.parametrize("after", [b"\r\nzz\r\n", b"XX0\r\n\r\n"], ids=["bad-size", "no-crlf"])
def test_bad_chunk_after_good_data_yields_what_came(fetcher, raw_server, after):
    body = b"%x\r\n%s" % (len(TITLE_PAGE), TITLE_PAGE) + after
    data = raw_response(body, headers=("Content-Type: text/html", "Transfer-Encoding: chunked"))
    result = fetcher().fetch(raw_server(canned(data)).url("/"))
    assert result.body == TITLE_PAGE and result.cut


def test_chunk_extensions_and_trailers_are_fine(fetcher, raw_server):
    body = b"5;name=value\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n"
    data = raw_response(body, headers=("Content-Type: text/html", "Transfer-Encoding: chunked"))
    result = fetcher().fetch(raw_server(canned(data)).url("/"))
    assert result.body == b"hello" and not result.cut


# -- connection failures ------------------------------------------------------------


def test_reset_before_any_answer_is_a_connect_error(fetcher, raw_server):
    server = raw_server(reset())
    with pytest.raises(ConnectError, match="reset|closed") as info:
        fetcher().fetch(server.url("/"))
    assert info.value.code == "connect"


def test_close_without_answer_is_a_connect_error(fetcher, raw_server):
    with pytest.raises(ConnectError, match="without answering"):
        fetcher().fetch(raw_server(canned(b"")).url("/"))


def test_refused_connection_is_a_connect_error(fetcher):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(ConnectError, match="refused"):
        fetcher().fetch(f"http://127.0.0.1:{port}/")


# -- which failures say the host cannot be reached -------------------------------------

#: Answers that fail one URL after its request could be sent: none says the host is down.
AFTER_THE_REQUEST = {
    "reset after the request": reset(),
    "reset at once": reset(read=False),
    "closed without answering": canned(b""),
    "malformed response": canned(b"SPDY/9 banana\r\n\r\n"),
    "server error": canned(raw_response(status="500 Internal Server Error",
                                        headers=("Content-Length: 0",))),
    "read timeout": hang(),
}


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("script", AFTER_THE_REQUEST.values(), ids=AFTER_THE_REQUEST.keys())
def test_a_failure_after_the_connection_is_made_is_about_the_url_only(
    fetcher, raw_server, script, tls
):
    server = raw_server(script, tls=tls)
    with pytest.raises(FetchError) as info:
        fetcher(timeout=0.5).fetch(server.url("/"))
    assert info.value.host_down is False
    assert server.connections == 1


def test_a_reset_is_still_a_connect_error_and_says_so(fetcher, raw_server):
    with pytest.raises(ConnectError) as info:
        fetcher().fetch(raw_server(reset()).url("/"))
    assert (info.value.code, info.value.reason) == ("connect", "connection to 127.0.0.1 was reset")


def test_failures_before_a_request_could_be_sent_say_the_host_is_down(
    fetcher, raw_server, https_server
):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    plain = raw_server(lambda conn: conn.sock.recv(4096) and conn.send(b"HTTP/1.1 400 No\r\n\r\n"))
    untrusted = fetcher(ssl_context=ssl.create_default_context())
    for f, url, error in [
        (fetcher(), f"http://127.0.0.1:{port}/", ConnectError),
        (fetcher(), plain.url("/").replace("http:", "https:"), TLSError),  # no TLS there
        (untrusted, https_server.url("/"), TLSError),
    ]:
        with pytest.raises(error) as info:
            f.fetch(url)
        assert info.value.host_down is True, url


def test_a_redirect_to_a_host_that_is_down_does_not_say_the_first_host_is(fetcher, http_server):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    http_server.route("/away", redirect(f"http://127.0.0.1:{port}/"))
    with pytest.raises(ConnectError, match="refused") as info:
        fetcher().fetch(http_server.url("/away"))
    assert info.value.host_down is False


def test_bad_url_is_a_bad_url_error(fetcher):
    for url in ("ftp://example.com/", "http://", "http://exa mple.com/", "http://host:99999/"):
        with pytest.raises(BadURL):
            fetcher().fetch(url)


# -- keep-alive ---------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_one_hundred_urls_to_one_host_reuse_the_connection(
    fetcher, http_server, https_server, tls, sinks
):
    server = https_server if tls else http_server
    server.route("/", lambda request: page(TITLE_PAGE + b"<!-- " + b"p" * 3000 + b" -->"))
    f = fetcher()
    for i in range(100):
        result = f.fetch(server.url(f"/?page={i}"), sink_factory=StopAtTitle if i % 2 else None)
        assert result.status == 200
    assert len(server.requests) == 100
    assert server.connections <= 2  # one, unless a drain was slower than DRAIN_WINDOW


def test_kept_connection_closed_by_the_server_is_retried_once(fetcher, http_server):
    http_server.route("/", Reply(200, [("Content-Type", "text/html")], TITLE_PAGE, drop=True))
    f = fetcher()
    assert f.fetch(http_server.url("/")).body == TITLE_PAGE
    assert http_server.wait_closed(1)  # the server has dropped the idle connection
    assert f.fetch(http_server.url("/")).body == TITLE_PAGE
    assert http_server.connections == 2 and len(http_server.requests) == 2


def test_kept_connection_failing_after_a_byte_is_not_retried(fetcher, raw_server):
    def script(conn):
        conn.read_request()
        conn.send(html_response(TITLE_PAGE))
        conn.read_request()
        conn.send(b"HTTP/1.1 20")  # then close: a broken answer, not an idle close

    server = raw_server(script)
    f = fetcher()
    assert f.fetch(server.url("/")).body == TITLE_PAGE
    with pytest.raises(BadResponse):
        f.fetch(server.url("/"))
    assert server.connections == 1


def test_a_stopped_read_closes_or_drains_but_never_reuses_mid_body(fetcher, raw_server, sinks):
    first = raw_response(b"<title>A</title>", headers=("Content-Type: text/html",))
    server = raw_server(endless(first))
    f = fetcher()
    for _ in range(3):
        assert f.fetch(server.url("/"), sink_factory=StopAtTitle).body.startswith(b"<title>A")
    assert server.connections == 3


def test_kept_connections_are_bounded(fetcher):
    servers = [HTTPServer().start() for _ in range(fetch_module.POOL_SIZE + 2)]
    try:
        f = fetcher()
        for server in servers:
            server.route("/", page(TITLE_PAGE))
            f.fetch(server.url("/"))
        assert servers[0].wait_closed(1) and servers[1].wait_closed(1)  # least recent first
        assert f.fetch(servers[-1].url("/")).status == 200
        assert servers[-1].connections == 1
    finally:
        for server in servers:
            server.stop()


def test_close_closes_kept_connections(fetcher, http_server):
    http_server.route("/", page(TITLE_PAGE))
    f = fetcher()
    f.fetch(http_server.url("/"))
    f.close()
    assert http_server.wait_closed(1)


# -- proxies ------------------------------------------------------------------------


def test_http_through_a_proxy_uses_the_absolute_form(fetcher, http_server, proxy_server):
    http_server.route("/p", page(TITLE_PAGE))
    env = {"http_proxy": f"http://user:pw@{proxy_server.authority}"}
    result = fetcher(environ=env).fetch(http_server.url("/p?q=1"))
    assert result.body == TITLE_PAGE
    (asked,) = proxy_server.requests
    assert asked.method == "GET" and asked.target == http_server.url("/p?q=1")
    assert asked.header("Host") == http_server.authority
    assert asked.header("Proxy-Authorization") == "Basic dXNlcjpwdw=="
    assert http_server.requests[0].header("Proxy-Authorization") is None  # not forwarded


def test_https_through_a_proxy_uses_connect(fetcher, https_server, proxy_server):
    https_server.route("/", page(TITLE_PAGE))
    env = {"HTTPS_PROXY": f"http://user:pw@{proxy_server.authority}"}
    result = fetcher(environ=env).fetch(https_server.url("/"))
    assert result.body == TITLE_PAGE
    (asked,) = proxy_server.requests
    assert asked.method == "CONNECT" and asked.target == https_server.authority
    assert asked.header("Proxy-Authorization") == "Basic dXNlcjpwdw=="
    assert https_server.requests[0].header("Host") == https_server.authority


def test_proxy_env_is_read_from_os_environ(monkeypatch, fetcher, http_server, proxy_server):
    http_server.route("/", page(TITLE_PAGE))
    monkeypatch.setenv("http_proxy", proxy_server.url("/"))
    assert fetcher().fetch(http_server.url("/")).status == 200
    assert len(proxy_server.requests) == 1


def test_no_proxy_is_respected(fetcher, http_server, proxy_server):
    http_server.route("/", page(TITLE_PAGE))
    env = {"http_proxy": proxy_server.url("/"), "no_proxy": "localhost,127.0.0.1"}
    assert fetcher(environ=env).fetch(http_server.url("/")).status == 200
    assert proxy_server.connections == 0 and http_server.connections == 1


def test_guard_applies_to_the_target_not_the_proxy(fetcher, http_server, proxy_server):
    http_server.route("/", page(TITLE_PAGE))
    env = {"http_proxy": proxy_server.url("/")}
    with pytest.raises(BlockedAddress):
        fetcher(environ=env, allow_private=False).fetch(http_server.url("/"))
    assert proxy_server.connections == 0
    dns = fake_dns({"public.test": "127.0.0.1"})
    with ProxyServer(route=lambda host, port: ("127.0.0.1", port)) as proxy:
        env = {"http_proxy": proxy.url("/")}  # the proxy is on loopback: allowed
        result = fetcher(environ=env, allow_private=False, resolver=dns).fetch(
            f"http://public.test:{http_server.port}/"
        )
        assert result.status == 200
        assert proxy.requests[0].header("Host") == f"public.test:{http_server.port}"


def test_proxy_refusing_connect_is_a_connect_error(fetcher, https_server):
    with ProxyServer(refuse=403) as proxy:
        env = {"https_proxy": proxy.url("/")}
        with pytest.raises(ConnectError, match="403"):
            fetcher(environ=env).fetch(https_server.url("/"))
    assert https_server.connections == 0


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_idna_host_is_sent_encoded(fetcher, http_server, https_server, scheme):
    """No DNS here: a proxy that sends every host to our server shows what was asked for."""
    server = https_server if scheme == "https" else http_server
    server.route("/", page(TITLE_PAGE))
    with ProxyServer(route=lambda host, port: ("127.0.0.1", server.port)) as proxy:
        env = {f"{scheme}_proxy": proxy.url("/")}
        result = fetcher(environ=env).fetch(f"{scheme}://B\u00fccher.example/")
    assert result.final_url == f"{scheme}://{IDN_HOST}/"
    asked = proxy.requests[0]
    if scheme == "http":
        assert asked.target == f"http://{IDN_HOST}/"
    else:
        assert asked.target == f"{IDN_HOST}:443"  # and the certificate was checked for it
    assert server.requests[0].header("Host") == IDN_HOST


# -- pure helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, (None, None)),
        ("", (None, None)),
        ("text/html", ("text/html", None)),
        ("TEXT/HTML; charset=UTF-8", ("text/html", "UTF-8")),
        ('text/html; foo=bar; charset="iso-8859-1"', ("text/html", "iso-8859-1")),
        ("text/html;charset='koi8-r'", ("text/html", "koi8-r")),
        ("text/html; charset=", ("text/html", None)),
        ("garbage", (None, None)),
        ("; charset=utf-8", (None, "utf-8")),
    ],
)
def test_parse_content_type(value, expected):
    assert parse_content_type(value) == expected


@pytest.mark.parametrize(
    "values, expected",
    [
        (None, None),
        (["12"], 12),
        ([" 12 "], 12),
        (["12", "12"], 12),
        (["12", "13"], None),
        (["-1"], None),
        (["1e3"], None),
    ],
)
def test_parse_content_length(values, expected):
    assert parse_content_length(values) == expected


def test_page_is_html():
    base = dict(
        url="u", final_url="u", status=200, charset=None, content_length=None, body=b""
    )
    base.update(capped=False, cut=False)
    assert Page(content_type=None, **base).is_html
    assert Page(content_type="text/html", **base).is_html
    assert Page(content_type="application/xhtml+xml", **base).is_html
    assert not Page(content_type="text/plain", **base).is_html
