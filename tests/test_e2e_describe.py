"""End to end: every link described. Placeholder titles replaced, oEmbed, the fields beside the title.

Real host names (www.youtube.com, x.com, t.co) reach local servers through the local
proxy, which gets the names unresolved under --allow-private; HTTPS ones through its
CONNECT tunnel to a local TLS server whose certificate the test CA issued for them.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from command import records, run
from servers import HTTPServer, ProxyServer, Reply, hang, page, redirect

from linkfilter import netguard
from linkfilter.fetch import Fetcher
from linkfilter.result import RECORD_FIELDS
from linkfilter.settings import Settings
from linkfilter.worker import describe

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
POST = "https://x.com/jack/status/20"
JSON = "application/json"


def answer(data, status: int = 200, content_type: str = JSON) -> Reply:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return Reply(status, [("Content-Type", content_type)], body)


@pytest.fixture
def real_names(trustme_ca, ca_cert_file):
    """``(server, env)``: a local HTTPS server that answers for www.youtube.com, x.com and
    publish.x.com, reached through a local proxy named in ``env``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme_ca.issue_cert("www.youtube.com", "x.com", "publish.x.com").configure_cert(context)
    with HTTPServer(tls=context) as server:
        with ProxyServer(route=lambda host, port: ("127.0.0.1", server.port)) as proxy:
            yield server, {"HTTPS_PROXY": proxy.url("/"), "SSL_CERT_FILE": str(ca_cert_file)}


def one(args, url, env=None) -> dict:
    (record,) = records(run(["--json", "--allow-private", *args], f"{url}\n".encode(), env).stdout)
    return record


# -- useless titles ----------------------------------------------------------------------


WALLS = {
    "/placeholder": "<title>JavaScript is not available.</title>",
    "/consent": "<title>Before you continue to YouTube</title><p>We use cookies</p>",
    "/empty": "<title></title>",
    "/none": "<p>no title at all</p>",
}


def test_a_page_with_only_useless_titles_fails_with_no_title(http_server):
    for path, body in WALLS.items():
        http_server.route(path, page(f"<html><head>{body}</head><body><p>x</p></body></html>"))
    urls = [http_server.url(p) for p in WALLS]
    p = run(["--json", "--allow-private"], "".join(f"{u}\n" for u in urls).encode())
    got = {urlsplit(r["url"]).path: r for r in records(p.stdout)}
    assert {path: (r["error"], r["reason"], r["title"], r["status"]) for path, r in got.items()} == {
        "/placeholder": ("no-title", 'only a placeholder title: "JavaScript is not available."', None, 200),
        "/consent": ("no-title", 'only a placeholder title: "Before you continue to YouTube"', None, 200),
        "/empty": ("no-title", "no title in the page", None, 200),
        "/none": ("no-title", "no title in the page", None, 200),
    }
    assert all(r["kind"] == "page" and r["charset"] for r in got.values())
    # --fallback applies
    text = run(["-n", "--allow-private", "--fallback", "{url} [{error}] {reason}"],
               f"{urls[0]}\n".encode())
    assert text.stdout.decode() == f'{urls[0]} [no-title] only a placeholder title: "JavaScript is not available."\n'
    assert text.stderr.decode() == f'linkfilter: {urls[0]}: only a placeholder title: "JavaScript is not available."\n'


def test_a_placeholder_in_a_page_past_the_cap_is_named(http_server):
    """The search for another title stops at --max-bytes; the URL still fails as a page
    with only a placeholder title, not as one without a title."""
    filler = "<p>filler</p>" * 3000
    http_server.route("/spa", page(f"<html><head><title>Loading...</title></head><body>{filler}"))
    http_server.route("/empty", page(f"<html><head><title></title></head><body>{filler}"))
    spa = one(["--max-bytes", "8192"], http_server.url("/spa"))
    assert (spa["error"], spa["reason"]) == ("no-title", 'only a placeholder title: "Loading..."')
    empty = one(["--max-bytes", "8192"], http_server.url("/empty"))
    assert (empty["error"], empty["reason"]) == ("too-large", "no title in the first 8.0 KiB (--max-bytes 8192)")


def test_the_name_in_a_real_host_is_useless_off_its_home_page(real_names):
    server, env = real_names
    server.route("/", page("<html><head><title>YouTube</title></head><body>"))
    server.route("/feed/trending", page("<html><head><title>YouTube</title></head><body>"))
    server.route("/watch", page("<html><head><title> - YouTube</title></head><body>"))
    server.route("/jack/status/20", page("<html><head><title>X</title></head><body>"))
    links = ["https://www.youtube.com/", "https://www.youtube.com/feed/trending", VIDEO, POST]
    p = run(["--json", "--allow-private", "--no-oembed"], "".join(f"{u}\n" for u in links).encode(), env)
    got = {r["url"]: (r["title"], r["error"], r["reason"]) for r in records(p.stdout)}
    assert got == {
        "https://www.youtube.com/": ("YouTube", None, None),  # the home page keeps its name
        "https://www.youtube.com/feed/trending": (None, "no-title", 'only a placeholder title: "YouTube"'),
        VIDEO: (None, "no-title", 'only a placeholder title: "- YouTube"'),
        POST: (None, "no-title", 'only a placeholder title: "X"'),
    }


