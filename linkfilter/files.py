"""What a file is, from its own first bytes: its type, pixels, pages, duration and title; pure.

``FileSniffer`` is fed a body that is not HTML as it arrives and says when its
description is complete, so the fetcher can close the connection (a 50 MB image costs
its first few KiB); ``FileSniffer.info()`` is the ``FileInfo``. The type comes from the
magic numbers when they name one (a PNG served as ``application/octet-stream`` is a
PNG), else only the Content-Type is known and nothing more is said.

Each format's parser is a pure function of the bytes so far, ``(data, total) ->
(facts, need)``: ``need`` is 0 when it knows all it will learn, else the length of
prefix worth parsing again. The sniffer parses again only once the prefix has reached
that length and grown by a quarter since its last parse, so its work is linear in the
bytes fed, whatever the size of the pieces.
"""

from __future__ import annotations

import re
import struct
from typing import Callable, NamedTuple

from linkfilter import pdf

#: Bytes looked at to name a type (every magic number below fits in them).
MAGIC_BYTES = 64
#: Most bytes read for a format whose header is at its start (PNG, GIF, WebP, BMP, ICO,
#: AVIF/HEIC, SVG): past it the file is described with what is known.
HEADER_LIMIT = 64 * 1024
#: Most bytes of a PDF's head read, and of its tail asked for in one ranged request.
PDF_HEAD = 64 * 1024
PDF_TAIL = 64 * 1024
#: A parse runs again only after the prefix grew by 1/REPARSE_GROWTH of itself.
REPARSE_GROWTH = 4
#: Most bytes the MPEG audio frame header is looked for past the ID3 tag.
MPEG_SYNC_WINDOW = 4096

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
    """The kind a Content-Type alone tells: ``image/*`` an image, and so on; else ``file``."""
    if content_type is None:
        return "file"
    if content_type == "application/pdf":
        return "pdf"
    major = content_type.partition("/")[0]
    return major if major in ("image", "video", "audio") else "file"


# -- naming the type ------------------------------------------------------------------


def identify(head: bytes, content_type: str | None, final: bool) -> str | None:
    """The short name of the format ``head`` starts with, "" for none we know, or None
    when more bytes are needed to tell (never once ``final``: the body ended)."""
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
    if len(head) < MAGIC_BYTES and not final:
        return None
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in _BMP_DIB:
        return "bmp"
    if head[:4] in (b"\0\0\1\0", b"\0\0\2\0") and _ico_entries(head):
        return "ico"
    if _mpeg_frame(head, 0) is not None:
        return "mp3"
    return _svg_or_not(head, content_type, final)


