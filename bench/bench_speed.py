"""Fetch speed against a stdlib thread pool, in one process tree; and the guard figures.

Issue 11 wants both printed by one bench: speed must not cost the pipe's echo figures.

    python bench/bench_speed.py [--urls 500] [--delay 0.1] [--workers 32] [--rounds 3]
                                [--log-mb 100] [--log-runs 3] [--echo-rounds 3]
                                [--echo-samples 300]
                                [--only bulk|one|startup|guard] [--source DIR]

``--source DIR`` runs the linkfilter package found in DIR (put first on PYTHONPATH) instead
of the installed one: to time a commit, ``git archive COMMIT linkfilter | tar -x -C DIR``.

Three speed measures, each a median over rounds in which the sides take turns to run first
(the order rotates by one each round), each printed with its ratio and the target:

1. bulk: 500 URLs that each answer after 100 ms, ``linkfilter -n -q -w 32 --allow-private
   --per-host 32`` fed the URL lines on stdin, against a script with
   ``ThreadPoolExecutor(32)``, ``urllib.request.urlopen`` and a ``<title>`` regex: wall
   time (target 1.0x) and CPU time (children's user + sys from ``getrusage``, target 1.1x).
   ``--per-host 32`` because every URL is on one local server and the pool has no per-host
   cap; the time the first request reaches the server is printed too. A third side, the
   floor, is the pool script with ``import click`` first (see 2.). ``--rounds`` (3) is best
   a multiple of 3, so that each side runs first equally often.
2. one URL, start to end: ``echo URL | linkfilter -n --allow-private`` against a stdlib
   one-URL script, on a page that answers at once (target 1.1x). A third side, the floor,
   is the same script with ``import click`` first: linkfilter's command line is click (a
   runtime dependency it keeps), and importing click alone costs about 40 ms, half of what
   the whole script takes, so no program that imports click reaches 1.1x here; the floor
   against the script is click's part of the gap, linkfilter against the floor its own.
   A fourth side is linkfilter's own path without click: the Settings and Pipeline that
   ``cli.main`` makes for ``-n --allow-private``, driven by a few lines of Python (what a
   run would cost if plain command lines were parsed without importing click).
   ``--quick-rounds`` (12) is a multiple of 4 (and 2) so each side runs first equally often.
3. start-up on empty input against ``python -c 'import click'`` (target 1.2x).

Then the guard figures, which the speed work must not cost (``--only guard`` alone):

4. bulk echo and URL finding, bench/bench_pipe.py's ``bulk``: ``cat log | linkfilter``
   against ``cat log | cat`` on a log without URLs (target < 4x), and a chat log with a link
   every 50 lines under ``--dry-run`` (target < 6x); best of ``--log-runs`` (3), through a
   pipe and to /dev/null. The logs are bench_pipe's, one 10 MB block of each repeated to
   ``--log-mb`` (100, bench_pipe's default): its generator takes 0.1-0.2 s a MB, and a
   smaller log does not do: at 20 MB ``cat`` takes about 20 ms and Python's start-up alone
   (~75 ms) is over 4x that. bench_pipe's functions take no environment (they read its
   module globals ``ENV``, which would write .pyc files into the source tree, and
   ``LINKFILTER``): both are set to this bench's, as bench_live's ``LINKFILTER`` is, so every
   section runs the same command in the same environment, ``--source`` included.
5. echo latency with every worker stuck, bench/bench_live.py's rounds (``-w 8``, 1,000 URLs
   pending): a chat line, a line with a link and a partial line, median and p99 per round,
   the median over ``--echo-rounds`` rounds (3, ``--echo-samples`` 300 each) against the
   targets 5 / 20 ms, next to ``cat``'s.

The output contract (results never split an echoed line) is not timed; the bench prints
the tests that check it (tests/test_writer.py, tests/test_e2e_echo.py).

How it avoids the traps of measuring on this machine:

- Bytecode: every child runs with ``PYTHONPYCACHEPREFIX`` set to a private directory and
  ``PYTHONDONTWRITEBYTECODE`` removed (it is set in this environment, and without a cache
  each run would compile linkfilter's modules again, 26-30 ms). ``compileall`` fills the
  cache for linkfilter, one untimed warm-up run of every command fills it for the rest
  (stdlib, click, chardet), and the bench checks that no .pyc was written while timing
  (the guard section included).
  The private directory leaves the source tree's ``__pycache__`` alone.
- The server sends each response in ONE write (head and body built first): a response
  split in two writes waits for a delayed ACK on a reused connection, about 40 ms. The
  100 ms delay is a timer on an asyncio loop, so the 32 requests in flight overlap and
  the accept loop never blocks. The server runs in a thread of this process, so its CPU
  is not in the children's figures. Every URL has its own path (linkfilter's cache would
  answer repeats without a request); the server checks it served each one once.
- ``PYTHONUNBUFFERED`` and proxy variables are removed from the children's environment:
  neither is what a user's shell has, and a proxy would take loopback traffic elsewhere.

Exits 0 unless a run fails (or an echo does not come within 5 s: a frozen pipe).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, TypeVar

import bench_live
import bench_pipe
from benchenv import child_env

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "linkfilter"

#: The installed console script when there is one (what a user runs), else ``-m``.
_SCRIPT = Path(sys.executable).with_name("linkfilter")
LINKFILTER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "linkfilter"]

#: The simplest alternative: a stdlib pool, urlopen, a regex; prints results as they come.
POOL_SCRIPT = r"""
import re, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            m = TITLE.search(r.read(1 << 20))
        return m.group(1).decode("utf-8", "replace").strip() if m else ""
    except Exception as e:
        return f"error: {e}"