def test_the_site_name_off_the_home_page_gives_way_to_og_title(http_server):
    head = ('<meta property="og:site_name" content="Daily Planet">'
            '<meta property="og:title" content="Superman saves the city">'
            '<meta property="og:description" content="A report from Metropolis.">'
            '<meta name="author" content="Lois Lane">')
    http_server.route("/", page(f"<head><title>Daily Planet</title>{head}</head><body>"))
    http_server.route("/news/1", page(f"<head><title>| Daily Planet</title>{head}</head><body>"))
    home, article = one([], http_server.url("/")), one([], http_server.url("/news/1"))
    assert (home["title"], home["title_source"]) == ("Daily Planet", "title")  # a home page keeps its name
    assert (article["title"], article["title_source"]) == ("Superman saves the city", "og")
    assert (article["site"], article["description"], article["author"], article["kind"]) == (
        "Daily Planet", "A report from Metropolis.", "Lois Lane", "page")
    assert article["final_host"] is None and article["error"] is None


def test_an_og_title_far_into_the_body_after_an_empty_title(http_server):
    body = ("<html><head><title></title></head><body>" + "<p>filler text</p>" * 1500
            + '<meta property="og:title" content="Found in the body">' + "<p>more</p>" * 5000)
    assert body.index("og:title") > 21000
    http_server.route("/late", page(body))
    record = one([], http_server.url("/late"))
    assert (record["title"], record["title_source"]) == ("Found in the body", "og")
    small = one(["--max-bytes", "4096"], http_server.url("/late"))  # within --max-bytes, as ever
    assert small["error"] == "too-large"


def test_a_site_only_json_ld_in_the_head_does_not_stop_the_reading(http_server):
    org = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Organization",'
           ' "name": "Acme", "logo": "/logo.png"}</script>')
    http_server.route("/post", page(f"<html><head><title></title>{org}</head><body>" + "<p>filler</p>" * 2000
                                    + '<meta property="og:title" content="The post in the body"></body>'))
    record = one([], http_server.url("/post"))
    assert (record["title"], record["title_source"], record["error"]) == ("The post in the body", "og", None)


def test_json_ld_and_twitter_titles(http_server):
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "From JSON-LD",'
          ' "publisher": {"name": "The Paper"}, "author": {"name": "A. Writer"}}</script>')
    http_server.route("/ld", page(f"<head><title>Loading...</title>{ld}</head><body>"))
    http_server.route("/tw", page('<head><title>Untitled Document</title>'
                                  '<meta name="twitter:title" content="From Twitter">'
                                  '<meta name="twitter:description" content="Tweet text"></head><body>'))
    ld_record, tw_record = one([], http_server.url("/ld")), one([], http_server.url("/tw"))
    assert (ld_record["title"], ld_record["title_source"], ld_record["site"], ld_record["author"]) == (
        "From JSON-LD", "jsonld", "The Paper", "A. Writer")
    assert (tw_record["title"], tw_record["title_source"], tw_record["description"]) == (
        "From Twitter", "twitter", "Tweet text")


def test_prefer_card_takes_og_title_over_a_useful_title(http_server):
    http_server.route("/p", page('<head><title>Page title | Site</title>'
                                 '<meta property="og:title" content="Card title"></head><body>'))
    assert one([], http_server.url("/p"))["title"] == "Page title | Site"
    assert one(["--prefer", "card"], http_server.url("/p"))["title_source"] == "og"
    assert one([], http_server.url("/p"), {"LINKFILTER_PREFER": "card"})["title"] == "Card title"
    bad = run(["--prefer", "og"], b"")
    assert bad.returncode == 2 and b"--prefer og: not one of title, card" in bad.stderr


