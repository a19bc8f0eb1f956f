"""A PDF's page count and title from the bytes read of it (its head, its tail); pure.

The page count is the linearization dictionary's ``/N`` (in the first KiB of a
linearized file), else the ``/Count`` of the page tree's root (the ``/Type /Pages``
object without a ``/Parent``) when it is among the bytes read. The title is the Info
dictionary's ``/Title``, else the XMP packet's ``dc:title``; both are looked for also
among the objects packed in compressed object streams (PDF 1.5, as pdfTeX and qpdf
write them), inflated up to ``MAX_INFLATED`` each; titles that only name the
file or the program that made it (``junk_title``) are dropped, and so is any title of
an encrypted file (its strings are ciphertext; nothing is decrypted).
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAGIC = b"%PDF-"
#: Where the linearization dictionary must start, if there is one (the spec: first 1024 bytes).
LINEARIZED_WITHIN = 1024
#: Farthest before a key its object's ``N G obj`` is looked for (a page tree node with
#: a thousand kids is about 12 KiB).
OBJECT_WINDOW = 16 * 1024
#: Longest title string looked at (a longer one is cut before cleaning).
MAX_TITLE_BYTES = 4096

#: Most bytes an object stream is inflated to (a page tree root and an Info dictionary sit
#: among a few hundred small objects).
MAX_INFLATED = 256 * 1024

_LINEARIZED = re.compile(rb"<<\s*/Linearized\b(.{0,512}?)>>", re.S)
_N = re.compile(rb"/N\s+(\d{1,9})\b")
_OBJSTM = re.compile(rb"/Type\s*/ObjStm\b")
_FIRST = re.compile(rb"/First\s+(\d{1,9})\b")
_OBJ = re.compile(rb"\b\d{1,10}\s+\d{1,5}\s+obj\b")
_ENDOBJ = re.compile(rb"\bendobj\b|\bstream\r?\n")
_PAGES = re.compile(rb"/Type\s*/Pages\b")
_COUNT = re.compile(rb"/Count\s+(\d{1,9})\b")
_PARENT = re.compile(rb"/Parent\b")
_TITLE = re.compile(rb"/Title\s*([(<])")
#: Keys of outline items, annotations and actions, whose /Title is no document title.
_NOT_INFO = re.compile(rb"/(?:Parent|Dest|A|Next|Prev|First|Last|Subtype|Type\s*/Annot)\b")
#: An encrypted file's trailer (or cross-reference stream) names its /Encrypt dictionary,
#: whose standard handler is ``/Filter /Standard``: its strings, the title too, are ciphertext.
_ENCRYPTED = re.compile(rb"/Encrypt\b|/Filter\s*/Standard\b")
#: A trailer (or a cross-reference stream, which holds one): where /Encrypt would be named.
_TRAILER = re.compile(rb"\btrailer\b|/Type\s*/XRef\b")
_XMP_TITLE = re.compile(
    rb"<dc:title\b[^>]*>.{0,512}?<rdf:li\b[^>]*>(.{0,4096}?)</rdf:li>", re.S
)
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b",
            ord("f"): b"\f", ord("("): b"(", ord(")"): b")", ord("\\"): b"\\"}


class PDFFacts(NamedTuple):
    """What the bytes read say; None for what they do not."""

    pages: int | None = None
    title: str | None = None
    encrypted: bool | None = None  # True when the bytes say so: no title can be read
    trailer: bool | None = None  # True once a trailer was read: whether it is encrypted is known

    @property
    def complete(self) -> bool:
        """Whether all is known: the page count, and the title (or that it is encrypted),
        once a trailer has said whether it is."""
        return (self.pages is not None and bool(self.trailer)
                and (self.title is not None or bool(self.encrypted)))


def scan(data: bytes, *, head: bool) -> PDFFacts:
    """The page count and title (raw, not cleaned, not junk) found in ``data``: the file's first bytes
    when ``head``, else any slice of it (its tail)."""
    pages = None
    if head:
        m = _LINEARIZED.search(data, 0, LINEARIZED_WITHIN + 600)
        if m is not None and m.start() < LINEARIZED_WITHIN:
            n = _N.search(m.group(1))
            if n is not None:
                pages = int(n.group(1))
    packed = _packed(data) if _OBJSTM.search(data) is not None else b""
    if pages is None:
        pages = _root_count(data)
    if pages is None and packed:
        pages = _root_count(packed)
    trailer = True if _TRAILER.search(data) is not None else None
    if _ENCRYPTED.search(data) is not None:
        return PDFFacts(pages, None, True, trailer)
    titles = (_info_title(data), _xmp_title(data), _info_title(packed) if packed else None)
    return PDFFacts(pages, next((t for t in titles if t and not junk_title(t)), None), None, trailer)


def _object_around(data: bytes, at: int) -> bytes:
    """The text of the indirect object ``at`` is in: from its ``N G obj`` to ``endobj``
    or the start of its stream (b"" when either end is not in ``data``)."""
    start = None
    for m in _OBJ.finditer(data, max(0, at - OBJECT_WINDOW), at):
        start = m.end()
    if start is None:
        return b""
    end = _ENDOBJ.search(data, at)
    return data[start:end.start()] if end is not None else b""


def _packed(data: bytes) -> bytes:
    """The objects packed in the Flate-compressed object streams among ``data``, written out
    as ``N 0 obj ... endobj`` (a stream cut short gives what it inflates to, its damaged
    or unknown parts nothing)."""
    import zlib  # only a PDF with object streams pays for it

    out = bytearray()
    for m in _OBJSTM.finditer(data):
        head = _object_around(data, m.start())
        start = _ENDOBJ.search(data, m.end())
        count, first = _N.search(head), _FIRST.search(head)
        if (start is None or not start.group().startswith(b"stream") or count is None or first is None
                or b"/FlateDecode" not in head or b"/DecodeParms" in head):
            continue
        try:
            inflated = zlib.decompressobj().decompress(data[start.end():], MAX_INFLATED)
        except zlib.error:
            continue
        at = int(first.group(1))
        numbers = inflated[:at].split()
        pairs = list(zip(numbers[0::2], numbers[1::2]))[:int(count.group(1))]
        if not all(n.isdigit() and o.isdigit() for n, o in pairs):
            continue
        offsets = [int(o) for _, o in pairs] + [len(inflated) - at]
        for (number, _), begin, end in zip(pairs, offsets, offsets[1:]):
            out += number + b" 0 obj\n" + inflated[at + begin:at + end] + b"\nendobj\n"
    return bytes(out)


def _root_count(data: bytes) -> int | None:
    for m in _PAGES.finditer(data):
        body = _object_around(data, m.start())
        if body and not _PARENT.search(body):
            count = _COUNT.search(body)
            if count is not None:
                return int(count.group(1))
    return None


def _info_title(data: bytes) -> str | None:
    for m in _TITLE.finditer(data):
        body = _object_around(data, m.start())
        if not body or _NOT_INFO.search(body):
            continue
        at = m.start(1)
        raw = _literal(data, at) if data[at:at + 1] == b"(" else _hex(data, at)
        if raw is not None:
            return text_of(raw)
    return None


def _xmp_title(data: bytes) -> str | None:
    m = _XMP_TITLE.search(data)
    if m is None:
        return None
    import html  # only a PDF with XMP pays for it

    return html.unescape(m.group(1).decode("utf-8", "replace"))


def _literal(data: bytes, at: int) -> bytes | None:
    """The bytes of the literal string ``(...)`` starting at ``at``; None when it does not
    end within ``MAX_TITLE_BYTES``."""
    out = bytearray()
    depth = 0
    i = at
    end = min(len(data), at + MAX_TITLE_BYTES)
    while i < end:
        c = data[i]
        if c == 0x5C:  # backslash
            nxt = data[i + 1:i + 2]
            if not nxt:
                return None
            if nxt[0] in _ESCAPES:
                out += _ESCAPES[nxt[0]]
                i += 2
            elif nxt in (b"\r", b"\n"):  # a line continued
                i += 3 if data[i + 1:i + 3] == b"\r\n" else 2
            elif nxt.isdigit():
                digits = re.match(rb"[0-7]{1,3}", data[i + 1:i + 4])
                if digits is None:
                    i += 2
                    continue
                out.append(int(digits.group(), 8) & 0xFF)
                i += 1 + len(digits.group())
            else:
                out += nxt
                i += 2
            continue
        if c == 0x28:
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out)
        out.append(c)
        i += 1
    return None


def _hex(data: bytes, at: int) -> bytes | None:
    end = data.find(b">", at, at + 2 * MAX_TITLE_BYTES)
    if end < 0:
        return None
    digits = re.sub(rb"\s+", b"", data[at + 1:end])
    if len(digits) % 2:
        digits += b"0"
    try:
        return bytes.fromhex(digits.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None


def text_of(raw: bytes) -> str:
    """A PDF text string: UTF-16 with its BOM, UTF-8 with its BOM, else PDFDocEncoding
    (read as Latin-1, which it matches in the printable range). UTF-16BE without its BOM,
    as ImageMagick writes a title (every other byte NUL, which no text in PDFDocEncoding
    holds), is read as UTF-16BE."""
    if raw[:2] == b"\xfe\xff":
        return raw[2:].decode("utf-16-be", "replace")
    if raw[:2] == b"\xff\xfe":
        return raw[2:].decode("utf-16-le", "replace")
    if raw[:3] == b"\xef\xbb\xbf":
        return raw[3:].decode("utf-8", "replace")
    if raw and not len(raw) % 2 and not any(raw[0::2]):
        return raw.decode("utf-16-be").rstrip("\0")
    return raw.decode("latin-1").translate(_PDFDOC)


#: Where PDFDocEncoding differs from Latin-1 (PDF 32000-1, Annex D): accents, then
#: punctuation, ligatures and letters in 0x80-0x9F, the euro sign at 0xA0.
_PDFDOC = {**{0x18 + i: c for i, c in enumerate("\u02d8\u02c7\u02c6\u02d9\u02dd\u02db\u02da\u02dc")},
           **{0x80 + i: c for i, c in enumerate(
               "\u2022\u2020\u2021\u2026\u2014\u2013\u0192\u2044\u2039\u203a\u2212\u2030"
               "\u201e\u201c\u201d\u2018\u2019\u201a\u2122\ufb01\ufb02\u0141\u0152\u0160"
               "\u0178\u017d\u0131\u0142\u0153\u0161\u017e")},
           0xA0: "\u20ac"}


#: Extensions of files a PDF is made from, or saved as: a title that is one of these names
#: is the file's name, not its title.
FILE_EXTENSIONS = frozenset(
    "doc docx dot dotx odt ott rtf txt tex dvi ps eps pdf indd qxd qxp pub pages key numbers "
    "ppt pptx pps ppsx pot potx odp xls xlsx xlsm ods csv html htm xml md jpg jpeg png gif "
    "tif tiff bmp svg ai psd eml msg vsd vsdx mp3 mp4 mov avi wav flac webm zip".split()
)
#: Names programs give a document nobody named: the rest of the line is only a number.
_PLACEHOLDER = re.compile(
    r"(?:untitled|untitled document|document|doc|book|presentation|powerpoint presentation|"
    r"slide|title|new document|workbook|sheet|draft|no title|none|unknown|"
    r"microsoft word document|word document|pdf|scan|scanned document|img|image|dsc|"
    r"page)[\s_-]*\d*",
    re.I,
)
#: "Microsoft Word - report.docx", "Microsoft PowerPoint - x", as Office's PDF printer writes.
_PRINTED_BY = re.compile(r"microsoft\s+(?:office\s+)?(?:word|powerpoint|excel|publisher|visio)\s+-\s", re.I)
#: A name ending in an extension (``report v2.docx``, ``C:\\x\\a.doc``).
_FILE_NAME = re.compile(r"[^\n]*\S\.([a-z0-9]{1,7})\s*", re.I)
#: Ids: long runs of hex digits (with dashes, as in a UUID) holding at least one digit.
_HEX_ID = re.compile(r"(?=[^0-9]*[0-9])[0-9a-f]{8,}(?:-[0-9a-f]{4,})*|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.I)


def junk_title(title: str, file_name: str | None = None) -> bool:
    """Whether a PDF's title only names the file or the program that made it: a placeholder
    (``Untitled``, ``Document1``, ``Presentation1``), ``Microsoft Word - x.docx``, a file
    name or path (``report_v2.docx``, ``C:\\Users\\x\\a.doc``), a hex id or UUID, or
    ``file_name`` (the name the file is served under) with or without its extension, as
    ImageMagick titles what it writes."""
    text = title.strip()
    if not text or _PRINTED_BY.match(text) or _PLACEHOLDER.fullmatch(text):
        return True
    served = (file_name, file_name.rpartition(".")[0]) if file_name else ()
    if text.casefold() in (name.casefold() for name in served):
        return True
    if _HEX_ID.fullmatch(text):
        return True
    m = _FILE_NAME.fullmatch(text)
    return m is not None and m.group(1).lower() in FILE_EXTENSIONS
