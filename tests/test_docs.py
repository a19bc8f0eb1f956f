"""The user documentation (README.rst, man/linkfilter.1) keeps step with the program.

Options, defaults and environment variables are read from the click command,
JSON fields from ``result.RECORD_FIELDS``, error codes from the exception family
and exit statuses from ``ExitStatus``: a new option or field that is not
documented in both places fails here. Every example command of both runs as
written, against local servers, and prints what the docs say it prints.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest

from command import clean_env, read_line, records
from servers import HTTPServer, ProxyServer, Reply, page

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


# -- every example command of the docs runs, as written, against local servers ---------------------
#
# The commands are read from the docs: every literal block of README.rst and every .nf block of the
# man page's EXAMPLES. A line is a command when its first word (after VAR=value words, a "$ " prompt
# or cron's five time fields) is a program or a shell builtin; a block of lines that are not commands
# just after a command block (one paragraph between) is that command's shown output, and lines after
# a "$ " command are too. Each command runs in bash (a cron line in sh, as cron does) in a sandbox:
# a copy of the source tree as the working directory, a HOME of its own with nothing in it, /var/
# moved into the sandbox, a `mail` that keeps what it is sent, and every web site reached through a
# local proxy that hands each request to a local server (no DNS here: LINKFILTER_ALLOW_PRIVATE=1 sends
# the names to the proxy unresolved). Input files the command names hold CHAT, or the input lines of
# its shown output. The examples run in the order of the docs and share the sandbox: the set-up
# installs what the next commands link, the first cron job fills the cache the second reads.

#: Commands not run, with the reason; each must still be in the docs.
NOT_RUN = {
    "linkfilter [OPTIONS] [FILE]...": "the synopsis, not a command",
    TEST_COMMAND: "runs this very suite (it is what .ci/run runs, see test_readme_shows_the_ci_test_command)",
    'eval "$(_LINKFILTER_COMPLETE=zsh_source linkfilter)"': "needs zsh, which the test machine lacks",
    "_LINKFILTER_COMPLETE=fish_source linkfilter | source": "needs fish, which the test machine lacks",
}

#: Shell builtins a documented command may start with.
BUILTINS = {"eval", "export", "echo", "cd", ".", "source", "printf"}

#: The log the examples read where the docs show none: a titled https page, a page on the site the
#: examples exclude, a page without a title, a dead link.
CHAT = ("morning! the notes: https://docs.example.org/notes, the video: http://www.youtube.com/watch?v=1\n"
        "and www.example.net/untitled has none\n"
        "http://www.example.com/gone is gone\n")
#: CHAT's URLs as linkfilter reports them, with their pages' titles ("" no title, None a 404).
CHAT_PAGES = {"https://docs.example.org/notes": "Meeting notes",
              "http://www.youtube.com/watch?v=1": "A video - YouTube",
              "http://www.example.net/untitled": "",
              "http://www.example.com/gone": None}

_CRON = re.compile(r"^(?:[\d*/,-]+\s+){5}(.*)$")
_PROMPT = "$ "


class Example:
    """One command of the docs, with the output the docs show for it (if any)."""

    def __init__(self, where: str, command: str, *, cron: bool = False) -> None:
        self.where = where
        self.command = command
        self.cron = cron
        self.shown: list[str] = []

    def __repr__(self) -> str:
        return f"{self.where}: {self.command}"


def _is_command(line: str) -> bool:
    words = line.split()
    while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
        words.pop(0)
    return bool(words) and (words[0] in BUILTINS or words[0] == "linkfilter"
                            or shutil.which(words[0]) is not None)


def _block_examples(where: str, lines: list[str]) -> tuple[list[Example], list[str]]:
    """The commands of one block, and its lines that are no command (output)."""
    examples, other = [], []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith(_PROMPT):
            examples.append(Example(where, text[len(_PROMPT):]))
        elif _CRON.match(text) and _is_command(_CRON.match(text).group(1)):
            examples.append(Example(where, _CRON.match(text).group(1), cron=True))
        elif _is_command(text):
            examples.append(Example(where, text))
        elif examples and lines[0].lstrip().startswith(_PROMPT):
            examples[-1].shown.append(text)
        else:
            other.append(text)
    assert not (examples and other), f"{where}: a block mixes commands and other lines: {other}"
    return examples, other


def rst_literal_blocks(text: str) -> list[tuple[int, int, list[str]]]:
    """(first line, end line, dedented lines) of every literal block (after a line ending in ::)."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            indent = len(line) - len(line.lstrip())
            j = i + 1
            while j < len(lines) and (not lines[j].strip()
                                      or len(lines[j]) - len(lines[j].lstrip()) > indent):
                j += 1
            body = textwrap.dedent("\n".join(lines[i + 1:j])).strip("\n").splitlines()
            blocks.append((i, j, body))
            i = j
        else:
            i += 1
    return blocks


