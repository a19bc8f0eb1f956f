"""Fuzz pass: markup, title, decode and urls on inputs up to 64 KiB, whole and in random pieces.

The property tests elsewhere draw inputs of a few hundred bytes; here an input
is a few runs of a fragment (markup, a URL, a hostile shape, random text)
repeated up to MAX_INPUT bytes in all, fed whole and in pieces of random sizes.
Each test checks that both ways give the same answer, and bounds the time per
byte: against the same input with every run GROWTH times shorter, timed in the
same example, so that a scan gone quadratic fails (it costs GROWTH times more
per byte) whatever the machine's speed.  A few seconds in all.
"""

from __future__ import annotations

import codecs
import gc
import random
import time
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkfilter import card
from linkfilter.decode import choose_encoding
from linkfilter.markup import MarkupScanner, scan_markup
from linkfilter.scan import CandidateLines, decode_block
from linkfilter.title import TitleSniffer
from linkfilter.urls import find_urls, find_urls_in_block

MAX_INPUT = 64 * 1024
#: The small input has every run this many times shorter.
GROWTH = 8
#: Time per byte at full size, at most this many times the time per byte of the small input.
LINEAR_ENOUGH = 3.0
#: Inputs whose small version is shorter than this are checked for answers only (too quick to time well).
TIMED_FROM = 4 * 1024

def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MARKUP = [
    "<title>", "</title>", "</title ", "<TITLE a='>'>", "<title a=\"", "<script>", "</script>", "<!--", "-->",
    "<!-->", "<svg>", "</svg>", "<math>", "<![CDATA[", "]]>", "<template>", "</template>", "<style>",
    "<textarea>", "<meta charset=koi8-r>", "<meta http-equiv=content-type content='text/html; charset=sjis'>",
    '<meta property="og:title" content="O&amp;G">', "<meta", ' b=">"', "<a b='", "<a", "</a", " b =",
    "<a href='/x?a=1&amp;b=2'>", "'", '"', ">", "<", "/", " ", "\n", "<!x", "<?x", "</>", "<p>", "</head>",
    "<body>", "<plaintext>", "<font color=red>", "&amp;", "&eacute", "é", "東京", "\U0001f600", "\x1b$B",
    "\x00", "\u202e", "<script><!--<script>", "</script ", "text ",
    "Example", "Loading...", '<meta property="og:site_name" content="Example">',
    "<link rel=alternate type=application/json+oembed href=/o>", "<script type=application/ld+json>",
    '{"@type": "Article", "headline": "H"}',
]
URLISH = [
    "http://example.com/path", "https://a.b/x?q=1", "www.example.org/a_(b)", "http://bücher.example/p",
    "http://[::1]:8/x", "http://u:p@a.example/", " ", "\n", "(", ")", "?!", ".,", "://", "www.", "http://",
    "http://_", "a./b:", "(www.", "www.\u0301", "http://a..b/", "é", "\udce9", "\t", "<", ">", "x" * 50,
]


