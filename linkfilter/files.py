"""What a file is, from its own first bytes: its type, pixels, pages, duration and title; pure.

``FileSniffer`` is fed a body that is not HTML as it arrives and says when its
description is complete, so the fetcher can close the connection (a 50 MB image costs
its first few KiB); ``FileSniffer.info()`` is the ``FileInfo``. The type comes from the
magic numbers when they name one (a PNG served as ``application/octet-stream`` is a
PNG), else only the Content-Type is known and nothing more is said.

Each format's parser (``images``, ``media``, ``pdf``) is a pure function of the bytes
so far, ``(data, total) -> (facts, need)``: ``need`` is 0 when it knows all it will learn, else the length of
prefix worth parsing again. The sniffer parses again only once the prefix has reached
that length and grown by a quarter since its last parse, so its work is linear in the
bytes fed, whatever the size of the pieces.
"""

from __future__ import annotations

import re
import struct
from typing import Callable, NamedTuple

from linkfilter import images, media, pdf
from linkfilter.result import HTML_TYPES

#: Bytes looked at to name a type (every magic number below fits in them).
MAGIC_BYTES = 64
#: Most bytes read for a format whose header is at its start (PNG, GIF, WebP, BMP, ICO,
#: AVIF/HEIC, SVG): past it the file is described with what is known.
HEADER_LIMIT = 64 * 1024
#: Most bytes of a PDF's head read, and of its tail asked for in one ranged request.
PDF_HEAD = 64 * 1024
PDF_TAIL = 64 * 1024
#: Bytes of an Ogg file's end asked for, for its last page (at most 65,307 bytes long).
OGG_TAIL = 64 * 1024
#: A parse runs again only after the prefix grew by 1/REPARSE_GROWTH of itself.
REPARSE_GROWTH = 4

KINDS = ("page", "image", "video", "audio", "pdf", "file")

Facts = dict
Parser = Callable[[bytes, "int | None"], "tuple[Facts, int]"]


class Format(NamedTuple):
    """A file type the bytes can name."""

    label: str  # what the line says: "PNG image"
    kind: str  # one of KINDS


#: Every type the bytes can name, by the short name the parsers use.
FORMATS = {
    "png": Format("PNG image", "image"),
    "gif": Format("GIF image", "image"),
    "jpeg": Format("JPEG image", "image"),
    "webp": Format("WebP image", "image"),
    "bmp": Format("BMP image", "image"),
    "ico": Format("ICO image", "image"),
    "avif": Format("AVIF image", "image"),
    "heic": Format("HEIC image", "image"),
    "svg": Format("SVG image", "image"),
    "pdf": Format("PDF", "pdf"),
    "mp3": Format("MP3 audio", "audio"),
    "flac": Format("FLAC audio", "audio"),
    "ogg": Format("Ogg audio", "audio"),
    "opus": Format("Opus audio", "audio"),
    "ogv": Format("Ogg video", "video"),
    "wav": Format("WAV audio", "audio"),
    "mp4": Format("MP4 video", "video"),
    "m4a": Format("M4A audio", "audio"),
    "mov": Format("MOV video", "video"),
    "3gp": Format("3GP video", "video"),
    "webm": Format("WebM video", "video"),
    "weba": Format("WebM audio", "audio"),
    "mkv": Format("Matroska video", "video"),
    "mka": Format("Matroska audio", "audio"),
    "zip": Format("ZIP archive", "file"),
    "gzip": Format("gzip archive", "file"),
    "7z": Format("7z archive", "file"),
    "rar": Format("RAR archive", "file"),
    "xz": Format("xz archive", "file"),
    "bzip2": Format("bzip2 archive", "file"),
}


class FileInfo(NamedTuple):
    """A file described: ``label`` is None when the bytes named no type we know."""

    kind: str
    label: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds
    pages: int | None = None
    title: str | None = None  # raw: the caller cleans and cuts it


def kind_of(content_type: str | None) -> str:
    """The kind a file's Content-Type alone tells (``card.kind_of``); ``file`` without one."""
    if content_type is None:
        return "file"
    from linkfilter.card import kind_of as kind_of_type

    return kind_of_type(content_type)


# -- naming the type ------------------------------------------------------------------


