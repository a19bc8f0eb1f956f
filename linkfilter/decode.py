"""Bytes to text as a browser would: BOM, HTTP charset, ``<meta>`` prescan, UTF-8 check, chardet and hints.

The order is the WHATWG one (HTML "determining the character encoding"), made
better in two ways: the ``<meta>`` prescan covers everything read before the
title rather than 1024 bytes, and pages that declare nothing and are not UTF-8
go to chardet instead of straight to a locale default.  The hints a browser has
(:mod:`linkfilter.hints`: the page's language, its country domain, the reader's
locale, strongest first) decide where the bytes allow their encoding
(:mod:`linkfilter.plausible`) and chardet has little to go on (a title), and break chardet's
near-ties on longer pages.  Labels map to encodings as the
WHATWG Encoding Standard maps them, and each encoding decodes with the Python
codec that behaves like the WHATWG decoder (``gbk`` -> ``gb18030``, ``shift_jis``
-> ``cp932`` ...).  Decoding never raises.
The ``<meta>`` prescan uses :mod:`linkfilter.markup`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence

from linkfilter.hints import (
    FALLBACKS,
    TLD_LANGUAGES,
    Hints,
    country_domain,
    family,
    first_language,
    language_encoding,
    language_letters,
    tld_encoding,
)
from linkfilter.markup import Markup, ascii_lower
from linkfilter.plausible import plausible

#: The prescan always covers this many bytes, as browsers' does.
PRESCAN_MIN_BYTES = 1024
#: Bytes chardet gets on either side of the first non-ASCII byte of the title.
DETECT_BYTES = 64 * 1024
#: While what chardet saw has fewer non-ASCII bytes than this (a title, a short
#: page), its ranking is close to noise, and a hint of the page's own (``lang``,
#: Content-Language, country domain) decides wherever the bytes allow its encoding
#: (``plausible``).  On longer samples the hints only break near-ties (``NEAR_TIE``).
OWN_HINT_EVIDENCE = 32
#: The same for the reader's locale, a weaker hint (it says nothing of the page).
LOCALE_EVIDENCE = 12
#: ... yet where chardet is sure (its best has at least ``CHARDET_SURE``), a hint
#: needs chardet to rank its encoding at ``HINT_FLOOR`` of the best at least: two
#: CJK encodings, or Greek read as Cyrillic, can decode each other's bytes into
#: clean letters, and chardet tells them apart once it has a few characters
#: (Korean read as GBK gets under a tenth of EUC-KR's confidence).
CHARDET_SURE = 0.05
HINT_FLOOR = 0.2
#: The reader's locale is a weaker hint (it says nothing of the page): on a short
#: sample it decides only among candidates at this share of the best plausible one,
#: unless that is an encoding no browser falls back to (then as the page's own do).
LOCALE_SHARE = 0.5
#: On a longer sample, candidates within this fraction of the best plausible one's
#: confidence are a near-tie that the hints break; a page keeps chardet's answer only
#: when it is further ahead than that.
NEAR_TIE = 0.1
#: ``plausible`` looks at the words with non-ASCII bytes of the first this many bytes.
PLAUSIBLE_BYTES = 1024

# --------------------------------------------------------------------------
# Labels (WHATWG Encoding Standard, section 4.2) and the codecs that decode them
# --------------------------------------------------------------------------

# WHATWG name: (Python codec, labels).  Left out: "replacement" (iso-2022-kr,
# hz-gb-2312, iso-2022-cn...), which a browser decodes as one U+FFFD; here those
# labels are unknown and decoding falls through to the next step.
_ENCODINGS: dict[str, tuple[str, str]] = {
    "utf-8": ("utf-8", "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8"),
    "ibm866": ("cp866", "866 cp866 csibm866 ibm866"),
    "iso-8859-2": ("iso8859_2", "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 "
                   "iso_8859-2:1987 l2 latin2"),
    "iso-8859-3": ("iso8859_3", "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 "
                   "iso_8859-3:1988 l3 latin3"),
    "iso-8859-4": ("iso8859_4", "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 "
                   "iso_8859-4:1988 l4 latin4"),
    "iso-8859-5": ("iso8859_5", "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 "
                   "iso_8859-5 iso_8859-5:1988"),
    "iso-8859-6": ("iso8859_6", "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 "
                   "iso-8859-6 iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 "
                   "iso_8859-6:1987"),
    "iso-8859-7": ("iso8859_7", "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 "
                   "iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek"),
    "iso-8859-8": ("iso8859_8", "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 "
                   "iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual"),
    "iso-8859-8-i": ("iso8859_8", "csiso88598i iso-8859-8-i logical"),
    "iso-8859-10": ("iso8859_10", "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6"),
    "iso-8859-13": ("iso8859_13", "iso-8859-13 iso8859-13 iso885913"),
    "iso-8859-14": ("iso8859_14", "iso-8859-14 iso8859-14 iso885914"),
    "iso-8859-15": ("iso8859_15", "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9"),
    "iso-8859-16": ("iso8859_16", "iso-8859-16"),
    "koi8-r": ("koi8_r", "cskoi8r koi koi8 koi8-r koi8_r"),
    "koi8-u": ("koi8_u", "koi8-ru koi8-u"),
    "macintosh": ("mac_roman", "csmacintosh mac macintosh x-mac-roman"),
    "windows-874": ("cp874", "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874"),
    "windows-1250": ("cp1250", "cp1250 windows-1250 x-cp1250"),
    "windows-1251": ("cp1251", "cp1251 windows-1251 x-cp1251"),
    "windows-1252": ("cp1252", "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 "
                     "iso-ir-100 iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii "
                     "windows-1252 x-cp1252 "
                     # x-user-defined is its own encoding in WHATWG (bytes 0x80-0xFF to private
                     # use U+F780-U+F7FF); a <meta> naming it means windows-1252, and so does
                     # the header here.
                     "x-user-defined"),
    "windows-1253": ("cp1253", "cp1253 windows-1253 x-cp1253"),
    "windows-1254": ("cp1254", "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 "
                     "iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254"),
    "windows-1255": ("cp1255", "cp1255 windows-1255 x-cp1255"),
    "windows-1256": ("cp1256", "cp1256 windows-1256 x-cp1256"),
    "windows-1257": ("cp1257", "cp1257 windows-1257 x-cp1257"),
    "windows-1258": ("cp1258", "cp1258 windows-1258 x-cp1258"),
    "x-mac-cyrillic": ("mac_cyrillic", "x-mac-cyrillic x-mac-ukrainian"),
    "gbk": ("gb18030", "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk"),
    "gb18030": ("gb18030", "gb18030"),
    "big5": ("big5hkscs", "big5 big5-hkscs cn-big5 csbig5 x-x-big5"),
    # euc_jis_2004 is a superset of euc_jp that also has the NEC row 13 (circled digits...)
    # that the WHATWG index-jis0208 has.
    "euc-jp": ("euc_jis_2004", "cseucpkdfmtjapanese euc-jp x-euc-jp"),
    # iso2022_jp_ext also decodes half-width katakana (ESC ( I), as the WHATWG decoder does.
    "iso-2022-jp": ("iso2022_jp_ext", "csiso2022jp iso-2022-jp"),
    "shift_jis": ("cp932", "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis"),
    "euc-kr": ("cp949", "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 "
               "ksc5601 ksc_5601 windows-949"),
    "utf-16be": ("utf-16-be", "unicodefffe utf-16be"),
    "utf-16le": ("utf-16-le", "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le"),
}

_LABELS: dict[str, str] = {
    label: name for name, (_, labels) in _ENCODINGS.items() for label in labels.split()
}

# Names chardet 7 answers with (compat names, and the raw codec names it falls
# back to) that are not WHATWG labels, mapped to the encoding a browser would use.
_CHARDET_NAMES: dict[str, str] = {
    "cp932": "shift_jis",
    "shift_jis_2004": "shift_jis",
    "cp949": "euc-kr",
    "euc_kr": "euc-kr",
    "euc_jis_2004": "euc-jp",
    "cp874": "windows-874",
    "big5hkscs": "big5",
    "iso2022_jp_2": "iso-2022-jp",
    "iso2022_jp_ext": "iso-2022-jp",
    "maccyrillic": "x-mac-cyrillic",
    "mac-cyrillic": "x-mac-cyrillic",
    "macroman": "macintosh",
    "mac-roman": "macintosh",
    "utf-8-sig": "utf-8",
    "utf-16-le": "utf-16le",
    "utf-16-be": "utf-16be",
    "iso8859-16": "iso-8859-16",
}

# The candidates chardet may answer with: the chardet codec names whose answer
# maps to a WHATWG encoding (so it never picks EBCDIC or a DOS code page).
_CHARDET_CANDIDATES = (
    "utf-8", "cp866", "iso8859-1", "iso8859-2", "iso8859-3", "iso8859-4", "iso8859-5", "iso8859-6",
    "iso8859-7", "iso8859-8", "iso8859-9", "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-15",
    "iso8859-16", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic", "tis-620", "cp874", "cp1250",
    "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "gb18030",
    "big5hkscs", "euc_jis_2004", "iso2022_jp_2", "iso2022_jp_ext", "shift_jis_2004", "cp932",
    "euc_kr", "cp949", "utf-16-le", "utf-16-be", "ascii",
)
# What chardet answers when no candidate fits.  Only 7-bit input can really be
# ASCII, and such input never reaches chardet unless it has ISO-2022-JP escapes:
# this answer means "no idea".  (A sentinel outside the candidates makes chardet warn.)
_CHARDET_NO_MATCH = "ascii"

_ASCII_WS = "\t\n\f\r "
def encoding_for_label(label: str) -> str | None:
    """WHATWG encoding label (any case, surrounding whitespace) -> lower-case WHATWG name, None if unknown."""
    return _LABELS.get(ascii_lower(label.strip(_ASCII_WS)))


def codec_for_label(label: str) -> str | None:
    """WHATWG encoding label -> the Python codec that decodes like the WHATWG decoder, None if unknown.

    ``latin1``, ``iso-8859-1`` and ``us-ascii`` give ``cp1252``; ``gbk`` and ``gb2312``
    ``gb18030``; ``big5`` ``big5hkscs``; ``shift_jis`` ``cp932``; ``euc-kr`` ``cp949``;
    ``tis-620`` ``cp874``; ``utf-16`` ``utf-16-le``.
    """
    name = encoding_for_label(label)
    return None if name is None else _ENCODINGS[name][0]


def encoding_for_chardet(answer: str | None) -> str | None:
    """chardet's answer -> WHATWG encoding name, None when a browser has no such encoding."""
    if not answer:
        return None
    key = ascii_lower(answer.strip())
    return _LABELS.get(key) or _CHARDET_NAMES.get(key)


