"""Store: results kept across runs in a real SQLite file (expiry, bounds, modes, unusable files, sharing)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from command import read_line
from linkfilter import store as store_module
from linkfilter.result import Result
from linkfilter.store import APPLICATION_ID, FIELDS, SCHEMA_VERSION, Store, StoreError, namespace

NS = namespace(max_bytes=1 << 20, max_title=200, accept_language="en", user_agent="linkfilter/1",
               allow_private=False)


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


def ok(i=0):
    return Result(url=f"http://a/{i}", line=3, host="a", final_url=f"https://a/{i}", status=200,
                  title=f"Title {i}", content_type="text/html", content_length=100 + i, charset="utf-8",
                  charset_source="header", site="Site", description=f"About {i}", author="Me",
                  title_source="og", kind="page", final_host="b.example", elapsed=0.5)


def bad(i=0):
    return Result(url=f"http://a/{i}", line=3, host="a", error="timeout", reason="timed out after 10 s")


def get(store, key):
    """The fresh result ``store`` holds for ``key``, or None: a lookup of one key."""
    return store.get_many([key]).get(key)


def open_store(path, *, ttl=3600.0, failure_ttl=60.0, ns=NS, **kw):
    return Store.open(str(path), ttl=ttl, failure_ttl=failure_ttl, namespace=ns, **kw)


def rows(path) -> list[bytes]:
    """The stored keys (namespace, NUL, URL) in storing order, read by a connection of our own."""
    with sqlite3.connect(str(path)) as db:
        keys = [k for (k,) in db.execute("SELECT key FROM results ORDER BY seq")]
        (counted,) = db.execute("SELECT rows FROM meta").fetchone()
    db.close()
    assert counted == len(keys), "the kept row count drifted from the table"
    return keys


def urls(path) -> list[str]:
    return [k.split(b"\0", 1)[1].decode() for k in rows(path)]


def snapshot(directory) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


# --- round trip and keys ---------------------------------------------------------------------------

def test_round_trip_keeps_what_the_output_needs_across_reopening(tmp_path):
    path = tmp_path / "cache.sqlite3"
    odd = "http://a/\0x\u00e9\U0001f600\udcff?" + "q" * 100_000  # NUL, non-ASCII, a lone surrogate, long
    with open_store(path) as store:
        assert get(store, "http://a/0") is None
        store.put("http://a/0", ok(0))
        store.put(odd, ok(1))
        store.put("http://a/2", bad(2))
    with open_store(path) as store:
        got = get(store, "http://a/0")
        assert got == ok(0)._replace(url="http://a/0", line=0, host="", elapsed=0.0, cached=True)
        assert [getattr(got, f) for f in FIELDS] == [getattr(ok(0), f) for f in FIELDS]
        assert get(store, odd) == ok(1)._replace(url=odd, line=0, host="", elapsed=0.0, cached=True)
        assert get(store, "http://a/2") == bad(2)._replace(line=0, host="", cached=True)
        assert get(store, "http://a/3") is None
        assert get(store, odd[:-1]) is None


def test_fields_follow_result_order():
    # get builds a Result positionally from the stored columns: those up to reason, then
    # elapsed, cached and host_down (not stored), then the rest.
    first = FIELDS.index("reason") + 1
    assert Result._fields[3:3 + first] == FIELDS[:first]
    assert Result._fields[3 + first:6 + first] == ("elapsed", "cached", "host_down")
    assert Result._fields[6 + first:] == FIELDS[first:]


def test_a_file_description_comes_back_from_the_file(tmp_path):
    result = Result(url="http://a/x.png", line=1, host="a", status=200, content_type="image/png",
                    content_length=2048, kind="image", file_type="PNG image", width=640,
                    height=480)
    song = result._replace(url="http://a/s.mp3", kind="audio", file_type="MP3 audio", width=None,
                           height=None, duration=225.5, title="Artist \u2013 Song",
                           title_source="file")
    with open_store(tmp_path / "c.sqlite3") as store:
        store.put("http://a/x.png", result)
        store.put("http://a/s.mp3", song)
        many = store.get_many(["http://a/x.png", "http://a/s.mp3"])
    assert many["http://a/x.png"] == result._replace(line=0, host="", cached=True)
    assert many["http://a/s.mp3"] == song._replace(line=0, host="", cached=True)


def test_text_sqlite_cannot_hold_is_not_stored_and_not_an_error(tmp_path):
    with open_store(tmp_path / "c.sqlite3") as store:
        store.put("http://a/", ok()._replace(title="bad \udcff"))
        store.put("http://b/", ok()._replace(content_length=1 << 70))
        assert get(store, "http://a/") is None and get(store, "http://b/") is None
        store.put("http://c/", ok())
        assert get(store, "http://c/").title == ok().title


def test_namespace_separates_settings(tmp_path):
    settings = dict(max_bytes=1 << 20, max_title=200, accept_language="en", user_agent="u",
                    allow_private=False)
    base = namespace(**settings)
    assert base == namespace(**settings) and len(base) == 16 and int(base, 16) >= 0
    changed = [dict(settings, max_bytes=1 << 21), dict(settings, max_title=80),
               dict(settings, accept_language="de"), dict(settings, user_agent="v"),
               dict(settings, allow_private=True), dict(settings, prefer="card"),
               dict(settings, oembed=False)]
    spaces = {namespace(**s) for s in changed}
    assert len(spaces) == len(changed) and base not in spaces

    path = tmp_path / "c.sqlite3"
    other = namespace(**changed[0])
    with open_store(path, ns=base) as a, open_store(path, ns=other) as b:
        a.put("http://a/", ok())
        assert get(b, "http://a/") is None
        b.put("http://a/", ok(7))
        assert get(a, "http://a/").title == ok().title
        assert get(b, "http://a/").title == ok(7).title


def test_namespace_is_stable_across_processes():
    code = ("from linkfilter.store import namespace; print(namespace(max_bytes=5, max_title=6,"
            " accept_language='fr', user_agent='x', allow_private=True))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == namespace(max_bytes=5, max_title=6, accept_language="fr", user_agent="x",
                                    allow_private=True)


# --- expiry --------------------------------------------------------------------------------------------

def test_a_page_is_fresh_until_the_ttl_and_stale_at_it(tmp_path):
    clock = Clock()
    with open_store(tmp_path / "c.sqlite3", ttl=100, clock=clock) as store:
        start = clock.now
        store.put("k", ok())
        clock.now = start + 99.999
        assert get(store, "k") is not None
        clock.now = start + 100
        assert get(store, "k") is None


def test_a_failure_is_kept_at_most_the_failure_ttl(tmp_path):
    clock = Clock()
    with open_store(tmp_path / "c.sqlite3", ttl=3600, failure_ttl=60, clock=clock) as store:
        start = clock.now
        store.put("k", bad())
        store.put("p", ok())
        clock.now = start + 59.999
        assert get(store, "k") == bad()._replace(url="k", line=0, host="", cached=True)
        clock.now = start + 60
        assert get(store, "k") is None
        assert get(store, "p") is not None


def test_a_failure_ttl_longer_than_the_ttl_is_cut_to_it(tmp_path):
    clock = Clock()
    with open_store(tmp_path / "c.sqlite3", ttl=30, failure_ttl=60, clock=clock) as store:
        start = clock.now
        store.put("k", bad())
        clock.now = start + 29.999
        assert get(store, "k") is not None
        clock.now = start + 30
        assert get(store, "k") is None


def test_a_reader_with_a_shorter_ttl_sees_a_row_stale_sooner_and_never_past_its_own_expiry(tmp_path):
    clock = Clock()
    path = tmp_path / "c.sqlite3"
    start = clock.now
    with open_store(path, ttl=100, clock=clock) as writer:
        writer.put("k", ok())
    clock.now = start + 10
    with open_store(path, ttl=10, clock=clock) as short, open_store(path, ttl=1000, clock=clock) as long:
        assert get(short, "k") is None
        assert get(long, "k") is not None
        clock.now = start + 100
        assert get(long, "k") is None


def test_get_many_never_serves_a_row_past_the_expiry_its_writer_set(tmp_path):
    """A reader with longer TTLs than the writer's gets neither a stale page nor a stale failure."""
    clock = Clock()
    path = tmp_path / "c.sqlite3"
    start = clock.now
    with open_store(path, ttl=100, failure_ttl=60, clock=clock) as writer:
        writer.put("page", ok())
        writer.put("failure", bad())
    with open_store(path, ttl=1000, failure_ttl=600, clock=clock) as long:
        clock.now = start + 59
        assert sorted(long.get_many(["page", "failure"])) == ["failure", "page"]
        clock.now = start + 60  # the failure's expiry as written
        assert sorted(long.get_many(["page", "failure"])) == ["page"]
        clock.now = start + 100  # the page's
        assert long.get_many(["page", "failure"]) == {}


