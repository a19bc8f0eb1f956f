"""The user documentation (README.rst, man/linkfilter.1) keeps step with the program.

Options, defaults and environment variables are read from the click command,
JSON fields from ``result.RECORD_FIELDS``, error codes from the exception family
and exit statuses from ``ExitStatus``: a new option or field that is not
documented in both places fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from linkfilter import __version__, errors
from linkfilter.cli import ENV_PREFIX, main
from linkfilter.result import RECORD_FIELDS
from linkfilter.settings import FORMAT_FIELDS
from linkfilter.writer import ExitStatus

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.rst"
MAN = ROOT / "man" / "linkfilter.1"

#: The test command CI runs (.ci/run); the README must show it exactly.
TEST_COMMAND = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest"

#: Macros that alternate fonts between their arguments, which troff joins without spaces.
_ALTERNATING = {"BR", "RB", "BI", "IB", "IR", "RI"}
#: Named troff characters that appear in the man page, as plain text.
_TROFF_CHARS = {"\\-": "-", "\\(en": "-", "\\(em": "-", "\\(aq": "'", "\\(bu": "*",
                "\\[u2026]": "\u2026", "\\e": "\\", "\\ ": " "}


def _squash(text: str) -> str:
    return " ".join(text.split())


def troff_to_text(source: str) -> str:
    """Roughly what the man page says, without macros and escapes; one line per source line."""
    out = []
    for line in source.splitlines():
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith("."):
            macro, _, rest = line[1:].partition(" ")
            if macro in _ALTERNATING:
                line = "".join(a.strip('"') for a in rest.split())
            else:
                line = rest
        line = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", line)  # font changes
        line = re.sub(r"\\[&%]", "", line)  # zero-width and no-hyphenation marks
        for escape, char in _TROFF_CHARS.items():
            line = line.replace(escape, char)
        out.append(line)
    return "\n".join(out)


def rst_section(text: str, title: str) -> str:
    """The body of a README section, up to the next section title."""
    m = re.search(rf"^{re.escape(title)}\n=+\n(.*?)(?=^\S[^\n]*\n=+\n|\Z)", text, re.M | re.S)
    assert m, f"README.rst has no section {title!r}"
    return m.group(1)


def man_section(source: str, name: str) -> str:
    """The troff source of a man page section, up to the next ``.SH``."""
    m = re.search(rf"^\.SH {re.escape(name)}\n(.*?)(?=^\.SH |\Z)", source, re.M | re.S)
    assert m, f"man page has no section {name!r}"
    return m.group(1)


def man_entries(section_source: str) -> list[tuple[str, str]]:
    """``.TP`` entries of a section as (tag, body) in plain text."""
    entries = []
    for chunk in re.split(r"^\.TP\n", section_source, flags=re.M)[1:]:
        chunk = re.split(r"^\.(?:SH|SS|PP|IP|RS)\b", chunk, maxsplit=1, flags=re.M)[0]
        tag, _, body = chunk.partition("\n")
        entries.append((_squash(troff_to_text(tag)), _squash(troff_to_text(body))))
    return entries


def readme_option_rows(readme: str) -> list[list[str]]:
    """The rows of the README's option table, each a list of its cells."""
    table = rst_section(readme, "Options").split(".. list-table::", 1)[1]
    table = re.split(r"\n(?=\S)", table, maxsplit=1)[0]
    rows = []
    for row in re.split(r"^   \* ", table, flags=re.M)[1:]:
        cells = re.split(r"^(?:     )?-(?: |$)", row, flags=re.M)[1:]
        assert len(cells) == 4, f"README.rst option table: a row without 4 cells: {row!r}"
        rows.append([_squash(c) for c in cells])
    return rows


def long_name(param: click.Parameter) -> str:
    return next(o for o in param.opts + param.secondary_opts if o.startswith("--"))


def documented_default(param: click.Option) -> str:
    """How a default is written in the docs: as ``--help`` shows it, ``off`` or ``none``."""
    default = param.default
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, (int, float, str)) and default != "":
        return str(default)
    return "none"


def env_var(param: click.Parameter) -> str:
    """The documented variable: LINKFILTER_ and the long name, upper case, dashes as underscores."""
    return f"{ENV_PREFIX}_{long_name(param)[2:].replace('-', '_').upper()}"


OPTIONS = [p for p in main.get_params(click.Context(main)) if isinstance(p, click.Option)]
SETTINGS = [p for p in OPTIONS if p.expose_value]


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def man() -> str:
    return MAN.read_text(encoding="utf-8")


def _default_matches(expected: str, written: str) -> bool:
    if expected in written:
        return True
    # A default holding the version may be written with VERSION in its place.
    return __version__ in expected and expected.replace(__version__, "VERSION") in written


def test_options_are_read_from_click():
    names = {long_name(p) for p in OPTIONS}
    assert {"--workers", "--timeout", "--json", "--help", "--version"} <= names


