"""One URL in, one Result out: the fetcher and the title layer joined.

Runs on the downloader threads. Every failure, expected or not, becomes a
Result with an error code: one bad URL never stops a worker or the others.
"""

from __future__ import annotations

import time

from linkfilter.errors import FetchError, FetchTimeout, HTTPStatusError, TooLarge
from linkfilter.output import human_size
from linkfilter.result import Result
from linkfilter.settings import Settings


def failure(url: str, line: int, host: str, error: FetchError, elapsed: float) -> Result:
    """The Result of a URL that yielded no page."""
    return Result(
        url=url,
        line=line,
        host=host,
        status=error.status if isinstance(error, HTTPStatusError) else None,
        error=error.code,
        reason=error.reason,
        host_down=error.host_down,
        elapsed=elapsed,
    )


def internal_error(url: str, line: int, host: str, error: Exception, elapsed: float = 0.0) -> Result:
    """The Result of a URL whose handling met a bug: reported, so one URL costs no more."""
    return Result(
        url=url,
        line=line,
        host=host,
        error="internal",
        reason=f"internal error: {type(error).__name__}: {error}",
        elapsed=elapsed,
    )


def _file_fields(info, settings: Settings) -> tuple[str | None, dict]:
    """A described file's title (cleaned) and its Result fields."""
    from linkfilter.title import clean_title

    title = clean_title(info.title, settings.max_title) if info.title else None
    return title, {
        "kind": info.kind,
        "title_source": "file" if title else None,
        "file_type": info.label,
        "width": info.width,
        "height": info.height,
        "duration": info.duration,
        "pages": info.pages,
    }


def describe(
    fetcher, fetch_url: str, url: str, line: int, host: str, settings: Settings
) -> Result:
    """Fetch ``fetch_url`` (already ``normalize_for_fetch``'s output: the cache key) and
    return its title, or why there is none, reported as ``url``."""
    from linkfilter.hints import Hints
    from linkfilter.title import TitleSniffer, page_title

    started = time.monotonic()
    sniffers: list[TitleSniffer] = []
    files: list = []

    def sniffer(header_charset: str | None) -> TitleSniffer:
        sniffers.append(TitleSniffer(header_charset))
        return sniffers[-1]

    def file_sniffer(head):
        from linkfilter.files import FileSniffer, file_name_of  # loaded at the first file, not at start-up

        files.append(FileSniffer(head.content_type, head.content_length, file_name_of(head.final_url)))
        return files[-1]

    try:
        page = fetcher.fetch(fetch_url, sink_factory=sniffer, normalized=True,
                             file_sink=file_sniffer)
        title = charset = source = None
        described = {}
        if page.is_html:
            # a body cut by the deadline is like one cut by the cap: an open title is no title
            options = {
                "max_title": settings.max_title,
                "capped": page.capped or bool(page.timed_out),
                # what a browser knows besides the bytes, for a short page that declares no charset
                "hints": Hints(page.content_language, page.final_url, settings.accept_language),
            }
            if sniffers:  # it has seen the body already: no second scan
                found = sniffers[-1].result(page.body, **options)
            else:
                found = page_title(page.body, page.charset, **options)
            title, charset, source = found.title, found.charset, found.charset_source
            info = None
            if title is None:  # no header, or a file served as HTML: the bytes may say
                from linkfilter.files import describe as describe_file

                info = describe_file(page.body, page.content_type, page.content_length)
            if info is not None and info.label is not None:  # a file after all
                title, described = _file_fields(info, settings)
                charset = source = None
            elif page.timed_out and title is None:
                raise FetchTimeout(page.timed_out, url=url)
            elif page.capped and title is None:
                what = "<title> still open after" if found.unclosed else "no title in"
                raise TooLarge(
                    f"{what} the first {human_size(settings.max_bytes)} "
                    f"(--max-bytes {settings.max_bytes})",
                    url=url,
                )
            else:
                described = {"kind": "page", "title_source": "title" if title else None}
        elif files:
            title, described = _file_fields(files[-1].info(), settings)
        else:
            from linkfilter.files import kind_of

            described = {"kind": kind_of(page.content_type)}
    except FetchError as e:
        return failure(url, line, host, e, time.monotonic() - started)
    except Exception as e:  # a bug must cost one URL, not the run
        return internal_error(url, line, host, e, time.monotonic() - started)
    return Result(
        url=url,
        line=line,
        host=host,
        final_url=page.final_url,
        status=page.status,
        title=title,
        content_type=page.content_type,
        content_length=page.content_length if page.content_length is not None or not files
        else files[-1].total,  # the Content-Range total of the file's end, if asked for
        charset=charset,
        charset_source=source,
        elapsed=time.monotonic() - started,
        **described,
    )