def _unquote(value: str) -> str:
    value = value.strip(_ASCII_WS)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value


# The WHATWG windows-125x / windows-874 decoders map the bytes Microsoft left
# undefined in 0x80-0x9F to the C1 control of the same number; Python's codecs
# raise.  This error handler does what WHATWG does (and U+FFFD for the rest).
_C1_ERRORS = "linkfilter.whatwg-c1"


def _c1_or_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    return "".join(chr(b) if 0x80 <= b <= 0x9F else "\ufffd" for b in bad), exc.end


codecs.register_error(_C1_ERRORS, _c1_or_replace)
_C1_CODECS = frozenset({"cp874", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255",
                        "cp1256", "cp1257", "cp1258"})


def decode_bytes(data: bytes, charset: str) -> str:
    """Decode ``data`` with the codec of WHATWG encoding ``charset``; bad bytes become U+FFFD."""
    codec = _ENCODINGS[charset][0]
    return data.decode(codec, _C1_ERRORS if codec in _C1_CODECS else "replace")


# --------------------------------------------------------------------------
# Choosing the encoding
# --------------------------------------------------------------------------

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16be"), (b"\xff\xfe", "utf-16le"))
_XML_DECL = re.compile(r"<\?xml[\t\n\r ][^>]*?\?>")
_XML_ENCODING = re.compile(r"""[\t\n\r ]encoding[\t\n\r ]*=[\t\n\r ]*(["'])([^"'>]*)\1""")
_META_CHARSET = re.compile(r"charset[\t\n\f\r ]*=[\t\n\f\r ]*", re.I | re.A)
# Escape sequences that switch ISO-2022-JP to a two-byte or katakana set; their
# bytes are 7-bit, so such a page is valid UTF-8 and must still go to chardet.
ISO2022_ESCAPE = re.compile(rb"\x1b(?:\$[@B(]|\(I)")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_HIGH_BYTES = bytes(range(0x80, 0x100))
NON_ASCII_CHAR = re.compile(r"[^\x00-\x7f]")
# ASCII runs this long are cut to their first _RUN_KEEP bytes for chardet.
_ASCII_RUN = re.compile(rb"[\x01-\x7f]{64,}")
_RUN_KEEP = 8


