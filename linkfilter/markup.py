"""The markup scanner: what of an HTML document matters for its title, encoding and card.

It hops from ``<`` to ``<`` with compiled regular expressions, knows comments,
raw text elements (``<script>``, ``<style>`` ...), ``<template>`` and SVG/MathML,
and reports the ``<meta>`` tags, the first ``<title>``, where the head ends, the
``<link>`` tags that mention oEmbed and the text of JSON-LD scripts.
It works on any ``str``; for ASCII-compatible encodings it runs on the bytes
decoded as latin-1, where every ASCII byte is the same character and offsets
are byte offsets. :mod:`linkfilter.decode` prescans with it and
:mod:`linkfilter.title` builds the title on top of it. Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

_UPPER_TO_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(s: str) -> str:
    """Lower-case ASCII letters only, as HTML does (``str.lower`` maps the Kelvin sign to "k")."""
    return s.lower() if s.isascii() else s.translate(_UPPER_TO_LOWER)


class Meta(NamedTuple):
    """A complete ``<meta>`` tag that may matter (charset, http-equiv, ``og:``/``twitter:``
    properties, description, author, application-name), or a ``<link>`` that mentions oEmbed.

    Offsets of its ``<`` and just past its ``>``, and its attributes.

    Attribute names are ASCII lower-case; values are as written (no entity decoding)
    and the first of a repeated attribute wins.
    """

    start: int
    end: int
    attrs: dict[str, str]


class Markup(NamedTuple):
    """What the scanner found in the first ``length`` characters, as if they were all there is."""

    length: int
    metas: tuple[Meta, ...]
    title_start: int | None      # offset of the first title's "<"
    title_open: int | None       # offset of its content
    title_raw: str | None        # its content, as scanned (entities not decoded)
    title_closed: bool           # False: the title runs to the end of what was read
    head_end: int | None         # just past <body>, </head>+a non-head tag, or <plaintext>
    links: tuple[Meta, ...] = ()   # <link> tags that mention oEmbed
    scripts: tuple[Script, ...] = ()  # closed JSON-LD scripts


class Script(NamedTuple):
    """A closed ``<script type="application/ld+json">``: offsets of its ``<`` and just past
    its end tag, and its text as scanned."""

    start: int
    end: int
    text: str


# The rest of a complete tag in the common syntax: names without quotes or "=",
# values quoted, or unquoted without quotes or "=" and followed by a space or
# ">".  Anything else goes to _parse_tag, which follows the tokenizer state by
# state; whatever this matches, it agrees with (same ">", same attributes), and
# no two ways to match make it backtrack.  ("/>" may end an unquoted value, so
# self-closing is left to _parse_tag.)  The skip regexes use the strict form,
# "=" without spaces around it, which is a quarter faster.
_ATTR_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\t\n\f\r >"'=`<]+(?=[\t\n\f\r >]))"""
_TAG_BODY = (r"""(?:[\t\n\f\r /]+[^\t\n\f\r />="']+(?:=""" + _ATTR_VALUE + r""")?)*"""
             r"""[\t\n\f\r /]*>""")
_TAG_BODY_SPACED = (r"""(?:[\t\n\f\r /]+[^\t\n\f\r />="']+"""
                    r"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*""" + _ATTR_VALUE + r""")?)*"""
                    r"""[\t\n\f\r /]*>""")
_FAST_TAG = re.compile(r"<(/?)([a-zA-Z][^\t\n\f\r />]*)" + _TAG_BODY_SPACED)
# Names the scanner acts on in HTML content (start or end tags).
_INTERESTING = (r"(?:t(?:itle|emplate|extarea)|s(?:cript|tyle|vg)|n(?:oscript|oembed|oframes)|xmp|"
                r"iframe|plaintext|m(?:ath|eta)|head|body|frameset|link(?=[^>]*oembed))")
