"""Files described from their own bytes: every format, fed whole and in pieces, read only as far
as needed; PDF page counts and titles, head and tail; junk titles against generated real ones."""

from __future__ import annotations

import random

import faker
import pytest

import filemaker as fm
from linkfilter import files, pdf
from linkfilter.files import FileInfo, FileSniffer, describe

DASH = "\u2013"

#: (name, bytes, content type, what they are)
CASES = [
    ("png", fm.png(1920, 1080), "image/png", FileInfo("image", "PNG image", 1920, 1080)),
    ("gif", fm.gif(640, 480), "image/gif", FileInfo("image", "GIF image", 640, 480)),
    ("bmp", fm.bmp(30, 20), "image/bmp", FileInfo("image", "BMP image", 30, 20)),
    ("bmp top-down", fm.bmp(30, 20, top_down=True), None, FileInfo("image", "BMP image", 30, 20)),
    ("ico", fm.ico([16, 48, 256]), "image/x-icon", FileInfo("image", "ICO image", 256, 256)),
    ("webp VP8X", fm.webp(1920, 1080), "image/webp", FileInfo("image", "WebP image", 1920, 1080)),
    ("webp VP8L", fm.webp(100, 50, "VP8L"), "image/webp", FileInfo("image", "WebP image", 100, 50)),
    ("webp VP8", fm.webp(320, 240, "VP8 "), "image/webp", FileInfo("image", "WebP image", 320, 240)),
    ("avif", fm.avif(1280, 720, thumbnail=64), "image/avif", FileInfo("image", "AVIF image", 1280, 720)),
    ("heic", fm.avif(4032, 3024, brand=b"heic"), "image/heic", FileInfo("image", "HEIC image", 4032, 3024)),
    ("svg", fm.svg('width="120" height="80px"'), "image/svg+xml", FileInfo("image", "SVG image", 120, 80)),
    ("svg viewBox", fm.svg('width="100%" viewBox="0 0 24 16"', prolog='<?xml version="1.0"?>\n<!-- x -->\n'),
     "image/svg+xml", FileInfo("image", "SVG image", 24, 16)),
    ("svg long prolog", fm.svg('width="10" height="20"', prolog='<?xml version="1.0"?>\n<!-- '
                               + "Created with a drawing program. " * 100 + '-->\n'),
     "image/svg+xml", FileInfo("image", "SVG image", 10, 20)),
    ("jpeg", fm.jpeg(800, 600), "image/jpeg", FileInfo("image", "JPEG image", 800, 600)),
    ("jpeg turned", fm.jpeg(1920, 1080, orientation=6, icc=200_000), "image/jpeg",
     FileInfo("image", "JPEG image", 1080, 1920)),
    ("pdf", fm.pdf(12, "Annual report 2025"), "application/pdf",
     FileInfo("pdf", "PDF", pages=12, title="Annual report 2025")),
    ("pdf packed", fm.pdf_packed(7, "Packed title"), "application/pdf",
     FileInfo("pdf", "PDF", pages=7, title="Packed title")),
    ("pdf encrypted", fm.pdf(3, "Secret plan", encrypted=True), "application/pdf", FileInfo("pdf", "PDF", pages=3)),
    ("pdf linearized", fm.pdf(3, "Été – notes", linearized=True), "application/pdf",
     FileInfo("pdf", "PDF", pages=3, title="Été – notes")),
    ("pdf utf-16", fm.pdf(1, "\u65e5\u672c\u8a9e (report)"), "application/pdf",
     FileInfo("pdf", "PDF", pages=1, title="\u65e5\u672c\u8a9e (report)")),
    ("pdf xmp", fm.pdf(2, xmp_title="Minutes &amp; notes"), "application/pdf",
     FileInfo("pdf", "PDF", pages=2, title="Minutes & notes")),
    ("mp3", fm.mp3(225, title="Song", artist="Artist"), "audio/mpeg",
     FileInfo("audio", "MP3 audio", duration=225, title=f"Artist {DASH} Song")),
    ("mp3 id3v2.4", fm.mp3(61, title="Ünïcode", artist="Bänd", version=4), "audio/mpeg",
     FileInfo("audio", "MP3 audio", duration=61, title=f"Bänd {DASH} Ünïcode")),
    ("mp3 VBRI", fm.mp3(100, xing=False, vbri=True), "audio/mpeg", FileInfo("audio", "MP3 audio", duration=100)),
    ("flac", fm.flac(61.5, title="T", artist="A", picture=5000), "audio/flac",
     FileInfo("audio", "FLAC audio", duration=61.5, title=f"A {DASH} T")),
    ("ogg vorbis", fm.ogg(title="Ogg song", artist="Ogg band"), "audio/ogg",
     FileInfo("audio", "Ogg audio", duration=1, title=f"Ogg band {DASH} Ogg song")),
    ("opus", fm.ogg(95, title="Only a title", opus=True), "audio/ogg",
     FileInfo("audio", "Opus audio", duration=95, title="Only a title")),
    ("wav", fm.wav(2.5), "audio/wav", FileInfo("audio", "WAV audio", duration=2.5)),
    ("mp4", fm.mp4(3723, 1280, 720), "video/mp4", FileInfo("video", "MP4 video", 1280, 720, 3723)),
    ("mp4 video track first, 64-bit boxes", fm.mp4(90, 640, 360, audio_first=False, version=1), "video/mp4",
     FileInfo("video", "MP4 video", 640, 360, 90)),
    ("mp4 turned", fm.mp4(5, 1920, 1080, rotated=True), "video/mp4", FileInfo("video", "MP4 video", 1080, 1920, 5)),
    ("mp4 moov last", fm.mp4(10, 640, 480, moov_first=False), "video/mp4", FileInfo("video", "MP4 video")),
    ("mov", fm.mp4(10, 640, 480, brand=b"qt  "), "video/quicktime", FileInfo("video", "MOV video", 640, 480, 10)),
    ("m4a", fm.mp4(30, 0, 0, brand=b"M4A "), "audio/mp4", FileInfo("audio", "M4A audio", duration=30)),
    ("webm", fm.webm(62.5, 1280, 720, title="Clip"), "video/webm",
     FileInfo("video", "WebM video", 1280, 720, 62.5, title="Clip")),
    ("mka", fm.webm(5, 0, 0, doc_type="matroska"), None, FileInfo("audio", "Matroska audio", duration=5)),
    ("zip", fm.zip_archive({"a.txt": b"hello" * 100}), "application/zip", FileInfo("file", "ZIP archive")),
]
IDS = [c[0] for c in CASES]