def bom_encoding(body: bytes) -> tuple[str, int] | None:
    """(encoding, BOM length) when ``body`` starts with a UTF-8 or UTF-16 byte order mark."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom)
    return None


def header_encoding(header_charset: str | None) -> str | None:
    """The encoding named by the raw ``charset=`` value of Content-Type (quoted or not); None if unknown."""
    if not header_charset:
        return None
    return encoding_for_label(_unquote(header_charset))


def _meta_label(attrs: dict[str, str]) -> str | None:
    """The label a ``<meta>`` declares (WHATWG prescan rules), None if it declares none."""
    if "charset" in attrs:
        return attrs["charset"]
    if ascii_lower(attrs.get("http-equiv", "").strip(_ASCII_WS)) != "content-type":
        return None
    content = attrs.get("content", "")
    m = _META_CHARSET.search(content)  # "extract a character encoding from a meta element"
    if not m:
        return None
    j = m.end()
    if j >= len(content):
        return None
    if content[j] in "\"'":
        close = content.find(content[j], j + 1)
        return None if close < 0 else content[j + 1:close]
    k = j
    while k < len(content) and content[k] not in _ASCII_WS + ";":
        k += 1
    return content[j:k]


def _markup_encoding(name: str | None) -> str | None:
    """A declaration in the markup: UTF-16 means UTF-8 (the bytes are ASCII-compatible)."""
    if name in ("utf-16le", "utf-16be"):
        return "utf-8"
    return name


def meta_declaration(markup: Markup) -> tuple[str, int] | None:
    """(encoding, offset just past the tag) of the first ``<meta>`` the prescan counts.

    A ``<meta>`` counts when it starts before the title (or, without a title,
    before the end of the head) or within the first 1024 bytes; unknown labels
    are skipped, as the WHATWG prescan skips them.
    """
    limit = markup.title_start if markup.title_start is not None else markup.head_end
    region = PRESCAN_MIN_BYTES if limit is None else max(PRESCAN_MIN_BYTES, limit)
    for meta in markup.metas:
        if limit is not None and meta.start >= region:
            break
        label = _meta_label(meta.attrs)
        name = None if label is None else _markup_encoding(encoding_for_label(label))
        if name is not None:
            return name, meta.end
    return None


def xml_declaration(view: str) -> tuple[str, int] | None:
    """(encoding, end offset) of an XML declaration at the very start of the document."""
    m = _XML_DECL.match(view, 0, PRESCAN_MIN_BYTES)
    if not m:
        return None
    enc = _XML_ENCODING.search(m.group())
    name = _markup_encoding(encoding_for_label(enc.group(2))) if enc else None
    return None if name is None else (name, m.end())


def utf8_prefix_valid(body: bytes) -> bool:
    """True when ``body`` is valid UTF-8, but for a last character cut short (a read may cut one)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.reason == "unexpected end of data"
    return True


