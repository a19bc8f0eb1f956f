"""Real files made in the tests, byte by byte: images, PDFs, audio, video, archives.

Each maker returns the whole file as bytes, built the way its format's spec says (real
chunks, boxes, segments, CRCs where the format has them), so the describer is tested on
what a server would send. ``padded`` makes a big body lazily (a header, then filler).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Iterator

# -- images -----------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int) -> bytes:
    """A real greyscale PNG: IHDR, one IDAT of zero rows, IEND."""
    rows = (b"\0" + bytes(width)) * height
    return (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(rows))
            + _png_chunk(b"IEND", b""))


def gif(width: int, height: int) -> bytes:
    """A GIF89a with a two-colour table and one 1x1 image."""
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b")


def bmp(width: int, height: int, *, top_down: bool = False) -> bytes:
    """A 24-bit BMP with a BITMAPINFOHEADER (a negative height when ``top_down``)."""
    row = (width * 3 + 3) // 4 * 4
    pixels = bytes(row * height)
    info = struct.pack("<IiiHHIIiiII", 40, width, -height if top_down else height, 1, 24, 0,
                       len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 54) + info + pixels


def ico(sizes: list[int]) -> bytes:
    """An ICO holding one PNG per size (256 written as 0, as the format says)."""
    images = [png(s, s) for s in sizes]
    out = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    for size, image in zip(sizes, images):
        out += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return out + b"".join(images)


def _riff(form: bytes, chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + form + chunks


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def webp(width: int, height: int, kind: str = "VP8X") -> bytes:
    """A WebP whose first chunk is ``VP8X`` (extended), ``VP8L`` (lossless) or ``VP8 ``."""
    if kind == "VP8X":
        head = bytes([0x10, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        return _riff(b"WEBP", _riff_chunk(b"VP8X", head) + _riff_chunk(b"VP8L", _vp8l(width, height)))
    if kind == "VP8L":
        return _riff(b"WEBP", _riff_chunk(b"VP8L", _vp8l(width, height)))
    frame = b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + bytes(20)
    return _riff(b"WEBP", _riff_chunk(b"VP8 ", b"\x50\x02\x00" + frame))


def _vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | (height - 1) << 14 | 1 << 28
    return b"\x2f" + struct.pack("<I", bits) + bytes(8)


def _box(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", 8 + len(data)) + kind + data


def _full(kind: bytes, version: int, data: bytes) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + data)


def avif(width: int, height: int, *, brand: bytes = b"avif", thumbnail: int = 0) -> bytes:
    """An AVIF (or HEIC with ``brand=b"heic"``): ftyp, meta (hdlr, pitm, iprp/ipco/ispe),
    mdat; ``thumbnail`` adds a smaller ispe before the main one."""
    ftyp = _box(b"ftyp", brand + b"\0\0\0\0" + b"mif1" + brand + b"miaf")
    ispes = b""
    if thumbnail:
        ispes += _full(b"ispe", 0, struct.pack(">II", thumbnail, thumbnail))
    ispes += _full(b"ispe", 0, struct.pack(">II", width, height))
    meta = _full(b"meta", 0, _full(b"hdlr", 0, b"\0\0\0\0pict" + bytes(12) + b"\0")
                 + _full(b"pitm", 0, b"\0\1")
                 + _box(b"iprp", _box(b"ipco", ispes)))
    return ftyp + meta + _box(b"mdat", bytes(64))


def svg(attributes: str, body: str = "<rect width='1' height='1'/>", *, prolog: str = "") -> bytes:
    return (f'{prolog}<svg xmlns="http://www.w3.org/2000/svg" {attributes}>{body}</svg>').encode()


def _segment(marker: int, data: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data


def jpeg(width: int, height: int, *, orientation: int | None = None, icc: int = 0,
         exif_padding: int = 0) -> bytes:
    """A baseline JPEG: APP0 JFIF, APP1 EXIF (IFD0 with Orientation, padded by
    ``exif_padding`` bytes of maker notes), ``icc`` bytes of ICC profile in as many APP2
    segments as it takes, DQT, SOF0, DHT, SOS, a scan and EOI."""
    out = b"\xff\xd8" + _segment(0xE0, b"JFIF\0\1\1\0\0\1\0\1\0\0")
    if orientation is not None or exif_padding:
        entries = []
        if orientation is not None:
            entries.append(struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0))
        ifd = struct.pack(">H", len(entries)) + b"".join(entries) + b"\0\0\0\0"
        tiff = b"MM\0\x2a" + struct.pack(">I", 8) + ifd + bytes(exif_padding)
        out += _segment(0xE1, b"Exif\0\0" + tiff)
    if icc:
        profile = bytes(icc)
        pieces = [profile[i:i + 65519] for i in range(0, len(profile), 65519)]
        for n, piece in enumerate(pieces, 1):
            out += _segment(0xE2, b"ICC_PROFILE\0" + bytes([n, len(pieces)]) + piece)
    out += _segment(0xDB, b"\0" + bytes(range(1, 65)))
    out += _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    out += _segment(0xC4, b"\0" + bytes([0, 1] + [0] * 14) + b"\0")
    out += _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return out + b"\x00" * 32 + b"\xff\xd9"


# -- PDF --------------------------------------------------------------------------------


def pdf_string(text: str) -> bytes:
    """A PDF literal string: PDFDocEncoding (Latin-1) when it fits, else UTF-16 with a BOM,
    with the characters that need it escaped."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raw = b"\xfe\xff" + text.encode("utf-16-be")
    raw = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")
    return b"(" + raw + b")"