urls = [line.strip() for line in sys.stdin if line.strip()]
with ThreadPoolExecutor(int(sys.argv[1])) as pool:
    for f in as_completed([pool.submit(fetch, u) for u in urls]):
        print(f.result())
"""

#: The same for one URL, without the pool.
ONE_SCRIPT = r"""
import re, sys, urllib.request
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
url = sys.stdin.readline().strip()
with urllib.request.urlopen(url, timeout=10) as r:
    m = TITLE.search(r.read(1 << 20))
print(m.group(1).decode("utf-8", "replace").strip() if m else "")
"""

#: The floor of any click command: the one-URL script after ``import click``.
FLOOR_SCRIPT = "import click" + ONE_SCRIPT
#: linkfilter's own path without click: the Settings and Pipeline that ``cli.main`` makes for
#: ``-n --allow-private``, driven directly, then the same quick exit as ``__main__``.
NO_CLICK_SCRIPT = r"""
import os, sys
from linkfilter.settings import Settings
from linkfilter.pipeline import Pipeline
from linkfilter.signals import install_signal_handlers, restore_signal_handlers
pipeline = None
previous, wake_fd = install_signal_handlers(lambda: pipeline and pipeline.stop_signal)
pipeline = Pipeline(Settings(no_echo=True, allow_private=True), wake_fd=wake_fd)
code = int(pipeline.run([]))
restore_signal_handlers(previous)
sys.stdout.flush()
os._exit(code)
"""

#: The guard section's logs are made in blocks of this many bytes, repeated.
LOG_BLOCK = 10_000_000

T = TypeVar("T")

# -- the server ------------------------------------------------------------------------


def page(path: str, size: int) -> bytes:
    """The full response for ``path``: head and body in one bytes object."""
    body = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Page {path}</title>'
        "</head><body>"
    ).encode()
    body += b"<p>Some text of the page, as a page has.</p>\n" * max(0, (size - len(body)) // 44)
    body += b"</body></html>\n"
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
    ).encode()
    return head + b"\r\n" + body


class Server:
    """HTTP/1.1 keep-alive on 127.0.0.1: ``/slow/...`` answers after ``delay`` seconds
    (an asyncio timer), anything else at once; every response is one write."""

    def __init__(self, delay: float, page_size: int) -> None:
        self.delay = delay
        self.page_size = page_size
        self.paths: dict[str, int] = {}
        self.connections = 0
        self.first_request: float | None = None
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise SystemExit("the bench server did not start within 10 s")

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Connection(self), "127.0.0.1", 0, backlog=512)
        )
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self) -> None:
        self.loop.call_soon_threadsafe(self._reset)
        done = threading.Event()
        self.loop.call_soon_threadsafe(done.set)
        done.wait(10)

    def _reset(self) -> None:
        self.paths = {}
        self.connections = 0
        self.first_request = None


class _Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        server = self.server
        if server.first_request is None:
            server.first_request = time.perf_counter()
        path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("ascii", "replace")
        server.paths[path] = server.paths.get(path, 0) + 1
        close = b"\r\nconnection: close" in head.lower()
        response = page(path, server.page_size)
        if close:
            response = response.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
        if path.startswith("/slow/"):
            server.loop.call_later(server.delay, self._send, response, close)
        else:
            self._send(response, close)

    def _send(self, response: bytes, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(response)  # one write: head and body together
        if close:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        self.transport = None


# -- timing ------------------------------------------------------------------------------


class Run:
    """Wall and CPU seconds of one child, its output, and when its first request came."""

    def __init__(self, argv: list[str], data: bytes, env: dict, server: Server | None) -> None:
        if server is not None:
            server.reset()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, input=data, capture_output=True, env=env)
        self.wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.first = None
        if server is not None and server.first_request is not None:
            self.first = server.first_request - started
        if done.returncode != 0:
            raise SystemExit(
                f"{' '.join(argv[:3])}... exited {done.returncode}: {done.stderr.decode()[-800:]}"
            )
        self.lines = done.stdout.decode("utf-8", "replace").splitlines()


def ratio_line(name: str, ours: float, base: float, target: float, unit: str = "s") -> str:
    ratio = ours / base
    verdict = "ok" if ratio <= target else "OVER TARGET"
    scale, digits = (1000, 1) if unit == "ms" else (1, 3)
    return (
        f"{name}: linkfilter {ours * scale:.{digits}f} {unit} vs {base * scale:.{digits}f} {unit} "
        f"= {ratio:.2f}x (target <= {target}x, {verdict})"
    )


def alternate(rounds: int, sides: dict[str, Callable[[int], T]]) -> dict[str, list[T]]:
    """Run each side once per round, the order rotated by one each round (so with two sides
    it alternates); what each side returned, per round."""
    runs: dict[str, list[T]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            runs[name].append(sides[name](r))
    return runs


def median(runs: list[Run], what: str) -> float:
    return statistics.median(getattr(run, what) for run in runs)


def pyc_files(pycache: str) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in Path(pycache).rglob("*.pyc")}


# -- the measures ----------------------------------------------------------------------


def bulk(server: Server, env: dict, args) -> None:
    n = args.urls

    def urls(side: str, r: int) -> bytes:
        return "".join(f"{server.url(f'/slow/{side}{r}/{i}')}\n" for i in range(n)).encode()

    def check(run: Run, side: str, r: int) -> Run:
        titles = {line.rsplit(": ", 1)[-1] if side == "lf" else line for line in run.lines}
        want = {f"Page /slow/{side}{r}/{i}" for i in range(n)}
        if titles != want or len(run.lines) != n:
            raise SystemExit(f"{side}: {len(run.lines)} lines, not the {n} titles wanted; "
                             f"e.g. {sorted(titles - want)[:3]}")
        if len(server.paths) != n or max(server.paths.values()) != 1:
            raise SystemExit(f"{side}: the server saw {len(server.paths)} paths, not {n} once each")
        run.connections = server.connections
        return run

    w = str(args.workers)
    ours = LINKFILTER + ["-n", "-q", "-w", w, "--per-host", w, "--allow-private"]
    base = [sys.executable, "-c", POOL_SCRIPT, w]
    floor = [sys.executable, "-c", "import click" + POOL_SCRIPT, w]
    runs = alternate(args.rounds, {
        "lf": lambda r: check(Run(ours, urls("lf", r), env, server), "lf", r),
        "pool": lambda r: check(Run(base, urls("pool", r), env, server), "pool", r),
        "floor": lambda r: check(Run(floor, urls("floor", r), env, server), "floor", r),
    })
    what = f"{n} URLs x {args.delay * 1000:.0f} ms, -w {w}"
    print(ratio_line(f"bulk wall, {what}", median(runs["lf"], "wall"),
                     median(runs["pool"], "wall"), 1.0))
    print(ratio_line(f"bulk CPU, {what}", median(runs["lf"], "cpu"),
                     median(runs["pool"], "cpu"), 1.1))
    print(f"  first request at the server after: linkfilter "
          f"{median(runs['lf'], 'first') * 1000:.0f} ms, pool "
          f"{median(runs['pool'], 'first') * 1000:.0f} ms; connections: linkfilter "
          f"{runs['lf'][-1].connections}, pool {runs['pool'][-1].connections}")
    wall = {side: median(got, "wall") for side, got in runs.items()}
    cpu = {side: median(got, "cpu") for side, got in runs.items()}
    print(f"  floor, the pool plus 'import click': {wall['floor']:.3f} s wall = "
          f"{wall['floor'] / wall['pool']:.2f}x the pool, {cpu['floor']:.3f} s CPU = "
          f"{cpu['floor'] / cpu['pool']:.2f}x; linkfilter = {wall['lf'] / wall['floor']:.2f}x / "
          f"{cpu['lf'] / cpu['floor']:.2f}x the floor; first request after "
          f"{median(runs['floor'], 'first') * 1000:.0f} ms")
    for side in ("lf", "pool", "floor"):
        print(f"  {side:5} rounds: " + ", ".join(
            f"{run.wall:.2f} s wall / {run.cpu:.2f} s CPU" for run in runs[side]))


def one_url(server: Server, env: dict, rounds: int) -> None:
    def side(name: str, argv: list[str], host_first: bool) -> Callable[[int], Run]:
        """Runs of ``argv`` on its own URL, checked to print that page's title alone
        (after "host: " when ``host_first``, linkfilter's default format)."""
        def one_run(r: int) -> Run:
            run = Run(argv, f"{server.url(f'/fast/{name}{r}')}\n".encode(), env, server)
            title = f"Page /fast/{name}{r}"
            line = run.lines[0] if len(run.lines) == 1 else None
            if line is None or not (line.endswith(f": {title}") if host_first else line == title):
                raise SystemExit(f"{name}: printed {run.lines!r} for one URL")
            return run
        return one_run

    script = [sys.executable, "-c"]
    runs = alternate(rounds, {
        "lf": side("lf", LINKFILTER + ["-n", "--allow-private"], True),
        "one": side("one", script + [ONE_SCRIPT], False),
        "floor": side("floor", script + [FLOOR_SCRIPT], False),
        "noclick": side("noclick", script + [NO_CLICK_SCRIPT], True),
    })
    wall = {side: median(got, "wall") for side, got in runs.items()}
    print(ratio_line("one URL, start to end (median)", wall["lf"], wall["one"], 1.1, "ms"))
    ms = {what: {side: f"{median(got, what) * 1000:.0f} ms" for side, got in runs.items()}
          for what in ("cpu", "first")}
    print(f"  CPU: linkfilter {ms['cpu']['lf']}, script {ms['cpu']['one']}, "
          f"floor {ms['cpu']['floor']}; first request after: linkfilter {ms['first']['lf']}, "
          f"script {ms['first']['one']}, floor {ms['first']['floor']}")
    print(f"  floor, the one-URL script plus 'import click' (what any click command pays): "
          f"{wall['floor'] * 1000:.1f} ms = {wall['floor'] / wall['one']:.2f}x the script; "
          f"linkfilter = {wall['lf'] / wall['floor']:.2f}x the floor")
    print(f"  linkfilter's own path without click (Settings and Pipeline driven directly): "
          f"{wall['noclick'] * 1000:.1f} ms = {wall['noclick'] / wall['one']:.2f}x the script, "
          f"CPU {median(runs['noclick'], 'cpu') * 1000:.0f} ms")


def startup(env: dict, rounds: int) -> None:
    def ours(r: int) -> Run:
        return Run(LINKFILTER, b"", env, None)

    def base(r: int) -> Run:
        return Run([sys.executable, "-c", "import click"], b"", env, None)

    runs = alternate(rounds, {"lf": ours, "click": base})
    print(ratio_line("start-up on empty input vs python -c 'import click' (median)",
                     median(runs["lf"], "wall"), median(runs["click"], "wall"), 1.2, "ms"))


def make_log(make: Callable[[str, int], None], path: str, size: int) -> None:
    """One block of bench_pipe's log ``make`` (at most LOG_BLOCK bytes) written to ``path``
    as many times as fit in ``size``: the generator is slow, a copy is not."""
    block = min(size, LOG_BLOCK)
    make(path, block)
    data = Path(path).read_bytes()
    with open(path, "ab") as f:
        for _ in range(size // block - 1):
            f.write(data)


def guard(env: dict, args) -> None:
    """The figures the speed work must keep: bulk echo / URL finding, echo latency."""
    # bench_pipe's functions read their command and environment from its module globals,
    # bench_live's its command: point them at this bench's
    bench_pipe.LINKFILTER = bench_live.LINKFILTER = LINKFILTER
    bench_pipe.ENV = env
    with tempfile.TemporaryDirectory(prefix="bench-speed-logs-") as tmp:
        for make, name, extra, target in (
            (bench_pipe.make_plain, "bulk echo, {} MB without URLs", "", 4),
            (bench_pipe.make_chat, "chat log, {} MB, --dry-run", " --dry-run", 6),
        ):
            path = os.path.join(tmp, "log")
            make_log(make, path, args.log_mb * 1_000_000)
            size = os.path.getsize(path) / 1_000_000
            bench_pipe.bulk(path, extra, args.log_runs, name.format(f"{size:.0f}"), target)

    pending = 1000
    rounds = alternate(args.echo_rounds, {
        "lf": lambda r: bench_live.linkfilter_round(args.echo_samples, pending, env),
        "cat": lambda r: bench_live.cat_round(args.echo_samples, env),
    })
    print(f"echo latency, 8 workers stuck, {pending} URLs pending, {args.echo_samples} samples "
          f"a measure, median over {args.echo_rounds} rounds of each round's median / p99:")
    for name in bench_live.MEASURES:
        figures = {}
        for side, got in rounds.items():
            figures[side] = (statistics.median(statistics.median(r[name]) for r in got) * 1000,
                             statistics.median(bench_live.p99(r[name]) for r in got) * 1000)
        mid, tail = figures["lf"]
        verdict = ("ok" if mid < bench_live.TARGET_MEDIAN and tail < bench_live.TARGET_P99
                   else "OVER TARGET")
        print(f"  {name:12}: linkfilter {mid:.2f} / {tail:.2f} ms (target < "
              f"{bench_live.TARGET_MEDIAN:g} / {bench_live.TARGET_P99:g} ms, {verdict}); "
              f"cat {figures['cat'][0]:.2f} / {figures['cat'][1]:.2f} ms")
    print("output contract (results never split an echoed line): not timed; checked by "
          "tests/test_writer.py::test_result_waits_for_the_end_of_an_echoed_line and "
          "tests/test_e2e_echo.py::"
          "test_partial_lines_are_echoed_at_once_and_results_wait_for_a_line_end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before each answer")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the bulk measure")
    parser.add_argument("--quick-rounds", type=int, default=12,
                        help="rounds of the one-URL and start-up measures (a multiple of 4)")
    parser.add_argument("--page-size", type=int, default=4096, help="bytes of each page")
    parser.add_argument("--source", metavar="DIR",
                        help="run the linkfilter package in DIR instead of the installed one")
    parser.add_argument("--log-mb", type=int, default=100,
                        help="MB of each log of the guard's bulk echo / URL-finding figures")
    parser.add_argument("--log-runs", type=int, default=3,
                        help="runs of each bulk echo / URL-finding timing (the best is kept)")
    parser.add_argument("--echo-rounds", type=int, default=3, help="rounds of echo latency")
    parser.add_argument("--echo-samples", type=int, default=300,
                        help="samples of each echo latency measure in a round")
    parser.add_argument("--only", choices=("bulk", "one", "startup", "guard"), action="append")
    args = parser.parse_args()
    only = set(args.only or ("bulk", "one", "startup", "guard"))

    server = Server(args.delay, args.page_size)
    with tempfile.TemporaryDirectory(prefix="bench-speed-pyc-") as pycache:
        env = child_env(pycache, args.source)
        package = Path(args.source, "linkfilter") if args.source else PACKAGE
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)],
                       env=env, check=True)
        # untimed warm-ups: every module any command imports gets its .pyc
        Run(LINKFILTER + ["-n", "-q", "--allow-private"],
            f"{server.url('/fast/warm')}\n".encode(), env, server)
        Run([sys.executable, "-c", ONE_SCRIPT], f"{server.url('/fast/warm')}\n".encode(), env,
            server)
        Run([sys.executable, "-c", POOL_SCRIPT, "2"], f"{server.url('/fast/warm2')}\n".encode(),
            env, server)
        Run([sys.executable, "-c", "import click"], b"", env, None)
        cached = pyc_files(pycache)
        print(f"{sys.executable} (Python {sys.version.split()[0]}), {os.cpu_count()} CPUs; "
              f"{len(cached)} .pyc files cached before timing")
        print(f"linkfilter = {' '.join(LINKFILTER)}, package from {package}")
        if "bulk" in only:
            bulk(server, env, args)
        if "one" in only:
            one_url(server, env, args.quick_rounds)
        if "startup" in only:
            startup(env, args.quick_rounds)
        if "guard" in only:
            guard(env, args)
        written = {p for p, t in pyc_files(pycache).items() if cached.get(p) != t}
        print(f"bytecode written while timing: {len(written)} file(s)"
              + (f" (a source changed? {sorted(written)[:3]})" if written else ""))


if __name__ == "__main__":
    main()
