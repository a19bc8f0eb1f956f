"""Find http(s) and ``www.`` links in a line of text, and turn them into request URLs.

Pure functions, no I/O. Lines can be a MiB of dots and slashes, so candidates
are located with ``str.find`` (``://`` and ``www.``) and the rules below run
only there, each with regexes anchored at the candidate. Most links are plain
(an ASCII host name, a simple path): one regex decides those at once, and the
full rules run only where it cannot. Only the first MAX_SCAN bytes of a line
are scanned. ``find_urls_in_block`` answers for many lines at once, deciding
their plain links in one regex pass over all of them.

* ``http://`` / ``https://`` in any case, starting at a word boundary: the
  character before the scheme is not a letter, digit, ``_`` or a URI scheme
  character (``+ - .``), so ``nohttp://x`` and ``git+https://x`` are no URL.
* ``www.`` at a word start: the character before it is none of those, nor
  ``@ / \\ : % & = ? # ~ $`` (no e-mail addresses, no paths or other schemes).
  Its host needs a label after ``www``. Fetched as ``http://``.
* The host is a host name (labels of letters, digits, combining marks and
  hyphens, 1-63 characters, no hyphen at either end, 253 at most, one trailing
  dot allowed), an IPv4 address or a bracketed IPv6 address, optionally
  followed by ``:digits``. A host whose last label is a number (all digits, or
  ``0x`` and hex digits) is an IPv4 address or nothing, read as browsers read
  it (WHATWG URL Standard): 1 to 4 parts, each decimal, ``0x`` hex or ``0``
  octal, the last filling the bytes left, so ``127.1``, ``2130706433``,
  ``0x7f000001`` and ``0177.0.0.1`` are all 127.0.0.1, and ``foo.123``,
  ``1.2.3.256`` and ``08`` are no host. ``www.`` links are never numeric.
  ``user:pass@`` may precede the host in a scheme URL. After the authority
  only ``/``, ``?`` or ``#`` continue the URL; a following ``@ _ % \\`` or
  undecodable byte means the host was not one (``www.x@y.org`` is an e-mail
  address) and nothing is found.
* A URL ends at whitespace (``str.isspace``), a control character (C0, DEL,
  C1), ``< > "`` or a backquote, or an invisible formatting character
  (zero-width space, word joiner, BOM, bidi marks and overrides), and at a
  closing bracket that no opening one of its kind inside the URL balances:
  ``) ] }``, typographic quotes and guillemets (``” ’ » ›`` closing ``“ ‘ « ‹``),
  CJK brackets (``」 』 】 》 〉`` and the like) and fullwidth ones (``） ］ ｝``),
  so ``「https://example.jp/a」`` and ``“https://example.org/”`` give the bare
  URL while a balanced pair inside one is kept. Trailing ``. , : ; ! ? ' " *``,
  their fullwidth forms, ``。 、 …`` and quotes that close in some languages
  (``“ ‘ „ «`` in German) are then dropped. Since every closing bracket kept is
  balanced, dropping punctuation can never expose an unbalanced one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote, unquote

from linkfilter.errors import BadURL

#: Only this many bytes at the start of a line (its UTF-8 form, an undecodable
#: byte ``\udcXX`` counting one) are scanned for URLs; the rest of the line is not.
MAX_SCAN = 1 << 20
#: Bytes past MAX_SCAN a caller that cuts lines should keep (the longest UTF-8
#: character): the character at the cut tells a URL that ends there from one
#: running on. Cut at MAX_SCAN + SCAN_LOOKAHEAD bytes, a line gives the URLs it
#: gives whole.
SCAN_LOOKAHEAD = 4
_SHORT_LINE = MAX_SCAN // 4  # no longer than MAX_SCAN bytes, even in 4-byte characters
#: Longest host name, trailing dot excluded (RFC 1035).
MAX_HOST = 253
#: Longest label of a host name.
MAX_LABEL = 63
#: Longest ``user:pass@`` looked at before a host.
MAX_USERINFO = 256

DEFAULT_PORTS = {"http": 80, "https": 443}

# Bracket pairs, opener and closer at the same index: ASCII, typographic quotes
# and guillemets, CJK brackets, fullwidth and halfwidth forms. A closer ends a
# URL unless an opener of its kind inside the URL balances it.
_OPENERS = "([{\u201c\u2018\xab\u2039\u300c\u300e\u3010\u300a\u3008\u3014\u3016\u3018\u301a\u301d" \
    "\uff08\uff3b\uff5b\uff62\uff1c"  # ( [ { “ ‘ « ‹ 「 『 【 《 〈 〔 〖 〘 〚 〝 （ ［ ｛ ｢ ＜
_CLOSERS = ")]}\u201d\u2019\xbb\u203a\u300d\u300f\u3011\u300b\u3009\u3015\u3017\u3019\u301b\u301e" \
    "\uff09\uff3d\uff5d\uff63\uff1e"  # ) ] } ” ’ » › 」 』 】 》 〉 〕 〗 〙 〛 〞 ） ］ ｝ ｣ ＞
_PAIRS = _OPENERS + _CLOSERS
# Dropped from the end of a URL: ASCII punctuation, its fullwidth forms, CJK
# full stops and commas, the ellipsis, and quotes that close in some languages
# but open in others (German „…“ and »…«).
_TRIM = ".,:;!?'\"*" "\uff0e\uff0c\uff1a\uff1b\uff01\uff1f\uff07\uff02\uff0a" \
    "\u3002\u3001\uff61\uff64\u2026" "\u201c\u2018\u201e\u201a\u201f\xab\u2039\u301f"
# Characters that are invisible in a terminal and never meant inside a link.
_INVISIBLE = "\\u200b\\u200e\\u200f\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff"
# What str.isspace() and re's \\s match, spelled out: a class without a
# category compiles to a table, several times faster on non-ASCII text.
_SPACES = "\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_STOP = _SPACES + "<>\"`\\x00-\\x1f\\x7f-\\x9f" + _INVISIBLE

# Before a scheme: a letter/digit/underscore or a scheme character means we are
# inside a word or another scheme (git+https://).
_SCHEME_JOINERS = "_+-."
# Before www.: also anything that makes it part of an e-mail, path or query.
_WWW_JOINERS = "_+-.@/\\:%&=?#~$"
# Common characters before a URL that join it to nothing (the fast regex knows
# them): not "." (a scheme joiner) nor ":" and "?" (www. joiners).
_BREAKS = frozenset(" \t<>'\"*,;!|" + _PAIRS + _TRIM) - frozenset(".:?")
# After the authority, these (and an undecodable byte, \udcXX) say the "host"
# we read was not the whole host.
_BAD_AFTER_HOST = "@_%\\"



def _on_first_use(pattern: str) -> Callable[[], re.Pattern[str]]:
    """A function returning ``pattern`` compiled at its first call: for patterns only some
    lines or modes need, off the start-up path (``functools.cache``, as in markup)."""
    return functools.cache(functools.partial(re.compile, pattern))


_HOST_RUN = re.compile(r"(?:[^\W_]|[.\-\u200c\u200d])+")
_PORT = re.compile(r":[0-9]+")
_IPV6 = _on_first_use(r"\[[0-9A-Fa-f:.]{2,45}\]")
# userinfo without brackets, so that every closing bracket in a URL is balanced
_PAIR_CLASS = re.escape(_PAIRS)  # for a character class
_USERINFO = re.compile(f"[^{_STOP}/?#@{_PAIR_CLASS}\\\\]{{0,{MAX_USERINFO}}}@")
_PLAIN = f"[^{_STOP}{_PAIR_CLASS}]"
# Plain characters and innermost balanced ASCII bracket pairs, skipped in one
# regex step; _path_end takes every other pair one character at a time.
_PATH_RUN_PATTERN = f"(?:{_PLAIN}+|\\({_PLAIN}*\\)|\\[{_PLAIN}*\\]|\\{{{_PLAIN}*\\}})*"
_PATH_RUN = _on_first_use(_PATH_RUN_PATTERN)  # only the full rules use it alone
_STOP_CHAR = _on_first_use(f"[{_STOP}]")
# The common URL, matched by one regex anchored at its start: after a common
# character that joins it to nothing (or at the line start), "http(s)://" or
# "www.", an ASCII host name (group 1) of alphanumeric runs joined by single
# dots or hyphens, the last run starting with a letter (so the last label is
# no number and the host no IPv4 address); an optional port; then a path of
# plain characters and innermost bracket pairs (group 2), or a character that
# ends the URL at once. When the host has at most MAX_LABEL characters (so no
# label or name is too long) and no opener follows the path (group 3), the
# full rules find the same URL; they decide every other case. The regex never
# fails after reading a path, so a refused candidate costs no more than its host.
_FAST_BREAK = "(?<![^" + re.escape("".join(sorted(_BREAKS))) + "])"
_FAST_HOST = r"(?:[A-Za-z0-9]{1,63}[.\-])*[A-Za-z][A-Za-z0-9]{0,62}\.?"
# the path: plain ASCII first (a table lookup per character), then as _PATH_RUN
_PLAIN_ASCII = "".join(c for c in map(chr, range(0x21, 0x7F)) if c not in '<>"`()[]{}')
_FAST_PATH = f"[/?#][{re.escape(_PLAIN_ASCII)}]*{_PATH_RUN_PATTERN}"
_OPENER_CLASS = f"[{re.escape(_OPENERS)}]"
_FAST_TAIL = f"(?::[0-9]+)?(?:({_FAST_PATH})({_OPENER_CLASS})?|(?=[{_STOP}{_PAIR_CLASS}]|\\Z))"
_FAST_URL = f"{_FAST_BREAK}[hH][tT][tT][pP][sS]?://({_FAST_HOST}){_FAST_TAIL}"
_FAST_WWW = f"{_FAST_BREAK}([wW][wW][wW]\\.{_FAST_HOST}){_FAST_TAIL}"
# Compiled at the first find_urls call and the first "www." candidate, off the
# start-up path; the _BATCH_* ones below at the first find_urls_in_block call
# (text --dry-run).
_fast_url = _on_first_use(_FAST_URL)
_fast_www = _on_first_use(_FAST_WWW)


# find_urls_in_block runs the fast regex over many lines joined by newlines, in
# one pass per kind of mark. A match starts at its mark ("://", or the "." of
# "www."), which ``re`` scans for quickly, as the pattern's literal prefix; a
# lookbehind checks the scheme or "www" and the character before the URL (a
# newline being a line start); the fast regex's host and tail follow. Groups:
# in _BATCH_URL 1 the "s" of https, 2 the host, 3 an opener after the path; in
# _BATCH_WWW 1 the host after "www.", 2 an opener after the path.
_BATCH_BREAK = "(?<![^" + re.escape("".join(sorted(_BREAKS | {"\n"}))) + "])"
_BATCH_TAIL = f"(?::[0-9]+)?(?:{_FAST_PATH}({_OPENER_CLASS})?|(?=[{_STOP}{_PAIR_CLASS}]|\\Z))"
_BATCH_URL = (
    f"://(?:(?<={_BATCH_BREAK}[hH][tT][tT][pP]([sS])://)|(?<={_BATCH_BREAK}[hH][tT][tT][pP]://))"
    f"({_FAST_HOST}){_BATCH_TAIL}"
)
_BATCH_WWW = f"\\.(?<={_BATCH_BREAK}[wW][wW][wW]\\.)({_FAST_HOST}){_BATCH_TAIL}"
# Every "www." mark, in any case, as find_urls meets them (the match is its ".").
_MARK_WWW = "\\.(?<=[wW][wW][wW]\\.)"
_batch_url = _on_first_use(_BATCH_URL)
_batch_www = _on_first_use(_BATCH_WWW)
_marks_www = _on_first_use(_MARK_WWW)


_ESCAPED_BYTE = _on_first_use("[\udc80-\udcff]")
_USERINFO_RUN = _on_first_use(f"[^{_STOP}/?#@{_PAIR_CLASS}\\\\]*")
_LDH = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\Z")
_LDH_UNDERSCORE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_\-]*[A-Za-z0-9_])?\Z")
# WHATWG IPv4 number: 0x/0X hex (digits may be none), 0 octal, or decimal.
_IPV4_NUMBER = r"0[xX][0-9A-Fa-f]*|0[0-7]*|[1-9][0-9]*"
_IPV4 = re.compile(rf"(?:(?:{_IPV4_NUMBER})\.){{0,3}}(?:{_IPV4_NUMBER})\Z")
# A last label like this makes a host an IPv4 address or nothing ("ends in a number").
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9A-Fa-f]*)\Z")

# Request-target characters kept as they are (RFC 3986 unreserved, sub-delims,
# ":" "@" "/" "?"); "%" is kept only before two hex digits.
_TARGET_SAFE = "A-Za-z0-9\\-._~!$&'()*+,;=:@/?"
_TARGET_ENCODE = re.compile(f"%[0-9A-Fa-f]{{2}}|%|[^{_TARGET_SAFE}%]+")
_AUTHORITY = re.compile(r"[^/?#]*")
# scheme://host[:port] with no userinfo or "[" in the authority (display_host)
_PLAIN_AUTHORITY = re.compile(r"[^:]*://([^:/?#@\[]*)(?::([^/?#@]*))?(?:[/?#]|\Z)")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


class Found(NamedTuple):
    """A URL found in a line (a named tuple: cheap to make, find_urls is on the hot path)."""

    text: str  # the URL exactly as it stands in the line
    url: str  # text, with "http://" in front for www. links; otherwise == text


_new_found = tuple.__new__  # Found(text, url) without the Python-level __new__


def find_urls(line: str) -> list[Found]:
    """Distinct URLs of one line (by ``.url``, first kept), in order of appearance.

    Scans only the characters within the first MAX_SCAN bytes of the line. A
    URL running into that limit is dropped, since its end cannot be seen: one
    reaching the limit is kept only if the next character ends it (whitespace
    and the like). Never raises on any ``str``.
    """
    fast_url = _fast_url().match
    fast_www = None  # compiled at the first "www." candidate
    s, cut_open = _scanned_part(line) if len(line) > _SHORT_LINE else (line, False)
    low = s  # where "www." is searched: lower case, unless there is no "W" at all
    if "W" in s:
        low = s.lower()
        if len(low) != len(s):  # only U+0130 lower-cases to two characters
            low = s.replace("\u0130", "I").lower()
    # Candidates, in order: "http(s)://" and "www." at a word start, taken one at
    # a time from two str.find scans (a regex scan costs more); n for none left.
    n = len(s)
    none = n + 1
    scheme = s.find("://") % none
    www = low.find("www.") % none
    found: list[Found] = []
    seen: set[str] = set()
    covered = 0  # end of the last URL found: candidates inside it are part of it
    # Candidates before this are left to the full rules: all of them at the cut.
    slow_until = none if cut_open else 0
    while True:
        if scheme < www:
            p = scheme
            scheme = s.find("://", p + 3) % none
            start = p - 5 if p and s[p - 1] in "sS" else p - 4  # if it is a scheme
            is_www = False
            fast = fast_url
        elif www < n:
            start = p = www
            www = low.find("www.", p + 4) % none
            is_www = True
            fast = fast_www = fast_www or _fast_www().match
        else:
            break
        if start < covered:
            continue
        m = None
        if start >= slow_until:
            m = fast(s, start)
            if m is not None:
                end = m.end()
                if m.lastindex != 3 and (
                    end - start <= MAX_LABEL or m.end(1) - m.start(1) <= MAX_LABEL
                ):
                    text = s[start:end].rstrip(_TRIM)
                    end = start + len(text)
                else:  # an opener after the path, or a long host
                    # the full rules decide; should they refuse the host, the path
                    # just read is not read again for every candidate inside it
                    slow_until = end
                    m = None
        if m is None:  # wherever the fast regex cannot decide
            if is_www:
                host_start = start
                # a word start, and a label after "www." (a cheap pre-check)
                after = s[start + 4 : start + 5]
                if not (after.isalnum() or after > "\x7f"):
                    continue
            else:
                host_start = p + 3
                if p >= 4 and s[p - 4 : p].lower() == "http":
                    start = p - 4
                elif p >= 5 and s[p - 5 : p].lower() == "https":
                    start = p - 5
                else:
                    continue
                if start < covered:
                    continue
            if start and _joins(s[start - 1], _WWW_JOINERS if is_www else _SCHEME_JOINERS):
                continue
            end = _url_end(s, host_start, is_www, cut_open)
            if end == _RUNS_INTO_CUT:
                break  # every later candidate lies inside this unfinished URL
            if end < 0:
                continue
            text = s[start:end]
        covered = end
        url = "http://" + text if is_www else text
        if url not in seen:
            seen.add(url)
            found.append(_new_found(Found, (text, url)))
    return found


def find_urls_in_block(block: str) -> list[Found]:
    """The URLs of each line of ``block`` (lines end at "\\n"): ``find_urls`` of each, concatenated.

    Plain links are found for the whole block at once, one regex pass per kind
    of mark; a line where that pass cannot vouch for every mark goes to
    ``find_urls``, as does every line when one is long enough to be cut at
    MAX_SCAN. The pass vouches for a line when each of its marks lies in a URL
    the fast regex decides, no two overlapping: ``find_urls`` then meets those
    URLs in the same order and skips the marks inside them.
    """
    if len(block) > _SHORT_LINE and max(map(len, block.split("\n"))) > _SHORT_LINE:
        return [url for line in block.split("\n") for url in find_urls(line)]
    spans, where = _plain_spans(block)
    slow = _lines_at(block, where + _stray_marks(block, spans, where))
    if slow:
        spans = _with_slow_lines(block, spans, slow)
    found = [f for _, _, f in spans]
    if len({f.url for f in found}) < len(found):
        found = _distinct_per_line(block, [start for start, _, _ in spans], found)
    return found


_Span = tuple[int, int, "Found | None"]  # start, end, the URL (None: the fast regex leaves it open)


def _plain_spans(block: str) -> tuple[list[_Span], list[int]]:
    """The URLs the batch regexes find in ``block``, in order, and where they cannot vouch.

    They cannot where the fast regex leaves a URL open, nor where a URL
    overlaps the one before.
    """
    spans: list[_Span] = []
    where: list[int] = []
    for m in _batch_url().finditer(block):
        https, host, opener = m.groups()
        start, end = m.span()
        start -= 5 if https else 4
        if opener is None and len(host) <= MAX_LABEL:
            text = block[start:end].rstrip(_TRIM)
            spans.append((start, end, _new_found(Found, (text, text))))
        else:
            spans.append((start, end, None))
            where.append(start)
    schemes = len(spans)
    for m in _batch_www().finditer(block):
        host, opener = m.groups()
        start, end = m.span()
        start -= 3
        if opener is None and len(host) <= MAX_LABEL - 4:  # the fast regex's group has "www." too
            text = block[start:end].rstrip(_TRIM)
            spans.append((start, end, _new_found(Found, (text, "http://" + text))))
        else:
            spans.append((start, end, None))
            where.append(start)
    if 0 < schemes < len(spans):  # both kinds: in order, and one may lie in another
        spans.sort(key=_span_start)
        where += [b[0] for a, b in zip(spans, spans[1:]) if b[0] < a[1]]
    return spans, where


def _span_start(span: _Span) -> int:
    return span[0]


def _stray_marks(block: str, spans: list[_Span], where: list[int]) -> list[int]:
    """Positions of the marks of ``block`` in no span the fast regex decides."""
    www = [m.start() - 3 for m in _marks_www().finditer(block)]
    if not where and block.count("://") + len(www) == len(spans):
        return []  # each span holds its own mark, none overlapping: every mark is in one
    marks = sorted([(m, m + 3) for m in _find_all(block, "://")] + [(w, w + 4) for w in www])
    stray = []
    j, n = 0, len(spans)
    for first, last in marks:
        while j < n and spans[j][1] < last:
            j += 1
        if j == n or spans[j][0] > first or spans[j][2] is None:
            stray.append(first)
    return stray


def _find_all(text: str, sub: str) -> list[int]:
    """Positions of ``sub`` in ``text``, searched as find_urls does (no overlaps)."""
    found = []
    i = text.find(sub)
    while i >= 0:
        found.append(i)
        i = text.find(sub, i + len(sub))
    return found


def _lines_at(block: str, where: list[int]) -> list[tuple[int, int]]:
    """``(start, end)`` of the lines of ``block`` holding these positions, in order, once each.

    Each line is searched for its ends once, from its first position: a long
    line with many positions costs its length, not its length per position.
    """
    lines = []
    end = -1
    for i in sorted(where):
        if i <= end:
            continue  # on the line found last
        end = block.find("\n", i)
        if end < 0:
            end = len(block)
        lines.append((block.rfind("\n", 0, i) + 1, end))
    return lines


def _with_slow_lines(block: str, spans: list[_Span], slow: list[tuple[int, int]]) -> list[_Span]:
    """The spans, those on the slow lines replaced by what ``find_urls`` finds there."""
    kept: list[_Span] = []
    i, n = 0, len(slow)
    for span in spans:
        while i < n and slow[i][1] < span[0]:
            i += 1
        if i == n or slow[i][0] > span[0]:  # not on a slow line
            kept.append(span)
    for start, end in slow:
        kept.extend((start, start, f) for f in find_urls(block[start:end]))
    kept.sort(key=_span_start)  # stable: a line's URLs keep their order
    return kept


def _distinct_per_line(text: str, starts: list[int], found: list[Found]) -> list[Found]:
    """Drop a URL already found on the same line (of ``text``, lines joined by newlines)."""
    kept: list[Found] = []
    seen: set[tuple[int, str]] = set()
    line = done = 0
    for start, f in zip(starts, found):
        line += text.count("\n", done, start)
        done = start
        if (line, f.url) not in seen:
            seen.add((line, f.url))
            kept.append(f)
    return kept


def _scanned_part(line: str) -> tuple[str, bool]:
    """The characters of ``line`` within MAX_SCAN bytes, and whether a URL reaching their end is cut."""
    k = MAX_SCAN if line.isascii() else _chars_within(line, MAX_SCAN)
    if k >= len(line):
        return line, False
    return line[:k], not _STOP_CHAR().match(line, k)


def _chars_within(line: str, limit: int) -> int:
    """How many leading characters of ``line`` fit in ``limit`` bytes of UTF-8."""
    k = min(len(line), limit)
    size = _utf8_size(line[:k])
    while size > limit:
        # a character is at most 4 bytes: at least this many must go, never more
        drop = (size - limit + 3) // 4
        size -= _utf8_size(line[k - drop : k])
        k -= drop
    return k


def _utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8; ``\\udcXX`` (an undecodable input byte) counts one."""
    try:
        return len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte: 3, as written raw
        return len(text.encode("utf-8", "surrogatepass")) - 2 * len(_ESCAPED_BYTE().findall(text))