#: The padding string of the PDF standard security handler (PDF 32000-1, 7.6.3.3).
_PDF_PAD = bytes.fromhex("28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a")
PDF_ID = bytes(range(16))


def rc4(key: bytes, data: bytes) -> bytes:
    box = list(range(256))
    j = 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) % 256
        box[i], box[j] = box[j], box[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + box[i]) % 256
        box[i], box[j] = box[j], box[i]
        out.append(byte ^ box[(box[i] + box[j]) % 256])
    return bytes(out)


def pdf_encryption(owner: bytes = b"owner", permissions: int = -4) -> tuple[bytes, bytes]:
    """The standard security handler, revision 2 (40-bit RC4), with an empty user password
    (anyone may open the file; copying or printing is restricted): ``(file key, the
    /Encrypt dictionary)``, by algorithms 2, 3 and 4 of PDF 32000-1."""
    import hashlib

    owner_value = rc4(hashlib.md5((owner + _PDF_PAD)[:32]).digest()[:5], _PDF_PAD)
    key = hashlib.md5(_PDF_PAD + owner_value + struct.pack("<i", permissions) + PDF_ID).digest()[:5]
    user_value = rc4(key, _PDF_PAD)
    return key, (b"<< /Filter /Standard /V 1 /R 2 /Length 40 /O <%s> /U <%s> /P %d >>"
                 % (owner_value.hex().encode(), user_value.hex().encode(), permissions))


def pdf_packed(pages: int, title: str | None = None, *, filler: int = 0) -> bytes:
    """A PDF 1.5 as pdfTeX and qpdf write them: the catalog, the page tree and the Info
    dictionary packed in one Flate-compressed object stream, found through a
    cross-reference stream (no ``trailer`` keyword), after ``filler`` bytes of content."""
    stream = b"q " + b"%" * max(filler - 4, 0) + b"\nQ"
    # 1 content, 2 object stream, 3 catalog, 4 page tree, 5.. pages, then Info; last the xref stream
    page_ids = list(range(5, 5 + pages))
    packed = {3: b"<< /Type /Catalog /Pages 4 0 R >>",
              4: b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % p for p in page_ids), pages)}
    for p in page_ids:
        packed[p] = b"<< /Type /Page /Parent 4 0 R /MediaBox [0 0 612 792] /Contents 1 0 R >>"
    info = 5 + pages if title is not None else None
    if info is not None:
        packed[info] = b"<< /Title " + pdf_string(title) + b" /Producer (filemaker) >>"
    header, body = b"", b""
    for number, text in packed.items():
        header += b"%d %d " % (number, len(body))
        body += text + b"\n"
    squeezed = zlib.compress(header + body)
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {1: len(out)}
    out += b"1 0 obj\n<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream\nendobj\n"
    offsets[2] = len(out)
    out += (b"2 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (len(packed), len(header), len(squeezed)) + squeezed + b"\nendstream\nendobj\n")
    xref = max(packed) + 1
    rows = [b"\0\0\0\0\0\xff\xff"]  # type, field 2 (4 bytes), field 3 (2 bytes)
    for number in range(1, xref + 1):
        if number in packed:
            rows.append(struct.pack(">BIH", 2, 2, list(packed).index(number)))
        else:
            rows.append(struct.pack(">BIH", 1, offsets.get(number, len(out)), 0))
    table = zlib.compress(b"".join(rows))
    trailer = b" /Info %d 0 R" % info if info is not None else b""
    at = len(out)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 3 0 R%s /Filter /FlateDecode /Length %d >>"
            b"\nstream\n" % (xref, xref + 1, trailer, len(table)) + table + b"\nendstream\nendobj\n")
    out += b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


