"""Runs of the command about what its options accept and how they combine: bounds,
--json's companions, --exclude's view of a URL, unknown variables, completion."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from linkfilter.cli import known_variables, main
from linkfilter.settings import MAX_SECONDS, Settings, SettingsError
from linkfilter.writer import ExitStatus

from command import run
from servers import page


def _usage_error(p) -> str:
    assert p.returncode == ExitStatus.USAGE, p.stderr
    assert p.stdout == b""
    err = p.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("linkfilter: ") and "Traceback" not in err
    return err


# -- seconds: a bound every wait can take --------------------------------------------------

@pytest.mark.parametrize("option", ["--timeout", "--cache-ttl"])
@pytest.mark.parametrize("value", ["inf", "1e10", "Infinity", str(MAX_SECONDS + 1)])
def test_seconds_past_the_bound_are_usage_errors_naming_it(option, value):
    err = _usage_error(run([option, value], b"http://a.example\n"))
    assert f"{option} {value}: must be " in err
    assert f"at most {MAX_SECONDS} " in err or f"to {MAX_SECONDS} " in err


def test_the_bound_itself_is_accepted_and_a_fetch_under_it_ends(http_server):
    http_server.route("/t", page("<title>Long wait</title>"))
    p = run(["--allow-private", "-n", "--timeout", str(MAX_SECONDS), "--cache-ttl",
             str(MAX_SECONDS)], f"{http_server.url('/t')}\n".encode())
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{http_server.authority}: Long wait\n".encode()
    assert p.stderr == b""


def test_settings_refuse_what_the_command_line_refuses():
    for knobs in ({"timeout": float("inf")}, {"timeout": MAX_SECONDS * 10},
                  {"cache_ttl": float("inf")}):
        with pytest.raises(SettingsError):
            Settings(**knobs)


def test_help_states_the_largest_seconds():
    text = run(["--help"]).stdout.decode()
    assert f"(at most {MAX_SECONDS})" in " ".join(text.split())


# -- --json and the templates it would ignore ----------------------------------------------

@pytest.mark.parametrize("args, env, said", [
    (["--json", "-f", "{url}"], {}, "--json cannot be used with --format"),
    (["--json", "--format", "{url}"], {}, "--json cannot be used with --format"),
    (["--json", "--fallback", "x"], {}, "--json cannot be used with --fallback"),
    (["-f", "{url}"], {"LINKFILTER_JSON": "1"},
     "--json (from LINKFILTER_JSON) cannot be used with --format"),
    (["--json"], {"LINKFILTER_FORMAT": "{url}"},
     "--json cannot be used with --format (from LINKFILTER_FORMAT)"),
    ([], {"LINKFILTER_JSON": "yes", "LINKFILTER_FALLBACK": "({error})"},
     "--json (from LINKFILTER_JSON) cannot be used with --fallback (from LINKFILTER_FALLBACK)"),
    (["--json", "--dry-run", "-f", "{url}"], {}, "--json cannot be used with --format"),
])
def test_json_with_a_template_is_a_usage_error_naming_both(args, env, said):
    assert said in _usage_error(run(args, b"http://a.example\n", env=env))


def test_json_alone_and_templates_alone_still_run():
    assert run(["--json", "--dry-run"], b"http://a.example\n").returncode == 0
    assert run(["-f", "{url}", "--fallback", "x", "--dry-run"], b"http://a.example\n",
               env={"LINKFILTER_JSON": "0"}).returncode == 0
    with pytest.raises(SettingsError, match="--json cannot be used with --fallback"):
        Settings(json=True, fallback="x")


# -- --exclude sees the URL in its printed form ----------------------------------------------

LINKS = b"https://www.YouTube.com/watch?v=X www.example.org/x HTTP://WWW.EXAMPLE.ORG/y " \
        b"https://Keep.Example/Path www.Example.com/Keep\n"


@pytest.mark.parametrize("mode", [[], ["--json"], ["-f", "{url}"], ["--ordered"]])
def test_exclude_matches_scheme_and_host_in_lower_case_and_www_links_as_http(mode):
    """The same in every dry-run path (the block scanner of text mode, and the per-line one)."""
    args = ["--dry-run", "-n", "--exclude", r"youtube\.com", "--exclude", r"^http://www\.example\.org",
            *mode]
    p = run(args, LINKS)
    assert p.returncode == 0, p.stderr
    urls = [json.loads(x)["url"] for x in p.stdout.splitlines()] if mode == ["--json"] \
        else p.stdout.decode().splitlines()
    assert urls == ["https://Keep.Example/Path", "http://www.Example.com/Keep"]


def test_exclude_keeps_the_case_of_the_path():
    p = run(["--dry-run", "-n", "--exclude", "/keep$"], b"https://a.example/keep https://a.example/Keep\n")
    assert p.stdout == b"https://a.example/Keep\n"


def test_excluded_urls_are_fetched_by_no_one(http_server):
    p = run(["--allow-private", "-n", "--exclude", r"^http://127\.0\.0\.1:[0-9]+/x$"],
            f"{http_server.url('/x').replace('http', 'HTTP')}\n".encode())
    assert p.returncode == 0 and p.stdout == b"" and http_server.requests == []


# -- unknown LINKFILTER_ variables ------------------------------------------------------------

@pytest.mark.parametrize("name, hint", [
    ("LINKFILTER_WORKER", "did you mean LINKFILTER_WORKERS?"),
    ("LINKFILTER_NO_PROGRESS", "did you mean LINKFILTER_PROGRESS?"),
    ("LINKFILTER_COLOUR", "did you mean LINKFILTER_COLOR?"),
])
def test_an_unknown_variable_is_named_with_the_closest_real_one(name, hint):
    p = run([], b"plain\n", env={name: "16"})
    assert p.returncode == 0 and p.stdout == b"plain\n"
    assert p.stderr.decode() == f"linkfilter: ignoring {name}: no such setting; {hint}\n"


def test_unknown_variables_are_named_once_each_and_not_under_quiet():
    env = {"LINKFILTER_WORKER": "16", "LINKFILTER_QWXZ": "1", "LINKFILTER_WORKERS": "2"}
    lines = run([], b"plain\n", env=env).stderr.decode().splitlines()
    assert lines == ["linkfilter: ignoring LINKFILTER_QWXZ: no such setting",
                     "linkfilter: ignoring LINKFILTER_WORKER: no such setting; "
                     "did you mean LINKFILTER_WORKERS?"]
    p = run(["-q"], b"plain\n", env=env)
    assert p.returncode == 0 and p.stderr == b""
    assert run([], b"", env={**env, "LINKFILTER_QUIET": "1"}).stderr == b""


def test_every_documented_variable_is_known_and_read():
    known = known_variables(main)
    for name in ("LINKFILTER_WORKERS", "LINKFILTER_FORMAT", "LINKFILTER_JSON", "LINKFILTER_CACHE",
                 "LINKFILTER_NO_ECHO", "LINKFILTER_PROGRESS", "LINKFILTER_COLOR"):
        assert name in known
    assert "LINKFILTER_HELP" not in known and "LINKFILTER_VERSION" not in known
    env = dict.fromkeys(known, "")
    result = CliRunner().invoke(main, ["--dry-run"], input="x\n", env=env)
    assert "ignoring" not in result.output


# -- shell completion ---------------------------------------------------------------------------

@pytest.mark.parametrize("typed, offered", [("", ["auto", "always", "never"]), ("a", ["auto", "always"])])
def test_bash_completion_offers_the_color_words(typed, offered):
    p = run([], env={"_LINKFILTER_COMPLETE": "bash_complete",
                     "COMP_WORDS": f"linkfilter --color {typed}", "COMP_CWORD": "2"})
    assert p.returncode == 0
    assert p.stdout.decode().splitlines() == [f"plain,{word}" for word in offered]
