"""URL finding, request normalisation and the display host: tables and properties."""

from __future__ import annotations

import sys
from urllib.parse import urljoin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkfilter.errors import BadURL
from linkfilter.urls import (
    MAX_SCAN,
    SCAN_LOOKAHEAD,
    Found,
    display_host,
    find_urls,
    find_urls_in_block,
    normalize_for_fetch,
)

# Dropped from a URL's end: ASCII punctuation, its fullwidth forms, CJK stops and commas, the
# ellipsis, and quotes that close a quotation in some languages (German „…“ and »…«).
TRIMMED = ".,:;!?'\"*" + "．，：；！？＇＂＊" + "。、｡､…" + "“‘„‚‟«‹〟"
# Bracket pairs: a closer ends a URL unless an opener of its kind inside the URL balances it.
PAIRS = dict(zip("([{“‘«‹「『【《〈〔〖〘〚〝（［｛｢＜", ")]}”’»›」』】》〉〕〗〙〛〞）］｝｣＞"))
OPENERS = "".join(PAIRS)
LONG_HOST_URL = "http://" + "a" * 40 + "." + "b" * 40 + ".example/x"  # longer than a label: the full rules


def texts(line: str) -> list[str]:
    return [f.text for f in find_urls(line)]


# -- find_urls: tables ------------------------------------------------------------