def test_every_new_field_in_json_and_in_format(http_server):
    long = " ".join(["word"] * 200)
    http_server.route("/a", page(f'<head><title>A title</title><meta name="description" content="{long}">'
                                 '<meta name="application-name" content="App"><meta name="author" content="Me">'
                                 "</head><body>"))
    http_server.route("/img", page(b"\x89PNG" + b"x" * 100, "image/png"))
    http_server.route("/doc", page(b"%PDF-1.7", "application/pdf"))
    record = one([], http_server.url("/a"))
    fields = ("site", "description", "author", "title_source", "kind", "final_host")
    assert list(record) == list(RECORD_FIELDS) and set(fields) <= set(record)
    assert (record["site"], record["author"], record["title_source"], record["kind"],
            record["final_host"]) == ("App", "Me", "title", "page", None)
    assert len(record["description"]) <= 300 and record["description"].endswith("word\u2026")
    template = "|".join("{%s}" % f for f in fields)
    p = run(["-n", "--allow-private", "-f", template],
            f"{http_server.url('/a')}\n{http_server.url('/img')}\n{http_server.url('/doc')}\n".encode())
    got = sorted(p.stdout.decode().splitlines())
    assert got == sorted([f"App|{record['description']}|Me|title|page|", "||||image|", "||||pdf|"])


def test_a_redirect_to_another_site_shows_where_it_led(http_server):
    http_server.route("/abc", redirect("http://example.com/story"))
    http_server.route("/story", page("<title>The story</title>"))
    http_server.route("/local", redirect("http://www.t.co/story2"))
    http_server.route("/story2", page("<title>Same site</title>"))
    with ProxyServer(route=lambda host, port: ("127.0.0.1", http_server.port)) as proxy:
        env = {"http_proxy": proxy.url("/")}
        data = b"http://t.co/abc\nhttp://t.co/local\n"
        text = run(["-n", "--allow-private", "--ordered"], data, env)
        custom = run(["-n", "--allow-private", "-f", "{host} {final_host}: {title}"], b"http://t.co/abc\n", env)
        record = one([], "http://t.co/abc", env)
    assert text.stdout.decode() == "t.co \u2192 example.com: The story\nt.co: Same site\n"
    assert custom.stdout.decode() == "t.co example.com: The story\n"  # custom formats print what they ask
    assert (record["final_host"], record["final_url"]) == ("example.com", "http://example.com/story")


# -- oEmbed ------------------------------------------------------------------------------


def test_a_registry_url_is_described_from_its_endpoint_not_its_page(real_names):
    server, env = real_names
    server.route("/oembed", answer({"type": "video", "title": "Never Gonna Give You Up",
                                    "author_name": "Rick Astley", "provider_name": "YouTube",
                                    "html": "<iframe src=https://www.youtube.com/embed/x></iframe>"}))
    server.route("/watch", page("<title>Before you continue to YouTube</title>"))
    record = one([], VIDEO, env)
    assert (record["title"], record["title_source"], record["author"], record["site"], record["kind"]) == (
        "Never Gonna Give You Up", "oembed", "Rick Astley", "YouTube", "video")
    assert server.requests_for("/watch") == []  # the page was never fetched
    (asked,) = server.requests_for("/oembed")
    query = parse_qs(urlsplit(asked.target).query)
    assert query == {"url": [VIDEO], "format": ["json"]}
    assert asked.header("Accept") == JSON
    assert asked.header("User-Agent").endswith("(link title bot)")
    assert asked.header("Host") == "www.youtube.com"
    text = run(["-n", "--allow-private"], f"{VIDEO}\n".encode(), env)
    assert text.stdout.decode() == "www.youtube.com: Never Gonna Give You Up\n"


def test_no_oembed_reads_the_page(real_names):
    server, env = real_names
    server.route("/oembed", answer({"type": "video", "title": "From oEmbed"}))
    server.route("/watch", page("<title>Cats on a piano - YouTube</title>"))
    for args, extra in ((["--no-oembed"], {}), ([], {"LINKFILTER_NO_OEMBED": "1"})):
        record = one(args, VIDEO, {**env, **extra})
        assert (record["title"], record["title_source"]) == ("Cats on a piano - YouTube", "title")
    assert server.requests_for("/oembed") == []


@pytest.mark.parametrize("reply", [
    answer({"error": "not found"}, 404),
    answer(b"<html>not json</html>"),
    answer(b'["a", "list"]'),
    answer({"version": "1.0", "type": "rich"}),            # no usable field
    answer({"title": "Right answer, wrong type"}, content_type="text/html"),
    answer({"title": "x" * 70000}),                       # past the 64 KiB cap
], ids=["404", "malformed", "not-an-object", "no-field", "not-json-type", "too-big"])
def test_a_failed_answer_falls_back_to_the_page(real_names, reply):
    server, env = real_names
    server.route("/oembed", reply)
    server.route("/watch", page('<title>YouTube</title><meta property="og:title" content="From the page">'))
    record = one([], VIDEO, env)
    assert (record["title"], record["title_source"], record["error"]) == ("From the page", "og", None)
    assert len(server.requests_for("/oembed")) == 1 and len(server.requests_for("/watch")) == 1


