"""CPU per URL of ``worker.describe`` on a small page, in process, from a local keep-alive server.

Describes ``URLS`` different URLs (a 2 KB page titled "Page number one") through one
Fetcher and prints the process CPU time per URL, best and median of the rounds. Run it
with an older checkout's package on PYTHONPATH to compare (alternate the two, take medians).
Needs the test extras. Run: python3 bench/bench_describe.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from servers import HTTPServer, page  # noqa: E402

from linkfilter import worker  # noqa: E402
from linkfilter.fetch import Fetcher  # noqa: E402
from linkfilter.settings import Settings  # noqa: E402

URLS = 500
ROUNDS = 7
PAGE = (b"<html><head><title>Page number one</title></head><body>"
        + b"<p>some words of text</p>" * 76 + b"</body></html>")


def main() -> None:
    settings = Settings(allow_private=True)
    with HTTPServer() as server:
        for i in range(URLS):
            server.route(f"/p/{i}", page(PAGE))
        urls = [server.url(f"/p/{i}") for i in range(URLS)]
        per_url = []
        with Fetcher(settings) as fetcher:
            worker.describe(fetcher, urls[0], urls[0], 1, "h", settings)  # warm: imports, connection
            for _ in range(ROUNDS):
                cpu = time.process_time()
                for url in urls:
                    result = worker.describe(fetcher, url, url, 1, "h", settings)
                    assert result.title == "Page number one", result
                per_url.append((time.process_time() - cpu) / URLS)
    per_url.sort()
    print(f"describe, small page, CPU per URL: best {per_url[0] * 1e6:6.0f} us, "
          f"median {per_url[len(per_url) // 2] * 1e6:6.0f} us")


if __name__ == "__main__":
    main()
