"""One URL in, one Result out: the fetcher and the title layer joined.

Runs on the downloader threads. Every failure, expected or not, becomes a
Result with an error code: one bad URL never stops a worker or the others.
"""

from __future__ import annotations

import time

from linkfilter.errors import FetchError, FetchTimeout, HTTPStatusError, NoTitle, TooLarge
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
    return its title and the fields beside it, or why there are none, reported as ``url``.

    A URL the oEmbed registry knows is described from the provider's answer when that
    has a title; otherwise the page is read, and an oEmbed link it declares followed when
    ``--prefer`` asks for it. A file (a response that is not HTML) is described from its
    own first bytes. Every request shares the URL's one deadline.
    """
    from linkfilter import card
    from linkfilter.hints import Hints
    from linkfilter.title import TitleSniffer

    started = time.monotonic()
    sniffers: list[TitleSniffer] = []
    files: list = []
    judge = card.judge(fetch_url)

    def sniffer(header_charset: str | None) -> TitleSniffer:
        sniffers.append(TitleSniffer(header_charset, judge))
        return sniffers[-1]

    def file_sniffer(head):
        from linkfilter.files import FileSniffer, file_name_of  # loaded at the first file, not at start-up

        files.append(FileSniffer(head.content_type, head.content_length, file_name_of(head.final_url)))
        return files[-1]

    page = choice = None
    charset = source = None
    title = None
    described: dict = {}
    try:
        clock = fetcher.deadline()
        answer = None
        if settings.oembed:
            from linkfilter import oembed

            endpoint = oembed.endpoint_for(fetch_url)
            if endpoint is not None:
                answer = oembed.ask(fetcher, oembed.request_url(endpoint, fetch_url), clock,
                                    settings.max_title)
                if answer is not None:
                    choice = card.choose(None, answer.card, url=fetch_url, final_url=fetch_url,
                                         prefer=settings.prefer)
                    if choice.title is not None:
                        return _described(url, line, host, choice, kind=answer.kind,
                                          final_url=fetch_url, elapsed=time.monotonic() - started)
        page = fetcher.fetch(fetch_url, sink_factory=sniffer, normalized=True, clock=clock,
                             file_sink=file_sniffer)
        choice = None
        if page.is_html:
            # a body cut by the deadline is like one cut by the cap: an open title is no title
            options = {
                "max_title": settings.max_title,
                "capped": page.capped or bool(page.timed_out),
                # what a browser knows besides the bytes, for a short page that declares no charset
                "hints": Hints(page.content_language, page.final_url, settings.accept_language),
                "card": True,
            }
            if not sniffers:  # a body read without a sniffer: scan it now
                sniffer(page.charset).feed(page.body)
            found = sniffers[-1].result(page.body, **options)
            charset, source = found.charset, found.charset_source
            info = None
            if found.title is None:  # no header, or a file served as HTML: the bytes may say
                from linkfilter.files import describe as describe_file

                info = describe_file(page.body, page.content_type, page.content_length)
            if info is not None and info.label is not None:  # a file after all
                title, described = _file_fields(info, settings)
                charset = source = None
            else:
                choice = _page_choice(fetcher, page, found, answer, clock, fetch_url, settings)
                if choice.title is None:
                    _no_title(page, found, choice, url, settings)
                title = choice.title
                described = {"kind": "page", "title_source": choice.title_source}
        elif files:
            title, described = _file_fields(files[-1].info(), settings)
        else:
            described = {"kind": card.kind_of(page.content_type)}
    except FetchError as e:
        result = failure(url, line, host, e, time.monotonic() - started)
        if isinstance(e, NoTitle):  # the page was read: what it said besides still counts
            result = _described(url, line, host, choice, kind="page", final_url=page.final_url,
                                elapsed=result.elapsed)._replace(
                status=page.status, content_type=page.content_type,
                content_length=page.content_length, charset=charset, charset_source=source,
                final_host=_left_for(fetch_url, page.final_url), error=e.code, reason=e.reason)
        return result
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
        site=choice.site if choice else None,
        description=choice.description if choice else None,
        author=choice.author if choice else None,
        final_host=_left_for(fetch_url, page.final_url),
        elapsed=time.monotonic() - started,
        **described,
    )


def _page_choice(fetcher, page, found, answer, clock, fetch_url: str, settings: Settings):
    """The title and fields of an HTML page (``card.choose``), after following the oEmbed
    link it declares when ``--prefer`` asks for it."""
    from linkfilter import card

    oembed_card = answer.card if answer is not None else None
    choice = card.choose(found.card, oembed_card, url=fetch_url, final_url=page.final_url,
                         prefer=settings.prefer)
    if settings.oembed and answer is None and (settings.prefer == "card" or choice.title_source != "title"):
        from linkfilter import oembed

        assert found.card is not None
        target = oembed.discovered(found.card.oembed_href or oembed.link_header(page.link),
                                   page.final_url)
        if target is not None:
            answer = oembed.ask(fetcher, target, clock, settings.max_title)
            if answer is not None:
                choice = card.choose(found.card, answer.card, url=fetch_url,
                                     final_url=page.final_url, prefer=settings.prefer)
    return choice


def _no_title(page, found, choice, url: str, settings: Settings) -> None:
    """Raise why a page that yielded no useful title has none: the deadline cut it, it
    offers only a placeholder (however far the search for another title went), the byte
    cap cut it, or nothing."""
    if page.timed_out:
        raise FetchTimeout(page.timed_out, url=url)
    if choice.placeholder is not None:
        raise NoTitle(f"only a placeholder title: \"{choice.placeholder}\"", url=url)
    if page.capped:
        what = "<title> still open after" if found.unclosed else "no title in"
        raise TooLarge(
            f"{what} the first {human_size(settings.max_bytes)} "
            f"(--max-bytes {settings.max_bytes})",
            url=url,
        )
    raise NoTitle("no title in the page", url=url)


def _described(url: str, line: int, host: str, choice, *, kind: str, final_url: str,
               elapsed: float) -> Result:
    """The Result of a link described without a page of its own (an oEmbed answer)."""
    return Result(
        url=url,
        line=line,
        host=host,
        final_url=final_url,
        title=choice.title,
        site=choice.site,
        description=choice.description,
        author=choice.author,
        title_source=choice.title_source,
        kind=kind,
        elapsed=elapsed,
    )


def _left_for(link: str, final_url: str | None) -> str | None:
    """The final URL's host when a redirect left the link's registrable domain, else None."""
    if not final_url or final_url == link:
        return None
    from linkfilter.card import host_of
    from linkfilter.domain import same_site

    before, after = host_of(link), host_of(final_url)
    if not before or not after or same_site(before, after):
        return None
    return after