def test_a_post_takes_the_first_paragraph_of_its_blockquote(real_names):
    server, env = real_names
    html = ('<blockquote class="twitter-tweet"><p lang="en" dir="ltr">just setting up my twttr</p>'
            '&mdash; jack (@jack) <a href="https://twitter.com/jack/status/20">March 21, 2006</a>'
            '</blockquote>\n<script async src="https://platform.twitter.com/widgets.js"></script>')
    server.route("/oembed", answer({"type": "rich", "author_name": "jack", "provider_name": "X",
                                    "html": html, "url": POST}))
    record = one([], POST, env)
    assert (record["title"], record["author"], record["site"], record["title_source"]) == (
        "just setting up my twttr", "jack", "X", "oembed")
    assert server.requests_for("/jack/status/20") == []
    assert server.requests[0].header("Host") == "publish.x.com"


def test_discovered_oembed_on_the_pages_own_site(http_server):
    link = '<link rel="alternate" type="application/json+oembed" href="/oembed.json?id=7" title="x">'
    http_server.route("/post", page(f"<html><head><title>Loading...</title>{link}</head><body>"))
    http_server.route("/oembed.json", answer({"type": "rich", "title": "The real post", "author_name": "Me"}))
    http_server.route("/useful", page(f"<html><head><title>A useful title</title>{link}</head><body>"))
    http_server.route("/header", page("<title>Loading...</title>", headers=[
        ("Link", f'<{http_server.url("/oembed.json")}>; rel="alternate"; type="application/json+oembed"')]))
    post = one([], http_server.url("/post"))
    assert (post["title"], post["title_source"], post["author"]) == ("The real post", "oembed", "Me")
    assert one([], http_server.url("/header"))["title"] == "The real post"
    asked = len(http_server.requests_for("/oembed.json"))
    # title mode: a useful title is kept and the endpoint never asked; card mode asks
    assert one([], http_server.url("/useful"))["title"] == "A useful title"
    assert len(http_server.requests_for("/oembed.json")) == asked
    assert one(["--prefer", "card"], http_server.url("/useful"))["title"] == "The real post"
    assert one(["--no-oembed"], http_server.url("/post"))["error"] == "no-title"


def test_discovery_to_another_site_is_refused(http_server):
    with HTTPServer() as other:
        other.route("/oembed", answer({"type": "rich", "title": "Elsewhere"}))
        href = f"http://localhost:{other.port}/oembed"  # localhost is not 127.0.0.1's site
        http_server.route("/post", page(f'<head><title>Loading...</title><link rel="alternate" '
                                        f'type="application/json+oembed" href="{href}"></head><body>'))
        record = one([], http_server.url("/post"))
        assert other.connections == 0
    assert (record["error"], record["reason"]) == ("no-title", 'only a placeholder title: "Loading..."')


def test_discovery_to_a_private_address_is_refused_by_the_guard(http_server):
    """The page's site is public (a fake DNS says so); its oEmbed host on the same site
    resolves to loopback, which the address guard refuses unless --allow-private."""
    with HTTPServer() as inside:
        inside.route("/oembed", answer({"type": "rich", "title": "From inside"}))
        http_server.route("/post", page('<head><title>Loading...</title><link rel="alternate" '
                                        'type="application/json+oembed" '
                                        f'href="http://oembed.page.test:{inside.port}/oembed"></head><body>'))

        def resolve(host, port, *, deadline, allow_private):
            if host == "page.test":  # public, as far as the guard knows
                return [(socket.AF_INET, ("127.0.0.1", port))]
            assert host == "oembed.page.test"
            return netguard.resolve("127.0.0.1", port, deadline=deadline, allow_private=allow_private)

        url = f"http://page.test:{http_server.port}/post"
        results = {}
        for allow in (False, True):
            with Fetcher(Settings(allow_private=allow, timeout=5), resolver=resolve) as fetcher:
                results[allow] = describe(fetcher, url, url, 1, "page.test", fetcher.settings)
            if not allow:
                assert inside.connections == 0
    assert (results[False].error, results[False].title) == ("no-title", None)
    assert (results[True].title, results[True].title_source) == ("From inside", "oembed")


#: Slack allowed past a deadline (process start-up is not in ``elapsed``; scheduling is).
MARGIN = 0.35


def test_the_endpoint_request_shares_the_urls_one_deadline(http_server, raw_server):
    """The page takes half the --timeout; an endpoint that never answers gets only the rest."""
    never = raw_server(hang())
    slow_page = threading.Event()

    def late_page(request):
        slow_page.wait(0.5)  # a slow server, never set: the page comes after half the deadline
        return page('<head><title>Loading...</title><link rel="alternate" type="application/json+oembed" '
                    f'href="{never.url("/oembed")}"></head><body>')

    http_server.route("/post", late_page)
    record = one(["-t", "1"], http_server.url("/post"))
    assert record["error"] == "no-title"
    assert never.connections == 1  # it was asked
    assert 0.5 <= record["elapsed"] < 1.0 + MARGIN  # not 0.5 + a whole second of its own
