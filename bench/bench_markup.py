"""Feeding the markup scanner in pieces: time per byte at 1 MiB against 64 KiB, and pieces against whole.

For the realistic page of bench_title.py, the hostile shapes of tests/test_markup.py
(an open tag full of quoted ">", a tag of many ``b=">"`` ...) and every string
literal with markup in the test files (each repeated to the size), fed in pieces
of 16 bytes to 64 KiB: the time per byte at 1 MiB as a ratio to the time per
byte at 64 KiB (target: at most 1.5x; a quadratic scanner gives about 16x), and
for the realistic page, the time in 64-byte pieces as a ratio to feeding it
whole (target: at most 3x).  Then the hostile shapes through TitleSniffer, as
the fetcher feeds a page sent in 64-byte chunks, at 53 KiB and 1 MiB (53 KiB
took 6 s before the scanner was made linear).  CPU time of this thread (a busy
machine's other processes do not count), best of ROUNDS alternating rounds; a
literal is timed once, and again (best of ROUNDS) only when its ratio looks high.

    python3 bench/bench_markup.py            # everything (several minutes)
    python3 bench/bench_markup.py --quick    # the literals in 64-byte pieces only
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench_title import build_page  # noqa: E402
from test_markup import HOSTILE, feed, markup_literals, repeated  # noqa: E402

from linkfilter.title import TitleSniffer  # noqa: E402

SMALL = 64 * 1024
BIG = 1024 * 1024
PIECES = (16, 64, 1024, 64 * 1024)
ROUNDS = 5
LOOKS_HIGH = 1.3


def per_byte(text: str, piece: int) -> float:
    gc.disable()
    try:
        started = time.thread_time()
        feed(text, piece)
        return (time.thread_time() - started) / len(text)
    finally:
        gc.enable()


def best_per_byte(text_of, pieces, rounds: int) -> dict[tuple[int, int], float]:
    """Best seconds per character for each (size, piece), the cases alternating within each round."""
    texts = {size: text_of(size) for size in (SMALL, BIG)}
    cases = [(size, piece) for size in (SMALL, BIG) for piece in pieces]
    best: dict[tuple[int, int], float] = {}
    for r in range(rounds):
        for size, piece in cases[::-1] if r % 2 else cases:
            t = per_byte(texts[size], piece)
            best[size, piece] = min(best.get((size, piece), t), t)
    return best


def growth(best: dict[tuple[int, int], float], pieces) -> list[float]:
    return [best[BIG, p] / best[SMALL, p] for p in pieces]


def report(name: str, best: dict[tuple[int, int], float], pieces) -> float:
    """Print one line: ns per byte at 1 MiB and the 1 MiB / 64 KiB ratio, for each piece size."""
    ratios = growth(best, pieces)
    cells = "  ".join(f"{p:>5}: {best[BIG, p] * 1e9:4.0f} ns {r:4.2f}x" for p, r in zip(pieces, ratios))
    print(f"{name[:30]:30} {cells}")
    return max(ratios)


def sniff(body: bytes, chunk: int) -> float:
    """CPU seconds for TitleSniffer to take ``body`` in chunks, until it has enough."""
    sniffer = TitleSniffer(None)
    started = time.thread_time()
    for at in range(0, len(body), chunk):
        if sniffer.feed(body[at:at + chunk]):
            break
    return time.thread_time() - started


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    worst = 0.0
    print("ns per byte at 1 MiB in pieces of each size, and the ratio to the ns per byte at 64 KiB")
    if not quick:
        page = build_page("The End &amp; more")
        best = best_per_byte(lambda n: page[:n], PIECES + (BIG,), ROUNDS)
        worst = max(worst, report("realistic page (bench_title)", best, PIECES))
        print(f"{'':30} 64-byte pieces / whole: {best[BIG, 64] / best[BIG, BIG]:4.2f}x (target <= 3x)")
        for name, shape in HOSTILE.items():
            worst = max(worst, report(name, best_per_byte(shape, PIECES, ROUNDS), PIECES))
        print("\nthrough TitleSniffer in 64-byte chunks (ms, best of 3):")
        for name, shape in HOSTILE.items():
            times = [min(sniff(shape(n).encode(), 64) for _ in range(3)) for n in (53 * 1024, BIG)]
            print(f"  {name[:30]:30} 53 KiB {times[0] * 1e3:6.1f} ms   1 MiB {times[1] * 1e3:7.1f} ms")
    pieces = (64,) if quick else PIECES
    literals = markup_literals()
    results = []
    for literal in literals:
        def text_of(n: int, s: str = literal) -> str:
            return repeated(s, n)

        best = best_per_byte(text_of, pieces, 1)
        if max(growth(best, pieces)) > LOOKS_HIGH:
            best = best_per_byte(text_of, pieces, ROUNDS)
        results.append((max(growth(best, pieces)), literal))
    results.sort(reverse=True)
    print(f"\n{len(literals)} literals with markup in tests/, each repeated to the size, "
          f"in {'64-byte pieces' if quick else 'pieces of ' + ', '.join(map(str, pieces)) + ' bytes'}:")
    for ratio, literal in results[:5]:
        print(f"  {ratio:4.2f}x  {literal[:70]!r}")
    print(f"  median {results[len(results) // 2][0]:4.2f}x")
    worst = max(worst, results[0][0])
    print(f"\nworst 1 MiB / 64 KiB ratio of the time per byte: {worst:4.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
