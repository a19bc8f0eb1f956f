"""Links to files, run through the command against local servers serving real bytes: one line
each from the bytes read, as few of them as possible; a PDF's end asked for when ranges are
taken; --no-files; the JSON record and the --format fields."""

from __future__ import annotations

import re
import threading
import time

import pytest

import filemaker as fm
from command import records, run
from servers import Reply
from linkfilter.files import PDF_TAIL
from linkfilter.output import human_size

DASH = "\u2013"
X = "\u00d7"
MiB = 1024 * 1024


def ranged(data: bytes, content_type: str | None, *, ranges: bool = True, chunked: bool = False,
           ignore_range: bool = False):
    """A handler serving ``data``: with ``Accept-Ranges: bytes`` and 206 answers to a Range
    when ``ranges`` (a 200 with the whole body anyway when ``ignore_range``), chunked
    (no size) when ``chunked``."""

    def handler(request) -> Reply:
        headers = [("Content-Type", content_type)] if content_type else []
        if ranges:
            headers.append(("Accept-Ranges", "bytes"))
        asked = request.header("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", asked or "")
        if ranges and m and not ignore_range:
            first, last = m.groups()
            if not first:
                first, last = max(len(data) - int(last), 0), len(data) - 1
            else:
                first, last = int(first), int(last or len(data) - 1)
            headers.append(("Content-Range", f"bytes {first}-{last}/{len(data)}"))
            return Reply(206, headers, data[first:last + 1])
        return Reply(200, headers, [data] if chunked else data, chunked=chunked)

    return handler


LINES = [  # path, bytes, Content-Type, the line after "host: "
    ("/a.png", fm.png(1920, 1080), "image/png", f"[PNG image, 1920{X}1080, {{size}}]"),
    ("/a.gif", fm.gif(640, 480), "image/gif", f"[GIF image, 640{X}480, {{size}}]"),
    ("/a.bmp", fm.bmp(30, 20), "image/bmp", f"[BMP image, 30{X}20, {{size}}]"),
    ("/favicon.ico", fm.ico([16, 32]), "image/x-icon", f"[ICO image, 32{X}32, {{size}}]"),
    ("/a.webp", fm.webp(1024, 768), "image/webp", f"[WebP image, 1024{X}768, {{size}}]"),
    ("/a.avif", fm.avif(1280, 720), "image/avif", f"[AVIF image, 1280{X}720, {{size}}]"),
    ("/a.svg", fm.svg('viewBox="0 0 300 150"'), "image/svg+xml", f"[SVG image, 300{X}150, {{size}}]"),
    ("/a.jpg", fm.jpeg(4000, 3000, orientation=8, icc=300_000), "image/jpeg",
     f"[JPEG image, 3000{X}4000, {{size}}]"),
    ("/song.mp3", fm.mp3(225, title="Song", artist="Artist"), "audio/mpeg",
     f"Artist {DASH} Song [MP3 audio, 3:45, {{size}}]"),
    ("/a.flac", fm.flac(61, title="Air", artist="Bach"), "audio/flac", f"Bach {DASH} Air [FLAC audio, 1:01, {{size}}]"),
    ("/a.ogg", fm.ogg(225, title="Ogg song", artist="Band", padding=100_000), "audio/ogg",
     f"Band {DASH} Ogg song [Ogg audio, 3:45, {{size}}]"),  # its end asked for
    ("/b.opus", fm.ogg(61, opus=True), "audio/ogg", "[Opus audio, 1:01, {size}]"),  # read whole
    ("/a.mp4", fm.mp4(3723, 1280, 720, media=200_000), "video/mp4", f"[MP4 video, 1:02:03, 1280{X}720, {{size}}]"),
    ("/late.mp4", fm.mp4(10, 1280, 720, moov_first=False, media=200_000), "video/mp4", "[MP4 video, {size}]"),
    ("/a.webm", fm.webm(62, 640, 360, title="Clip"), "video/webm", f"Clip [WebM video, 1:02, 640{X}360, {{size}}]"),
    ("/a.zip", fm.zip_archive({"x.txt": b"x" * 5000}), "application/zip", "[ZIP archive, {size}]"),
    ("/mislabelled", fm.png(16, 16), "application/octet-stream", f"[PNG image, 16{X}16, {{size}}]"),
    ("/short.pdf", fm.pdf(12, "Annual report 2025"), "application/pdf", "Annual report 2025 [PDF, 12 pages, {size}]"),
    ("/junk.pdf", fm.pdf(3, "Microsoft Word - draft.docx"), "application/pdf", "[PDF, 3 pages, {size}]"),
    ("/notpng", b"\x89PNG" + b"x" * 2044, "image/png", "[image/png, 2.0 KiB]"),
]


