"""linkfilter.title: which title, cleaned how, and when the fetcher has read enough."""

from __future__ import annotations

import codecs
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkfilter.decode import DETECT_BYTES, PRESCAN_MIN_BYTES, utf8_prefix_valid
from linkfilter.hints import Hints
from linkfilter.markup import MarkupScanner, scan_markup
from linkfilter.title import (
    ELLIPSIS,
    PageTitle,
    TitleSniffer,
    clean_title,
    page_title,
    unescape_attribute,
)

JA_TITLE = "東京の天気と週末のイベント情報"
JA_TEXT = ("今週末の東京は晴れの日が続き、気温も少し上がる見込みです。上野公園では桜まつりが開かれ、多くの人が"
           "花見を楽しむことが予想されています。主催者によると、屋台や音楽のステージも用意されており、家族連れ"
           "でも楽しめる内容になっているということです。")
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def title_of(html: str, **kw) -> str | None:
    kw.setdefault("max_title", 200)
    kw.setdefault("capped", False)
    return page_title(html.encode("utf-8"), "utf-8", **kw).title


def sniffed(html: str, piece: int = 7) -> str | None:
    """The title as the worker gets it: a TitleSniffer fed the page in small pieces until
    it has enough, then asked about what it was fed (no charset in the header)."""
    body = html.encode("utf-8")
    sniffer = TitleSniffer(None)
    fed = len(body)
    for at in range(0, len(body), piece):
        if sniffer.feed(body[at : at + piece]):
            fed = at + piece
            break
    return sniffer.result(body[:fed], max_title=200, capped=False).title


# --------------------------------------------------------------------------- which <title>

@pytest.mark.parametrize("html, expected", [
    ("<title>Plain</title>", "Plain"),
    ("<html><head><TITLE>Upper</TITLE></head>", "Upper"),
    ("<TiTlE lang='en' data-x=\"a>b\" hidden>Attributes</tItLe>", "Attributes"),
    ("<title>A <b>B</b> &lt;i&gt;</title>", "A <b>B</b> <i>"),
    ("<title>a</titlex>b</title >", "a</titlex>b"),
    ("<title>slash</title/>", "slash"),
    ("<title>newline</TITLE\n>", "newline"),
    ("<title/>self-closing is ignored</title>", "self-closing is ignored"),
    ("<title>&amp; &#233; &#xE9; &eacute &copy; &notit; &#x80; &ampx</title>", "& é é é © ¬it; € &x"),
    ("<title>one</title><title>two</title>", "one"),
    ("<!-- <title>no</title> --><title>yes</title>", "yes"),
    ("<!--><title>yes</title>", "yes"),
    ("<!---><title>yes</title>", "yes"),
    ("<!-- a --!><title>yes</title>", "yes"),
    ("<!DOCTYPE html><?php echo '<title>no</title>' ?><title>yes</title>", "yes"),
    ("<script>document.title = '<title>no</title>'</script><title>yes</title>", "yes"),
    ("<script><!-- document.write('<script>x</script><title>no</title>') --></script>"
     "<title>yes</title>", "yes"),
    ("<script><!--</script><title>yes</title>", "yes"),
    ("<style>a::after { content: '<title>no</title>' }</style><title>yes</title>", "yes"),
    ("<template><title>no</title></template><title>yes</title>", "yes"),
    ("<template><template></template><title>no</title></template><title>yes</title>", "yes"),
    ("<textarea><title>no</title></textarea><title>yes</title>", "yes"),
    ("<noscript><title>no</title></noscript><title>yes</title>", "yes"),
    ("<xmp><title>no</title></xmp><iframe><title>no</title></iframe><title>yes</title>", "yes"),
    ("<noembed><title>no</title></noembed><noframes><title>no</title></noframes><title>yes</title>", "yes"),
    ("<svg><title>icon</title></svg><title>page</title>", "page"),
    ("<title>page</title><svg><title>icon</title></svg>", "page"),
    ("<math><title>formula</title></math><title>page</title>", "page"),
    ("<svg><svg></svg><title>icon</title></svg><title>page</title>", "page"),
    ("<svg/><title>page</title>", "page"),
    ("<svg class='a' /><title>page</title>", "page"),
    ("<svg a=b/><title>icon</title></svg><title>page</title>", "page"),
    ("<math display=block/><mi>x</mi><title>m</title></math><title>page</title>", "page"),
    ("<svg><![CDATA[</svg><title>no</title>]]></svg><title>page</title>", "page"),
    ("<svg><style><title>icon</title></style></svg><title>page</title>", "page"),
    ("<svg><p><title>breakout</title>", "breakout"),
    ("<svg><font color=red><title>breakout</title>", "breakout"),
    ("<svg><font><title>icon</title></font></svg><title>page</title>", "page"),
    ('<a title="<title>no</title>" href=x>y</a><title>yes</title>', "yes"),
    ("<a b=c/d title='<title>no</title>'><title>yes</title>", "yes"),
    ("<a x = \"<title>no</title>\"><title>yes</title>", "yes"),
    ("<a \"<title>\"=x><title>yes</title>", "yes"),
    ("a < b <title>yes</title>", "yes"),
    ("<head></head>\n<title>after head</title>", "after head"),
    ("<title>\n\t Hello\u00a0\u00a0  World \r\n</title>", "Hello World"),
])
def test_which_title(html: str, expected: str) -> None:
    assert title_of(html) == expected
    assert sniffed(html) == expected


