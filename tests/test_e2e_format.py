"""Output modes: ``--format`` and ``--fallback`` templates, ``--json`` records, ``--dry-run``.

Each run is the real command in a subprocess against local servers.
"""

from __future__ import annotations

import json

from linkfilter.result import RECORD_FIELDS

from command import by_url, digest_failures, digest_input, lines, records, run, run_all
from servers import hang


def test_format_template_sees_every_field(site):
    template = "{line}|{url}|{final_url}|{host}|{title}|{status}|{content_type}|{charset}|{elapsed:.0f}"
    p = run(["--allow-private", "-n", "-f", template], f"a\nb {site.url('/')}\n".encode())
    assert p.stdout.decode() == (
        f"2|{site.url('/')}|{site.url('/')}|{site.authority}|Home page|200|text/html|utf-8|0\n"
    )


def test_json_record_of_a_page_and_of_a_failure(site):
    data = f"{site.url('/')}\n\n{site.url('/gone')}\n".encode()
    p = run(["--allow-private", "--json", "-n"], data)
    ok, bad = sorted(records(p.stdout), key=lambda r: r["line"])
    assert ok["url"] == site.url("/") and ok["final_url"] == site.url("/")
    assert (ok["status"], ok["title"], ok["content_type"], ok["charset"]) == (200, "Home page", "text/html", "utf-8")
    assert ok["error"] is None and ok["reason"] is None and ok["cached"] is False and ok["line"] == 1
    assert ok["host"] == site.authority
    assert bad["line"] == 3 and bad["status"] == 404 and bad["error"] == "http-404" and bad["title"] is None
    assert bad["reason"]
    assert p.stderr.decode().startswith(f"linkfilter: {site.url('/gone')}: ")


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
    *quick, timeout = lines(flag.stderr)  # failures still go to stderr, the slow one last
    assert sorted(quick) == sorted(digest_failures(site))
    late = f"linkfilter: {stuck.url('/late')}: "
    assert timeout.startswith(late + "timed out")
    expected = [f"{site.authority}: Alpha",
                f"NO TITLE {u('/missing')} [http-404] [HTTP 404 Not Found] [] 404",
                f"NO TITLE {u('/none')} [no-title] [no title in the page] [] 200",
                f"NO TITLE {stuck.url('/late')} [timeout] [{timeout[len(late):]}] [] ",
                f"{site.authority}: [image/png, 2.0 KiB]"]
    for p in (flag, quiet, from_env):
        assert p.returncode == 0 and lines(p.stdout) == expected
    assert sorted(lines(from_env.stderr)) == sorted(lines(flag.stderr)) and quiet.stderr == b""
    assert lines(without.stdout) == [expected[0], expected[-1]]


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


def test_json_output_is_json_lines_only(site):
    data = f"hello\n{site.url('/a')} {site.url('/missing')}\nbye".encode()
    flag, env, dry = run_all((["--allow-private", "--json"], data),
                             (["--allow-private"], data, {"LINKFILTER_JSON": "1"}),
                             (["--dry-run", "--json"], data))
    for p in (flag, env, dry):
        assert p.returncode == 0
        got = [json.loads(line) for line in lines(p.stdout)]  # every line, or it raises
        assert sorted(r["url"] for r in got) == [site.url("/a"), site.url("/missing")]


def test_no_echo_prints_results_only():
    p = run(["--dry-run", "-n"], b"one http://a.example\ntwo\nthree https://b.example/p?q=1#frag\n")
    assert p.stdout == b"http://a.example\nhttps://b.example/p?q=1#frag\n"


def test_dry_run_prints_each_url_after_an_unfinished_last_line_with_one_newline():
    p = run(["--dry-run"], b"see http://a.example/x, and www.b.example")
    assert p.stdout == b"see http://a.example/x, and www.b.example\nhttp://a.example/x\nhttp://www.b.example\n"


def test_dry_run_output_ends_as_input_when_no_result_follows():
    p = run(["--dry-run"], b"no links here")
    assert p.stdout == b"no links here"


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
