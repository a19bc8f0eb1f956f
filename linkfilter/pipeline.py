"""reader -> pending list -> workers -> writer: the program itself, without error handling.

The main thread reads the input as it comes, hands every byte to the writer at
once (a partial line too), and puts the URLs it finds on the pending list
(``pending.py``): reading waits only when ``--max-pending`` URLs are waiting,
never on the workers themselves. Downloader threads are started as URLs need
them, up to ``--workers``, turn URLs into Results and hand them to the writer.
A host that failed at the network level fails its other URLs at once for a
while. At EOF the pending list is drained, then closed and a
``threading.Event`` set. Every thread but the main one blocks SIGINT and
SIGTERM, so the main thread gets them even while blocked on input, and they
end the process at once, without draining.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import importlib
import os
import select
import signal
import stat
import sys
import threading
import time
from typing import BinaryIO, NamedTuple

from linkfilter import progress
from linkfilter.cache import FAILURE_TTL, HostFailures, ReportOnce, ResultCache, expand
from linkfilter.errors import BadURL, LinkfilterError
from linkfilter.ordered import InOrder, Slot
from linkfilter.output import dry_run_format, dry_run_text, error_line, json_line, text_line
from linkfilter.pending import Pending
from linkfilter.result import Result
from linkfilter.scan import CandidateLines, decode_block
from linkfilter.settings import Settings
from linkfilter.urls import display_host, find_urls, find_urls_in_block, normalize_for_fetch
from linkfilter.worker import describe, failure
from linkfilter.writer import ExitStatus, Writer

#: Bytes asked of the input per read; a pipe on stdin is widened to match.
READ_SIZE = 256 * 1024

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)

#: Signals that only the main thread may receive.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


class ThreadStartError(LinkfilterError):
    """Raised when the system refuses to start another thread, or to load the code it runs."""


#: Colours of result lines on stdout and failure lines on stderr (SGR sequences).
RESULT_COLOR = "\x1b[36m"
FAILURE_COLOR = "\x1b[31m"
RESET = "\x1b[0m"


class Stats:
    """Counters for ``--stats`` and the progress line; updated under the pipeline's lock."""

    def __init__(self) -> None:
        self.lines = self.urls = self.fetched = self.cached = self.failed = 0
        self.bytes = self.done = 0
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
    site: str  # scheme://host[:port] of key: the unit of --per-host and of host failures
    url: str  # URL as reported
    line: int
    host: str
    queued: float
    slot: Slot | None  # its place in --ordered output