def same(got: FileInfo, want: FileInfo) -> bool:
    """Equal, durations within a frame's length."""
    if (got.duration is None) != (want.duration is None):
        return False
    if got.duration is not None and abs(got.duration - want.duration) > 0.03:
        return False
    return got._replace(duration=None) == want._replace(duration=None)


@pytest.mark.parametrize("name, data, content_type, want", CASES, ids=IDS)
def test_each_format_is_described_from_its_bytes_whole_and_in_pieces(name, data, content_type, want):
    whole = describe(data, content_type, len(data))
    assert same(whole, want), whole
    for size in (1, 7, 2048):
        sniffer = FileSniffer(content_type, len(data))
        for at in range(0, len(data), size):
            if sniffer.feed(data[at:at + size]):
                break
        assert sniffer.info() == whole, (size, sniffer.info())


@pytest.mark.parametrize("name, data, content_type, want", CASES, ids=IDS)
def test_the_type_comes_from_the_bytes_whatever_the_header_says(name, data, content_type, want):
    for header in ("application/octet-stream", None, "text/plain"):
        assert same(describe(data, header, len(data)), want)


def test_a_body_declared_html_is_a_file_only_by_a_magic_number():
    """A PNG or a PDF served as text/html (PHP's default type) is that file; the formats named
    by a guess rather than a magic number (BMP, ICO, an MPEG frame sync, SVG) are not taken
    from a page."""
    for content_type in ("text/html", "application/xhtml+xml"):
        assert describe(fm.png(30, 20), content_type) == FileInfo("image", "PNG image", 30, 20)
        assert describe(fm.pdf(2, "Report"), content_type) == FileInfo("pdf", "PDF", pages=2, title="Report")
        for guessed in (fm.bmp(30, 20), fm.ico([16]), fm.mp3(61, xing=False), fm.svg('width="4" height="3"')):
            assert describe(guessed, content_type).label is None
            assert describe(guessed, None).label is not None  # no header: the guess stands


