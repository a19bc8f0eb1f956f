"""linkfilter.markup: the scanner gives the same answer for any split, in time linear in the bytes fed."""

from __future__ import annotations

import ast
import gc
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkfilter.markup import MarkupScanner, scan_markup

TESTS = Path(__file__).resolve().parent

# Shapes a hostile server can send in small pieces, each a function of the size.
HOSTILE = {
    "quoted '>' in an open tag": lambda n: "<a b='" + ">" * (n - 6),
    "many b=\">\" in an open tag": lambda n: "<a" + ' b=">"' * (n // 6),
    "many b=\">\" in a meta": lambda n: "<meta" + ' b=">"' * (n // 6),
    "open title with quoted '>'": lambda n: "<title a='" + ">" * (n - 10),
    "one long tag name": lambda n: "<a" + "b" * (n - 2),
    "long unquoted value": lambda n: "<a b=" + "c" * (n - 5),
    "spaces in a tag": lambda n: "<a" + " " * (n - 2),
    "names and '=' in a tag": lambda n: "<a" + " b =" * (n // 4),
    "open title": lambda n: "<title>" + "x" * (n - 7),
    "open title, '<' and '/'": lambda n: "<title>" + "</titl" * (n // 6),
    "open comment": lambda n: "<!--" + "-" * (n - 4),
    "open script, escapes": lambda n: "<script>" + "<!--<script>" * (n // 12),
    "open bogus comment": lambda n: "<!" + "x" * (n - 2),
    "open CDATA in SVG": lambda n: "<svg><![CDATA[" + "]" * (n - 14),
    "many '<'": lambda n: "<" * n,
    "many '<a'": lambda n: "<a" * (n // 2),
    "many '</'": lambda n: "</" * (n // 2),
    "many '<!-'": lambda n: "<!-" * (n // 3),
    "many complete tags": lambda n: "<a href='x'>" * (n // 12),
    "many metas": lambda n: '<meta property="og:title" content="x">' * (n // 38),
    "after </head>, spaces": lambda n: "</head>" + " " * (n - 7),
}


def markup_literals() -> list[str]:
    """Every string literal with a "<" in the test files: the pages and fragments the tests use.

    Read with ``ast`` rather than imported, so that a test file being edited cannot break this one.
    """
    found: set[str] = set()
    for path in sorted(TESTS.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
                text = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
                if "<" in text:
                    found.add(text)
    return sorted(found)


def repeated(page: str, size: int) -> str:
    """``page`` over and over, cut to ``size`` characters."""
    return (page * (size // len(page) + 1))[:size]


def feed(text: str, piece: int) -> MarkupScanner:
    scanner = MarkupScanner()
    for at in range(0, len(text), piece):
        scanner.feed(text[at:at + piece])
    return scanner


def seconds(text: str, piece: int) -> float:
    """CPU time to feed ``text`` in pieces, the garbage collector off (other processes do not count)."""
    gc.disable()
    try:
        started = time.thread_time()
        feed(text, piece)
        return time.thread_time() - started
    finally:
        gc.enable()


def realistic_page(size: int) -> str:
    """A page as sites send them: head with meta, style and script, then links, lists, SVG icons, comments."""
    head = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            '<meta property="og:title" content="Front page">\n'
            "<style>body{margin:0} .nav>a{color:#333}</style>\n"
            "<script>if (a < b && c > d) { document.write('<title>no</title>'); }</script>\n"
            "<title>News &amp; more</title></head><body>\n")
    rows = []
    for n in range(size // 200 + 1):
        kind = n % 4
        if kind == 0:
            rows.append(f'<div class="row" data-id="{n}"><a href="/p/{n}?q=1&amp;r=2" title="story {n}">'
                        f"Story number {n} of the day</a> <span>by someone</span></div>\n")
        elif kind == 1:
            rows.append(f'<svg class="icon" viewBox="0 0 24 24"><title>icon</title>'
                        f'<path d="M{n} 2L7 7z"/></svg>\n')
        elif kind == 2:
            rows.append(f"<ul><li><a href='/a/{n}'>item {n}</a></li><li>another item</li></ul><!-- {n} -->\n")
        else:
            rows.append(f'<img src="/img/{n}.png" alt="picture {n}" width=120 height=80 loading=lazy><br/>\n')
    return (head + "".join(rows))[:size]


# --------------------------------------------------------------------------- any split, same answer

SCAN_PIECES = [
    "<title>", "</title>", "</title ", "</TITLE/", "<TITLE a='>'>", "<title a=\"", "<script>", "</script>",
    "<!--", "-->", "--!>", "<!-->", "<svg>", "</svg>", "<svg/>", "<math>", "<![CDATA[", "]]>", "<template>",
    "</template>", "<style>", "</style>", "<textarea>", "<meta charset=x>", "<meta property=og:title",
    " content='y'>", "<meta", ' b=">"', "<a b='", "<a", "</a", " b", " =", "= ", "=", "'", '"', ">", "<", "/",
    " ", "\n", "t", "x", "<!x", "<?x", "</ >", "</>", "<p>", "<b>", "</head>", "<body>", "<plaintext>",
    "<font color=red>", "<a href=/x/>", "&amp;", "é",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(SCAN_PIECES), max_size=30), st.lists(st.integers(1, 40), max_size=30))
def test_after_every_piece_it_answers_as_for_that_prefix(pieces: list[str], cuts: list[int]) -> None:
    """Nothing is decided late: after each feed, what a new scanner says of the text fed so far."""
    text = "".join(pieces)
    scanner = MarkupScanner()
    at = 0
    for size in cuts + [len(text)]:
        scanner.feed(text[at:at + size])
        at = min(len(text), at + size)
        assert scanner.markup() == scan_markup(text[:at]), at
    assert scanner.markup() == scan_markup(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(SCAN_PIECES), max_size=30), st.lists(st.integers(1, 40), max_size=30))
def test_a_pause_is_a_cut_and_resuming_loses_nothing(pieces: list[str], cuts: list[int]) -> None:
    """feed(pause=True) stops just past a deciding tag, answering there as a scanner cut there does."""
    text = "".join(pieces)
    scanner = MarkupScanner()
    at = 0
    for size in cuts + [len(text)]:
        paused = scanner.feed(text[at:at + size], pause=True)
        at = min(len(text), at + size)
        while paused:
            cut = scanner.paused_at
            assert cut is not None and cut < at and text[cut - 1] == ">"
            assert scanner.markup(cut) == scan_markup(text[:cut]), cut
            paused = scanner.resume(pause=True)
        assert scanner.paused_at is None
        assert scanner.markup() == scan_markup(text[:at]), at
    assert scanner.markup() == scan_markup(text)


def test_a_pause_comes_right_after_the_closing_title_tag() -> None:
    page = realistic_page(4000)
    scanner = MarkupScanner()
    stops = []
    paused = scanner.feed(page, pause=True)
    while paused:
        stops.append(page[:scanner.paused_at])
        paused = scanner.resume(pause=True)
    assert [s.rsplit("<", 1)[-1] for s in stops[:3]] == ['meta charset="utf-8">',
                                                          'meta property="og:title" content="Front page">',
                                                          "/title>"]
    assert scanner.markup() == scan_markup(page)


TAG_PIECES = ["<a", "</p", " ", "\t", "/", "=", '"', "'", ">", "x", "href", "=x", '="a>b"', "='c'", "<", "`",
              "-", "=/p/q", "/>", " = ", '="', "'>'", "b"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(TAG_PIECES), min_size=1, max_size=16),
       st.lists(st.integers(1, 8), max_size=16))
def test_an_unfinished_tag_ends_where_the_tokenizer_ends_it(pieces: list[str], cuts: list[int]) -> None:
    """_tag_end, resumed piece by piece, finds the ">" that _parse_tag finds in the whole text."""
    from linkfilter.markup import _T_NAME, _parse_tag, _tag_end

    text = "<a" + "".join(pieces)
    whole = _parse_tag(text, 0)
    step, quote, j, at = _T_NAME, "", 1, 0
    end = -1
    for size in cuts + [len(text)]:
        upto = min(len(text), at + size)
        piece = text[at:upto]
        found, step, quote = _tag_end(piece, max(0, j - at), step, quote)
        j = at = upto
        if found >= 0:
            end = at - len(piece) + found
            break
        if at == len(text):
            break
    assert end == (whole[2] if whole else -1), text


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_shapes_in_any_piece_size(name: str) -> None:
    text = HOSTILE[name](8 * 1024)
    whole = scan_markup(text)
    for piece in (1, 16, 64, 1000):
        scanner = feed(text, piece)
        assert scanner.markup() == whole, piece
        assert scanner.markup(len(text) // 3) == scan_markup(text[:len(text) // 3])


def test_the_buffer_keeps_only_what_is_undecided() -> None:
    """The consumed text is dropped after every feed, however long the tag or title it sits in."""
    from linkfilter.markup import _WAIT_LIMIT

    for text in [realistic_page(64 * 1024)] + [shape(64 * 1024) for shape in HOSTILE.values()]:
        scanner = MarkupScanner()
        for at in range(0, len(text), 16):
            scanner.feed(text[at:at + 16])
            assert len(scanner._buf) <= 2 * _WAIT_LIMIT + 16, text[:30]


def test_a_long_title_in_small_pieces() -> None:
    content = "Hello <b>world</b> & </titlex> " * 3000
    text = f"<head><title>{content}</title><body>"
    scanner = feed(text, 7)
    assert scanner.markup() == scan_markup(text)
    assert scanner.markup().title_raw == content
    assert scanner.markup(len(text) - 20).title_raw == content[:len(content) - 6]
    assert scanner.title_content(100) == content[:100 - len("<head><title>")]


# --------------------------------------------------------------------------- linear time

# 8 times the size: a quadratic scanner costs 8 times as much per byte, a linear one about the same.
GROWTH = 8
LINEAR_ENOUGH = 3.0


def test_feeding_in_pieces_is_linear() -> None:
    """Per byte, 8 times the text in small pieces costs about what the text does.

    For the realistic page and the hostile shapes (8 and 64 KiB, in 16- and
    64-byte pieces) and every literal with markup in the tests (4 and 32 KiB,
    64-byte pieces).  Timed against itself at the smaller size, in the same
    run; a shape that looks slower is timed again (best of five) before it counts.
    """
    cases = [(name, shape, 8 * 1024, piece)
             for name, shape in {"realistic page": realistic_page, **HOSTILE}.items() for piece in (16, 64)]
    cases += [(repr(literal[:40]), lambda n, s=literal: repeated(s, n), 4 * 1024, 64)
              for literal in markup_literals()]
    slow = []
    for name, shape, size, piece in cases:
        small, big = shape(size), shape(GROWTH * size)
        best_small, best_big = seconds(small, piece), seconds(big, piece)
        rounds = 1
        while best_big / len(big) > LINEAR_ENOUGH * best_small / len(small) and rounds < 5:
            best_small = min(best_small, seconds(small, piece))
            best_big = min(best_big, seconds(big, piece))
            rounds += 1
        ratio = (best_big / len(big)) / (best_small / len(small))
        if ratio > LINEAR_ENOUGH:
            slow.append(f"{name} in {piece}-byte pieces: {ratio:.1f}x per byte at {len(big)} characters")
    assert not slow, slow


CARD_DOC = (
    '<html><head><title>T</title><meta property="og:description" content="D">'
    '<meta name=author content=A><meta name="viewport" content="width=device-width">'
    '<link rel=stylesheet href=/a.css><LINK REL="alternate" TYPE="application/json+oembed" HREF="/o?u=1">'
    '<script type="application/ld+json">{"@type": "Article", "headline": "H </b> <!-- x"}</script>'
    '<script>var s = "<script type=application/ld+json>";</script>'
    '<template><script type="application/ld+json">{"name": "in a template"}</script>'
    '<link rel=alternate type=application/json+oembed href=/t></template>'
    '</head><body><script type="application/ld+json">[{"@type": "WebPage"}]</script><p>x'
)


def test_card_tags_are_found_whatever_the_split():
    whole = scan_markup(CARD_DOC)
    assert [m.attrs.get("property") or m.attrs.get("name") for m in whole.metas] == ["og:description", "author"]
    assert [link.attrs["href"] for link in whole.links] == ["/o?u=1"]
    assert [s.text for s in whole.scripts] == ['{"@type": "Article", "headline": "H </b> <!-- x"}',
                                               '[{"@type": "WebPage"}]']
    assert all(CARD_DOC[s.start:s.end].startswith("<script") and CARD_DOC[s.start:s.end].endswith("</script>")
               for s in whole.scripts)
    for size in (1, 2, 3, 7, 64):
        scanner = MarkupScanner()
        for at in range(0, len(CARD_DOC), size):
            scanner.feed(CARD_DOC[at:at + size])
        assert scanner.markup() == whole, size
    # cut inside the first JSON-LD script: it is not there yet
    cut = CARD_DOC.index("H </b>")
    assert scan_markup(CARD_DOC[:cut]).scripts == () and whole.scripts[0].end > cut
