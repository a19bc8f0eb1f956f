"""Memory of a long run: peak RSS after 100,000 and after 200,000 distinct URLs.

    python bench/bench_memory.py [--urls 200000] [--rounds 3] [--source DIR]

Each round runs ``linkfilter --allow-private -n -q`` (defaults otherwise: 8 workers, 4 per
host, 100,000 cached results at most) with --urls distinct URL lines fed on stdin at full
speed (reading pauses at ``--max-pending``, 10,000), against a local server, in a process
of its own, that answers every request at once with a tiny page of its own title. While
the run goes, the child's own peak RSS (``VmHWM`` in ``/proc/PID/status``) is read when
1,000, half of --urls and all of them have been answered (counted from the result lines
on stdout); ``ru_maxrss`` from ``wait4`` at its end cross-checks the last figure.

Targets (issue 7): under 120 MiB at both checkpoints, and the figure at 200,000 within
10% of the one at 100,000 (the result cache is full by 100,000: past that, memory stays
flat). Prints each round, then the medians over rounds next to the targets and the
throughput. ``--source DIR`` runs the linkfilter package in DIR instead of the installed
one. Exits 0; 1 if the run stalls (no result for 30 s) or fails.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchenv import child_env

LINKFILTER = [sys.executable, "-m", "linkfilter"]
#: Targets of issue 7.
TARGET_MIB = 120.0
TARGET_GROWTH = 0.10
#: Longest wait for the next result line before the round is called stalled.
STALL = 30.0

#: The server: HTTP/1.1 keep-alive, one thread, every answer at once and in one write.
SERVER = r"""
import selectors, socket, sys

listener = socket.create_server(("127.0.0.1", 0), backlog=128)
print(listener.getsockname()[1], flush=True)
selector = selectors.DefaultSelector()
selector.register(listener, selectors.EVENT_READ)
pending = {}
while True:
    for key, _ in selector.select():
        sock = key.fileobj
        if sock is listener:
            conn, _ = listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            selector.register(conn, selectors.EVENT_READ)
            pending[conn] = b""
            continue
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            selector.unregister(sock)
            pending.pop(sock, None)
            sock.close()
            continue
        buf = pending[sock] + data
        out = []
        while b"\r\n\r\n" in buf:
            head, _, buf = buf.partition(b"\r\n\r\n")
            path = head.split(b" ", 2)[1]
            body = b"<title>Page " + path + b"</title>"
            out.append(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        pending[sock] = buf
        if out:
            sock.sendall(b"".join(out))
"""


def status_kib(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/PID/status`` (VmHWM: the peak resident set so far)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/{pid}/status")


def feed(fd: int, port: int, urls: int) -> None:
    """Write the URL lines at full speed (the child's reading sets the pace), then EOF."""
    try:
        for start in range(0, urls, 1000):
            block = "".join(f"http://127.0.0.1:{port}/u/{i}\n" for i in range(start, min(start + 1000, urls)))
            os.write(fd, block.encode())
    finally:
        os.close(fd)


def one_round(port: int, urls: int, env: dict[str, str]) -> dict[str, float]:
    """Run linkfilter over ``urls`` distinct URLs; peak RSS in MiB at each checkpoint."""
    checkpoints = {1000: "after 1,000", urls // 2: f"after {urls // 2:,}", urls: f"after {urls:,}"}
    proc = subprocess.Popen(LINKFILTER + ["--allow-private", "-n", "-q"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)
    feeder = threading.Thread(target=feed, args=(os.dup(proc.stdin.fileno()), port, urls), daemon=True)
    proc.stdin.close()
    started = time.monotonic()
    feeder.start()
    got: dict[str, float] = {}
    fd = proc.stdout.fileno()
    done = 0
    while done < urls:
        if not select.select([fd], [], [], STALL)[0]:
            proc.kill()
            raise SystemExit(f"stalled: no result for {STALL} s after {done} of {urls}")
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise SystemExit(f"linkfilter ended after {done} of {urls} results")
        before, done = done, done + chunk.count(b"\n")
        for at, name in checkpoints.items():
            if before < at <= done:
                got[name] = status_kib(proc.pid, "VmHWM") / 1024
    got["seconds"] = time.monotonic() - started
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    feeder.join()
    if proc.returncode != 0:
        raise SystemExit(f"linkfilter exited with {proc.returncode}")
    got["ru_maxrss at exit"] = usage.ru_maxrss / 1024
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--source", help="run the linkfilter package in this directory")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE)
    try:
        port = int(server.stdout.readline())
        with tempfile.TemporaryDirectory() as pycache:
            env = child_env(pycache, os.path.abspath(args.source) if args.source else None)
            subprocess.run(LINKFILTER + ["--version"], env=env, check=True, capture_output=True)
            rounds = []
            for r in range(args.rounds):
                got = one_round(port, args.urls, env)
                rounds.append(got)
                print(f"round {r + 1}: " + ", ".join(
                    f"{k} {v:.1f} s" if k == "seconds" else f"{k} {v:.1f} MiB" for k, v in got.items()
                ), flush=True)
    finally:
        server.kill()
        server.wait()
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    half, full = f"after {args.urls // 2:,}", f"after {args.urls:,}"
    growth = median[full] / median[half] - 1
    fits = median[half] < TARGET_MIB and median[full] < TARGET_MIB
    print(f"\npeak RSS, median over {args.rounds} rounds: after 1,000 URLs {median['after 1,000']:.1f} MiB, "
          f"{half} {median[half]:.1f} MiB, {full} {median[full]:.1f} MiB "
          f"(target < {TARGET_MIB:g} MiB: {'ok' if fits else 'over target'}); "
          f"growth {growth:+.1%} (target within {TARGET_GROWTH:.0%}: "
          f"{'ok' if abs(growth) <= TARGET_GROWTH else 'over target'}); "
          f"ru_maxrss at exit {median['ru_maxrss at exit']:.1f} MiB; "
          f"{args.urls / median['seconds']:,.0f} URLs/s")


if __name__ == "__main__":
    main()