@pytest.fixture
def files_site(http_server):
    for path, data, content_type, _ in LINES:
        http_server.route(path, ranged(data, content_type))
    http_server.route("/page", Reply(200, [("Content-Type", "text/html")], b"<title>A page</title>"))
    return http_server


def expected(site, size_of=None) -> list[str]:
    from linkfilter.output import human_size

    return [f"{site.authority}: " + line.format(size=human_size(len(data)))
            for path, data, _, line in LINES]


def test_each_file_gets_one_line_from_its_bytes(files_site):
    data = "".join(files_site.url(p) + "\n" for p, *_ in LINES).encode()
    p = run(["--allow-private", "-n", "--ordered"], data)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines() == expected(files_site)
    assert p.stderr == b""


def test_a_size_not_announced_is_left_out(http_server):
    http_server.route("/a.png", ranged(fm.png(300, 200), "image/png", chunked=True, ranges=False))
    p = run(["--allow-private", "-n"], http_server.url("/a.png").encode())
    assert p.stdout.decode() == f"{http_server.authority}: [PNG image, 300{X}200]\n"


def test_json_record_and_format_fields_carry_the_description(files_site):
    urls = [files_site.url(p) for p in ("/song.mp3", "/a.png", "/short.pdf", "/a.zip", "/page", "/notpng")]
    data = "\n".join(urls).encode()
    p = run(["--allow-private", "--json"], data)
    got = {r["url"]: r for r in records(p.stdout)}
    song = got[urls[0]]
    assert (song["kind"], song["title"], song["title_source"], song["file_type"]) == \
        ("audio", f"Artist {DASH} Song", "file", "MP3 audio")
    assert abs(song["duration"] - 225) < 0.05 and song["width"] is None and song["pages"] is None
    png = got[urls[1]]
    assert (png["kind"], png["width"], png["height"], png["title"], png["title_source"]) == \
        ("image", 1920, 1080, None, None)
    pdf = got[urls[2]]
    assert (pdf["kind"], pdf["pages"], pdf["title"], pdf["title_source"]) == ("pdf", 12, "Annual report 2025", "file")
    assert (got[urls[3]]["kind"], got[urls[3]]["file_type"]) == ("file", "ZIP archive")
    assert (got[urls[4]]["kind"], got[urls[4]]["title_source"], got[urls[4]]["file_type"]) == ("page", "title", None)
    assert (got[urls[5]]["kind"], got[urls[5]]["file_type"], got[urls[5]]["width"]) == ("image", None, None)
    template = "{kind}|{file_type}|{width}|{height}|{duration:.0f}|{pages}|{title_source}|{title}"
    p = run(["--allow-private", "-n", "--ordered", "-f", template], data)
    assert p.stdout.decode().splitlines() == [
        f"audio|MP3 audio|||225||file|Artist {DASH} Song [MP3 audio, 3:45, {human(urls[0], got)}]",
        f"image|PNG image|1920|1080||||[PNG image, 1920{X}1080, {human(urls[1], got)}]",
        f"pdf|PDF||||12|file|Annual report 2025 [PDF, 12 pages, {human(urls[2], got)}]",
        f"file|ZIP archive||||||[ZIP archive, {human(urls[3], got)}]",
        "page||||||title|A page",
        "image|||||||[image/png, 2.0 KiB]",
    ]


def human(url, got) -> str:
    from linkfilter.output import human_size

    return human_size(got[url]["content_length"])


def test_no_files_prints_nothing_for_links_that_are_not_html_but_json_keeps_them(files_site):
    urls = [files_site.url(p) for p in ("/a.png", "/page", "/a.zip")]
    data = "\n".join(urls).encode()
    for p in (run(["--allow-private", "-n", "--no-files"], data),
              run(["--allow-private", "-n"], data, {"LINKFILTER_NO_FILES": "1"})):
        assert p.returncode == 0 and p.stdout.decode() == f"{files_site.authority}: A page\n"
    p = run(["--allow-private", "--json", "--no-files"], data)
    assert sorted(r["kind"] for r in records(p.stdout)) == ["file", "image", "page"]


