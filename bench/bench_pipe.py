"""Speed of the pipe, as ratios against baselines run in the same process tree.

    python bench/bench_pipe.py [--size-mb 100] [--runs 3]

1. bulk echo: ``cat log | linkfilter`` against ``cat log | cat`` on a log without URLs (target < 4x);
2. chat log with a link every 50 lines, ``--dry-run``, against ``cat log | cat`` (target < 6x);
3. echo latency of an interactive line while every worker is stuck on a slow server (target < 5 ms median);
4. startup on empty input against ``python -c 'import click'`` (target < 1.5x).

Python runs with its bytecode cache allowed (PYTHONDONTWRITEBYTECODE unset) after one
warm-up run, as an installed package runs. Each timing is the best of --runs runs; output goes through a pipe to ``cat > /dev/null``, as it would
to a consumer (the /dev/null-only figure is printed too). Prints one line per measure; exits 0.
"""

from __future__ import annotations

import argparse
import http.server
import os
import random
import select
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time

LINKFILTER = [sys.executable, "-m", "linkfilter"]
#: The environment of every run: bytecode may be cached, as pip does for installed packages.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
WORDS = (
    "the a of to and it is that was for on are with as I his they be at one have this from or had by hot "
    "word but what some we can out other were all there when up use your how said each she which do their "
    "time if will way about many then them would write like so these her long make thing see him two has"
).split()


def make_plain(path: str, size: int) -> None:
    rnd = random.Random(1)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            line = (" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 15))).capitalize() + ".\n").encode()
            f.write(line)
            written += len(line)


def make_chat(path: str, size: int) -> None:
    rnd = random.Random(2)
    extras = ["", " ok.", " see a/b", " 3.14 is pi", " ./run.sh", " and/or", " e.g. this...", " 10:30?"]
    with open(path, "wb") as f:
        written = n = 0
        while written < size:
            n += 1
            stamp = "[%02d:%02d:%02d] <nick%d> " % (n // 3600 % 24, n // 60 % 60, n % 60, n % 17)
            body = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 15))).capitalize()
            if n % 50 == 0:
                body += " https://example%d.com/path/%d?x=1." % (n % 997, n)
            line = (stamp + body + rnd.choice(extras) + "\n").encode()
            f.write(line)
            written += len(line)


def best(command: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["sh", "-c", command], check=True, env=ENV)
        times.append(time.perf_counter() - start)
    return min(times)


def ratio_line(name: str, ours: float, base: float, target: float) -> str:
    ratio = ours / base
    verdict = "ok" if ratio <= target else "over target"
    return f"{name}: {ours:.3f}s vs {base:.3f}s = {ratio:.2f}x (target < {target}x, {verdict})"


def bulk(path: str, extra: str, runs: int, name: str, target: float) -> None:
    lf = " ".join(shlex.quote(a) for a in LINKFILTER) + extra
    for sink, label in (("| cat > /dev/null", "through a pipe"), ("> /dev/null", "to /dev/null")):
        base = best(f"cat {path} | cat {sink}", runs)
        ours = best(f"cat {path} | {lf} {sink}", runs)
        line = ratio_line(f"{name} ({label})", ours, base, target)
        if sink == "> /dev/null":  # cat then never copies a byte: the target is on the pipe
            line = line.split(" (target")[0] + " (for reference: the target is on the pipe figure)"
        print(line)


class _Stuck(http.server.BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self):
        self.release.wait(30)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<title>late</title>")

    def log_message(self, *args):
        pass


def latency(lines: int = 200, workers: int = 2) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stuck)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    proc = subprocess.Popen(
        LINKFILTER + ["-w", str(workers), "--allow-private", "-t", "30", "-q"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=ENV,
    )
    fd = proc.stdout.fileno()

    def send_and_time(line: bytes) -> float:
        start = time.perf_counter()
        os.write(proc.stdin.fileno(), line)
        got = b""
        while not got.endswith(b"\n"):
            ready, _, _ = select.select([fd], [], [], 5)
            if not ready:
                raise SystemExit("no echo within 5 s")
            got += os.read(fd, 65536)
        return time.perf_counter() - start

    try:
        for i in range(workers * 3):  # every worker busy, and URLs waiting in the queue
            send_and_time(f"busy http://127.0.0.1:{port}/{i}\n".encode())
        samples = [send_and_time(b"an interactive line of chat\n") for _ in range(lines)]
    finally:
        _Stuck.release.set()
        proc.stdin.close()
        proc.wait(30)
        server.shutdown()
    median = statistics.median(samples) * 1000
    verdict = "ok" if median < 5 else "over target"
    print(f"echo latency with {workers} workers busy: median {median:.2f} ms, "
          f"p90 {sorted(samples)[int(len(samples) * 0.9)] * 1000:.2f} ms (target < 5 ms, {verdict})")


def startup(runs: int) -> None:
    def timed(argv: list[str]) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, stdin=subprocess.DEVNULL, check=True, env=ENV)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    base = timed([sys.executable, "-c", "import click"])
    ours = timed(LINKFILTER)
    print(ratio_line("startup on empty input vs import click (median)", ours, base, 1.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * 1_000_000
    warm_up = "x http://127.0.0.1:9/ www.example.com\n"
    subprocess.run(LINKFILTER + ["-q", "-t", "1"], input=warm_up.encode(), env=ENV, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        plain, chat = os.path.join(tmp, "plain.log"), os.path.join(tmp, "chat.log")
        make_plain(plain, size)
        make_chat(chat, size)
        bulk(plain, "", args.runs, f"bulk echo, {args.size_mb} MB without URLs", 4)
        bulk(chat, " --dry-run", args.runs, f"chat log, {args.size_mb} MB, --dry-run", 6)
    latency()
    startup(max(args.runs, 10))


if __name__ == "__main__":
    main()
