"""Time find_urls and display_host on typical chat lines, and find_urls on hostile 1 MiB lines.

For each typical line: microseconds per line for find_urls, and for
display_host on every URL found in it (best of several runs, as the pipeline
calls them on a line holding ``://`` or ``www.``). For each hostile line: its
time and its ratio to ``str.lower()`` + ``str.find`` over the same line (the
floor of a scan that looks at every character once).
Run: python3 bench/bench_urls.py
"""

from __future__ import annotations

import time
import timeit

from linkfilter.urls import MAX_SCAN, display_host, find_urls

TYPICAL = [
    "[12:34:56] <nick3> look at https://example42.com/path/1234?x=1. it is great",
    "[12:34:56] <nick3> www.example.org/a/b and http://foo.bar.example/x_(y)",
    "12:01:33 <alice> look at https://en.wikipedia.org/wiki/Foo_(bar), it's neat.",
    "12:01:40 <bob> (mirror: www.example.org/path/to/file.tar.gz?x=1&y=2)",
    "12:02:02 <carol> http://user:pw@[2001:db8::1]:8080/a/b/c#frag and https://straße.de/ä",
]

HOSTILE = {
    "dots and slashes": ("a./b:" * (MAX_SCAN // 5))[:MAX_SCAN],
    "many www. starts": ("(www." * (MAX_SCAN // 5))[:MAX_SCAN],
    "many schemes, bad hosts": ("http://_" * (MAX_SCAN // 8))[:MAX_SCAN],
    "many short URLs": ("http://a.b " * (MAX_SCAN // 11))[:MAX_SCAN],
    "one URL, closers": "http://a.b/" + ")" * (MAX_SCAN - 11),
    "one URL, brackets": "http://a.b/" + "()" * ((MAX_SCAN - 11) // 2),
    "long userinfo-ish": ("http://" + "u" * 250 + "!") * (MAX_SCAN // 258),
    "bad hosts before paths": ("http://a..b/" * (MAX_SCAN // 12))[:MAX_SCAN],
    "www. after marks, dots": "www.\u0301" * (MAX_SCAN // 10) + "." * (MAX_SCAN // 2),
    "one huge host": "http://" + "a" * MAX_SCAN,
    "nested URLs past the cut": "http://a.b/" * (MAX_SCAN // 10) + "x",
}


def best_of(fn, arg, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t)
    return best


def per_call_us(stmt, number: int = 20000) -> float:
    """Microseconds per call of ``stmt``, best of 7 runs (the least disturbed)."""
    return min(timeit.repeat(stmt, number=number, repeat=7)) / number * 1e6


def display_all(urls: list[str]) -> None:
    for url in urls:
        display_host(url)


def floor(s: str) -> None:
    low = s.lower()
    low.find("www.\0")
    s.find("://\0")


def main() -> None:
    print("typical lines, us per line:   find_urls  display_host  URLs")
    for line in TYPICAL:
        urls = [found.url for found in find_urls(line)]
        find_us = per_call_us(lambda line=line: find_urls(line))
        display_us = per_call_us(lambda urls=urls: display_all(urls))
        print(f"  {line[:44]:44s} {find_us:6.2f}  {display_us:8.2f}  {len(urls):8d}")
    for name, line in HOSTILE.items():
        took = best_of(find_urls, line)
        base = best_of(floor, line)
        print(f"{name:28s} {took * 1e3:8.1f} ms  {took / base:8.0f}x lower+find")


if __name__ == "__main__":
    main()