def test_bytes_that_name_no_known_type_leave_the_content_type_to_say_what_it_is():
    junk = b"\x89PNG" + b"x" * 2044  # the start of a PNG signature, then nothing of one
    for content_type, kind in (("image/png", "image"), ("video/mp4", "video"), ("audio/x-foo", "audio"),
                               ("application/pdf", "pdf"), ("application/x-thing", "file"), (None, "file")):
        assert describe(junk, content_type, len(junk)) == FileInfo(kind)
    assert describe(b"", "image/png", 0) == FileInfo("image")


def feed_until_done(sniffer: FileSniffer, data: bytes, size: int = 16 * 1024, total: int = 0) -> int:
    """Feed ``data`` then zeros (up to ``total``) in ``size`` pieces: the bytes fed when it said done."""
    fed = 0
    for piece in fm.padded(data, max(total, len(data)), size):
        for at in range(0, len(piece), 2048):  # as the fetcher hands them: SINK_STEP pieces
            fed += len(piece[at:at + 2048])
            if sniffer.feed(piece[at:at + 2048]):
                return fed
    raise AssertionError("never done")


@pytest.mark.parametrize("name, data, content_type, want", [c for c in CASES if c[0] != "pdf"],
                         ids=[i for i in IDS if i != "pdf"])
def test_a_huge_file_is_read_only_to_the_end_of_its_header(name, data, content_type, want):
    total = 50 * 1024 * 1024
    sniffer = FileSniffer(content_type, total)
    fed = feed_until_done(sniffer, data, total=total)
    # The header's end, plus what the sniffer reads past it at most: a parse runs again only
    # once the prefix has grown by a quarter, and the fetcher hands it 2 KiB at a time.
    header = {"jpeg turned": 200_000, "flac": 5000, "pdf linearized": files.PDF_HEAD}.get(name, 0)
    assert fed <= max(header * (1 + 1 / files.REPARSE_GROWTH) + 2048, files.HEADER_LIMIT), fed
    got = sniffer.info()
    if name.startswith(("mp3", "ogg", "opus")):  # their duration: from the size, or the end
        got, want = got._replace(duration=None), want._replace(duration=None)
    assert same(got, want)


def test_an_image_header_costs_a_few_kib():
    for data in (fm.png(1920, 1080), fm.gif(1, 1), fm.webp(5, 5), fm.jpeg(10, 10, orientation=8)):
        sniffer = FileSniffer(None, None)
        assert feed_until_done(sniffer, data, total=10 << 20) <= 4096


@pytest.mark.parametrize("orientation, turned", [(1, False), (2, False), (3, False), (4, False),
                                                 (5, True), (6, True), (7, True), (8, True)])
def test_jpeg_exif_orientation_5_to_8_swaps_width_and_height(orientation, turned):
    info = describe(fm.jpeg(400, 300, orientation=orientation, exif_padding=60_000, icc=150_000))
    assert (info.width, info.height) == ((300, 400) if turned else (400, 300))


