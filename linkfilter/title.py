"""The title a browser shows in its tab, cleaned so it is safe to print on any terminal.

``TitleSniffer`` tells the fetcher when it has read enough; ``page_title`` turns
the bytes read into a ``PageTitle``, and ``page_card`` reads the page's other
fields (og:, twitter:, JSON-LD, description, author, the oEmbed link) into a
``PageCard`` for :mod:`linkfilter.card` to choose from.  All pure: no I/O, no
global state.

The title is the content of the first ``<title>`` element of the document (see
:class:`linkfilter.markup.MarkupScanner` for what "first" excludes), entities
decoded; without one (or with a blank one), ``<meta property="og:title">``, then
``<meta name="twitter:title">``.  ``clean_title`` collapses whitespace, removes
control and bidi characters and cuts to ``--max-title``.
"""

from __future__ import annotations

import bisect
import codecs
import re
from typing import Callable, NamedTuple

from linkfilter.decode import (
    DETECT_BYTES,
    PRESCAN_MIN_BYTES,
    NON_ASCII_CHAR,
    ISO2022_ESCAPE,
    _BOMS,
    bom_encoding,
    choose_encoding,
    decode_bytes,
    header_encoding,
    meta_declaration,
    utf8_prefix_valid,
    xml_declaration,
)
from linkfilter.hints import Hints
from linkfilter.markup import Markup, MarkupScanner, Meta, Script, ascii_lower, scan_markup

ELLIPSIS = "\u2026"

#: Most bytes read past the close of a useful title while waiting for the head's end (where
#: the page's description and site name are): a page that never ends its head costs no more.
HEAD_AFTER_TITLE = 32 * 1024
#: The type of a ``<link rel=alternate>`` that points to a page's oEmbed answer.
OEMBED_TYPE = "application/json+oembed"

