"""Caching: a URL repeated in a run is fetched once; the ``--cache`` file keeps results
between runs, shared by processes, and costs one line and no URL when it fails.

Every run is a subprocess (``command.py``); the server counts the requests it gets, which is
how a test tells a cached result from a fetched one. Independent runs are started together
(``run_all``) so their start-ups overlap.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import socket
import sqlite3
import stat
import threading
import time

import pytest

from linkfilter.result import Result
from linkfilter.store import MAX_ROWS, SCHEMA_VERSION, Store

from command import RUN_TIMEOUT, by_url, digest_failures, digest_input, lines, read_line, records, run, run_all, start
from servers import page


def test_cache_fetches_a_repeated_url_once(site):
    data = f"{site.url('/')}\nagain {site.url('/')}\n{site.url('/gone')} {site.url('/gone')}x\n{site.url('/gone')}\n".encode()
    p = run(["--allow-private", "-n", "--json", "-w", "1"], data)
    got = records(p.stdout)
    assert len(got) == 5
    assert len(site.requests_for("/")) == 1
    assert len(site.requests_for("/gone")) == 1
    assert sum(r["cached"] for r in got if r["url"] == site.url("/")) == 1
    no_cache = run(["--allow-private", "-n", "--cache-ttl", "0", "-w", "1"], f"{site.url('/untitled')}\n".encode() * 3)
    assert no_cache.returncode == 0
    assert len(site.requests_for("/untitled")) == 3


def test_a_second_run_makes_no_request_and_reports_every_result_cached(site, tmp_path):
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)
    data = digest_input(site)
    env = {"HOME": str(home)}

    plain = run(["--allow-private", "--json"], data, env)  # no --cache: nothing on disk
    assert plain.returncode == 0 and len(records(plain.stdout)) == 5
    assert list(home.rglob("*")) == [home / ".cache"]
    fetched = len(site.requests)
    assert fetched == 5

    # The README's place, from the environment, '~' expanded; umask 0 must not open it up.
    first = run(["--allow-private", "--json"], data,
                {**env, "LINKFILTER_CACHE": "~/.cache/linkfilter/cache.sqlite3"}, umask=0)
    path = home / ".cache" / "linkfilter" / "cache.sqlite3"
    assert first.returncode == 0 and len(site.requests) == fetched + 5
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert {p.name for p in path.parent.iterdir()} <= {path.name, path.name + "-wal",
                                                       path.name + "-shm"}
    assert {stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()} == {0o600}
    was = by_url(first.stdout)
    assert not any(r["cached"] for r in was.values())

    second = run(["--allow-private", "--json", "--cache", str(path)], data, env)
    assert len(site.requests) == fetched + 5  # the server saw nothing
    assert second.returncode == 0
    now = by_url(second.stdout)
    assert now.keys() == was.keys()
    for url, record in now.items():
        assert record["cached"] is True and record["elapsed"] == 0.0
        assert {**record, "cached": False, "elapsed": 0} == {**was[url], "elapsed": 0}
    assert sorted(lines(second.stderr)) == sorted(digest_failures(site))

    text = run(["--allow-private", "-n", "--cache", str(path), "-f", "{title} {cached}",
                "--fallback", "({error}) {cached}"], data, env)
    assert len(site.requests) == fetched + 5
    assert sorted(lines(text.stdout)) == sorted(
        ["Alpha true", "Beta true", "(no-title) true", "[image/png, 2.0 KiB] true", "(http-404) true"])


def test_dns_and_connect_failures_are_kept_so_a_second_run_makes_no_lookup_nor_connection(
        tmp_path):
    """As the in-memory cache keeps them: fetched, and failed at once on a host just found down,
    by a downloader thread (the URL waited) or by the reader (it came later)."""
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there: connection refused
    dead, unknown = f"http://127.0.0.1:{port}", "http://nowhere.invalid"
    early = f"{dead}/a {dead}/b {unknown}/a\n".encode()
    late = f"{dead}/c {unknown}/b\n".encode()
    args = ["--allow-private", "--json", "-q", "--stats", "-w", "1",
            "--cache", str(tmp_path / "c.sqlite3")]
    p = start(args)
    try:
        p.stdin.write(early)
        p.stdin.flush()
        got = [json.loads(read_line(p.stdout, timeout=RUN_TIMEOUT)) for _ in range(3)]
        out, err = p.communicate(late, timeout=RUN_TIMEOUT)  # the hosts are down by now
    finally:
        p.kill()
        p.wait()
    errors = {f"{dead}/{x}": "connect" for x in "abc"} | {f"{unknown}/{x}": "dns" for x in "ab"}
    assert {r["url"]: r["error"] for r in got + records(out)} == errors
    assert ", 2 fetched, 3 cached, 5 failed," in err.decode()

    listener = socket.create_server(("127.0.0.1", port))  # where a connection would now go
    try:
        second = run(args + ["-t", "2"], early + late)  # a connection would wait for no answer
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert {r["url"]: (r["error"], r["cached"]) for r in records(second.stdout)} == {
        url: (error, True) for url, error in errors.items()}
    assert ", 0 fetched, 5 cached, 5 failed," in second.stderr.decode()


def test_the_cache_is_keyed_by_the_normalised_url_and_the_settings_that_change_a_result(
        site, tmp_path):
    url = site.url("/a")
    data = f"x {url}\n".encode()
    cache = ["-n", "--cache", str(tmp_path / "c.sqlite3")]
    base = ["--allow-private"] + cache
    first = run(base, data)
    assert first.stdout == f"{site.authority}: Alpha\n".encode() and len(site.requests) == 1

    # Settings that do not change a result, and another spelling of the URL: from the cache.
    spelled = f"x {url.replace('http://', 'HTTP://')}#top\n".encode()
    same, cached, private = run_all(
        (base + ["-t", "5", "-w", "2", "--per-host", "1", "--max-redirects", "0"], spelled),
        (base + ["-f", "{title} {cached}"], data),
        (cache + ["--json"], data))  # without --allow-private: not the stored page
    assert len(site.requests) == 1
    assert same.stdout == first.stdout and cached.stdout == b"Alpha true\n"
    assert json.loads(private.stdout)["error"] == "blocked-address"

    # Each setting that changes a result keys results of its own: one request each.
    changed = [["--max-bytes", "4096"], ["--max-title", "3"], ["--accept-language", "de"],
               ["-A", "other/1"], ["--cache-ttl", "0"]]  # 0: no cache at all
    assert all(p.returncode == 0 for p in run_all(*[(base + c, data) for c in changed]))
    assert len(site.requests) == 1 + len(changed)
    cut, again = run_all((base + ["--max-title", "3"], data), (base, data))
    assert len(site.requests) == 1 + len(changed)
    assert cut.stdout == f"{site.authority}: Al…\n".encode() and again.stdout == first.stdout


def shift(path, seconds: float) -> None:
    """Make every stored result ``seconds`` older, as if that much time had passed."""
    with sqlite3.connect(str(path)) as db:
        db.execute("UPDATE results SET stored = stored - ?, expires = expires - ?",
                   (seconds, seconds))
    db.close()


def test_failures_are_kept_a_minute_at_most_and_pages_for_the_ttl(site, tmp_path):
    path = tmp_path / "c.sqlite3"
    data = f"{site.url('/a')} {site.url('/missing')}\n".encode()
    args = ["--allow-private", "-n", "-q", "--cache", str(path)]
    run(args, data)
    assert [r.path for r in site.requests] in (["/a", "/missing"], ["/missing", "/a"])
    run(args, data)
    assert len(site.requests) == 2
    shift(path, 61)
    run(args, data)
    assert [r.path for r in site.requests[2:]] == ["/missing"]
    run(args + ["--cache-ttl", "60"], data)  # the page is now 61 s old
    assert [r.path for r in site.requests[3:]] == ["/a"]


def test_expired_rows_are_pruned_and_at_most_max_rows_are_kept_oldest_first_out(site, tmp_path):
    path = tmp_path / "c.sqlite3"
    args = ["--allow-private", "-n", "--cache", str(path)]
    run(args, f"{site.url('/a')} {site.url('/b')}\n".encode())
    shift(path, 3600)  # both expired
    now = time.time()
    with sqlite3.connect(str(path)) as db:  # MAX_ROWS fresh rows of another run, in its schema
        db.executemany("INSERT INTO results (key, stored, expires) VALUES (?, ?, ?)",
                       ((b"other\0http://x/%d" % i, now, now + 3600) for i in range(MAX_ROWS)))
        db.execute("UPDATE meta SET rows = rows + ?", (MAX_ROWS,))
    db.close()
    p = run(args, f"{site.url('/a')} {site.url('/none')}\n".encode())
    assert p.returncode == 0 and p.stderr.decode() == f"linkfilter: {site.url('/none')}: no title in the page\n"
    with sqlite3.connect(str(path)) as db:
        keys = [k for (k,) in db.execute("SELECT key FROM results ORDER BY seq")]
        (counted,) = db.execute("SELECT rows FROM meta").fetchone()
    db.close()
    assert len(keys) == counted == MAX_ROWS
    assert keys[0] == b"other\0http://x/2"  # the two oldest went for the two new
    assert [k.split(b"\0")[1].decode() for k in keys[-2:]] in (
        [site.url("/a"), site.url("/none")], [site.url("/none"), site.url("/a")])
    assert not any(k.endswith(b"/b") for k in keys)  # pruned, not just outnumbered


def test_two_processes_share_one_cache_file_at_once(http_server, tmp_path):
    # Each process must fetch its own /meet while the other has the file open: the server holds
    # both requests until both have come (so the runs overlap), then answers them.
    both = threading.Barrier(2, timeout=20)

    def meet(request):
        both.wait()
        return page("<title>met</title>")

    http_server.route("/meet", meet)
    for i in range(6):
        http_server.route(f"/p{i}", page(f"<title>page {i}</title>"))
    path = tmp_path / "new" / "cache.sqlite3"  # both create it and its parent at once
    inputs = [
        (f"{tag} {http_server.url(f'/meet?{tag}')}\n" + "".join(
            f"{tag} {http_server.url(f'/p{i}')}\n" for i in range(tag, 6, 2))).encode()
        for tag in (0, 1)]
    procs = [start(["--allow-private", "-n", "--cache", str(path), "-f", "{url} {title}"])
             for _ in inputs]
    try:
        for p, data in zip(procs, inputs):
            p.stdin.write(data)
            p.stdin.flush()
        outs = [p.communicate(timeout=RUN_TIMEOUT) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert [(p.returncode, err) for p, (_, err) in zip(procs, outs)] == [(0, b"")] * 2
    for tag, (out, _) in enumerate(outs):
        assert sorted(lines(out)) == sorted(
            [f"{http_server.url(f'/p{i}')} page {i}" for i in range(tag, 6, 2)]
            + [f"{http_server.url(f'/meet?{tag}')} met"])
    fetched = len(http_server.requests)
    assert fetched == 8
    third = run(["--allow-private", "--json", "--cache", str(path)], b"".join(inputs))
    assert len(http_server.requests) == fetched
    assert len(records(third.stdout)) == 8 and all(r["cached"] for r in records(third.stdout))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_lock_held_by_another_process_costs_one_wait_not_one_per_url(tmp_path):
    # Store-level (linkfilter's busy timeout is 5 s: too long for a CLI test); belongs beside
    # tests/test_store.py, which another helper owns.
    path = tmp_path / "c.sqlite3"
    result = Result("http://a/", 1, "a", title="A")
    with Store.open(str(path), ttl=3600, failure_ttl=60, namespace="n", busy_timeout=0.3) as store:
        other = sqlite3.connect(str(path), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's write lock, held
        t0 = time.monotonic()
        store.put("http://a/0", result)  # waits the busy timeout, then is dropped
        t1 = time.monotonic()
        for i in range(1, 20):
            store.put(f"http://a/{i}", result)
        t2 = time.monotonic()
        assert t1 - t0 >= 0.3 and t2 - t1 < (t1 - t0) / 2
        other.execute("ROLLBACK")
        store.put("http://a/20", result)  # gets through: waiting is back
        assert list(store.get_many(["http://a/20", "http://a/5"])) == ["http://a/20"]
        other.execute("BEGIN IMMEDIATE")
        t3 = time.monotonic()
        store.put("http://a/21", result)
        assert time.monotonic() - t3 >= 0.3
        other.execute("ROLLBACK")
        other.close()


def make_foreign(path) -> None:
    with sqlite3.connect(str(path)) as db:
        db.execute("CREATE TABLE notes (text)")
    db.close()


def make_other_version(path) -> None:
    Store.open(str(path), ttl=60, failure_ttl=60, namespace="n").close()
    with sqlite3.connect(str(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()


#: (file name, how to make it, the reason linkfilter gives)
UNUSABLE = [
    ("corrupt.sqlite3", lambda p: p.write_bytes(b"SQLite format 2\0" + b"\x07" * 5000),
     "not a linkfilter cache (file is not a database)"),
    ("foreign.sqlite3", make_foreign,
     "not a linkfilter cache (an SQLite database of another program)"),
    ("version.sqlite3", make_other_version,
     f"made by another version of linkfilter (schema {SCHEMA_VERSION + 1}, "
     f"this one reads {SCHEMA_VERSION})"),
    ("directory", lambda p: p.mkdir(), "is a directory"),
    ("file/parent/c.sqlite3", lambda p: (p.parent.parent.write_bytes(b"x")), "not a directory"),
]


def test_an_unusable_cache_costs_one_line_and_no_url(site, tmp_path):
    top = tmp_path / "top"
    top.mkdir()
    paths = []
    for name, make, _ in UNUSABLE:
        paths.append(top / name)
        make(top / name)
    before = snapshot(top)
    got = run_all(*[(["--allow-private", "-n", "--cache", str(path), "-f", "{title}"],
                     digest_input(site)) for path in paths])
    for path, (_, _, reason), p in zip(paths, UNUSABLE, got):
        assert p.returncode == 0
        err = lines(p.stderr)
        assert err[0] == f"linkfilter: cache {path}: {reason.format(top=top)}; continuing without it"
        assert sorted(err[1:]) == sorted(digest_failures(site))
        assert sorted(lines(p.stdout)) == ["Alpha", "Beta", "[image/png, 2.0 KiB]"]
    assert len(site.requests) == 5 * len(UNUSABLE)
    assert snapshot(top) == before  # each left byte for byte as it was, nothing beside it


def read_only_for_root() -> None:
    """In the child: root without the capabilities that pass over file modes (dropped from the
    bounding set, so the exec cannot bring them back), so a 0444 file is read-only to it too."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 24, 1, 2, 3