# -- a PDF's end ---------------------------------------------------------------------------

BIG_PDF = fm.pdf(12, "Annual report 2025", filler=400_000)  # page tree and Info at the end


def test_a_pdf_whose_title_is_at_its_end_gets_one_ranged_request_when_ranges_are_taken(http_server):
    http_server.route("/ranges.pdf", ranged(BIG_PDF, "application/pdf"))
    http_server.route("/none.pdf", ranged(BIG_PDF, "application/pdf", ranges=False))
    http_server.route("/liar.pdf", ranged(BIG_PDF, "application/pdf", ignore_range=True))
    http_server.route("/chunked.pdf", ranged(BIG_PDF, "application/pdf", chunked=True))
    size = human_size(len(BIG_PDF))
    lines = {}
    for path in ("/ranges.pdf", "/none.pdf", "/liar.pdf", "/chunked.pdf"):
        p = run(["--allow-private", "-n"], http_server.url(path).encode())
        assert p.returncode == 0 and p.stderr == b""
        lines[path] = p.stdout.decode()
    host = http_server.authority
    assert lines["/ranges.pdf"] == f"{host}: Annual report 2025 [PDF, 12 pages, {size}]\n"
    assert lines["/none.pdf"] == f"{host}: [PDF, {size}]\n"
    assert lines["/liar.pdf"] == f"{host}: [PDF, {size}]\n"
    # no Content-Length: the Content-Range total gives the size
    assert lines["/chunked.pdf"] == f"{host}: Annual report 2025 [PDF, 12 pages, {size}]\n"
    asked = [r.header("Range") for r in http_server.requests_for("/ranges.pdf")]
    assert asked == [None, f"bytes=-{PDF_TAIL}"]
    assert [r.header("Range") for r in http_server.requests_for("/none.pdf")] == [None]


def test_a_pdf_whose_rest_is_short_still_gets_its_end_asked_for(http_server):
    """The bytes past the head that are read and dropped to keep the connection are not
    described: the ranged request still runs."""
    data = fm.pdf(12, "Mid-sized", filler=100_000)  # 64 KiB read, the rest short enough to drain
    http_server.route("/mid.pdf", ranged(data, "application/pdf"))
    p = run(["--allow-private", "-n"], http_server.url("/mid.pdf").encode())
    assert p.stdout.decode() == f"{http_server.authority}: Mid-sized [PDF, 12 pages, {human_size(len(data))}]\n"
    assert [r.header("Range") for r in http_server.requests_for("/mid.pdf")] == [None, f"bytes=-{PDF_TAIL}"]


def test_a_linearized_pdf_counts_its_pages_from_its_first_bytes(http_server):
    data = fm.pdf(40, None, linearized=True, filler=400_000)
    http_server.route("/lin.pdf", ranged(data, "application/pdf", ranges=False))
    p = run(["--allow-private", "-n"], http_server.url("/lin.pdf").encode())
    assert p.stdout.decode() == f"{http_server.authority}: [PDF, 40 pages, {human_size(len(data))}]\n"


def test_the_ranged_request_runs_within_the_urls_one_deadline(http_server):
    """A server that never answers the ranged request costs the URL its --timeout once, and
    the file is still described from its head."""
    release = threading.Event()

    def slow_tail(request):
        if request.header("Range"):
            release.wait(30)
        return ranged(BIG_PDF, "application/pdf")(request)

    http_server.route("/slow.pdf", slow_tail)
    http_server.route("/page", Reply(200, [("Content-Type", "text/html")], b"<title>x</title>"))
    try:
        started = time.monotonic()
        p = run(["--allow-private", "-n", "--timeout", "1.5"], http_server.url("/slow.pdf").encode())
        took = time.monotonic() - started
        base = time.monotonic()
        run(["--allow-private", "-n", "--timeout", "1.5"], http_server.url("/page").encode())
        baseline = time.monotonic() - base
    finally:
        release.set()
    assert p.stdout.decode() == f"{http_server.authority}: [PDF, {human_size(len(BIG_PDF))}]\n" and p.stderr == b""
    assert 1.5 <= took < 1.5 + baseline + 1.5  # one deadline, not one per request


