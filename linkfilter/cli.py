"""The command line: options and environment -> Settings; errors -> exit status.

Everything that can go wrong before input is read is reported here as one
line on stderr, ``linkfilter: <message>``, with exit status 2; the pipeline
itself (``pipeline.py``) runs without error handling of its own.
"""

from __future__ import annotations

import sys

import click

from linkfilter import __version__
from linkfilter.settings import (
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
    FORMAT_FIELDS,
    MAX_WORKERS,
    Settings,
    SettingsError,
    compile_excludes,
)
from linkfilter.writer import ExitStatus

ENV_PREFIX = "LINKFILTER"

EPILOG = f"""Every option can also be set in the environment as {ENV_PREFIX}_<OPTION>,
e.g. {ENV_PREFIX}_WORKERS=16 or {ENV_PREFIX}_JSON=1; several --exclude
patterns go in {ENV_PREFIX}_EXCLUDE, separated by spaces.

--format fields: {", ".join(FORMAT_FIELDS)}.

Exit status: 0 done (failed fetches included), 1 an input or output error,
2 usage, 130 SIGINT, 141 stdout closed, 143 SIGTERM.
"""


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
    context_settings={
        "help_option_names": ["-h", "--help"],
        "auto_envvar_prefix": ENV_PREFIX,
        "max_content_width": 100,
    },
)
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option("-w", "--workers", type=click.IntRange(1, MAX_WORKERS), default=DEFAULT_WORKERS,
              show_default=True, metavar="N",
              help=f"Number of downloader threads, 1 to {MAX_WORKERS}.")
@click.option("--per-host", type=click.IntRange(min=1), default=DEFAULT_PER_HOST,
              show_default=True, metavar="N",
              help="Most fetches running at once to one host (scheme, name and port).")
@click.option("--max-pending", type=click.IntRange(min=1), default=DEFAULT_MAX_PENDING,
              show_default=True, metavar="N",
              help="Most URLs waiting for a worker; past it reading pauses (the memory bound).")
@click.option("-t", "--timeout", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_TIMEOUT, show_default=True, metavar="SECONDS",
              help="Total time for one URL, all redirects, reads and decoding included.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES,
              show_default=True, metavar="N",
              help="Most bytes of a page to read, after decompression.")
@click.option("--max-redirects", type=click.IntRange(min=0), default=DEFAULT_MAX_REDIRECTS,
              show_default=True, metavar="N", help="Redirects to follow.")
@click.option("-f", "--format", "template", default=DEFAULT_FORMAT, show_default=True,
              envvar=f"{ENV_PREFIX}_FORMAT",
              metavar="TEMPLATE",
              help="Result line as a str.format template over the fields listed below.")
@click.option("--json", "as_json", is_flag=True, default=False, envvar=f"{ENV_PREFIX}_JSON",
              help="Print results as JSON Lines, one object per URL, instead of --format.")
@click.option("-n", "--no-echo", is_flag=True, default=False, help="Do not echo input lines; print results only.")
@click.option("--dry-run", is_flag=True, default=False,
              help="Fetch nothing; report each URL found (text mode prints the URL).")
@click.option("--allow-private", is_flag=True, default=False,
              help="Allow loopback, private, link-local, multicast and reserved addresses.")
@click.option("-A", "--user-agent", default=DEFAULT_USER_AGENT, show_default=True,
              metavar="TEXT", help="User-Agent header to send.")
@click.option("--accept-language", default=DEFAULT_ACCEPT_LANGUAGE, show_default=True,
              metavar="TEXT", help="Accept-Language header to send.")
@click.option("--exclude", multiple=True, metavar="REGEX",
              help="Skip URLs matching this regular expression (repeatable).")
@click.option("--cache-ttl", type=click.FloatRange(min=0), default=DEFAULT_CACHE_TTL,
              show_default=True, metavar="SECONDS",
              help="Reuse a URL's result for this long (failures at most 60 s); 0 disables.")
@click.option("--max-title", type=click.IntRange(min=0), default=DEFAULT_MAX_TITLE,
              show_default=True, metavar="N",
              help="Cut titles to N characters, the ellipsis included; 0 means no cap.")
@click.option("-q", "--quiet", is_flag=True, default=False, help="Do not report failures on stderr.")
@click.option("--stats", is_flag=True, default=False, help="Print a one-line summary on stderr at exit.")
@click.version_option(__version__, "--version", prog_name="linkfilter",
                      message="%(prog)s %(version)s")
def main(files, workers, per_host, max_pending, timeout, max_bytes, max_redirects, template, as_json, no_echo,
         dry_run, allow_private, user_agent, accept_language, exclude, cache_ttl,
         max_title, quiet, stats):
    """Echo text from FILEs (or stdin) and print the titles of the web pages it links to.

    Reads the FILEs in order, like cat ('-' or no FILE means stdin), copies every
    line to stdout at once, and prints one line per http(s):// or www. link as
    its page is fetched.
    """
    try:
        settings = Settings(
            workers=workers,
            per_host=per_host,
            max_pending=max_pending,
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            format=template,
            json=as_json,
            no_echo=no_echo,
            dry_run=dry_run,
            allow_private=allow_private,
            user_agent=user_agent,
            accept_language=accept_language,
            exclude=compile_excludes(exclude),
            cache_ttl=cache_ttl,
            quiet=quiet,
            stats=stats,
            max_title=max_title,
        )
    except SettingsError as e:
        raise click.UsageError(str(e)) from e

    from linkfilter.pipeline import Pipeline, install_signal_handlers, restore_signal_handlers

    stats_line = None
    if settings.stats:
        stats_line = lambda: pipeline.stats_line()  # noqa: E731
    previous, wake_fd = install_signal_handlers(stats_line)
    pipeline = Pipeline(settings, wake_fd=wake_fd)
    try:
        return int(pipeline.run(list(files)))
    finally:
        restore_signal_handlers(previous)
