"""Results kept across runs in an SQLite file: the store behind ``--cache PATH``.

One row per settings namespace and normalised URL, with the wall-clock time it
was stored and the time it expires. ``get_many`` serves a row while it is fresh
both for the run that stored it and for the run that reads it (a reader with a
shorter ``--cache-ttl`` sees it stale sooner), so what a run sees never depends
on when pruning happened.

Several processes may share one file: WAL mode and a busy timeout; a lock held
past the timeout makes a lookup a miss and drops a ``put``, it never fails a URL.
A lock held that long costs one wait, not one per URL: after it, writes are
tried without waiting (and dropped while the lock stays) until one succeeds.
The file stays bounded: expired rows are pruned on open and every
``PRUNE_EVERY`` stores, and past ``MAX_ROWS`` rows the oldest stored go first
(an exact count kept in the file, so the cap holds across processes).

Chat URLs carry private links and tokens: a file created here is 0600 and each
missing directory above it is created 0700, whatever the umask. A file that is
not ours (not SQLite, another program's database, a newer schema version) raises
``StoreError`` and is left byte for byte as it was: its header is read with
plain ``os`` calls before SQLite may touch it. A zero-length file counts as new,
as SQLite itself treats it. A cache of ours made by an older version is only a
cache: its tables are dropped and made anew in this version's schema, once, when
the file is writable (a read-only one is refused like a newer one).

A file that we may read but not write, or whose mode lets nobody write it
(``chmod a-w``: root keeps it too, as ``rm`` asks before removing such a file),
is opened ``read_only``: lookups are answered and nothing is stored. It is opened immutable, so SQLite makes no
``-wal`` or ``-shm`` file beside it and takes no lock; it sees what a writer has
checkpointed into the file (which closing it does).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import struct
import threading
import time
import urllib.parse
from typing import Callable

from linkfilter.errors import LinkfilterError
from linkfilter.result import Result

#: ``PRAGMA application_id`` of a linkfilter cache ("lnkf"): any other marks a foreign file.
APPLICATION_ID = 0x6C6E6B66

#: ``PRAGMA user_version`` of the schema below; a file with a newer one is not read, a
#: writable file with an older one is rebuilt in this one.
SCHEMA_VERSION = 2

#: Most rows kept in one file; past it the oldest stored are deleted first.
MAX_ROWS = 100_000

#: Expired rows are pruned on open and after every this many stores.
PRUNE_EVERY = 1_000

#: Seconds a statement waits for another process's lock before giving up (a miss, or a dropped store).
BUSY_TIMEOUT = 5.0

#: The parts of a Result the output needs, stored as columns in Result's own order: those
#: from final_url to reason, then (after elapsed, cached and host_down) the description.
FIELDS = ("final_url", "status", "title", "content_type", "content_length",
          "charset", "charset_source", "error", "reason",
          "kind", "title_source", "site", "description", "author", "final_host",
          "file_type", "width", "height", "duration", "pages")
_FIRST = FIELDS.index("reason") + 1  # columns before elapsed in Result's order

_MAGIC = b"SQLite format 3\x00"
_HEADER = struct.Struct(">60xI4xI")  # user_version at offset 60, application_id at 68

_SCHEMA = (
    # seq: the order of storing (a replaced key gets a new, highest one); the lowest go first past the cap.
    # key: namespace, NUL, normalised URL, as UTF-8 bytes (lone surrogates passed through).
    "CREATE TABLE results (seq INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE,"
    " stored REAL NOT NULL, expires REAL NOT NULL, " + ", ".join(FIELDS) + ")",
    "CREATE INDEX results_expires ON results (expires)",
    # The exact number of rows in results, kept in the same transactions that change it.
    "CREATE TABLE meta (rows INTEGER NOT NULL)",
    "INSERT INTO meta (rows) VALUES (0)",
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)

_GET_MANY = "SELECT key, stored, expires, " + ", ".join(FIELDS) + " FROM results WHERE key IN ({})"
#: Keys asked for in one query by ``get_many`` (SQLite allows 999 parameters at the least).
GET_MANY_CHUNK = 500
_INSERT = ("INSERT INTO results (key, stored, expires, " + ", ".join(FIELDS) + ") VALUES ("
           + ", ".join("?" * (3 + len(FIELDS))) + ")")
_ERROR = FIELDS.index("error")

#: SQLite messages (sqlite3_errstr) and the reason a user reads for them.
_SQLITE_REASONS = {
    "database or disk is full": "disk is full",
    "file is not a database": "not a linkfilter cache (file is not a database)",
    "database disk image is malformed": "corrupt (database disk image is malformed)",
    "attempt to write a readonly database": "read-only (attempt to write a readonly database)",
    "database is locked": "locked by another process",  # only open can fail so, past the busy timeout
}


class StoreError(LinkfilterError):
    """Raised when the cache file cannot be used; the message is the reason, for
    ``linkfilter: cache PATH: <reason>; continuing without it``."""


def namespace(*, max_bytes: int, max_title: int, accept_language: str, user_agent: str,
              allow_private: bool, prefer: str = "title", oembed: bool = True) -> str:
    """A short stable digest of the settings that change a result, to key stored results by.

    64-bit FNV-1a over the settings joined by NUL (header values hold no control
    characters, so the joining is unambiguous): nothing to guard against but chance,
    and no hashlib or json to import, which would cost a cached run more than its lookups.
    """
    text = "\0".join((str(max_bytes), str(max_title), accept_language, user_agent,
                      "1" if allow_private else "0", prefer, "1" if oembed else "0"))
    digest = _FNV_OFFSET
    for byte in text.encode("utf-8", "surrogatepass"):
        digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFF_FFFF_FFFF_FFFF
    return f"{digest:016x}"


_FNV_OFFSET, _FNV_PRIME = 0xCBF2_9CE4_8422_2325, 0x100_0000_01B3


class Store:
    """Results of earlier runs in one SQLite file; thread-safe (one connection behind a lock).

    Make one with ``Store.open``. ``get_many`` and ``put`` raise ``StoreError`` on a
    real failure (disk full, file corrupted under us); a lock past the busy timeout
    is never one. After ``close`` both do nothing; on a ``read_only`` store ``put``
    does nothing.
    """

    def __init__(self, db: sqlite3.Connection, path: str, *, ttl: float, failure_ttl: float,
                 namespace: str, clock: Callable[[], float], max_rows: int,
                 busy_timeout: float = BUSY_TIMEOUT, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.ttl = max(ttl, 0.0)
        self.failure_ttl = max(min(ttl, failure_ttl), 0.0)
        self.max_rows = max_rows
        self._db: sqlite3.Connection | None = db
        self._prefix = namespace + "\0"
        self._clock = clock
        self._lock = threading.Lock()
        self._puts = 0
        self._busy_ms = max(int(busy_timeout * 1000), 0)
        self._waiting = True  # writes wait for a lock (up to the busy timeout)

    @classmethod
    def open(cls, path: str, *, ttl: float, failure_ttl: float, namespace: str,
             clock: Callable[[], float] = time.time, max_rows: int = MAX_ROWS,
             busy_timeout: float = BUSY_TIMEOUT) -> Store:
        """Open the cache at ``path``, creating it (0600) and its missing directories (0700).

        Raises StoreError when the file cannot be used, leaving a file that is not
        ours as it was; a zero-length file is taken as new. A file that can be read
        but not written opens ``read_only``. ``clock`` gives
        wall-clock seconds (expiry must hold across runs); ``max_rows`` and
        ``busy_timeout`` default to MAX_ROWS and BUSY_TIMEOUT.
        """
        if "\0" in namespace:
            raise ValueError("a namespace cannot hold NUL")
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, not {max_rows}")
        read_only = False if _create(path) else _check_header(path)
        uri = "file:" + urllib.parse.quote(os.fsencode(os.path.abspath(path)))
        # mode=rw: SQLite never creates the file (it would, with the umask's mode, had it vanished).
        # immutable: no -wal and -shm beside a file we may not change (see the module docstring).
        uri += "?mode=ro&immutable=1" if read_only else "?mode=rw"
        try:
            db = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None,
                                 check_same_thread=False)
        except sqlite3.Error as e:
            raise StoreError(_reason(e)) from e
        try:
            _prepare(db, read_only)
            store = cls(db, path, ttl=ttl, failure_ttl=failure_ttl, namespace=namespace,
                        clock=clock, max_rows=max_rows, busy_timeout=busy_timeout,
                        read_only=read_only)
            if not read_only:
                store._write(store._prune)
        except BaseException as e:
            db.close()
            if isinstance(e, sqlite3.Error):
                raise StoreError(_reason(e)) from e
            raise
        return store

    def get_many(self, keys: list[str]) -> dict[str, Result]:
        """The fresh stored results for normalised URLs ``keys``, by key, in a few queries.

        Each is marked cached, with only url set among url/line/host/elapsed (to its
        key): the caller fills them in.
        """
        now = self._clock()
        wanted = {self._key(key): key for key in keys}
        rows = []
        with self._lock:
            if self._db is None:
                return {}
            names = list(wanted)
            try:
                for at in range(0, len(names), GET_MANY_CHUNK):
                    chunk = names[at:at + GET_MANY_CHUNK]
                    query = _GET_MANY.format(", ".join("?" * len(chunk)))
                    rows.extend(self._db.execute(query, chunk).fetchall())
            except sqlite3.Error as e:
                if _is_busy(e):
                    return {}
                raise StoreError(_reason(e)) from e
        found = {}
        for name, stored, expires, *fields in rows:
            ttl = self.ttl if fields[_ERROR] is None else self.failure_ttl
            if now < expires and now < stored + ttl:
                key = wanted[name]
                # Positional (FIELDS follow Result's own order from final_url on): faster than keywords.
                found[key] = Result(key, 0, "", *fields[:_FIRST], 0.0, True, False, *fields[_FIRST:])
        return found

    def put(self, key: str, result: Result, *, wait: bool = True) -> None:
        """Store ``result`` for ``key``: for the TTL if it is a page, at most the failure TTL if not.

        A store that meets a lock past the busy timeout, or text SQLite cannot hold
        (lone surrogates), is dropped; the run goes on without it. With ``wait``
        False (for a thread that must never block, such as the reader) a lock held
        by another process drops it at once.
        """
        ttl = self.ttl if result.error is None else self.failure_ttl
        if ttl <= 0 or self.read_only:
            return
        now = self._clock()
        row = (self._key(key), now, now + ttl, *(getattr(result, name) for name in FIELDS))
        try:
            self._write(self._store, row, now, wait=wait)
        except (UnicodeEncodeError, OverflowError):
            return

    def close(self) -> None:
        """Close the file; later calls to get_many and put do nothing."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        read_only = ", read_only=True" if self.read_only else ""
        return f"Store({self.path!r}, ttl={self.ttl}, failure_ttl={self.failure_ttl}{read_only})"

    def _key(self, url: str) -> bytes:
        return (self._prefix + url).encode("utf-8", "surrogatepass")

    def _write(self, change: Callable, *args, wait: bool = True) -> None:
        """Run ``change(db, *args)`` in one write transaction; a lock past the timeout drops
        it (with ``wait`` False, any lock: such a write leaves the waiting as it was)."""
        with self._lock:
            db = self._db
            if db is None:
                return
            hurry = not wait and self._waiting
            if hurry:
                db.execute("PRAGMA busy_timeout = 0")
            try:
                done = self._transaction(db, change, args)
            finally:
                if hurry:
                    db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            if wait:
                self._wait_for_locks(db, done)

    @staticmethod
    def _transaction(db: sqlite3.Connection, change: Callable, args: tuple) -> bool:
        """Run ``change(db, *args)`` in one write transaction: False if a lock dropped it."""
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            if _is_busy(e):
                return False
            raise StoreError(_reason(e)) from e
        try:
            change(db, *args)
            db.execute("COMMIT")
        except BaseException as e:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite may have rolled back already; the first error is the one to tell
            if isinstance(e, sqlite3.Error):
                if _is_busy(e):
                    return False
                raise StoreError(_reason(e)) from e
            raise
        return True

    def _wait_for_locks(self, db: sqlite3.Connection, wait: bool) -> None:
        """Wait up to the busy timeout for another process's lock, or (after a wait that
        ran out, until a write gets through) not at all."""
        if wait != self._waiting:
            db.execute(f"PRAGMA busy_timeout = {self._busy_ms if wait else 0}")
            self._waiting = wait

    def _store(self, db: sqlite3.Connection, row: tuple, now: float) -> None:
        replaced = db.execute("DELETE FROM results WHERE key = ?", (row[0],)).rowcount
        db.execute(_INSERT, row)
        self._puts += 1
        if not replaced:
            db.execute("UPDATE meta SET rows = rows + 1")
            self._trim(db)
        if self._puts % PRUNE_EVERY == 0:
            self._prune(db, now)

    def _prune(self, db: sqlite3.Connection, now: float | None = None) -> None:
        """Delete expired rows, then the oldest past the row cap."""
        gone = db.execute("DELETE FROM results WHERE expires <= ?",
                          (self._clock() if now is None else now,)).rowcount
        if gone:
            db.execute("UPDATE meta SET rows = rows - ?", (gone,))
        self._trim(db)

    def _trim(self, db: sqlite3.Connection) -> None:
        (rows,) = db.execute("SELECT rows FROM meta").fetchone()
        if rows > self.max_rows:
            gone = db.execute("DELETE FROM results WHERE seq IN (SELECT seq FROM results ORDER BY seq LIMIT ?)",
                              (rows - self.max_rows,)).rowcount
            db.execute("UPDATE meta SET rows = rows - ?", (gone,))


