"""Runs of the command about what its options accept and how they combine: bounds,
--json's companions, --exclude's view of a URL, unknown variables, completion."""

from __future__ import annotations

import json

import pytest

from linkfilter import __version__
from linkfilter.settings import MAX_SECONDS, Settings, SettingsError
from linkfilter.writer import ExitStatus

from command import run, run_all
from servers import page


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


ENV_ERRORS = [
    ("LINKFILTER_TIMEOUT", "10s", "not a number of seconds"),  # a unit after the number
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


def _usage_error(p) -> str:
    assert p.returncode == ExitStatus.USAGE, p.stderr
    assert p.stdout == b""
    err = p.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("linkfilter: ") and "Traceback" not in err
    return err


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


def test_help_states_the_largest_seconds():
    text = run(["--help"]).stdout.decode()
    assert f"(at most {MAX_SECONDS})" in " ".join(text.split())


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


def test_exclude_matches_the_url_as_printed():
    data = b"www.skip.example http://keep.example https://skip.example/x www.keep.example\n"
    p = run(["--dry-run", "-n", "--exclude", "^http://www\\.skip", "--exclude", "https://skip"], data)
    assert p.stdout == b"http://keep.example\nhttp://www.keep.example\n"


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


@pytest.mark.parametrize("typed, offered", [("", ["auto", "always", "never"]), ("a", ["auto", "always"])])
def test_bash_completion_offers_the_color_words(typed, offered):
    p = run([], env={"_LINKFILTER_COMPLETE": "bash_complete",
                     "COMP_WORDS": f"linkfilter --color {typed}", "COMP_CWORD": "2"})
    assert p.returncode == 0
    assert p.stdout.decode().splitlines() == [f"plain,{word}" for word in offered]