def test_no_title() -> None:
    assert title_of("<html><head></head><body>text</body></html>") is None
    assert sniffed("<p>no title</p>") is None
    assert title_of("<plaintext><title>no</title>") is None
    assert title_of("<title> \t\n </title>") is None


def test_title_still_open_at_the_end() -> None:
    assert sniffed("<title>runs to the end") == "runs to the end"
    assert sniffed("<title>almost</title") == "almost"
    body = b"<html><head><title>cut here"
    assert page_title(body, None, max_title=200, capped=False) == PageTitle(
        "cut here", "utf-8", "utf-8", True)
    assert page_title(body, None, max_title=200, capped=True) == PageTitle(None, "utf-8", "utf-8", True)
    closed = page_title(b"<title>x</title>", None, max_title=200, capped=True)
    assert (closed.title, closed.unclosed) == ("x", False)


# --------------------------------------------------------------------------- og:title, twitter:title

@pytest.mark.parametrize("meta, expected", [
    ('<meta property="og:title" content="OG title">', "OG title"),
    ("<meta content='Reversed &amp; single' property='og:title'>", "Reversed & single"),
    ("<meta property=og:title content=Unquoted>", "Unquoted"),
    ('<META PROPERTY="OG:TITLE" CONTENT="Upper">', "Upper"),
    ('<meta name="og:title" content="By name">', "By name"),
    ('<meta name="twitter:title" content="Tweet">', "Tweet"),
    ('<meta name="twitter:title" content="Tweet"><meta property="og:title" content="OG wins">', "OG wins"),
    ('<meta property="og:title" content="  "><meta name="twitter:title" content="Blank OG">', "Blank OG"),
    ('<meta property="og:title" content="?a=1&copy=2 &copy &#169;">', "?a=1&copy=2 © ©"),
])
def test_fallback_metas(meta: str, expected: str) -> None:
    html = f"<html><head>{meta}</head><body><p>no title element</p></body></html>"
    assert title_of(html) == expected
    assert sniffed(html) == expected


def test_title_element_beats_og_but_an_empty_one_does_not() -> None:
    og = '<meta property="og:title" content="OG">'
    assert title_of(f"<head>{og}<title>Element</title></head>") == "Element"
    assert title_of(f"<head>{og}<title>  </title></head>") == "OG"
    assert title_of(f"<head><template>{og}</template></head>") is None


def test_og_after_a_title_still_open_at_the_cap() -> None:
    body = b'<head><meta property="og:title" content="OG"><title>never closed'
    assert page_title(body, None, max_title=200, capped=True) == PageTitle("OG", "utf-8", "utf-8", True)


def test_og_in_a_legacy_encoding() -> None:
    html = '<meta charset="windows-1252"><meta property="og:title" content="Café &amp; crème">'
    body = html.encode("cp1252")
    assert page_title(body, None, max_title=200, capped=False) == PageTitle(
        "Café & crème", "windows-1252", "meta", False)


