"""Dispatch to workers: the URLs found go to the pending list, downloader threads fetch them.

For each line the reader hands over (``reader.py``), dispatch finds its URLs and
answers each from what is already known (the result cache, the ``--cache`` file
of ``cachefile.py``, a host that failed at the network level a moment ago, a URL
that cannot be fetched) or puts it on the pending list (``pending.py``): reading
waits only when ``--max-pending`` URLs are waiting, never on the workers
themselves. Downloader threads are started as URLs need them, up to
``--workers``, turn URLs into Results (``worker.py``) and hand them to the
renderer chosen for the run (``render.py``, coloured as ``terminal.py`` decides)
and the writer. At EOF the pending list is drained, then closed. A stop signal
(``signals.py``) ends the run without fetching more: what was read is written
first, in order (held ``--ordered`` results, a URL still in flight as its
``--fallback`` line with error ``interrupted``), then the ``--stats`` line.
Every failure of a URL is its Result; a thread that cannot start ends the run
with one line.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import time
from typing import BinaryIO, NamedTuple

from linkfilter import progress
from linkfilter.cache import Claim, HostFailures, ReportOnce, ResultCache, expand
from linkfilter.errors import BadURL, LinkfilterError
from linkfilter.cachefile import CacheFile
from linkfilter.ordered import InOrder, Slot
from linkfilter.output import counted
from linkfilter.pending import Pending
from linkfilter.reader import Reader
from linkfilter.render import DryRunRenderer, renderer_for
from linkfilter.result import Result
from linkfilter.scan import CandidateLines, decode_block
from linkfilter.settings import Settings
from linkfilter.signals import Interrupted, Stop, start_thread
from linkfilter.terminal import Terminal, binary
from linkfilter.urls import display_host, find_urls, find_urls_in_block, normalize_for_fetch, origin
from linkfilter.worker import describe, failure, internal_error
from linkfilter.writer import ExitStatus, Writer


class ThreadStartError(LinkfilterError):
    """Raised when the system refuses to start another thread, or to load the code it runs."""


class Stats:
    """Counters for ``--stats`` and the progress line; updated under the pipeline's lock."""

    def __init__(self) -> None:
        self.lines = self.urls = self.fetched = self.cached = self.failed = 0
        self.bytes = self.done = 0
        self.started = time.monotonic()

    def line(self) -> str:
        took = time.monotonic() - self.started
        return (
            f"linkfilter: {counted(self.lines, 'line')}, {counted(self.urls, 'URL')}, "
            f"{self.fetched} fetched, "
            f"{self.cached} cached, {self.failed} failed, {took:.2f}s"
        )


class _Job(NamedTuple):
    """One URL occurrence waiting for a worker."""

    key: str  # normalised URL, what is fetched and cached
    site: str  # scheme://host[:port] of key: the unit of --per-host and of host failures
    url: str  # URL as reported
    line: int
    host: str
    queued: float
    slot: Slot | None  # its place in --ordered output


class FoundURL(NamedTuple):
    """One URL of a candidate line, as dispatch takes it."""

    line: int
    url: str  # as found, and as reported
    host: str
    key: str | None  # the normalised URL; None under --dry-run, or with ``error``
    error: BadURL | None  # why the URL cannot be fetched


