"""How often held-out titles come out right, by language, kind of title and where the hint is.

Titles of 1-3 words, of 4-10 words, and pages with body text, made from
faker's localized data in 42 locales (36 languages) and encoded in their
languages' legacy encodings (``tests/heldout.py``), read as the program reads them, with the page's
language said in ``<html lang>``, in Content-Language, by the country domain,
or nowhere (the default ``--accept-language`` only).  Prints the share right
per cell; ``--json FILE`` also writes the counts (``tests/heldout_baseline.json``
is this file from the code before the hint rules of the held-out check).
``--wrong`` lists the cases that came out wrong.

    python3 bench/hint_table.py [--json FILE] [--wrong]
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import heldout  # noqa: E402


def main() -> None:
    started = time.perf_counter()
    all_cases = list(heldout.cases())
    counts = heldout.table(iter(all_cases))
    places = heldout.PLACES
    print(f"{len(all_cases)} cases, {time.perf_counter() - started:.1f} s; share right (%), "
          "by kind of title and where the language is said")
    print(f"{'':6}" + "".join(f"| {kind:^23}" for kind in heldout.KINDS))
    print(f"{'':6}" + "".join("| " + " ".join(f"{p:>5}" for p in places) for _ in heldout.KINDS))
    totals: dict[tuple[str, str], list[int]] = {}
    for language in heldout.languages(counts):
        cells = []
        for kind in heldout.KINDS:
            for place in places:
                cell = counts.get((language, kind, place))
                cells.append("    -" if cell is None else f"{100 * cell[0] / cell[1]:5.0f}")
                if cell is not None:
                    total = totals.setdefault((kind, place), [0, 0])
                    total[0] += cell[0]
                    total[1] += cell[1]
        print(f"{language:6}" + "".join("| " + " ".join(cells[k:k + len(places)]) + " "
                                       for k in range(0, len(cells), len(places))))
    print(f"{'all':6}" + "".join("| " + " ".join(f"{100 * totals[(kind, p)][0] / totals[(kind, p)][1]:5.1f}"
                                                   for p in places) + " " for kind in heldout.KINDS))
    if "--json" in sys.argv[1:]:
        path = sys.argv[sys.argv.index("--json") + 1]
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"|".join(key): cell for key, cell in sorted(counts.items())}, out, indent=0)
            out.write("\n")
    if "--wrong" in sys.argv[1:]:
        for case in all_cases:
            for place in places:
                if heldout.place_applies(case, place):
                    ok, charset, source = heldout.right(case, place)
                    if not ok:
                        print(f"{case.language:5} {case.codec:10} {case.kind:10} {place:6} -> {charset} "
                              f"({source}): {case.title!r}")


if __name__ == "__main__":
    main()