# -- a big body -------------------------------------------------------------------------------


def test_a_50_mb_body_trickled_is_described_from_its_first_kib_and_the_connection_closed(http_server):
    total = 50 * MiB
    piece, interval = 64 * 1024, 0.005  # the whole body would take over 4 s
    sent = []
    finished = threading.Event()

    def trickle():
        yield fm.png(1920, 1080)[:64]
        left = total - 64
        while left > 0:
            if http_server.stopping.wait(interval):
                return
            sent.append(min(piece, left))
            yield bytes(min(piece, left))
            left -= piece
        finished.set()

    http_server.route("/big.png", lambda request: Reply(
        200, [("Content-Type", "image/png"), ("Content-Length", str(total))], trickle()))
    http_server.route("/small.png", Reply(200, [("Content-Type", "image/png")], fm.png(1920, 1080)))
    small = records(run(["--allow-private", "--json"], http_server.url("/small.png").encode()).stdout)[0]
    # a cap past the body's size: only the description being complete can stop the read
    big = records(run(["--allow-private", "--json", "--max-bytes", str(2 * total)],
                      http_server.url("/big.png").encode()).stdout)[0]
    assert (big["width"], big["height"], big["content_length"]) == (1920, 1080, total)
    full_time = (total // piece) * interval
    # well under the time the whole body takes, over what a whole small file takes
    assert big["elapsed"] < small["elapsed"] + full_time / 8
    assert http_server.wait_closed(2)  # the client closed the connection...
    assert not finished.is_set()  # ...long before the body's end:
    assert sum(sent) < total // 10  # what the socket buffers took before the close was seen


def test_the_ranged_request_goes_through_the_same_proxy(http_server, proxy_server):
    http_server.route("/report.pdf", ranged(BIG_PDF, "application/pdf"))
    proxy_server.route = lambda host, port: ("127.0.0.1", http_server.port)
    p = run(["-n", "--allow-private"], b"http://files.example/report.pdf\n",
            env={"http_proxy": proxy_server.url("/")})
    assert p.stdout.decode() == f"files.example: Annual report 2025 [PDF, 12 pages, {human_size(len(BIG_PDF))}]\n"
    assert [(r.target, r.header("Range")) for r in proxy_server.requests] == [
        ("http://files.example/report.pdf", None), ("http://files.example/report.pdf", f"bytes=-{PDF_TAIL}")]


def test_a_file_served_without_content_type_is_told_by_its_bytes(http_server):
    http_server.route("/bare", ranged(fm.png(300, 200), None, ranges=False))
    http_server.route("/bare.mp3", ranged(fm.mp3(61, title="Bare"), None, ranges=False))
    http_server.route("/page", Reply(200, [], b"<title>Still a page</title>"))
    http_server.route("/blank", Reply(200, [], b"no markup, no magic"))
    data = "".join(http_server.url(p) + "\n" for p in ("/bare", "/bare.mp3", "/page", "/blank")).encode()
    p = run(["--allow-private", "-n", "--ordered"], data)
    png, mp3 = fm.png(300, 200), fm.mp3(61, title="Bare")
    assert p.stdout.decode().splitlines() == [
        f"{http_server.authority}: [PNG image, 300{X}200, {human_size(len(png))}]",
        f"{http_server.authority}: Bare [MP3 audio, 1:01, {human_size(len(mp3))}]",
        f"{http_server.authority}: Still a page"]
    kinds = [r["kind"] for r in records(run(["--allow-private", "--json", "--ordered"], data).stdout)]
    assert kinds == ["image", "audio", "page", "page"]


def test_the_file_parsers_load_at_the_first_file_not_before(http_server):
    """Start-up and pages never import them."""
    http_server.route("/page", Reply(200, [("Content-Type", "text/html")], b"<title>P</title>"))
    http_server.route("/a.png", Reply(200, [("Content-Type", "image/png")], fm.png(2, 2)))
    script = (
        "import sys\n"
        "from linkfilter import cli, pipeline, worker\n"
        "from linkfilter.fetch import Fetcher\n"
        "from linkfilter.settings import Settings\n"
        "loaded = lambda: sorted(m for m in ('linkfilter.files', 'linkfilter.images',"
        " 'linkfilter.media', 'linkfilter.pdf') if m in sys.modules)\n"
        "print(loaded())\n"
        "settings = Settings(allow_private=True)\n"
        "with Fetcher(settings) as f:\n"
        f"    page = worker.describe(f, {http_server.url('/page')!r}, 'u', 1, 'h', settings)\n"
        "    print(page.title, loaded())\n"
        f"    png = worker.describe(f, {http_server.url('/a.png')!r}, 'u', 1, 'h', settings)\n"
        "    print(png.file_type, loaded())\n")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.stdout.splitlines() == [
        "[]", "P []",
        "PNG image ['linkfilter.files', 'linkfilter.images', 'linkfilter.media', 'linkfilter.pdf']"], out.stderr


def test_a_pdf_titled_with_the_name_it_is_served_under_gets_no_title(http_server):
    """ImageMagick titles a PDF with its file name (UTF-16 without a byte order mark): that is
    no title; the same bytes under another name keep it."""
    data = fm.pdf(3, b"<0072006500700000>")
    http_server.route("/files/rep.pdf", ranged(data, "application/pdf"))
    http_server.route("/other.pdf", ranged(data, "application/pdf"))
    urls = [http_server.url("/files/rep.pdf"), http_server.url("/other.pdf")]
    p = run(["--allow-private", "-n", "--ordered"], "\n".join(urls).encode())
    size = human_size(len(data))
    assert p.stdout.decode().splitlines() == [f"{http_server.authority}: [PDF, 3 pages, {size}]",
                                              f"{http_server.authority}: rep [PDF, 3 pages, {size}]"]


def test_a_file_served_as_html_is_told_by_its_bytes(http_server):
    """A script that sends an image or a PDF without setting its type serves it as text/html:
    the magic number says what it is; a page without a title stays a page."""
    png, report = fm.png(640, 480), fm.pdf(4, "Quarterly report")
    http_server.route("/image.php", ranged(png, "text/html", ranges=False))
    http_server.route("/report.php", ranged(report, "text/html; charset=UTF-8", ranges=False))
    http_server.route("/untitled", Reply(200, [("Content-Type", "text/html")], b"<p>no title</p>"))
    data = "".join(http_server.url(p) + "\n" for p in ("/image.php", "/report.php", "/untitled")).encode()
    p = run(["--allow-private", "-n", "--ordered"], data)
    assert p.stdout.decode().splitlines() == [
        f"{http_server.authority}: [PNG image, 640{X}480, {human_size(len(png))}]",
        f"{http_server.authority}: Quarterly report [PDF, 4 pages, {human_size(len(report))}]"]
    got = records(run(["--allow-private", "--json", "--ordered"], data).stdout)
    assert [(r["kind"], r["file_type"], r["content_type"]) for r in got] == [
        ("image", "PNG image", "text/html"), ("pdf", "PDF", "text/html"), ("page", None, "text/html")]


def test_an_encrypted_pdf_prints_no_ciphertext_for_a_title(http_server):
    """Its Info comes first and its trailer, which names /Encrypt, last: the end is asked for
    before the title is believed."""
    data = fm.pdf(5, "Secret plan", encrypted=True, info_first=True, filler=200_000)
    http_server.route("/locked.pdf", ranged(data, "application/pdf"))
    p = run(["--allow-private", "-n"], http_server.url("/locked.pdf").encode())
    assert p.stdout.decode() == f"{http_server.authority}: [PDF, 5 pages, {human_size(len(data))}]\n"
    assert [r.header("Range") for r in http_server.requests_for("/locked.pdf")] == [None, f"bytes=-{PDF_TAIL}"]


def test_a_pdf_with_its_objects_packed_in_an_object_stream_counts_its_pages(http_server):
    data = fm.pdf_packed(7, "Packed title", filler=100_000)
    http_server.route("/packed.pdf", ranged(data, "application/pdf"))
    p = run(["--allow-private", "-n"], http_server.url("/packed.pdf").encode())
    assert p.stdout.decode() == f"{http_server.authority}: Packed title [PDF, 7 pages, {human_size(len(data))}]\n"