class Pipeline:
    """One run over a list of inputs: dispatch and workers; ``run`` returns the exit status."""

    def __init__(
        self,
        settings: Settings,
        *,
        stdin: BinaryIO | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
        wake_fd: int | None = None,
    ) -> None:
        """``wake_fd`` is the read end of the ``signal.set_wakeup_fd`` pipe: waiting on it
        with the input, the reader never sleeps through a signal."""
        self.settings = settings
        self.stdin = stdin if stdin is not None else binary(sys.stdin)
        out = stdout if stdout is not None else binary(sys.stdout)
        err = stderr if stderr is not None else binary(sys.stderr)
        terminal = Terminal.detect(settings, out, err)
        self.stats = Stats()
        self.progress = progress.Progress(self.stats, None) if terminal.progress else None
        self.writer = Writer(
            out,
            err,
            status=self.progress.line if self.progress else None,
            interval=progress.INTERVAL,
            shared_terminal=terminal.shared,
        )
        self.renderer = renderer_for(settings, terminal.out_color, terminal.err_color)
        self.inorder = InOrder(self.writer) if settings.ordered else None
        self.cache_file = CacheFile(settings, self.writer.err)
        self.cache = ResultCache(settings.cache_ttl)
        self.down = HostFailures(settings.cache_ttl)
        self.reported = ReportOnce(settings.cache_ttl)
        self.pending: Pending[_Job] = Pending(settings.max_pending, settings.per_host)
        self.stop_signal = Stop(self._stopping, self.last_words)
        self._lock = threading.Lock()  # guards the stats counters
        self._workers: list[threading.Thread] = []
        self._lines = CandidateLines(count_lines=settings.needs_line_numbers)
        self.reader = Reader(
            self.stdin, self.writer, self._lines, self._dispatch_lines,
            echo=not settings.no_echo, inorder=self.inorder, stats=self.stats,
            stop=self.stop_signal, wake_fd=wake_fd,
        )
        renderer = self.renderer
        #: Text --dry-run lines are the URLs alone: a batch is printed without Results
        #: (``--ordered`` needs them for its slots).
        self._url_lines = renderer.urls if isinstance(renderer, DryRunRenderer) \
            and renderer.url_only and self.inorder is None else None

    # -- main thread ----------------------------------------------------------------
    def run(self, names: list[str]) -> ExitStatus:
        status = ExitStatus.OK
        if self.progress is not None:
            self.progress.total = progress.input_size(names, self.stdin)
        try:
            start_thread(self.writer.thread)
        except RuntimeError as e:  # nobody writes for us yet: say it ourselves
            with contextlib.suppress(OSError):
                os.write(2, f"linkfilter: cannot start the writer thread ({e})\n".encode())
            return ExitStatus.ERROR
        self.cache_file.open()
        try:
            for name in names or ["-"]:
                if not self.reader.read(name):
                    status = ExitStatus.ERROR
            self._dispatch_lines(self._lines.finish())
            self.stats.lines = self._lines.lines
            self.writer.eof()
            self.stop_signal.interruptible(self.pending.join)
            self.stop_signal.interruptible(self._stop_workers)
        except ThreadStartError as e:
            self.writer.err(f"linkfilter: {e}")
            self.writer.close()
            return ExitStatus.ERROR
        except Interrupted:
            pass
        if self.stop_signal.signum is not None:
            return self._stopped()
        self.cache_file.close()
        if self.settings.stats:
            self.writer.err(self.stats.line())
        self.writer.close()
        return status

    def _stopping(self) -> None:
        """A stop signal came (in its handler): the pending list waits for room no more,
        and workers take no more jobs."""
        self.pending.stopping = True

    def _stopped(self) -> ExitStatus:
        """After a stop signal: write what was read, in order, then the --stats line; the
        exit status says which signal (see ``ExitStatus``)."""
        self.stats.lines = self._lines.lines
        if self.inorder is not None:
            self.inorder.close(self._unfinished_line)
        self.writer.eof()
        if self.settings.stats:
            self.writer.err(self.stats.line())
        self.writer.close()
        return self.stop_signal.status()

    def _unfinished_line(self, slot: Slot) -> str | None:
        """What a stop prints for a URL still in flight: its --fallback line, if set, with
        error ``interrupted``."""
        if slot.source is None:
            return None
        return self.renderer.interrupted(*slot.source)

    def stats_line(self) -> str:
        """The ``--stats`` line as of now (for a run cut short by a signal)."""
        self.stats.lines = self._lines.lines
        return self.stats.line()

    def last_words(self) -> str:
        """What stderr gets when a signal ends the run: the progress line erased, then the
        ``--stats`` line, if either is on."""
        text = progress.ERASE if self.progress is not None else ""
        if self.settings.stats:
            text += self.stats_line() + "\n"
        return text

    def _dispatch_lines(self, found: list[tuple[int, bytes]]) -> None:
        """Queue or report the URLs of a batch of candidate lines from ``CandidateLines``."""
        if self._url_lines is not None:
            self._dry_run_text(found)
            return
        urls = self._found_urls(found)
        kept = self.cache_file.get_many([url.key for url in urls if url.key is not None])
        ready: list[tuple[Result, Slot | None]] = []
        for url in urls:
            self._dispatch(url, kept, ready)
        if ready:
            self._emit(ready)

    def _dry_run_text(self, found: list[tuple[int, bytes]]) -> None:
        """Text-mode ``--dry-run``: print every URL found, as one write per batch.

        The same output as Results through ``_emit`` and the renderer (a dry-run result
        is never a failure nor cached), without making a Result or a host per URL.
        """
        settings = self.settings
        founds = find_urls_in_block(decode_block([raw for _, raw in found]))
        if settings.exclude:
            urls = [f.url for f in founds if not settings.excluded(f.url)]
        else:
            urls = [f.url for f in founds]
        if urls:
            self.stats.urls += len(urls)  # only this thread counts URLs
            self.stats.done += len(urls)
            self.writer.out(self._url_lines(urls))

    def _found_urls(self, found: list[tuple[int, bytes]]) -> list[FoundURL]:
        """The URLs of a batch of candidate lines, in order, each key once a line."""
        settings = self.settings
        urls = []
        for number, raw in found:
            founds = find_urls(raw.decode("utf-8", "surrogateescape"))
            keys: set[str] | None = set() if len(founds) > 1 else None  # one per line each
            for f in founds:
                if settings.exclude and settings.excluded(f.url):
                    continue
                key = error = None
                if not settings.dry_run:
                    try:
                        key = normalize_for_fetch(f.url)
                    except BadURL as e:
                        error = e
                    if keys is not None and key is not None:
                        if key in keys:  # the same URL again, but for case or fragment
                            continue
                        keys.add(key)
                urls.append(FoundURL(number, f.url, display_host(f.url), key, error))
        self.stats.urls += len(urls)  # only this thread counts URLs
        return urls

    def _dispatch(self, found: FoundURL, kept: dict, ready: list) -> None:
        """Queue one URL; a result known at once (cached, kept in the --cache file, its
        host down, a bad URL, a dry run) goes to ``ready``."""
        number, url, host, key, error = found
        slot = self.inorder.slot((url, number, host)) if self.inorder is not None else None
        if key is None:
            result = Result(url=url, line=number, host=host, elapsed=None) if error is None \
                else failure(url, number, host, error, 0.0)
            ready.append((result, slot))
            return
        site = origin(key)
        job = _Job(key, site, url, number, host, time.monotonic(), slot)
        claim = self.cache.claim(key, job)
        if claim.how is Claim.HIT:
            ready.append((expand(key, claim.result, url=url, line=number, host=host, elapsed=0.0), slot))
        elif claim.how is Claim.FETCH:
            stored = kept.get(key)
            down = self.down.get(site) if stored is None else None
            if stored is not None or down is not None:  # no worker, lookup nor connection
                ready.extend(self._complete(job, expand(
                    key, stored or down, url=url, line=number, host=host, elapsed=0.0),
                    kept=stored))
            elif self.pending.put(site, job):
                self._start_worker()

    def _start_worker(self) -> None:
        """Start one more downloader thread, up to ``--workers``: plain text pays for none,
        one URL for one."""
        if len(self._workers) >= self.settings.workers:
            return
        if not self._workers:
            _load_fetch_code()
        t = threading.Thread(
            target=self._work, name=f"linkfilter-worker-{len(self._workers)}", daemon=True
        )
        try:
            start_thread(t)
        except RuntimeError as e:
            raise ThreadStartError(
                f"cannot start downloader thread {len(self._workers) + 1} of "
                f"{self.settings.workers} ({e}); try fewer --workers"
            ) from e
        self._workers.append(t)

    def _stop_workers(self) -> None:
        """Close the pending list (EOF drained) and wait for every downloader thread."""
        self.pending.close()
        for t in self._workers:
            t.join()

    # -- downloader threads ---------------------------------------------------------
    def _work(self) -> None:
        """A downloader thread: take jobs until the pending list closes or a stop comes."""
        from linkfilter.fetch import Fetcher

        fetcher = Fetcher(self.settings)
        try:
            while True:
                got = self.pending.get()
                if got is None or self.pending.stopping:
                    return
                site, job = got
                try:
                    self._fetch(fetcher, job)
                except Exception as e:  # a worker must not die: the EOF drain waits on it
                    self._internal_error(job, e)
                finally:
                    self.pending.done(site)
        finally:
            fetcher.close()

    def _fetch(self, fetcher, job: _Job) -> None:
        """Look one URL up and report it, with every occurrence that waited for it."""
        down = self.down.get(job.site)
        if down is not None:  # the host went down while this URL waited
            result = expand(job.key, down, url=job.url, line=job.line, host=job.host,
                            elapsed=time.monotonic() - job.queued)
        else:
            with self._lock:
                self.stats.fetched += 1
            result = describe(fetcher, job.key, job.url, job.line, job.host, self.settings)
            if result.host_down:
                self.down.failed(job.site, result)
            else:
                self.down.succeeded(job.site)
        self._emit(self._complete(job, result))

    def _internal_error(self, job: _Job, error: Exception) -> None:
        """A bug while reporting a job: report it as the job's result, so that the
        URL's waiters and its --ordered slot are not left waiting."""
        result = internal_error(job.url, job.line, job.host, error)
        try:
            self._emit(self._complete(job, result))
        except Exception:  # noqa: BLE001 - the report itself failed: say so, plainly
            self.writer.err(f"linkfilter: {job.url}: {result.reason}")
            if job.slot is not None:
                self.inorder.fill(job.slot, None)

    def _complete(
        self, job: _Job, result: Result, kept: Result | None = None
    ) -> list[tuple[Result, Slot | None]]:
        """Store a claimed URL's result (``kept``: already in kept form, from the --cache
        file; any other goes into the file too): it, and every occurrence that waited for it."""
        now = time.monotonic()
        waiters = self.cache.complete(job.key, result, kept=kept)
        if kept is None:
            self.cache_file.put(job.key, result)
        return [(result, job.slot)] + [
            (expand(job.key, result, url=w.url, line=w.line, host=w.host,
                    elapsed=now - w.queued), w.slot)
            for w in waiters
        ]

    # -- any thread -------------------------------------------------------------------
    def _emit(self, results: list[tuple[Result, Slot | None]]) -> None:
        """Hand results to the writer (or to their --ordered slots) as the renderer has
        them, one write per stream."""
        render = self.renderer
        quiet = self.settings.quiet
        out: list[str] = []
        err: list[str] = []
        for result, slot in results:
            line = render.line(result)
            if slot is not None:
                self.inorder.fill(slot, line)
            elif line is not None:
                out.append(line)
            if not result.ok and not quiet and self.reported.first(result.url):
                err.append(render.failure(result))
        with self._lock:
            self.stats.done += len(results)
            self.stats.cached += sum(r.cached for r, _ in results)
            self.stats.failed += sum(not r.ok for r, _ in results)
        if out:
            self.writer.out("\n".join(out))
        if err:
            self.writer.err("\n".join(err))


def _load_fetch_code() -> None:
    """Import the downloader threads' code (http.client, ssl) before the first of them
    starts: with every thread's stack mapped there may be no address space left for
    libssl, and a thread whose import failed would die with a traceback."""
    try:
        importlib.import_module("linkfilter.fetch")
    except (ImportError, MemoryError, OSError) as e:
        raise ThreadStartError(f"cannot load the fetch code ({type(e).__name__}: {e})") from e

