"""oEmbed: registry matching, where discovery may lead, reading an answer, the data file."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time

import pytest

from linkfilter import oembed
from linkfilter.title import Card

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "linkfilter" / "data"


@pytest.mark.parametrize("url, provider", [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube"),
    ("http://www.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube"),  # http and https alike
    ("https://m.youtube.com/shorts/abc", "YouTube"),
    ("https://youtu.be/dQw4w9WgXcQ", "YouTube"),
    ("https://x.com/jack/status/20", "X"),
    ("https://bsky.app/profile/someone.bsky.social/post/3k", "Bluesky Social"),
    ("https://vimeo.com/76979871", "Vimeo"),
    ("https://www.flickr.com/photos/someone/123", "Flickr"),
])
def test_registry_matches_by_host_then_scheme(url, provider):
    endpoint = oembed.endpoint_for(url)
    assert endpoint is not None and endpoint.provider == provider
    assert "{format}" not in endpoint.url


@pytest.mark.parametrize("url", [
    "https://www.youtube.com/",                      # the home page: no scheme for it
    "https://www.youtube.com/feed/trending",
    "https://evil.example/www.youtube.com/watch?v=1",  # the name in the path, not the host
    "https://youtube.com.evil.example/watch?v=1",
    "https://www.example.com/watch?v=1",
    "http://127.0.0.1:8080/watch",
])
def test_registry_does_not_match_other_hosts_or_paths(url):
    assert oembed.endpoint_for(url) is None


def test_the_request_asks_for_json_about_the_url():
    endpoint = oembed.endpoint_for("https://vimeo.com/76979871")
    assert oembed.request_url(endpoint, "https://vimeo.com/76979871?a=1&b=2") == (
        "https://vimeo.com/api/oembed.json?url=https%3A%2F%2Fvimeo.com%2F76979871%3Fa%3D1%26b%3D2&format=json")
    with_query = oembed.Endpoint("https://e.example/oembed?key=1", "E")
    assert oembed.request_url(with_query, "http://a/").startswith("https://e.example/oembed?key=1&url=")


def test_link_header():
    value = ('<https://a.example/next>; rel="next", <https://a.example/oembed?url=x>; rel="alternate"; '
             'type="application/json+oembed"; title="A page"')
    assert oembed.link_header(value) == "https://a.example/oembed?url=x"
    assert oembed.link_header('<https://a.example/o.xml>; rel="alternate"; type="text/xml+oembed"') is None
    assert oembed.link_header(None) is None


def test_discovery_stays_on_the_pages_site_or_a_registry_endpoint():
    page = "https://blog.example.co.uk/posts/1"
    assert oembed.discovered("/oembed?url=x", page) == "https://blog.example.co.uk/oembed?url=x"
    assert oembed.discovered("https://api.example.co.uk/o", page) == "https://api.example.co.uk/o"
    assert oembed.discovered("https://www.youtube.com/oembed?url=x", page) == \
        "https://www.youtube.com/oembed?url=x"  # a registry endpoint host
    for href in ("https://other.co.uk/o", "https://co.uk/o", "http://127.0.0.1/o",
                 "javascript:alert(1)", "ftp://blog.example.co.uk/o", ""):
        assert oembed.discovered(href, page) is None, href


def test_reading_an_answer():
    answer = oembed.read(json.dumps({
        "type": "video", "title": "  A  video\n", "author_name": "Someone", "provider_name": "YouTube",
        "html": "<iframe src=x></iframe>"}).encode(), 200)
    assert answer == oembed.Answer(Card("A video", "YouTube", None, "Someone"), "video")
    assert oembed.read(b'{"type": "photo", "title": "P"}', 200).kind == "image"
    for bad in (b"not json", b"[1, 2]", b'"text"', b"{}", b'{"type": "rich", "version": "1.0"}',
                b'{"title": 5}'):
        assert oembed.read(bad, 200) is None, bad


def test_a_post_without_a_title_takes_its_blockquotes_first_paragraph():
    html = ('<blockquote class="twitter-tweet"><p lang="en" dir="ltr">Just setting up my '
            '<a href="https://t.co/x">twttr</a> &amp; more\n</p>&mdash; jack (@jack) '
            '<a href="https://twitter.com/jack/status/20">March 21, 2006</a></blockquote>'
            '<script async src="https://platform.twitter.com/widgets.js"></script>'
            '<p>not this one</p>')
    answer = oembed.read(json.dumps({"type": "rich", "html": html, "author_name": "jack",
                                     "provider_name": "X"}).encode(), 200)
    assert answer.card == Card("Just setting up my twttr & more", "X", None, "jack")
    capped = oembed.read(json.dumps({"type": "rich", "html": html}).encode(), 10)
    assert capped.card.title == "Just sett\u2026"
    # only rich and video answers, only inside a blockquote
    assert oembed.read(json.dumps({"type": "link", "html": html}).encode(), 200) is None
    assert oembed.read(json.dumps({"type": "rich", "html": "<p>x</p>"}).encode(), 200) is None
    # a paragraph after the blockquote is not its first paragraph
    after = "<blockquote>a post with no paragraph</blockquote><p>the page around it</p>"
    assert oembed.read(json.dumps({"type": "rich", "html": after}).encode(), 200) is None


#: Time per byte of a hostile answer at full size, at most this many times that of one
#: eight times shorter (a search that starts again at each tag takes 8x per byte).
LINEAR_ENOUGH = 3.0


@pytest.mark.parametrize("unit, tail", [
    ("<blockquote>", ""), ("<blockquote><p>", ""), ("<blockquote<", ""), ("<", "</p>"),
], ids=["blockquotes", "open-paragraphs", "unclosed-tags", "lone-brackets"])
def test_a_hostile_answer_is_read_in_linear_time(unit, tail):
    """Thousands of unclosed tags within the 64 KiB cap cost their length, not its square."""
    def seconds(n: int) -> float:
        body = json.dumps({"type": "rich", "html": "<blockquote><p>" * (unit == "<") + unit * n + tail}).encode()
        best = float("inf")
        for _ in range(5):
            started = time.thread_time()
            for _ in range(10):
                oembed.read(body, 200)
            best = min(best, time.thread_time() - started)
        return best

    big = oembed.MAX_BODY // 4 // len(unit)
    seconds(big // 8)  # warm up
    assert seconds(big) <= 8 * LINEAR_ENOUGH * max(seconds(big // 8), 1e-4)


def test_registry_and_suffix_list_are_not_loaded_at_start_up():
    code = ("import sys, linkfilter.cli, linkfilter.pipeline, linkfilter.worker; "
            "print(sorted(m for m in sys.modules if m.startswith(('publicsuffixlist', 'linkfilter.oembed', "
            "'linkfilter.domain', 'linkfilter.card', 'linkfilter.jsonld'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_the_data_ships_with_its_licence_and_the_script_rebuilds_it(tmp_path):
    data = DATA / "oembed-providers.json"
    licence = (DATA / "oembed-providers.LICENSE").read_text()
    assert "MIT" in licence or "Permission is hereby granted" in licence
    providers = json.loads(data.read_bytes())
    assert len(providers) == 371
    # the published providers.json has more keys than linkfilter reads: they are dropped
    published = [{**p, "extra": 1, "endpoints": [{**e, "note": "x"} for e in p["endpoints"]]}
                 for p in providers]
    source = tmp_path / "providers.json"
    source.write_text(json.dumps(published))
    out = tmp_path / "out.json"
    script = [sys.executable, str(ROOT / "scripts" / "update_oembed.py")]
    done = subprocess.run(script + [str(source), str(out)], capture_output=True, text=True)
    assert done.returncode == 0 and "371 providers, 377 endpoints" in done.stdout
    assert out.read_bytes() == data.read_bytes()
    source.write_text('{"not": "a list"}')
    bad = subprocess.run(script + [str(source), str(out)], capture_output=True, text=True)
    assert bad.returncode == 1 and "not a list of providers" in bad.stderr
    assert out.read_bytes() == data.read_bytes()  # left as it was