def test_readme_shows_the_ci_test_command(readme):
    """The command is a line of its own, in the README and in the script CI runs."""
    line = rf"^\s*{re.escape(TEST_COMMAND)}\s*$"
    assert re.search(line, rst_section(readme, "Set-up"), re.M)
    assert re.search(line, (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.M)


@pytest.mark.parametrize("param", OPTIONS, ids=long_name)
def test_readme_documents_option(readme, param):
    name = long_name(param)
    rows = [r for r in readme_option_rows(readme) if re.search(rf"``{name}(?![\w-])", r[0])]
    assert len(rows) == 1, f"README.rst option table: expected one row for {name}, found {len(rows)}"
    row = rows[0]
    for short in (o for o in param.opts if not o.startswith("--")):
        assert f"``{short}``" in row[0], f"README.rst: {name} row lacks {short}"
    if param.expose_value:
        expected = documented_default(param)
        assert _default_matches(expected, row[1]), f"README.rst: {name} default should be {expected!r}"
        assert env_var(param) in row[2], f"README.rst: {name} row lacks {env_var(param)}"


@pytest.mark.parametrize("param", OPTIONS, ids=long_name)
def test_man_page_documents_option(man, param):
    name = long_name(param)
    entries = [(tag, body) for tag, body in man_entries(man_section(man, "OPTIONS"))
               if re.search(rf"{name}(?![\w-])", tag)]
    assert len(entries) == 1, f"man page OPTIONS: expected one entry for {name}, found {len(entries)}"
    tag, body = entries[0]
    for short in (o for o in param.opts if not o.startswith("--")):
        assert re.search(rf"(^|\s){short}\b", tag), f"man page: {name} entry lacks {short}"
    if param.expose_value:
        expected = documented_default(param)
        default = body.partition("Default: ")[2]
        assert _default_matches(expected, default), f"man page: {name} default should be {expected!r}"
        environment = _squash(troff_to_text(man_section(man, "ENVIRONMENT")))
        assert re.search(rf"{env_var(param)}\b", environment), f"man page lacks {env_var(param)}"


@pytest.mark.parametrize("param", SETTINGS, ids=long_name)
def test_documented_environment_variable_is_read(monkeypatch, param):
    """The variable the docs name is the one the command line reads."""
    monkeypatch.setenv(env_var(param), "1")
    ctx = click.Context(main, auto_envvar_prefix=ENV_PREFIX)
    assert param.resolve_envvar_value(ctx) == "1", (
        f"{long_name(param)}: documented as {env_var(param)}, which linkfilter does not read"
    )


def test_json_fields_documented_in_order(readme, man):
    readme_fields = re.findall(r"^``(\w+)``\n    ", rst_section(readme, "JSON record"), re.M)
    assert readme_fields == list(RECORD_FIELDS)
    man_fields = [tag for tag, _ in man_entries(man_section(man, "JSON RECORD"))]
    assert man_fields == list(RECORD_FIELDS)


def test_format_fields_documented(readme, man):
    format_row = next(r for r in readme_option_rows(readme) if "``--format" in r[0])
    man_format = next(body for tag, body in man_entries(man_section(man, "OPTIONS"))
                      if "--format" in tag)
    for field in FORMAT_FIELDS:
        assert f"``{field}``" in format_row[3], f"README.rst: --format field {field} missing"
        assert re.search(rf"\b{field}\b", man_format), f"man page: --format field {field} missing"


def _error_codes() -> list[str]:
    codes, todo = [], [errors.FetchError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        code = cls.__dict__.get("code")
        if isinstance(code, str) and cls is not errors.FetchError:
            codes.append(code)
    return sorted(codes) + ["http-NNN", "internal"]


def test_error_codes_documented(readme, man):
    readme_error = rst_section(readme, "JSON record").split("``error``", 1)[1].split("``reason``")[0]
    man_error = dict(man_entries(man_section(man, "JSON RECORD")))["error"]
    for code in _error_codes():
        assert f"``{code}``" in readme_error, f"README.rst: error code {code} missing"
        assert re.search(rf"(^|\s){re.escape(code)}\b", man_error), f"man page: error code {code} missing"


def test_exit_statuses_documented(readme, man):
    readme_exit = rst_section(readme, "Exit status")
    man_exit = [tag for tag, _ in man_entries(man_section(man, "EXIT STATUS"))]
    for status in ExitStatus:
        assert re.search(rf"^{int(status)}\s", readme_exit, re.M), f"README.rst: exit {int(status)}"
        assert str(int(status)) in man_exit, f"man page: exit status {int(status)} missing"


def test_man_page_sections(man):
    sections = re.findall(r"^\.SH (.+)$", man, re.M)
    for name in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "OUTPUT", "JSON RECORD",
                 "ENVIRONMENT", "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        assert name in sections
    see_also = _squash(troff_to_text(man_section(man, "SEE ALSO")))
    assert "curl(1)" in see_also and "cat(1)" in see_also
    assert re.search(rf'^\.TH LINKFILTER 1 "[^"]*" "linkfilter {re.escape(__version__)}"', man, re.M)


def test_troff_normalisation():
    src = '.TP\n\\fB\\-w\\fR, \\fB\\-\\-workers\\fR \\fIN\\fR\n.BR curl (1),\n\\fB\\%LINKFILTER_X\\fR \\(aqa\\e.b\\(aq'
    assert troff_to_text(src).splitlines() == ["", "-w, --workers N", "curl(1),", "LINKFILTER_X 'a\\.b'"]


def test_readme_names_bench_scripts(readme):
    bench = rst_section(readme, "Benchmarks")
    for script in ("bench_pipe.py", "bench_title.py", "bench_keepalive.py", "bench_urls.py"):
        assert f"``bench/{script}``" in bench