def test_the_sniffer_parses_a_number_of_times_that_grows_with_the_log_of_the_bytes(monkeypatch):
    data = fm.jpeg(10, 10, icc=1_000_000)  # sixteen 64 KiB ICC segments before the frame
    calls = []
    parser, limit = files.PARSERS["jpeg"]
    monkeypatch.setitem(files.PARSERS, "jpeg", (lambda d, t: calls.append(len(d)) or parser(d, t), limit))
    sniffer = FileSniffer("image/jpeg", None)
    for at in range(0, len(data), 64):
        if sniffer.feed(data[at:at + 64]):
            break
    assert (sniffer.info().width, sniffer.info().height) == (10, 10)
    assert len(calls) <= 60 and sum(calls) <= 6 * len(data), (len(calls), sum(calls))


def test_an_mp3_without_xing_takes_its_duration_from_its_bitrate_and_size():
    data = fm.mp3(0, xing=False, frames_written=1)
    size = 128_000 // 8 * 240 + 10  # four minutes of 128 kbit/s
    assert round(describe(data, "audio/mpeg", size).duration) == 240
    assert describe(data, "audio/mpeg", None).duration is None  # no size, no duration


def test_an_ogg_files_duration_comes_from_its_last_page():
    for data, seconds in ((fm.ogg(200, padding=300_000), 200), (fm.ogg(61, opus=True, padding=300_000), 61)):
        sniffer = FileSniffer("audio/ogg", len(data))
        assert feed_until_done(sniffer, data) <= 4096  # the headers: then the end is asked for
        assert sniffer.tail_wanted == files.OGG_TAIL
        sniffer.feed_tail(data[-files.OGG_TAIL:], len(data))
        assert sniffer.info().duration == pytest.approx(seconds) and sniffer.tail_wanted == 0
        small = fm.ogg(seconds)  # read to its end, where the last page is
        sniffer = FileSniffer("audio/ogg", len(small))
        assert feed_until_done(sniffer, small, size=7) == len(small)
        assert sniffer.info().duration == pytest.approx(seconds) and sniffer.tail_wanted == 0


def test_an_id3_cover_before_the_title_is_read_past():
    data = fm.mp3(10, title="After the cover", artist="X", picture=300_000)
    assert describe(data).title == f"X {DASH} After the cover"


def test_cut_or_damaged_files_say_what_came_before_the_damage():
    assert describe(fm.png(10, 10)[:20]) == FileInfo("image", "PNG image")
    assert describe(fm.jpeg(10, 10)[:30]) == FileInfo("image", "JPEG image")
    mp4 = fm.mp4(10, 640, 480)
    assert describe(mp4[:200]).label == "MP4 video"
    broken = bytearray(fm.jpeg(10, 10))
    broken[20] = 0x00  # where a marker must be
    assert describe(bytes(broken)) == FileInfo("image", "JPEG image")
    for data in (fm.webm(5, 10, 10)[:60], fm.ogg(title="x")[:40], fm.flac(3)[:30], fm.avif(1, 1)[:50]):
        assert describe(data).label is not None


# -- PDF ------------------------------------------------------------------------------------


def test_a_pdf_whose_page_tree_and_info_are_at_its_end_asks_for_its_tail():
    data = fm.pdf(12, "Annual report 2025", filler=300_000)
    sniffer = FileSniffer("application/pdf", len(data))
    fed = feed_until_done(sniffer, data)
    assert fed <= files.PDF_HEAD
    assert sniffer.tail_wanted == files.PDF_TAIL
    sniffer.feed_tail(data[-files.PDF_TAIL:], len(data))
    assert sniffer.info() == FileInfo("pdf", "PDF", pages=12, title="Annual report 2025")
    assert sniffer.tail_wanted == 0  # asked once


def test_a_linearized_pdf_names_its_page_count_in_its_first_kib():
    data = fm.pdf(40, "Far away", linearized=True, filler=300_000)
    sniffer = FileSniffer("application/pdf", len(data))
    feed_until_done(sniffer, data)
    assert sniffer.info().pages == 40 and sniffer.info().title is None
    assert sniffer.tail_wanted  # for the title
    sniffer.feed_tail(data[-files.PDF_TAIL:], len(data))
    assert sniffer.info().title == "Far away"