# ... and in SVG/MathML: the tags that end it (see _BREAKOUT), "font", and the
# ones that nest or close it.
_INTERESTING_FOREIGN = (r"(?:b(?:ig|lockquote|ody|r)?|c(?:enter|ode)|d[dlt]|em(?:bed)?|h(?:[1-6]|ead|r)|"
                        r"i(?:mg)?|li(?:sting)?|me(?:nu|ta)|math|nobr|ol|p(?:re)?|ruby|"
                        r"s(?:mall|pan|trong|trike|ub|up|vg)?|t(?:able|t|emplate)|ul?|var|font)")


def _skipper(interesting: str, cdata: bool) -> re.Pattern[str]:
    """A regex that skips, in C, text, comments, doctypes and complete tags the scanner ignores.

    It stops at the first "<" that needs a look: an interesting tag, markup
    that is not complete yet, or a tag in a syntax _FAST_TAG does not take.
    """
    return re.compile(
        r"(?:[^<]*(?:"
        r"</?(?!(?i:" + interesting + r")[\t\n\f\r />])[a-zA-Z][^\t\n\f\r />]*" + _TAG_BODY +
        r"|<(?=[^a-zA-Z/!?])"                                   # "<" that is text
        r"|<!--(?:-?>|(?s:.*?)--!?>)"                         # comment ("<!-->" is one)
        + (r"|<!\[CDATA\[(?s:.*?)\]\]>|<!(?!--|\[CDATA\[)[^>]*>" if cdata else r"|<!(?!--)[^>]*>") +
        r"|<\?[^>]*>|</(?![a-zA-Z])[^>]*>"                      # bogus comments, "</>"
        r"))*[^<]*", re.ASCII)


_SKIP = _skipper(_INTERESTING, cdata=False)


@functools.cache
def _skip_foreign() -> re.Pattern[str]:
    """_SKIP for SVG/MathML content, compiled at its first use: off the start-up path."""
    return _skipper(_INTERESTING_FOREIGN, cdata=True)


_TAG_NAME = re.compile(r"[^\t\n\f\r />]*")
_SEP = re.compile(r"[\t\n\f\r /]*")
_WS = re.compile(r"[\t\n\f\r ]*")
_ATTR_NAME_REST = re.compile(r"[^\t\n\f\r />=]*")
_UNQUOTED = re.compile(r"[^\t\n\f\r >]*")
_NOT_WS = re.compile(r"[^\t\n\f\r ]")
_META_WANTED = re.compile(r"charset|http-equiv|og:|twitter:|description|author|application-name",
                          re.I | re.A)
_OEMBED = re.compile(r"oembed", re.I | re.A)
_JSON_LD = re.compile(r"ld\+json", re.I | re.A)
_COMMENT_END = re.compile(r"--!?>")
_SCRIPT_DATA = re.compile(r"<!--|</script[\t\n\f\r />]", re.I | re.A)
_SCRIPT_ESCAPED = re.compile(r"-->|<(/?)script[\t\n\f\r />]", re.I | re.A)
_SCRIPT_DOUBLE = re.compile(r"-->|</script[\t\n\f\r />]", re.I | re.A)
_RAW_END = {
    name: re.compile("</" + name + r"[\t\n\f\r />]", re.I | re.A)
    for name in ("title", "textarea", "style", "xmp", "iframe", "noembed", "noframes", "noscript")
}
_TITLE_END = "</title"
_TITLE_CLOSE = _RAW_END["title"]
# Longest token a raw-text search looks for ("</noscript" and its delimiter), minus one.
_RESUME_BACK = 10

# Start tags allowed after </head> without starting the body (the "after head" mode).
_HEAD_CONTENT = frozenset({"base", "basefont", "bgsound", "link", "meta", "noframes", "script", "style",
                           "template", "title", "noscript", "head", "html"})
# Start tags that end SVG/MathML content ("breakout" tags of the tree builder).
_BREAKOUT = frozenset({"b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt",
                       "em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li",
                       "listing", "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span",
                       "strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var"})

