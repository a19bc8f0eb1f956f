"""Every knob of a run, validated once, as a frozen value object."""

from __future__ import annotations

import re
import string
from typing import Any, NamedTuple, Pattern

from linkfilter import __version__
from linkfilter.result import RECORD_FIELDS

DEFAULT_WORKERS = 8
MAX_WORKERS = 512
DEFAULT_MAX_PENDING = 10_000
DEFAULT_PER_HOST = 4
DEFAULT_TIMEOUT = 10
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_FORMAT = "{host}: {title}"
DEFAULT_USER_AGENT = f"linkfilter/{__version__} (link title bot)"
#: ``--prefer``: the page's ``<title>`` when it is useful, or the link previewers' order.
PREFER_CHOICES = ("title", "card")
DEFAULT_ACCEPT_LANGUAGE = "en;q=0.9, *;q=0.5"
DEFAULT_CACHE_TTL = 3600
DEFAULT_MAX_TITLE = 200
#: Largest value of a seconds option (--timeout, --cache-ttl): about 31 years. Past
#: ``threading.TIMEOUT_MAX`` (about 9.2e9 on Linux) waits raise OverflowError.
MAX_SECONDS = 1_000_000_000

#: Fields a ``--format`` or ``--fallback`` template may name: every field of the record.
FORMAT_FIELDS = RECORD_FIELDS
COLOR_CHOICES = ("auto", "always", "never")
#: Options whose output JSON mode would silently drop: given with --json, a usage error.
NOT_WITH_JSON = ("format", "fallback")


class Bound(NamedTuple):
    """The numbers a knob takes: of ``kind`` (int, or float for seconds), at least ``low``
    (more than it when ``above``) and at most ``high`` when there is one."""

    kind: type
    low: float
    high: float | None = None
    above: bool = False

    def holds(self, number: float) -> bool:
        """Whether ``number`` is within the bound (NaN never is)."""
        low_ok = self.low < number if self.above else self.low <= number
        return low_ok and (self.high is None or number <= self.high)


#: The numeric knobs' bounds, in the order they are checked; the command line reads them too.
BOUNDS = {
    "workers": Bound(int, 1, MAX_WORKERS),
    "max_pending": Bound(int, 1),
    "per_host": Bound(int, 1),
    "timeout": Bound(float, 0, MAX_SECONDS, above=True),
    "max_bytes": Bound(int, 1),
    "max_redirects": Bound(int, 0),
    "cache_ttl": Bound(float, 0, MAX_SECONDS),
    "max_title": Bound(int, 0),
}


