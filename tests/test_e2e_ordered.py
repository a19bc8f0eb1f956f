"""``--ordered``: results in input order, whatever order the pages answer in, each line
waiting at most its timeout, holding a bounded part of the input.

Each run is the real command in a subprocess against local servers.
"""

from __future__ import annotations

import json
import subprocess
import threading

from linkfilter.ordered import MAX_HELD_BYTES

from command import CMD, RUN_TIMEOUT, clean_env, lines, read_line, run, start
from servers import Reply, hang, page


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
