"""The command line contract without fetching: options, echo, files, exit statuses.

Pipes, signals and timing run linkfilter as a real subprocess; option parsing
also goes through click's CliRunner.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from linkfilter import __version__
from linkfilter.cli import main
from linkfilter.writer import ExitStatus

from command import CMD, read_line, run, start

# -- echo ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"plain\n",
        b"no newline at the end",
        b"crlf\r\nlines\r\n",
        b"nul\x00byte\n\x00\n",
        b"bad utf-8 \xff\xfe\xc3\x28 here\nand \xe9t\xe9 latin-1\n",
        b"\n\n\n",
        bytes(range(256)) * 3,
    ],
)
def test_echo_is_byte_for_byte(data):
    p = run([], data)
    assert p.returncode == 0
    assert p.stdout == data
    assert p.stderr == b""


def test_big_input_is_echoed_exactly():
    data = b"".join(b"line %d with a dot. and a / slash\n" % i for i in range(200_000))
    p = run([], data)
    assert p.stdout == data


def test_dry_run_prints_each_url_after_an_unfinished_last_line_with_one_newline():
    p = run(["--dry-run"], b"see http://a.example/x, and www.b.example")
    assert p.stdout == b"see http://a.example/x, and www.b.example\nhttp://a.example/x\nhttp://www.b.example\n"


def test_dry_run_output_ends_as_input_when_no_result_follows():
    p = run(["--dry-run"], b"no links here")
    assert p.stdout == b"no links here"


def test_no_echo_prints_results_only():
    p = run(["--dry-run", "-n"], b"one http://a.example\ntwo\nthree https://b.example/p?q=1#frag\n")
    assert p.stdout == b"http://a.example\nhttps://b.example/p?q=1#frag\n"


def test_each_distinct_url_once_per_line_but_again_on_another_line():
    data = b"http://a.example http://a.example http://b.example\nhttp://a.example\n"
    p = run(["--dry-run", "-n", "--json"], data)
    records = [json.loads(x) for x in p.stdout.splitlines()]
    assert [(r["url"], r["line"]) for r in records] == [
        ("http://a.example", 1),
        ("http://b.example", 1),
        ("http://a.example", 2),
    ]


def test_exclude_matches_the_url_as_printed():
    data = b"www.skip.example http://keep.example https://skip.example/x www.keep.example\n"
    p = run(["--dry-run", "-n", "--exclude", "^http://www\\.skip", "--exclude", "https://skip"], data)
    assert p.stdout == b"http://keep.example\nhttp://www.keep.example\n"


def test_json_dry_run_record():
    p = run(["--dry-run", "--json", "-n"], b"x\ny www.Example.com:8080/a b\n")
    (record,) = [json.loads(x) for x in p.stdout.splitlines()]
    assert record["url"] == "http://www.Example.com:8080/a"
    assert record["host"] == "www.example.com:8080"
    assert record["line"] == 2
    for field in ("final_url", "status", "title", "content_type", "charset", "error", "reason"):
        assert record[field] is None
    assert record["cached"] is False
    assert record["elapsed"] is None  # no fetch happened: null, like the other fetch fields


# -- files ----------------------------------------------------------------------------

def test_files_are_read_in_order_and_line_numbers_run_on(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"1\nhttp://a.example\n")
    b.write_bytes(b"3\nhttp://b.example\n")
    echoed = run(["--dry-run", "-f", "{line} {url}", str(a), "-", str(b)], b"stdin http://s.example\n")
    assert echoed.stdout == (b"1\nhttp://a.example\n2 http://a.example\nstdin http://s.example\n"
                             b"3 http://s.example\n3\nhttp://b.example\n5 http://b.example\n")
    p = run(["--dry-run", "--json", str(a), "-", str(b)], b"stdin http://s.example\n")
    records = [json.loads(x) for x in p.stdout.splitlines()]  # JSON Lines only: no echo
    assert [(r["url"], r["line"]) for r in records] == [
        ("http://a.example", 2),
        ("http://s.example", 3),
        ("http://b.example", 5),
    ]


def test_unreadable_file_is_named_others_still_read_exit_1(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes(b"good\n")
    missing = tmp_path / "missing.txt"
    p = run([str(missing), str(good), str(tmp_path)], b"")
    assert p.stdout == b"good\n"
    lines = p.stderr.decode().splitlines()
    assert lines[0] == f"linkfilter: {missing}: No such file or directory"
    assert lines[1] == f"linkfilter: {tmp_path}: Is a directory"
    assert p.returncode == ExitStatus.ERROR


# -- usage errors -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "0"],
        ["-w", "x"],
        ["--timeout", "0"],
        ["-t", "-1"],
        ["--max-bytes", "0"],
        ["--max-redirects", "-1"],
        ["--exclude", "("],
        ["--format", "{nope}"],
        ["--format", "{title"],
        ["--format", "{0}"],
        ["--cache-ttl", "-5"],
        ["--timeout", "inf"],
        ["-t", "1e10"],
        ["--cache-ttl", "inf"],
        ["--max-title", "-1"],
        ["--no-such-option"],
        ["-A", "bad\nagent"],
    ],
)
def test_bad_values_are_one_line_usage_errors_before_reading(args):
    p = run(args, b"http://a.example\n")
    assert p.returncode == ExitStatus.USAGE
    assert p.stdout == b""
    err = p.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("linkfilter: ")
    assert "Traceback" not in err


def test_environment_supplies_options():
    p = run([], b"http://a.example\n", env={"LINKFILTER_WORKERS": "0"})
    assert p.returncode == ExitStatus.USAGE and b"LINKFILTER_WORKERS=0" in p.stderr
    p = run([], b"x http://a.example\n", env={"LINKFILTER_DRY_RUN": "1", "LINKFILTER_NO_ECHO": "true"})
    assert p.stdout == b"http://a.example\n"
    p = run([], b"x http://a.example www.b.example\n",
            env={"LINKFILTER_DRY_RUN": "1", "LINKFILTER_EXCLUDE": "a\\.example b\\.example"})
    assert p.stdout == b"x http://a.example www.b.example\n"


def test_help_lists_every_option_and_version():
    for flag in ("-h", "--help"):
        p = run([flag])
        assert p.returncode == 0
        text = p.stdout.decode()
        for option in ("--workers", "--timeout", "--max-bytes", "--max-redirects", "--format", "--json",
                       "--no-echo", "--dry-run", "--allow-private", "--user-agent", "--exclude",
                       "--cache-ttl", "--quiet", "--stats", "--max-title", "--accept-language",
                       "--version", "LINKFILTER_"):
            assert option in text
    p = run(["--version"])
    assert p.stdout.decode().strip() == f"linkfilter {__version__}"


def test_cli_runner_sees_echo_and_results():
    result = CliRunner().invoke(main, ["--dry-run"], input="a http://x.example b\n")
    assert result.exit_code == 0
    assert result.output == "a http://x.example b\nhttp://x.example\n"


def test_cli_runner_usage_error_is_one_line():
    result = CliRunner().invoke(main, ["-w", "0"], input="")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "linkfilter:" in result.output


def test_stats_line_on_stderr():
    p = run(["--dry-run", "-n", "--stats"], b"a http://a.example\nb\nc www.c.example www.c.example\n")
    assert p.stderr.decode().startswith("linkfilter: 3 lines, 2 URLs, 0 fetched, 0 cached, 0 failed, ")
    assert p.stderr.count(b"\n") == 1
    p = run(["--dry-run", "-n", "--stats"], b"a http://a.example\n")
    assert p.stderr.decode().startswith("linkfilter: 1 line, 1 URL, 0 fetched, 0 cached, 0 failed, ")


# -- pipes, flushing and signals -----------------------------------------------------------

def test_interactive_line_is_echoed_at_once_while_input_stays_open():
    p = start(["--dry-run"])
    try:
        p.stdin.write(b"hello http://a.example\n")
        p.stdin.flush()
        assert read_line(p.stdout) == b"hello http://a.example\n"
        assert read_line(p.stdout) == b"http://a.example\n"
        p.stdin.write(b"second\n")
        p.stdin.flush()
        assert read_line(p.stdout) == b"second\n"
    finally:
        p.stdin.close()
        p.wait(10)
    assert p.returncode == 0


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_stop_at_once_without_traceback(sig, status):
    p = start([])
    try:
        p.stdin.write(b"started\n")
        p.stdin.flush()
        assert read_line(p.stdout) == b"started\n"
        sent = time.monotonic()
        p.send_signal(sig)
        p.wait(5)
        assert time.monotonic() - sent < 1.0
    finally:
        p.kill()
        p.stdin.close()
    assert p.returncode == status
    assert p.stderr.read() == b""


def test_closed_stdout_ends_quietly_with_status_141():
    code = (
        f"set -o pipefail; yes 'line http://a.example' | head -c 50000000 | "
        f"{sys.executable} -m linkfilter --dry-run | head -n 1"
    )
    p = subprocess.run(["bash", "-c", code + "; echo \"status=${PIPESTATUS[2]}\" >&2"],
                       capture_output=True, timeout=60)
    assert p.stdout == b"line http://a.example\n"
    assert p.stderr.decode().strip() == "status=141"


def test_output_errors_are_one_line_and_status_1():
    full = subprocess.run(CMD, input=b"hello\n", stdout=open("/dev/full", "wb"), stderr=subprocess.PIPE, timeout=30)
    assert full.returncode == ExitStatus.ERROR
    assert full.stderr == b"linkfilter: write error: No space left on device\n"
    closed = subprocess.run(["bash", "-c", f"{sys.executable} -m linkfilter >&-"], input=b"hello\n",
                            capture_output=True, timeout=30)
    assert closed.returncode == ExitStatus.ERROR
    assert closed.stderr == b"linkfilter: write error: Bad file descriptor\n"


def test_a_url_running_into_the_first_mib_is_not_cut_short():
    pad = b"x" * ((1 << 20) - 30) + b" "
    fits = pad + b"http://a.example/p " + b"y" * 100 + b"\n"
    cut = pad + b"http://long.example/" + b"z" * 40 + b"\n"
    p = run(["--dry-run", "-n"], fits + cut)
    assert p.stdout == b"http://a.example/p\n"