def doc_examples() -> list[Example]:
    """Every command of README.rst, then of the man page's EXAMPLES, in order."""
    readme = README.read_text(encoding="utf-8")
    lines = readme.splitlines()
    examples: list[Example] = []
    previous: tuple[int, list[Example]] | None = None
    for start, end, body in rst_literal_blocks(readme):
        found, output = _block_examples(f"README.rst:{start + 2}", body)
        if output and previous is not None:
            gap = "\n".join(lines[previous[0]:start + 1]).strip()
            if "\n\n" not in gap and len(previous[1]) == 1:  # one paragraph between
                previous[1][0].shown = output
        examples += found
        previous = (end, found) if found else None
    man = MAN.read_text(encoding="utf-8")
    for body in re.findall(r"^\.nf\n(.*?)^\.fi$", man_section(man, "EXAMPLES"), re.M | re.S):
        examples += _block_examples("man page EXAMPLES", troff_to_text(body).splitlines())[0]
    return examples


def test_doc_examples_are_found():
    """The reading above finds the commands it must: a change of markup cannot hide them all."""
    examples = doc_examples()
    commands = [e.command for e in examples]
    assert "tail -f chat.log | linkfilter" in commands  # both docs
    assert sum(e.where.startswith("man") for e in examples) >= 4
    assert sum(e.cron for e in examples) >= 3
    assert next(e for e in examples if e.command.startswith("python3 -m venv ~/.venvs/")).shown
    assert next(e for e in examples if e.command.startswith("tail -f")).shown  # README's first
    for command, reason in NOT_RUN.items():
        assert command in commands, f"NOT_RUN names {command!r} ({reason}), which the docs no longer hold"


def test_the_set_up_is_two_commands_install_and_run_then_the_tests(readme):
    commands = []
    for _, _, body in rst_literal_blocks(rst_section(readme, "Set-up")):
        commands += [e.command for e in _block_examples("README.rst Set-up", body)[0]]
    assert len(commands) == 2 and commands[1] == TEST_COMMAND
    install, run = commands[0].rsplit(" | ", 1)
    assert "/bin/pip install . && " in install and run.endswith("/bin/linkfilter")


