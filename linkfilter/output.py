"""Which bytes a result becomes: text template, JSON Lines, stderr line.

Everything a server could have chosen (titles, reasons, redirect targets) is
made terminal-safe here before it is printed, whatever the output mode.
"""

from __future__ import annotations

import re

from linkfilter.result import RECORD_FIELDS, Result, is_html_type
from linkfilter.settings import DEFAULT_FORMAT

#: Between a link's host and the host it led to, in the default text line.
ARROW = " \u2192 "

# C0 and C1 controls, DEL, and the bidi embeddings/overrides/isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Bytes of a URL that were not UTF-8 (kept as surrogate escapes when the line was decoded).
_RAW_BYTE = re.compile("[\udc80-\udcff]")

def safe(text: str | None) -> str | None:
    """Drop characters that could move the cursor, retitle the terminal or reorder a line;
    bytes that were not UTF-8 are shown percent-encoded (``caf%E9``), as they are fetched."""
    if text is None or (text.isascii() and text.isprintable()):
        return text
    text = _RAW_BYTE.sub(_percent, text)
    return _UNSAFE.sub("", text)


def _percent(m: re.Match[str]) -> str:
    return f"%{ord(m.group()) - 0xDC00:02X}"


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless n is 1: ``1 URL``, ``2 URLs``, ``0 redirects``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def human_size(n: int) -> str:
    """Bytes as people read them, to three figures: ``512 B``, ``19.5 KiB``, ``310 MiB``."""
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if round(size, 1) < 100 else f"{size:.0f} {unit}"
    raise AssertionError("unreachable")


def duration_text(seconds: float) -> str:
    """A duration as a player shows it: ``3:45``, ``1:02:03``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def summary(result: Result) -> str:
    """What a link that is not HTML is, in brackets: ``[PNG image, 1920×1080, 2.3 MiB]``,
    ``[PDF, 12 pages, 3.4 MiB]``, ``[MP4 video, 1:02:03, 1280×720, 310 MiB]``; the
    Content-Type stands for the type when the bytes named none (``[image/png, 19.5 KiB]``)."""
    parts = [result.file_type or safe(result.content_type) or "unknown type"]
    if result.pages is not None:
        parts.append(counted(result.pages, "page"))
    if result.duration is not None:
        parts.append(duration_text(result.duration))
    if result.width is not None and result.height is not None:
        parts.append(f"{result.width}\u00d7{result.height}")
    if result.content_length is not None:
        parts.append(human_size(result.content_length))
    return "[" + ", ".join(parts) + "]"


def text_line(
    result: Result, template: str, fallback: str | None = None, *, no_files: bool = False
) -> str | None:
    """The ``--format`` line for a result, or None when there is nothing to print.

    A link that is not HTML gets its title (if the file names itself) and ``summary``;
    none under ``no_files``. A failure, or an HTML page without a title, prints its
    ``fallback`` line (``title`` empty, ``error`` and ``reason`` saying why), or nothing.
    The default template shows where a redirect that left the link's site led:
    ``t.co → example.com: Title``.
    """
    title = result.title
    if result.ok and (result.file_type is not None or result.content_type is not None
                      and not is_html_type(result.content_type)):
        if no_files:
            return None
        title = f"{title} {summary(result)}" if title else summary(result)
    if title is None or not result.ok:
        if fallback is None:
            return None
        template, title = fallback, ""
    values = fields(result, title)
    if result.final_host and template == DEFAULT_FORMAT:
        values["host"] = values["host"] + ARROW + safe(result.final_host)
    return safe(template.format(**values))


class _Null(str):
    """A null field in a template: the empty string, whatever format spec a template
    gives it (``{status:d}`` is valid for a page and must not fail for a failure)."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        try:
            return format("", spec)
        except ValueError:  # a spec for numbers: nothing to show
            return ""


#: What a null field formats as.
NULL = _Null()


def fields(result: Result, title: str | None) -> dict:
    """The values a template sees: every JSON field, null as ``NULL`` (an empty string)."""
    final_url, status, length = result.final_url, result.status, result.content_length
    return {
        "url": safe(result.url),
        "final_url": NULL if final_url is None else safe(final_url),
        "host": safe(result.host),
        "line": result.line,
        "status": NULL if status is None else status,
        "title": safe(title) or NULL,
        "content_type": safe(result.content_type) or NULL,
        "content_length": NULL if length is None else length,
        "charset": result.charset or NULL,
        "charset_source": result.charset_source or NULL,
        "error": result.error or NULL,
        "reason": safe(result.reason) or NULL,
        "elapsed": NULL if result.elapsed is None else round(result.elapsed, 3),
        "cached": "true" if result.cached else "false",
        "kind": result.kind or NULL,
        "title_source": result.title_source or NULL,
        "site": safe(result.site) or NULL,
        "description": safe(result.description) or NULL,
        "author": safe(result.author) or NULL,
        "final_host": safe(result.final_host) or NULL,
        "file_type": result.file_type or NULL,
        "width": NULL if result.width is None else result.width,
        "height": NULL if result.height is None else result.height,
        "duration": NULL if result.duration is None else round(result.duration, 3),
        "pages": NULL if result.pages is None else result.pages,
    }


def dry_run_format(result: Result, template: str) -> str:
    """Text mode under ``--dry-run`` with a ``--format``: ``url``, ``host`` and ``line``
    filled in, every other field empty."""
    values = dict.fromkeys(fields(result, None), NULL)
    values.update(url=safe(result.url), host=safe(result.host), line=result.line)
    return safe(template.format(**values)) or ""


def dry_run_text(urls: list[str]) -> str:
    """Text mode under ``--dry-run``: each URL that would be fetched, terminal-safe, joined
    by newlines; checked in one pass when all are safe."""
    if "".join(urls).isprintable():  # nothing for safe() to drop (nor a newline inside a URL)
        return "\n".join(urls)
    return "\n".join(safe(url) or "" for url in urls)


def error_line(result: Result) -> str:
    """The stderr report of a failure: ``linkfilter: <url>: <reason>``."""
    return f"linkfilter: {safe(result.url)}: {safe(result.reason)}"


def json_line(result: Result) -> str:
    """One JSON Lines record; strings are terminal-safe, non-ASCII kept readable."""
    import json  # only JSON mode pays for it at start-up

    record = {}
    for name in RECORD_FIELDS:
        value = getattr(result, name)
        if isinstance(value, str):
            value = safe(value)
        elif name in ("elapsed", "duration") and value is not None:
            value = round(value, 3)
        record[name] = value
    return json.dumps(record, ensure_ascii=False)