def pdf(pages: int, title: str | bytes | None = None, *, linearized: bool = False, filler: int = 0,
        xmp_title: str | None = None, outline_title: str | None = None, info_first: bool = False,
        encrypted: bool = False) -> bytes:
    """A PDF of ``pages`` empty pages with a real cross-reference table.

    ``filler`` bytes of content stream come first (the big part of a real file), so the
    page tree and the Info dictionary (``title``) sit past it, at the end, as most
    writers put them (``info_first`` puts the Info first). ``linearized`` adds the
    linearization dictionary (with ``/N``) at the start. ``xmp_title`` adds an XMP
    metadata stream at the end; ``outline_title`` an outline item (a bookmark, whose
    /Title is no document title) before the Info. ``encrypted``: the title is RC4
    ciphertext (``pdf_encryption``), as an encrypted file's strings are, written in hex.
    """
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    lin = add(b"") if linearized else None
    info = add(b"") if info_first and title is not None else None
    stream = b"q " + b"%" * max(filler - 4, 0) + b"\nQ"
    content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    root_pages = len(objects) + 1 + pages  # after the pages themselves
    page_ids = [add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>"
                    % (root_pages, content)) for _ in range(pages)]
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    assert add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)) == root_pages
    extra = b""
    if outline_title is not None:
        outlines = len(objects) + 1
        add(b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count 1 >>" % (outlines + 1, outlines + 1))
        add(b"<< /Title " + pdf_string(outline_title) + b" /Parent %d 0 R /Dest [%d 0 R /Fit] >>"
            % (outlines, page_ids[0]))
        extra += b" /Outlines %d 0 R" % outlines
    if xmp_title is not None:
        xmp = ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
               '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
               'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt>'
               f'<rdf:li xml:lang="x-default">{xmp_title}</rdf:li></rdf:Alt></dc:title>'
               '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()
        metadata = add(b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp) + xmp
                       + b"\nendstream")
        extra += b" /Metadata %d 0 R" % metadata
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R%s >>" % (root_pages, extra))
    key, encrypt = pdf_encryption() if encrypted else (b"", b"")
    encryption = add(encrypt) if encrypted else None
    if title is not None:
        info = info or add(b"")
        if encrypted:  # the object's key: the file key, its number and generation (algorithm 1)
            import hashlib

            object_key = hashlib.md5(key + info.to_bytes(3, "little") + b"\0\0").digest()[:10]
            plain = title if isinstance(title, bytes) else title.encode("latin-1")
            written = b"<" + rc4(object_key, plain).hex().encode() + b">"
            objects[info - 1] = b"<< /Title " + written + b" >>"
        else:
            written = title if isinstance(title, bytes) else pdf_string(title)  # bytes: the string as written
            objects[info - 1] = (b"<< /Title " + written + b" /Producer (filemaker) /CreationDate "
                                 b"(D:20250101000000Z) >>")

    def build(length: int) -> bytes:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for n, body in enumerate(objects, 1):
            if n == lin:
                body = (b"<< /Linearized 1 /L %010d /H [0 0] /O %d /E 0 /N %d /T 0 >>"
                        % (length, page_ids[0], pages))
            offsets.append(len(out))
            out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        out += b"trailer\n<< /Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
        if info is not None:
            out += b" /Info %d 0 R" % info
        if encryption is not None:
            out += b" /Encrypt %d 0 R /ID [<%s><%s>]" % (encryption, PDF_ID.hex().encode(), PDF_ID.hex().encode())
        out += b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
        return bytes(out)

    first = build(0)
    return build(len(first)) if linearized else first


# -- audio ------------------------------------------------------------------------------