def test_pyproject_declares_the_setuptools_build_backend_and_nothing_else():
    """pip then builds a wheel through PEP 517: Debian 12's pip warns of the legacy
    ``setup.py install`` without it. The metadata stays in setup.cfg."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.findall(r"^\[(.+)\]$", text, re.M) == ["build-system"]
    assert re.search(r'^build-backend = "setuptools\.build_meta"$', text, re.M)
    assert re.search(r'^requires = \["setuptools>=\d+"\]$', text, re.M)


class Sandbox:
    """Where the examples run; see the comment above."""

    def __init__(self, top: Path, http, https, proxy, ca_file) -> None:
        self.top = top
        self.home = top / "home"
        self.work = top / "src"
        self.bin = top / "bin"
        self.http, self.https, self.proxy = http, https, proxy
        self.home.mkdir()
        self.bin.mkdir()
        for name in subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                   check=True).stdout.splitlines():
            if (ROOT / name).is_file():
                (self.work / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, self.work / name)
        for directory in ("var/log/chat", "var/lib/links"):
            (top / directory).mkdir(parents=True)
        self._script("linkfilter", f'PYTHONPATH="{ROOT}" exec "{sys.executable}" -m linkfilter "$@"')
        self._script("mail", f'printf "%s\\n" "$*" > "{top}/mail.args"; cat > "{top}/mail.body"')
        self.env = clean_env({
            "HOME": str(self.home),
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "http_proxy": proxy.url("/"), "https_proxy": proxy.url("/"),
            "LINKFILTER_ALLOW_PRIVATE": "1", "SSL_CERT_FILE": str(ca_file),
            # pip's downloads are kept where the caller's pip keeps them, not in the new HOME
            "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip"),
        })
        for name in ("XDG_CACHE_HOME", "MANPATH", "VIRTUAL_ENV", "PYTHONPATH"):
            self.env.pop(name, None)

    def _script(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    def requests(self) -> int:
        return len(self.http.requests) + len(self.https.requests)

    def command(self, example: Example) -> str:
        return example.command.replace("/var/", f"{self.top}/var/")

    def write_inputs(self, example: Example, text: str) -> None:
        """Fill the files ``example`` reads (not those it writes) with ``text``."""
        words = shlex.split(self.command(example), comments=True)
        for before, word in zip([""] + words, words):
            if word.endswith((".log", ".txt")) and before != ">":
                (self.work / word).write_text(text, encoding="utf-8")

    def run(self, example: Example, *, after: str = "", stop_after: int | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """Run the example's command (then ``after`` in the same shell). With ``stop_after``, the
        run is an endless one (tail -f): SIGINT after that many lines of stdout, as Ctrl-C does."""
        script = self.command(example) + (f"\n{after}" if after else "")
        argv = ["sh" if example.cron else "bash", "-c", script]
        if stop_after is None:
            return subprocess.run(argv, cwd=self.work, env=self.env, capture_output=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        p = subprocess.Popen(argv, cwd=self.work, env=self.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out = b"".join(read_line(p.stdout, timeout=timeout) for _ in range(stop_after))
        finally:
            os.killpg(p.pid, signal.SIGINT)
        rest, err = p.communicate(timeout=timeout)
        return subprocess.CompletedProcess(argv, p.returncode, out + rest, err)


def chat_lines(text: str) -> tuple[list[str], list[str]]:
    """Output lines split into echoed CHAT lines and the others (results)."""
    lines = text.splitlines()
    echoed = set(CHAT.splitlines())
    return [x for x in lines if x in echoed], [x for x in lines if x not in echoed]


def titled() -> dict[str, str]:
    """CHAT's result lines in text mode, by URL."""
    return {url: f"{url.split('/')[2]}: {title}" for url, title in CHAT_PAGES.items() if title}


def check_tail(sandbox: Sandbox, example: Example) -> None:
    if example.shown:  # a result comes between two whole input lines, when its page is fetched
        results = _shown_results(example)
        inputs = [x for x in example.shown if x not in results]
        sandbox.write_inputs(example, "".join(f"{x}\n" for x in inputs))
        got = sandbox.run(example, stop_after=len(example.shown))
        out = got.stdout.decode().splitlines()
        assert [x for x in out if x not in results] == inputs and sorted(out) == sorted(example.shown)
    else:
        sandbox.write_inputs(example, CHAT)
        got = sandbox.run(example, stop_after=len(CHAT.splitlines()) + len(titled()))
        echoed, results = chat_lines(got.stdout.decode())
        assert echoed == CHAT.splitlines() and sorted(results) == sorted(titled().values())
    assert b"Traceback" not in got.stderr


def check_install(sandbox: Sandbox, example: Example) -> None:
    got = sandbox.run(example, timeout=600)
    assert got.returncode == 0, got.stderr.decode()[-2000:]
    out = got.stdout.decode()
    assert out.splitlines()[-len(example.shown):] == example.shown
    assert "Building wheel for linkfilter (pyproject.toml)" in out  # not the legacy setup.py install
    assert "DEPRECATION" not in got.stderr.decode()