def _joins(c: str, joiners: str) -> bool:
    """Whether ``c`` glues what follows it to the word before."""
    if c.isalnum() or c in joiners:
        return True
    # combining marks and joiners belong to the label before (a host run of its own)
    return c > "\x7f" and (unicodedata.category(c)[0] == "M" or c in "\u200c\u200d")


_RUNS_INTO_CUT = -2


def _url_end(s: str, i: int, www: bool, cut_open: bool) -> int:
    """End of the URL whose authority starts at ``i``; -1 if there is none.

    Returns _RUNS_INTO_CUT when the URL reaches the end of a cut line. The host
    is checked before the path is scanned, so a bad candidate costs no more
    than its own authority, and host runs of successive candidates never
    overlap: a line is scanned in linear time.
    """
    n = len(s)
    if not www:
        m = _USERINFO.match(s, i)
        if m:
            i = m.end()
        elif cut_open and n - i <= MAX_USERINFO and _USERINFO_RUN().match(s, i).end() == n:
            return _RUNS_INTO_CUT  # its "@" may lie past the cut
    if not www and s.startswith("[", i):
        m = _IPV6().match(s, i)
        if not m or not _valid_ipv6(s[i + 1 : m.end() - 1]):
            return -1
        host_end = m.end()
    else:
        host_end = _host_run_end(s, i)
    end = host_end
    m = _PORT.match(s, end)
    if m:
        end = m.end()
    if cut_open and n - end <= 2 and s[end:] in ("", ":", ":/"):
        return _RUNS_INTO_CUT  # a port, a path or a doubled scheme may follow
    after = s[end : end + 1]
    if after and (after in _BAD_AFTER_HOST or "\ud800" <= after <= "\udfff"):
        return -1
    if after == ":" and s.startswith("//", end + 1):
        return -1  # "http://http://x": the scheme typed twice; the inner URL is the link
    if after and after in "/?#":
        if not _host_ok(s, i, host_end, www):
            return -1
        end = _path_end(s, end)
    if end == n and cut_open:
        return _RUNS_INTO_CUT
    while end > i and s[end - 1] in _TRIM:
        end -= 1
    if end <= host_end or not after or after not in "/?#":
        if not _host_ok(s, i, min(end, host_end), www):
            return -1
    return end