def _create(path: str) -> bool:
    """Create ``path`` as an empty 0600 file, and its missing directories; False if it exists."""
    _make_directories(os.path.dirname(os.path.abspath(path)))
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    except OSError as e:
        raise StoreError(_reason(e)) from e
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
    finally:
        os.close(fd)
    return True


def _make_directories(directory: str) -> None:
    """Create ``directory`` and every missing one above it, each 0700 whatever the umask."""
    missing = []
    while not os.path.isdir(directory) and directory not in missing:
        missing.append(directory)
        directory = os.path.dirname(directory)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # made by another process meanwhile, or not a directory: the next step tells
        except OSError as e:
            raise StoreError(_reason(e)) from e
        os.chmod(directory, 0o700)  # the umask may have taken bits away


#: Mode bits that let someone write a file: with none set it is write-protected.
WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def _check_header(path: str) -> bool:
    """Raise StoreError unless ``path`` is a regular file that is empty or our cache;
    return whether it is read-only to us (readable, and not writable or write-protected)."""
    read_only = False
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if not isinstance(e, PermissionError) and e.errno != errno.EROFS:
            raise StoreError(_reason(e)) from e
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            raise StoreError(_reason(e)) from e
        read_only = True
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise StoreError("not a regular file")
        head = os.pread(fd, _HEADER.size, 0)
    finally:
        os.close(fd)
    read_only = read_only or not mode & WRITE_BITS  # write-protected, even to root
    if not head:
        if read_only:
            raise StoreError("read-only and empty")
        return False
    if len(head) < _HEADER.size or not head.startswith(_MAGIC):
        raise StoreError(_SQLITE_REASONS["file is not a database"])
    version, app_id = _HEADER.unpack(head)
    _check_ids(app_id, version, rebuilt=not read_only)
    return read_only


