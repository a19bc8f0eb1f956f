"""reader -> pending list -> workers -> writer: the program itself, without error handling.

The main thread reads the input as it comes, hands every byte to the writer at
once (a partial line too), and puts the URLs it finds on the pending list
(``pending.py``): reading waits only when ``--max-pending`` URLs are waiting,
never on the workers themselves. Downloader threads are started as URLs need
them, up to ``--workers``, turn URLs into Results and hand them to the writer.
A host that failed at the network level fails its other URLs at once for a
while. At EOF the pending list is drained, then closed and a
``threading.Event`` set. Every thread but the main one blocks SIGINT, SIGTERM
and SIGHUP, so the main thread gets them even while blocked on input. A stop
signal ends the run without fetching more: what was read is written first, in
order (held ``--ordered`` results, a URL still in flight as its ``--fallback``
line with error ``interrupted``), then the ``--stats`` line; if that cannot be
done within ``STOP_GRACE`` seconds (a stdout nobody reads), the process ends
anyway.
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
from linkfilter.cache import FAILURE_TTL, Claim, HostFailures, ReportOnce, ResultCache, expand
from linkfilter.errors import BadURL, LinkfilterError
from linkfilter.ordered import InOrder, Slot
from linkfilter.output import counted, dry_run_format, dry_run_text, error_line, json_line, text_line
from linkfilter.pending import Pending
from linkfilter.result import Result
from linkfilter.scan import CandidateLines, decode_block
from linkfilter.settings import Settings
from linkfilter.urls import display_host, find_urls, find_urls_in_block, normalize_for_fetch, origin
from linkfilter.worker import describe, failure, internal_error
from linkfilter.writer import ExitStatus, Writer

#: Bytes asked of the input per read; a pipe on stdin is widened to match.
READ_SIZE = 256 * 1024

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)

#: Signals that stop a run; only the main thread may receive them.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
#: Signals blocked in every thread but the main one: the stop signals, and SIGALRM (their
#: deadline), so that they interrupt whatever the main thread waits on.
MAIN_THREAD_SIGNALS = STOP_SIGNALS | {signal.SIGALRM}
#: Seconds a stopped run has to write what it read before it ends regardless.
STOP_GRACE = 0.5
#: Seconds after a stop signal in which another one is the same stop: ``timeout`` sends its
#: signal to the command and then to the command's process group, two at once.
SAME_STOP = 0.25
#: The error code of a URL whose fetch a stop signal cut short.
INTERRUPTED = "interrupted"


class ThreadStartError(LinkfilterError):
    """Raised when the system refuses to start another thread, or to load the code it runs."""


class Interrupted(Exception):
    """Raised in the main thread, at a point where no state is half changed, once a stop
    signal came: the run then writes what it read and ends."""


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
        if progress.wanted(settings.progress, settings.quiet,
                           err_tty and progress.is_file(out), err_tty):
            self.progress = progress.Progress(self.stats, None)
        self.writer = Writer(
            out,
            err,
            status=self.progress.line if self.progress else None,
            interval=progress.INTERVAL,
            shared_terminal=err_tty and out_tty and progress.same_terminal(out, err),
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
        #: The stop signal received, if any (set by its handler, read by the reader).
        self.interrupted: int | None = None
        self._interrupted_at = 0.0  # time.monotonic() of the stop signal, once there is one
        self._may_raise = False  # the main thread waits where Interrupted may be raised
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
            self.stats.lines = lines.lines
            self.writer.eof()
            self._interruptible(self.pending.join)
            self._interruptible(self._stop_workers)
        except ThreadStartError as e:
            self.writer.err(f"linkfilter: {e}")
            self.writer.close()
            return ExitStatus.ERROR
        except Interrupted:
            pass
        if self.interrupted is not None:
            return self._stopped()
        if self.store is not None:
            self.store.close()
        if self.settings.stats:
            self.writer.err(self.stats.line())
        self.writer.close()
        return status

    def _interruptible(self, wait) -> None:
        """Call ``wait``, a wait that changes nothing it would leave half done if cut
        short, so that a stop signal raises ``Interrupted`` in it at once."""
        self._may_raise = True
        try:
            if self.interrupted is not None:
                raise Interrupted
            wait()
        finally:
            self._may_raise = False

    def interrupt(self, signum: int) -> None:
        """A stop signal (the main thread, in its handler; no lock may be taken here).

        Reading stops at the next chunk, the pending list waits for room no more, and
        ``STOP_GRACE`` seconds from now ``give_up`` ends the process whatever is left.
        A second stop signal ends it at once, unless it comes within ``SAME_STOP``
        seconds of the first (then it is the same stop).
        """
        now = time.monotonic()
        if self.interrupted is not None:
            if now - self._interrupted_at < SAME_STOP:
                return
            self.give_up()
        self.interrupted, self._interrupted_at = signum, now
        self.pending.stopping = True
        signal.setitimer(signal.ITIMER_REAL, STOP_GRACE)
        if self._may_raise:
            raise Interrupted

    def _stopped(self) -> ExitStatus:
        """After a stop signal: write what was read, in order, then the --stats line; the
        exit status says which signal (see ``ExitStatus``)."""
        self.stats.lines = self._lines.lines
        self.stop.set()  # workers take no more jobs
        if self.inorder is not None:
            self.inorder.close(self._unfinished_line)
        self.writer.eof()
        if self.settings.stats:
            self.writer.err(self.stats.line())
        self.writer.close()
        return signal_status(self.interrupted)

    def give_up(self) -> None:
        """End the process now (a stopped run that could not write in time, or a second
        signal): the progress line erased and the --stats line, straight to stderr."""
        with contextlib.suppress(Exception):
            text = self.last_words()
            if text:
                os.write(2, text.encode("utf-8", "replace"))
        os._exit(signal_status(self.interrupted or signal.SIGINT))

    def _unfinished_line(self, slot: Slot) -> str | None:
        """What a stop prints for a URL still in flight: its --fallback line, if set, with
        error ``interrupted``."""
        settings = self.settings
        if settings.fallback is None or settings.json or settings.dry_run or slot.source is None:
            return None
        url, number, host = slot.source
        result = Result(url=url, line=number, host=host, error=INTERRUPTED,
                        reason="stopped by a signal before the page came")
        line = text_line(result, settings.template, settings.fallback)
        return None if line is None else self._paint(line)

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
                ),
            )
        except store.StoreError as e:
            self._store_failed(e)
            return
        if self.store.read_only:
            self.writer.err(
                f"linkfilter: cache {settings.cache_path}: read-only; results will not be saved")

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
        """Copy one input to the writer and dispatch its URLs; False if it failed.

        Raises ``Interrupted`` between two chunks once a stop signal came: a chunk read
        is always handed on whole first."""
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
                if inorder is not None:  # a line still waiting holds only so much input
                    self._interruptible(inorder.wait_room)
                elif self.interrupted is not None:
                    raise Interrupted
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
                if wake in ready:  # the handler has run by now
                    with contextlib.suppress(OSError):
                        os.read(wake, 512)
                    if self.interrupted is not None:
                        raise Interrupted
                if fd in ready:
                    return os.read(fd, size)

        return read

    def _feed_in_order(self, data: bytes, lines: CandidateLines, echo: bool) -> None:
        """``--ordered``: echo up to the end of each line with URLs, then reserve its slots."""
        inorder = self.inorder
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
            urls = [f.url for f in founds if not settings.excluded(f.url)]
        else:
            urls = [f.url for f in founds]
        if urls:
            self.stats.urls += len(urls)  # only this thread counts URLs
            self.stats.done += len(urls)
            self.writer.out(self._paint(dry_run_text(urls)))

    def _found_urls(self, found: list[tuple[int, bytes]]) -> list[tuple]:
        """The URLs of a batch of candidate lines, in order, each as
        ``(line, url, host, key, error)``: ``key`` the normalised URL (None under
        --dry-run, or with ``error`` when it cannot be fetched), each key once a line."""
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
                urls.append((number, f.url, display_host(f.url), key, error))
        self.stats.urls += len(urls)  # only this thread counts URLs
        return urls

    def _dispatch(self, number: int, url: str, host: str, key: str | None,
                  error: BadURL | None, kept: dict, ready: list) -> None:
        """Queue one URL; a result known at once (cached, kept in the --cache file, its
        host down, a bad URL, a dry run) goes to ``ready``."""
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

    def _save(self, key: str, result: Result) -> None:
        """Keep a result in the --cache file too, as the in-memory cache keeps it (a failure
        for the failure TTL); the reader thread never waits for another process's lock."""
        store = self.store
        if store is not None:
            try:
                store.put(key, result, wait=threading.current_thread() is not threading.main_thread())
            except Exception as e:  # noqa: BLE001 - see _from_store
                self._store_failed(e)

    def _complete(
        self, job: _Job, result: Result, kept: Result | None = None
    ) -> list[tuple[Result, Slot | None]]:
        """Store a claimed URL's result (``kept``: already in kept form, from the --cache
        file; any other goes into the file too): it, and every occurrence that waited for it."""
        now = time.monotonic()
        waiters = self.cache.complete(job.key, result, kept=kept)
        if kept is None:
            self._save(job.key, result)
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
                    line = text_line(result, settings.template, settings.fallback,
                                     no_files=settings.no_files)
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
    """Start ``thread`` with the stop signals blocked in it (and in the threads it starts),
    so that they are always delivered to the main thread, whose handler ends the run."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, MAIN_THREAD_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def signal_status(signum: int) -> ExitStatus:
    """The exit status of a run a stop signal ended: 128 + its number."""
    return ExitStatus(128 + signum)


def install_signal_handlers(pipeline) -> tuple[dict, int]:
    """SIGINT, SIGTERM and SIGHUP stop the run (``Pipeline.interrupt``), without a traceback;
    one the caller ignores (``nohup``) stays ignored.

    ``pipeline()`` gives the Pipeline (None until there is one: then the signal ends the
    process at once). SIGALRM is its ``STOP_GRACE`` deadline (``Pipeline.give_up``).
    Returns the previous handlers, for ``restore_signal_handlers``, and the read end of
    the wake-up pipe, for ``Pipeline(wake_fd=...)``.
    """

    def stop(signum, frame):
        target = pipeline()
        if target is None:
            os._exit(signal_status(signum))
        target.interrupt(signum)

    def deadline(signum, frame):
        target = pipeline()
        if target is not None:
            target.give_up()

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS
                if signal.getsignal(sig) is not signal.SIG_IGN}  # nohup, ``cmd &``: still ignored
    previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, deadline)
    previous["wakeup"] = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    previous["pipe"] = (wake_r, wake_w)
    return previous, wake_r


def restore_signal_handlers(previous: dict) -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)  # a stopped run's deadline, if any
    signal.set_wakeup_fd(previous.pop("wakeup"))
    for fd in previous.pop("pipe"):
        os.close(fd)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
