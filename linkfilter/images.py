"""Image sizes from the first bytes of the file: PNG, GIF, BMP, ICO, WebP, JPEG, SVG,
AVIF/HEIC; pure.

Each parser is ``(data, total) -> (facts, need)`` as ``linkfilter.files`` calls it:
``facts`` holds ``width`` and ``height`` once known, ``need`` is 0 when nothing more
will be learnt, else the length of prefix worth parsing again.
"""

from __future__ import annotations

import re
import struct

from linkfilter import media

Facts = dict

BMP_DIB = frozenset({12, 40, 52, 56, 64, 108, 124})


def png(data: bytes, total: int | None) -> tuple[Facts, int]:
    if len(data) < 24:
        return {}, 24
    if data[12:16] != b"IHDR":
        return {}, 0
    width, height = struct.unpack_from(">II", data, 16)
    return {"width": width, "height": height}, 0


def gif(data: bytes, total: int | None) -> tuple[Facts, int]:
    if len(data) < 10:
        return {}, 10
    width, height = struct.unpack_from("<HH", data, 6)
    return {"width": width, "height": height}, 0


def bmp(data: bytes, total: int | None) -> tuple[Facts, int]:
    if len(data) < 26:
        return {}, 26
    if struct.unpack_from("<I", data, 14)[0] == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack_from("<HH", data, 18)
    else:
        width, height = struct.unpack_from("<ii", data, 18)
    return {"width": abs(width), "height": abs(height)}, 0


def ico_entries(data: bytes) -> int:
    """Images in an ICO/CUR directory whose first entry looks right, else 0."""
    count = struct.unpack_from("<H", data, 4)[0] if len(data) >= 6 else 0
    if not count or len(data) < 22 or data[9] != 0:
        return 0
    return count


def ico(data: bytes, total: int | None) -> tuple[Facts, int]:
    count = ico_entries(data)
    if not count:
        return {}, 0
    need = 6 + 16 * count
    if len(data) < need:
        return {}, need
    best = max(
        ((data[at] or 256), (data[at + 1] or 256)) for at in range(6, need, 16)
    )  # the largest picture (by width, then height)
    return {"width": best[0], "height": best[1]}, 0


def webp(data: bytes, total: int | None) -> tuple[Facts, int]:
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


def jpeg(data: bytes, total: int | None) -> tuple[Facts, int]:
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


def svg(data: bytes, total: int | None) -> tuple[Facts, int]:
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


def bmff_image(data: bytes, total: int | None) -> tuple[Facts, int]:
    """AVIF/HEIC: the largest ``ispe`` (image spatial extents) in meta/iprp/ipco, turned
    by ``irot``."""
    at = 0
    while True:
        box = media.read_box(data, at)
        if box is None:
            return {}, at + 16
        kind, body, end = box
        if kind == b"meta":
            if len(data) < end:
                return {}, end
            ipco = media.find_box(data, body + 4, end, (b"iprp", b"ipco"))
            if ipco is None:
                return {}, 0
            sizes, turned = [], False
            at = ipco[0]
            while (child := media.read_box(data, at)) is not None and child[2] <= ipco[1]:
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