_DATA, _RAW, _SCRIPT, _COMMENT, _BOGUS, _CDATA, _PLAIN, _TAG = range(8)
# Feeding in pieces costs what feeding whole does, give or take a bounded
# factor: nothing is read again more than a few times.  An unfinished tag no
# longer than this, without a ">" yet, waits in the buffer and is read again
# once a ">" arrives; a longer one, or one that a ">" did not finish (a quoted
# ">"), is followed token by token (_TAG state, _tag_end).  Likewise the last
# "<" fed waits unread, held back with what follows it (see feed), when no ">"
# follows it and it is followed by a letter, "/", "!", "?" or nothing: a tag
# cannot end without a ">", and a comment or bogus comment that starts there
# ends nothing a caller sees.  Not so "</title" and a space or "/", which ends
# a title (_TITLE_CLOSE), nor "<" and any other character, which is text (text
# after </head> ends the head).
_WAIT_LIMIT = 1024

# Where _tag_end stands inside an unfinished tag: the tokenizer states of _parse_tag.
_T_NAME, _T_SEP, _T_ATTR, _T_AFTER_ATTR, _T_BEFORE_VALUE, _T_QUOTED, _T_UNQUOTED = range(7)
# Complete attributes as _parse_tag reads them, skipped in C.  Each one ends
# where _parse_tag is back in _T_SEP whatever follows: after a closed quote, an
# unquoted value followed by a space or ">", or a name (and spaces) followed by
# something other than "=" or a space.  So where the match stops, _T_SEP holds,
# and it never stops inside an attribute because the data ran out.  No two ways
# to match: every run is followed by a character it cannot take.
_ATTRIBUTES = re.compile(
    r"""(?:[\t\n\f\r /]*[^\t\n\f\r />][^\t\n\f\r />=]*(?=[\t\n\f\r />=])[\t\n\f\r ]*"""
    r"""(?:=[\t\n\f\r ]*(?:"[^"]*"|'[^']*'|[^\t\n\f\r >"'][^\t\n\f\r >]*(?=[\t\n\f\r >]))"""
    r"""|(?=[^\t\n\f\r =])))*""")


def _parse_tag(buf: str, i: int) -> tuple[str, dict[str, str], int, bool] | None:
    """Tokenize the tag at ``buf[i] == '<'``: (name, attributes, end, self-closing); None if incomplete.

    Follows the HTML tokenizer from the tag open state to the ">" that ends the
    tag: quotes only open a value after "=", a name may start with "=", "/" is
    a separator unless it is just before ">".
    """
    n = len(buf)
    j = i + 2 if buf.startswith("</", i) else i + 1
    j = _TAG_NAME.match(buf, j).end()
    name = buf[i + 1:j].lstrip("/")
    attrs: dict[str, str] = {}
    while True:
        sep = j
        j = _SEP.match(buf, j).end()
        if j >= n:
            return None
        if buf[j] == ">":
            return name, attrs, j + 1, j > sep and buf[j - 1] == "/"
        k = _ATTR_NAME_REST.match(buf, j + 1).end()
        attr = ascii_lower(buf[j:k])
        value = ""
        j = _WS.match(buf, k).end()
        if j >= n:
            return None
        if buf[j] == "=":
            j = _WS.match(buf, j + 1).end()
            if j >= n:
                return None
            quote = buf[j]
            if quote in "\"'":
                close = buf.find(quote, j + 1)
                if close < 0:
                    return None
                value = buf[j + 1:close]
                j = close + 1
            elif quote != ">":
                k = _UNQUOTED.match(buf, j).end()
                value = buf[j:k]
                j = k
        attrs.setdefault(attr, value)