def test_a_pdf_read_whole_or_complete_in_its_head_asks_for_nothing():
    whole = fm.pdf(2, "Short")
    sniffer = FileSniffer("application/pdf", len(whole))
    sniffer.feed(whole)
    assert sniffer.tail_wanted == 0
    untitled = fm.pdf(2)
    sniffer = FileSniffer("application/pdf", None)
    sniffer.feed(untitled)
    sniffer.finish()
    assert sniffer.tail_wanted == files.PDF_TAIL  # size unknown: it may have more
    assert sniffer.info() == FileInfo("pdf", "PDF", pages=2)


def test_a_bookmark_title_is_not_the_documents_title():
    data = fm.pdf(3, None, outline_title="Chapter 1")
    assert describe(data) == FileInfo("pdf", "PDF", pages=3)
    assert describe(fm.pdf(3, "Real one", outline_title="Chapter 1")).title == "Real one"


def test_pdf_literal_strings_with_escapes_and_nested_parentheses():
    data = b"1 0 obj\n<< /Title (A \\(b\\) (nested) \\\\ c\\051 d\\\ne) /Producer (x) >>\nendobj\n"
    assert pdf.scan(b"%PDF-1.4\n" + data, head=True).title == "A (b) (nested) \\ c) de"
    hexed = b"1 0 obj\n<< /Title <FEFF0048 0069> >>\nendobj\n"
    assert pdf.scan(hexed, head=False).title == "Hi"


