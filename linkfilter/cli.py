"""The command line: options and environment -> Settings; errors -> exit status.

Everything that can go wrong before input is read is reported here as one
line on stderr, ``linkfilter: <message>``, with exit status 2. What goes wrong
later is the run's to report (``pipeline.py``): a URL's failure as its result, an
input or output error as one line and ``ExitStatus.ERROR``.
"""

from __future__ import annotations

import os
import sys

import click
from click.core import ParameterSource

from linkfilter import __version__
from linkfilter.settings import (
    COLOR_CHOICES,
    DEFAULT_ACCEPT_LANGUAGE,
    DEFAULT_CACHE_TTL,
    DEFAULT_FORMAT,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PENDING,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_TITLE,
    DEFAULT_PER_HOST,
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
    DEFAULT_WORKERS,
    BOUNDS,
    FORMAT_FIELDS,
    MAX_SECONDS,
    MAX_WORKERS,
    NOT_WITH_JSON,
    PREFER_CHOICES,
    Settings,
    SettingsError,
    check_template,
    compile_excludes,
    header_safe,
)
from linkfilter.writer import ExitStatus

ENV_PREFIX = "LINKFILTER"

EPILOG = f"""Every option can also be set in the environment as {ENV_PREFIX}_<OPTION>,
e.g. {ENV_PREFIX}_WORKERS=16 or {ENV_PREFIX}_JSON=1; several --exclude
patterns go in {ENV_PREFIX}_EXCLUDE, separated by spaces.

--format and --fallback fields: {", ".join(FORMAT_FIELDS)}.

Exit status: 0 done (failed fetches included), 1 an input or output error,
2 usage, 129 SIGHUP, 130 SIGINT, 141 stdout closed, 143 SIGTERM. A stop signal
first writes everything read, in order.
"""


class _Bad(click.BadParameter):
    """Raised by our parameter types and checks: the reason, and the value it is about."""

    def __init__(self, reason: str, value) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bad_value = value


class _Number(click.ParamType):
    """A number within bounds, with a reason that says what was expected."""

    def __init__(self, kind, what: str, low=None, high=None, *, above: bool = False) -> None:
        self.kind, self.what, self.low, self.high, self.above = kind, what, low, high, above
        self.name = what

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = self.kind(str(value).strip())
            except ValueError:
                raise _Bad(f"not {self.what}", value) from None
            if self.kind is float and number != number:  # NaN
                raise _Bad(f"not {self.what}", value)
        low, high = self.low, self.high
        if low is not None and (number <= low if self.above else number < low) \
                or high is not None and number > high:
            if self.above:
                need = f"more than {low:g}" + (f" and at most {high}" if high is not None else "")
            elif high is not None:
                need = f"from {low} to {high}"
            else:
                need = f"at least {low:g}"
            raise _Bad(f"must be {need}", value)
        return number


class _Flag(click.types.BoolParamType):
    """A boolean flag whose error lists only the words it takes."""

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            raise _Bad("not a yes/no value (1/0, true/false, yes/no, on/off)", value) from None


class _Choice(click.ParamType):
    """One of a few words, with a reason that lists them."""

    def __init__(self, choices) -> None:
        self.choices = tuple(choices)
        self.name = "|".join(self.choices)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.choices) + "]"

    def convert(self, value, param, ctx):
        if value in self.choices:
            return value
        raise _Bad(f"not one of {', '.join(self.choices)}", value)

    def shell_complete(self, ctx, param, incomplete):
        """Offer the words to shell completion (``_LINKFILTER_COMPLETE``)."""
        from click.shell_completion import CompletionItem

        return [CompletionItem(c) for c in self.choices if c.startswith(incomplete)]


FLAG = _Flag()


def _bounded(name: str) -> _Number:
    """The parameter type of a numeric knob, within its ``settings.BOUNDS``."""
    bound = BOUNDS[name]
    what = "a whole number" if bound.kind is int else "a number of seconds"
    return _Number(bound.kind, what, bound.low, bound.high, above=bound.above)


def _template(ctx, param, value):
    """Check a template where it is given, so an error names its flag or variable."""
    if value is not None:
        try:
            check_template(value, "--" + param.name.replace("_", "-"))
        except SettingsError as e:
            raise _Bad(e.reason, value) from e
    return value


