"""Result lines: after the echoed line, one per distinct URL of a line, ending like the line,
terminal-safe; failures on stderr; the ``--stats`` line.

Each run is the real command in a subprocess against local servers.
"""

from __future__ import annotations

import json

import pytest

from command import lines, records, run, run_all
from servers import page


def test_title_follows_the_echoed_line(site):
    url = site.url("/")
    p = run(["--allow-private"], f"look: {url}\nbye\n".encode())
    assert p.returncode == 0
    assert p.stdout.decode().splitlines()[:2] == [f"look: {url}", "bye"]
    assert f"{site.authority}: Home page" in p.stdout.decode().splitlines()
    assert p.stderr == b""


def test_a_url_in_quotes_or_cjk_brackets_is_fetched_without_them(site):
    url = site.url("/")
    line = f"she said “{url}” and 「{url}?jp」。（{url}?x=（1））\n"
    p = run(["--allow-private", "-n", "--json"], line.encode())
    assert p.returncode == 0, p.stderr
    got = records(p.stdout)
    assert sorted(r["url"] for r in got) == sorted([url, url + "?jp", url + "?x=（1）"])
    assert all(r["title"] == "Home page" for r in got)
    assert sorted(r.target for r in site.requests) == ["/", "/?jp", "/?x=%EF%BC%881%EF%BC%89"]
    for mode in ([], ["-f", "{url}"]):  # the block scanner of text mode, and the per-line one
        p = run(["--dry-run", "-n", *mode], line.encode())
        assert p.stdout.decode().splitlines() == [url, url + "?jp", url + "?x=（1）"]


def test_unfinished_last_line_gets_one_newline_before_the_result(site):
    p = run(["--allow-private"], f"x {site.url('/')}".encode())
    assert p.stdout == f"x {site.url('/')}\n{site.authority}: Home page\n".encode()


def test_non_html_prints_a_summary_and_untitled_is_a_failure(site):
    p = run(["--allow-private", "-n"], f"{site.url('/png')}\n{site.url('/untitled')}\n".encode())
    assert p.stdout.decode() == f"{site.authority}: [image/png, 19.5 KiB]\n"
    assert p.stderr.decode() == f"linkfilter: {site.url('/untitled')}: no title in the page\n"


def test_hostile_title_cannot_reach_the_terminal(site):
    p = run(["--allow-private", "-n"], f"{site.url('/hostile')}\n".encode())
    out = p.stdout.decode()
    assert out == f"{site.authority}: a]0;pwnedb[2Jcd1m\n"
    assert not any(ord(c) < 32 and c != "\n" for c in out)


def test_failure_goes_to_stderr_and_quiet_silences_it(site):
    p = run(["--allow-private"], f"{site.url('/gone')}\n".encode())
    assert p.stdout == f"{site.url('/gone')}\n".encode()
    assert p.stderr.decode().startswith(f"linkfilter: {site.url('/gone')}: ")
    assert p.stderr.count(b"\n") == 1
    assert p.returncode == 0
    q = run(["--allow-private", "-q"], f"{site.url('/gone')}\n".encode())
    assert q.stderr == b"" and q.returncode == 0


def test_each_distinct_url_once_per_line_but_again_on_another_line():
    data = b"http://a.example http://a.example http://b.example\nhttp://a.example\n"
    p = run(["--dry-run", "-n", "--json"], data)
    records = [json.loads(x) for x in p.stdout.splitlines()]
    assert [(r["url"], r["line"]) for r in records] == [
        ("http://a.example", 1),
        ("http://b.example", 1),
        ("http://a.example", 2),
    ]


@pytest.mark.parametrize("ordered", [[], ["--ordered"]], ids=["live", "ordered"])
def test_one_result_per_distinct_normalised_url_of_a_line(site, ordered):
    """The same URL written twice in a line, differing only in the case of its scheme or
    host (or in its fragment), prints one result; on another line it prints again."""
    x = f"http://localhost:{site.port}/x"
    upper = f"HTTP://LocalHost:{site.port}/x"
    line = f"see {x} and {upper} or {x}#part, also {site.url('/y')}\n"
    data = (line + f"again {upper}\n").encode()
    p = run(["--allow-private", "-n", "-f", "{line} {title}", *ordered], data)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.decode().splitlines()) == ["1 Ex", "1 Why", "2 Ex"]


def test_result_lines_follow_the_line_ending_of_a_crlf_log(site):
    data = f"a {site.url('/x')}\r\nb {site.url('/y')}\n".encode()
    p = run(["--allow-private", "--ordered"], data)
    assert p.stdout == (f"a {site.url('/x')}\r\n{site.authority}: Ex\r\n"
                        f"b {site.url('/y')}\n{site.authority}: Why\n").encode()


def test_a_url_running_into_the_first_mib_is_not_cut_short():
    pad = b"x" * ((1 << 20) - 30) + b" "
    fits = pad + b"http://a.example/p " + b"y" * 100 + b"\n"
    cut = pad + b"http://long.example/" + b"z" * 40 + b"\n"
    p = run(["--dry-run", "-n"], fits + cut)
    assert p.stdout == b"http://a.example/p\n"


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


def test_stats_counts(site):
    data = f"{site.url('/')}\n{site.url('/')}\n{site.url('/gone')}\nplain\n".encode()
    p = run(["--allow-private", "-n", "-q", "--stats", "-w", "1"], data)
    assert p.stderr.decode().startswith("linkfilter: 4 lines, 3 URLs, 2 fetched, 1 cached, 1 failed, ")


def test_stats_line_on_stderr():
    p = run(["--dry-run", "-n", "--stats"], b"a http://a.example\nb\nc www.c.example www.c.example\n")
    assert p.stderr.decode().startswith("linkfilter: 3 lines, 2 URLs, 0 fetched, 0 cached, 0 failed, ")
    assert p.stderr.count(b"\n") == 1
    p = run(["--dry-run", "-n", "--stats"], b"a http://a.example\n")
    assert p.stderr.decode().startswith("linkfilter: 1 line, 1 URL, 0 fetched, 0 cached, 0 failed, ")