def test_ttl_zero_opens_but_keeps_nothing(tmp_path):
    path = tmp_path / "c.sqlite3"
    with open_store(path, ttl=0) as store:
        store.put("k", ok())
        store.put("f", bad())
        assert get(store, "k") is None
    assert rows(path) == []


# --- bounds ----------------------------------------------------------------------------------------------

def test_expired_rows_are_pruned_on_open(tmp_path):
    clock = Clock()
    path = tmp_path / "c.sqlite3"
    start = clock.now
    with open_store(path, ttl=100, clock=clock) as store:
        store.put("old", ok())
        store.put("failed", bad())
        clock.now = start + 50
        store.put("young", ok())
    clock.now = start + 100
    open_store(path, ttl=100, clock=clock).close()
    assert urls(path) == ["young"]


def test_expired_rows_are_pruned_every_so_many_puts(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "PRUNE_EVERY", 4)
    clock = Clock()
    path = tmp_path / "c.sqlite3"
    with open_store(path, ttl=100, clock=clock) as store:
        store.put("a", ok())
        store.put("b", ok())
        clock.now += 100
        store.put("c", ok())
        assert urls(path) == ["a", "b", "c"]
        store.put("d", ok())  # the 4th store
        assert urls(path) == ["c", "d"]


def test_past_the_row_cap_the_oldest_stored_go_first(tmp_path):
    path = tmp_path / "c.sqlite3"
    with open_store(path, max_rows=5) as store:
        for i in range(8):
            store.put(f"k{i}", ok(i))
        assert urls(path) == ["k3", "k4", "k5", "k6", "k7"]
        assert get(store, "k2") is None and get(store, "k3").title == ok(3).title
        store.put("k3", ok(30))  # replacing is storing again: k3 is now the newest, and no row is added
        assert urls(path) == ["k4", "k5", "k6", "k7", "k3"]
        store.put("k8", ok(8))
        assert urls(path) == ["k5", "k6", "k7", "k3", "k8"]
    with open_store(path, max_rows=2):  # a smaller cap applies on open
        pass
    assert urls(path) == ["k3", "k8"]