def _excludes(ctx, param, value):
    """Compile the ``--exclude`` patterns where they are given, so an error names its flag or
    variable."""
    compiled = []
    for pattern in value or ():
        try:
            compiled += compile_excludes([pattern])
        except SettingsError as e:
            raise _Bad(f"bad regex {pattern!r}: {e.__cause__}", pattern) from e
    return tuple(compiled)


def _header(ctx, param, value):
    """Refuse a header value with control characters where it is given (naming its flag or
    variable); ``Settings`` checks the same rule for callers without a command line."""
    if value is not None and not header_safe(value):
        raise _Bad("may not hold control characters", value)
    return value


def _printable(text: str) -> str:
    """``text`` with control characters as escapes, to quote it in a message."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _where(error: click.BadParameter) -> str | None:
    """``LINKFILTER_X=value`` or ``--x value`` for an error about one parameter."""
    param, ctx = error.param, error.ctx
    if param is None or ctx is None or not isinstance(error, _Bad):
        return None
    value = error.bad_value
    if ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT:
        name = _variable(param)
        return f"{name}={_printable(str(os.environ.get(name, value)))}"
    flag = max(getattr(param, "opts", [param.name]), key=len)
    return f"{flag} {_printable(str(value))}"


def _show_version(ctx, param, value):
    """``--version``: plain option, so start-up does not pay click's gettext look-up."""
    if value and not ctx.resilient_parsing:
        click.echo(f"linkfilter {__version__}")
        ctx.exit()


def _show_help(ctx, param, value):
    if value and not ctx.resilient_parsing:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


