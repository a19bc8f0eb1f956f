"""The output mode, chosen once per run: which line each result becomes, coloured or not.

``renderer_for`` picks one renderer from the Settings (text template, JSON Lines,
or the URLs a ``--dry-run`` would fetch); the pipeline hands every result to it
without asking which mode is on. The lines themselves are made in ``output.py``.
"""

from __future__ import annotations

from linkfilter.output import dry_run_format, dry_run_text, error_line, json_line, text_line
from linkfilter.result import Result
from linkfilter.settings import Settings

#: Colours of result lines on stdout and failure lines on stderr (SGR sequences).
RESULT_COLOR = "\x1b[36m"
FAILURE_COLOR = "\x1b[31m"
RESET = "\x1b[0m"
#: The error code of a URL whose fetch a stop signal cut short.
INTERRUPTED = "interrupted"


class Renderer:
    """Lines for stdout and stderr in one output mode; subclasses say which line a result
    becomes (``line``)."""

    def __init__(self, settings: Settings, out_color: bool, err_color: bool) -> None:
        self.out_color = out_color
        self.err_color = err_color

    def line(self, result: Result) -> str | None:
        """The stdout line of ``result``, or None when it prints none."""
        raise NotImplementedError

    def failure(self, result: Result) -> str:
        """The stderr line of a failed ``result``."""
        text = error_line(result)
        return f"{FAILURE_COLOR}{text}{RESET}" if self.err_color else text

    def interrupted(self, url: str, number: int, host: str) -> str | None:
        """What a stop prints for a URL still in flight (None: nothing)."""
        return None

    def paint(self, text: str) -> str:
        """Result lines as stdout shows them: each set in ``RESULT_COLOR`` when colour is on."""
        if not self.out_color:
            return text
        return "\n".join(f"{RESULT_COLOR}{line}{RESET}" for line in text.split("\n"))


class TextRenderer(Renderer):
    """The ``--format`` line of each result; a failure its ``--fallback`` line, if set."""

    def __init__(self, settings: Settings, out_color: bool, err_color: bool) -> None:
        super().__init__(settings, out_color, err_color)
        self.template = settings.template
        self.fallback = settings.fallback
        self.no_files = settings.no_files

    def line(self, result: Result) -> str | None:
        line = text_line(result, self.template, self.fallback, no_files=self.no_files)
        return None if line is None else self.paint(line)

    def interrupted(self, url: str, number: int, host: str) -> str | None:
        """The URL's --fallback line, if set, with error ``interrupted``."""
        if self.fallback is None:
            return None
        result = Result(url=url, line=number, host=host, error=INTERRUPTED,
                        reason="stopped by a signal before the page came")
        return self.line(result)


class JSONRenderer(Renderer):
    """One JSON Lines record per result, never coloured."""

    def line(self, result: Result) -> str:
        return json_line(result)


class DryRunRenderer(Renderer):
    """``--dry-run`` in text mode: each URL found, or its ``--format`` line with only
    ``url``, ``host`` and ``line`` filled in."""

    def __init__(self, settings: Settings, out_color: bool, err_color: bool) -> None:
        super().__init__(settings, out_color, err_color)
        self.template = settings.format

    @property
    def url_only(self) -> bool:
        """Whether each line is the bare URL, so a batch of URLs needs no Results."""
        return self.template is None

    def line(self, result: Result) -> str:
        if self.template is not None:
            return self.paint(dry_run_format(result, self.template))
        return self.urls([result.url])

    def urls(self, urls: list[str]) -> str:
        """The lines of a batch of URLs, as one string (``url_only`` mode)."""
        return self.paint(dry_run_text(urls))


def renderer_for(settings: Settings, out_color: bool, err_color: bool) -> Renderer:
    """The renderer of the output mode ``settings`` ask for: JSON Lines, a dry run, or text."""
    if settings.json:
        kind: type[Renderer] = JSONRenderer
    elif settings.dry_run:
        kind = DryRunRenderer
    else:
        kind = TextRenderer
    return kind(settings, out_color, err_color)