def _host_ok(s: str, i: int, end: int, www: bool) -> bool:
    if s.startswith("[", i):
        return True  # checked as an IPv6 address already
    if end - i > MAX_HOST + 1 or not _valid_host(s[i:end], allow_underscore=False):
        return False
    # www. links need a label after "www"
    return not www or s.find(".", i, end) not in (-1, end - 1)


def _host_run_end(s: str, i: int) -> int:
    """End of the run of host-name characters (letters, digits, marks, ``.``, ``-``) at ``i``."""
    n = len(s)
    end = i
    while True:
        m = _HOST_RUN.match(s, end)
        if m:
            end = m.end()
        if end < n and s[end] > "\x7f" and unicodedata.category(s[end])[0] == "M":
            end += 1  # combining marks (Indic vowel signs, viramas) are part of a label
            continue
        return end


def _path_end(s: str, i: int) -> int:
    """End of the path, query and fragment at ``i``: at a stop character or an unbalanced closer."""
    depth = [0] * len(_OPENERS)
    n = len(s)
    while True:
        i = _PATH_RUN().match(s, i).end()
        if i == n:
            return i
        c = s[i]
        k = _OPENERS.find(c)
        if k >= 0:
            depth[k] += 1
        else:
            k = _CLOSERS.find(c)
            if k < 0 or not depth[k]:
                return i
            depth[k] -= 1
        i += 1