JUNK = ["Untitled", "untitled-1", "Untitled document", "Document1", "Presentation1", "Book1",
        "PowerPoint Presentation", "Microsoft Word - report_final_v2.docx",
        "Microsoft PowerPoint - deck.pptx", "Microsoft Word - Document1",
        "report_final_v2.docx", "Annual Report 2025.pdf", "C:\\Users\\jo\\Desktop\\cv.doc",
        "/home/jo/thesis.tex", "scan0001.jpg", "IMG_2041.JPG", "3f2a9c1e7b4d",
        "550e8400-e29b-41d4-a716-446655440000", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", " ", "Slide 1"]
REAL = ["Annual report 2025", "Node.js in Action", "Version 2.0 release notes", "The C++ Programming Language",
        "Q3 results: revenue up 4.5%", "Deadbeef cafe menu", "Untitled Goose Game review",
        "Document management at scale", "Book of Kells", "Presentation skills for engineers"]


@pytest.mark.parametrize("title", JUNK)
def test_junk_pdf_titles_are_dropped(title):
    assert pdf.junk_title(title)
    assert describe(fm.pdf(2, title)) == FileInfo("pdf", "PDF", pages=2)


@pytest.mark.parametrize("title", REAL)
def test_real_pdf_titles_are_kept(title):
    assert not pdf.junk_title(title)


#: The title ImageMagick writes into a PDF: the output file's name without its extension, in
#: UTF-16BE without a byte order mark, NUL-terminated.
IMAGEMAGICK_TITLE = b"<0072006500700000>"


def test_a_utf16_title_without_its_byte_order_mark_is_read_as_utf16():
    assert pdf.text_of(bytes.fromhex("0072006500700000")) == "rep"
    assert pdf.text_of("Caf\u00e9 2025".encode("utf-16-be")) == "Caf\u00e9 2025"
    assert describe(fm.pdf(3, IMAGEMAGICK_TITLE)).title == "rep"


def test_a_pdf_title_that_is_only_the_name_it_is_served_under_is_dropped():
    data = fm.pdf(3, IMAGEMAGICK_TITLE)
    for name in ("rep.pdf", "REP.PDF", "rep"):
        sniffer = FileSniffer("application/pdf", len(data), name)
        sniffer.feed(data)
        assert sniffer.info() == FileInfo("pdf", "PDF", pages=3), name
    sniffer = FileSniffer("application/pdf", len(data), "report.pdf")
    sniffer.feed(data)
    assert sniffer.info().title == "rep"  # another name: the title may be real
    assert files.file_name_of("http://h/a/Annual%20report.pdf?x=1#y") == "Annual report.pdf"
    assert files.file_name_of("http://h/a/") is None


def test_an_encrypted_pdf_has_no_title_its_strings_are_ciphertext():
    """Files with an empty user password (copying or printing restricted) open for anyone,
    but every string in them, the title too, is RC4/AES ciphertext: no title is given."""
    small = fm.pdf(3, "Secret plan", encrypted=True)
    assert b"Secret plan" not in small
    assert describe(small) == FileInfo("pdf", "PDF", pages=3)
    sniffer = FileSniffer("application/pdf", len(small))
    feed_until_done(sniffer, small, size=64)  # its title comes long before its trailer
    assert sniffer.info() == FileInfo("pdf", "PDF", pages=3)
    big = fm.pdf(3, "Secret plan", encrypted=True, info_first=True, filler=100_000)
    sniffer = FileSniffer("application/pdf", len(big))
    assert feed_until_done(sniffer, big) == files.PDF_HEAD  # no trailer yet: read on to the limit
    assert sniffer.tail_wanted == files.PDF_TAIL  # whether it is encrypted is in the trailer
    sniffer.feed_tail(big[-files.PDF_TAIL:], len(big))
    assert sniffer.info().title is None
    plain = fm.pdf(3, "Annual report 2025", info_first=True, filler=100_000)
    sniffer = FileSniffer("application/pdf", len(plain))
    feed_until_done(sniffer, plain)
    sniffer.feed_tail(plain[-files.PDF_TAIL:], len(plain))
    assert sniffer.info() == FileInfo("pdf", "PDF", pages=3, title="Annual report 2025")


def test_a_pdf_whose_page_tree_and_info_are_packed_in_an_object_stream():
    """PDF 1.5 files (pdfTeX's, qpdf's) keep them Flate-compressed in an object stream."""
    small = fm.pdf_packed(7, "Packed title")
    assert b"/Count" not in small and b"Packed title" not in small
    assert describe(small) == FileInfo("pdf", "PDF", pages=7, title="Packed title")
    assert describe(fm.pdf_packed(2)) == FileInfo("pdf", "PDF", pages=2)
    big = fm.pdf_packed(7, "Packed title", filler=100_000)
    sniffer = FileSniffer("application/pdf", len(big))
    feed_until_done(sniffer, big)
    assert sniffer.tail_wanted == files.PDF_TAIL
    sniffer.feed_tail(big[-files.PDF_TAIL:], len(big))
    assert sniffer.info() == FileInfo("pdf", "PDF", pages=7, title="Packed title")
    cut = small[:small.index(b"endstream") - 20]  # the object stream cut short: no error, what it held
    assert describe(cut).label == "PDF"


def test_junk_rule_on_generated_titles_and_file_names():
    """Titles and file names made by Faker (in several languages), which the rule was not tuned
    on: every title is kept, every file name, path and id is dropped."""
    fake = faker.Faker(["en_US", "fr_FR", "de_DE", "es_ES", "ja_JP"])
    fake.seed_instance(19)
    rng = random.Random(19)
    titles = []
    for _ in range(300):
        titles += [fake.catch_phrase(), fake.sentence(nb_words=rng.randint(2, 9)).rstrip("."),
                   f"{fake.company()} annual report {fake.year()}", fake.bs().capitalize(),
                   fake.job(), f"{fake.name()}: {fake.city()}"]
    kept = [t for t in titles if pdf.junk_title(t)]
    assert kept == []
    extensions = sorted(e for e in pdf.FILE_EXTENSIONS if e not in ("md", "xml", "zip"))
    names = []
    for _ in range(300):
        ext = rng.choice(extensions)
        names += [fake.file_name(extension=ext), fake.file_path(extension=ext, depth=rng.randint(1, 4)),
                  f"Microsoft Word - {fake.file_name(extension='docx')}", fake.uuid4(), fake.md5(),
                  fake.sha1()[:rng.randint(8, 40)] + "0", f"Untitled-{rng.randint(1, 99)}"]
    missed = [n for n in names if not pdf.junk_title(n)]
    assert missed == []


# -- damage ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, data, content_type, want", CASES, ids=IDS)
def test_damaged_files_are_parsed_without_an_error(name, data, content_type, want):
    """Each file with a few bytes overwritten and cut short, 500 ways: its parser reads what
    is readable and never raises (the sniffer's own guard is not needed)."""
    rng = random.Random(name)
    fmt = files.identify(data[:files.MAGIC_BYTES], content_type, True)
    parser = files.PARSERS.get(fmt, (lambda data, total: ({}, 0), None))[0]
    for _ in range(500):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(damaged))
            damaged[at:at + 1] = bytes([rng.randrange(256)])
        damaged = bytes(damaged[:rng.randint(0, len(damaged))])
        facts, need = parser(damaged, rng.choice([None, len(damaged), 10 * len(damaged)]))
        assert isinstance(facts, dict) and need >= 0
        info = describe(damaged, content_type, len(damaged))
        assert info.kind in files.KINDS


