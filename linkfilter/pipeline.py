"""reader -> queue -> workers -> writer: the program itself, without error handling.

The main thread reads the input in large chunks, hands every byte to the
writer at once, and queues the URLs it finds on a bounded queue (a full queue
pauses reading; nothing is dropped). Downloader threads, started on the first
URL, turn URLs into Results and hand them to the writer. At EOF the queue is
drained, then a ``threading.Event`` and one sentinel per worker stop them.
SIGINT and SIGTERM end the process at once, without draining.
"""

from __future__ import annotations

import errno
import fcntl
import os
import queue
import signal
import stat
import sys
import threading
import time
from typing import BinaryIO, NamedTuple

from linkfilter.cache import ResultCache
from linkfilter.errors import BadURL
from linkfilter.output import dry_run_text, error_line, json_line, text_line
from linkfilter.result import Result
from linkfilter.scan import CandidateLines, decode_block
from linkfilter.settings import Settings
from linkfilter.urls import display_host, find_urls, find_urls_in_block, normalize_for_fetch
from linkfilter.worker import describe, failure
from linkfilter.writer import ExitStatus, Writer

#: Bytes asked of the input per read; a pipe on stdin is widened to match.
READ_SIZE = 256 * 1024

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)

#: URLs waiting for a worker, per worker, before reading pauses.
QUEUE_PER_WORKER = 4


class Stats:
    """Counters for ``--stats``; updated under the pipeline's lock."""

    def __init__(self) -> None:
        self.lines = self.urls = self.fetched = self.cached = self.failed = 0
        self.started = time.monotonic()

    def line(self) -> str:
        took = time.monotonic() - self.started
        return (
            f"linkfilter: {self.lines} lines, {self.urls} URLs, {self.fetched} fetched, "
            f"{self.cached} cached, {self.failed} failed, {took:.2f}s"
        )


class _Job(NamedTuple):
    """One URL occurrence waiting for a worker."""

    key: str  # normalised URL, what is fetched and cached
    url: str  # URL as reported
    line: int
    host: str
    queued: float


