"""Files described from their first bytes: bytes read and time per file type, 50 MB bodies.

Each type is served by a local server as a 50 MB body (the file's real header, then
zeros) with a Content-Length. One side describes it as the worker does (a Fetcher fed
to ``files.FileSniffer``, which stops the read and drops the connection once the
description is complete); the other reads the same body whole (the cost without the
stop). Sides alternate, ROUNDS each; medians are printed with the bytes the describer
read, the bytes the server managed to hand its socket before the client left, and the
time ratio. A PDF whose page tree and Info are at its end also gets its one ranged
request for the last 64 KiB (counted). Needs the tests' helpers (tests/filemaker.py).
Run: python3 bench/bench_files.py
"""

from __future__ import annotations

import compileall
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import filemaker as fm  # noqa: E402
from servers import HTTPServer, Reply  # noqa: E402

from linkfilter.fetch import Fetcher  # noqa: E402
from linkfilter.files import FileSniffer  # noqa: E402
from linkfilter.settings import Settings  # noqa: E402

BODY = 50 * 1024 * 1024
PIECE = 256 * 1024
ROUNDS = 5

TYPES = [
    ("PNG", fm.png(1920, 1080), "image/png"),
    ("GIF", fm.gif(640, 480), "image/gif"),
    ("BMP", fm.bmp(64, 64), "image/bmp"),
    ("ICO", fm.ico([16, 32, 256]), "image/x-icon"),
    ("WebP", fm.webp(1920, 1080), "image/webp"),
    ("AVIF", fm.avif(1920, 1080), "image/avif"),
    ("SVG", fm.svg('width="640" height="480"'), "image/svg+xml"),
    ("JPEG", fm.jpeg(4000, 3000, orientation=6), "image/jpeg"),
    ("JPEG+1MB ICC", fm.jpeg(4000, 3000, icc=1_000_000), "image/jpeg"),
    ("PDF linearized", fm.pdf(200, "Report", linearized=True, filler=200_000), "application/pdf"),
    ("PDF info at end", fm.pdf(12, "Report", filler=BODY - 4096), "application/pdf"),
    ("MP3 ID3+Xing", fm.mp3(225, title="Song", artist="Artist"), "audio/mpeg"),
    ("FLAC", fm.flac(200, title="T", artist="A"), "audio/flac"),
    ("Ogg (end asked)", fm.ogg(200, title="T", artist="A"), "audio/ogg"),
    ("MP4 moov first", fm.mp4(3723, 1280, 720), "video/mp4"),
    ("MP4 moov last", fm.mp4(3723, 1280, 720, moov_first=False), "video/mp4"),
    ("WebM", fm.webm(3723, 1280, 720, title="Clip"), "video/webm"),
    ("ZIP", fm.zip_archive({"a.txt": b"a" * 1000}), "application/zip"),
]


def serve(server: HTTPServer, data: bytes, content_type: str, sent: list[int]) -> None:
    """Route /f to ``data`` padded with zeros to BODY bytes, in PIECE writes counted in
    ``sent``; a suffix range gets the body's last bytes."""
    size = max(len(data), BODY)

    def at(first: int, last: int) -> bytes:
        part = data[first:last]
        return part + bytes(last - first - len(part))

    def handler(request) -> Reply:
        asked = request.header("Range")
        if asked and asked.startswith("bytes=-"):
            n = min(int(asked[7:]), size)
            return Reply(206, [("Content-Type", content_type),
                               ("Content-Range", f"bytes {size - n}-{size - 1}/{size}")],
                         at(size - n, size))

        def body():
            for first in range(0, size, PIECE):
                piece = at(first, min(first + PIECE, size))
                sent[0] += len(piece)
                yield piece

        return Reply(200, [("Content-Type", content_type), ("Content-Length", str(size)),
                           ("Accept-Ranges", "bytes")], body())

    server.route("/f", handler)


def describe(fetcher: Fetcher, url: str) -> tuple[float, int, object]:
    sniffers = []

    def sink(head):
        sniffers.append(FileSniffer(head.content_type, head.content_length))
        return sniffers[-1]

    started = time.perf_counter()
    page = fetcher.fetch(url, file_sink=sink)
    info = sniffers[-1].info()
    return time.perf_counter() - started, len(page.body), info


class Whole:
    """The baseline sink: never done, so the body is read to its end."""

    tail_wanted = 0

    def feed(self, data: bytes) -> bool:
        return False

    def feed_tail(self, data: bytes, total) -> None:  # pragma: no cover - never asked
        pass


def whole(fetcher: Fetcher, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    page = fetcher.fetch(url, file_sink=lambda head: Whole())
    return time.perf_counter() - started, len(page.body)


def main() -> None:
    compileall.compile_dir(str(ROOT / "linkfilter"), quiet=1)
    described = Settings(allow_private=True, timeout=60)
    baseline = Settings(allow_private=True, timeout=60, max_bytes=2 * BODY)
    print(f"{'type':16} {'read':>9} {'sent':>9} {'describe':>9} {'whole':>9} {'ratio':>7}  description")
    for name, data, content_type in TYPES:
        sent = [0]
        with HTTPServer() as server:
            serve(server, data, content_type, sent)
            url = server.url("/f")
            times, wholes, reads, sends = [], [], [], []
            info = None
            for n in range(ROUNDS):
                for side in (("d", "w") if n % 2 == 0 else ("w", "d")):
                    with Fetcher(described if side == "d" else baseline) as fetcher:
                        sent[0] = 0
                        if side == "d":
                            took, read, info = describe(fetcher, url)
                            times.append(took)
                            reads.append(read)
                            # the server thread may still be handing the socket its last piece
                            server.wait_closed(server.connections, 5)
                            sends.append(sent[0])
                        else:
                            took, read = whole(fetcher, url)
                            assert read >= BODY, read
                            wholes.append(took)
        t, w = statistics.median(times), statistics.median(wholes)
        tail = " +64 KiB tail" if len(server.requests_for("/f")) > 2 * ROUNDS else ""
        print(f"{name:16} {statistics.median(reads):>9,} {statistics.median(sends):>9,} "
              f"{t * 1000:>7.2f}ms {w * 1000:>7.0f}ms {w / t:>6.0f}x  "
              f"{info.label} {info.width or ''}{'x' if info.width else ''}{info.height or ''} "
              f"{format(info.duration, '.1f') if info.duration else ''} {info.pages or ''} {info.title or ''}{tail}")


if __name__ == "__main__":
    main()