class SettingsError(ValueError):
    """Raised when a setting is out of range; the message names the option.

    ``option`` is the flag it is about (None for a rule over several) and ``reason``
    what is wrong with the value, for a caller that names the option its own way.
    """

    def __init__(self, message: str, *, option: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.reason = message if reason is None else reason


class _Knobs(NamedTuple):
    """The fields of Settings, with their documented defaults."""

    workers: int = DEFAULT_WORKERS
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    format: str | None = None  # None: DEFAULT_FORMAT, and the bare URL under --dry-run
    json: bool = False
    no_echo: bool = False
    dry_run: bool = False
    allow_private: bool = False
    user_agent: str = DEFAULT_USER_AGENT
    accept_language: str = DEFAULT_ACCEPT_LANGUAGE
    exclude: tuple[Pattern[str], ...] = ()
    cache_ttl: float = DEFAULT_CACHE_TTL
    quiet: bool = False
    stats: bool = False
    max_title: int = DEFAULT_MAX_TITLE
    max_pending: int = DEFAULT_MAX_PENDING
    per_host: int = DEFAULT_PER_HOST
    fallback: str | None = None
    ordered: bool = False
    cache_path: str | None = None
    progress: bool | None = None  # None: when stderr is a terminal and stdout a file
    color: str = "auto"
    no_files: bool = False  # print nothing for links that are not HTML (JSON keeps them)
    prefer: str = "title"
    oembed: bool = True


class Settings(_Knobs):
    """Everything one run needs to know; the defaults are the documented ones.

    Frozen, and validated whenever one is made (``_replace`` too). A named tuple, not a
    frozen dataclass: defining a dataclass this size, and importing ``dataclasses`` for
    it, would cost every run start-up time.
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Settings:
        self = super().__new__(cls, *args, **kwargs)
        self._check()
        if self.json and not self.no_echo:  # JSON Lines only: echo would break the stream
            self = _Knobs._replace(self, no_echo=True)  # checked already: no_echo is free
        return self

    def _replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated like a new one."""
        return type(self)(**{**self._asdict(), **changes})

    def _check(self) -> None:
        for name, bound in BOUNDS.items():
            if not bound.holds(getattr(self, name)):
                option, reason = "--" + name.replace("_", "-"), _needs(bound)
                raise SettingsError(f"{option} {reason}", option=option, reason=reason)
        if not (header_safe(self.user_agent) and header_safe(self.accept_language)):
            raise SettingsError("header values may not hold control characters")
        if self.prefer not in PREFER_CHOICES:
            raise SettingsError(f"--prefer must be one of {', '.join(PREFER_CHOICES)}")
        if self.color not in COLOR_CHOICES:
            reason = f"must be one of {', '.join(COLOR_CHOICES)}"
            raise SettingsError(f"--color {reason}", option="--color", reason=reason)
        if self.json:
            for name in NOT_WITH_JSON:
                if getattr(self, name) is not None:
                    raise SettingsError(f"--json cannot be used with --{name}")
        if self.format is not None:
            check_template(self.format)
        if self.fallback is not None:
            check_template(self.fallback, "--fallback")

    @property
    def template(self) -> str:
        """The ``--format`` template in force."""
        return DEFAULT_FORMAT if self.format is None else self.format

    @property
    def needs_line_numbers(self) -> bool:
        """Counting lines costs time on bulk input; only some outputs show them."""
        return (
            self.json
            or self.stats
            or self.ordered
            or "line" in template_fields(self.template)
            or (self.fallback is not None and "line" in template_fields(self.fallback))
        )

    def excluded(self, url: str) -> bool:
        """Tell whether a found URL (``Found.url``) matches an ``--exclude``.

        Patterns see it as ``urls.exclusion_form`` writes it: scheme and host
        lower case, ``http://`` before a ``www.`` link (the text and the JSON
        path both ask here, so both follow this one rule).
        """
        from linkfilter.urls import exclusion_form

        form = exclusion_form(url)
        return any(p.search(form) for p in self.exclude)


def _needs(bound: Bound) -> str:
    """What a value out of ``bound`` must be, as Settings says it."""
    unit = " seconds" if bound.kind is float else ""
    if bound.high is not None:
        if bound.above:
            return f"must be more than {bound.low:g} and at most {bound.high}{unit}"
        return f"must be from {bound.low} to {bound.high}{unit}"
    if bound.above:
        return f"must be more than {bound.low:g} seconds"
    return "must be 0 or more" if bound.low == 0 else f"must be at least {bound.low}"


def header_safe(value: str) -> bool:
    """A header value without control characters (which would end the header early or
    smuggle in another)."""
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)


def template_fields(template: str) -> list[str]:
    """Names of the fields a template uses, as written; ValueError when it does not parse."""
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


def check_template(template: str, option: str = "--format") -> None:
    """Raise SettingsError unless ``template`` formats with the known fields, by name only
    (attribute and index access, ``{title.upper}`` or ``{title[0]}``, is refused)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise _bad_template(option, str(e)) from e
    for _, name, spec, _ in parts:
        if name is None:
            continue
        if spec and "{" in spec:  # evaluated like a field, and sized by a value at run time
            raise _bad_template(option, f"{{{name}:{spec}}}: no fields inside a format spec")
        if name == "" or name.isdigit():
            raise _bad_template(option, "fields must be named, e.g. {title}")
        if re.search(r"[.\[]", name):
            raise _bad_template(
                option, f"{{{name}}}: fields are used by name only, without attributes or indexes"
            )
        if name not in FORMAT_FIELDS:
            raise _bad_template(
                option, f"unknown field {{{name}}} (known: {', '.join(FORMAT_FIELDS)})"
            )
    sample = dict.fromkeys(FORMAT_FIELDS, "x")
    sample.update(status=200, line=1, elapsed=0.5, content_length=10, width=1, height=1,
                  duration=1.5, pages=1)
    try:
        template.format(**sample)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as e:
        raise _bad_template(option, str(e)) from e


def _bad_template(option: str, reason: str) -> SettingsError:
    return SettingsError(f"bad {option} template: {reason}", option=option, reason=reason)


def compile_excludes(patterns: tuple[str, ...] | list[str]) -> tuple[Pattern[str], ...]:
    """Compile ``--exclude`` patterns, naming the bad one in the error."""
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as e:
            raise SettingsError(f"bad --exclude regex {p!r}: {e}") from e
    return tuple(out)