class Pipeline:
    """One run over a list of inputs; ``run`` returns the exit status."""

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
        self.wake_fd = wake_fd
        self.stdin = stdin if stdin is not None else _binary(sys.stdin)
        out = stdout if stdout is not None else _binary(sys.stdout)
        err = stderr if stderr is not None else _binary(sys.stderr)
        out_tty, err_tty = _isatty(out), _isatty(err)
        self.stats = Stats()
        self.progress: progress.Progress | None = None
        if progress.wanted(settings.progress, settings.quiet, out_tty, err_tty):
            self.progress = progress.Progress(self.stats, None)
        self.writer = Writer(
            out,
            err,
            status=self.progress.line if self.progress else None,
            interval=progress.INTERVAL,
            shared_terminal=out_tty,
        )
        self.out_color = settings.color == "always" or (settings.color == "auto" and out_tty)
        self.err_color = settings.color == "always" or (settings.color == "auto" and err_tty)
        self.inorder = InOrder(self.writer) if settings.ordered else None
        self.store = None
        self._store_reported = False
        self.cache = ResultCache(settings.cache_ttl)
        self.down = HostFailures(settings.cache_ttl)
        self.reported = ReportOnce(settings.cache_ttl)
        self.pending: Pending[_Job] = Pending(settings.max_pending, settings.per_host)
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._lines = CandidateLines(count_lines=settings.needs_line_numbers)

    # -- main thread ----------------------------------------------------------------
    def run(self, names: list[str]) -> ExitStatus:
        status = ExitStatus.OK
        lines = self._lines
        if self.progress is not None:
            self.progress.total = progress.input_size(names, self.stdin)
        try:
            _start_thread(self.writer.thread)
        except RuntimeError as e:  # nobody writes for us yet: say it ourselves
            with contextlib.suppress(OSError):
                os.write(2, f"linkfilter: cannot start the writer thread ({e})\n".encode())
            return ExitStatus.ERROR
        self._open_store()
        try:
            for name in names or ["-"]:
                if not self._read(name, lines):
                    status = ExitStatus.ERROR
            self._dispatch_lines(lines.finish())
        except ThreadStartError as e:
            self.writer.err(f"linkfilter: {e}")
            self.writer.close()
            return ExitStatus.ERROR
        self.stats.lines = lines.lines
        self.writer.eof()
        self.pending.join()
        self._stop_workers()
        if self.store is not None:
            self.store.close()
        if self.settings.stats:
            self.writer.err(self.stats.line())
        self.writer.close()
        return status

    def _open_store(self) -> None:
        """Open the ``--cache`` file, or say in one line why the run goes on without it."""
        settings = self.settings
        if not settings.cache_path or settings.cache_ttl <= 0 or settings.dry_run:
            return
        from linkfilter import store

        try:
            self.store = store.Store.open(
                settings.cache_path,
                ttl=settings.cache_ttl,
                failure_ttl=FAILURE_TTL,
                namespace=store.namespace(
                    max_bytes=settings.max_bytes,
                    max_title=settings.max_title,
                    accept_language=settings.accept_language,
                    user_agent=settings.user_agent,
                    allow_private=settings.allow_private,
                    prefer=settings.prefer,
                    oembed=settings.oembed,
                ),
            )
        except store.StoreError as e:
            self._store_failed(e)

    def _store_failed(self, error: Exception) -> None:
        """Give up on the ``--cache`` file for the rest of the run, saying so once."""
        with self._lock:
            failed, self.store = self.store, None
            first, self._store_reported = not self._store_reported, True
        if failed is not None:
            with contextlib.suppress(Exception):
                failed.close()
        if first:
            self.writer.err(
                f"linkfilter: cache {self.settings.cache_path}: {error}; continuing without it"
            )

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
        read = self._reader(stream)
        _widen_pipe(stream)
        try:
            inorder = self.inorder
            stats = self.stats
            while True:
                data = read(READ_SIZE)
                if not data:
                    return True
                stats.bytes += len(data)
                if inorder is not None:
                    self._feed_in_order(data, lines, echo)
                    continue
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

    def _reader(self, stream):
        """The read function for ``stream``: on a pipe or terminal, one that waits on the
        signal wake-up pipe too (a signal that lands just before ``read`` is not lost)."""
        wake = self.wake_fd
        try:
            fd = stream.fileno()
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except (OSError, ValueError, AttributeError):
            regular = True
        if wake is None or regular:
            return getattr(stream, "read1", stream.read)

        def read(size: int) -> bytes:
            while True:
                ready = select.select([fd, wake], [], [])[0]
                if wake in ready:  # the handler runs as soon as this returns; then go on
                    with contextlib.suppress(OSError):
                        os.read(wake, 512)
                if fd in ready:
                    return os.read(fd, size)

        return read

    def _feed_in_order(self, data: bytes, lines: CandidateLines, echo: bool) -> None:
        """``--ordered``: echo up to the end of each line with URLs, then reserve its slots."""
        inorder = self.inorder
        inorder.wait_room()  # a line still waiting holds only so much input behind it
        seen = lines.lines  # lines complete before this chunk (line N ends at the Nth newline)
        found = lines.feed(data)
        done = pos = 0
        for number, raw in found:
            if echo:
                while seen < number:
                    pos = data.find(b"\n", pos) + 1
                    seen += 1
                if pos > done:
                    inorder.echo(data[done:pos])
                    done = pos
            self._dispatch_lines([(number, raw)])
        if echo and done < len(data):
            inorder.echo(data[done:])

    def _dispatch_lines(self, found: list[tuple[int, bytes]]) -> None:
        """Queue or report the URLs of a batch of candidate lines from ``CandidateLines``."""
        settings = self.settings
        if settings.dry_run and not settings.json and settings.format is None \
                and self.inorder is None:
            self._dry_run_text(found)
            return
        urls = self._found_urls(found)
        kept = self._from_store([key for _, _, _, key, _ in urls if key is not None])
        ready: list[tuple[Result, Slot | None]] = []
        for url in urls:
            self._dispatch(*url, kept, ready)
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
            self.stats.done += len(urls)
            self.writer.out(self._paint(dry_run_text(urls)))

    def _found_urls(self, found: list[tuple[int, bytes]]) -> list[tuple]:
        """The URLs of a batch of candidate lines, in order, each as
        ``(line, url, host, key, error)``: ``key`` the normalised URL (None under
        --dry-run, or with ``error`` when it cannot be fetched)."""
        settings = self.settings
        urls = []
        for number, raw in found:
            for f in find_urls(raw.decode("utf-8", "surrogateescape")):
                if settings.exclude and settings.excluded(f.text):
                    continue
                key = error = None
                if not settings.dry_run:
                    try:
                        key = normalize_for_fetch(f.url)
                    except BadURL as e:
                        error = e
                urls.append((number, f.url, display_host(f.url), key, error))
        self.stats.urls += len(urls)  # only this thread counts URLs
        return urls

    def _dispatch(self, number: int, url: str, host: str, key: str | None,
                  error: BadURL | None, kept: dict, ready: list) -> None:
        """Queue one URL; a result known at once (cached, kept in the --cache file, its
        host down, a bad URL, a dry run) goes to ``ready``."""
        slot = self.inorder.slot() if self.inorder is not None else None
        if key is None:
            result = Result(url=url, line=number, host=host) if error is None \
                else failure(url, number, host, error, 0.0)
            ready.append((result, slot))
            return
        site = key[: key.find("/", key.find("//") + 2)]
        job = _Job(key, site, url, number, host, time.monotonic(), slot)
        hit = self.cache.claim(key, job)
        if isinstance(hit, Result):
            ready.append((expand(key, hit, url=url, line=number, host=host, elapsed=0.0), slot))
        elif hit is None:
            stored = kept.get(key)
            down = self.down.get(site) if stored is None else None
            if stored is not None or down is not None:  # no worker, lookup nor connection
                ready.extend(self._complete(job, expand(
                    key, stored or down, url=url, line=number, host=host, elapsed=0.0),
                    kept=stored))
            elif self.pending.put(site, job):
                self._start_worker()

    def _from_store(self, keys: list[str]) -> dict[str, Result]:
        """The fresh results the --cache file holds for ``keys``."""
        store = self.store
        if store is None or not keys:
            return {}
        try:
            return store.get_many(keys)
        except Exception as e:  # noqa: BLE001 - any failure of the file costs the file only
            self._store_failed(e)
            return {}

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
            _start_thread(t)
        except RuntimeError as e:
            raise ThreadStartError(
                f"cannot start downloader thread {len(self._workers) + 1} of "
                f"{self.settings.workers} ({e}); try fewer --workers"
            ) from e
        self._workers.append(t)

    def _stop_workers(self) -> None:
        self.stop.set()
        self.pending.close()
        for t in self._workers:
            t.join()

    # -- downloader threads ---------------------------------------------------------
    def _work(self) -> None:
        from linkfilter.fetch import Fetcher

        fetcher = Fetcher(self.settings)
        try:
            while True:
                got = self.pending.get()
                if got is None or self.stop.is_set():
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
                store = self.store
                if store is not None:
                    try:
                        store.put(job.key, result)
                    except Exception as e:  # noqa: BLE001 - see _from_store
                        self._store_failed(e)
        self._emit(self._complete(job, result))

    def _internal_error(self, job: _Job, error: Exception) -> None:
        """A bug while reporting a job: report it as the job's result, so that the
        URL's waiters and its --ordered slot are not left waiting."""
        reason = f"internal error: {type(error).__name__}: {error}"
        result = Result(url=job.url, line=job.line, host=job.host, error="internal", reason=reason)
        try:
            self._emit(self._complete(job, result))
        except Exception:  # noqa: BLE001 - the report itself failed: say so, plainly
            self.writer.err(f"linkfilter: {job.url}: {reason}")
            if job.slot is not None:
                self.inorder.fill(job.slot, None)

    def _complete(
        self, job: _Job, result: Result, kept: Result | None = None
    ) -> list[tuple[Result, Slot | None]]:
        """Store a claimed URL's result (``kept``: already in kept form): it, and every
        occurrence that waited for it."""
        now = time.monotonic()
        waiters = self.cache.complete(job.key, result, kept=kept)
        return [(result, job.slot)] + [
            (expand(job.key, result, url=w.url, line=w.line, host=w.host,
                    elapsed=now - w.queued), w.slot)
            for w in waiters
        ]

    # -- any thread -------------------------------------------------------------------
    def _emit(self, results: list[tuple[Result, Slot | None]]) -> None:
        """Hand results to the writer (or to their --ordered slots) in the chosen output
        mode, one write per stream."""
        settings = self.settings
        out: list[str] = []
        err: list[str] = []
        for result, slot in results:
            if settings.json:
                line = json_line(result)
            else:
                if settings.dry_run:
                    line = dry_run_format(result, settings.format) if settings.format is not None \
                        else dry_run_text([result.url])
                else:
                    line = text_line(result, settings.template, settings.fallback)
                if line is not None:
                    line = self._paint(line)
            if slot is not None:
                self.inorder.fill(slot, line)
            elif line is not None:
                out.append(line)
            if not result.ok and not settings.quiet and self.reported.first(result.url):
                text = error_line(result)
                err.append(f"{FAILURE_COLOR}{text}{RESET}" if self.err_color else text)
        with self._lock:
            self.stats.done += len(results)
            self.stats.cached += sum(r.cached for r, _ in results)
            self.stats.failed += sum(not r.ok for r, _ in results)
        if out:
            self.writer.out("\n".join(out))
        if err:
            self.writer.err("\n".join(err))

    def _paint(self, text: str) -> str:
        """Result lines as stdout shows them: each set in ``RESULT_COLOR`` when colour is on."""
        if not self.out_color:
            return text
        return "\n".join(f"{RESULT_COLOR}{line}{RESET}" for line in text.split("\n"))