def detection_anchor(body: bytes, markup: Markup) -> int:
    """Where chardet should look: the first non-ASCII byte of the title, else of the page."""
    raw = markup.title_raw
    if raw is not None and markup.title_open is not None:
        m = NON_ASCII_CHAR.search(raw)
        if m:
            return markup.title_open + m.start()
    m = _NON_ASCII.search(body)
    return m.start() if m else 0


def detection_sample(body: bytes, anchor: int) -> bytes:
    """What chardet sees: ``DETECT_BYTES`` on either side of ``anchor``, long ASCII runs cut short.

    Pages are mostly ASCII markup and script, and ASCII drowns chardet's
    statistics (a title after 200 KB of script reads as MacRoman); the runs keep
    their first bytes, which may finish a multi-byte character.  7-bit encodings
    need their ASCII: data with NUL bytes (UTF-16 without BOM) or ISO-2022
    escapes is left whole.
    """
    start = max(0, anchor - DETECT_BYTES)
    start -= start % 2  # keep UTF-16 code units aligned
    window = body[start:anchor + DETECT_BYTES]
    if b"\x00" in window or ISO2022_ESCAPE.search(window):
        return window
    return _ASCII_RUN.sub(_shorten_run, window)


def _shorten_run(m: re.Match[bytes]) -> bytes:
    return m.group()[:_RUN_KEEP] + b"\n"