def _valid_host(host: str, *, allow_underscore: bool) -> bool:
    """A host name or an IPv4 address in any numeric spelling, with at most one trailing dot."""
    if host.endswith("."):
        host = host[:-1]
    if not host or len(host) > MAX_HOST:
        return False
    labels = host.split(".")
    last = labels[-1]
    if not last.isascii():
        # browsers map the host (UTS-46) before this test: fullwidth digits are digits
        last = unicodedata.normalize("NFKC", last)
        if _NUMERIC_LABEL.match(last):
            return _ipv4_value(unicodedata.normalize("NFKC", host)) is not None
    elif _NUMERIC_LABEL.match(last):
        return _ipv4_value(host) is not None
    ldh = _LDH_UNDERSCORE if allow_underscore else _LDH
    for label in labels:
        if not label or len(label) > MAX_LABEL:
            return False
        if label.isascii():
            if not ldh.match(label):
                return False
        elif label[0] == "-" or label[-1] == "-":
            return False
    return True


def _ipv4_value(host: str) -> int | None:
    """The address a numeric host names, as the WHATWG IPv4 parser reads it; None if it names none.

    ``host`` has no trailing dot. Up to 4 parts, each decimal, ``0x`` hex
    (``0x`` alone is 0) or octal after a leading ``0``; every part but the last
    is one byte, the last fills the bytes left (``127.1`` = 127.0.0.1).
    """
    if len(host) > MAX_HOST or not _IPV4.match(host):
        return None
    parts = host.split(".")
    value = 0
    for part in parts[:-1]:
        number = _ipv4_number(part)
        if number > 255:
            return None
        value = value << 8 | number
    last = _ipv4_number(parts[-1])
    room = 8 * (5 - len(parts))
    if last >> room:
        return None
    return value << room | last


