"""Running the real linkfilter command in tests: one-shot runs and live processes.

Pipes, signals and timing are only real in a subprocess (click's CliRunner
swaps the streams), so every end-to-end test runs the command through these:
``run`` and ``run_all`` to completion, ``start`` or ``Live`` for a process the test
talks to, ``read_line``, ``Output`` and ``outputs`` to read what it writes.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

CMD = [sys.executable, "-m", "linkfilter"]
#: Seconds any one run may take before the test fails.
RUN_TIMEOUT = 30
#: How long a test waits for an expected line or exit before it fails.
WAIT = 10.0
#: How long a result that must be held back is watched for.
HELD = 0.5


def clean_env(extra: dict | None = None) -> dict:
    """The environment without LINKFILTER_* settings or proxies, plus ``extra`` (a None
    value there removes the variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKFILTER_") and "proxy" not in k.lower()}
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


def run(args, data: bytes = b"", env: dict | None = None, timeout: float = RUN_TIMEOUT,
        **popen) -> subprocess.CompletedProcess:
    """Run linkfilter to completion on ``data`` (``popen``: e.g. umask, user, preexec_fn)."""
    return subprocess.run(CMD + list(args), input=data, capture_output=True, env=clean_env(env),
                          timeout=timeout, **popen)


def run_all(*runs) -> list[subprocess.CompletedProcess]:
    """Run independent ``(args, data[, env])`` at once; results in the same order."""
    procs = []
    for args, data, *env in runs:
        p = subprocess.Popen(CMD + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=clean_env(env[0] if env else None))
        p.stdin.write(data)  # small: fits the pipe
        p.stdin.close()
        p.stdin = None
        procs.append(p)
    done = []
    for p in procs:
        out, err = p.communicate(timeout=RUN_TIMEOUT)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def start(args, env: dict | None = None, **popen) -> subprocess.Popen:
    """Start linkfilter with pipes on all three streams (``popen``: e.g. preexec_fn)."""
    return subprocess.Popen(CMD + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=clean_env(env), **popen)


def read_line(stream, timeout: float = 10.0) -> bytes:
    """One line from a pipe, waiting for it with a deadline (AssertionError "no line" past it)."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = stream.fileno()
    while not buf.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise AssertionError(f"no line within {timeout}s (got {buf!r})")
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
    return buf


def records(stdout: bytes) -> list[dict]:
    """The JSON records among the output lines."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith(b"{")]


def lines(stream: bytes) -> list[str]:
    """The output as lines of text."""
    return stream.decode().splitlines()


def outputs(proc) -> tuple[bytes, bytes]:
    """Everything the process writes to stdout and stderr until it ends (stdin left as it
    is: open or closed), then its exit."""
    got = {proc.stdout.fileno(): b"", proc.stderr.fileno(): b""}
    deadline = time.monotonic() + WAIT
    open_fds = set(got)
    while open_fds:
        ready = select.select(list(open_fds), [], [], max(deadline - time.monotonic(), 0))[0]
        if not ready:
            raise AssertionError(f"still running after {WAIT}s: {got}")
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                got[fd] += chunk
            else:
                open_fds.discard(fd)
    proc.wait(WAIT)
    return got[proc.stdout.fileno()], got[proc.stderr.fileno()]


class Output:
    """A child's stdout or stderr, read as it comes: lines, exact byte counts, or silence."""

    def __init__(self, stream) -> None:
        """``stream``: a pipe's file object, or its descriptor."""
        self.fd = stream if isinstance(stream, int) else stream.fileno()
        self.buf = b""

    def _fill(self, deadline: float) -> bool:
        if not select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))[0]:
            return False
        chunk = os.read(self.fd, 65536)
        if not chunk:
            raise AssertionError(f"output ended (got {self.buf!r})")
        self.buf += chunk
        return True

    def take(self, count: int, timeout: float = WAIT) -> bytes:
        """Exactly ``count`` bytes, newline or not."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < count:
            if not self._fill(deadline):
                raise AssertionError(f"no {count} bytes within {timeout}s (got {self.buf!r})")
        got, self.buf = self.buf[:count], self.buf[count:]
        return got

    def line(self, timeout: float = WAIT) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if not self._fill(deadline):
                raise AssertionError(f"no line within {timeout}s (got {self.buf!r})")
        cut = self.buf.index(b"\n") + 1
        got, self.buf = self.buf[:cut], self.buf[cut:]
        return got

    def record(self, timeout: float = WAIT) -> dict:
        return json.loads(self.line(timeout))

    def silent_for(self, seconds: float) -> bytes:
        """What arrives within ``seconds`` (the caller expects nothing)."""
        deadline = time.monotonic() + seconds
        while self._fill(deadline):
            pass
        got, self.buf = self.buf, b""
        return got


class Live:
    """A running linkfilter with its three pipes; killed at the end of the ``with``."""

    def __init__(self, args, env: dict | None = None) -> None:
        self.proc = start(args, env)
        self.out = Output(self.proc.stdout)
        self.err = Output(self.proc.stderr)

    def send(self, data: bytes | str) -> None:
        os.write(self.proc.stdin.fileno(), data.encode() if isinstance(data, str) else data)

    def echo(self, data: bytes | str, timeout: float = WAIT) -> float:
        """Send a line and wait for its echo; returns the round trip in seconds."""
        data = data.encode() if isinstance(data, str) else data
        sent = time.perf_counter()
        self.send(data)
        assert self.out.take(len(data), timeout) == data
        return time.perf_counter() - sent

    def stop(self, sig: int) -> float:
        """Send ``sig``; returns how long the process took to end (AssertionError past WAIT)."""
        sent = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(WAIT)
        return time.monotonic() - sent

    def __enter__(self) -> Live:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


def by_url(stdout: bytes) -> dict[str, dict]:
    """The JSON records of the output by URL."""
    return {r["url"]: r for r in records(stdout)}


def digest_input(site) -> bytes:
    """Three lines of chat for the ``site`` fixture (conftest.py): two titled pages, an untitled one, an image, a 404."""
    u = site.url
    return (f"morning {u('/a')} and {u('/b')}\n{u('/none')} {u('/img')}\n"
            f"broken {u('/missing')}\n").encode()


def digest_failures(site) -> list[str]:
    """The stderr lines of ``digest_input``'s failures: a 404 and a page without a title."""
    return [f"linkfilter: {site.url('/missing')}: HTTP 404 Not Found",
            f"linkfilter: {site.url('/none')}: no title in the page"]