def check_man_links(sandbox: Sandbox, example: Example) -> None:
    got = sandbox.run(example)
    assert (got.returncode, got.stderr) == (0, b"")
    local = sandbox.home / ".local"
    assert (local / "bin" / "linkfilter").resolve() == sandbox.home / ".venvs/linkfilter/bin/linkfilter"
    page = sandbox.home / ".venvs/linkfilter/share/man/man1/linkfilter.1"
    assert (local / "share/man/man1/linkfilter.1").read_bytes() == (ROOT / "man/linkfilter.1").read_bytes()
    if shutil.which("man"):  # as a login shell has it: ~/.local/bin on PATH
        env = {**sandbox.env, "PATH": f"{local / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"}
        found = subprocess.run(["man", "-w", "linkfilter"], env=env, capture_output=True, text=True,
                               timeout=60)
        assert found.stdout.strip() == str(page), found.stderr


def check_digest_mail(sandbox: Sandbox, example: Example) -> None:
    sandbox.write_inputs(example, CHAT)
    got = sandbox.run(example)
    assert (got.returncode, got.stderr) == (0, b"")  # no warning: ~/.cache is made
    assert (sandbox.top / "mail.args").read_text() == "-s Links team@example.org\n"
    assert (sandbox.top / "mail.body").read_text().splitlines() == [
        f"{title} <{url}>" if title else f"(no title) <{url}>" for url, title in CHAT_PAGES.items()]
    assert stat.S_IMODE((sandbox.home / ".cache").stat().st_mode) == 0o700


def check_json_job(sandbox: Sandbox, example: Example) -> None:
    sandbox.write_inputs(example, CHAT)
    seen = sandbox.requests()
    got = sandbox.run(example)
    assert (got.returncode, got.stderr) == (0, b"")
    target = shlex.split(sandbox.command(example))[-1]
    recs = records((sandbox.work / target).read_bytes())
    got = [(r["url"], r["title"] or ("" if r["status"] == 200 else None)) for r in recs]
    if "--ordered" not in example.command:  # as the fetches complete
        got.sort(key=lambda item: list(CHAT_PAGES).index(item[0]))
    assert got == list(CHAT_PAGES.items())
    if "--cache" in example.command:  # the job before it stored them all
        assert all(r["cached"] for r in recs) and sandbox.requests() == seen


def check_dry_run(sandbox: Sandbox, example: Example) -> None:
    sandbox.write_inputs(example, CHAT)
    seen = sandbox.requests()
    got = sandbox.run(example)
    assert (got.returncode, got.stderr) == (0, b"")
    assert got.stdout.decode().splitlines() == list(CHAT_PAGES)
    assert sandbox.requests() == seen


def check_exclude(sandbox: Sandbox, example: Example) -> None:
    sandbox.write_inputs(example, CHAT)
    asked = len(sandbox.proxy.requests)
    got = sandbox.run(example)
    assert got.returncode == 0
    echoed, results = chat_lines(got.stdout.decode())
    assert echoed == CHAT.splitlines() * 2
    assert results == [titled()["https://docs.example.org/notes"]] * 2
    assert not any("youtube" in r.target for r in sandbox.proxy.requests[asked:])
    assert sorted(got.stderr.decode().splitlines()) == [
        "linkfilter: http://www.example.com/gone: HTTP 404 Not Found",
        "linkfilter: http://www.example.net/untitled: no title in the page"]


def check_jq(sandbox: Sandbox, example: Example) -> None:
    sandbox.write_inputs(example, CHAT)
    got = sandbox.run(example)
    assert got.returncode == 0
    assert sorted(got.stdout.decode().splitlines()) == sorted(t for t in CHAT_PAGES.values() if t)


def check_cache_file(sandbox: Sandbox, example: Example) -> None:
    sandbox.write_inputs(example, CHAT)
    got = sandbox.run(example)
    assert got.returncode == 0
    echoed, results = chat_lines(got.stdout.decode())
    assert echoed == CHAT.splitlines() and sorted(results) == sorted(titled().values())
    assert (sandbox.home / ".cache" / "linkfilter" / "cache.sqlite3").is_file()