_ARCHIVES = ((b"\x1f\x8b", "gzip"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "rar"),
             (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"))
_BMP_DIB = frozenset({12, 40, 52, 56, 64, 108, 124})
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


# -- images -----------------------------------------------------------------------------


def _png(data: bytes, total: int | None) -> tuple[Facts, int]:
    if len(data) < 24:
        return {}, 24
    if data[12:16] != b"IHDR":
        return {}, 0
    width, height = struct.unpack_from(">II", data, 16)
    return {"width": width, "height": height}, 0


def _gif(data: bytes, total: int | None) -> tuple[Facts, int]:
    if len(data) < 10:
        return {}, 10
    width, height = struct.unpack_from("<HH", data, 6)
    return {"width": width, "height": height}, 0


def _bmp(data: bytes, total: int | None) -> tuple[Facts, int]:
    if len(data) < 26:
        return {}, 26
    if struct.unpack_from("<I", data, 14)[0] == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack_from("<HH", data, 18)
    else:
        width, height = struct.unpack_from("<ii", data, 18)
    return {"width": abs(width), "height": abs(height)}, 0


def _ico_entries(data: bytes) -> int:
    """Images in an ICO/CUR directory whose first entry looks right, else 0."""
    count = struct.unpack_from("<H", data, 4)[0] if len(data) >= 6 else 0
    if not count or len(data) < 22 or data[9] != 0:
        return 0
    return count


def _ico(data: bytes, total: int | None) -> tuple[Facts, int]:
    count = _ico_entries(data)
    if not count:
        return {}, 0
    need = 6 + 16 * count
    if len(data) < need:
        return {}, need
    best = max(
        ((data[at] or 256), (data[at + 1] or 256)) for at in range(6, need, 16)
    )  # the largest picture (by width, then height)
    return {"width": best[0], "height": best[1]}, 0


def _webp(data: bytes, total: int | None) -> tuple[Facts, int]:
    if len(data) < 30:
        return {}, 30
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
    elif chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = (v & 0x3FFF for v in struct.unpack_from("<HH", data, 26))
    elif chunk == b"VP8L" and data[20] == 0x2F:
        bits = struct.unpack_from("<I", data, 21)[0]
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return {}, 0
    return {"width": width, "height": height}, 0


#: JPEG markers that start a frame (SOF0-15 but DHT, JPG and DAC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: bytes, total: int | None) -> tuple[Facts, int]:
    """Walks the segments (past EXIF, ICC and the rest) to the frame header; EXIF
    orientations 5-8 (a quarter turn) swap width and height, as shown on screen."""
    at, orientation = 2, 1
    while True:
        if len(data) < at + 4:
            return {}, at + 4
        if data[at] != 0xFF:
            return {}, 0  # not a marker where one must be: damaged
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # end, or the scan, before any frame header
            return {}, 0
        end = at + 2 + struct.unpack_from(">H", data, at + 2)[0]
        if marker in _SOF:
            if len(data) < at + 9:
                return {}, at + 9
            height, width = struct.unpack_from(">HH", data, at + 5)
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            return {"width": width, "height": height}, 0
        if marker == 0xE1 and data[at + 4:at + 10] == b"Exif\0\0":
            if len(data) < end:
                return {}, end
            orientation = _exif_orientation(data[at + 10:end]) or orientation
        at = end


def _exif_orientation(tiff: bytes) -> int | None:
    """The Orientation tag (0x0112) of IFD0 in a TIFF structure, or None."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    ifd = struct.unpack_from(order + "I", tiff, 4)[0]
    if ifd + 2 > len(tiff):
        return None
    count = struct.unpack_from(order + "H", tiff, ifd)[0]
    for at in range(ifd + 2, min(ifd + 2 + 12 * count, len(tiff) - 11), 12):
        tag, kind = struct.unpack_from(order + "HH", tiff, at)
        if tag == 0x0112 and kind == 3:
            return struct.unpack_from(order + "H", tiff, at + 8)[0]
    return None


_SVG_TAG = re.compile(rb"<svg\b([^>]*)>", re.I)
_ATTRIBUTE = re.compile(rb"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_LENGTH = re.compile(rb"\s*([0-9]*\.?[0-9]+)\s*(?:px)?\s*")


def _svg(data: bytes, total: int | None) -> tuple[Facts, int]:
    """``width``/``height`` in pixels (or unitless), else the ``viewBox``'s size."""
    m = _SVG_TAG.search(data)
    if m is None:
        return {}, len(data) + 1
    attributes = {name.lower(): a if a is not None else b for name, a, b in _ATTRIBUTE.findall(m.group(1))}
    width, height = (_LENGTH.fullmatch(attributes.get(k, b"")) for k in (b"width", b"height"))
    if width is not None and height is not None:
        return {"width": round(float(width.group(1))), "height": round(float(height.group(1)))}, 0
    box = attributes.get(b"viewbox", b"").replace(b",", b" ").split()
    try:
        w, h = float(box[2]), float(box[3])
    except (IndexError, ValueError):
        return {}, 0
    return {"width": round(w), "height": round(h)}, 0


# -- ISO base media (MP4, MOV, AVIF, HEIC) ----------------------------------------------


def _box(data: bytes, at: int) -> tuple[bytes, int, int] | None:
    """``(type, start of body, end)`` of the box at ``at``; None when its header is not all
    in ``data``. A box that runs to the end of the file ends at a huge number."""
    if len(data) < at + 8:
        return None
    size, kind = struct.unpack_from(">I4s", data, at)
    body = at + 8
    if size == 1:
        if len(data) < at + 16:
            return None
        size = struct.unpack_from(">Q", data, at + 8)[0]
        body = at + 16
    elif size == 0:
        size = 1 << 62
    if size < body - at:
        size = 1 << 62  # nonsense: nothing after it can be found
    return kind, body, at + size


def _bmff_image(data: bytes, total: int | None) -> tuple[Facts, int]:
    """AVIF/HEIC: the largest ``ispe`` (image spatial extents) in meta/iprp/ipco, turned
    by ``irot``."""
    at = 0
    while True:
        box = _box(data, at)
        if box is None:
            return {}, at + 16
        kind, body, end = box
        if kind == b"meta":
            if len(data) < end:
                return {}, end
            ipco = _find(data, body + 4, end, (b"iprp", b"ipco"))
            if ipco is None:
                return {}, 0
            sizes, turned = [], False
            at = ipco[0]
            while (child := _box(data, at)) is not None and child[2] <= ipco[1]:
                if child[0] == b"ispe" and child[1] + 12 <= child[2]:
                    sizes.append(struct.unpack_from(">II", data, child[1] + 4))
                elif child[0] == b"irot" and child[1] < child[2]:
                    turned = turned or data[child[1]] & 3 in (1, 3)
                at = child[2]
            if not sizes:
                return {}, 0
            width, height = max(sizes)
            return ({"width": height, "height": width} if turned
                    else {"width": width, "height": height}), 0
        if kind == b"mdat":
            return {}, 0
        at = end


def _find(data: bytes, start: int, end: int, path: tuple[bytes, ...]) -> tuple[int, int] | None:
    """Body start and end of the box at ``path`` below ``start``..``end`` (all in ``data``)."""
    at = start
    while (box := _box(data, at)) is not None and box[2] <= end:
        if box[0] == path[0]:
            return (box[1], box[2]) if len(path) == 1 else _find(data, box[1], box[2], path[1:])
        at = box[2]
    return None


def _mp4(data: bytes, total: int | None) -> tuple[Facts, int]:
    """Duration (``mvhd``) and frame size (the first ``tkhd`` with one, turned by its
    matrix) when ``moov`` comes before the media data; nothing when it comes after."""
    at = 0
    while True:
        box = _box(data, at)
        if box is None:
            return {}, at + 16
        kind, body, end = box
        if kind == b"moov":
            return _moov(data, body, end)
        if kind == b"mdat":
            return {}, 0
        at = end


def _moov(data: bytes, start: int, end: int) -> tuple[Facts, int]:
    facts: Facts = {}
    at = start
    while at < end:
        box = _box(data, at)
        if box is None:
            return facts, at + 16
        kind, body, box_end = box
        if kind == b"mvhd":
            if len(data) < body + 32:
                return facts, body + 32
            if data[body] == 1:
                scale, length = struct.unpack_from(">IQ", data, body + 20)
                unknown = length == (1 << 64) - 1
            else:
                scale, length = struct.unpack_from(">II", data, body + 12)
                unknown = length == (1 << 32) - 1
            if scale and length and not unknown:
                facts["duration"] = length / scale
        elif kind == b"trak" and "width" not in facts:
            tkhd = _box(data, body)
            if tkhd is None or len(data) < tkhd[1] + 96:
                return facts, max(body + 16, (tkhd[1] + 96) if tkhd else 0)
            if tkhd[0] == b"tkhd":
                v1 = data[tkhd[1]] == 1
                matrix = tkhd[1] + (52 if v1 else 40)
                a, b = struct.unpack_from(">ii", data, matrix)
                width, height = (v >> 16 for v in struct.unpack_from(">II", data, matrix + 36))
                if width and height:
                    turned = a == 0 and b != 0
                    facts["width"], facts["height"] = (height, width) if turned else (width, height)
        if "duration" in facts and "width" in facts:
            return facts, 0
        at = box_end
    if "width" not in facts:
        facts["format"] = "audio"  # no track with pictures
    return facts, 0


# -- Matroska / WebM --------------------------------------------------------------------

_EBML_MASTERS = frozenset({0x18538067, 0x1549A966, 0x1654AE6B, 0xAE, 0xE0, 0x1A45DFA3})
#: Deepest nesting of those walked (Segment/Tracks/TrackEntry/Video is 4): a file nesting
#: them deeper is not a WebM, and must not cost a recursion per 12 bytes.
_EBML_DEPTH = 6
_CLUSTER = 0x1F43B675
_UNKNOWN = 1 << 62


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-size integer at ``at``: ``(value, end)``, None when cut or invalid.
    A size of all ones (unknown) is ``_UNKNOWN``."""
    if at >= len(data):
        return None
    first = data[at]
    length = 9 - first.bit_length()
    if length > 8 or at + length > len(data):
        return None
    value = int.from_bytes(data[at:at + length], "big")
    if keep_marker:
        return value, at + length
    value &= (1 << (7 * length)) - 1
    if value == (1 << (7 * length)) - 1:
        value = _UNKNOWN
    return value, at + length


def _webm(data: bytes, total: int | None) -> tuple[Facts, int]:
    """DocType, Segment Info (duration, title) and the first video track's pixel size;
    stops at the first Cluster (the media)."""
    facts: Facts = {"scale": 1_000_000}
    need = max(_ebml_walk(data, 0, _UNKNOWN if total is None else total, facts), 0)
    doc = facts.pop("doc", b"webm")
    scale = facts.pop("scale")
    raw = facts.pop("raw_duration", None)
    if raw:
        facts["duration"] = raw * scale / 1e9
    video = "width" in facts or facts.pop("video", False)
    if doc == b"webm":
        facts["format"] = "webm" if video else "weba"
    else:
        facts["format"] = "mkv" if video else "mka"
    if facts.pop("tracks", False) and "duration" in facts:
        need = 0  # all that is wanted: no need to reach the first Cluster
    facts.pop("video", None)
    return facts, need


def _ebml_walk(data: bytes, at: int, end: int, facts: Facts, depth: int = 0) -> int:
    """Walk the elements from ``at`` to ``end``, noting what is wanted: the prefix length
    needed to go on, 0 when the range is done, -1 at the first Cluster (stop)."""
    while at < end:
        head = _vint(data, at, True)
        size = head and _vint(data, head[1], False)
        if head is None or size is None:
            return at + 12
        element, body = head[0], size[1]
        stop = end if size[0] == _UNKNOWN else min(body + size[0], end)
        if element == _CLUSTER:
            return -1
        if element in _EBML_MASTERS and depth < _EBML_DEPTH:
            if element == 0xE0:
                facts["video"] = True
            need = _ebml_walk(data, body, stop, facts, depth + 1)
            if need:
                return need
            if element == 0x1654AE6B:
                facts["tracks"] = True
        elif element in _EBML_LEAVES:
            if len(data) < stop:
                return stop
            _EBML_LEAVES[element](data[body:stop], facts)
        at = stop
    return 0


def _ebml_uint(name: str) -> Callable[[bytes, Facts], None]:
    def note(value: bytes, facts: Facts) -> None:
        facts.setdefault(name, int.from_bytes(value, "big"))
    return note


def _ebml_float(value: bytes, facts: Facts) -> None:
    if len(value) in (4, 8):
        facts["raw_duration"] = struct.unpack(">f" if len(value) == 4 else ">d", value)[0]


_EBML_LEAVES: dict[int, Callable[[bytes, Facts], None]] = {
    0x4282: lambda v, f: f.__setitem__("doc", v.rstrip(b"\0")),
    0x2AD7B1: lambda v, f: f.__setitem__("scale", int.from_bytes(v, "big") or 1_000_000),
    0x4489: _ebml_float,
    0x7BA9: lambda v, f: f.__setitem__("title", v.decode("utf-8", "replace").rstrip("\0")),
    0xB0: _ebml_uint("width"),
    0xBA: _ebml_uint("height"),
}


# -- audio ------------------------------------------------------------------------------

_BITRATES = {  # kbit/s by (MPEG-1?, layer), bitrate index 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_BITRATES[(False, 3)] = _BITRATES[(False, 2)]
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


class _Frame(NamedTuple):
    bitrate: int  # bit/s
    rate: int  # samples/s
    samples: int  # per frame
    side: int  # bytes of side information after the 4-byte header (where Xing sits)


def _mpeg_frame(data: bytes, at: int) -> _Frame | None:
    """The MPEG audio frame header at ``at``, or None if there is none."""
    if len(data) < at + 4 or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[at + 1], data[at + 2], data[at + 3]
    version, layer = (b1 >> 3) & 3, 4 - ((b1 >> 1) & 3)
    index, rate_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer == 4 or index in (0, 15) or rate_index == 3:
        return None
    mpeg1, mono = version == 3, b3 >> 6 == 3
    samples = 384 if layer == 1 else 1152 if layer == 2 or mpeg1 else 576
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    return _Frame(_BITRATES[(mpeg1, layer)][index - 1] * 1000, _RATES[version][rate_index],
                  samples, side)


def _mp3(data: bytes, total: int | None) -> tuple[Facts, int]:
    """ID3v2 title and artist, then the first frame: duration from its Xing/Info or VBRI
    header, else from its bitrate and the file's size. A FLAC stream after ID3 is read
    as FLAC."""
    facts: Facts = {}
    start = 0
    if data[:3] == b"ID3":
        if len(data) < 10:
            return facts, 10
        start, need = _id3(data, facts)
        if need:
            return facts, need
        if data[start:start + 4] == b"fLaC" or len(data) < start + 4:
            if len(data) < start + 4:
                return facts, start + 4
            found, need = _flac(data[start:], None)
            found.update((k, v) for k, v in facts.items() if k not in found)
            found["format"] = "flac"
            return found, need and need + start
    window = min(len(data), start + MPEG_SYNC_WINDOW)
    at = start
    while at < window and _mpeg_frame(data, at) is None:
        at = data.find(b"\xff", at + 1, window)
        if at < 0:
            at = window
    if at >= window:
        return facts, (start + MPEG_SYNC_WINDOW if len(data) < start + MPEG_SYNC_WINDOW else 0)
    frame = _mpeg_frame(data, at)
    assert frame is not None
    tag = at + 4 + frame.side
    if len(data) < tag + 120:
        return facts, tag + 120
    frames = None
    if data[tag:tag + 4] in (b"Xing", b"Info"):
        flags = struct.unpack_from(">I", data, tag + 4)[0]
        if flags & 1:
            frames = struct.unpack_from(">I", data, tag + 8)[0]
    elif data[at + 36:at + 40] == b"VBRI":
        frames = struct.unpack_from(">I", data, at + 50)[0]
    if frames:
        facts["duration"] = frames * frame.samples / frame.rate
    elif total is not None and total > at:
        facts["duration"] = (total - at) * 8 / frame.bitrate
    return facts, 0


_ID3_TEXT = {b"TIT2": "title", b"TPE1": "artist", b"TT2": "title", b"TP1": "artist"}


def _id3(data: bytes, facts: Facts) -> tuple[int, int]:
    """Read title and artist from the ID3v2 tag: ``(end of the tag, need)``."""
    major, flags = data[3], data[5]
    size = _syncsafe(data[6:10])
    end = 10 + size + (10 if flags & 0x10 else 0)
    at = 10
    if flags & 0x40 and major >= 3:  # an extended header
        if len(data) < 14:
            return end, 14
        at += _syncsafe(data[10:14]) if major == 4 else 4 + struct.unpack_from(">I", data, 10)[0]
    head = 6 if major == 2 else 10
    while at + head <= 10 + size:
        if len(data) < at + head:
            return end, at + head
        if data[at] == 0:  # padding
            break
        if major == 2:
            name, length = data[at:at + 3], int.from_bytes(data[at + 3:at + 6], "big")
        else:
            name = data[at:at + 4]
            raw = data[at + 4:at + 8]
            length = _syncsafe(raw) if major == 4 else int.from_bytes(raw, "big")
        body, at = at + head, at + head + length
        if name in _ID3_TEXT and _ID3_TEXT[name] not in facts:
            if len(data) < at:
                return end, at
            text = _id3_text(data[body:at])
            if text:
                facts[_ID3_TEXT[name]] = text
        if "title" in facts and "artist" in facts:
            break
    return end, 0 if len(data) >= end else end


def _syncsafe(raw: bytes) -> int:
    return (raw[0] & 0x7F) << 21 | (raw[1] & 0x7F) << 14 | (raw[2] & 0x7F) << 7 | raw[3] & 0x7F


def _id3_text(frame: bytes) -> str:
    """An ID3 text frame's first value (the encoding byte says how it is written)."""
    if not frame:
        return ""
    encoding = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}.get(frame[0], "latin-1")
    text = frame[1:].decode(encoding, "replace")
    return text.split("\0", 1)[0].strip()


def _vorbis_comments(block: bytes, facts: Facts) -> None:
    """TITLE and ARTIST of a Vorbis comment block (FLAC, Ogg Vorbis, Opus)."""
    try:
        vendor = struct.unpack_from("<I", block, 0)[0]
        at = 4 + vendor
        count = struct.unpack_from("<I", block, at)[0]
        at += 4
        for _ in range(count):
            length = struct.unpack_from("<I", block, at)[0]
            key, _, value = block[at + 4:at + 4 + length].partition(b"=")
            at += 4 + length
            name = {b"TITLE": "title", b"ARTIST": "artist"}.get(key.upper())
            if name and name not in facts and value.strip():
                facts[name] = value.decode("utf-8", "replace").strip()
    except struct.error:
        return  # cut: what came counts


def _flac(data: bytes, total: int | None) -> tuple[Facts, int]:
    """STREAMINFO (duration) and VORBIS_COMMENT (title, artist), up to the last
    metadata block (pictures and the rest skipped)."""
    facts: Facts = {}
    at = 4
    while True:
        if len(data) < at + 4:
            return facts, at + 4
        header = data[at]
        length = int.from_bytes(data[at + 1:at + 4], "big")
        body, end = at + 4, at + 4 + length
        kind = header & 0x7F
        if kind in (0, 4):
            if len(data) < end:
                return facts, end
            if kind == 0 and length >= 18:
                packed = int.from_bytes(data[body + 10:body + 18], "big")
                rate, samples = packed >> 44, packed & ((1 << 36) - 1)
                if rate and samples:
                    facts["duration"] = samples / rate
            elif kind == 4:
                _vorbis_comments(data[body:end], facts)
        if header & 0x80:
            return facts, 0
        at = end


def _ogg(data: bytes, total: int | None) -> tuple[Facts, int]:
    """The first stream's identification and comment packets: its codec (Vorbis, Opus,
    Theora) and title and artist. (The duration is in the last page: not read.)"""
    packets, need = _ogg_packets(data, 2)
    facts: Facts = {}
    if packets:
        first = packets[0]
        if first.startswith(b"OpusHead"):
            facts["format"] = "opus"
        elif first.startswith(b"\x80theora"):
            facts["format"] = "ogv"
    if len(packets) >= 2:
        second = packets[1]
        if second.startswith(b"\x03vorbis"):
            _vorbis_comments(second[7:], facts)
        elif second.startswith(b"OpusTags"):
            _vorbis_comments(second[8:], facts)
        return facts, 0
    return facts, need


def _ogg_packets(data: bytes, wanted: int) -> tuple[list[bytes], int]:
    """The first ``wanted`` whole packets of the first logical stream, and the prefix
    length needed for the rest (0 when they are all there, or the pages are damaged)."""
    packets: list[bytes] = []
    partial = bytearray()
    at, serial = 0, None
    while len(packets) < wanted:
        if len(data) < at + 27:
            return packets, at + 27
        if data[at:at + 4] != b"OggS":
            return packets, 0
        segments = data[at + 26]
        table = at + 27
        if len(data) < table + segments:
            return packets, table + segments
        lacing = data[table:table + segments]
        body, end = table + segments, table + segments + sum(lacing)
        page_serial = data[at + 14:at + 18]
        if serial is None:
            serial = page_serial
        if page_serial == serial:
            if len(data) < end:
                return packets, end
            pos = body
            for size in lacing:
                partial += data[pos:pos + size]
                pos += size
                if size < 255:
                    packets.append(bytes(partial))
                    partial.clear()
                    if len(packets) == wanted:
                        break
        at = end
    return packets, 0


def _wav(data: bytes, total: int | None) -> tuple[Facts, int]:
    """Duration from the ``fmt `` chunk's byte rate and the ``data`` chunk's size."""
    at, rate = 12, None
    while True:
        if len(data) < at + 8:
            return {}, at + 8
        kind, size = struct.unpack_from("<4sI", data, at)
        if kind == b"fmt ":
            if len(data) < at + 20:
                return {}, at + 20
            rate = struct.unpack_from("<I", data, at + 16)[0]
        elif kind == b"data":
            return ({"duration": size / rate} if rate else {}), 0
        at += 8 + size + (size & 1)


def _nothing(data: bytes, total: int | None) -> tuple[Facts, int]:
    return {}, 0


def _pdf(data: bytes, total: int | None) -> tuple[Facts, int]:
    found = pdf.scan(data, head=True)
    facts = {k: v for k, v in found._asdict().items() if v is not None}
    return facts, 0 if found.complete else len(data) + 1


#: Each format's parser, and the most bytes read for it (None: up to --max-bytes, for
#: the formats whose header ends where it ends: JPEG, audio, video).
PARSERS: dict[str, tuple[Parser, int | None]] = {
    "png": (_png, HEADER_LIMIT),
    "gif": (_gif, HEADER_LIMIT),
    "bmp": (_bmp, HEADER_LIMIT),
    "ico": (_ico, HEADER_LIMIT),
    "webp": (_webp, HEADER_LIMIT),
    "svg": (_svg, HEADER_LIMIT),
    "avif": (_bmff_image, HEADER_LIMIT),
    "heic": (_bmff_image, HEADER_LIMIT),
    "jpeg": (_jpeg, None),
    "pdf": (_pdf, PDF_HEAD),
    "mp3": (_mp3, None),
    "flac": (_flac, None),
    "ogg": (_ogg, None),
    "wav": (_wav, HEADER_LIMIT),
    "mp4": (_mp4, None),
    "m4a": (_mp4, None),
    "mov": (_mp4, None),
    "3gp": (_mp4, None),
    "webm": (_webm, None),
}


# -- the sniffer ------------------------------------------------------------------------


class FileSniffer:
    """Fed a body as it arrives; ``feed`` returns True once the description is complete
    (or the format's limit is reached), ``info()`` gives it. Pure: no I/O.

    ``content_type`` and ``total`` (the body's size, if known) come from the headers.
    For a PDF whose page count or title is not in its head, ``tail_wanted`` says how
    many bytes of its end to fetch and ``feed_tail`` takes them.
    """

    def __init__(self, content_type: str | None, total: int | None) -> None:
        self.content_type = content_type
        self.total = total
        self._buf = bytearray()
        self._name: str | None = None  # the format, once named ("" for unknown)
        self._facts: Facts = {}
        self._need = 0  # prefix length at which to parse again
        self._parsed = -1  # prefix length at the last parse
        self._complete = False  # the parser knows all it will learn
        self._done = False  # complete, or the format's limit reached
        self._tail: pdf.PDFFacts | None = None

    def feed(self, data: bytes) -> bool:
        """Take the next bytes of the body; True when nothing more is needed."""
        if self._done:
            return True
        self._buf += data
        if self._name is None:
            self._name = identify(bytes(self._buf[:MAGIC_BYTES]), self.content_type, False)
            if self._name is None:
                if len(self._buf) >= HEADER_LIMIT:  # never named: give up
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
            self._name = identify(bytes(self._buf[:MAGIC_BYTES]), self.content_type, True)
        if self._name in PARSERS and not self._complete and self._parsed != len(self._buf):
            self._parse()
        self._done = True

    @property
    def tail_wanted(self) -> int:
        """Bytes of the file's end worth one ranged request: a PDF's last ``PDF_TAIL``
        when its head lacks the page count or the title, and it was not read whole."""
        if self._name != "pdf" or self._tail is not None:
            return 0
        if "pages" in self._facts and "title" in self._facts:
            return 0
        if self.total is not None and self.total <= len(self._buf):
            return 0
        return PDF_TAIL

    def feed_tail(self, data: bytes, total: int | None) -> None:
        """Take the file's last bytes (``total``: its size, from the Content-Range)."""
        self._tail = pdf.scan(data, head=False)
        if self.total is None:
            self.total = total

    def info(self) -> FileInfo:
        """The description of what was fed."""
        self.finish()
        name = self._name or ""
        facts = dict(self._facts)
        if self._tail is not None:
            head = pdf.PDFFacts(facts.get("pages"), facts.get("title"))
            merged = head.merged(self._tail)
            facts.update(pages=merged.pages, title=merged.title)
        override = facts.pop("format", None)
        if override == "audio":  # an MP4 without pictures
            override = "m4a"
        name = override or name
        fmt = FORMATS.get(name)
        if fmt is None:
            return FileInfo(kind_of(self.content_type))
        title = facts.get("title")
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


def describe(data: bytes, content_type: str | None = None, total: int | None = None) -> FileInfo:
    """The FileInfo of a whole prefix at once (what ``FileSniffer`` makes of it fed whole)."""
    sniffer = FileSniffer(content_type, total)
    sniffer.feed(data)
    return sniffer.info()