def detect_candidates(sample: bytes) -> list[tuple[str, float]]:
    """chardet's candidates for ``sample``, best first: (WHATWG name, confidence), each name once.

    Empty when chardet has no answer.  Imports chardet (about 100 ms the first
    time) and restricts it to the encodings a browser can decode.
    """
    import chardet  # noqa: PLC0415 -- only pages that need detection pay for the import

    results = chardet.detect_all(sample, ignore_threshold=True, include_encodings=_CHARDET_CANDIDATES,
                                 no_match_encoding=_CHARDET_NO_MATCH)
    candidates: list[tuple[str, float]] = []
    seen = set()
    for result in results:
        answer = result.get("encoding")  # None: binary, or nothing fits
        if answer is None or ascii_lower(answer) == _CHARDET_NO_MATCH:
            continue
        name = encoding_for_chardet(answer)
        if name is not None and name not in seen:
            seen.add(name)
            candidates.append((name, float(result.get("confidence") or 0.0)))
    return candidates


# Encodings chardet recognises by their structure (NUL bytes, escape sequences),
# not by statistics: no hint overrules them.
_STRUCTURAL = frozenset({"utf-16le", "utf-16be", "iso-2022-jp"})

# Words with a non-ASCII byte: no space or tag bracket, which no trail byte of a
# multi-byte encoding is (theirs may be ASCII letters and signs).
_HIGH_WORD = re.compile(rb"[^\x00-\x20<>]*[\x80-\xff][^\x00-\x20<>]*")
_WORD_BEFORE = 64
def high_words(body: bytes, anchor: int) -> bytes:
    """The words with non-ASCII bytes of the ``PLAUSIBLE_BYTES`` from just before ``anchor``, joined by spaces."""
    return b" ".join(_HIGH_WORD.findall(body, max(0, anchor - _WORD_BEFORE), anchor + PLAUSIBLE_BYTES))


class _Judge:
    """Whether ``words`` are plausible in an encoding (``plausible``), each encoding asked once."""

    def __init__(self, words: bytes) -> None:
        self._words = words
        self._seen: dict[tuple[str, frozenset[str] | None], bool] = {}

    def __call__(self, encoding: str, letters: frozenset[str] | None = None) -> bool:
        key = (encoding, letters)
        found = self._seen.get(key)
        if found is None:
            # the window may cut a character at either end: that is no undefined byte
            text = decode_bytes(self._words, encoding).strip("\ufffd")
            found = self._seen[key] = plausible(text, encoding, letters)
        return found


def pick_encoding(candidates: list[tuple[str, float]], hints: Sequence[tuple[str, ...]],
                  words: bytes, evidence: int) -> tuple[str, str]:
    """(encoding, source) from chardet's ``candidates`` (best first) and ``hints`` (strongest first).

    ``words``: the page's words with non-ASCII bytes (``high_words``); ``evidence``:
    how many non-ASCII bytes chardet saw.

    ``hints`` are (source, encoding) pairs such as ``("tld", "windows-1251")``, or
    triples with the hinted language's letters (``browser_hints``); a hint
    accepts its encoding's family (:func:`linkfilter.hints.family`), within which the
    bytes choose (chardet's order; a tie goes to the hint's own encoding).  Only
    candidates the bytes allow (``plausible``) count, unless none is.

    On a short sample (under ``OWN_HINT_EVIDENCE`` non-ASCII bytes) the first
    hint of the page's own with a plausible member decides (where chardet is sure,
    one of at least ``HINT_FLOOR`` of the best confidence); the reader's locale,
    under ``LOCALE_EVIDENCE``, only among candidates at ``LOCALE_SHARE`` of the best
    plausible one, unless that is an encoding no browser falls back to
    (``linkfilter.hints.FALLBACKS``: ISO-8859-4, MacRoman ...).  On a longer one the hints choose
    only among the plausible candidates within ``NEAR_TIE`` of the best of them.
    The source is the hint's name when it changed the answer, ``chardet`` when
    chardet's best plausible candidate stands,
    ``fallback`` (windows-1252) when chardet has no candidate.
    """
    if not candidates:
        return "windows-1252", "fallback"
    best_name, best = candidates[0]
    if best_name in _STRUCTURAL:
        return best_name, "chardet"
    allows = _Judge(words)
    credible = next(((name, conf) for name, conf in candidates if allows(name)), candidates[0])
    for source, encoding, *letters in hints:
        own = letters[0] if letters else None
        if evidence >= (LOCALE_EVIDENCE if source == "locale" else OWN_HINT_EVIDENCE):
            floor = (1 - NEAR_TIE) * credible[1]
        elif source == "locale" and credible[0] in FALLBACKS:
            floor = LOCALE_SHARE * credible[1]
        else:
            floor = HINT_FLOOR * best if best >= CHARDET_SURE else 0.0
        accepted = family(encoding)
        members = [(name, conf) for name, conf in candidates
                   if name in accepted and conf >= floor and allows(name, own)]
        if members:
            top = members[0][1]
            chosen = encoding if (encoding, top) in members else members[0][0]
            return chosen, "chardet" if chosen == credible[0] else source
    return credible[0], "chardet"