def check_bash_completion(sandbox: Sandbox, example: Example) -> None:
    got = sandbox.run(example, after="complete -p linkfilter")
    assert got.returncode == 0 and got.stdout.decode().rstrip().endswith(" linkfilter")


#: How each command's output is checked, by its start; every one must still be in the docs.
CHECKS = {
    "tail -f chat.log | linkfilter": check_tail,
    "python3 -m venv ~/.venvs/linkfilter && ~/.venvs/linkfilter/bin/pip install . && ": check_install,
    "mkdir -p ~/.local/bin ~/.local/share/man/man1 && ": check_man_links,
    "linkfilter -n -q --ordered --cache ~/.cache/linkfilter/cache.sqlite3 -f": check_digest_mail,
    "linkfilter -q --ordered --json --cache": check_json_job,
    "linkfilter -n -q --json /var/log/chat/yesterday.log > ": check_json_job,
    "linkfilter -n --dry-run notes.txt": check_dry_run,
    "linkfilter --exclude 'youtube\\.com' -w 16 a.log b.log": check_exclude,
    "LINKFILTER_JSON=1 linkfilter -n < mail.txt | jq": check_jq,
    'linkfilter --cache "${XDG_CACHE_HOME:-$HOME/.cache}/linkfilter/cache.sqlite3"': check_cache_file,
    'eval "$(_LINKFILTER_COMPLETE=bash_source linkfilter)"': check_bash_completion,
}


def _shown_results(example: Example) -> list[str]:
    """The result lines of a shown output: ``host: title`` for a URL of an earlier line."""
    results, hosts = [], set()
    for line in example.shown:
        host = line.split(": ", 1)[0]
        if host in hosts:
            results.append(line)
        hosts.update(h.lower() for h in re.findall(r"(?:https?://|\b(?=www\.))([\w.-]+\w)", line))
    return results


def _pages(examples: list[Example]) -> dict[tuple[str, str], str | None]:
    """(host, path) -> title of every page the examples fetch."""
    pages = {(url.split("/")[2], "/" + url.split("/", 3)[3].split("?")[0]): title
             for url, title in CHAT_PAGES.items()}
    for example in examples:
        for line in _shown_results(example):
            host, title = line.split(": ", 1)
            pages[(host, "/")] = title
    return pages


def test_every_example_command_in_the_docs_runs_and_prints_what_the_docs_say(trustme_ca, tmp_path,
                                                                             ca_cert_file):
    examples = doc_examples()
    for start in CHECKS:
        assert any(e.command.startswith(start) for e in examples), f"CHECKS: {start!r} is in no doc"
    pages = _pages(examples)

    def serve(request):
        title = pages.get(((request.header("Host") or "").split(":")[0], request.path))
        if title is None:
            return Reply(404, [("Content-Type", "text/plain")], b"gone")
        return page(f"<html><head><title>{title}</title></head></html>" if title else "<p>no title")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme_ca.issue_cert(*sorted({host for host, _ in pages})).configure_cert(context)
    with HTTPServer() as http, HTTPServer(tls=context) as https:
        for server in (http, https):
            for _, path in pages:
                server.route(path, serve)
        ports = {80: http.port, 443: https.port}
        hosts = {host for host, _ in pages}

        def route(host, port):  # the examples' sites are ours; pip's index is the real one
            return ("127.0.0.1", ports[port]) if host in hosts else (host, port)

        with ProxyServer(route=route) as proxy:
            sandbox = Sandbox(tmp_path, http, https, proxy, ca_cert_file)
            failed = []
            for example in examples:
                if example.command in NOT_RUN:
                    continue
                check = next((c for s, c in CHECKS.items() if example.command.startswith(s)), None)
                try:
                    if check is None:  # a new example: it must at least run cleanly
                        got = sandbox.run(example)
                        assert (got.returncode, got.stderr) == (0, b""), got.stderr
                    else:
                        check(sandbox, example)
                except Exception as e:  # noqa: BLE001 - report every example that fails, not the first
                    failed.append(f"{example!r}\n    {type(e).__name__}: {e}")
    assert not failed, "\n".join(failed)