def _tag_end(buf: str, j: int, step: int, quote: str) -> tuple[int, int, str]:
    """Follow an unfinished tag from ``buf[j]`` in state ``step``: (end or -1, state, quote) at the end.

    End is just past the ">" that ends the tag, the one _parse_tag finds; -1
    when ``buf`` runs out first, with the state and quote to resume from on the
    next piece (the caller keeps the pieces).  A call reads each character at
    most twice (_ATTRIBUTES may try the last attribute before the steps here
    take it), and the next call starts where this one stopped.
    """
    n = len(buf)
    while True:
        if step == _T_SEP:
            j = _SEP.match(buf, _ATTRIBUTES.match(buf, j).end()).end()
            if j >= n:
                return -1, step, quote
            if buf[j] == ">":
                return j + 1, step, quote
            j += 1              # the first character of a name, whatever it is
            step = _T_ATTR
        elif step == _T_QUOTED:
            close = buf.find(quote, j)
            if close < 0:
                return -1, step, quote
            j = close + 1
            step = _T_SEP
        elif step == _T_NAME or step == _T_ATTR or step == _T_UNQUOTED:
            rx = _TAG_NAME if step == _T_NAME else _ATTR_NAME_REST if step == _T_ATTR else _UNQUOTED
            j = rx.match(buf, j).end()
            if j >= n:
                return -1, step, quote
            step = _T_AFTER_ATTR if step == _T_ATTR else _T_SEP
        else:  # _T_AFTER_ATTR, _T_BEFORE_VALUE: spaces, then "=" or a value
            j = _WS.match(buf, j).end()
            if j >= n:
                return -1, step, quote
            c = buf[j]
            if step == _T_AFTER_ATTR:
                if c == "=":
                    j += 1
                    step = _T_BEFORE_VALUE
                else:
                    step = _T_SEP
            elif c == '"' or c == "'":
                quote = c
                j += 1
                step = _T_QUOTED
            else:
                step = _T_SEP if c == ">" else _T_UNQUOTED


# One attribute of a tag that _FAST_TAG matched (the same spelling as _TAG_BODY_SPACED):
# name, then the value double quoted, single quoted or unquoted.  Inside such a tag the
# matches follow one another from the name to the ">", with the attributes _parse_tag reads.
_FAST_ATTR = re.compile(r"""[\t\n\f\r /]+([^\t\n\f\r />="']+)(?:[\t\n\f\r ]*=[\t\n\f\r ]*"""
                        r"""(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >"'=`<]+)(?=[\t\n\f\r >])))?""")


def _tag_attributes(buf: str, i: int, fast: re.Match[str] | None = None) -> dict[str, str]:
    """Attributes of the complete tag at ``buf[i]``; ``fast``: its _FAST_TAG match, if any
    (then read in C, one match per attribute, instead of _parse_tag's steps)."""
    if fast is None:
        return _parse_tag(buf, i)[1]  # type: ignore[index]
    attrs: dict[str, str] = {}
    for name, dq, sq, uq in _FAST_ATTR.findall(buf, fast.end(2), fast.end()):
        name = ascii_lower(name)
        if name not in attrs:
            attrs[name] = dq or sq or uq  # the groups that did not take part are ""
    return attrs


def _self_closing(buf: str, i: int, end: int) -> bool:
    """Whether the complete tag ``buf[i:end]`` is self-closing (its "/>" may end an unquoted value)."""
    return buf[end - 2] == "/" and _parse_tag(buf, i)[3]  # type: ignore[index]


def _close_at_eof(content: str) -> tuple[str, bool]:
    """A title cut right after "</title" is closed there (the end tag lost only its ">")."""
    tail = content[-len(_TITLE_END):]
    if len(tail) == len(_TITLE_END) and ascii_lower(tail) == _TITLE_END:
        return content[:-len(_TITLE_END)], True
    return content, False