def _ipv4_number(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        return int(part, 8)
    return int(part)


def _dotted_quad(value: int) -> str:
    return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def _valid_ipv6(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def normalize_for_fetch(url: str) -> str:
    """The absolute ASCII URL to request for ``url``.

    Scheme and host lower case, userinfo and fragment dropped, a non-ASCII host
    IDNA-encoded (UTS-46, non-transitional, as browsers do), a default port
    dropped, an empty path made "/", and every character not allowed in a
    request target percent-encoded as UTF-8 (``\\udcXX`` from surrogateescape
    as the byte ``%XX``); existing ``%XX`` are kept. Leading and trailing C0
    controls and spaces, and tabs and newlines anywhere, are removed first, as
    browsers do with a Location header.

    Raises BadURL for a scheme other than http/https, an empty or invalid host,
    or a port outside 1..65535.
    """
    u = url.strip(_C0_AND_SPACE)
    if "\t" in u or "\n" in u or "\r" in u:
        u = u.replace("\t", "").replace("\n", "").replace("\r", "")
    scheme, authority, rest = split_authority(u)
    if scheme is None:
        raise BadURL(f"not an absolute URL: {_short(url)}", url=url)
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BadURL(f"scheme {_short(scheme)} is not http or https", url=url)
    target = rest.partition("#")[0]
    if "\\" in authority:
        raise BadURL(f"backslash in the host part: {_short(authority)}", url=url)
    hostport = authority.rpartition("@")[2]
    host, port_text = _split_hostport(hostport, url)
    host = _ascii_host(host, url)
    port = _port(port_text, url)
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if not target.startswith("/"):
        target = "/" + target
    return f"{scheme}://{host}{_percent_encode(target)}"


def _split_hostport(hostport: str, url: str) -> tuple[str, str]:
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise BadURL(f"unclosed IPv6 address: {_short(hostport)}", url=url)
        after = hostport[close + 1 :]
        if after and not after.startswith(":"):
            raise BadURL(f"junk after IPv6 address: {_short(hostport)}", url=url)
        return hostport[: close + 1], after[1:]
    host, _, port = hostport.partition(":")
    return host, port


def _ascii_host(host: str, url: str) -> str:
    """The host as sent: lower case, IDNA-encoded, IPv6 compressed; BadURL if invalid."""
    if not host:
        raise BadURL("empty host", url=url)
    if host.startswith("["):
        import ipaddress

        inner = host[1:-1]
        try:
            if "%" in inner:  # zone identifiers mean nothing off this machine
                raise ValueError("zone identifier")
            return f"[{ipaddress.IPv6Address(inner).compressed}]"
        except ValueError as e:
            raise BadURL(f"invalid IPv6 address {_short(host)}: {e}", url=url) from e
    if "%" in host:
        try:
            host = unquote(host, errors="strict")
        except UnicodeDecodeError as e:
            raise BadURL(f"invalid host {_short(host)}: bad percent-encoding", url=url) from e
    if host.isascii():
        host = host.lower()
    else:
        import idna

        try:
            host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError) as e:
            raise BadURL(f"invalid host {_short(host)}: {e}", url=url) from e
    bare = host.removesuffix(".")
    if _NUMERIC_LABEL.match(bare.rpartition(".")[2]):
        # as browsers do, so that the address guard sees 127.0.0.1 in 127.1 or 0x7f000001
        value = _ipv4_value(bare)
        if value is None:
            raise BadURL(f"invalid host {_short(host)}: ends in a number but is no IPv4 address", url=url)
        return _dotted_quad(value)
    if not _valid_host(host, allow_underscore=True):
        raise BadURL(f"invalid host {_short(host)}", url=url)
    return host


def _port(text: str, url: str) -> int | None:
    if not text:
        return None  # "host:" names no port (WHATWG)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise BadURL(f"bad port {_short(text)} (must be 1..65535)", url=url)
    return int(text)


def _percent_encode(target: str) -> str:
    return _TARGET_ENCODE.sub(_encode_match, target)


def _encode_match(m: re.Match) -> str:
    text = m.group()
    if len(text) == 3 and text[0] == "%":
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        data = text.encode("utf-8", "surrogatepass")
    return quote(data, safe="")


def _short(text: str, limit: int = 80) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters."""
    if len(text) > limit:
        text = text[:limit] + "..."
    return repr(text)


def split_authority(url: str) -> tuple[str | None, str, str]:
    """``(scheme, authority, rest)`` of ``url``: the scheme before the first "://" as
    written (None without one: a bare ``www.`` link is all authority and rest), the
    authority up to the first "/", "?" or "#" (userinfo included), and the rest. The one
    place a URL's host part is cut out; nothing is checked, so it never raises."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = None, url
    authority = _AUTHORITY.match(rest).group()
    return scheme, authority, rest[len(authority) :]


def origin(key: str) -> str:
    """``scheme://host[:port]`` of a URL made by ``normalize_for_fetch``: the unit of
    ``--per-host`` and of host failures."""
    scheme, authority, _ = split_authority(key)
    return f"{scheme}://{authority}"


def exclusion_form(url: str) -> str:
    """``url`` (a ``Found.url``) as ``--exclude`` patterns see it: scheme and host lower case.

    Userinfo, path, query and fragment stay as written. Never raises.
    """
    scheme, authority, rest = split_authority(url)
    if scheme is None:
        return url
    at = authority.rfind("@") + 1  # the host starts after any userinfo
    return f"{scheme.lower()}://{authority[:at]}{authority[at:].lower()}{rest}"


def display_host(url: str) -> str:
    """Host for the ``{host}`` field: lower case, Unicode as written, ``:port`` when named.

    IPv6 stays in brackets; userinfo is left out. Works on a ``Found.url`` or a
    bare ``www.`` link; never raises ("" when there is no host).
    """
    m = _PLAIN_AUTHORITY.match(url)
    if m is not None:  # the common case, decided as below
        host, port = m.groups()
        return host.lower() + ":" + port if port else host.lower()
    hostport = split_authority(url)[1].rpartition("@")[2]
    if hostport.startswith("[") and "]" in hostport:
        close = hostport.index("]")
        host, after = hostport[: close + 1], hostport[close + 1 :]
    else:
        host, colon, port = hostport.partition(":")
        after = colon + port
    port = after[1:] if after.startswith(":") else ""
    return host.lower() + (f":{port}" if port else "")
