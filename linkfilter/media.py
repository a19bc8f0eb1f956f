"""Audio and video headers: duration, frame size, title and artist; pure.

MP4/MOV/M4A (``moov``), WebM/Matroska (EBML), MP3 (ID3v2, Xing/Info, VBRI), FLAC,
Ogg Vorbis/Opus, WAV. Each parser is ``(data, total) -> (facts, need)`` as
``linkfilter.files`` calls it: ``facts`` may hold ``width``, ``height``, ``duration``
(seconds), ``title``, ``artist`` and ``format`` (when the bytes name a more precise
type than the magic number did); ``need`` is 0 when nothing more will be learnt, else
the length of prefix worth parsing again.
"""

from __future__ import annotations

import struct
from typing import Callable, NamedTuple

Facts = dict

#: Most bytes the MPEG audio frame header is looked for past the ID3 tag.
MPEG_SYNC_WINDOW = 4096
#: An Ogg file this small is read to its end for its duration (a bigger one's end is
#: asked for by a ranged request, when the server takes them).
OGG_WHOLE = 64 * 1024


def read_box(data: bytes, at: int) -> tuple[bytes, int, int] | None:
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


def find_box(data: bytes, start: int, end: int, path: tuple[bytes, ...]) -> tuple[int, int] | None:
    """Body start and end of the box at ``path`` below ``start``..``end`` (all in ``data``)."""
    at = start
    while (box := read_box(data, at)) is not None and box[2] <= end:
        if box[0] == path[0]:
            return (box[1], box[2]) if len(path) == 1 else find_box(data, box[1], box[2], path[1:])
        at = box[2]
    return None


def mp4(data: bytes, total: int | None) -> tuple[Facts, int]:
    """Duration (``mvhd``) and frame size (the first ``tkhd`` with one, turned by its
    matrix) when ``moov`` comes before the media data; nothing when it comes after."""
    at = 0
    while True:
        box = read_box(data, at)
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
        box = read_box(data, at)
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
            tkhd = read_box(data, body)
            if tkhd is None or len(data) <= tkhd[1]:
                return facts, body + 17
            v1 = data[tkhd[1]] == 1
            matrix = tkhd[1] + (52 if v1 else 40)  # then width and height, 36 bytes on
            if len(data) < matrix + 44:
                return facts, matrix + 44
            if tkhd[0] == b"tkhd":
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


def webm(data: bytes, total: int | None) -> tuple[Facts, int]:
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


def mpeg_frame(data: bytes, at: int) -> _Frame | None:
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


def mp3(data: bytes, total: int | None) -> tuple[Facts, int]:
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
            found, need = flac(data[start:], None)
            found.update((k, v) for k, v in facts.items() if k not in found)
            found["format"] = "flac"
            return found, need and need + start
    window = min(len(data), start + MPEG_SYNC_WINDOW)
    at = start
    while at < window and mpeg_frame(data, at) is None:
        at = data.find(b"\xff", at + 1, window)
        if at < 0:
            at = window
    if at >= window:
        return facts, (start + MPEG_SYNC_WINDOW if len(data) < start + MPEG_SYNC_WINDOW else 0)
    frame = mpeg_frame(data, at)
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


def flac(data: bytes, total: int | None) -> tuple[Facts, int]:
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


def ogg(data: bytes, total: int | None) -> tuple[Facts, int]:
    """The first stream's identification and comment packets: its codec (Vorbis, Opus,
    Theora), title and artist, and what ``ogg_duration`` needs to read the duration from
    the last page (``ogg_stream``: serial number, sample rate, samples to skip)."""
    packets, need = _ogg_packets(data, 2)
    facts: Facts = {}
    if packets:
        first, serial = packets[0], data[14:18]
        if first.startswith(b"OpusHead") and len(first) >= 12:
            facts["format"] = "opus"
            facts["ogg_stream"] = (serial, 48000, struct.unpack_from("<H", first, 10)[0])
        elif first.startswith(b"\x01vorbis") and len(first) >= 16:
            rate = struct.unpack_from("<I", first, 12)[0]
            if rate:
                facts["ogg_stream"] = (serial, rate, 0)
        elif first.startswith(b"\x80theora"):
            facts["format"] = "ogv"
    if len(packets) >= 2:
        second = packets[1]
        if second.startswith(b"\x03vorbis"):
            _vorbis_comments(second[7:], facts)
        elif second.startswith(b"OpusTags"):
            _vorbis_comments(second[8:], facts)
        if total is not None and len(data) < total <= OGG_WHOLE and "ogg_stream" in facts:
            return facts, total  # its last page, with the duration, is near: read on
        return facts, 0
    return facts, need


def ogg_duration(tail: bytes, stream: tuple[bytes, int, int]) -> float | None:
    """The duration from the granule position of the stream's last page in ``tail`` (the
    file's last bytes: a page is at most 65,307 bytes long), or None."""
    serial, rate, skip = stream
    at = len(tail)
    while (at := tail.rfind(b"OggS", 0, at)) >= 0:
        if len(tail) >= at + 27 and tail[at + 14:at + 18] == serial:
            granule = struct.unpack_from("<q", tail, at + 6)[0]
            if granule > skip:
                return (granule - skip) / rate
    return None


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


def wav(data: bytes, total: int | None) -> tuple[Facts, int]:
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