FOUND = [
    # schemes, in any case
    ("see http://example.com now", ["http://example.com"]),
    ("see https://example.com/a/b?c=d#e now", ["https://example.com/a/b?c=d#e"]),
    ("HTTP://EXAMPLE.COM/X and HtTpS://Example.Com", ["HTTP://EXAMPLE.COM/X", "HtTpS://Example.Com"]),
    ("http://localhost:8080/", ["http://localhost:8080/"]),
    # brackets: a closer belongs to the URL only when it balances an opener in it
    ("(see https://en.wikipedia.org/wiki/Foo_(bar)).", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
    ("(http://example.com)", ["http://example.com"]),
    ("(http://example.com/path)", ["http://example.com/path"]),
    ("[http://a.org/x](http://b.org/y)", ["http://a.org/x", "http://b.org/y"]),
    ("{http://example.com/{id}}", ["http://example.com/{id}"]),
    ("http://example.com/a[1]/b", ["http://example.com/a[1]/b"]),
    ("http://example.com/a)b", ["http://example.com/a"]),
    ("http://example.com/a(b]c)d", ["http://example.com/a(b"]),
    ("http://example.com/((a)b)c)", ["http://example.com/((a)b)c"]),
    ("http://example.com/(a.)", ["http://example.com/(a.)"]),
    # trailing punctuation, stripped repeatedly
    ("go to http://example.com.", ["http://example.com"]),
    ("http://example.com/a.b, then", ["http://example.com/a.b"]),
    ("http://example.com/path?!.", ["http://example.com/path"]),
    ("'http://example.com/it's'", ["http://example.com/it's"]),
    ("*http://example.com/x*", ["http://example.com/x"]),
    ("(http://example.com/x).:;", ["http://example.com/x"]),
    ("http://example.com/a_(b)...)", ["http://example.com/a_(b)"]),
    ("http://example.com:", ["http://example.com"]),
    # ... on the full rules' path too: a non-ASCII host, IPv6, userinfo, a long host, an opener
    ("http://bücher.example/path?!", ["http://bücher.example/path"]),
    ("http://bücher.example?!.", ["http://bücher.example"]),
    ("(www.bücher.de/a.,;:!?'*)", ["www.bücher.de/a"]),
    ("http://[::1]/x.,;!) ok", ["http://[::1]/x"]),
    ("http://u:p@a.example/x?!. and http://u@[::1]:8/y;:", ["http://u:p@a.example/x", "http://u@[::1]:8/y"]),
    (LONG_HOST_URL + "**", [LONG_HOST_URL]),
    ("http://example.com/a_(b)c(d?!", ["http://example.com/a_(b)c(d"]),
    # typographic quotes, guillemets, CJK and fullwidth brackets pair like ( and ); CJK and
    # fullwidth punctuation is dropped from the end like ASCII punctuation
    ("she said “https://example.org/page” and 「https://example.jp/a」。",
     ["https://example.org/page", "https://example.jp/a"]),
    ("「https://example.jp/a」と言った", ["https://example.jp/a"]),
    ("『https://example.jp/b』【https://example.jp/c】《https://example.cn/d》〈https://e.example〉",
     ["https://example.jp/b", "https://example.jp/c", "https://example.cn/d", "https://e.example"]),
    ("（https://example.jp/x）、（www.example.jp）。", ["https://example.jp/x", "www.example.jp"]),
    ("［https://a.example/x］｛https://b.example/y｝｢https://c.example/z｣＜https://d.example/w＞",
     ["https://a.example/x", "https://b.example/y", "https://c.example/z", "https://d.example/w"]),
    ("〔https://a.example/1〕〖https://a.example/2〗〘https://a.example/3〙〚https://a.example/4〛",
     ["https://a.example/1", "https://a.example/2", "https://a.example/3", "https://a.example/4"]),
    ("〝https://a.example/q〞 〝https://b.example/q〟", ["https://a.example/q", "https://b.example/q"]),
    ("‘https://example.org/s’ «https://example.fr/page», ‹https://example.ch/x›",
     ["https://example.org/s", "https://example.fr/page", "https://example.ch/x"]),
    ("« https://example.fr/page » dit-il", ["https://example.fr/page"]),
    ("„https://example.de/seite“ und »https://example.de/b« oder ‚https://example.de/c‘",
     ["https://example.de/seite", "https://example.de/b", "https://example.de/c"]),
    ("see https://example.com’s page", ["https://example.com"]),
    ("https://example.cn/a，https://example.cn/b！https://example.cn/c？https://example.cn/d：",
     ["https://example.cn/a，https://example.cn/b！https://example.cn/c？https://example.cn/d"]),
    ("https://example.cn/a， 看 https://example.cn/b！ 和 www.example.cn/c？",
     ["https://example.cn/a", "https://example.cn/b", "www.example.cn/c"]),
    ("https://example.jp/x．，：；！？＇＂＊ https://example.fr/y… https://example.jp/z｡､",
     ["https://example.jp/x", "https://example.fr/y", "https://example.jp/z"]),
    # ... and a balanced pair inside a URL is kept, as Wikipedia's parentheses are
    ("（https://ja.wikipedia.org/wiki/東京_（曖昧さ回避））", ["https://ja.wikipedia.org/wiki/東京_（曖昧さ回避）"]),
    ("「https://example.jp/「a」/b」", ["https://example.jp/「a」/b"]),
    ("“https://example.org/“quoted”/x”.", ["https://example.org/“quoted”/x"]),
    ("https://example.org/a“b", ["https://example.org/a“b"]),
    ("https://example.org/(a」b)c", ["https://example.org/(a"]),
    ("https://example.org/【a)b】c", ["https://example.org/【a"]),
    ("http://u:p@example.org/」 http://u」@example.org/", ["http://u:p@example.org/", "http://u"]),
    ("http://u)@example.org/", ["http://u"]),
    ("http://bücher.example/“x”」 http://[::1]/a（b）」", ["http://bücher.example/“x”", "http://[::1]/a（b）"]),
    # ends at < > " ` and whitespace
    ("<http://example.com/x>", ["http://example.com/x"]),
    ('"http://example.com/x"', ["http://example.com/x"]),
    ("`http://example.com/x`", ["http://example.com/x"]),
    ("http://example.com/a<b", ["http://example.com/a"]),
    ("http://example.com/a\tb", ["http://example.com/a"]),
    # word boundary before the scheme
    ("nohttp://example.com", []),
    ("xhttps://example.com", []),
    ("_http://example.com", []),
    ("git+https://example.com svn-http://x.org a.http://y.org", []),
    ("éhttp://example.com", []),
    ("url=http://example.com&x", ["http://example.com"]),
    ("-->http://example.com", ["http://example.com"]),
    ("«http://example.com»", ["http://example.com"]),
    # www. links
    ("visit www.example.com today", ["www.example.com"]),
    ("WWW.EXAMPLE.COM and Www.Example.org.", ["WWW.EXAMPLE.COM", "Www.Example.org"]),
    ("(www.example.com/path)", ["www.example.com/path"]),
    ("www.x", ["www.x"]),
    ("www. www.. www", []),
    ("awww.example.com wwww.example.com", []),
    ("foo/www.example.com foo.www.example.com foo-www.example.com", []),
    ("ftp://www.example.com mailto:www.example.com", []),
    ("İwww.example.com İ www.example.com", ["www.example.com"]),
    # e-mail addresses are not links
    ("mail user@www.example.com or user@example.com", []),
    ("mail www.foo@example.com", []),
    ("mail www.foo.com@example.com", []),
    # no bare domains, no other schemes
    ("example.com ftp://example.com file:///etc/passwd mailto:a@b.c", []),
    # hosts
    ("http://straße.de/ä", ["http://straße.de/ä"]),
    ("http://例え.テスト/パス", ["http://例え.テスト/パス"]),
    ("http://हिन्दी.भारत/", ["http://हिन्दी.भारत/"]),
    ("http://ÄBC.DE/", ["http://ÄBC.DE/"]),
    ("「http://example.com」", ["http://example.com"]),
    ("http://1.2.3.4/ http://255.255.255.255:1/", ["http://1.2.3.4/", "http://255.255.255.255:1/"]),
    ("http://1.2.3/ http://01.2.3.4/", ["http://1.2.3/", "http://01.2.3.4/"]),  # numeric: see below
    ("http://256.1.1.1/ http://1.2.3.4.5/", []),
    ("http://[::1]/ http://[2001:db8::1]:8443/x", ["http://[::1]/", "http://[2001:db8::1]:8443/x"]),
    ("http://[::ffff:1.2.3.4]/", ["http://[::ffff:1.2.3.4]/"]),
    ("http://[::1 http://[zz::1]/ http://[1:2:3:4:5:6:7:8:9]/", []),
    ("http://example.com./x", ["http://example.com./x"]),
    ("http://a-b.example.com/ http://-ab.com/ http://ab-.com/", ["http://a-b.example.com/"]),
    ("http://a..b/ http://.a/ http:// http:///x http://", []),
    ("http://foo_bar.com/ http://foo.com_bar", []),
    ("http://" + "a" * 63 + ".com/", ["http://" + "a" * 63 + ".com/"]),
    ("http://" + "a" * 64 + ".com/", []),
    ("http://" + ("a" * 9 + ".") * 25 + "com/", ["http://" + ("a" * 9 + ".") * 25 + "com/"]),
    ("http://" + ("a" * 9 + ".") * 25 + "comx/", []),  # 254 characters
    ("http://ex%41mple.com/", []),
    # ports
    ("http://example.com:8080/x", ["http://example.com:8080/x"]),
    ("http://example.com:99999/x", ["http://example.com:99999/x"]),  # found; BadURL on fetch
    ("http://localhost:port/x", ["http://localhost"]),
    # userinfo
    ("http://user:pass@example.com/x", ["http://user:pass@example.com/x"]),
    ("https://user@[::1]:8080/", ["https://user@[::1]:8080/"]),
    ("http://user@", []),
    # control characters: C0, DEL, C1
    ("http://example.com/a\x00b", ["http://example.com/a"]),
    ("http://example.com/a\x1b[0mb", ["http://example.com/a"]),
    ("http://example.com/a\x7fb", ["http://example.com/a"]),
    ("http://example.com/a\x9bb", ["http://example.com/a"]),
    # invisible characters
    ("http://example.com/a\u200bb", ["http://example.com/a"]),
    ("http://example.com/a\u202eb", ["http://example.com/a"]),
    ("\u200fhttp://example.com/a\u200e", ["http://example.com/a"]),
    ("http://example.com/a\ufeffb", ["http://example.com/a"]),
    # surrogate escapes (invalid UTF-8 in the input) stay part of the path
    ("http://example.com/caf\udce9 x", ["http://example.com/caf\udce9"]),
    ("http://exa\udce9mple.com/", []),
    # a URL inside a URL is part of it
    ("https://web.archive.org/web/2020/http://example.com/", ["https://web.archive.org/web/2020/http://example.com/"]),
    ("http://a.com/?u=www.b.com", ["http://a.com/?u=www.b.com"]),
    ("www.a.com/?u=http://b.com", ["www.a.com/?u=http://b.com"]),
    ("http://a.com,http://b.com", ["http://a.com", "http://b.com"]),
    ("http://http://example.com/x", ["http://example.com/x"]),
    ("https://www.example.com", ["https://www.example.com"]),
    ("http://a.com/x,http://b.com", ["http://a.com/x,http://b.com"]),
]


@pytest.mark.parametrize("line,expected", FOUND)
def test_find_urls_table(line: str, expected: list[str]) -> None:
    assert texts(line) == expected


@pytest.mark.parametrize(
    "space",
    ["\u00a0", "\u1680", "\u2003", "\u2009", "\u202f", "\u205f", "\u3000", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\r", "\n"],
)
def test_unicode_spaces_end_a_url(space: str) -> None:
    assert space.isspace()
    assert texts(f"x http://example.com/a{space}b") == ["http://example.com/a"]
    assert texts(f"x{space}www.example.com{space}") == ["www.example.com"]


def test_www_links_are_fetched_as_http() -> None:
    assert find_urls("go www.Example.com/x.") == [Found("www.Example.com/x", "http://www.Example.com/x")]
    assert find_urls("go http://x.org") == [Found("http://x.org", "http://x.org")]


def test_each_distinct_url_once_in_order() -> None:
    line = "http://b.com http://a.com (http://b.com) http://a.com. http://A.com www.a.com http://www.a.com"
    assert texts(line) == ["http://b.com", "http://a.com", "http://A.com", "www.a.com"]
    assert [f.url for f in find_urls(line)][-1] == "http://www.a.com"


def test_only_the_first_mib_is_scanned() -> None:
    pad = "x" * (MAX_SCAN - 100)
    inside = "http://inside.example/"
    beyond = "http://beyond.example/"
    line = pad + " " + inside + " " + "y" * 200 + " " + beyond
    assert texts(line) == [inside]


def test_a_url_running_into_the_scan_limit_is_dropped() -> None:
    head = "x" * (MAX_SCAN - 30) + " "
    url = "http://cut.example/" + "a" * 40  # crosses MAX_SCAN
    assert texts(head + url) == []
    ends_at_limit = "x" * (MAX_SCAN - 20) + " http://e.example/"
    assert len(ends_at_limit) == MAX_SCAN - 2
    ends_at_limit += "zz"  # exactly MAX_SCAN characters, nothing cut
    assert texts(ends_at_limit) == ["http://e.example/zz"]
    assert texts(ends_at_limit + " more") == ["http://e.example/zz"]  # a space just past the limit
    assert texts(ends_at_limit + "more") == []


def cut_as_scanned(line: str, lookahead: int = SCAN_LOOKAHEAD) -> str:
    """``line`` as the pipeline hands it over: its first MAX_SCAN + lookahead bytes, decoded."""
    data = line.encode("utf-8", "surrogateescape")[: MAX_SCAN + lookahead]
    return data.decode("utf-8", "surrogateescape")


def test_the_scan_limit_counts_bytes() -> None:
    two_byte = "é" * (MAX_SCAN // 2 - 20) + " "  # MAX_SCAN - 39 bytes, half as many characters
    assert texts(two_byte + "http://in.example/ y") == ["http://in.example/"]
    assert texts(two_byte + "http://in.example/" + "a" * 30 + " y") == []
    assert texts(two_byte + "http://in.example/\u3000y") == ["http://in.example/"]  # a space across the cut
    assert texts(two_byte + "x" * 34 + " http://beyond.example/") == []
    escaped = "\udce9" * (MAX_SCAN - 30) + " "  # undecodable bytes count one each
    assert texts(escaped + "http://in.example/ " + "x" * 40) == ["http://in.example/"]
    assert texts(escaped + "http://in.example/" + "x" * 40) == []


AT_THE_CUT = [
    # the end of the scanned part falls somewhere inside each of these
    "http://user:password@example.com/path",
    "http://example.com:8080/path",
    "www.example.com:8080/path",
    "http://http://example.com/x",
    "https://example.com/a.b.c,d;e!f?g",
    "http://example.com/a_(b)_c",
    "http://[2001:db8::1]:8443/x",
    "http://例え.テスト/パス",
    "http://0x7f.0.0.1/",
    "http://1.2.3.4.5/",
    "www.example.com.",
    "http://straße.de/ä\u3000",
    "http://a.b/c\u00a0",
]


@pytest.mark.parametrize("url", AT_THE_CUT)
def test_a_line_cut_at_every_byte_near_the_limit(url: str) -> None:
    """Cut with SCAN_LOOKAHEAD bytes, a line gives what it gives whole; cut shorter, never a truncated URL."""
    far = texts("x " + url + " tail")  # what the URL gives far from the limit
    for shift in range(len(url.encode()) + 8):
        line = "x" * (MAX_SCAN - shift) + " " + url + " tail"
        whole = texts(line)
        assert whole in ([], far)
        assert texts(cut_as_scanned(line)) == whole
        for lookahead in (1, 3):
            assert texts(cut_as_scanned(line, lookahead)) in ([], whole)


def test_a_url_cut_off_in_its_userinfo_port_or_scheme_is_dropped() -> None:
    for url, uncut, rest in [
        ("http://user:pass", "http://user", "@example.com/"),
        ("http://example.com:", "http://example.com", "8080/"),
        ("www.example.com:", "www.example.com", "80/"),
        ("http://http:", "http://http", "//example.com/"),
        ("http://http:/", "http://http", "/example.com/"),
    ]:
        line = "x" * (MAX_SCAN - len(url) - 1) + " " + url
        assert len(line.encode()) == MAX_SCAN
        assert texts(line) == [uncut]  # the line ends there: nothing was cut
        assert texts(line + rest) == []
        assert texts(cut_as_scanned(line + rest, 1)) == []


def test_long_hostile_lines_are_fast() -> None:
    """Each hostile line costs at most a few times an ordinary line of the same length, timed in the same run.

    The ordinary line is one of links that take the full rules (a non-ASCII
    host, IPv6, userinfo), the dearest ones: a super-linear scan of a 1 MiB
    line costs thousands of times more.  A line that looks slow is timed again
    (best of three) with the baseline, so a busy machine slows both.
    """
    import time

    def seconds(line: str) -> float:  # CPU time: other processes on a busy machine do not count
        started = time.thread_time()
        find_urls(line)
        return time.thread_time() - started

    ordinary = ("see http://bücher.example/p?! and http://u:p@[::1]:8/x). " * (MAX_SCAN // 50))[:MAX_SCAN]
    baseline = seconds(ordinary)
    lines = [
        ("a./b:" * (MAX_SCAN // 5))[:MAX_SCAN],
        ("(www." * (MAX_SCAN // 5))[:MAX_SCAN],
        ("http://_" * (MAX_SCAN // 8))[:MAX_SCAN],
        "http://a.b/" + ")" * MAX_SCAN,
        "http://a.b/" + "()" * (MAX_SCAN // 2),
        "www.\u0301" * (MAX_SCAN // 5),
        ("http://" + "u" * 250 + "!") * (MAX_SCAN // 258),
        ("http://a..b/" * (MAX_SCAN // 12))[:MAX_SCAN],  # bad hosts, each before a long path
        "www.\u0301" * (MAX_SCAN // 10) + "." * (MAX_SCAN // 2),
        "http://" + "a" * MAX_SCAN,
        "http://a.b/" * (MAX_SCAN // 10) + "x",  # cut: runs past MAX_SCAN
    ]
    slow = []
    for line in lines:
        took = seconds(line)
        for _ in range(2):
            if took <= HOSTILE_LIMIT * baseline:
                break
            baseline = min(baseline, seconds(ordinary))
            took = min(took, seconds(line))
        if took > HOSTILE_LIMIT * baseline:
            slow.append(f"{line[:20]!r}: {took / baseline:.1f} times an ordinary line")
    assert not slow, slow


# A hostile 1 MiB line may cost this many ordinary lines of links (about 1.5 at most today).
HOSTILE_LIMIT = 5


def test_lines_of_marks_are_found_once_per_line() -> None:
    """find_urls_in_block looks for the ends of a line once, not once for each of its marks.

    (It did for each mark the batch pass cannot vouch for: a line of 256 K
    characters of such marks cost 0.5 s.)  The time per character at 8 times
    the size, in the same run, best of five when it looks slow.
    """
    import time

    from linkfilter.urls import _lines_at

    def per_char(n: int) -> float:
        block = "x\n" + "a://" * n + "\ny"
        marks = list(range(2, 2 + 4 * n, 4))
        started = time.thread_time()
        lines = _lines_at(block, marks[::-1] + marks)
        took = time.thread_time() - started
        assert lines == [(2, 2 + 4 * n)]
        return took / len(block)

    t_small, t_big = per_char(8000), per_char(64000)
    for _ in range(4):
        if t_big <= 3 * t_small:
            break
        t_small, t_big = min(t_small, per_char(8000)), min(t_big, per_char(64000))
    assert t_big <= 3 * t_small, f"{t_big / t_small:.1f} times the time per character at 8 times the size"
    assert _lines_at("ab\ncd\n\nef", [10, 0, 4, 1, 3]) == [(0, 2), (3, 5), (7, 9)]


def test_no_idna_import_when_finding_or_displaying() -> None:
    """idna is loaded only for a non-ASCII host in normalize_for_fetch (startup time)."""
    import subprocess

    code = (
        "import sys; from linkfilter import urls; "
        "urls.find_urls('http://straße.de www.x.com'); urls.display_host('http://straße.de'); "
        "urls.normalize_for_fetch('http://x.com/ä'); print('idna' in sys.modules); "
        "urls.normalize_for_fetch('http://straße.de'); print('idna' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# -- numeric IPv4 hosts, as browsers read them (WHATWG URL Standard) -----------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0X7F000001",
    "0x7F.1",
    "0177.0.0.1",
    "0177.1",
    "017700000001",
    "0x7f.0.0.0x1",
    "127.0.0.1.",
    "0x000000007f000001",
    "１２７.０.０.１",  # fullwidth digits: mapped (UTS-46) before the number test
]

NUMERIC_HOSTS = [
    # host as written -> the dotted quad fetched
    ("0", "0.0.0.0"),
    ("0x", "0.0.0.0"),  # "0x" with no digits is the number 0
    ("00", "0.0.0.0"),
    ("1.2.3", "1.2.0.3"),
    ("01.2.3.4", "1.2.3.4"),
    ("1.65535", "1.0.255.255"),
    ("1.16777215", "1.255.255.255"),
    ("1.2.65535", "1.2.255.255"),
    ("4294967295", "255.255.255.255"),
    ("0xffffffff", "255.255.255.255"),
    ("0377.0377.0377.0377", "255.255.255.255"),
    ("0xff.0xff.0xff.0xff", "255.255.255.255"),
    ("10.0x10.010.10", "10.16.8.10"),
    ("192.168.1", "192.168.0.1"),
    ("0x0a.0", "10.0.0.0"),
]

NOT_NUMERIC = [
    # ends in a number but is no IPv4 address: no URL, BadURL on fetch
    "1.2.3.4.5",
    "1.2.3.256",
    "256.1.1.1",
    "1.2.65536",
    "1.16777216",
    "4294967296",
    "0x100000000",
    "0400.0.0.1",
    "08",
    "09.1",
    "1.2.3.08",
    "0x7f.0xg.1",
    "1..2",
    "foo.123",
    "foo.0x1",
    "foo.0x",
    "example.com.1",
    "0x7f000001.0x7f000001",
    "1.2.3.4.5.",
    "例え.123",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_found_and_fetched_as_127_0_0_1(host: str) -> None:
    import ipaddress

    for scheme in ("http", "HTTPS"):
        url = f"{scheme}://{host}/x"
        assert texts(f"see {url}, now") == [url]
        target = normalize_for_fetch(url)
        assert target == f"{scheme.lower()}://127.0.0.1/x"
        assert ipaddress.ip_address(target.split("/")[2]).is_loopback
    assert normalize_for_fetch(f"http://{host}:8080") == "http://127.0.0.1:8080/"
    assert display_host(f"http://{host}:8080/x") == host.lower() + ":8080"


@pytest.mark.parametrize("host,address", NUMERIC_HOSTS)
def test_numeric_hosts_are_found_and_fetched_as_dotted_quads(host: str, address: str) -> None:
    url = f"http://{host}/"
    assert texts(f"({url})") == [url]
    assert normalize_for_fetch(url) == f"http://{address}/"
    assert normalize_for_fetch(f"http://{host}.") == f"http://{address}/"  # a trailing dot
    assert display_host(url) == host.lower()


@pytest.mark.parametrize("host", NOT_NUMERIC)
def test_hosts_ending_in_a_number_that_are_no_address(host: str) -> None:
    assert texts(f"see http://{host}/ and https://{host}") == []
    with pytest.raises(BadURL) as info:
        normalize_for_fetch(f"http://{host}/")
    assert "host" in str(info.value)


def test_look_alikes_that_do_not_end_in_a_number_are_host_names() -> None:
    line = "http://0x1g/ http://foo.0xg/ http://123.example/ http://1.2.3.4x/ http://0x.example/"
    assert texts(line) == ["http://0x1g/", "http://foo.0xg/", "http://123.example/", "http://1.2.3.4x/", "http://0x.example/"]
    assert normalize_for_fetch("http://0X1G/") == "http://0x1g/"
    assert normalize_for_fetch("http://123.Example/") == "http://123.example/"


def test_www_links_are_never_numeric() -> None:
    assert texts("www.127.1 www.0x7f000001 www.1.2.3 www.example.123 www.0x www.1") == []
    assert texts("www.example.com.123/x and www.123.example") == ["www.123.example"]


def test_numeric_host_without_a_scheme_is_no_url() -> None:
    assert texts("127.1 2130706433 0x7f000001/x 0177.0.0.1:80 //127.1/") == []


def test_numeric_host_forms_in_normalize() -> None:
    assert normalize_for_fetch("http://%31%32%37.1/") == "http://127.0.0.1/"  # percent-decoded first
    assert normalize_for_fetch("http://u:p@0x7f000001:80/a?b#c") == "http://127.0.0.1/a?b"
    assert normalize_for_fetch("https://127.1:443/") == "https://127.0.0.1/"
    for long_number in ("9" * 5000, "0" * 300 + "1", "0x" + "f" * 300):
        with pytest.raises(BadURL):  # never int()'s digit limit, never a huge number
            normalize_for_fetch(f"http://{long_number}/")


# -- normalize_for_fetch ------------------------------------------------------------

NORMALIZED = [
    ("http://example.com", "http://example.com/"),
    ("HTTPS://EXAMPLE.COM/Path?Q=1", "https://example.com/Path?Q=1"),
    ("http://example.com?q=1", "http://example.com/?q=1"),
    ("http://example.com#top", "http://example.com/"),
    ("http://example.com/a?b#c?d", "http://example.com/a?b"),
    ("http://user:pass@example.com/x", "http://example.com/x"),
    ("http://a@b@example.com/x", "http://example.com/x"),
    ("http://example.com:80/", "http://example.com/"),
    ("https://example.com:443/", "https://example.com/"),
    ("https://example.com:80/", "https://example.com:80/"),
    ("http://example.com:443/", "http://example.com:443/"),
    ("http://example.com:0080/", "http://example.com/"),
    ("http://example.com:/", "http://example.com/"),
    ("http://example.com:8080", "http://example.com:8080/"),
    # IDNA, UTS-46 non-transitional, case folded
    ("http://straße.de/", "http://xn--strae-oqa.de/"),
    ("http://STRAẞE.DE/", "http://xn--strae-oqa.de/"),
    ("http://BÜCHER.example/", "http://xn--bcher-kva.example/"),
    ("http://Bücher.Example:8080/", "http://xn--bcher-kva.example:8080/"),
    ("http://例え.テスト/", "http://xn--r8jz45g.xn--zckzah/"),
    ("http://straße.de./", "http://xn--strae-oqa.de./"),
    ("http://xn--bcher-kva.example/", "http://xn--bcher-kva.example/"),
    # percent-encoding of the request target
    ("http://example.com/ä ö", "http://example.com/%C3%A4%20%C3%B6"),
    ("http://example.com/?q=ü&r=€", "http://example.com/?q=%C3%BC&r=%E2%82%AC"),
    ("http://example.com/%41%e2%82%ac", "http://example.com/%41%e2%82%ac"),
    ("http://example.com/100%", "http://example.com/100%25"),
    ("http://example.com/%zz%4", "http://example.com/%25zz%254"),
    ('http://example.com/<a>"b"{c}|^`\\', "http://example.com/%3Ca%3E%22b%22%7Bc%7D%7C%5E%60%5C"),
    ("http://example.com/[x]", "http://example.com/%5Bx%5D"),
    ("http://example.com/caf\udce9", "http://example.com/caf%E9"),
    ("http://example.com/\udcff\udc80", "http://example.com/%FF%80"),
    ("http://example.com/a\x00\x7f\x85", "http://example.com/a%00%7F%C2%85"),
    ("http://example.com/-._~!$&'()*+,;=:@/?", "http://example.com/-._~!$&'()*+,;=:@/?"),
    ("http://example.com/\U0001f600", "http://example.com/%F0%9F%98%80"),
    # hosts that are addresses
    ("http://1.2.3.4:8080/x", "http://1.2.3.4:8080/x"),
    ("http://[::1]/", "http://[::1]/"),
    ("http://[2001:DB8:0:0::1]:8443", "http://[2001:db8::1]:8443/"),
    ("https://[::1]:443/", "https://[::1]/"),
    # what a browser cleans off a Location header
    ("  http://example.com/a\tb\n ", "http://example.com/ab"),
    ("http://ex%41mple.com/", "http://example.com/"),
    ("http://some_host.example.com/", "http://some_host.example.com/"),
    ("http://ab--c.example/", "http://ab--c.example/"),  # CheckHyphens is off, as in browsers
    ("http://a/b\\@c/", "http://a/b%5C@c/"),
]


@pytest.mark.parametrize("url,expected", NORMALIZED)
def test_normalize_for_fetch_table(url: str, expected: str) -> None:
    assert normalize_for_fetch(url) == expected


def test_normalize_redirect_targets_after_urljoin() -> None:
    base = "https://example.com/a/b?x#f"
    assert normalize_for_fetch(urljoin(base, "../c?q=ü#frag")) == "https://example.com/c?q=%C3%BC"
    assert normalize_for_fetch(urljoin(base, "//Other.Example:8443/p")) == "https://other.example:8443/p"
    assert normalize_for_fetch(urljoin(base, "http://straße.de")) == "http://xn--strae-oqa.de/"


def test_normalize_found_www_link() -> None:
    (found,) = find_urls("see www.Straße.de/ä.")
    assert normalize_for_fetch(found.url) == "http://www.xn--strae-oqa.de/%C3%A4"


BAD = [
    ("ftp://example.com/", "scheme"),
    ("javascript:alert(1)//x", "absolute"),
    ("www.example.com", "absolute"),
    ("", "absolute"),
    ("mailto:a@example.com", "absolute"),
    ("file:///etc/passwd", "scheme"),
    ("http:///path", "empty host"),
    ("http://", "empty host"),
    ("http://user@/x", "empty host"),
    ("http://:80/", "empty host"),
    ("http://example.com:0/", "port"),
    ("http://example.com:65536/", "port"),
    ("http://example.com:99999999999999999999/", "port"),
    ("http://example.com:8o/", "port"),
    ("http://example.com:-1/", "port"),
    ("http://example.com:８０/", "port"),
    ("http://[::1]:0/", "port"),
    ("http://exa mple.com/", "host"),
    ("http://a..b/", "host"),
    ("http://-a.com/", "host"),
    ("http://256.1.1.1/", "host"),
    ("http://evil.com\\@good.com/", "backslash"),
    ("http://" + "a" * 64 + ".com/", "host"),
    ("http://☃.net/", "host"),
    ("http://exa\udce9mple.com/", "host"),
    ("http://%ff.com/", "host"),
    ("http://[::1/", "IPv6"),
    ("http://[::g]/", "IPv6"),
    ("http://[::1]x/", "IPv6"),
    ("http://[fe80::1%25eth0]/", "IPv6"),
]


@pytest.mark.parametrize("url,problem", BAD)
def test_normalize_for_fetch_errors(url: str, problem: str) -> None:
    with pytest.raises(BadURL) as info:
        normalize_for_fetch(url)
    assert problem in str(info.value)
    assert info.value.code == "bad-url"
    assert info.value.url == url


# -- display_host -----------------------------------------------------------------

DISPLAYED = [
    ("http://Example.COM/x", "example.com"),
    ("http://example.com:8080/x", "example.com:8080"),
    ("http://example.com:80/", "example.com:80"),
    ("https://example.com:443", "example.com:443"),
    ("http://example.com:/", "example.com"),
    ("http://user:pass@Example.com:81/x", "example.com:81"),
    ("http://Straße.DE/ä", "straße.de"),
    ("http://xn--strae-oqa.de/", "xn--strae-oqa.de"),
    ("http://[::1]/", "[::1]"),
    ("http://[2001:DB8::1]:8443/x?y#z", "[2001:db8::1]:8443"),
    ("http://1.2.3.4?x", "1.2.3.4"),
    ("http://0X7F000001/", "0x7f000001"),
    ("http://127.1:8080/", "127.1:8080"),
    ("http://0177.0.0.1./x", "0177.0.0.1."),
    ("http://example.com#f", "example.com"),
    ("http://www.example.com", "www.example.com"),
    ("www.Example.com/x", "www.example.com"),
    ("http://", ""),
    ("", ""),
]


@pytest.mark.parametrize("url,expected", DISPLAYED)
def test_display_host_table(url: str, expected: str) -> None:
    assert display_host(url) == expected


def test_display_host_of_found_urls() -> None:
    line = "WWW.Example.com:8080/x and https://u@Bücher.example/ and http://[::1]:80/"
    assert [display_host(f.url) for f in find_urls(line)] == [
        "www.example.com:8080",
        "bücher.example",
        "[::1]:80",
    ]


# -- properties --------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=())  # surrogates included
PIECES = st.sampled_from(
    [
        "http://", "HTTPS://", "https://", "www.", "WWW.", "://", "a", "Z", "7", "é", "ß", "例",
        "\u0301", ".", "..", "-", "_", "/", "?", "#", "@", ":", ":8080", "%41", "%", "(", ")",
        "[", "]", "{", "}", "[::1]", "1.2.3.4", "example.com", "x.org/", " ", "\t", "\u3000",
        "\u200b", "\x85", "\x00", "<", ">", '"', "`", "'", ",", ";", "!", "*", "\udce9", "İ",
        "user@", "\\", "&", "=", "“", "”", "‘", "’", "「", "」", "（", "）", "【", "】", "«", "»",
        "。", "、", "，", "！", "…", "＂", "＜", "＞", "„",
    ]
)
URLISH = st.lists(st.one_of(PIECES, ANY_CHAR), max_size=40).map("".join)
# A URL on each path of the finder, then a run of trailing punctuation: the
# one-regex path (ASCII host), the full rules (a non-ASCII host, IPv6, userinfo,
# a host longer than a label, an opener left open) and www. links.
URL_BODIES = st.sampled_from(
    [
        "http://example.com/path", "https://a.b/x?q=1", "www.example.org/a_(b)", "http://127.1/x",
        "http://bücher.example/path", "http://bücher.example", "www.bücher.de/x", "http://[::1]/x",
        "https://[2001:db8::1]:8443", "http://u:p@a.example/x", "http://user@[::1]:8/y",
        LONG_HOST_URL, "http://example.com/a(b", "HTTP://Ünï.Çödé/ü",
    ]
)
# (no opener in a run: a closer after it could balance it, and the URL would keep both)
PUNCTUATION_RUNS = st.text(alphabet=[c for c in TRIMMED if c not in OPENERS], min_size=1, max_size=6)
URL_THEN_PUNCTUATION = st.tuples(
    st.sampled_from(["", " ", "see ", "(", "<", "“", "「", "（", "«", "„", "‘", "『", "說「", "« "]),
    URL_BODIES, PUNCTUATION_RUNS,
    st.sampled_from(["", " ", " x", ">", "”", "」", "）", "」と", "»", " »", "“", "’s", "】"]),
).map("".join)
LINES = st.one_of(URLISH, st.text(alphabet=ANY_CHAR, max_size=60), URL_THEN_PUNCTUATION)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def closers_balanced(text: str) -> bool:
    depth = dict.fromkeys(PAIRS, 0)
    pair = {closer: opener for opener, closer in PAIRS.items()}
    for c in text:
        if c in depth:
            depth[c] += 1
        elif c in pair:
            if not depth[pair[c]]:
                return False
            depth[pair[c]] -= 1
    return True


@FAST
@given(LINES)
def test_found_urls_are_well_formed(line: str) -> None:
    found = find_urls(line)
    urls = [f.url for f in found]
    assert len(urls) == len(set(urls))
    position = 0
    for f in found:
        assert f.text and f.text[-1] not in TRIMMED
        assert closers_balanced(f.text)
        assert f.url in (f.text, "http://" + f.text)
        assert f.text[:8].lower().startswith(("http://", "https://")) or f.text[:4].lower() == "www."
        assert not any(c.isspace() or c in '<>"`' or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in f.text)
        position = line.find(f.text, position)
        assert position >= 0  # a substring of the line, in order of appearance
        position += len(f.text)


@FAST
@given(LINES)
def test_finding_is_idempotent(line: str) -> None:
    first = texts(line)
    assert texts(" ".join(first)) == first


@FAST
@given(LINES)
def test_found_urls_normalize_or_raise_bad_url(line: str) -> None:
    for f in find_urls(line):
        assert isinstance(display_host(f.url), str)
        try:
            target = normalize_for_fetch(f.url)
        except BadURL as e:
            assert e.reason
            continue
        assert target.isascii()
        assert not any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in target)
        assert target.startswith(("http://", "https://"))
        assert "#" not in target
        assert normalize_for_fetch(target) == target  # normalising twice changes nothing


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["", " ", "see ", "(", "<", "“", "「", "x" * (MAX_SCAN - 300) + " "]), URL_BODIES,
    PUNCTUATION_RUNS, st.sampled_from(["", " ", " x", ">", '"x', " " + "y" * 400, "」", "”x"]),
)
def test_trailing_punctuation_runs_are_dropped_on_every_path(before: str, url: str, run: str,
                                                             after: str) -> None:
    """All of the run goes, whichever rules decide the URL: the one regex, the full rules, the rules
    at a line cut at MAX_SCAN (a long prefix and a long tail), the batch pass over lines."""
    line = before + url + run + after
    assert texts(line) == [url]
    assert [f.text for f in find_urls_in_block(f"x\n{line}\nhttp://a.b")] == [url, "http://a.b"]
    assert [f.text for f in found_without_fast_path(line)] == [url]


@FAST
@given(st.text(alphabet=ANY_CHAR, max_size=80))
def test_normalize_and_display_never_raise_anything_else(text: str) -> None:
    for url in (text, "http://" + text, "https://x.org/" + text):
        display_host(url)
        try:
            normalize_for_fetch(url)
        except BadURL:
            pass


PAD = "x" * (MAX_SCAN - 60) + " "
NEAR_CUT = st.lists(st.one_of(PIECES, ANY_CHAR, st.sampled_from(["é", "\u3000", "\U0001f600", "\u00a0"])), max_size=40)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NEAR_CUT.map("".join), st.integers(0, 80))
def test_lines_cut_near_the_limit(fragment: str, shift: int) -> None:
    # as decoded from input bytes: a lone surrogate arrives as three undecodable bytes
    fragment = fragment.encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")
    line = PAD[shift:] + fragment
    whole = texts(line)
    assert texts(cut_as_scanned(line)) == whole
    assert texts(cut_as_scanned(line, 1)) in (whole, *(whole[:i] for i in range(len(whole))))
    unlimited = texts(PAD[:1000] + " " + fragment)  # the same fragment far from any cut
    assert unlimited[: len(whole)] == whole


# -- generated from real text: URLs quoted as each language quotes ------------------------

#: How each language sets a URL apart from its text (the URL goes at ``{}``); the CJK ones
#: with no space on either side, as those languages are written.
QUOTED = {
    "ja_JP": ["「{}」", "『{}』", "（{}）", "【{}】", "{}。", "{}、", "「{}」。", "（{}）、", "“{}”"],
    "zh_CN": ["“{}”", "《{}》", "（{}）", "{}，", "{}。", "「{}」", "“{}”。", "（{}）；"],
    "fr_FR": ["« {} »", "«\u00a0{}\u00a0»", "«{}»", "“{}”", "{}.", "({}),", "{}…", "« {} ».", "‹{}›"],
    "de_DE": ["„{}“", "»{}«", "‚{}‘", "„{}“.", "({}).", "{}!", "«{}»", "{}:"],
}
#: URLs on the fast path and on the full rules: ASCII, a www. link, balanced pairs kept,
#: non-ASCII hosts and paths, IPv6, userinfo.
QUOTED_URLS = [
    "https://example.org/page", "www.example.com/a/b?c=1", "https://en.wikipedia.org/wiki/Foo_(bar)",
    "https://ja.wikipedia.org/wiki/東京_（曖昧さ回避）", "http://例え.テスト/パス", "https://straße.de/ä?x=1#f",
    "http://[2001:db8::1]:8443/x", "https://u:p@example.cn/路径/「a」", "http://example.fr/“cité”/x",
    "https://example.de/%C3%A4",
]


def quoted_lines(locale: str, count: int) -> list[tuple[str, list[str]]]:
    """Sentences faker writes in ``locale``, each with URLs quoted into it at word (or, in
    Chinese and Japanese, character) boundaries, and the URLs each line must give.

    Text glued to a URL's end after a full stop or comma continues its path (``。`` as ``.``
    does in ``a.b``), so in Chinese and Japanese only a closing bracket or quote ends a URL
    inside a sentence; the URL at the sentence's end may take any form.
    """
    import random

    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(20261204)
    pick = random.Random(locale)
    glued = locale[:2] in ("ja", "zh")  # no spaces between words
    inside = [q for q in QUOTED[locale] if not glued or q[-1] in PAIRS.values()]
    lines = []
    for _ in range(count):
        sentence = fake.sentence(nb_words=12)
        words = list(sentence.rstrip("。.")) if glued else sentence.split(" ")
        urls = pick.sample(QUOTED_URLS, pick.randint(1, 3))
        places = sorted(pick.sample(range(len(words)), len(urls) - 1)) + [len(words)]
        for place, url in zip(reversed(places), reversed(urls)):
            quoted = pick.choice(QUOTED[locale] if place == len(words) else inside).format(url)
            if glued and quoted[0] not in OPENERS and place and words[place - 1].isalnum():
                quoted = pick.choice("。、，") + quoted  # a URL needs a break before it
            words.insert(place, quoted)
        lines.append((("" if glued else " ").join(words), urls))
    return lines


@pytest.mark.parametrize("locale", sorted(QUOTED))
def test_urls_quoted_in_real_text_come_out_bare(locale: str) -> None:
    """Text the rules were not tuned on: every URL comes out whole, without its quotes, by
    every path (one line, the full rules alone, a block of lines)."""
    lines = quoted_lines(locale, 300)
    for line, urls in lines:
        assert texts(line) == urls, line
        assert [f.text for f in found_without_fast_path(line)] == urls, line
    block = "\n".join(line for line, _ in lines)
    assert [f.text for f in find_urls_in_block(block)] == [url for _, urls in lines for url in urls]


# -- the fast path decides as the full rules do ---------------------------------------

FAST_PIECES = st.sampled_from(
    [
        "http://", "https://", "www.", "WWW.", "a", "Z", "0", "9", "x", "-", "--", ".", "..", "/", "?", "#",
        ":", ":80", "@", "_", "%", "(", ")", "[", "]", "{", "}", " ", "\t", ",", ";", "!", "'", '"', "*",
        "<", ">", "|", "~", "=", "&", "é", "\u0301", "\u200d", "\u200b", "\u3000", "\x85", "\udce9", "0x1",
        "123", "example", "com", "org", "xn--", "s://", "S://", "İ", "“", "”", "「", "」", "（", "）",
        "«", "»", "’", "。", "、", "！", "…", "＂", "［", "］",
    ]
)
FAST_LINES = st.lists(st.one_of(FAST_PIECES, ANY_CHAR), max_size=30).map("".join)
PLAIN_LABEL = st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,6}", fullmatch=True)
ODD_LABEL = st.from_regex(r"[a-zA-Z0-9-]{1,8}|0x[0-9a-f]{0,3}|[0-9]{1,4}|xn--[a-z]{1,3}", fullmatch=True)
URL_SHAPED = st.tuples(
    st.sampled_from(["", "", "x ", "(", "<", "'", "é", "_", "“", "「", "（", "«", "、"]),
    st.sampled_from(["http://", "HTTPS://", "www.", "WwW.", "http://www.", "http://u:p@"]),
    st.lists(st.one_of(PLAIN_LABEL, PLAIN_LABEL, ODD_LABEL), min_size=1, max_size=4).map(".".join),
    st.sampled_from(["", "", "", ".", "..", ":80", ":", ":8a", "-", "\u0301"]),
    st.lists(st.one_of(PLAIN_LABEL, FAST_PIECES, FAST_PIECES, ANY_CHAR), max_size=12).map("".join),
).map("".join)


def found_without_fast_path(line: str) -> list[Found]:
    import re

    from linkfilter import urls

    saved = urls._fast_url, urls._fast_www
    never = re.compile("(?!)")  # matches nothing: the full rules decide
    urls._fast_url = urls._fast_www = lambda: never
    try:
        return find_urls(line)
    finally:
        urls._fast_url, urls._fast_www = saved


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(URL_SHAPED, FAST_LINES, URLISH, URL_THEN_PUNCTUATION))
def test_the_fast_path_changes_nothing(line: str) -> None:
    assert find_urls(line) == found_without_fast_path(line)


@pytest.mark.parametrize(
    "line",
    [
        "[12:34:56] <nick3> look at https://example42.com/path/1234?x=1. it is great",
        "[12:34:56] <nick3> www.example.org/a/b and http://foo.bar.example/x_(y)",
        "www.\u3000 www.a www.1 www.a-.b www.a--b.c http://a.b/(c(d)) http://a.b/x(y http://0x7f.a",
        "http://" + "a" * 63 + ".b/ http://" + "a" * 60 + ".bc/ http://" + "a" * 61 + ".bc/ http://a.b:/ http://a.b.:8/.",
        "http://a.b\u200d/ http://a.b\u0301 http://a.b_c http://a.b@c.d http://a.b:8@c http://a.b%41 http://a.b\\x",
        " ".join(c + "www.a.b" + c + "http://a.b/x" + c for c in " \t([{<'\"*,;!|>)]}"),
        "".join(c + "www.a.b" + c + "http://a.b/x" + c for c in TRIMMED + OPENERS + "".join(PAIRS.values()) + "→"),
        "she said “https://example.org/page” and 「https://example.jp/a」。（https://a.b/（c）d）",
    ],
)
def test_the_fast_path_changes_nothing_on_examples(line: str) -> None:
    assert find_urls(line) == found_without_fast_path(line)


def test_spaces_spelled_out_are_what_isspace_says() -> None:
    """The URL rules list the white space characters (a faster regex class); nothing is missed."""
    import re

    from linkfilter import urls

    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert set(re.findall(f"[{urls._SPACES}]", every)) == {c for c in every if c.isspace()}


def display_host_without_fast_path(url: str) -> str:
    import re

    from linkfilter import urls

    saved = urls._PLAIN_AUTHORITY
    urls._PLAIN_AUTHORITY = re.compile("(?!)")
    try:
        return display_host(url)
    finally:
        urls._PLAIN_AUTHORITY = saved


HOSTPORTS = st.lists(
    st.one_of(st.sampled_from(["a", "B", "é", ".", ":", ":80", "@", "[", "]", "[::1]", "/", "?", "#", "%", " "]), ANY_CHAR),
    max_size=12,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["http://", "HTTPS://", "", "x:y://", "www."]), HOSTPORTS, st.sampled_from(["", "/", "/p?q#f", "?x", "#"]))
def test_display_host_fast_path_changes_nothing(scheme: str, hostport: str, rest: str) -> None:
    url = scheme + hostport + rest
    assert display_host(url) == display_host_without_fast_path(url)