def test_hostile_nesting_and_sizes_cost_no_recursion_nor_loop():
    segment = b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"  # a Segment of unknown size
    nested = b"\x1a\x45\xdf\xa3\x80" + segment * 20_000  # Segments inside Segments
    assert describe(nested).label == "WebM audio"
    zero_boxes = b"\0\0\0\x10ftypisom\0\0\0\0" + b"\0\0\0\x08free" * 10_000
    assert describe(zero_boxes).label == "MP4 video"
    empty_segments = b"\xff\xd8" + b"\xff\xe0\x00\x02" * 10_000
    assert describe(empty_segments) == FileInfo("image", "JPEG image")


def test_looking_for_an_svg_tag_byte_by_byte_is_linear_and_gives_up(monkeypatch):
    looks = []
    identify = files.identify
    monkeypatch.setattr(files, "identify", lambda head, *a: looks.append(len(head)) or identify(head, *a))
    prolog = b'<?xml version="1.0"?>' + b" " * (2 * files.HEADER_LIMIT)
    for content_type, limit in ((None, 4096), ("image/svg+xml", files.HEADER_LIMIT)):
        looks.clear()
        sniffer = FileSniffer(content_type, None)
        fed = next(n for n in range(1, len(prolog)) if sniffer.feed(prolog[n - 1:n]))
        assert limit <= fed <= limit + limit // files.REPARSE_GROWTH + 1
        assert sniffer.info() == FileInfo("image" if content_type else "file")
        assert len(looks) <= files.MAGIC_BYTES + 40 and sum(looks) <= 8 * fed, (len(looks), sum(looks))


def test_pdfdocencoding_titles_read_as_written():
    raw = b"1 0 obj\n<< /Title (Report \x84 2025 \x8dquoted\x8e \xa0 \x93le) /Producer (x) >>\nendobj\n"
    assert pdf.scan(raw, head=False).title == "Report \u2014 2025 \u201cquoted\u201d \u20ac \ufb01le"


def test_a_page_tree_root_with_many_kids_is_counted():
    assert describe(fm.pdf(1000, "Big book")) == FileInfo("pdf", "PDF", pages=1000, title="Big book")
    kids = b" ".join(b"%d 0 R" % n for n in range(4, 1004))  # its /Type after 8 KiB of kids
    tree = b"%PDF-1.4\n3 0 obj\n<< /Kids [" + kids + b"] /Count 1000 /Type /Pages >>\nendobj\n"
    assert describe(tree).pages == 1000