class Pipeline:
    """One run over a list of inputs; ``run`` returns the exit status."""

    def __init__(
        self,
        settings: Settings,
        *,
        stdin: BinaryIO | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
    ) -> None:
        self.settings = settings
        self.stdin = stdin if stdin is not None else _binary(sys.stdin)
        self.writer = Writer(
            stdout if stdout is not None else _binary(sys.stdout),
            stderr if stderr is not None else _binary(sys.stderr),
        )
        self.stats = Stats()
        self.cache = ResultCache(settings.cache_ttl)
        self.jobs: queue.Queue[_Job | None] = queue.Queue(settings.workers * QUEUE_PER_WORKER)
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    # -- main thread ----------------------------------------------------------------
    def run(self, names: list[str]) -> ExitStatus:
        status = ExitStatus.OK
        lines = CandidateLines(count_lines=self.settings.needs_line_numbers)
        self.writer.start()
        for name in names or ["-"]:
            if not self._read(name, lines):
                status = ExitStatus.ERROR
        self._dispatch_lines(lines.finish())
        self.stats.lines = lines.lines
        self.writer.eof()
        self.jobs.join()
        self._stop_workers()
        if self.settings.stats:
            self.writer.err(self.stats.line())
        self.writer.close()
        return status

    def _read(self, name: str, lines: CandidateLines) -> bool:
        """Copy one input to the writer and dispatch its URLs; False if it failed."""
        try:
            stream = self.stdin if name == "-" else open(name, "rb", buffering=0)
            if stream is None:
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        except OSError as e:
            self.writer.err(f"linkfilter: {name}: {e.strerror or e}")
            return False
        echo = not self.settings.no_echo
        read = getattr(stream, "read1", stream.read)
        _widen_pipe(stream)
        try:
            while True:
                data = read(READ_SIZE)
                if not data:
                    return True
                if echo:
                    self.writer.echo(data)
                found = lines.feed(data)
                if found:
                    self._dispatch_lines(found)
        except OSError as e:
            self.writer.err(f"linkfilter: {name}: {e.strerror or e}")
            return False
        finally:
            if stream is not self.stdin:
                stream.close()

    def _dispatch_lines(self, found: list[tuple[int, bytes]]) -> None:
        """Queue or report the URLs of a batch of candidate lines from ``CandidateLines``."""
        if self.settings.dry_run and not self.settings.json:
            self._dry_run_text(found)
            return
        ready: list[Result] = []
        for number, raw in found:
            self._dispatch(number, raw, ready)
        if ready:
            self._emit(ready)

    def _dry_run_text(self, found: list[tuple[int, bytes]]) -> None:
        """Text-mode ``--dry-run``: print every URL found, as one write per batch.

        The same output as Results through ``_emit`` (a dry-run result is never
        a failure nor cached), without making a Result or a host per URL.
        """
        settings = self.settings
        founds = find_urls_in_block(decode_block([raw for _, raw in found]))
        if settings.exclude:
            urls = [f.url for f in founds if not settings.excluded(f.text)]
        else:
            urls = [f.url for f in founds]
        if urls:
            self.stats.urls += len(urls)  # only this thread counts URLs
            self.writer.out(dry_run_text(urls))

    def _dispatch(self, number: int, raw: bytes, ready: list[Result]) -> None:
        """Queue the URLs of one line; results known at once go to ``ready``."""
        text = raw.decode("utf-8", "surrogateescape")
        settings = self.settings
        for found in find_urls(text):
            if settings.exclude and settings.excluded(found.text):
                continue
            self.stats.urls += 1  # only this thread counts URLs
            host = display_host(found.url)
            if settings.dry_run:
                ready.append(Result(url=found.url, line=number, host=host))
                continue
            try:
                key = normalize_for_fetch(found.url)
            except BadURL as e:
                ready.append(failure(found.url, number, host, e, 0.0))
                continue
            job = _Job(key, found.url, number, host, time.monotonic())
            hit = self.cache.claim(key, job)
            if isinstance(hit, Result):
                ready.append(hit.reused(url=job.url, line=number, host=host, elapsed=0.0))
            elif hit is None:
                self._start_worker()
                self.jobs.put(job)

    def _start_worker(self) -> None:
        """Start the downloader threads on the first URL, so plain text never pays for them."""
        if self._workers:
            return
        for i in range(self.settings.workers):
            t = threading.Thread(target=self._work, name=f"linkfilter-worker-{i}", daemon=True)
            t.start()
            self._workers.append(t)

    def _stop_workers(self) -> None:
        self.stop.set()
        for _ in self._workers:
            self.jobs.put(None)
        for t in self._workers:
            t.join()

    # -- downloader threads ---------------------------------------------------------
    def _work(self) -> None:
        from linkfilter.fetch import Fetcher

        fetcher = Fetcher(self.settings)
        try:
            while True:
                job = self.jobs.get()
                try:
                    if job is None or self.stop.is_set():
                        return
                    self._fetch(fetcher, job)
                except Exception as e:  # a worker must not die: the EOF drain waits on it
                    self.writer.err(f"linkfilter: {job.url}: internal error: {type(e).__name__}: {e}")
                finally:
                    self.jobs.task_done()
        finally:
            fetcher.close()

    def _fetch(self, fetcher, job: _Job) -> None:
        """Look one URL up and report it, with every occurrence that waited for it."""
        with self._lock:
            self.stats.fetched += 1
        result = describe(fetcher, job.key, job.url, job.line, job.host, self.settings)
        now = time.monotonic()
        waiters = self.cache.complete(job.key, result)
        self._emit(
            [result]
            + [result.reused(url=w.url, line=w.line, host=w.host, elapsed=now - w.queued) for w in waiters]
        )

    # -- any thread -------------------------------------------------------------------
    def _emit(self, results: list[Result]) -> None:
        """Hand results to the writer in the chosen output mode, one write per stream."""
        settings = self.settings
        out: list[str] = []
        err: list[str] = []
        for result in results:
            if settings.json:
                out.append(json_line(result))
            elif result.ok:  # text --dry-run never gets here: see _dry_run_text
                line = text_line(result, settings.format)
                if line is not None:
                    out.append(line)
            if not result.ok and not settings.quiet:
                err.append(error_line(result))
        with self._lock:
            self.stats.cached += sum(r.cached for r in results)
            self.stats.failed += sum(not r.ok for r in results)
        if out:
            self.writer.out("\n".join(out))
        if err:
            self.writer.err("\n".join(err))


def _widen_pipe(stream) -> None:
    """Ask for a bigger pipe buffer, so bulk input comes in fewer, larger reads."""
    try:
        fd = stream.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, F_SETPIPE_SZ, READ_SIZE)
    except (OSError, ValueError, AttributeError):
        pass  # not a pipe, not Linux, or over the system's limit: reads are smaller


def _binary(stream) -> BinaryIO | None:
    """The byte stream under a text stream (None when the descriptor is closed)."""
    if stream is None:
        return None
    return getattr(stream, "buffer", stream)


def install_signal_handlers() -> dict:
    """SIGINT and SIGTERM end the process at once: no draining, no traceback.

    Returns the previous handlers, for ``restore_signal_handlers``.
    """

    def handler(signum, frame):
        os._exit(ExitStatus.INTERRUPTED if signum == signal.SIGINT else ExitStatus.TERMINATED)

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore_signal_handlers(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