def test_unescape_attribute() -> None:
    assert unescape_attribute("a&amp;b &lt; &#60; &#x3C; &gt") == "a&b < < < >"
    assert unescape_attribute("?x=1&copy=2&amp=3&ampx&amp.") == "?x=1&copy=2&amp=3&ampx&."
    assert unescape_attribute("&notin; &notit; &not!") == "∉ &notit; ¬!"


# --------------------------------------------------------------------------- clean-up

def test_whitespace_collapses() -> None:
    raw = "\t  Hello\n\n\u00a0World\u2003 \u3000and\u2028more\x85  "
    assert clean_title(raw, 0) == "Hello World and more"


def test_hostile_characters_are_removed() -> None:
    raw = ("\x1b[2J\x1b]0;pwned\x07Clean\x9b31m \u202eevil\u202c \u2066iso\u2069 "
           "\x00nul\x08bs\x7fdel \u200fmark")
    cleaned = clean_title(raw, 0)
    assert cleaned == "[2J]0;pwnedClean31m evil iso nulbsdel \u200fmark"
    assert not UNSAFE.search(cleaned)


def test_hostile_title_through_page_title() -> None:
    body = "<title>\x1b[2J\x1b]0;set\x07Hi\x9b\u202e!</title>".encode("utf-8")
    assert page_title(body, None, max_title=200, capped=False).title == "[2J]0;setHi!"


def test_long_title_is_cut_with_the_ellipsis_counted() -> None:
    long = "word " * 2000
    assert len(long) == 10000
    cut = title_of(f"<title>{long}</title>", max_title=200)
    assert len(cut) <= 200 and cut.endswith(ELLIPSIS) and cut.startswith("word word")
    assert title_of(f"<title>{'x' * 10000}</title>", max_title=200) == "x" * 199 + ELLIPSIS
    assert title_of(f"<title>{'x' * 10000}</title>", max_title=0) == "x" * 10000
    assert clean_title("abc", 3) == "abc" and clean_title("abcd", 3) == "ab" + ELLIPSIS
    assert clean_title("abcd", 1) == ELLIPSIS


def test_nothing_left_is_none() -> None:
    assert clean_title("", 10) is None
    assert clean_title(" \x00\u202e\t\u00a0", 10) is None


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=50))
def test_clean_title_is_safe_and_idempotent(raw: str, max_title: int) -> None:
    cleaned = clean_title(raw, max_title)
    if cleaned is None:
        return
    assert not UNSAFE.search(cleaned)
    assert "  " not in cleaned and cleaned == cleaned.strip(" ")
    assert not max_title or len(cleaned) <= max_title
    assert clean_title(cleaned, 0) == cleaned


# --------------------------------------------------------------------------- the stop condition

def feed_all(sniffer: TitleSniffer, body: bytes, chunk: int) -> int | None:
    """Feed ``body`` in chunks; the number of bytes read when the sniffer said enough."""
    for at in range(0, len(body), chunk):
        if sniffer.feed(body[at:at + chunk]):
            return min(len(body), at + chunk)
    return None