def test_the_default_cap_is_100_000_rows():
    assert store_module.MAX_ROWS == 100_000


# --- file and directory modes ------------------------------------------------------------------------

@pytest.fixture(params=[0o000, 0o022, 0o777], ids=lambda m: f"umask {m:03o}")
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_is_0600_and_a_new_parent_0700_whatever_the_umask(tmp_path, umask):
    path = tmp_path / "made" / "cache.sqlite3"
    with open_store(path) as store:
        store.put("k", ok())
        assert mode(path.parent) == 0o700
        assert {name: mode(path.parent / name) for name in os.listdir(path.parent)} == {
            "cache.sqlite3": 0o600, "cache.sqlite3-wal": 0o600, "cache.sqlite3-shm": 0o600}


def test_an_existing_parent_and_file_keep_their_modes(tmp_path):
    path = tmp_path / "c.sqlite3"
    open_store(path).close()
    os.chmod(path, 0o640)
    os.chmod(tmp_path, 0o755)
    open_store(path).close()
    assert mode(path) == 0o640 and mode(tmp_path) == 0o755


def test_every_missing_directory_is_made_0700_whatever_the_umask(tmp_path, umask):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    path = home / ".cache" / "linkfilter" / "cache.sqlite3"
    with open_store(path) as store:
        store.put("k", ok())
    with open_store(path) as store:
        assert get(store, "k") is not None
    assert [mode(d) for d in (home, home / ".cache", path.parent)] == [0o755, 0o700, 0o700]