@pytest.mark.parametrize("as_root", [False, True], ids=["unwritable", "write-protected-to-root"])
def test_a_read_only_cache_file_still_answers_and_costs_one_line(site, tmp_path, as_root):
    """A 0444 file is read-only to whoever runs the command: root, who may write it, keeps it
    as its mode says, as ``rm`` asks before removing a write-protected file."""
    path = tmp_path / "cache.sqlite3"
    run(["--allow-private", "-n", "--cache", str(path)], f"{site.url('/a')}\n".encode())
    path.chmod(0o444)
    before = snapshot(tmp_path)
    p = run(["--allow-private", "-n", "--cache", str(path), "-f", "{title} {cached}"],
            digest_input(site), preexec_fn=None if as_root else read_only_for_root)
    assert p.returncode == 0
    err = lines(p.stderr)
    assert err[0] == f"linkfilter: cache {path}: read-only; results will not be saved"
    assert sorted(err[1:]) == sorted(digest_failures(site))
    assert sorted(lines(p.stdout)) == [
        "Alpha true", "Beta false", "[image/png, 2.0 KiB] false"]
    assert len(site.requests) == 1 + 4  # /a came from the file
    assert snapshot(tmp_path) == before  # nothing stored, no -wal or -shm beside it


def snapshot(directory) -> dict:
    """Every file under ``directory``: its bytes and modification time (None for a directory)."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None
            for p in sorted(directory.rglob("*"))}


def test_a_disk_that_fills_up_costs_one_line_and_no_url(site, tmp_path):
    # A file size limit makes writes past it fail, as a full disk does: here past 40 KiB,
    # once the run's write-ahead log has taken a few results.
    path = tmp_path / "c.sqlite3"
    run(["--allow-private", "-n", "--cache", str(path)], f"{site.url('/b')}\n".encode())

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (40 * 1024, 40 * 1024))

    data = digest_input(site)
    p = run(["--allow-private", "-n", "--cache", str(path), "-f", "{title}"], data,
            preexec_fn=limit)
    assert p.returncode == 0
    err = lines(p.stderr)
    assert len(err) == 3 and set(digest_failures(site)) <= set(err)
    (warning,) = [e for e in err if e.startswith("linkfilter: cache ")]
    prefix, suffix = f"linkfilter: cache {path}: ", "; continuing without it"
    assert warning.startswith(prefix) and warning.endswith(suffix)
    assert warning[len(prefix):-len(suffix)].strip()  # the reason
    assert sorted(lines(p.stdout)) == ["Alpha", "Beta", "[image/png, 2.0 KiB]"]
    again = run(["--allow-private", "-n", "--cache", str(path), "-q"], data)  # still usable
    assert again.returncode == 0 and again.stderr == b""


def test_a_dry_run_never_touches_the_cache_file(tmp_path):
    """No directory or file made, no file opened: not even one that could not be a cache."""
    other = tmp_path / "other.db"
    other.write_bytes(b"another program's file\n")
    new = tmp_path / "new" / "dir" / "c.sqlite3"
    data = b"see http://a.example/x\n"
    plain, flag, under_a_file, foreign, env = run_all(
        (["--dry-run"], data),
        (["--dry-run", "--cache", str(new)], data),
        (["--dry-run", "--cache", str(other / "c.sqlite3")], data),
        (["--dry-run", "--cache", str(other)], data),
        (["--dry-run"], data, {"LINKFILTER_CACHE": str(new)}))
    assert plain.stdout == data + b"http://a.example/x\n"
    for p in (flag, under_a_file, foreign, env):
        assert (p.returncode, p.stdout, p.stderr) == (0, plain.stdout, b"")
    assert [p.name for p in tmp_path.iterdir()] == ["other.db"]
    assert other.read_bytes() == b"another program's file\n"