def _id3_frame(name: bytes, text: str, version: int) -> bytes:
    body = b"\x03" + text.encode("utf-8") if version == 4 else b"\x01" + text.encode("utf-16")
    size = _syncsafe(len(body)) if version == 4 else struct.pack(">I", len(body))
    return name + size + b"\0\0" + body


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3(title: str | None, artist: str | None, *, version: int = 3, picture: int = 0) -> bytes:
    """An ID3v2.3 (UTF-16) or v2.4 (UTF-8) tag with TIT2, TPE1, ``picture`` bytes of APIC
    (a cover, before the text frames as some taggers write it) and some padding."""
    frames = b""
    if picture:
        apic = b"\0image/jpeg\0\x03\0" + bytes(picture)
        size = _syncsafe(len(apic)) if version == 4 else struct.pack(">I", len(apic))
        frames += b"APIC" + size + b"\0\0" + apic
    if title is not None:
        frames += _id3_frame(b"TIT2", title, version)
    if artist is not None:
        frames += _id3_frame(b"TPE1", artist, version)
    frames += bytes(256)  # padding
    return b"ID3" + bytes([version, 0, 0]) + _syncsafe(len(frames)) + frames


#: MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, joint stereo: 417 bytes a frame, 1152 samples.
MP3_HEADER = b"\xff\xfb\x90\x40"
MP3_FRAME = 417


def mp3(seconds: float, *, title: str | None = None, artist: str | None = None,
        xing: bool = True, vbri: bool = False, frames_written: int = 8, **tag) -> bytes:
    """An MP3: ID3 tag (when titled), a first frame carrying a Xing (or VBRI) header
    with the frame count for ``seconds``, then ``frames_written`` silent frames."""
    frames = round(seconds * 44100 / 1152)
    first = bytearray(MP3_HEADER + bytes(MP3_FRAME - 4))
    if xing:
        first[36:48] = b"Xing" + struct.pack(">II", 3, frames)
        struct.pack_into(">I", first, 48, frames * MP3_FRAME)
    elif vbri:
        first[36:54] = b"VBRI" + struct.pack(">HHHII", 1, 0, 75, frames * MP3_FRAME, frames)
    silent = (MP3_HEADER + bytes(MP3_FRAME - 4)) * frames_written
    head = id3(title, artist, **tag) if title is not None or artist is not None else b""
    return head + bytes(first) + silent


def flac(seconds: float, *, rate: int = 44100, title: str | None = None,
         artist: str | None = None, picture: int = 0) -> bytes:
    """A FLAC: STREAMINFO, a PICTURE block of ``picture`` bytes, VORBIS_COMMENT (last)."""
    samples = round(seconds * rate)
    packed = rate << 44 | (2 - 1) << 41 | (16 - 1) << 36 | samples
    info = struct.pack(">HH", 4096, 4096) + (0).to_bytes(3, "big") * 2 + packed.to_bytes(8, "big") + bytes(16)
    blocks = [(0, info)]
    if picture:
        blocks.append((6, bytes(picture)))
    blocks.append((4, vorbis_comment({"TITLE": title, "ARTIST": artist})))
    out = b"fLaC"
    for n, (kind, body) in enumerate(blocks):
        last = 0x80 if n == len(blocks) - 1 else 0
        out += bytes([last | kind]) + len(body).to_bytes(3, "big") + body
    return out + b"\xff\xf8" + bytes(64)


def vorbis_comment(tags: dict) -> bytes:
    vendor = b"filemaker"
    items = [f"{k}={v}".encode() for k, v in tags.items() if v is not None]
    return (struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(items))
            + b"".join(struct.pack("<I", len(i)) + i for i in items))


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = (crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packet: bytes, sequence: int, *, first: bool = False, granule: int = 0) -> bytes:
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    head = (b"OggS\0" + bytes([2 if first else 0]) + struct.pack("<qIII", granule, 0x1234, sequence, 0)
            + bytes([len(lacing)]) + bytes(lacing))
    page = bytearray(head + packet)
    struct.pack_into("<I", page, 22, _ogg_crc(bytes(page)))
    return bytes(page)


