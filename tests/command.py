"""Running the real linkfilter command in tests: one-shot runs and live processes.

Pipes, signals and timing are only real in a subprocess (click's CliRunner
swaps the streams), so the CLI and end-to-end tests share these helpers.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

CMD = [sys.executable, "-m", "linkfilter"]


def clean_env(extra: dict | None = None) -> dict:
    """The environment without LINKFILTER_* settings or proxies, plus ``extra`` (a None
    value there removes the variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKFILTER_") and "proxy" not in k.lower()}
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


def run(args, data: bytes = b"", env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run linkfilter to completion on ``data``."""
    return subprocess.run(CMD + list(args), input=data, capture_output=True, env=clean_env(env), timeout=timeout)


def start(args, env: dict | None = None) -> subprocess.Popen:
    """Start linkfilter with pipes on all three streams."""
    return subprocess.Popen(CMD + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=clean_env(env))


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
