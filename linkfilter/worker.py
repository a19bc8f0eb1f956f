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


def describe(
    fetcher, fetch_url: str, url: str, line: int, host: str, settings: Settings
) -> Result:
    """Fetch ``fetch_url`` (already ``normalize_for_fetch``'s output: the cache key) and
    return its title and the fields beside it, or why there are none, reported as ``url``.

    A URL the oEmbed registry knows is described from the provider's answer when that
    has a title; otherwise the page is read, and an oEmbed link it declares followed when
    ``--prefer`` asks for it. Every request shares the URL's one deadline.
    """
    from linkfilter import card
    from linkfilter.hints import Hints
    from linkfilter.title import TitleSniffer

    started = time.monotonic()
    sniffers: list[TitleSniffer] = []
    judge = card.judge(fetch_url)

    def sniffer(header_charset: str | None) -> TitleSniffer:
        sniffers.append(TitleSniffer(header_charset, judge))
        return sniffers[-1]

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
        page = fetcher.fetch(fetch_url, sink_factory=sniffer, normalized=True, clock=clock)
        choice = None
        charset = source = None
        if page.is_html:
            # a body cut by the deadline is like one cut by the cap: an open title is no title
            options = {
                "max_title": settings.max_title,
                "capped": page.capped or bool(page.timed_out),
                # what a browser knows besides the bytes, for a short page that declares no charset
                "hints": Hints(page.content_language, page.final_url, settings.accept_language),
                "card": True,
            }
            if sniffers:  # it has seen the body already: no second scan
                found = sniffers[-1].result(page.body, **options)
            else:
                sniffer(page.charset).feed(page.body)
                found = sniffers[-1].result(page.body, **options)
            charset, source = found.charset, found.charset_source
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
            if choice.title is None:
                if page.timed_out:
                    raise FetchTimeout(page.timed_out, url=url)
                if page.capped:
                    what = "<title> still open after" if found.unclosed else "no title in"
                    raise TooLarge(
                        f"{what} the first {human_size(settings.max_bytes)} "
                        f"(--max-bytes {settings.max_bytes})",
                        url=url,
                    )
                if choice.placeholder is not None:
                    raise NoTitle(f"only a placeholder title: \"{choice.placeholder}\"", url=url)
                raise NoTitle("no title in the page", url=url)
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
        return Result(
            url=url,
            line=line,
            host=host,
            error="internal",
            reason=f"internal error: {type(e).__name__}: {e}",
            elapsed=time.monotonic() - started,
        )
    return Result(
        url=url,
        line=line,
        host=host,
        final_url=page.final_url,
        status=page.status,
        title=choice.title if choice else None,
        content_type=page.content_type,
        content_length=page.content_length,
        charset=charset,
        charset_source=source,
        site=choice.site if choice else None,
        description=choice.description if choice else None,
        author=choice.author if choice else None,
        title_source=choice.title_source if choice else None,
        kind=card.kind_of(page.content_type),
        final_host=_left_for(fetch_url, page.final_url),
        elapsed=time.monotonic() - started,
    )


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
    from urllib.parse import urlsplit

    from linkfilter.domain import same_site

    try:
        before, after = urlsplit(link).hostname, urlsplit(final_url).hostname
    except ValueError:
        return None
    if not before or not after or same_site(before, after):
        return None
    return after