def head_with(title: str, extra: str = "", filler: int = 3000) -> str:
    return (f"<!DOCTYPE html><html><head>{extra}<title>{title}</title>"
            + "<link rel=stylesheet href=/a.css>\n" * (filler // 33)
            + "</head><body>" + f"<p>{JA_TEXT}</p>" * 300)


def test_header_declared_stops_at_the_head_end() -> None:
    # a useful title: the rest of the head (description, site name) is read, not the body
    body = head_with(JA_TITLE).encode("shift_jis")
    sniffer = TitleSniffer("Shift_JIS")
    assert feed_all(sniffer, body, 100) == 100 * -(-sniffer.stop_at // 100)
    assert body[:sniffer.stop_at].endswith(b"<body>")
    assert page_title(body, "shift_jis", max_title=200, capped=False) == PageTitle(
        JA_TITLE, "shift_jis", "header", False)


def test_meta_declared_waits_for_the_first_1024_bytes() -> None:
    # a later <meta> in the first 1024 bytes could still change the encoding
    body = head_with(JA_TITLE, "<meta charset=shift_jis>", filler=0).encode("shift_jis")
    assert body.index(b"<body>") < PRESCAN_MIN_BYTES
    sniffer = TitleSniffer(None)
    feed_all(sniffer, body, 100)
    assert sniffer.stop_at == PRESCAN_MIN_BYTES


def test_meta_declared_title_stops_at_the_head_end() -> None:
    body = head_with(JA_TITLE, '<meta charset="euc-jp">' + " " * 2000).encode("euc_jp")
    sniffer = TitleSniffer(None)
    feed_all(sniffer, body, 512)
    assert body[:sniffer.stop_at].endswith(b"<body>")


def test_ascii_title_stops_without_detection() -> None:
    body = ("<html><head><title>Plain ASCII</title></head><body>" + " " * 2000 + "<p>caf\xe9</p>").encode("cp1252")
    sniffer = TitleSniffer(None)
    assert feed_all(sniffer, body, 64) == 1024 and sniffer.stop_at == 1024
    assert page_title(body, None, max_title=200, capped=False).title == "Plain ASCII"


def test_valid_utf8_title_stops_at_the_head_end() -> None:
    body = head_with(JA_TITLE, " " * 2000).encode("utf-8")
    sniffer = TitleSniffer(None)
    feed_all(sniffer, body, 333)
    assert body[:sniffer.stop_at].endswith(b"<body>")
    assert page_title(body, None, max_title=200, capped=False) == PageTitle(JA_TITLE, "utf-8", "utf-8", False)


def test_undeclared_legacy_title_reads_on_for_detection() -> None:
    body = head_with(JA_TITLE).encode("euc_jp")
    first = body.index(b"<title>") + len(b"<title>")
    sniffer = TitleSniffer(None)
    read = feed_all(sniffer, body, 4096)
    assert sniffer.stop_at == first + DETECT_BYTES and read == 4096 * (-(-sniffer.stop_at // 4096))
    assert page_title(body, None, max_title=200, capped=False) == PageTitle(
        JA_TITLE, "euc-jp", "chardet", False)
    short = body[:sniffer.stop_at - 1]  # the body ends before: everything is used
    assert not TitleSniffer(None).feed(short)
    assert page_title(short, None, max_title=200, capped=False).title == JA_TITLE


def test_meta_after_an_undeclared_title_ends_detection() -> None:
    html = f"<html><head><title>{JA_TITLE}</title><meta charset=euc-jp></head><body>" + "<p>x</p>" * 10000
    body = html.encode("euc_jp")
    sniffer = TitleSniffer(None)
    feed_all(sniffer, body, 10)
    assert sniffer.stop_at == PRESCAN_MIN_BYTES
    assert page_title(body, None, max_title=200, capped=False) == PageTitle(JA_TITLE, "euc-jp", "meta", False)


def test_a_big_script_before_the_title_is_read_through() -> None:
    script = "<script>" + "if (a < b) { s = '</div><title>no</title>'; }\n" * 7000 + "</script>"
    body = f"<html><head>{script}<title>After the script</title></head><body>".encode()
    assert len(body) > 300000
    sniffer = TitleSniffer("utf-8")
    read = feed_all(sniffer, body, 8192)
    assert read is not None and read >= body.index(b"</title>")
    assert body[:sniffer.stop_at].endswith(b"<body>")


def test_without_title_reading_goes_on_into_the_body() -> None:
    html = "<html><head><meta charset=utf-8>" + " " * 2000 + "</head><body>" + "<p>text</p>" * 1000
    body = html.encode()
    sniffer = TitleSniffer(None)
    assert feed_all(sniffer, body, 100) is None and sniffer.stop_at is None
    assert page_title(body, None, max_title=200, capped=False) == PageTitle(None, "utf-8", "meta", False)
    # an og:title in the body ends the search there
    late = html.replace("<p>text</p>", '<meta property="og:title" content="Late">', 1).encode()
    sniffer = TitleSniffer(None)
    feed_all(sniffer, late, 100)
    assert late[:sniffer.stop_at].endswith(b'content="Late">')
    assert page_title(late, None, max_title=200, capped=False).title == "Late"


@pytest.mark.parametrize("after_head, ends_at", [
    ("<div class=x>", b"<div class=x>"), ("\n  text", b"\n  t"), ("<link rel=x><style></style><p>", b"<p>"),
])
def test_after_head_the_first_body_content_ends_it(after_head: str, ends_at: bytes) -> None:
    body = ("<html><head><title>T</title>" + " " * 1100 + "</head>" + after_head + "<p>more</p>" * 300).encode()
    sniffer = TitleSniffer(None)
    feed_all(sniffer, body, 7)
    assert body[:sniffer.stop_at].endswith(ends_at)


def test_og_title_in_head_stops_at_the_head_end() -> None:
    body = ('<head><meta property="og:title" content="Café">' + " " * 1100 + "</head><body>"
            + "<p>texte</p>" * 1000).encode("utf-8")
    sniffer = TitleSniffer(None)
    feed_all(sniffer, body, 50)
    assert body[:sniffer.stop_at].endswith(b"<body>")
    assert page_title(body, None, max_title=200, capped=False).title == "Café"


def test_unclosed_title_never_stops() -> None:
    sniffer = TitleSniffer("utf-8")
    assert not any(sniffer.feed(b"<title>" if i == 0 else b"x" * 65536) for i in range(40))
    assert sniffer.stop_at is None


def test_bom_split_across_chunks() -> None:
    body = codecs.BOM_UTF8 + head_with(JA_TITLE).encode("utf-8")
    sniffer = TitleSniffer("iso-8859-2")
    assert not sniffer.feed(body[:1]) and not sniffer.feed(body[1:2])
    feed_all(sniffer, body[2:], 1000)
    assert body[:sniffer.stop_at].endswith(b"<body>")
    assert page_title(body, "iso-8859-2", max_title=200, capped=False) == PageTitle(
        JA_TITLE, "utf-8", "bom", False)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_stops_at_the_title_in_bytes(codec: str) -> None:
    title = "Emoji \U0001f600 and 東京"
    bom = codecs.BOM_UTF16_LE if codec == "utf-16-le" else codecs.BOM_UTF16_BE
    body = bom + f"<html><head><title>{title}</title></head><body>{JA_TEXT}".encode(codec)
    sniffer = TitleSniffer(None)
    feed_all(sniffer, body, 3)
    assert body[len(bom):sniffer.stop_at].decode(codec).endswith("<body>")
    result = page_title(body, None, max_title=200, capped=False)
    assert (result.title, result.charset_source) == (title, "bom")
    no_bom = body[len(bom):]
    assert page_title(no_bom, "utf-16" if codec == "utf-16-le" else "UTF-16BE",
                      max_title=200, capped=False).title == title


def test_utf16_without_any_declaration_is_left_to_chardet() -> None:
    body = f"<html><head><title>{JA_TITLE}</title></head><body><p>{JA_TEXT}</p>".encode("utf-16-le")
    result = page_title(body, None, max_title=200, capped=False)
    assert (result.title, result.charset, result.charset_source) == (JA_TITLE, "utf-16le", "chardet")


def test_feed_after_enough_stays_enough() -> None:
    sniffer = TitleSniffer("utf-8")
    assert sniffer.feed(b"<title>x</title></head><body>" + b" " * 2000)
    assert sniffer.feed(b"<title>other</title>") and sniffer.stop_at == len(b"<title>x</title></head><body>")


@pytest.mark.parametrize("blank", ["", "  \n\t ", "&nbsp;", "&#32;&#x20;&NewLine;", "&#9;&nbsp;&#160;"])
@pytest.mark.parametrize("fallback", ['<meta property="og:title" content="The real title">',
                                      '<meta name="twitter:title" content="The real title">'])
def test_a_blank_title_reads_on_to_og_title(blank: str, fallback: str) -> None:
    # the og:title comes after the first 1024 bytes, where the sniffer used to stop
    html = (f"<html><head><title>{blank}</title>" + "<link rel=stylesheet href=/a.css>\n" * 60
            + fallback + "</head><body>" + "<p>text</p>" * 500)
    body = html.encode()
    assert body.index(b"<meta") > PRESCAN_MIN_BYTES
    for chunk in (1, 7, 100, 4096, len(body)):
        sniffer = TitleSniffer("utf-8")
        feed_all(sniffer, body, chunk)
        assert body[:sniffer.stop_at].endswith(b"<body>")
        assert sniffer.result(body, max_title=200, capped=False).title == "The real title"
    assert title_of(html) == "The real title"


def test_a_blank_title_without_fallback_reads_on_into_the_body() -> None:
    body = ("<html><head><title> </title>" + " " * 2000 + "</head><body>" + "<p>x</p>" * 1000).encode()
    sniffer = TitleSniffer(None)
    assert feed_all(sniffer, body, 64) is None
    assert page_title(body, None, max_title=200, capped=False) == PageTitle(None, "utf-8", "utf-8", False)


def test_a_title_of_other_characters_is_not_blank() -> None:
    # non-ASCII bytes may be letters: the title counts, it is not skipped for og:title
    body = ('<html><head><title>\u00e9</title><meta property="og:title" content="OG"></head>'
            .encode("cp1252"))
    assert page_title(body, "windows-1252", max_title=200, capped=False).title == "\u00e9"


def test_hints_reach_the_encoding_of_an_undeclared_short_page() -> None:
    raw = "\u0160iandien Vilniuje".encode("cp1257")  # chardet alone reads a Croatian windows-1250
    body = b"<html><head><title>" + raw + b"</title></head><body></body></html>"
    alone = page_title(body, None, max_title=200, capped=False)
    assert alone.title != "\u0160iandien Vilniuje"
    for hints in (Hints(content_language="lt"), Hints(url="http://naujienos.lt/"),
                  Hints(accept_language="lt, en;q=0.5")):
        found = page_title(body, None, max_title=200, capped=False, hints=hints)
        assert (found.title, found.charset) == ("\u0160iandien Vilniuje", "windows-1257")
        sniffer = TitleSniffer(None)
        sniffer.feed(body)
        assert sniffer.result(body, max_title=200, capped=False, hints=hints) == found
    assert page_title(b'<html lang="lt">' + body[6:], None, max_title=200, capped=False).charset_source == "lang"
    # a declared page keeps its declaration whatever the hints
    declared = page_title(body, "iso-8859-13", max_title=200, capped=False, hints=Hints("ru", "http://a.ru/"))
    assert (declared.title, declared.charset_source) == ("\u0160iandien Vilniuje", "header")


# --------------------------------------------------------------------------- any split, same answer

def test_split_at_every_byte_offset() -> None:
    html = ('<!DOCTYPE html><html><head><meta charset="shift_jis"><!-- <title>no</title> -->'
            "<script>if (a<b) document.write('<title>no</title>')</script><svg><title>icon</title></svg>"
            f"<TITLE lang=ja>{JA_TITLE} &amp; more</TITLE ><meta property=og:title content=OG>"
            + "<link rel=stylesheet href=/a.css>" * 30 + "</head><body><p>" + JA_TEXT)
    body = html.encode("shift_jis")
    whole = TitleSniffer(None)
    assert whole.feed(body)
    expected = whole.result(body, max_title=200, capped=False)
    assert expected == PageTitle(f"{JA_TITLE} & more", "shift_jis", "meta", False)
    for k in range(1, len(body)):
        sniffer = TitleSniffer(None)
        first = sniffer.feed(body[:k])
        assert first == (k >= whole.stop_at), k
        assert first or sniffer.feed(body[k:])
        assert sniffer.stop_at == whole.stop_at, k
        assert sniffer.result(body, max_title=200, capped=False) == expected, k
    one_by_one = TitleSniffer(None)
    said = [one_by_one.feed(body[i:i + 1]) for i in range(len(body))]
    assert said.index(True) + 1 == whole.stop_at


FRAGMENTS = [
    "<!DOCTYPE html>", "<html>", "<head>", "</head>", "<body>", "<meta charset=utf-8>",
    "<meta charset='koi8-r'>",
    "<meta http-equiv=Content-Type content='text/html; charset=shift_jis'>",
    '<meta property="og:title" content="O&amp;G">', "<meta name=twitter:title content=Tw>",
    "<!-- <title>c</title> -->", "<!-->", "<!--", "-->", "<script>", "</script>", "<script>a<b</script>",
    "<script><!--<script></script>--></script>", "<style>p>a{}</style>", "<svg><title>i</title></svg>",
    "<svg>", "</svg>", "<template>", "</template>", "<textarea>", "</textarea>", "<![CDATA[", "]]>",
    "<title>", "</title>", "</TITLE >", "<title id=\"a>b\">", "</title", "<a href='x'>", "<a b=c/d>",
    "<p>", "text ", "  \n", "&amp;", "&eacute", "<", ">", "\"", "'", "=", "/",
    "東京", "Ü", "é", "\U0001f600", "\x1b$B", "\x00", " " * 700, "x" * 1500,
]


TITLE_BITS = ["Hello", " ", "東京", "Ü", "&amp;", "<b>", "</titlex>", "\x1b[2J", "\u202e", "\U0001f600"]


@st.composite
def pages(draw) -> bytes:
    """Pages of random fragments, often with a title element and often past the 1024-byte prescan."""
    fragments = st.lists(st.sampled_from(FRAGMENTS), max_size=15)
    parts = draw(fragments)
    if draw(st.booleans()):
        parts += ["<title>"] + draw(st.lists(st.sampled_from(TITLE_BITS), max_size=5))
        parts.append(draw(st.sampled_from(["</title>", "</TITLE >", "</title/>", "</title", ""])))
    parts += draw(fragments)
    if draw(st.booleans()):
        parts.insert(draw(st.integers(min_value=0, max_value=len(parts))), " " * 1100)
    codec = draw(st.sampled_from(["utf-8", "cp1252", "shift_jis", "utf-16-le"]))
    bom = draw(st.booleans()) and codec in ("utf-8", "utf-16-le")
    text = "".join(parts)
    body = text.encode(codec, "replace")
    if bom:
        body = (codecs.BOM_UTF8 if codec == "utf-8" else codecs.BOM_UTF16_LE) + body
    return body


@settings(max_examples=400, deadline=None)
@given(pages(), st.lists(st.integers(min_value=1, max_value=3000), max_size=20),
       st.sampled_from([None, "utf-8", "shift_jis", "utf-16", "bogus"]), st.booleans())
@example(b"<html><head><title>x</title>" + b" " * 1100, [1] * 40, None, False)
def test_any_split_gives_the_same_stop_point_and_title(body: bytes, cuts: list[int],
                                                       header: str | None, capped: bool) -> None:
    whole = TitleSniffer(header)
    whole.feed(body)
    stop = whole.stop_at
    sniffer = TitleSniffer(header)
    read = 0
    at = 0
    said_enough_at = None
    for size in cuts + [len(body)]:
        piece = body[at:at + size]
        at += len(piece)
        if not piece:
            continue
        if sniffer.feed(piece):
            said_enough_at = at
            read = at
            break
        read = at
    assert sniffer.stop_at == stop
    if stop is not None:
        # enough exactly on the chunk that reached the stop point
        assert said_enough_at is not None and said_enough_at - len(piece) < stop <= said_enough_at
    else:
        assert said_enough_at is None
    expected = page_title(body, header, max_title=50, capped=capped)
    if stop is not None or read == len(body):
        assert sniffer.result(body[:read], max_title=50, capped=capped) == expected
        assert page_title(body[:read], header, max_title=50, capped=capped) == expected
        if stop is not None:
            assert page_title(body[:stop], header, max_title=50, capped=capped) == expected


@settings(max_examples=300, deadline=None)
@given(pages(), st.lists(st.integers(min_value=1, max_value=500), max_size=12), st.integers(min_value=0))
def test_scanner_any_split_and_any_prefix(body: bytes, cuts: list[int], prefix: int) -> None:
    text = body.decode("latin-1")
    whole = scan_markup(text)
    scanner = MarkupScanner()
    at = 0
    for size in cuts + [len(text)]:
        scanner.feed(text[at:at + size])
        at += size
    assert scanner.markup() == whole
    n = prefix % (len(text) + 1)
    assert scanner.markup(n) == scan_markup(text[:n])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"<", b"\xc3\xa9", b"\xe6\x9d\xb1", b"\xf0\x9f\x98\x80", b"\xe6",
                                 b"\x80", b"\xff", b"\xed\xa0\x80", b"\x1b$B", b"\x1b"]), max_size=20),
       st.lists(st.integers(min_value=1, max_value=7), max_size=10))
def test_utf8_validity_of_any_prefix(parts: list[bytes], cuts: list[int]) -> None:
    body = b"x" + b"".join(parts)  # not a BOM: the sniffer holds a possible BOM's first bytes
    sniffer = TitleSniffer(None)
    at = 0
    for size in cuts + [len(body)]:
        sniffer.feed(body[at:at + size])
        at += size
    for p in range(len(body) + 1):
        expected = utf8_prefix_valid(body[:p]) and b"\x1b$B" not in body[:p]
        assert sniffer._utf8_until(p) == expected, p
