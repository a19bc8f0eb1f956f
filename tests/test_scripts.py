"""Scripts and cron, through the real command against local servers: --cache, --ordered,
--fallback, template fields, --dry-run --format, --json, URLs that are not UTF-8, and errors
from the environment.

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
import subprocess
import threading
import time

import pytest

from command import CMD, clean_env, read_line, records, start
from linkfilter import __version__
from linkfilter.ordered import MAX_HELD_BYTES
from linkfilter.result import RECORD_FIELDS, Result
from linkfilter.store import MAX_ROWS, SCHEMA_VERSION, Store
from servers import Reply, hang, page

#: Seconds any one run may take before the test fails.
RUN_TIMEOUT = 30


def run(args, data: bytes = b"", env: dict | None = None, **popen) -> subprocess.CompletedProcess:
    """Run linkfilter on ``data`` (``popen``: e.g. umask, user, preexec_fn)."""
    return subprocess.run(CMD + list(args), input=data, capture_output=True, env=clean_env(env),
                          timeout=RUN_TIMEOUT, **popen)


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


def lines(stream: bytes) -> list[str]:
    return stream.decode().splitlines()


@pytest.fixture
def site(http_server):
    http_server.route("/a", page("<title>Alpha</title>"))
    http_server.route("/b", page("<title>Beta</title>"))
    http_server.route("/none", page("<p>no title here</p>"))
    http_server.route("/img", page(b"\x89PNG" + b"x" * 2044, "image/png"))
    return http_server  # anything else: 404


def digest_input(site) -> bytes:
    """Three lines of chat: two titled pages, an untitled one, an image, a 404."""
    u = site.url
    return (f"morning {u('/a')} and {u('/b')}\n{u('/none')} {u('/img')}\n"
            f"broken {u('/missing')}\n").encode()


def by_url(stdout: bytes) -> dict[str, dict]:
    return {r["url"]: r for r in records(stdout)}


# -- a persistent cache -------------------------------------------------------------------------

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
    assert lines(second.stderr) == [f"linkfilter: {site.url('/missing')}: HTTP 404 Not Found"]

    text = run(["--allow-private", "-n", "--cache", str(path), "-f", "{title} {cached}",
                "--fallback", "({error}) {cached}"], data, env)
    assert len(site.requests) == fetched + 5
    assert sorted(lines(text.stdout)) == sorted(
        ["Alpha true", "Beta true", "() true", "[image/png, 2.0 KiB] true", "(http-404) true"])


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
    assert p.returncode == 0 and p.stderr == b""
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
        assert lines(p.stderr) == [
            f"linkfilter: cache {path}: {reason.format(top=top)}; continuing without it",
            f"linkfilter: {site.url('/missing')}: HTTP 404 Not Found"]
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
    assert lines(p.stderr) == [
        f"linkfilter: cache {path}: read-only; results will not be saved",
        f"linkfilter: {site.url('/missing')}: HTTP 404 Not Found"]
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
    assert len(err) == 2 and f"linkfilter: {site.url('/missing')}: HTTP 404 Not Found" in err
    (warning,) = [e for e in err if e.startswith("linkfilter: cache ")]
    prefix, suffix = f"linkfilter: cache {path}: ", "; continuing without it"
    assert warning.startswith(prefix) and warning.endswith(suffix)
    assert warning[len(prefix):-len(suffix)].strip()  # the reason
    assert sorted(lines(p.stdout)) == ["Alpha", "Beta", "[image/png, 2.0 KiB]"]
    again = run(["--allow-private", "-n", "--cache", str(path), "-q"], data)  # still usable
    assert again.returncode == 0 and again.stderr == b""


# -- --ordered ----------------------------------------------------------------------------------

def test_ordered_output_against_pages_that_answer_in_reverse_order(http_server):
    # /r4 answers at once; /r3 once linkfilter has reported /r4 (its failure line on stderr),
    # /r2 after /r3, and /r1 last. The test sees each report, then lets the next page go.
    # Four runs at once, each with pages of its own (/K/rN).
    modes = [[], ["--ordered"], ["--ordered", "-n"], ["--ordered", "--json"]]
    gates = [{i: threading.Event() for i in (1, 2, 3)} for _ in modes]
    for k, run_gates in enumerate(gates):
        for i in (1, 2, 3, 4):
            def answer(request, gate=run_gates.get(i), i=i):
                if gate is not None:
                    assert gate.wait(20)
                if i == 1:
                    return page("<title>one</title>")
                return Reply(404, [("Content-Type", "text/plain")], b"gone")
            http_server.route(f"/{k}/r{i}", answer)
    u = http_server.url
    templates = ["-f", "{url} {title}", "--fallback", "{url} ({error})"]  # not with --json
    procs = [start(["--allow-private", *args, *([] if "--json" in args else templates)])
             for args in modes]
    try:
        for k, p in enumerate(procs):
            p.stdin.write(f"first {u(f'/{k}/r1')} {u(f'/{k}/r2')}\n"
                          f"second {u(f'/{k}/r3')} {u(f'/{k}/r4')}\nthird\n".encode())
            p.stdin.flush()
        for i in (4, 3, 2):
            for k, p in enumerate(procs):
                assert read_line(p.stderr).startswith(f"linkfilter: {u(f'/{k}/r{i}')}: ".encode())
                gates[k][i - 1].set()
        outs = [p.communicate(timeout=RUN_TIMEOUT) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert [(p.returncode, err) for p, (_, err) in zip(procs, outs)] == [(0, b"")] * len(modes)
    got = [lines(out) for out, _ in outs]

    def r(k, i):
        return f"{u(f'/{k}/r{i}')} one" if i == 1 else f"{u(f'/{k}/r{i}')} (http-404)"

    def echo(k):
        return [f"first {u(f'/{k}/r1')} {u(f'/{k}/r2')}", f"second {u(f'/{k}/r3')} {u(f'/{k}/r4')}",
                "third"]

    assert got[0] == echo(0) + [r(0, 4), r(0, 3), r(0, 2), r(0, 1)]  # as they come
    assert got[1] == [echo(1)[0], r(1, 1), r(1, 2), echo(1)[1], r(1, 3), r(1, 4), echo(1)[2]]
    assert got[2] == [r(2, 1), r(2, 2), r(2, 3), r(2, 4)]
    assert [(x["url"], x["line"]) for x in map(json.loads, got[3])] == [
        (u("/3/r1"), 1), (u("/3/r2"), 1), (u("/3/r3"), 2), (u("/3/r4"), 2)]


def test_an_ordered_line_waits_at_most_its_timeout_and_a_repeat_waits_for_the_first(
        site, raw_server):
    stuck = raw_server(hang())
    late = stuck.url("/late")
    data = (f"one {late} {site.url('/a')}\ntwo {site.url('/a')} {late}\nend").encode()
    p = run(["--allow-private", "--ordered", "-t", "0.5", "-f", "{title} {cached}",
             "--fallback", "{error} {cached}"], data)
    assert lines(p.stdout) == [f"one {late} {site.url('/a')}", "timeout false", "Alpha false",
                               f"two {site.url('/a')} {late}", "Alpha true", "timeout true",
                               "end"]
    (failure,) = lines(p.stderr)  # reported once
    assert failure.startswith(f"linkfilter: {late}: timed out") and "0.5 s" in failure
    assert stuck.wait_closed(1)  # its thread has recorded the request the command sent
    assert len(stuck.requests) == 1 and len(site.requests) == 1


#: Runs a command in a child of its own and prints the child's peak RSS (KiB) on stderr. A child
#: of the test process itself would report the test process's size: the peak carries over exec.
PEAK_RSS = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_ordered_holds_a_bounded_part_of_the_input_behind_a_waiting_line(raw_server, tmp_path):
    # Line 1 waits 1.5 s for its URL while 3 x MAX_HELD_BYTES of input stand behind it: the
    # ordered run must not keep them all (measured against the same run without --ordered).
    stuck = raw_server(hang())
    big = tmp_path / "big.log"
    chatter = b"nothing to fetch on this line, just talk and more talk and talk\n"
    with open(big, "wb") as f:
        f.write(f"wait {stuck.url('/')}\n".encode())
        f.write(chatter * (3 * MAX_HELD_BYTES // len(chatter)))
    size = big.stat().st_size

    def start_run(name, *args):
        with open(tmp_path / name, "wb") as out:
            return subprocess.Popen(
                [CMD[0], "-c", PEAK_RSS, *CMD, "--allow-private", "-q", "-t", "1.5", *args,
                 str(big)], stdout=out, stderr=subprocess.PIPE, env=clean_env())

    def peak(proc, name):
        _, err = proc.communicate(timeout=RUN_TIMEOUT)
        assert proc.returncode == 0 and (tmp_path / name).stat().st_size == size
        return int(err) * 1024

    ordered, baseline = start_run("ordered.out", "--ordered"), start_run("baseline.out")
    ordered_rss, baseline_rss = peak(ordered, "ordered.out"), peak(baseline, "baseline.out")
    assert ordered_rss < baseline_rss + 1.5 * MAX_HELD_BYTES, (ordered_rss, baseline_rss)


# -- --fallback -----------------------------------------------------------------------------------

def test_fallback_lines_for_a_404_a_timeout_and_a_page_without_a_title(site, raw_server):
    stuck = raw_server(hang())
    u = site.url
    data = (f"{u('/a')} {u('/missing')}\n{u('/none')}\n{stuck.url('/late')} {u('/img')}\n"
            ).encode()
    fallback = "NO TITLE {url} [{error}] [{reason}] [{title}] {status}"
    args = ["--allow-private", "-n", "--ordered", "-t", "0.5"]
    flag, quiet, from_env, without = run_all(
        (args + ["--fallback", fallback], data),
        (args + ["--fallback", fallback, "-q"], data),
        (args, data, {"LINKFILTER_FALLBACK": fallback}),
        (args, data))
    missing, timeout = lines(flag.stderr)  # failures still go to stderr, in input order here
    assert missing == f"linkfilter: {u('/missing')}: HTTP 404 Not Found"
    late = f"linkfilter: {stuck.url('/late')}: "
    assert timeout.startswith(late + "timed out")
    expected = [f"{site.authority}: Alpha",
                f"NO TITLE {u('/missing')} [http-404] [HTTP 404 Not Found] [] 404",
                f"NO TITLE {u('/none')} [] [] [] 200",
                f"NO TITLE {stuck.url('/late')} [timeout] [{timeout[len(late):]}] [] ",
                f"{site.authority}: [image/png, 2.0 KiB]"]
    for p in (flag, quiet, from_env):
        assert p.returncode == 0 and lines(p.stdout) == expected
    assert from_env.stderr == flag.stderr and quiet.stderr == b""
    assert lines(without.stdout) == [expected[0], expected[-1]]


# -- templates ----------------------------------------------------------------------------------

def test_format_and_fallback_see_every_field_of_the_json_record(site, tmp_path):
    fields = RECORD_FIELDS
    template = "\u241e".join("{%s}" % f for f in fields)  # a separator no value holds
    cache = ["--allow-private", "-n", "--cache", str(tmp_path / "c.sqlite3")]
    data = digest_input(site)
    as_json = by_url(run(cache + ["--json"], data).stdout)
    assert set(as_json["http://" + site.authority + "/a"]) == set(fields)
    text = run(cache + ["-f", template, "--fallback", template], data)  # from the cache
    got = {line.split("\u241e")[0]: line.split("\u241e") for line in lines(text.stdout)}
    assert got.keys() == as_json.keys()
    for url, record in as_json.items():
        record = {**record, "cached": True, "elapsed": 0.0}
        if url.endswith("/img"):
            record["title"] = "[image/png, 2.0 KiB]"  # its summary stands for a title
        want = ["" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                for v in (record[f] for f in fields)]
        assert got[url] == want


def test_a_null_field_with_a_number_format_spec_is_empty_not_an_error(site):
    refused = "http://127.0.0.1:1/"  # nothing listens on port 1
    data = f"{site.url('/a')}\n{refused}\n{site.url('/missing')}\nlast\n".encode()
    ordered, dry = run_all(
        (["--allow-private", "--ordered", "-q", "-f", "{status:d}|{content_length:>4,}|{title}",
          "--fallback", "{status:03d}|{content_length:>4,}|{error}"], data),
        (["--dry-run", "-n", "-f", "{status:d}{content_length:.2f}{url}"], data))
    assert ordered.returncode == 0 and ordered.stderr == b""
    assert lines(ordered.stdout) == [site.url("/a"), "200|  20|Alpha", refused, "||connect",
                                     site.url("/missing"), "404||http-404", "last"]
    assert dry.returncode == 0 and dry.stderr == b""
    assert lines(dry.stdout) == [site.url("/a"), refused, site.url("/missing")]


BAD_TEMPLATES = ["{title.upper}", "{title[0]}", "{url.__class__}", "{0}", "{nope}",
                 "{title:{url.__class__}}", "{title:>{line}}", "{title"]


def test_attribute_index_and_unknown_fields_are_usage_errors_before_reading(site):
    data = f"x {site.url('/a')}\n".encode()
    ways = [lambda t: (["--allow-private", "--format", t], data),
            lambda t: (["--allow-private", "--fallback", t], data),
            lambda t: (["--allow-private"], data, {"LINKFILTER_FORMAT": t}),
            lambda t: (["--allow-private"], data, {"LINKFILTER_FALLBACK": t})]
    runs = [ways[i % len(ways)](template) for i, template in enumerate(BAD_TEMPLATES)]
    for (args, _, *env), p in zip(runs, run_all(*runs)):
        where = (f"{args[1]} {args[2]}" if len(args) > 1 else
                 "{}={}".format(*next(iter(env[0].items()))))
        assert p.returncode == 2 and p.stdout == b"", (args, env)
        err = p.stderr.decode()
        assert err.startswith(f"linkfilter: {where}: ") and err.count("\n") == 1, err
    assert site.requests == []


# -- --dry-run, --json --------------------------------------------------------------------------

def test_dry_run_honours_format_with_url_host_and_line_only(site):
    data = f"a\nb {site.url('/a')} www.Example.org:8080/x\n".encode()
    every = "|".join("{%s}" % f for f in ("url", "host", "line", "title", "status", "error",
                                         "cached", "elapsed", "final_url"))
    formatted, plain = run_all((["--dry-run", "-n", "-f", every], data), (["--dry-run"], data))
    assert lines(formatted.stdout) == [f"{site.url('/a')}|{site.authority}|2||||||",
                                       "http://www.Example.org:8080/x|www.example.org:8080|2||||||"]
    assert plain.stdout.decode() == data.decode() + (
        f"{site.url('/a')}\nhttp://www.Example.org:8080/x\n")
    assert site.requests == []


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


def test_json_output_is_json_lines_only(site):
    data = f"hello\n{site.url('/a')} {site.url('/missing')}\nbye".encode()
    flag, env, dry = run_all((["--allow-private", "--json"], data),
                             (["--allow-private"], data, {"LINKFILTER_JSON": "1"}),
                             (["--dry-run", "--json"], data))
    for p in (flag, env, dry):
        assert p.returncode == 0
        got = [json.loads(line) for line in lines(p.stdout)]  # every line, or it raises
        assert sorted(r["url"] for r in got) == [site.url("/a"), site.url("/missing")]


# -- URLs that are not UTF-8 ----------------------------------------------------------------------

def test_url_bytes_that_are_not_utf8_are_shown_percent_encoded_as_fetched(http_server):
    http_server.route("/caf%E9", page("<title>Café</title>"))
    u = http_server.url
    data = f"{u('/caf')}\xe9 and {u('/bad')}\xff\n".encode("latin-1")
    good, bad = u("/caf%E9"), u("/bad%FF")
    text, as_json, dry, dry_json = run_all(
        (["--allow-private", "-n", "-f", "{url} {final_url} {title}", "--fallback",
          "{url} {reason}"], data),
        (["--allow-private", "--json", "-q"], data),
        (["--dry-run", "-n"], data),
        (["--dry-run", "--json"], data))
    assert sorted(lines(text.stdout)) == [f"{bad} HTTP 404 Not Found", f"{good} {good} Café"]
    assert lines(text.stderr) == [f"linkfilter: {bad}: HTTP 404 Not Found"]
    assert sorted((r["url"], r["final_url"]) for r in records(as_json.stdout)) == [
        (bad, None), (good, good)]
    assert lines(dry.stdout) == [good, bad]
    assert [r["url"] for r in records(dry_json.stdout)] == [good, bad]
    for p in (text, as_json, dry, dry_json):
        assert "\ufffd" not in p.stdout.decode() + p.stderr.decode()
        assert b"?" not in p.stdout + p.stderr
    assert sorted(r.target for r in http_server.requests) == sorted(["/bad%FF", "/caf%E9"] * 2)


# -- the environment ----------------------------------------------------------------------------

ENV_ERRORS = [
    ("LINKFILTER_TIMEOUT", "10s", "not a number of seconds"),  # the issue's example
    ("LINKFILTER_CACHE_TTL", "-1", "must be from 0 to 1000000000"),
    ("LINKFILTER_TIMEOUT", "inf", "must be more than 0 and at most 1000000000"),
    ("LINKFILTER_PROGRESS", "2", "not a yes/no value (1/0, true/false, yes/no, on/off)"),
    ("LINKFILTER_COLOR", "rainbow", "not one of auto, always, never"),
    ("LINKFILTER_EXCLUDE", "ok (", "bad regex '(': missing ), unterminated subpattern at "
                                   "position 0"),
    ("LINKFILTER_ACCEPT_LANGUAGE", "de\r\nX-Evil: 1", "may not hold control characters"),
]


def test_a_bad_value_from_the_environment_names_the_variable_and_a_flag_the_flag():
    runs = [([], b"x http://127.0.0.1:1/\n", {name: value}) for name, value, _ in ENV_ERRORS]
    runs += [(["--" + name.removeprefix("LINKFILTER_").lower().replace("_", "-"),
               value.split()[-1]], b"x http://127.0.0.1:1/\n") for name, value, _ in ENV_ERRORS
             if name in ("LINKFILTER_COLOR", "LINKFILTER_EXCLUDE")]
    got = run_all(*runs)
    for (name, value, reason), p in zip(ENV_ERRORS, got):
        assert (p.returncode, p.stdout) == (2, b"")
        shown = value.replace("\r", "\\r").replace("\n", "\\n")  # quoted, not sent
        assert p.stderr.decode() == (
            f"linkfilter: {name}={shown}: {reason} (see 'linkfilter --help')\n")
    for (args, _), p in zip(runs[len(ENV_ERRORS):], got[len(ENV_ERRORS):]):
        assert p.returncode == 2
        assert p.stderr.decode().startswith(f"linkfilter: {args[0]} {args[1]}: ")


def test_lists_of_accepted_values_have_no_empty_entry():
    color, flag, help_ = run_all((["--color", ""], b""), ([], b"", {"LINKFILTER_QUIET": "?"}),
                                 (["--help"], b""))
    for p in (color, flag):
        choices = p.stderr.decode().rsplit(": ", 1)[1].split(" (see")[0]
        words = choices.removeprefix("not one of ").removeprefix(
            "not a yes/no value (").rstrip(")").replace("/", ", ").split(", ")
        assert len(words) >= 3 and all(w.strip() for w in words), p.stderr
    assert "[auto|always|never]" in help_.stdout.decode()


def test_help_and_version_read_no_environment_variable():
    data = b"see http://127.0.0.1:1/x\n"
    version, help_, bad_help, bad_version, shown = run_all(
        (["--dry-run"], data, {"LINKFILTER_VERSION": "1"}),
        (["--dry-run"], data, {"LINKFILTER_HELP": "1"}),
        (["--help"], data, {"LINKFILTER_TIMEOUT": "10s"}),
        (["--version"], data, {"LINKFILTER_WORKERS": "0"}),
        (["--help"], data, {"LINKFILTER_WORKERS": "16"}))
    for p in (version, help_):
        assert (p.returncode, p.stdout) == (0, data + b"http://127.0.0.1:1/x\n")
    assert bad_help.returncode == 0 and bad_help.stdout.startswith(b"Usage: linkfilter")
    assert bad_version.returncode == 0
    assert bad_version.stdout == f"linkfilter {__version__}\n".encode()
    assert b"[default: 8]" in shown.stdout
