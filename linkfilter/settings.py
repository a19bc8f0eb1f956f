"""Every knob of a run, validated once, as a frozen value object."""

from __future__ import annotations

import re
import string
from typing import Any, NamedTuple, Pattern

from linkfilter import __version__

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

#: Fields a ``--format`` or ``--fallback`` template may name: every field of the JSON record.
FORMAT_FIELDS = (
    "url",
    "final_url",
    "host",
    "line",
    "status",
    "title",
    "content_type",
    "content_length",
    "charset",
    "charset_source",
    "error",
    "reason",
    "site",
    "description",
    "author",
    "title_source",
    "kind",
    "final_host",
    "elapsed",
    "cached",
)
#: Fields a ``--dry-run`` template gets values for; the others are empty.
DRY_RUN_FIELDS = ("url", "host", "line")
COLOR_CHOICES = ("auto", "always", "never")


class SettingsError(ValueError):
    """Raised when a setting is out of range; the message names the option."""


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
    progress: bool | None = None  # None: when stderr is a terminal and stdout is not
    color: str = "auto"
    prefer: str = "title"
    oembed: bool = True


class Settings(_Knobs):
    """Everything one run needs to know; the defaults are the documented ones.

    Frozen, and validated whenever one is made (``_replace`` too). A named tuple, not a
    frozen dataclass: defining a dataclass of 23 fields, and importing ``dataclasses``
    for it, cost every run 5 ms of start-up.
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
        if not 1 <= self.workers <= MAX_WORKERS:
            raise SettingsError(f"--workers must be from 1 to {MAX_WORKERS}")
        if self.max_pending < 1:
            raise SettingsError("--max-pending must be at least 1")
        if self.per_host < 1:
            raise SettingsError("--per-host must be at least 1")
        if not self.timeout > 0:
            raise SettingsError("--timeout must be more than 0 seconds")
        if self.max_bytes < 1:
            raise SettingsError("--max-bytes must be at least 1")
        if self.max_redirects < 0:
            raise SettingsError("--max-redirects must be 0 or more")
        if self.cache_ttl < 0:
            raise SettingsError("--cache-ttl must be 0 or more")
        if self.max_title < 0:
            raise SettingsError("--max-title must be 0 or more")
        if not (header_safe(self.user_agent) and header_safe(self.accept_language)):
            raise SettingsError("header values may not hold control characters")
        if self.prefer not in PREFER_CHOICES:
            raise SettingsError(f"--prefer must be one of {', '.join(PREFER_CHOICES)}")
        if self.color not in COLOR_CHOICES:
            raise SettingsError(f"--color must be one of {', '.join(COLOR_CHOICES)}")
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

    def excluded(self, found: str) -> bool:
        """Tell whether a URL, as found in the text, matches an ``--exclude``."""
        return any(p.search(found) for p in self.exclude)


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
        raise SettingsError(f"bad {option} template: {e}") from e
    for _, name, spec, _ in parts:
        if name is None:
            continue
        if spec and "{" in spec:  # evaluated like a field, and sized by a value at run time
            raise SettingsError(
                f"bad {option} template: {{{name}:{spec}}}: no fields inside a format spec"
            )
        if name == "" or name.isdigit():
            raise SettingsError(f"bad {option} template: fields must be named, e.g. {{title}}")
        if re.search(r"[.\[]", name):
            raise SettingsError(
                f"bad {option} template: {{{name}}}: fields are used by name only, "
                "without attributes or indexes"
            )
        if name not in FORMAT_FIELDS:
            raise SettingsError(
                f"bad {option} template: unknown field {{{name}}} "
                f"(known: {', '.join(FORMAT_FIELDS)})"
            )
    sample = dict.fromkeys(FORMAT_FIELDS, "x")
    sample.update(status=200, line=1, elapsed=0.5, content_length=10)
    try:
        template.format(**sample)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as e:
        raise SettingsError(f"bad {option} template: {e}") from e


def compile_excludes(patterns: tuple[str, ...] | list[str]) -> tuple[Pattern[str], ...]:
    """Compile ``--exclude`` patterns, naming the bad one in the error."""
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as e:
            raise SettingsError(f"bad --exclude regex {p!r}: {e}") from e
    return tuple(out)
