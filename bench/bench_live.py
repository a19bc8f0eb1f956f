"""Echo latency of the live pipe while every worker is stuck, with ``cat`` alongside.

    python bench/bench_live.py [--rounds 5] [--samples 300] [--pending 1000] [--source DIR]

Each round starts ``linkfilter --allow-private -t 600`` (default ``-w 8``, ``--per-host 4``)
on two local sites that accept connections and never answer: 8 link lines put every
worker on them, then ``--pending`` (1,000) more link lines wait in the pending list. Then,
``--samples`` times each, in turn:

1. a chat line without a link: time from its write to its whole echo on stdout;
2. a line with a link (one more URL pending): the same;
3. a partial line, a prompt without a newline: time until its bytes reach stdout (the
   newline that ends it is sent and read afterwards, untimed).

Targets (issue 7): under 5 ms median and 20 ms p99 for each. The same three measures on
``cat`` (the floor: two pipe hops and a process wake-up) run in the same round, in
alternating order. Prints each round's median and p99 per measure, then the median over
rounds next to the target. ``--source DIR`` runs the linkfilter package found in DIR
instead of the installed one (``git worktree add DIR COMMIT``, to time another commit).
Exits 0; 1 if an echo does not come within 5 s (a frozen pipe).
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchenv import child_env

LINKFILTER = [sys.executable, "-m", "linkfilter"]
#: Targets of issue 7, in milliseconds.
TARGET_MEDIAN = 5.0
TARGET_P99 = 20.0
#: An echo slower than this is a frozen pipe: the bench stops.
FROZEN = 5.0
MEASURES = ("chat line", "link line", "partial line")


class Stuck:
    """A site that accepts connections and never answers (the request stays unread)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.accepted = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.accepted:
                self.held.append(sock)
                self.accepted.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self.accepted:
            return self.accepted.wait_for(lambda: len(self.held) >= count, timeout)

    def close(self) -> None:
        self.listener.close()
        with self.accepted:
            for sock in self.held:
                sock.close()


class Pipe:
    """A child process on two pipes, written and read with deadlines."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.fd_in = self.proc.stdin.fileno()
        self.fd_out = self.proc.stdout.fileno()

    def expect(self, count: int) -> None:
        """Read exactly ``count`` bytes of output."""
        got = 0
        deadline = time.monotonic() + FROZEN
        while got < count:
            if not select.select([self.fd_out], [], [], max(deadline - time.monotonic(), 0))[0]:
                raise SystemExit(f"no echo within {FROZEN} s: the pipe froze")
            chunk = os.read(self.fd_out, count - got)
            if not chunk:
                raise SystemExit("the pipe ended early")
            got += len(chunk)

    def timed(self, data: bytes) -> float:
        """Seconds from writing ``data`` to reading its echo."""
        started = time.perf_counter()
        os.write(self.fd_in, data)
        self.expect(len(data))
        return time.perf_counter() - started

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def measure(pipe: Pipe, samples: int, link) -> dict[str, list[float]]:
    """The three measures, ``samples`` of each, interleaved."""
    got: dict[str, list[float]] = {name: [] for name in MEASURES}
    for i in range(samples):
        got["chat line"].append(pipe.timed(f"<nick{i % 7}> a line of chat number {i}\n".encode()))
        got["link line"].append(pipe.timed(f"<nick{i % 7}> look: {link(i)}\n".encode()))
        got["partial line"].append(pipe.timed(f"prompt {i}> ".encode()))
        pipe.timed(b"\n")
    return got


def linkfilter_round(samples: int, pending: int, env: dict[str, str]) -> dict[str, list[float]]:
    sites = [Stuck(), Stuck()]
    pipe = Pipe(LINKFILTER + ["--allow-private", "-t", "600", "-q"], env)
    try:

        def link(i: int) -> str:
            return f"http://127.0.0.1:{sites[i % 2].port}/page/{i}"

        busy = "".join(f"{link(i)}\n" for i in range(8)).encode()
        pipe.timed(busy)
        if not all(site.wait_for(4) for site in sites):
            raise SystemExit("the workers never reached the stuck sites")
        pipe.timed("".join(f"queued {link(i)}\n" for i in range(8, 8 + pending)).encode())
        return measure(pipe, samples, lambda i: link(8 + pending + i))
    finally:
        pipe.close()
        for site in sites:
            site.close()


def cat_round(samples: int, env: dict[str, str]) -> dict[str, list[float]]:
    pipe = Pipe(["cat"], env)
    try:
        return measure(pipe, samples, lambda i: f"http://127.0.0.1:9/page/{i}")
    finally:
        pipe.close()


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--pending", type=int, default=1000)
    parser.add_argument("--source", help="run the linkfilter package in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as pycache:
        env = child_env(pycache, os.path.abspath(args.source) if args.source else None)
        subprocess.run(LINKFILTER + ["--version"], env=env, check=True, capture_output=True)
        ours: dict[str, list[tuple[float, float]]] = {name: [] for name in MEASURES}
        base: dict[str, list[tuple[float, float]]] = {name: [] for name in MEASURES}
        for r in range(args.rounds):
            order = [("linkfilter", ours), ("cat", base)]
            for name, into in order if r % 2 == 0 else order[::-1]:
                if name == "cat":
                    got = cat_round(args.samples, env)
                else:
                    got = linkfilter_round(args.samples, args.pending, env)
                line = []
                for measure_name, values in got.items():
                    median, tail = statistics.median(values) * 1000, p99(values) * 1000
                    into[measure_name].append((median, tail))
                    line.append(f"{measure_name} {median:.2f}/{tail:.2f}")
                print(f"round {r + 1} {name:10} (median/p99 ms): " + ", ".join(line), flush=True)
    print(f"\n8 workers stuck, {args.pending} URLs pending, {args.samples} samples a measure, "
          f"median over {args.rounds} rounds:")
    for name in MEASURES:
        median = statistics.median(m for m, _ in ours[name])
        tail = statistics.median(t for _, t in ours[name])
        cat_median = statistics.median(m for m, _ in base[name])
        cat_tail = statistics.median(t for _, t in base[name])
        verdict = "ok" if median < TARGET_MEDIAN and tail < TARGET_P99 else "over target"
        print(f"{name:13} echo latency: median {median:.2f} ms, p99 {tail:.2f} ms "
              f"(target < {TARGET_MEDIAN:g} ms, < {TARGET_P99:g} ms: {verdict}); "
              f"cat: median {cat_median:.2f} ms, p99 {cat_tail:.2f} ms")


if __name__ == "__main__":
    main()
