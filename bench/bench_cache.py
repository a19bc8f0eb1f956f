"""A second run over a --cache file against --dry-run over the same input: the issue's target.

    python bench/bench_cache.py [--urls 1000] [--rounds 9]

Serves --urls distinct pages from a local server (tests/servers.py), writes a chat log
with one of them per line, and fills a fresh cache file with one run of
``linkfilter -n -q --allow-private --cache FILE``. Bytecode is compiled first (one
warm-up run of each command, with bytecode writing allowed, into a private pycache
prefix so the tree is left alone). Then, in alternating rounds, times
``linkfilter -n --dry-run LOG`` and the same cached run; every cached round must make
no request and print one title per URL. Prints the medians and
``cached / dry-run`` against the target (under 1.5). Exits 0, or 1 if a cached round
fetched anything.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from servers import HTTPServer, page  # noqa: E402

from benchenv import child_env

#: The issue's bound on a second, cached run, as a multiple of --dry-run.
TARGET = 1.5

CMD = [sys.executable, "-m", "linkfilter"]


def timed(args: list[str], env: dict) -> tuple[float, bytes]:
    """Seconds of one run and its stdout."""
    t = time.perf_counter()
    p = subprocess.run(CMD + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       check=True)
    return time.perf_counter() - t, p.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    with HTTPServer() as server, tempfile.TemporaryDirectory() as directory:
        for i in range(args.urls):
            server.route(f"/page/{i}", page(f"<html><head><title>Page number {i}</title>"
                                            f"</head><body>{'text ' * 50}</body></html>"))
        log = os.path.join(directory, "chat.log")
        with open(log, "w") as f:
            f.writelines(f"[12:00:{i % 60:02d}] <nick{i % 7}> have a look at "
                         f"{server.url(f'/page/{i}')} it is good\n" for i in range(args.urls))
        cache = os.path.join(directory, "cache.sqlite3")
        env = child_env(os.path.join(directory, "pycache"))
        dry = ["-n", "--dry-run", log]
        cached = ["-n", "-q", "--allow-private", "--cache", cache, log]

        timed(dry, env)  # bytecode compiled and written, page cache warm
        _, out = timed(cached, env)  # fills the cache (and compiles the fetch path)
        assert server.requests and len(out.splitlines()) == args.urls, "the first run failed"
        fetched = len(server.requests)

        dry_times, cached_times = [], []
        for _ in range(args.rounds):
            seconds, out = timed(dry, env)
            dry_times.append(seconds)
            assert len(out.splitlines()) == args.urls
            seconds, out = timed(cached, env)
            cached_times.append(seconds)
            if len(server.requests) != fetched or len(out.splitlines()) != args.urls:
                print("a cached round fetched or lost a URL", file=sys.stderr)
                return 1

    dry_median, cached_median = statistics.median(dry_times), statistics.median(cached_times)
    ratio = cached_median / dry_median
    print(f"linkfilter --dry-run over {args.urls} URLs:       {dry_median * 1000:8.1f} ms "
          f"(median of {args.rounds})")
    print(f"linkfilter --cache, second run, {args.urls} URLs: {cached_median * 1000:8.1f} ms "
          f"(median of {args.rounds}; no request made)")
    print(f"cached / dry-run: {ratio:.2f} (target: under {TARGET}) "
          f"{'ok' if ratio < TARGET else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