_HTML_TAG = re.compile(rb"<html(?=[\t\n\f\r />])[^>]*>", re.I)
_LANG_ATTR = re.compile(rb"""[\t\n\f\r /]lang[\t\n\f\r ]*=[\t\n\f\r ]*"""
                        rb"""(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >"']+))""", re.I)
_COMMENT = re.compile(rb"<!--.*?-->", re.S)


def page_language(body: bytes, markup: Markup) -> str | None:
    """The language the page declares: ``lang`` of ``<html>``, else ``<meta http-equiv=content-language>``.

    The ``<html>`` tag counts before the title (without one, the head's end or the
    first 1024 bytes); an empty ``lang`` declares nothing.  The meta's value is its
    first language; one listing several (a comma) declares none, as in HTML.
    """
    limit = markup.title_start if markup.title_start is not None else markup.head_end
    region = body[:PRESCAN_MIN_BYTES if limit is None else limit]
    if b"<!--" in region:
        region = _COMMENT.sub(b" ", region)
    tag = _HTML_TAG.search(region)
    if tag:
        lang = _LANG_ATTR.search(tag.group(), 5)
        if lang:
            value = next(v for v in lang.groups() if v is not None).decode("latin-1").strip(_ASCII_WS)
            if value:
                return value
    for meta in markup.metas:
        if ascii_lower(meta.attrs.get("http-equiv", "").strip(_ASCII_WS)) == "content-language":
            content = meta.attrs.get("content", "")
            words = content.split()
            if words and "," not in content:
                return words[0]
    return None


def browser_hints(body: bytes, markup: Markup, hints: Hints | None) -> list[tuple[str, str, frozenset[str] | None]]:
    """The (source, encoding, letters) hints for a page, strongest first: ``lang``, ``tld``, ``locale``.

    ``lang``: the language the page declares (:func:`page_language`), else its
    Content-Language header; ``tld``: the final URL's country domain; ``locale``:
    the first language of the reader's Accept-Language.  ``letters``: the
    non-ASCII letters of that language, where known
    (:func:`linkfilter.hints.language_letters`).
    """
    hints = hints or Hints()
    found = []
    tag = page_language(body, markup)
    if language_encoding(tag) is None:
        tag = first_language(hints.content_language)
    lang = language_encoding(tag)
    if lang is not None:
        found.append(("lang", lang, language_letters(tag)))
    tld = tld_encoding(hints.url)
    if tld is not None:
        found.append(("tld", tld, language_letters(TLD_LANGUAGES.get(country_domain(hints.url) or ""))))
    tag = first_language(hints.accept_language)
    locale = language_encoding(tag)
    if locale is not None:
        found.append(("locale", locale, language_letters(tag)))
    return found


def choose_encoding(body: bytes, header_charset: str | None, markup: Markup,
                    hints: Hints | None = None) -> tuple[str, str]:
    """(encoding, source) for ``body``, given the scan of its latin-1 view (``markup``).

    The source is one of ``bom``, ``header``, ``meta``, ``xml``, ``utf-8`` (the
    bytes are valid UTF-8), ``chardet``; ``lang``, ``tld``, ``locale`` (that hint
    changed chardet's answer, see ``pick_encoding``); ``fallback`` (windows-1252,
    chardet had no answer).  ``hints`` count only for a page that declares nothing
    and is not UTF-8.
    """
    bom = bom_encoding(body)
    if bom is not None:
        return bom[0], "bom"
    name = header_encoding(header_charset)
    if name is not None:
        return name, "header"
    meta = meta_declaration(markup)
    if meta is not None:
        return meta[0], "meta"
    if body.startswith(b"<?xml"):
        xml = xml_declaration(body[:PRESCAN_MIN_BYTES].decode("latin-1"))
        if xml is not None:
            return xml[0], "xml"
    if utf8_prefix_valid(body) and not ISO2022_ESCAPE.search(body):
        return "utf-8", "utf-8"
    anchor = detection_anchor(body, markup)
    sample = detection_sample(body, anchor)
    evidence = len(sample) - len(sample.translate(None, _HIGH_BYTES))
    return pick_encoding(detect_candidates(sample), browser_hints(body, markup, hints),
                         high_words(body, anchor), evidence)