@st.composite
def runs(draw, fragments: list[str]) -> list[tuple[str, int]]:
    """A few (fragment, count) runs, at most MAX_INPUT bytes in all (often that many), shared by weight."""
    fragment = st.one_of(st.sampled_from(fragments), st.text(min_size=1, max_size=12))
    drawn = draw(st.lists(st.tuples(fragment, st.integers(1, 100)), min_size=1, max_size=5))
    size = draw(st.one_of(st.just(MAX_INPUT), st.integers(1, MAX_INPUT)))
    weights = sum(w for _, w in drawn)
    return [(f, max(1, size * w // weights // len(f.encode("utf-8", "surrogatepass")))) for f, w in drawn]


def joined(parts: list[tuple[str, int]], shrink: int = 1) -> str:
    """The runs laid end to end, each ``shrink`` times shorter; a shrunk run keeps the
    parity of its count, so that quotes left open in the input stay open in it (an odd
    run of ``<a b='`` swallows the rest of the page, an even one does not)."""
    return "".join(f * _shrunk(n, shrink) for f, n in parts)


def _shrunk(n: int, shrink: int) -> int:
    m = -(-n // shrink)
    return m + (m - n) % 2


def pieces(data, seed: int):
    """``data`` cut at random: pieces of 1 to 2**k items, k itself drawn per input."""
    rnd = random.Random(seed)
    top = 1 << rnd.randrange(0, 17)
    at = 0
    while at < len(data):
        size = rnd.randint(1, top)
        yield data[at:at + size]
        at += size


def seconds(check: Callable[[], object]) -> float:
    """CPU time of ``check`` (other processes on a busy machine do not count), the garbage collector off."""
    gc.disable()
    try:
        started = time.thread_time()
        check()
        return time.thread_time() - started
    finally:
        gc.enable()


def assert_linear(check: Callable[[str], object], parts: list[tuple[str, int]]) -> None:
    """Run ``check`` on the input and on its small version; the time per byte grows less than LINEAR_ENOUGH.

    Answers are checked either way; times only when the inputs are long enough
    (the small one once untimed first, so that whatever it imports is loaded),
    best of five when it looks slow.
    """
    big, small = joined(parts), joined(parts, GROWTH)
    check(small)
    if len(small) < TIMED_FROM or len(small) * 2 > len(big):
        check(big)
        return
    t_big = seconds(lambda: check(big))
    t_small = seconds(lambda: check(small))
    for _ in range(4):
        if t_big / len(big) <= LINEAR_ENOUGH * t_small / len(small):
            return
        t_big = min(t_big, seconds(lambda: check(big)))
        t_small = min(t_small, seconds(lambda: check(small)))
    ratio = (t_big / len(big)) / (t_small / len(small))
    assert ratio <= LINEAR_ENOUGH, f"{ratio:.1f}x the time per byte at {len(big)} characters"


# --------------------------------------------------------------------------- markup


@fuzz(40)
@given(runs(MARKUP), st.integers(0, 2**32))
def test_markup_whole_and_in_pieces(parts: list[tuple[str, int]], seed: int) -> None:
    def check(text: str) -> None:
        whole = scan_markup(text)
        scanner = MarkupScanner()
        for piece in pieces(text, seed):
            scanner.feed(piece)
        assert scanner.markup() == whole

    assert_linear(check, parts)


# --------------------------------------------------------------------------- title


def encoded(text: str, codec: str) -> bytes:
    body = text.encode(codec, "replace")
    if codec == "utf-16-le":
        body = codecs.BOM_UTF16_LE + body
    return body


@fuzz(30)
@given(runs(MARKUP), st.integers(0, 2**32), st.sampled_from(["utf-8", "cp1252", "shift_jis", "utf-16-le"]),
       st.sampled_from([None, "utf-8", "shift_jis", "bogus"]), st.booleans())
def test_title_whole_and_in_pieces(parts: list[tuple[str, int]], seed: int, codec: str,
                                   header: str | None, judged: bool) -> None:
    # judged: with the worker's useless-title judge (a title like "Example" reads on)
    judge = card.judge("http://www.example.com/a/page") if judged else None

    def check(text: str) -> None:
        body = encoded(text, codec)
        whole = TitleSniffer(header, judge)
        whole.feed(body)
        expected = whole.result(body, max_title=200, capped=False, card=True)
        sniffer = TitleSniffer(header, judge)
        read = 0
        for piece in pieces(body, seed):
            read += len(piece)
            if sniffer.feed(piece):
                break
        assert sniffer.stop_at == whole.stop_at
        assert sniffer.result(body[:read], max_title=200, capped=False, card=True) == expected

    assert_linear(check, parts)


class _PausingEverywhere(TitleSniffer):
    """The sniffer with the scanner pausing after every kept tag, never quiet: the reference
    for the one that skips the pauses that cannot decide anything."""

    def _quiet(self, upto: int) -> bool:
        return False


@fuzz(200)
@given(st.lists(st.sampled_from(MARKUP + ["<title>Council vote</title>", "<link rel=stylesheet href=/s>",
                                          "x" * 4096, "<meta name=description content=D>"]),
                min_size=1, max_size=40),
       st.integers(0, 2**32), st.sampled_from([None, "utf-8", "bogus"]), st.booleans())
def test_title_without_quiet_pauses_is_the_same(fragments: list[str], seed: int, header: str | None,
                                               judged: bool) -> None:
    """Not pausing after the head's tags once a useful title waits for the head's end
    changes no stop point and no field, whole or in pieces (past HEAD_AFTER_TITLE too)."""
    judge = card.judge("http://www.example.com/a/page") if judged else None
    body = "".join(fragments).encode("utf-8")
    for chunks in ([body], list(pieces(body, seed))):
        got, want = TitleSniffer(header, judge), _PausingEverywhere(header, judge)
        read = 0
        for piece in chunks:
            read += len(piece)
            done = got.feed(piece)
            assert want.feed(piece) == done
            if done:
                break
        assert got.stop_at == want.stop_at
        assert got.result(body[:read], max_title=200, capped=False, card=True) == \
            want.result(body[:read], max_title=200, capped=False, card=True)


# --------------------------------------------------------------------------- decode


@fuzz(20)
@given(runs(MARKUP), st.integers(0, 2**32), st.sampled_from(["utf-8", "cp1252", "shift_jis", "koi8-r"]),
       st.sampled_from([None, None, "utf-8", "latin1", "bogus"]))
def test_decode_whole_and_in_pieces(parts: list[tuple[str, int]], seed: int, codec: str,
                                    header: str | None) -> None:
    """choose_encoding chooses from a scan of the page fed in pieces what it chooses from one of it whole."""

    def check(text: str) -> None:
        body = text.encode(codec, "replace")
        whole = choose_encoding(body, header, scan_markup(body.decode("latin-1")))
        scanner = MarkupScanner()
        for piece in pieces(body, seed):
            scanner.feed(piece.decode("latin-1"))
        assert choose_encoding(body, header, scanner.markup()) == whole

    assert_linear(check, parts)


# --------------------------------------------------------------------------- urls


@fuzz(30)
@given(runs(URLISH), st.integers(0, 2**32))
def test_urls_whole_and_in_pieces(parts: list[tuple[str, int]], seed: int) -> None:
    """Line by line with find_urls, or the bytes cut into candidate lines in pieces, then a block at a time."""

    def check(text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        lines = data.decode("utf-8", "surrogateescape").split("\n")
        whole = [f for line in lines for f in find_urls(line)]
        scanner = CandidateLines()
        found = []
        for piece in pieces(data, seed):
            found += scanner.feed(piece)
        found += scanner.finish()
        assert find_urls_in_block(decode_block([line for _, line in found])) == whole

    assert_linear(check, parts)