class _OneLineErrors(click.Command):
    """A click command whose usage errors are one line on stderr, exit 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name or "linkfilter",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except click.BadParameter as e:
            where = _where(e)
            if where is None:
                _fail(e.format_message(), ExitStatus.USAGE)
            _fail(f"{where}: {e.reason}", ExitStatus.USAGE)
        except click.exceptions.UsageError as e:
            _fail(e.format_message(), ExitStatus.USAGE)
        except click.exceptions.Abort:
            _fail("interrupted", ExitStatus.INTERRUPTED)
        except click.ClickException as e:
            _fail(e.format_message(), ExitStatus.ERROR)
        if not standalone_mode:
            return rv
        sys.exit(int(rv or 0))


def _fail(message: str, status: ExitStatus):
    first = " ".join(message.split())
    click.echo(f"linkfilter: {first} (see 'linkfilter --help')" if status == ExitStatus.USAGE
               else f"linkfilter: {first}", err=True)
    sys.exit(int(status))


@click.command(
    cls=_OneLineErrors,
    epilog=EPILOG,
    add_help_option=False,  # our own -h/--help below: no variable, no gettext at start-up
    context_settings={
        "auto_envvar_prefix": ENV_PREFIX,
        "max_content_width": 100,
    },
)
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option("-w", "--workers", type=_bounded("workers"), default=DEFAULT_WORKERS,
              show_default=True, metavar="N",
              help=f"Number of downloader threads, 1 to {MAX_WORKERS}.")
@click.option("--per-host", type=_bounded("per_host"), default=DEFAULT_PER_HOST,
              show_default=True, metavar="N",
              help="Most fetches running at once to one host (scheme, name and port).")
@click.option("--max-pending", type=_bounded("max_pending"), default=DEFAULT_MAX_PENDING,
              show_default=True, metavar="N",
              help="Most URLs waiting for a worker; past it reading pauses (the memory bound).")
@click.option("-t", "--timeout", type=_bounded("timeout"), default=DEFAULT_TIMEOUT,
              show_default=True, metavar="SECONDS",
              help=f"Total time for one URL, all redirects, reads and decoding included "
                   f"(at most {MAX_SECONDS}).")
@click.option("--max-bytes", type=_bounded("max_bytes"), default=DEFAULT_MAX_BYTES,
              show_default=True, metavar="N",
              help="Most bytes of a page to read, after decompression.")
@click.option("--max-redirects", type=_bounded("max_redirects"), default=DEFAULT_MAX_REDIRECTS,
              show_default=True, metavar="N", help="Redirects to follow.")
@click.option("-f", "--format", "template", default=DEFAULT_FORMAT, show_default=True,
              envvar=f"{ENV_PREFIX}_FORMAT", metavar="TEMPLATE", callback=_template,
              help="Result line as a str.format template over the fields listed below.")
@click.option("--fallback", default=None, envvar=f"{ENV_PREFIX}_FALLBACK", metavar="TEMPLATE",
              callback=_template,
              help="Line printed for a URL without a title (a failure, or no title), "
                   "with the --format fields.")
@click.option("--json", "as_json", is_flag=True, type=FLAG, default=False,
              envvar=f"{ENV_PREFIX}_JSON",
              help="Print results as JSON Lines, one object per URL, and nothing else "
                   "(implies --no-echo; not with --format or --fallback).")
@click.option("-n", "--no-echo", is_flag=True, type=FLAG, default=False,
              help="Do not echo input lines; print results only.")
@click.option("--no-files", is_flag=True, type=FLAG, default=False,
              help="Print nothing for links that are not HTML pages (JSON still has their records).")
@click.option("--ordered", is_flag=True, type=FLAG, default=False,
              help="Print each line's results right after it (with -n, in input order), "
                   "in the order of its URLs; echo waits behind a line's unfinished URLs.")
@click.option("--dry-run", is_flag=True, type=FLAG, default=False,
              help="Fetch nothing; report each URL found (text mode prints the URL, or --format).")
@click.option("--allow-private", is_flag=True, type=FLAG, default=False,
              help="Allow loopback, private, link-local, multicast and reserved addresses.")
@click.option("-A", "--user-agent", default=DEFAULT_USER_AGENT, show_default=True,
              metavar="TEXT", callback=_header, help="User-Agent header to send.")
@click.option("--accept-language", default=DEFAULT_ACCEPT_LANGUAGE, show_default=True,
              metavar="TEXT", callback=_header, help="Accept-Language header to send.")
@click.option("--exclude", multiple=True, metavar="REGEX", callback=_excludes,
              help="Skip URLs matching this regular expression (repeatable), searched in the "
                   "URL with scheme and host lower case and www. links as http://www.")
@click.option("--cache-ttl", type=_bounded("cache_ttl"), default=DEFAULT_CACHE_TTL,
              show_default=True, metavar="SECONDS",
              help=f"Reuse a URL's result for this long (failures at most 60 s), up to "
                   f"{MAX_SECONDS}; 0 disables.")
@click.option("--cache", "cache_path", default=None, metavar="PATH",
              envvar=f"{ENV_PREFIX}_CACHE",
              help="Keep results across runs in this SQLite file (made 0600, missing "
                   "directories 0700); one that cannot be written is only read.")
@click.option("--max-title", type=_bounded("max_title"), default=DEFAULT_MAX_TITLE,
              show_default=True, metavar="N",
              help="Cut titles to N characters, the ellipsis included; 0 means no cap.")
@click.option("--prefer", type=_Choice(PREFER_CHOICES), default="title", show_default=True,
              envvar=f"{ENV_PREFIX}_PREFER",
              help="Which title first: the page's <title> when it says something, or card: "
                   "oEmbed, og:title, twitter:title, JSON-LD, then <title>.")
@click.option("--no-oembed", is_flag=True, type=FLAG, default=False,
              envvar=f"{ENV_PREFIX}_NO_OEMBED",
              help="Ask no oEmbed endpoint, neither from the registry nor discovered in a page.")
@click.option("-q", "--quiet", is_flag=True, type=FLAG, default=False,
              help="Do not report failures on stderr.")
@click.option("--stats", is_flag=True, type=FLAG, default=False,
              help="Print a one-line summary on stderr at exit.")
@click.option("--progress/--no-progress", default=None, type=FLAG,
              help="Show a progress line on stderr [default: when stderr is a terminal and "
                   "stdout a file or /dev/null].")
@click.option("--color", type=_Choice(COLOR_CHOICES), default="auto",
              show_default=True, envvar=f"{ENV_PREFIX}_COLOR",
              help="Colour result and failure lines: auto means on a terminal, unless NO_COLOR is "
                   "set or TERM is dumb or unset.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              allow_from_autoenv=False, callback=_show_version,
              help="Show the version and exit.")
@click.option("-h", "--help", is_flag=True, expose_value=False, is_eager=True,
              allow_from_autoenv=False, callback=_show_help, help="Show this message and exit.")
def main(files, workers, per_host, max_pending, timeout, max_bytes, max_redirects, template,
         fallback, as_json, no_echo, no_files, ordered, dry_run, allow_private, user_agent,
         accept_language, exclude, cache_ttl, cache_path, max_title, prefer, no_oembed, quiet,
         stats, progress, color):
    """Echo text from FILEs (or stdin) and print the titles of the web pages it links to.

    Reads the FILEs in order, like cat ('-' or no FILE means stdin), copies every
    line to stdout at once, and prints one line per http(s):// or www. link as
    its page is fetched. A link to a file says what it is from its first bytes:
    'host: [PNG image, 1920x1080, 2.3 MiB]', 'host: Artist - Song [MP3 audio, 3:45]'.
    """
    ctx = click.get_current_context()
    if as_json:
        _refuse_with_json(ctx)
    if not quiet:
        _warn_unknown_variables(ctx)
    try:
        settings = Settings(
            workers=workers,
            per_host=per_host,
            max_pending=max_pending,
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            format=None if _defaulted("template") else template,
            fallback=fallback,
            json=as_json,
            no_echo=no_echo or as_json,
            ordered=ordered,
            no_files=no_files,
            dry_run=dry_run,
            allow_private=allow_private,
            user_agent=user_agent,
            accept_language=accept_language,
            exclude=exclude,
            cache_ttl=cache_ttl,
            cache_path=os.path.expanduser(cache_path) if cache_path else None,
            quiet=quiet,
            stats=stats,
            max_title=max_title,
            progress=progress,
            color=color,
            prefer=prefer,
            oembed=not no_oembed,
        )
    except SettingsError as e:
        raise click.UsageError(str(e)) from e

    from linkfilter.pipeline import Pipeline
    from linkfilter.signals import install_signal_handlers, restore_signal_handlers

    pipeline = None  # a signal before there is one ends the run at once
    previous, wake_fd = install_signal_handlers(lambda: pipeline and pipeline.stop_signal)
    pipeline = Pipeline(settings, wake_fd=wake_fd)
    try:
        return int(pipeline.run(list(files)))
    finally:
        restore_signal_handlers(previous)


def _defaulted(name: str) -> bool:
    """Whether a parameter was left at its default (neither flag nor variable gave it)."""
    source = click.get_current_context().get_parameter_source(name)
    return source in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def _given_as(ctx: click.Context, name: str) -> str:
    """How the user gave a parameter: ``--json``, or ``--json (from LINKFILTER_JSON)``."""
    param = next(p for p in ctx.command.params if p.name == name)
    flag = max(param.opts, key=len)
    if ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT:
        return f"{flag} (from {_variable(param)})"
    return flag


def _refuse_with_json(ctx: click.Context) -> None:
    """``--json`` prints records only: a --format or --fallback beside it would be ignored."""
    params = {p.name: p for p in ctx.command.params}
    for option in NOT_WITH_JSON:
        name = next(n for n, p in params.items() if max(p.opts, key=len) == f"--{option}")
        if not _defaulted(name):
            raise click.UsageError(
                f"{_given_as(ctx, 'as_json')} cannot be used with {_given_as(ctx, name)}")


def _variable(param: click.Parameter) -> str:
    """The environment variable that sets ``param``."""
    if isinstance(param.envvar, str):
        return param.envvar
    return f"{ENV_PREFIX}_{param.name.upper()}"


def known_variables(command: click.Command) -> list[str]:
    """Every ``LINKFILTER_*`` variable the command reads, from its own parameters."""
    return [_variable(p) for p in command.params
            if isinstance(p, click.Option) and p.allow_from_autoenv]


def _warn_unknown_variables(ctx: click.Context) -> None:
    """One line on stderr per ``LINKFILTER_*`` variable that sets nothing (a typo, most likely)."""
    prefix = ENV_PREFIX + "_"
    unknown = [k for k in os.environ if k.startswith(prefix)]
    if not unknown:
        return
    known = known_variables(ctx.command)
    for name in sorted(set(unknown) - set(known)):
        import difflib

        # compared without the prefix, which every name shares
        close = difflib.get_close_matches(name[len(prefix):], [k[len(prefix):] for k in known],
                                          n=1, cutoff=0.6)
        hint = f"; did you mean {prefix}{close[0]}?" if close else ""
        click.echo(f"linkfilter: ignoring {name}: no such setting{hint}", err=True)