def test_a_zero_length_file_is_taken_as_new(tmp_path):
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"")
    with open_store(path) as store:
        store.put("k", ok())
    with open_store(path) as store:
        assert get(store, "k") is not None


# --- unusable places ---------------------------------------------------------------------------------

def test_a_directory_is_unusable(tmp_path):
    with pytest.raises(StoreError, match="^is a directory$"):
        open_store(tmp_path)


def test_a_path_inside_a_regular_file_is_unusable(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(StoreError, match="^not a directory$"):
        open_store(tmp_path / "file" / "cache.sqlite3")
    with pytest.raises(StoreError, match="^not a directory$"):
        open_store(tmp_path / "file" / "sub" / "cache.sqlite3")
    assert snapshot(tmp_path) == {"file": b"x"}


def test_a_device_is_unusable():
    with pytest.raises(StoreError, match="^not a regular file$"):
        open_store(os.devnull)


#: Tries Store.open on each path as another user (nobody, when run as root: root ignores file modes).
AS_NOBODY = """
import os, sys
from linkfilter.store import Store, StoreError
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
for path in sys.argv[1:]:
    try:
        Store.open(path, ttl=60, failure_ttl=60, namespace="n").close()
        print("opened")
    except StoreError as e:
        print(e)
"""


def test_no_permission_is_unusable_and_nothing_is_changed():
    # Root passes every permission check, so the opener drops to nobody in a child process; its
    # files sit in a directory of their own under the system temp dir (pytest's is root's only).
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)  # others may look, not write
        locked = os.path.join(top, "locked.sqlite3")
        with open(locked, "wb"):
            pass
        os.chmod(locked, 0o000)
        theirs = os.path.join(top, "theirs.sqlite3")
        open_store(theirs).close()
        os.chmod(theirs, 0o666)  # writable, but its directory is not: no -wal, -shm beside it
        before = {name: os.stat(os.path.join(top, name)) for name in os.listdir(top)}
        paths = [locked, os.path.join(top, "new.sqlite3"), theirs]
        out = subprocess.run([sys.executable, "-c", AS_NOBODY, *paths], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["permission denied", "permission denied",
                                           "read-only (attempt to write a readonly database)"]
        after = {name: os.stat(os.path.join(top, name)) for name in os.listdir(top)}
        assert {n: (s.st_size, s.st_mtime_ns) for n, s in after.items()} == {
            n: (s.st_size, s.st_mtime_ns) for n, s in before.items()}


#: Opens the store at argv[1] as nobody (when run as root), looks up "k", tries to store "j".
READ_AS_NOBODY = """
import os, sys
from linkfilter.result import Result
from linkfilter.store import Store
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
with Store.open(sys.argv[1], ttl=60, failure_ttl=60, namespace="n") as store:
    store.put("j", Result("j", 0, "", title="J"))
    found = store.get_many(["k", "j"])
    print(store.read_only, {k: r.title for k, r in found.items()})
"""


def test_a_file_that_can_be_read_but_not_written_answers_lookups_and_is_left_as_it_was():
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        path = os.path.join(top, "cache.sqlite3")
        with Store.open(path, ttl=60, failure_ttl=60, namespace="n") as store:
            store.put("k", ok())
        os.chmod(path, 0o444)  # to root's child, nobody, as to its owner
        before = {name: os.stat(os.path.join(top, name)) for name in os.listdir(top)}
        out = subprocess.run([sys.executable, "-c", READ_AS_NOBODY, path], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout == f"True {{'k': {ok().title!r}}}\n"
        after = {name: os.stat(os.path.join(top, name)) for name in os.listdir(top)}
        assert {n: (s.st_size, s.st_mtime_ns) for n, s in after.items()} == {
            n: (s.st_size, s.st_mtime_ns) for n, s in before.items()}  # no -wal, no -shm


def test_a_file_whose_mode_lets_nobody_write_is_read_only_even_to_root(tmp_path):
    """chmod a-w protects the file from whoever opens it, root included (who passes the
    permission check): lookups are answered, nothing is stored, nothing is made beside it."""
    path = tmp_path / "cache.sqlite3"
    with open_store(path) as store:
        store.put("k", ok())
    path.chmod(0o444)
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    with open_store(path) as store:
        assert store.read_only
        store.put("j", ok(1))
        assert {k: r.title for k, r in store.get_many(["k", "j"]).items()} == {"k": ok().title}
    assert {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before
    path.chmod(0o644)  # one write bit is enough to make it writable again
    with open_store(path) as store:
        assert not store.read_only


def test_an_empty_file_that_cannot_be_written_is_unusable():
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        path = os.path.join(top, "cache.sqlite3")
        open(path, "wb").close()
        os.chmod(path, 0o444)
        out = subprocess.run([sys.executable, "-c", AS_NOBODY, path], capture_output=True, text=True,
                             timeout=30)
        assert out.stdout == "read-only and empty\n", out.stderr
        assert os.listdir(top) == ["cache.sqlite3"]


def test_a_corrupt_file_is_left_as_it_was(tmp_path):
    (tmp_path / "c.sqlite3").write_bytes(os.urandom(8192))
    (tmp_path / "short").write_bytes(b"SQLite format 3\x00")
    before = snapshot(tmp_path)
    for name in before:
        with pytest.raises(StoreError, match=r"^not a linkfilter cache \(file is not a database\)$"):
            open_store(tmp_path / name)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_another_program_s_sqlite_file_is_left_as_it_was(tmp_path, journal):
    path = tmp_path / "theirs.db"
    db = sqlite3.connect(str(path))
    db.execute(f"PRAGMA journal_mode = {journal}")
    db.execute("CREATE TABLE results (key, value)")
    db.execute("INSERT INTO results VALUES ('http://a/', 'precious')")
    db.commit()
    db.close()
    before = snapshot(tmp_path)
    foreign = r"^not a linkfilter cache \(an SQLite database of another program\)$"
    with pytest.raises(StoreError, match=foreign):
        open_store(path)
    assert snapshot(tmp_path) == before


def test_another_program_s_crashed_wal_database_is_not_recovered_by_us(tmp_path):
    # Its last commits sit in its -wal file (copied while open, as a crash leaves them): a
    # SQLite connection would replay them into the main file; we read the header and stop.
    live = tmp_path / "live"
    live.mkdir()
    db = sqlite3.connect(str(live / "theirs.db"))
    db.execute("PRAGMA journal_mode = wal")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES ('precious')")
    db.commit()
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("theirs.db", "theirs.db-wal"):
        (crashed / name).write_bytes((live / name).read_bytes())
    db.close()
    before = snapshot(crashed)
    with pytest.raises(StoreError, match=r"^not a linkfilter cache"):
        open_store(crashed / "theirs.db")
    assert snapshot(crashed) == before


def test_a_file_of_a_newer_schema_version_is_left_as_it_was(tmp_path):
    path = tmp_path / "c.sqlite3"
    with open_store(path) as store:
        store.put("k", ok())
    db = sqlite3.connect(str(path))
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 6}")
    db.close()
    before = snapshot(tmp_path)
    expected = (f"made by another version of linkfilter"
                f" (schema {SCHEMA_VERSION + 6}, this one reads {SCHEMA_VERSION})")
    with pytest.raises(StoreError) as raised:
        open_store(path)
    assert str(raised.value) == expected
    assert snapshot(tmp_path) == before


#: The schema of the first release's cache file (schema 1: no file description columns), as it wrote it.
SCHEMA_1 = (
    "CREATE TABLE results (seq INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE,"
    " stored REAL NOT NULL, expires REAL NOT NULL, final_url, status, title, content_type,"
    " content_length, charset, charset_source, error, reason)",
    "CREATE INDEX results_expires ON results (expires)",
    "CREATE TABLE meta (rows INTEGER NOT NULL)",
    "INSERT INTO meta (rows) VALUES (1)",
    f"PRAGMA application_id = {APPLICATION_ID}",
    "PRAGMA user_version = 1",
)


def make_schema_1(path, key: bytes) -> None:
    """A cache file as the first release left it: schema 1, WAL mode, one row stored under ``key``."""
    db = sqlite3.connect(str(path), isolation_level=None)
    for statement in SCHEMA_1:
        db.execute(statement)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("INSERT INTO results (key, stored, expires, title) VALUES (?, 0, 1e12, 'Old')", (key,))
    db.close()
    os.chmod(path, 0o600)


def test_a_cache_of_an_older_version_is_rebuilt_in_this_schema_once(tmp_path):
    path = tmp_path / "c.sqlite3"
    make_schema_1(path, (NS + "\0http://a/0").encode())
    with open_store(path) as store:
        assert not store.read_only
        assert get(store, "http://a/0") is None  # the old rows are gone with their tables
        store.put("http://a/1", ok(1))
    db = sqlite3.connect(str(path))
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    columns = [row[1] for row in db.execute("PRAGMA table_info(results)")]
    assert columns == ["seq", "key", "stored", "expires", *FIELDS]
    db.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open_store(path) as store:  # rebuilt once: what this version stored stays
        assert get(store, "http://a/1") == ok(1)._replace(line=0, host="", elapsed=0.0, cached=True)
    assert rows(path) == [(NS + "\0http://a/1").encode()]


def test_a_read_only_cache_of_an_older_version_is_refused_and_left_as_it_was():
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        path = os.path.join(top, "cache.sqlite3")
        make_schema_1(path, b"n\0k")
        os.chmod(path, 0o444)  # to root's child, nobody, as to its owner
        before = snapshot(Path(top))
        out = subprocess.run([sys.executable, "-c", AS_NOBODY, path], capture_output=True, text=True,
                             timeout=30)
        assert out.stdout == (f"made by another version of linkfilter (schema 1, this one reads"
                              f" {SCHEMA_VERSION})\n"), out.stderr
        assert snapshot(Path(top)) == before


def test_a_cache_damaged_past_its_header_is_left_as_it_was(tmp_path):
    path = tmp_path / "c.sqlite3"
    with open_store(path) as store:
        for i in range(50):
            store.put(f"http://a/{i}", ok(i)._replace(title="x" * 1000))
    data = path.read_bytes()
    page = int.from_bytes(data[16:18], "big")
    path.write_bytes(data[:page] + bytes(len(data) - page))  # every page but the first zeroed
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match=r"^corrupt \(database disk image is malformed\)$"):
        open_store(path)
    assert snapshot(tmp_path) == before


def test_a_full_disk_is_a_store_error_and_keeps_what_was_stored(tmp_path):
    # Simulated: PRAGMA max_page_count caps the file at its present size, as a full disk
    # would; SQLite answers SQLITE_FULL ("database or disk is full") in both cases.
    path = tmp_path / "c.sqlite3"
    with open_store(path) as store:
        store.put("k", ok())
        store._db.execute("PRAGMA max_page_count = 1")  # at most its present size
        with pytest.raises(StoreError, match="^disk is full$"):
            for i in range(100):
                store.put(f"http://a/{i}", ok(i)._replace(title="x" * 4000))
        assert get(store, "k") is not None
    assert urls(path) == ["k"]


# --- sharing ----------------------------------------------------------------------------------------------

def test_a_write_lock_past_the_timeout_drops_a_store_and_never_blocks_a_get(tmp_path):
    path = tmp_path / "c.sqlite3"
    with open_store(path, busy_timeout=0.05) as store:
        store.put("k", ok())
        other = sqlite3.connect(str(path), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's write lock
        other.execute("DELETE FROM results")
        store.put("j", ok())  # no error: dropped
        assert get(store, "k") is not None  # WAL: a reader sees the last commit
        other.execute("ROLLBACK")
        other.close()
        assert get(store, "j") is None
        store.put("j", ok())
        assert get(store, "j") is not None


def test_a_file_held_exclusively_past_the_timeout_is_unusable_not_a_wait(tmp_path):
    path = tmp_path / "c.sqlite3"
    open_store(path).close()
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")  # holds the file against readers too, even under WAL
    try:
        with pytest.raises(StoreError, match="^locked by another process$"):
            open_store(path, busy_timeout=0.05)
    finally:
        other.close()
    open_store(path).close()


#: One process of the sharing test: waits for "go", then opens the store and stores and reads 500 keys.
SHARER = """
import sys
from linkfilter.result import Result
from linkfilter.store import Store
path, tag = sys.argv[1:]
print("ready", flush=True)
sys.stdin.readline()
with Store.open(path, ttl=3600, failure_ttl=60, namespace="n") as store:
    for i in range(500):
        store.put(f"http://{tag}/{i}", Result("", 0, "", title=f"{tag} {i}"))
    found = store.get_many([f"http://{tag}/{i}" for i in range(500)])
    print(500 - len(found), flush=True)
"""


def test_two_processes_share_one_new_file(tmp_path):
    path = tmp_path / "shared" / "cache.sqlite3"  # both create it, and its parent, at once
    procs = [subprocess.Popen([sys.executable, "-c", SHARER, str(path), tag], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for tag in ("a", "b")]
    try:
        for proc in procs:
            assert read_line(proc.stdout, timeout=30) == b"ready\n"
        for proc in procs:
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        outs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert [(proc.returncode, out, err) for proc, (out, err) in zip(procs, outs)] == [(0, b"0\n", b"")] * 2
    with open_store(path, ns="n") as store:
        for tag in ("a", "b"):
            assert all(get(store, f"http://{tag}/{i}").title == f"{tag} {i}" for i in range(500))
    assert len(rows(path)) == 1000


#: Files opened by several at once in the race test below, and how many open each.
RACE_FILES = 300
RACE_OPENERS = 3


def test_openers_racing_on_a_new_file_all_get_it(tmp_path):
    # One opener sets the file up while the others check it: none may take the file half set
    # up for another program's (the scripts test met that 1 run in 20; 300 files here).
    failures = []

    def opener(path, start):
        start.wait(timeout=10)
        try:
            open_store(path).close()
        except StoreError as e:
            failures.append((path.name, str(e)))

    for k in range(RACE_FILES):
        start = threading.Barrier(RACE_OPENERS)
        path = tmp_path / f"c{k}.sqlite3"
        threads = [threading.Thread(target=opener, args=(path, start), daemon=True)
                   for _ in range(RACE_OPENERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads)
    assert failures == []


def test_threads_share_one_store(tmp_path):
    with open_store(tmp_path / "c.sqlite3") as store:
        misses = []

        def work(tag):
            for i in range(100):
                store.put(f"http://{tag}/{i}", ok(i))
                if get(store, f"http://{tag}/{i}") is None:
                    misses.append((tag, i))

        threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads)
        assert misses == []
    assert len(rows(tmp_path / "c.sqlite3")) == 400


def test_a_put_that_may_not_wait_is_dropped_at_once_and_leaves_the_waiting_as_it_was(tmp_path):
    path = tmp_path / "c.sqlite3"
    with open_store(path, busy_timeout=0.3) as store:
        other = sqlite3.connect(str(path), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's write lock, held
        t0 = time.monotonic()
        store.put("a", ok(1), wait=False)
        t1 = time.monotonic()
        store.put("b", ok(2))  # still waits the busy timeout: the hurried put changed nothing
        t2 = time.monotonic()
        assert t2 - t1 >= 0.3 and t1 - t0 < (t2 - t1) / 2
        other.execute("ROLLBACK")
        store.put("c", ok(3), wait=False)
        other.close()
        assert store.get_many(["a", "b", "c"]).keys() == {"c"}


def test_a_closed_store_does_nothing(tmp_path):
    store = open_store(tmp_path / "c.sqlite3")
    store.put("k", ok())
    store.close()
    store.close()
    assert get(store, "k") is None
    store.put("j", ok())
    assert urls(tmp_path / "c.sqlite3") == ["k"]


def test_get_many_answers_for_many_keys_in_several_queries_as_for_each_alone(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(store_module, "GET_MANY_CHUNK", 3)  # several queries for one call
    with open_store(tmp_path / "c.sqlite3", clock=clock) as s:
        for i in range(7):
            s.put(f"http://a/{i}", ok(i) if i % 2 else bad(i))
        other = "http://other/caf\udce9"
        s.put(other, ok(9))
        clock.now += 61  # the failures are stale now, the pages fresh
        keys = [f"http://a/{i}" for i in range(9)] + [other, other]
        many = s.get_many(keys)
        assert many == {k: get(s, k) for k in keys if get(s, k) is not None}
        assert sorted(many) == sorted([f"http://a/{i}" for i in (1, 3, 5)] + [other])
        assert all(r.cached and r.url == k for k, r in many.items())
        assert s.get_many([]) == {}
