"""CandidateLines: line numbers and candidate lines, however the stream is chunked.

Also the shortcuts that decide candidate lines a batch at a time (decode_block,
urls.find_urls_in_block, output.dry_run_text, the pipeline's text --dry-run):
each must give what its line-by-line counterpart gives.
"""

import io
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkfilter.output import dry_run_text, safe
from linkfilter.pipeline import Pipeline
from linkfilter.scan import CandidateLines, decode_block
from linkfilter.settings import Settings
from linkfilter.urls import (
    MAX_SCAN,
    Found,
    _lines_at,
    _plain_spans,
    _stray_marks,
    find_urls,
    find_urls_in_block,
)


def run(chunks, max_scan=1 << 20):
    scanner = CandidateLines(max_scan)
    out = []
    for chunk in chunks:
        out.extend(scanner.feed(chunk))
    out.extend(scanner.finish())
    return out, scanner.lines


def reference(data: bytes, max_scan=1 << 20):
    """What the scanner must find, computed the slow obvious way."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for number, line in enumerate(lines, 1):
        low = line[:max_scan].lower()
        if b"://" in low or b"www." in low:
            out.append((number, line[:max_scan]))
    return out, len(lines)


def test_plain_text_counts_lines_and_yields_nothing():
    assert run([b"a\nb\nc\n"]) == ([], 3)


def test_last_line_without_newline_counts():
    assert run([b"a\nhttp://x.org"]) == ([(2, b"http://x.org")], 2)


def test_marks_in_any_case_and_crlf_kept():
    out, n = run([b"x\r\nWWW.Example.com\r\nHTTP://A.B\n"])
    assert out == [(2, b"WWW.Example.com\r"), (3, b"HTTP://A.B")]
    assert n == 3


def test_a_line_split_across_chunks_is_joined():
    assert run([b"see ht", b"tp:/", b"/x.org now\nnext\n"]) == ([(1, b"see http://x.org now")], 2)


def test_long_line_is_scanned_only_at_its_start():
    line = b"a" * 50 + b" http://late.example\n"
    assert run([line], max_scan=40) == ([], 1)
    early = b"http://early.example " + b"b" * 100 + b"\nwww.x.y\n"
    out, n = run([early[:30], early[30:70], early[70:]], max_scan=40)
    assert out == [(1, early[:40]), (2, b"www.x.y")]
    assert n == 2


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"\n", b"http://", b"www.", b"WwW.", b":/", b"/", b" ", b"\xff"]), max_size=60),
    st.lists(st.integers(min_value=0, max_value=200), max_size=8),
    st.integers(min_value=3, max_value=30),
)
def test_any_chunking_gives_the_reference_answer(parts, cuts, max_scan):
    data = b"".join(parts)
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[i:j] for i, j in zip([0] + points, points + [len(data)])]
    assert run(chunks, max_scan) == reference(data, max_scan)


def test_without_line_counting_lines_are_numbered_zero():
    scanner = CandidateLines(count_lines=False)
    found = list(scanner.feed(b"a\nhttp://x.y\n")) + list(scanner.finish())
    assert found == [(0, b"http://x.y")]


# -- the marks in any case and company -------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [b"a", b"\n", b"://", b"//", b":", b"/", b".", b"w", b"W", b"ww", b"wW", b"www.", b"WWW.",
             b"wWw.", b"http://", b" ", b"\r", b"\xff", b"\xe2\x82"]
        ),
        max_size=80,
    ),
    st.integers(min_value=0, max_value=300),
)
def test_marks_next_to_near_misses_give_the_reference_answer(parts, cut):
    data = b"".join(parts)
    cut %= len(data) + 1
    assert run([data[:cut], data[cut:]], 25) == reference(data, 25)


# -- decode_block: one decode for a batch of lines ------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=8))
def test_a_block_decodes_each_line_as_it_decodes_alone(lines):
    block = decode_block(lines)
    assert block.split("\n") == [line.decode("utf-8", "surrogateescape") for line in lines]


# -- find_urls_in_block: the same URLs as find_urls line by line --------------------------

def line_by_line(block: str) -> list[Found]:
    return [f for line in block.split("\n") for f in find_urls(line)]


BLOCK_PIECES = st.sampled_from(
    [
        "http://", "https://", "HTTPS://", "hTtP://", "www.", "WWW.", "wWw.", "http://www.", "://", "s://",
        "example.com", "a.b", "x-y.org", "0x1", "123", "a" * 64, "/", "/p/q?x=1#f", "?", "#", ":", ":80",
        ":8a", ".", "..", "-", "_", "@", "u:p@", "%41", "(", ")", "[", "]", "{", "}", "(x)", " ", "  ", "\t",
        ",", ";", "!", "'", '"', "*", "<", ">", "|", "\\", "é", "\u0301", "\u200b", "\u3000", "\x85",
        "\udce9", "İ", "x", "Z", "[12:34:56] <nick> ",
    ]
)
# lines of plain links, which the one-pass shortcut decides, and of odd pieces, which it mostly refuses
PLAIN_LINK = st.tuples(
    st.sampled_from(["", " ", "(", "<", "'", "\t", "[", "{", "*", '"', "|", ">", "x", "/"]),
    st.sampled_from(["http://", "HTTPS://", "www.", "WwW.", "http://www.", "https://"]),
    st.lists(st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,6}|[a-z0-9-]{1,5}|[0-9]{1,3}", fullmatch=True),
             min_size=1, max_size=3).map(".".join),
    st.sampled_from(["", "", "", ".", ":80", ":"]),
    st.lists(st.sampled_from(["/", "/p", "?q=1", "#f", "/(x)", "/[a]", "/é", ".", ",", "'", ")", "(",
                              "/http://z.org", "/www.z.org"]), max_size=4).map("".join),
    st.sampled_from(["", " ", ". ", ") ", "\t", ", "]),
).map("".join)
BLOCK_LINE = st.one_of(
    st.lists(BLOCK_PIECES, max_size=14).map("".join),
    st.lists(st.one_of(PLAIN_LINK, st.sampled_from(["[10:00:01] <a> ", "word ", "a/b ", "10:30? "])),
             max_size=4).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(BLOCK_LINE, min_size=1, max_size=6), st.data())
def test_a_block_gives_the_urls_of_its_lines(lines, data):
    # repeat some lines, so that the same URL comes again, on its own line or another
    lines += data.draw(st.lists(st.sampled_from(lines), max_size=3))
    block = "\n".join(data.draw(st.permutations(lines)))
    assert find_urls_in_block(block) == line_by_line(block)


CHAT = "\n".join(
    [
        "[10:00:01] <ann> Why not https://example.com/path/1?x=1. see a/b",
        "[10:00:02] <bob> What about www.Example.org/a_(b) and HTTP://www.x.com:8080/ok",
        "[10:00:03] <ann> e.g. this... 10:30? http://example.com/path/1?x=1",
        "[10:00:04] <bob> (https://en.wikipedia.org/wiki/Foo_(bar)).",
        "[10:00:05] <ann> twice: https://b.example/x https://b.example/x, http://b.example/x",
    ]
)


def slow_lines(block: str) -> list[str]:
    """The lines of ``block`` that find_urls_in_block leaves to find_urls."""
    find_urls_in_block("")  # compiles the regexes
    spans, where = _plain_spans(block)
    return [block[start:end] for start, end in _lines_at(block, where + _stray_marks(block, spans, where))]


def test_a_chat_block_is_decided_in_one_pass():
    # the one-pass shortcut must be what the property above compares, on common lines
    assert slow_lines(CHAT) == []
    assert [f.text for f in find_urls_in_block(CHAT)] == [
        "https://example.com/path/1?x=1",
        "www.Example.org/a_(b)",
        "HTTP://www.x.com:8080/ok",
        "http://example.com/path/1?x=1",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://b.example/x",
        "http://b.example/x",
    ]
    assert find_urls_in_block(CHAT) == line_by_line(CHAT)


@pytest.mark.parametrize(
    "odd",
    [
        "see http://a.example/x(y and http://b.example",  # an opener after the path
        "http://" + "a" * 64 + ".example/ http://b.example",  # a host label too long for the fast regex
        "awww.example.com http://b.example",  # a mark that starts no URL
        "www.a.example/?u=(http://b.example/) http://b.example",  # a URL inside another
        "→http://a.example← http://b.example",  # after a character the fast regex does not know
        "http://b\u00fccher.example/ http://b.example",  # a host the fast regex does not know
    ],
)
def test_only_the_lines_the_shortcut_cannot_vouch_for_go_line_by_line(odd):
    block = "\n".join(["x http://b.example y", odd, "www.c.example/(d) http://b.example", odd, ""])
    assert slow_lines(block) == [odd, odd]
    assert find_urls_in_block(block) == line_by_line(block)


def test_a_block_with_a_line_cut_at_the_scan_limit_goes_line_by_line():
    long_line = "x" * (MAX_SCAN - 10) + " http://cut.example/abcdefghijklmnop"
    block = "http://a.example\n" + long_line + "\nwww.b.example"
    assert find_urls_in_block(block) == line_by_line(block)
    assert [f.text for f in find_urls_in_block(block)] == ["http://a.example", "www.b.example"]


# -- dry_run_text: terminal-safe in one check ---------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(BLOCK_LINE, st.text(max_size=10)), min_size=1, max_size=5))
def test_dry_run_text_is_each_url_made_terminal_safe(urls):
    assert dry_run_text(urls) == "\n".join(safe(url) for url in urls)


# -- the pipeline's text --dry-run shortcut reports what its per-line path reports --------------

def test_text_dry_run_prints_the_urls_json_mode_reports():
    rnd = random.Random(5)
    pieces = ["word", "We", "a/b", "10:30?", "e.g.", "...", "http://a.example/p?q=1.", "www.B.example",
              "(https://c.example/x_(y))", "http://www.d.example:81/", "awww.no", "http://e.example/x(y",
              "https://a.example/p?q=1", "\udcff\udcfe", "é", "\t"]
    data = "".join(
        " ".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 8))) + rnd.choice(["\n", "\r\n"])
        for _ in range(3000)
    ).encode("utf-8", "surrogateescape")

    def run_pipeline(**options) -> bytes:
        out = io.BytesIO()
        status = Pipeline(
            Settings(dry_run=True, no_echo=True, **options), stdin=io.BytesIO(data), stdout=out,
            stderr=io.BytesIO(),
        ).run(["-"])
        assert status == 0
        return out.getvalue()

    text = run_pipeline().decode().splitlines()
    records = [json.loads(line) for line in run_pipeline(json=True).decode().splitlines()]
    assert len(text) > 1000
    assert text == [r["url"] for r in records]