def identify(head: bytes, content_type: str | None, final: bool) -> str | None:
    """The short name of the format ``head`` starts with, "" for none we know, or None
    when more bytes are needed to tell (never once ``final``: the body ended). Magic
    numbers are in the first ``MAGIC_BYTES``; an SVG's ``<svg`` tag is looked for in the
    first 4 KiB after an XML prolog (``HEADER_LIMIT`` when the Content-Type says SVG). A
    body declared HTML is named only by a magic number, never by a guess (BMP, ICO, an
    MPEG frame sync, SVG)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "webp" if head[8:12] == b"WEBP" else "wav"
    if head[:4] == b"%PDF":
        return "pdf"
    if head[:3] == b"ID3" or head[:4] == b"fLaC":
        return "flac" if head[:4] == b"fLaC" else "mp3"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp" and len(head) >= 12:
        return _brand(head)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    for magic, name in _ARCHIVES:
        if head.startswith(magic):
            return name
    if content_type in HTML_TYPES:  # only a magic number above says more than a declared page
        return ""
    if len(head) < MAGIC_BYTES and not final:
        return None
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in images.BMP_DIB:
        return "bmp"
    if head[:4] in (b"\0\0\1\0", b"\0\0\2\0") and images.ico_entries(head):
        return "ico"
    if media.mpeg_frame(head, 0) is not None:
        return "mp3"
    return _svg_or_not(head, content_type, final)


_ARCHIVES = ((b"\x1f\x8b", "gzip"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "rar"),
             (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"))
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})


def _brand(head: bytes) -> str:
    """Which ISO media file an ``ftyp`` box starts: by its major and compatible brands."""
    major = head[8:12]
    size = struct.unpack_from(">I", head, 0)[0]
    compatible = head[16:min(size, len(head))]
    if major in _AVIF_BRANDS or (major in (b"mif1", b"msf1") and b"avif" in compatible):
        return "avif"
    if major in _HEIC_BRANDS:
        return "heic"
    if major == b"qt  ":
        return "mov"
    if major in (b"M4A ", b"M4B ", b"M4P "):
        return "m4a"
    if major.startswith(b"3g"):
        return "3gp"
    return "mp4"


_SVG_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<(?:\?xml|!--|!DOCTYPE\s+svg|svg\b)", re.I)


def _svg_or_not(head: bytes, content_type: str | None, final: bool) -> str | None:
    if not _SVG_START.match(head):
        return ""
    if b"<svg" in head:
        return "svg"
    declared = content_type == "image/svg+xml"
    return None if not final and len(head) < (HEADER_LIMIT if declared else 4096) else ""


def _pdf(data: bytes, total: int | None) -> tuple[Facts, int]:
    found = pdf.scan(data, head=True)
    facts = {k: v for k, v in found._asdict().items() if v is not None}
    return facts, 0 if found.complete else len(data) + 1


#: Each format's parser, and the most bytes read for it (None: up to --max-bytes, for
#: the formats whose header ends where it ends: JPEG, audio, video).
PARSERS: dict[str, tuple[Parser, int | None]] = {
    "png": (images.png, HEADER_LIMIT),
    "gif": (images.gif, HEADER_LIMIT),
    "bmp": (images.bmp, HEADER_LIMIT),
    "ico": (images.ico, HEADER_LIMIT),
    "webp": (images.webp, HEADER_LIMIT),
    "svg": (images.svg, HEADER_LIMIT),
    "avif": (images.bmff_image, HEADER_LIMIT),
    "heic": (images.bmff_image, HEADER_LIMIT),
    "jpeg": (images.jpeg, None),
    "pdf": (_pdf, PDF_HEAD),
    "mp3": (media.mp3, None),
    "flac": (media.flac, None),
    "ogg": (media.ogg, None),
    "wav": (media.wav, HEADER_LIMIT),
    "mp4": (media.mp4, None),
    "m4a": (media.mp4, None),
    "mov": (media.mp4, None),
    "3gp": (media.mp4, None),
    "webm": (media.webm, None),
}


# -- the sniffer ------------------------------------------------------------------------


class FileSniffer:
    """Fed a body as it arrives; ``feed`` returns True once the description is complete
    (or the format's limit is reached), ``info()`` gives it. Pure: no I/O.

    ``content_type`` and ``total`` (the body's size, if known) come from the headers;
    ``file_name`` is the name the file is served under (``file_name_of``), which a PDF's
    title must not merely repeat. For a PDF whose page count, title or trailer is not
    in its head, ``tail_wanted`` says how many bytes of its end to fetch and
    ``feed_tail`` takes them.
    """

    def __init__(self, content_type: str | None, total: int | None, file_name: str | None = None) -> None:
        self.content_type = content_type
        self.total = total
        self.file_name = file_name
        self._buf = bytearray()
        self._name: str | None = None  # the format, once named ("" for unknown)
        self._looked = 0  # prefix length when the format was last looked for
        self._facts: Facts = {}
        self._need = 0  # prefix length at which to parse again
        self._parsed = -1  # prefix length at the last parse
        self._complete = False  # the parser knows all it will learn
        self._done = False  # complete, or the format's limit reached
        self._tail: Facts | None = None  # what the file's end said, once fed

    def feed(self, data: bytes) -> bool:
        """Take the next bytes of the body; True when nothing more is needed."""
        if self._done:
            return True
        self._buf += data
        if self._name is None:
            size = len(self._buf)
            if MAGIC_BYTES < size < min(self._looked + self._looked // REPARSE_GROWTH, HEADER_LIMIT):
                return False  # looked at nearly as much already (an SVG's start is searched)
            self._looked = size
            self._name = identify(bytes(self._buf[:HEADER_LIMIT]), self.content_type, False)
            if self._name is None:
                if size >= HEADER_LIMIT:  # never named: give up
                    self._name = ""
                else:
                    return False
            if self._name not in PARSERS:
                self._done = True
                return True
        limit = PARSERS[self._name][1]
        size = len(self._buf)
        if size >= self._need and size >= self._parsed + self._parsed // REPARSE_GROWTH:
            self._parse()
        self._done = self._complete or (limit is not None and size >= limit)
        return self._done

    def _parse(self) -> None:
        parser = PARSERS[self._name][0]  # type: ignore[index]
        try:
            facts, need = parser(bytes(self._buf), self.total)
        except (struct.error, IndexError, ValueError, OverflowError, ZeroDivisionError):
            facts, need = {}, 0  # damaged past what we can read: what came before counts
        self._parsed = len(self._buf)
        if facts or not self._facts:
            self._facts = facts
        self._need = need
        self._complete = need == 0

    def finish(self) -> None:
        """The body ended (or reading stopped): parse what came, if not done since."""
        if self._name is None:
            self._name = identify(bytes(self._buf[:HEADER_LIMIT]), self.content_type, True)
        if self._name in PARSERS and not self._complete and self._parsed != len(self._buf):
            self._parse()
        self._done = True

    @property
    def tail_wanted(self) -> int:
        """Bytes of the file's end worth one ranged request, when it was not read whole: a
        PDF's last ``PDF_TAIL`` when its head lacks the page count, the title or a trailer
        (which says whether the title is ciphertext), an Ogg
        file's last ``OGG_TAIL`` for its duration."""
        if self._tail is not None or self.total is not None and self.total <= len(self._buf):
            return 0
        facts = self._facts
        if self._name == "pdf" and not pdf.PDFFacts(*(facts.get(k) for k in pdf.PDFFacts._fields)).complete:
            return PDF_TAIL
        if self._name == "ogg" and "ogg_stream" in facts:
            return OGG_TAIL
        return 0

    def feed_tail(self, data: bytes, total: int | None) -> None:
        """Take the file's last bytes (``total``: its size, from the Content-Range)."""
        if self._name == "pdf":
            found = pdf.scan(data, head=False)
            self._tail = {k: v for k, v in found._asdict().items() if v is not None}
        else:
            self._tail = {"duration": media.ogg_duration(data, self._facts["ogg_stream"])}
        if self.total is None:
            self.total = total

    def info(self) -> FileInfo:
        """The description of what was fed."""
        self.finish()
        name = self._name or ""
        facts = dict(self._facts)
        tail = self._tail
        if tail is None and name == "ogg" and "ogg_stream" in facts and self.total is not None \
                and len(self._buf) >= self.total:  # read whole: its end is here
            tail = {"duration": media.ogg_duration(bytes(self._buf[-OGG_TAIL:]), facts["ogg_stream"])}
        for key, value in (tail or {}).items():  # the end fills what the head lacks
            if facts.get(key) is None:
                facts[key] = value
        override = facts.pop("format", None)
        if override == "audio":  # an MP4 without pictures
            override = "m4a"
        name = override or name
        fmt = FORMATS.get(name)
        if fmt is None:
            return FileInfo(kind_of(self.content_type))
        title = facts.get("title")
        if title and fmt.kind == "pdf" and (facts.get("encrypted") or pdf.junk_title(title, self.file_name)):
            title = None  # ciphertext (its end says it is encrypted), or the file's own name
        artist = facts.get("artist")
        if title and artist and fmt.kind in ("audio", "video"):
            title = f"{artist} \u2013 {title}"
        duration = facts.get("duration")
        return FileInfo(
            kind=fmt.kind,
            label=fmt.label,
            width=facts.get("width") or None,
            height=facts.get("height") or None,
            duration=duration if duration and duration > 0 else None,
            pages=facts.get("pages") or None,
            title=title or None,
        )


def file_name_of(url: str) -> str | None:
    """The name a file is served under: the last segment of ``url``'s path, percent-decoded
    (None when the path ends in ``/``)."""
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url).path.rpartition("/")[2]) or None


def describe(data: bytes, content_type: str | None = None, total: int | None = None) -> FileInfo:
    """The FileInfo of a whole prefix at once (what ``FileSniffer`` makes of it fed whole)."""
    sniffer = FileSniffer(content_type, total)
    sniffer.feed(data)
    return sniffer.info()