def _load_fetch_code() -> None:
    """Import the downloader threads' code (http.client, ssl and their libraries) here,
    before the first of them starts: once every thread's stack is mapped, there may be no
    address space left to load libssl, and a thread that failed its import would die with
    a traceback. The first request leaves no later for it: the first thread would wait
    for the same import."""
    try:
        importlib.import_module("linkfilter.fetch")
    except (ImportError, MemoryError, OSError) as e:
        raise ThreadStartError(f"cannot load the fetch code ({type(e).__name__}: {e})") from e


def _widen_pipe(stream) -> None:
    """Ask for a bigger pipe buffer, so bulk input comes in fewer, larger reads."""
    try:
        fd = stream.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, F_SETPIPE_SZ, READ_SIZE)
    except (OSError, ValueError, AttributeError):
        pass  # not a pipe, not Linux, or over the system's limit: reads are smaller


def _isatty(stream) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError, AttributeError):
        return False


def _binary(stream) -> BinaryIO | None:
    """The byte stream under a text stream (None when the descriptor is closed)."""
    if stream is None:
        return None
    return getattr(stream, "buffer", stream)


def _start_thread(thread: threading.Thread) -> None:
    """Start ``thread`` with SIGINT and SIGTERM blocked in it (and in the threads it starts),
    so that they are always delivered to the main thread, whose handler ends the run."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def install_signal_handlers(last_words=None) -> tuple[dict, int]:
    """SIGINT and SIGTERM end the process at once: no draining, no traceback.

    ``last_words()``, if given, returns text for stderr on the way out
    (``Pipeline.last_words``), written as it is. Returns the previous handlers, for
    ``restore_signal_handlers``, and the read end of the wake-up pipe, for
    ``Pipeline(wake_fd=...)``.
    """

    def handler(signum, frame):
        with contextlib.suppress(Exception):
            text = last_words() if last_words is not None else None
            if text:
                os.write(2, text.encode("utf-8", "replace"))
        os._exit(ExitStatus.INTERRUPTED if signum == signal.SIGINT else ExitStatus.TERMINATED)

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    previous["wakeup"] = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    previous["pipe"] = (wake_r, wake_w)
    return previous, wake_r


def restore_signal_handlers(previous: dict) -> None:
    signal.set_wakeup_fd(previous.pop("wakeup"))
    for fd in previous.pop("pipe"):
        os.close(fd)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