def _check_ids(app_id: int, version: int, *, rebuilt: bool = False) -> None:
    """Raise StoreError unless the ids are ours and the schema this one reads (or an older
    one, when it will be ``rebuilt``)."""
    if app_id != APPLICATION_ID:
        raise StoreError("not a linkfilter cache (an SQLite database of another program)")
    if version > SCHEMA_VERSION or version < SCHEMA_VERSION and not rebuilt:
        raise StoreError(f"made by another version of linkfilter"
                         f" (schema {version}, this one reads {SCHEMA_VERSION})")


def _ids(db: sqlite3.Connection) -> tuple[int, int, int]:
    """application_id, user_version and page_count, read by one statement (one read
    transaction): another process setting the file up is seen before or after, never half
    way (three PRAGMAs could see its pages but not yet its ids)."""
    return db.execute(
        "SELECT * FROM pragma_application_id, pragma_user_version, pragma_page_count").fetchone()


def _prepare(db: sqlite3.Connection, read_only: bool = False) -> None:
    """Give a new (empty) file our schema, check an existing one is ours, rebuild one of an
    older version of ours, then WAL mode (a read-only file is only checked)."""
    app_id, version, pages = _ids(db)
    if read_only:
        _check_ids(app_id, version)
        return
    if pages == 0 or (app_id == APPLICATION_ID and version < SCHEMA_VERSION):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have set it up (or rebuilt it) meanwhile: the ids are read again
            # inside this transaction.
            app_id, version, _ = _ids(db)
            new = (app_id, version) == (0, 0) and not db.execute("SELECT 1 FROM sqlite_master").fetchone()
            if new or (app_id == APPLICATION_ID and version < SCHEMA_VERSION):
                if not new:
                    _drop_tables(db)
                for statement in _SCHEMA:
                    db.execute(statement)
                app_id, version = APPLICATION_ID, SCHEMA_VERSION
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    _check_ids(app_id, version)
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as e:
            if not _is_busy(e):
                raise  # busy: another process is switching it; its mode is persistent
    db.execute("PRAGMA synchronous = NORMAL")  # safe under WAL: no fsync per commit


def _drop_tables(db: sqlite3.Connection) -> None:
    """Drop every table of an older version's cache (their indexes go with them)."""
    names = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for name in names:
        db.execute('DROP TABLE "{}"'.format(name.replace('"', '""')))


def _is_busy(e: sqlite3.Error) -> bool:
    """Whether ``e`` is another connection's lock held past the busy timeout."""
    message = str(e)
    return "database is locked" in message or "database table is locked" in message


def _reason(e: BaseException) -> str:
    """The reason a user reads for an OSError or SQLite error."""
    if isinstance(e, OSError):
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk is full"
        text = e.strerror or str(e)
        return text[:1].lower() + text[1:]
    message = str(e)
    return _SQLITE_REASONS.get(message, message)