class MarkupScanner:
    """Resumable scanner over a document that arrives in pieces (``feed`` any split, same result).

    Keeps offsets, never rescans: each feed continues from where the last one
    stopped, and the consumed text is dropped; the buffer keeps only the few
    characters not decided yet, so a feed costs what its own piece costs,
    whatever the piece size.  An open title's content and an unfinished long
    tag are kept as lists of pieces, joined once when they end.
    Rules, after the HTML tokenizer and tree builder:

    - the title is the first ``<title>`` not inside SVG/MathML, ``<template>``,
      a comment or a raw text element (script, style, textarea, xmp, iframe,
      noembed, noframes, noscript, plaintext); its content ends only at
      ``</title`` followed by whitespace, "/" or ">";
    - script data knows the ``<!--``/``<script>`` escapes, so ``</script>`` inside
      ``<!-- document.write("<script>...</script>") -->`` does not end it;
    - the head ends at ``<body>``/``<frameset>``, at ``<plaintext>``, or after
      ``</head>`` at the first start tag that cannot be in a head or text that
      is not whitespace (a ``<title>`` right after ``</head>`` still counts);
    - HTML integration points inside SVG (``<foreignObject>``) are not followed.
    """

    def __init__(self) -> None:
        self._buf = ""              # what is not decided yet: a short rest, see _run's end
        self._base = 0              # absolute offset of _buf[0], where scanning resumes
        self._state = _DATA
        self._end_re: re.Pattern[str] | None = None
        self._recording = False     # inside the first title's content
        self._script = 0            # 0 data, 1 escaped, 2 double escaped
        self._foreign = 0           # SVG/MathML depth
        self._template = 0
        self._after_head = False
        self._wait_gt = -1          # an incomplete tag: no retry before a ">" after this offset
        self._tag_start = 0         # _TAG state: offset of the unfinished tag's "<",
        self._tag_parts: list[str] = []   # its text so far,
        self._tag_step = _T_NAME    # and where _tag_end stands in it
        self._tag_quote = ""
        self._title_parts: list[str] = []  # an open title's content before _base
        self.length = 0
        self.metas: list[Meta] = []
        self.title_start: int | None = None
        self.title_open: int | None = None
        self.title_close: int | None = None   # just past "</title" and its delimiter
        self._title_raw: str | None = None
        self._title_tail = ""                 # "</title" + delimiter, as written
        self._ld_start: int | None = None     # an open JSON-LD script: offset of its "<",
        self._ld_open = 0                     # of its content,
        self._ld_parts: list[str] = []        # and its content before _base
        self.links: list[Meta] = []
        self.scripts: list[Script] = []
        self.head_end: int | None = None
        self._pause = False         # feed(pause=True): stop after a deciding tag
        self._minor = True          # ... including a kept <meta>, <link> or JSON-LD script
        self._decided = False       # this run closed the title, ended the head or (_minor) kept a <meta>
        self.paused_at: int | None = None

    # -- public -----------------------------------------------------------

    def feed(self, text: str, pause: bool = False, minor: bool = True) -> bool:
        """Scan ``text``, the continuation of what was fed before.

        ``pause``: stop right after a tag that closed the first title, ended the
        head or kept a ``<meta>``, and return True; ``paused_at`` is then the
        offset just past that tag, everything before it is scanned as if the
        document were cut there (see ``markup``), and the rest waits unread
        until ``resume``.  So a caller that has enough never pays for the rest.
        ``minor=False``: pause only where the title closes or the head ends, not after a kept
        ``<meta>``, ``<link>`` or JSON-LD script (for a caller that knows those decide nothing yet).
        """
        if self.paused_at is not None:
            raise RuntimeError("feed while paused: call resume first")
        if not text:
            return False
        self.length += len(text)
        return self._scan(self._buf + text, pause, minor)

    def resume(self, pause: bool = False, minor: bool = True) -> bool:
        """Scan the rest of a paused feed; True if it paused again (see ``feed``)."""
        if self.paused_at is None:
            return False
        self.paused_at = None
        return self._scan(self._buf, pause, minor)

    def cut(self, length: int) -> None:
        """While paused: forget what was fed past ``length``, as if the document ended there."""
        if self.paused_at is None or not self.paused_at <= length <= self.length:
            raise ValueError(f"cut({length}) outside the paused rest [{self.paused_at}, {self.length}]")
        self._buf = self._buf[:length - self._base]
        self.length = length

    def _scan(self, buf: str, pause: bool, minor: bool = True) -> bool:
        self._pause, self._minor, self._decided = pause, minor, False
        # An unfinished tag at the end waits unread for its ">" (see _WAIT_LIMIT).
        k = buf.rfind("<")
        if k >= 0 and buf.find(">", k) < 0 and len(buf) - k <= _WAIT_LIMIT:
            c = buf[k + 1:k + 2]
            if "a" <= c <= "z" or "A" <= c <= "Z" or (c in "/!?" and not _TITLE_CLOSE.match(buf, k)):
                if k:
                    self._run(buf[:k], buf[k:])
                else:
                    self._buf = buf
                return self.paused_at is not None
        self._run(buf, "")
        return self.paused_at is not None

    @property
    def title_closed(self) -> bool:
        return self.title_close is not None

    def title_content(self, upto: int | None = None) -> str | None:
        """The first title's content as scanned up to offset ``upto`` (default: all fed)."""
        if self.title_open is None:
            return None
        if upto is None:
            upto = self.length
        if self._title_raw is not None:
            if upto >= self.title_close:  # type: ignore[operator]
                return self._title_raw
            return (self._title_raw + self._title_tail)[:max(0, upto - self.title_open)]
        if len(self._title_parts) > 1:
            self._title_parts = ["".join(self._title_parts)]
        before = self._title_parts[0] if self._title_parts else ""
        content = before + self._buf[max(0, self.title_open - self._base):]
        return content[:max(0, upto - self.title_open)]

    def markup(self, length: int | None = None) -> Markup:
        """Everything found in the first ``length`` characters (default: all fed), end of data there.

        Gives the same answer as a new scanner fed only those characters: tags
        not complete by then are dropped, an open title runs to the end.
        """
        n = self.length if length is None else min(length, self.length)
        metas = tuple(m for m in self.metas if m.end <= n)
        raw: str | None = None
        closed = False
        title_start = title_open = None
        if self.title_open is not None and self.title_open <= n:
            title_start, title_open = self.title_start, self.title_open
            if self.title_close is not None and self.title_close <= n:
                raw, closed = self._title_raw, True
            else:
                raw, closed = _close_at_eof(self.title_content(n) or "")
        head_end = self.head_end if self.head_end is not None and self.head_end <= n else None
        links = tuple(m for m in self.links if m.end <= n)
        scripts = tuple(s for s in self.scripts if s.end <= n)
        return Markup(n, metas, title_start, title_open, raw, closed, head_end, links, scripts)

    # -- scanning ---------------------------------------------------------

    def _run(self, buf: str, held: str) -> None:
        """Scan ``buf`` (from offset _base); keep what is not decided, then ``held``, for the next feed."""
        base = self._base
        n = len(buf)
        i = 0
        while i < n:
            state = self._state
            if state == _DATA:
                if self._wait_gt >= 0:
                    if buf.find(">", self._wait_gt - base) < 0 and n - i <= _WAIT_LIMIT:
                        self._wait_gt = base + n
                        break
                    self._wait_gt = -1
                if self._after_head:
                    j = buf.find("<", i)
                    if self.head_end is None:
                        m = _NOT_WS.search(buf, i, n if j < 0 else j)
                        if m:
                            self.head_end = base + m.start() + 1
                        self._after_head = self.head_end is None
                    if j < 0:
                        i = n
                        break
                    i = j
                else:
                    i = (_skip_foreign() if self._foreign else _SKIP).match(buf, i).end()
                    if i >= n:
                        break
                j = self._markup(buf, i)
                if j < 0:
                    if j == -1:
                        self._wait_gt = base + n
                    break
                i = j
                if self._decided and self._pause and i < n:
                    self.paused_at = base + i
                    break
            elif state == _RAW:
                m = self._end_re.search(buf, i)
                if not m:
                    i = max(i, n - _RESUME_BACK)
                    break
                if self._recording:
                    self._recording = False
                    start = self.title_open - base  # type: ignore[operator]
                    before = "".join(self._title_parts)
                    self._title_parts = []
                    self._title_raw = before + buf[max(0, start):m.start()]
                    self._title_tail = m.group()
                    self.title_close = base + m.end()
                    self._decided = True
                self._state = _DATA
                i = m.start()
            elif state == _SCRIPT:
                sub = self._script
                rx = _SCRIPT_DATA if sub == 0 else _SCRIPT_ESCAPED if sub == 1 else _SCRIPT_DOUBLE
                m = rx.search(buf, i)
                if not m:
                    i = max(i, n - _RESUME_BACK)
                    break
                tok = m.group()
                if tok == "<!--":
                    self._script = 1
                    i = m.start() + 2       # the dashes may also end it: "<!-->"
                elif tok == "-->":
                    self._script = 0
                    i = m.end()
                elif tok[1] != "/":         # "<script" in escaped data
                    self._script = 2
                    i = m.end()
                elif sub == 2:              # "</script" ends the double escape
                    self._script = 1
                    i = m.end()
                else:
                    self._state = _DATA
                    i = m.start()
                    if self._ld_start is not None:
                        start = self._ld_open - base
                        text = "".join(self._ld_parts) + buf[max(0, start):i]
                        self.scripts.append(Script(self._ld_start, base + m.end(), text))
                        self._ld_start, self._ld_parts = None, []
                        self._decided |= self._minor
            elif state == _COMMENT:
                m = _COMMENT_END.search(buf, i)
                if not m:
                    i = max(i, n - 3)
                    break
                self._state = _DATA
                i = m.end()
            elif state == _BOGUS:
                j = buf.find(">", i)
                if j < 0:
                    i = n
                    break
                self._state = _DATA
                i = j + 1
            elif state == _CDATA:
                j = buf.find("]]>", i)
                if j < 0:
                    i = max(i, n - 2)
                    break
                self._state = _DATA
                i = j + 3
            elif state == _TAG:
                end, self._tag_step, self._tag_quote = _tag_end(buf, i, self._tag_step, self._tag_quote)
                if end < 0:
                    self._tag_parts.append(buf[i:])
                    i = n
                    break
                # finished: the whole tag and what follows it become the buffer
                head = "".join(self._tag_parts)
                end += len(head) - i
                buf = head + buf[i:]
                n = len(buf)
                base = self._tag_start
                self._base, self._tag_parts = base, []
                self._state = _DATA
                i = self._tag(buf, 0, end)
                if self._decided and self._pause and i < n:
                    self.paused_at = base + i
                    break
            else:  # _PLAIN: the rest is text
                i = n
        # Drop what is decided; an open title keeps its content in _title_parts.
        if self._recording:
            start = self.title_open - base  # type: ignore[operator]
            self._title_parts.append(buf[start:i] if start > 0 else buf[:i])
        if self._ld_start is not None:
            start = self._ld_open - base
            self._ld_parts.append(buf[start:i] if start > 0 else buf[:i])
        self._buf = buf[i:] + held if i < n else held
        self._base = base + i

    def _markup(self, buf: str, i: int) -> int:
        """Handle the markup at ``buf[i] == '<'``: the offset after it; -1 incomplete tag, -2 need more."""
        n = len(buf)
        if i + 1 >= n:
            return -2
        c = buf[i + 1]
        if c == "!":
            if buf.startswith("<!--", i):
                # "<!-->" and "<!--->" are whole (empty) comments
                if i + 4 >= n or (buf[i + 4] == "-" and i + 5 >= n):
                    return -2
                if buf[i + 4] == ">":
                    return i + 5
                if buf.startswith("->", i + 4):
                    return i + 6
                self._state = _COMMENT
                return i + 4
            if self._foreign and buf.startswith("<![CDATA[", i):
                self._state = _CDATA
                return i + 9
            rest = buf[i:i + 9]
            if len(rest) < 9 and ("<!--".startswith(rest)
                                  or (self._foreign and "<![CDATA[".startswith(rest))):
                return -2
            self._state = _BOGUS
            return i + 2
        if c == "?":
            self._state = _BOGUS
            return i + 2
        if c == "/":
            if i + 2 >= n:
                return -2
            c2 = buf[i + 2]
            if c2 == ">":
                return i + 3
            if not ("a" <= c2 <= "z" or "A" <= c2 <= "Z"):
                self._state = _BOGUS
                return i + 2
        elif not ("a" <= c <= "z" or "A" <= c <= "Z"):
            return i + 1
        return self._tag(buf, i)

    def _tag(self, buf: str, i: int, end: int = 0) -> int:
        """Handle the tag at ``buf[i]`` (ending at ``end`` if known): the offset after it.

        -1: wait for a ">" (see _WAIT_LIMIT); len(buf): the tag is unfinished, now in _TAG state.
        """
        m = None if end else _FAST_TAG.match(buf, i)
        if m:
            is_end = bool(m.group(1))
            name = ascii_lower(m.group(2))
            end = m.end()
        else:
            is_end = buf[i + 1] == "/"
            if not end:
                n = len(buf)
                if n - i <= _WAIT_LIMIT and buf.find(">", i) < 0:
                    return -1
                end, step, quote = _tag_end(buf, i + 2 if is_end else i + 1, _T_NAME, "")
                if end < 0:
                    self._state, self._tag_step, self._tag_quote = _TAG, step, quote
                    self._tag_start, self._tag_parts = self._base + i, [buf[i:]]
                    return n
            name = ascii_lower(_TAG_NAME.match(buf, i + 2 if is_end else i + 1).group())
        base = self._base
        if self._foreign:
            if is_end:
                if name in ("svg", "math"):
                    self._foreign -= 1
                elif name in ("p", "br"):
                    self._foreign = 0
                elif name == "template":
                    self._foreign = 0
                    self._template = max(0, self._template - 1)
                return end
            if name == "font":
                if not ({"color", "face", "size"} & _tag_attributes(buf, i, m).keys()):
                    return end
            elif name not in _BREAKOUT:
                if name in ("svg", "math") and not _self_closing(buf, i, end):
                    self._foreign += 1
                return end
            self._foreign = 0
        if is_end:
            if name == "template":
                self._template = max(0, self._template - 1)
            elif name == "head" and not self._template and self.head_end is None:
                self._after_head = True
            return end
        in_doc = not self._template
        if self._after_head and in_doc and name not in _HEAD_CONTENT:
            self._after_head = False
            if self.head_end is None:
                self.head_end = base + end
                self._decided = True
        if name == "title":
            self._state, self._end_re = _RAW, _RAW_END["title"]
            if in_doc and self.title_open is None:
                self.title_start, self.title_open = base + i, base + end
                self._recording = True
        elif name == "script":
            self._state, self._script = _SCRIPT, 0
            if in_doc and _JSON_LD.search(buf, i, end) \
                    and ascii_lower(_tag_attributes(buf, i, m).get("type", "").strip()) == "application/ld+json":
                self._ld_start, self._ld_open, self._ld_parts = base + i, base + end, []
        elif name in _RAW_END:
            self._state, self._end_re = _RAW, _RAW_END[name]
        elif name == "meta":
            # only the <meta> tags decode.py and title.py look at are kept
            if in_doc and _META_WANTED.search(buf, i, end):
                self.metas.append(Meta(base + i, base + end, _tag_attributes(buf, i, m)))
                self._decided |= self._minor
        elif name == "link":
            if in_doc and _OEMBED.search(buf, i, end):
                self.links.append(Meta(base + i, base + end, _tag_attributes(buf, i, m)))
                self._decided |= self._minor
        elif name == "template":
            self._template += 1
        elif name in ("svg", "math"):
            if not _self_closing(buf, i, end):
                self._foreign = 1
        elif name in ("body", "frameset", "plaintext"):
            if in_doc and self.head_end is None:
                self.head_end = base + end
                self._after_head = False
                self._decided = True
            if name == "plaintext":
                self._state = _PLAIN
        return end


def scan_markup(text: str) -> Markup:
    """Scan a whole document (or the bytes of one decoded as latin-1)."""
    scanner = MarkupScanner()
    scanner.feed(text)
    return scanner.markup()
