"""Speed of the persistent cache: microseconds per get and put, and what it adds to a cached run.

    python bench/bench_store.py [--urls 1000] [--rounds 7]

Each round, in a fresh file: opens the store, puts --urls new keys, puts them again
(replacing), closes, reopens, gets every key (all hits), gets as many absent keys
(misses), closes. Prints the median over the rounds of each measure in
microseconds per operation. Then the issue's figure, estimated from this module
alone: a second run over --urls cached URLs must take under 1.5x ``--dry-run``
over the same input; what the store adds to such a run (open + every get +
close) is set against ``linkfilter --dry-run`` over those URLs (bytecode cache
allowed, after a warm-up; median of as many runs, alternated with the rounds) as
(dry-run + store) / dry-run. The end-to-end
figure needs the pipeline's wiring. Exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from linkfilter.result import Result
from linkfilter.store import Store, namespace

#: The environment of the --dry-run baseline: bytecode may be cached, as for an installed package.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
NAMESPACE = namespace(max_bytes=1 << 20, max_title=200, accept_language="en", user_agent="linkfilter",
                      allow_private=False)


def result(i: int) -> Result:
    url = f"https://example{i % 97}.com/some/path/{i}?q={i * 7}"
    return Result(url=url, line=i, host=f"example{i % 97}.com", final_url=url, status=200,
                  title=f"A page title of ordinary length, number {i}", content_type="text/html",
                  content_length=12345 + i, charset="utf-8", charset_source="header")


def one_round(directory: str, n: int) -> dict[str, float]:
    """Seconds per operation for each measure, in a fresh file under ``directory``."""
    path = os.path.join(directory, f"cache-{time.monotonic_ns()}.sqlite3")
    results = [result(i) for i in range(n)]
    timings = {}

    t = time.perf_counter()
    store = Store.open(path, ttl=3600, failure_ttl=60, namespace=NAMESPACE)
    timings["open (new file)"] = time.perf_counter() - t
    t = time.perf_counter()
    for r in results:
        store.put(r.url, r)
    timings["put (new key)"] = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for r in results:
        store.put(r.url, r)
    timings["put (replacing)"] = (time.perf_counter() - t) / n
    store.close()

    t0 = time.perf_counter()
    store = Store.open(path, ttl=3600, failure_ttl=60, namespace=NAMESPACE)
    t1 = time.perf_counter()
    hits = [store.get_many([r.url]) for r in results]  # one URL per lookup: the worst case
    t2 = time.perf_counter()
    store.close()
    t3 = time.perf_counter()
    assert all(hits), "a stored key was missing"
    timings["open (existing file)"] = t1 - t0
    timings["get (hit)"] = (t2 - t1) / n
    timings["close"] = t3 - t2
    timings["cached run: open + gets + close"] = t3 - t0

    store = Store.open(path, ttl=3600, failure_ttl=60, namespace=NAMESPACE)
    t = time.perf_counter()
    misses = [store.get_many([r.url + "#absent"]) for r in results]
    timings["get (miss)"] = (time.perf_counter() - t) / n
    store.close()
    assert not any(misses)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    return timings


def dry_run(input_path: str) -> float:
    """Seconds of ``linkfilter --dry-run`` over ``input_path``, output to /dev/null."""
    with open(input_path, "rb") as stdin:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "linkfilter", "--dry-run"], stdin=stdin,
                       stdout=subprocess.DEVNULL, check=True, env=ENV)
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rounds, dry_runs = [], []
    with tempfile.TemporaryDirectory() as directory:
        input_path = os.path.join(directory, "chat.log")
        with open(input_path, "w") as f:
            f.writelines(f"[12:00:00] <nick> have a look at {result(i).url} it is good\n"
                         for i in range(args.urls))
        one_round(directory, args.urls)  # warm-up: imports, page cache
        dry_run(input_path)
        for _ in range(args.rounds):
            rounds.append(one_round(directory, args.urls))
            dry_runs.append(dry_run(input_path))
    for name in rounds[0]:
        median = statistics.median(r[name] for r in rounds)
        per = "per op" if name.startswith(("get", "put")) else "in all"
        print(f"{name:34s} {median * 1e6:10.1f} us {per}")
    cached = statistics.median(r["cached run: open + gets + close"] for r in rounds)
    baseline = statistics.median(dry_runs)
    print(f"{'linkfilter --dry-run':34s} {baseline * 1e6:10.1f} us in all")
    print(f"(dry-run + store) / dry-run over {args.urls} URLs: {(baseline + cached) / baseline:.2f} "
          "(target: well under 1.5)")


if __name__ == "__main__":
    main()