def ogg(seconds: float = 1.0, *, title: str | None = None, artist: str | None = None,
        opus: bool = False, padding: int = 0) -> bytes:
    """An Ogg Vorbis (or Opus) stream: identification and comment headers, ``padding``
    bytes of audio pages, and a last page whose granule position ends at ``seconds``."""
    tags = vorbis_comment({"TITLE": title, "ARTIST": artist})
    if opus:
        ident = b"OpusHead\x01\x02" + struct.pack("<HIhB", 312, 48000, 0, 0)
        comment = b"OpusTags" + tags
    else:
        ident = b"\x01vorbis" + struct.pack("<IBIiiiB", 0, 2, 44100, 0, 128000, 0, 0xB8) + b"\x01"
        comment = b"\x03vorbis" + tags + b"\x01"
    end = round(seconds * 48000) + 312 if opus else round(seconds * 44100)
    audio = b"".join(_ogg_page(bytes(4000), 2 + n, granule=n * 100) for n in range(padding // 4000))
    return (_ogg_page(ident, 0, first=True) + _ogg_page(comment, 1) + audio
            + _ogg_page(bytes(300), 2 + padding // 4000, granule=end))


# -- video ------------------------------------------------------------------------------


def mp4(seconds: float, width: int, height: int, *, moov_first: bool = True, media: int = 1024,
        brand: bytes = b"isom", audio_first: bool = True, rotated: bool = False,
        version: int = 0) -> bytes:
    """An MP4: ftyp, then moov (mvhd, an audio trak, a video trak; or only audio when
    ``width`` is 0) and ``media`` bytes of mdat, in either order."""
    scale = 1000
    duration = round(seconds * scale)
    if version == 1:
        mvhd = _full(b"mvhd", 1, struct.pack(">QQIQ", 0, 0, scale, duration) + bytes(80))
    else:
        mvhd = _full(b"mvhd", 0, struct.pack(">IIII", 0, 0, scale, duration) + bytes(80))
    matrix = (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000) if rotated else \
        (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)

    def trak(track: int, w: int, h: int) -> bytes:
        if version == 1:
            head = struct.pack(">QQIIQ", 0, 0, track, 0, duration) + bytes(8)
        else:
            head = struct.pack(">IIIII", 0, 0, track, 0, duration) + bytes(8)
        head += struct.pack(">hhhH", 0, 0, 0, 0) + struct.pack(">9i", *matrix) + struct.pack(">II", w << 16, h << 16)
        return _box(b"trak", _full(b"tkhd", version, head) + _box(b"mdia", bytes(200)))

    tracks = [trak(1, 0, 0)]
    if width:
        tracks.insert(len(tracks) if audio_first else 0, trak(2, width, height))
    moov = _box(b"moov", mvhd + b"".join(tracks))
    ftyp = _box(b"ftyp", brand + b"\0\0\2\0" + b"isomiso2mp41")
    mdat = _box(b"mdat", bytes(media))
    return ftyp + (moov + mdat if moov_first else mdat + moov)


def _ebml(element: int, data: bytes, *, unknown: bool = False) -> bytes:
    ident = element.to_bytes((element.bit_length() + 7) // 8, "big")
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown else (0x10000000 | len(data)).to_bytes(4, "big")
    return ident + size + data


def webm(seconds: float, width: int, height: int, *, title: str | None = None,
         doc_type: str = "webm", cluster: int = 1024) -> bytes:
    """A WebM (or Matroska): EBML header, a Segment of unknown size holding SeekHead-less
    Info (TimestampScale 1 ms, Duration as a float in ms, Title), Tracks (a video
    TrackEntry with PixelWidth/Height, unless ``width`` is 0: audio) and a Cluster."""
    header = _ebml(0x1A45DFA3, _ebml(0x4286, b"\1") + _ebml(0x4282, doc_type.encode())
                   + _ebml(0x4287, b"\4"))
    info = _ebml(0x2AD7B1, (1_000_000).to_bytes(3, "big")) + _ebml(0x4489, struct.pack(">d", seconds * 1000))
    if title is not None:
        info += _ebml(0x7BA9, title.encode())
    entry = _ebml(0xD7, b"\1") + _ebml(0x83, b"\1" if width else b"\2")
    if width:
        entry += _ebml(0xE0, _ebml(0xB0, width.to_bytes(2, "big")) + _ebml(0xBA, height.to_bytes(2, "big")))
    segment = (_ebml(0xEC, bytes(16)) + _ebml(0x1549A966, info) + _ebml(0x1654AE6B, _ebml(0xAE, entry))
               + _ebml(0x1F43B675, bytes(cluster)))
    return header + _ebml(0x18538067, segment, unknown=True)


def wav(seconds: float, *, rate: int = 8000) -> bytes:
    data = bytes(round(seconds * rate) * 2)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return _riff(b"WAVE", _riff_chunk(b"fmt ", fmt) + _riff_chunk(b"data", data))


# -- archives and big bodies ---------------------------------------------------------------


def zip_archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def padded(head: bytes, size: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """``head`` then zero bytes up to ``size`` in all, in pieces (never held whole)."""
    yield head
    left = size - len(head)
    block = bytes(piece)
    while left > 0:
        yield block[:left]
        left -= piece