# C0 controls but the whitespace ones, DEL, C1 controls but NEL, and the bidi
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): removed.
# The marks U+200E/U+200F/U+061C stay: they act like one letter of their
# direction (an Arabic or Hebrew letter has the same effect on the line), cannot
# reorder other text and are needed by right-to-left titles.
_DROP = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")
# ASCII whitespace, VT, NEL, NBSP, the other Unicode spaces (Zs) and the line and
# paragraph separators: runs become one space.
_SPACES = re.compile("[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def clean_title(raw: str, max_title: int) -> str | None:
    """Terminal-safe one-line title: controls and bidi controls removed, whitespace collapsed.

    Cut to ``max_title`` characters with the trailing "…" counted (0: no cap).
    None when nothing is left.
    """
    text = _SPACES.sub(" ", _DROP.sub("", raw)).strip(" ")
    if not text:
        return None
    if max_title and len(text) > max_title:
        text = text[:max_title - 1].rstrip(" ") + ELLIPSIS
    return text


def unescape(text: str) -> str:
    """``html.unescape``, with the ``html`` module loaded at the first text that has a "&"
    (its table of entities is slow to load, and most titles have none)."""
    if "&" not in text:
        return text
    import html

    return html.unescape(text)


def _attribute_ref(m: re.Match[str]) -> str:
    import html.entities

    ref = m.group(1)
    if ref[0] == "#":
        return unescape(m.group())
    named = html.entities.html5
    if ref in named:
        return named[ref]
    for k in range(len(ref) - 1, 1, -1):
        if ref[:k] in named:
            after = ref[k]
            if after == "=" or (after.isascii() and after.isalnum()):
                return m.group()  # "&copy=1" in an attribute is text, as in browsers
            return named[ref[:k]] + ref[k:]
    return m.group()


def unescape_attribute(value: str) -> str:
    """Decode character references in an attribute value, with the HTML attribute rule.

    Like ``html.unescape``, except that a legacy reference without ";" followed
    by "=" or a letter or digit stays as written (``?a=1&copy=2``).
    """
    return _CHARREF.sub(_attribute_ref, value) if "&" in value else value


def _meta_kind(meta: Meta) -> str | None:
    for key in ("property", "name"):
        kind = ascii_lower(meta.attrs.get(key, "").strip())
        if kind in ("og:title", "twitter:title"):
            return kind
    return None


def fallback_metas(metas: tuple[Meta, ...] | list[Meta]) -> list[Meta]:
    """The ``og:title`` metas, then the ``twitter:title`` ones, that have a content, in document order."""
    found: dict[str, list[Meta]] = {"og:title": [], "twitter:title": []}
    for meta in metas:
        kind = _meta_kind(meta)
        if kind and meta.attrs.get("content", "").strip():
            found[kind].append(meta)
    return found["og:title"] + found["twitter:title"]


class Card(NamedTuple):
    """What one source says about a link: each value cleaned, None when absent."""

    title: str | None = None
    site: str | None = None
    description: str | None = None
    author: str | None = None


class PageCard(NamedTuple):
    """What a page says about itself, each source apart, cleaned (titles cut to --max-title)."""

    title: str | None = None          # <title>
    og: Card = Card()                 # og:title, og:site_name, og:description
    twitter: Card = Card()            # twitter:title, twitter:description
    jsonld: Card = Card()             # headline/name, publisher name, author name
    meta: Card = Card()               # application-name, <meta name=description>, <meta name=author>
    oembed_href: str | None = None    # <link rel=alternate type=application/json+oembed> in the head


def meta_key(meta: Meta) -> str:
    """What a ``<meta>`` is about: its ``property``, else its ``name``, ASCII lower case."""
    return ascii_lower((meta.attrs.get("property") or meta.attrs.get("name") or "").strip())


def _alternatives(markup: Markup, titled: dict[int, bool]) -> list[int]:
    """Offsets (just past) of the other titles a page offers: og:title and twitter:title
    metas with a content, JSON-LD that gives a title (an organisation's name is the site's,
    not the page's), an oEmbed link in the head (the only one followed). ``titled`` keeps
    what each JSON-LD script (by offset) gave, so that none is parsed twice."""
    found = [m.end for m in fallback_metas(markup.metas)]
    for script in markup.scripts:
        if script.start not in titled:
            titled[script.start] = _ld_title(script.text)
        if titled[script.start]:
            found.append(script.end)
    found += [m.end for m in markup.links
              if _oembed_link(m) and (markup.head_end is None or m.end <= markup.head_end)]
    return sorted(found)


def _ld_title(text: str) -> bool:
    """Whether a JSON-LD script (as scanned) gives a title."""
    if "headline" not in text and '"name"' not in text:
        return False
    from linkfilter import jsonld

    return jsonld.read((text,)).title is not None


def _oembed_link(link: Meta) -> bool:
    rel = ascii_lower(link.attrs.get("rel", "")).split()
    return "alternate" in rel and ascii_lower(link.attrs.get("type", "").strip()) == OEMBED_TYPE \
        and bool(link.attrs.get("href", "").strip())


def page_card(markup: Markup, decode: Callable[[str], str], max_title: int, capped: bool) -> PageCard:
    """Everything a scan found that describes the page, decoded and cleaned."""
    def text(raw: str | None, limit: int = max_title) -> str | None:
        return clean_title(unescape_attribute(decode(raw)), limit) if raw else None

    values: dict[str, str] = {}
    for meta in markup.metas:
        content = meta.attrs.get("content")
        if content is not None and content.strip():
            values.setdefault(meta_key(meta), content)
    title = None
    if markup.title_raw is not None and (markup.title_closed or not capped):
        title = clean_title(unescape(decode(markup.title_raw)), max_title)
    said = None
    if markup.scripts:
        from linkfilter import jsonld

        said = jsonld.read(decode(s.text) for s in markup.scripts)
    href = None
    for link in markup.links:
        if _oembed_link(link) and (markup.head_end is None or link.end <= markup.head_end):
            href = unescape_attribute(decode(link.attrs["href"].strip()))
            break
    return PageCard(
        title=title,
        og=Card(text(values.get("og:title")), text(values.get("og:site_name")),
                text(values.get("og:description"), 0)),
        twitter=Card(text(values.get("twitter:title")), None, text(values.get("twitter:description"), 0)),
        jsonld=Card(_said(said and said.title, max_title), _said(said and said.site, max_title), None,
                    _said(said and said.author, max_title)),
        meta=Card(None, text(values.get("application-name")), text(values.get("description"), 0),
                  text(values.get("author"))),
        oembed_href=href,
    )


def _said(value: str | None, max_title: int) -> str | None:
    return clean_title(unescape(value), max_title) if value else None


#: ``TitleSniffer``'s judge: whether a title (cleaned) says nothing, given the page's metas.
Judge = Callable[[str | None, "tuple[Meta, ...]"], bool]


def _title_from(markup: Markup, decode: Callable[[str], str], max_title: int,
                capped: bool) -> tuple[str | None, bool]:
    """(clean title, unclosed) from a scan; ``decode`` turns scanned text into real text."""
    raw = markup.title_raw
    unclosed = raw is not None and not markup.title_closed
    if raw is not None and (markup.title_closed or not capped):
        title = clean_title(unescape(decode(raw)), max_title)
        if title is not None:
            return title, unclosed
    for meta in fallback_metas(markup.metas):
        title = clean_title(unescape_attribute(decode(meta.attrs["content"])), max_title)
        if title is not None:
            return title, unclosed
    return None, unclosed


def _plain(text: str) -> bool:
    """Same characters in every ASCII-compatible encoding (ISO-2022-JP escapes excluded)."""
    return text.isascii() and "\x1b" not in text


def _blank(raw: str) -> bool:
    """A scanned title that is none in any encoding: ASCII, and only whitespace once entities are decoded."""
    return _plain(raw) and clean_title(unescape(raw), 0) is None


class TitleSniffer:
    """The fetcher's stop condition: feed each body chunk, stop reading when ``feed`` returns True.

    Then ``page_title(body, ...)``, or ``result(body, ...)`` which gives the same
    without scanning the body again.

    Enough has been read when the title is closed, the head has ended (or
    ``HEAD_AFTER_TITLE`` more bytes came: the page's other fields are in the head)
    and the title's encoding is settled:
    declared (BOM, header, ``<meta>``, XML declaration), or the title is plain
    ASCII, or everything read is valid UTF-8; otherwise reading goes on until
    chardet has ``DETECT_BYTES`` after the first non-ASCII byte of the title.
    When the head ends first (``<body>``, or content after ``</head>``), or the
    title is blank (ASCII whitespace and entities of it only) or useless to the
    ``useless`` judge (see :func:`linkfilter.card.judge`), reading goes on to the
    first other title (og:title, twitter:title, JSON-LD, an oEmbed link), in the
    head or in the body, and the same rule applies to that one; without one it
    goes on to the end or the cap.  Unless the BOM or the header declared the encoding, it never
    stops before ``PRESCAN_MIN_BYTES`` (a ``<meta>`` there still counts, as in
    browsers).
    ``stop_at`` is the byte offset where it became enough: the same for every
    way of splitting the body into chunks, and ``page_title`` only looks at the
    bytes before it.  Each feed only scans the new bytes, and none past the
    stop point once the tag that settles it is scanned.
    """

    def __init__(self, header_charset: str | None, useless: Judge | None = None) -> None:
        self._header_charset = header_charset
        self._useless = useless
        self._header = header_encoding(header_charset)
        self._held = b""                 # first bytes, while they may still be a BOM
        self._mode: str | None = None    # "bytes", or the UTF-16 codec
        self._bom = 0
        self._utf16: codecs.IncrementalDecoder | None = None
        self._astral: list[int] = []     # UTF-16 mode: offsets of characters that took 4 bytes
        self._scanner = MarkupScanner()
        self._total = 0
        self._prefix = ""                # first PRESCAN_MIN_BYTES of the latin-1 view
        self._xml: tuple[str, int] | None = None
        self._u8_tail = b""
        self._u8_error: tuple[int, int, bool] | None = None  # (start, end, cut sequence)
        self._esc_tail = b""
        self._esc_end: int | None = None
        self._stop: int | None = None
        self._stop_units: int | None = None
        self._due: int | None = None     # the stop point, known before it is read
        self._title: tuple[str, bool] | None = None  # the closed title as scanned, and if blank
        self._ld_titled: dict[int, bool] = {}  # JSON-LD script offset -> gives a title

    @property
    def stop_at(self) -> int | None:
        """Bytes needed, once ``feed`` has returned True; None before."""
        return self._stop

    def feed(self, data: bytes) -> bool:
        """Take the next chunk of the body; True once enough has been read."""
        if self._stop is not None:
            return True
        if not data:
            return False
        if self._mode is None:
            data = self._held + data
            self._held = b""
            if len(data) < 3 and any(len(b) > len(data) and b.startswith(data)
                                     for b, _ in _BOMS):
                self._held = data
                return False
            self._choose_mode(data)
        # The scanner pauses after each tag that may complete the stop condition,
        # which is judged there as if the body ended at that tag: the rest of the
        # chunk is scanned only if it is not enough yet, and only up to the stop
        # point once that is certain (_due).
        sc = self._scanner
        text = self._take(data)
        if self._due is not None:
            text = text[:self._due - sc.length]
        paused = sc.feed(text, pause=self._due is None, minor=not self._quiet(sc.length + len(text)))
        while True:
            if self._due is None:
                units = self._evaluate(sc.paused_at if paused else sc.length)
                if units is not None:
                    return self._stop_there(units)
            if not paused:
                break
            if self._due is not None and self._due < sc.length:
                sc.cut(self._due)
            paused = sc.resume(pause=self._due is None, minor=not self._quiet(sc.length))
        if self._due is not None and sc.length >= self._due:
            return self._stop_there(self._due)
        return False

    def _quiet(self, upto: int) -> bool:
        """Whether no ``<meta>``, ``<link>`` or JSON-LD script scanned before offset ``upto``
        can decide anything: the title in the head is closed and not blank, the head has not
        ended and ``upto`` is short of ``HEAD_AFTER_TITLE`` past the title, so ``_evaluate``
        says "not yet" at each of them; only the head's end can.  Then the scanner need not
        pause there."""
        sc = self._scanner
        return (self._due is None and self._title is not None and not self._title[1]
                and sc.head_end is None and sc.title_close is not None
                and upto < sc.title_close + HEAD_AFTER_TITLE)

    def _stop_there(self, units: int) -> bool:
        self._stop_units = units
        self._stop = self._to_bytes(units)
        return True

    # -- internals ----------------------------------------------------------

    def _choose_mode(self, head: bytes) -> None:
        bom = bom_encoding(head)
        name = bom[0] if bom else self._header
        if name in ("utf-16le", "utf-16be"):
            codec = "utf-16-le" if name == "utf-16le" else "utf-16-be"
            self._mode = codec
            self._bom = bom[1] if bom else 0
            self._utf16 = codecs.getincrementaldecoder(codec)("replace")
        else:
            self._mode = "bytes"

    def _take(self, data: bytes) -> str:
        """Note what ``data`` says about the encoding; the text for the scanner."""
        before = self._total
        self._total += len(data)
        if self._mode != "bytes":
            if before < self._bom:
                data = data[self._bom - before:]
            assert self._utf16 is not None
            text = self._utf16.decode(data)
            start = self._scanner.length
            self._astral.extend(start + m.start() for m in _ASTRAL.finditer(text))
            return text
        view = data.decode("latin-1")
        if len(self._prefix) < PRESCAN_MIN_BYTES:
            self._prefix += view[:PRESCAN_MIN_BYTES - len(self._prefix)]
            if self._xml is None and self._prefix.startswith("<?xml"):
                self._xml = xml_declaration(self._prefix)
        if self._u8_error is None and not (data.isascii() and not self._u8_tail):  # ASCII: valid, nothing held
            buf = self._u8_tail + data
            try:
                _, used = codecs.utf_8_decode(buf, "strict", False)
                self._u8_tail = buf[used:]
            except UnicodeDecodeError as e:
                at = before - len(self._u8_tail)
                self._u8_error = (at + e.start, at + e.end, e.reason == "invalid continuation byte")
        if self._esc_end is None:
            buf = self._esc_tail + data
            m = ISO2022_ESCAPE.search(buf) if b"\x1b" in buf else None
            if m:
                self._esc_end = before - len(self._esc_tail) + m.end()
            self._esc_tail = buf[-2:]
        return view

    def _to_bytes(self, units: int) -> int:
        if self._mode == "bytes":
            return units
        return self._bom + 2 * units + 2 * bisect.bisect_left(self._astral, units)

    def _utf8_until(self, p: int) -> bool:
        """True when the first ``p`` bytes are valid UTF-8 (but for a cut last character), no ISO-2022-JP."""
        if self._esc_end is not None and self._esc_end <= p:
            return False
        err = self._u8_error
        if err is not None:
            # bytes [start, end) of a bad sequence are a valid beginning of a character
            return p <= err[0] or (err[2] and p <= err[1])
        pending = self._total - len(self._u8_tail)  # the decoder holds a cut character from here
        return p <= pending or utf8_prefix_valid(self._u8_tail[:p - pending])

    def _evaluate(self, n: int) -> int | None:
        """The stop point (scanner offset) if the first ``n`` characters scanned reach it."""
        sc = self._scanner
        # BOM and header beat any <meta>: no need to wait for the prescan's 1024 bytes
        declared_mode = self._mode != "bytes" or self._header is not None or self._bom_utf8()
        floor = 0 if declared_mode else PRESCAN_MIN_BYTES
        in_head = sc.title_open is not None and (sc.head_end is None or sc.title_start < sc.head_end)
        if in_head and sc.title_close is None:
            return None
        if in_head:
            if self._title is None:  # closed: the same from now on
                raw = sc.title_content(n) or ""
                self._title = (raw, _blank(raw))
            title, blank = self._title
        else:
            title, blank = "", True
        head_end = sc.head_end
        if not blank:
            # a title: the head's end (at most HEAD_AFTER_TITLE on) has the page's other fields
            limit = sc.title_close + HEAD_AFTER_TITLE
            if head_end is None or head_end > limit:
                if n < limit:
                    return None
                end = limit
            else:
                end = head_end
            if not self._says_nothing(title, end):
                text = title
                anchor_in = NON_ASCII_CHAR.search(text)
                anchor = sc.title_open + (anchor_in.start() if anchor_in else 0)
                return self._settled(n, max(floor, end), text, anchor, declared_mode)
        elif head_end is not None:
            end = head_end
        else:
            return None
        # No title worth having: another one in the head, else the first in the body
        # (og:title, twitter:title, JSON-LD), or read on to the end or the cap.
        found = _alternatives(sc.markup(n), self._ld_titled)
        if not found:
            return None
        at = found[0]
        fallback = fallback_metas([m for m in sc.metas if m.end <= at])
        text = fallback[0].attrs["content"] if fallback else ""
        anchor = fallback[0].start if fallback else at
        return self._settled(n, max(floor, end, at), text, anchor, declared_mode)

    def _says_nothing(self, raw: str, end: int) -> bool:
        """Whether the title scanned (``raw``, in the scan's view) is useless to the judge."""
        if self._useless is None:
            return False
        metas = tuple(m for m in self._scanner.metas if m.end <= end)
        return self._useless(clean_title(unescape(raw), 0), metas)

    def _settled(self, n: int, p: int, text: str, anchor: int, declared_mode: bool) -> int | None:
        """The stop point once ``p`` is read and the encoding of ``text`` (at ``anchor``) is sure."""
        sc = self._scanner
        certain = declared_mode or _plain(text)
        if n < p:
            if certain:
                self._due = p  # nothing read later can change it
            return None
        if certain or self._utf8_until(p):
            return p
        candidates = [max(p, anchor + DETECT_BYTES)]
        meta = meta_declaration(sc.markup(n))
        if meta is not None:
            candidates.append(max(p, meta[1]))
        if self._xml is not None:
            candidates.append(max(p, self._xml[1]))
        stop = min(candidates)
        return stop if stop <= n else None

    def _bom_utf8(self) -> bool:
        return self._prefix.startswith("\xef\xbb\xbf")

    def result(self, body: bytes, *, max_title: int, capped: bool, hints: Hints | None = None,
               card: bool = False) -> PageTitle:
        """``page_title(body, ...)`` without scanning again: ``body`` is everything that was fed.

        (After True, bytes past ``stop_at`` may follow; they are ignored.) ``card``: also
        read the page's other fields into ``PageTitle.card``.
        """
        if self._mode is None:
            held, self._held = self._held, b""
            self._choose_mode(held)
            self._scanner.feed(self._take(held))
        if self._stop is not None:
            body = body[:self._stop]
        markup = self._scanner.markup(self._stop_units)
        charset, source = choose_encoding(body, self._header_charset, markup, hints)
        if self._mode != "bytes":
            decode: Callable[[str], str] = str
        elif charset in ("utf-16le", "utf-16be"):
            # only chardet gets here, on a page without BOM: the latin-1 scan saw nothing
            markup = scan_markup(decode_bytes(body, charset))
            decode = str
        else:
            def decode(view: str) -> str:
                return decode_bytes(view.encode("latin-1"), charset)

        title, unclosed = _title_from(markup, decode, max_title, capped)
        found = page_card(markup, decode, max_title, capped) if card else None
        return PageTitle(title, charset, source, unclosed, found)


class PageTitle(NamedTuple):
    """A page's title (cleaned, None when none) and the encoding it was read with."""

    title: str | None
    charset: str            # lower-case WHATWG name
    charset_source: str     # how it was chosen: see linkfilter.decode.choose_encoding
    unclosed: bool          # a <title> was opened but not closed in what was read
    card: PageCard | None = None  # the page's other fields, when asked for


def page_title(body: bytes, header_charset: str | None, *, max_title: int, capped: bool,
               hints: Hints | None = None) -> PageTitle:
    """Title of a page from the bytes read.

    ``capped``: reading stopped at the byte cap, so a ``<title>`` still open is
    no title (``unclosed`` is True; og:title/twitter:title may still give one).
    Otherwise the body really ended (or the server cut it) and an open title
    runs to the end, as in browsers.  Only the bytes ``TitleSniffer`` needed
    count, so the answer does not depend on how far past that the fetcher read.
    ``hints`` (Content-Language, final URL, the reader's Accept-Language) help
    choose the encoding of a short page that declares none (see
    ``linkfilter.decode.choose_encoding``).
    """
    sniffer = TitleSniffer(header_charset)
    sniffer.feed(body)
    return sniffer.result(body, max_title=max_title, capped=capped, hints=hints)
