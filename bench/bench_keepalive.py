"""Connection reuse: 100 URLs to one local host through one Fetcher, with and without TLS.

For each scheme, prints the TCP (and TLS) handshakes the server counted and their ratio
to the 100 a fetcher without keep-alive makes, and the time against a fresh Fetcher per
URL (which is what no reuse costs). Pages are read as the worker reads them: a sink that
has enough at ``</title>`` (the rest of the page is drained so the connection stays).
Needs the test extras (trustme). Run: python3 bench/bench_keepalive.py
"""

from __future__ import annotations

import ssl
import sys
import time
from pathlib import Path

import trustme

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from servers import HTTPServer, page  # noqa: E402

from linkfilter.fetch import Fetcher  # noqa: E402
from linkfilter.settings import Settings  # noqa: E402

URLS = 100
PAGE = b"<html><head><title>Bench</title></head><body>" + b"<p>text</p>" * 400 + b"</body></html>"


class UntilTitle:
    def __init__(self, charset: str | None) -> None:
        self.seen = b""

    def feed(self, data: bytes) -> bool:
        self.seen += data
        return b"</title>" in self.seen


def run(server: HTTPServer, client: ssl.SSLContext, *, reuse: bool) -> tuple[int, float]:
    """(connections the server saw, seconds) for URLS fetches."""
    settings = Settings(allow_private=True, timeout=10)
    before = server.connections
    started = time.perf_counter()
    fetcher = Fetcher(settings, client)
    for i in range(URLS):
        if not reuse:
            fetcher.close()
            fetcher = Fetcher(settings, client)
        result = fetcher.fetch(server.url(f"/?n={i}"), sink_factory=UntilTitle)
        assert result.status == 200, result
    fetcher.close()
    return server.connections - before, time.perf_counter() - started


def main() -> None:
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client)
    for label, tls in (("http ", None), ("https", server_context)):
        with HTTPServer(tls=tls) as server:
            server.route("/", page(PAGE))
            run(server, client, reuse=True)  # warm up
            kept, kept_time = run(server, client, reuse=True)
            fresh, fresh_time = run(server, client, reuse=False)
        print(
            f"{label}: {URLS} URLs, {kept} handshake(s) with keep-alive "
            f"(ratio {kept / URLS:.2f} of one per URL; without reuse: {fresh}); "
            f"{kept_time * 1000:.0f} ms vs {fresh_time * 1000:.0f} ms "
            f"without reuse ({fresh_time / kept_time:.1f}x faster)"
        )


if __name__ == "__main__":
    main()
