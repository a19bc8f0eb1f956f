"""The outcome of looking up one URL found on one input line."""

from __future__ import annotations

from typing import NamedTuple


class Result(NamedTuple):
    """What the pipeline prints for one URL: a page's title, or why there is none.

    ``url`` is the URL as found with ``http://`` in front of ``www.`` links;
    ``error`` is a stable short code (``timeout``, ``http-404``...) and ``reason``
    the sentence for people; both are None on success. A tuple, so that making
    one per URL stays cheap on bulk input.
    """

    url: str
    line: int
    host: str
    final_url: str | None = None
    status: int | None = None
    title: str | None = None
    content_type: str | None = None
    content_length: int | None = None
    charset: str | None = None
    charset_source: str | None = None
    error: str | None = None
    reason: str | None = None
    #: What the link is beyond its title (see ``card.choose``): the site's name, the page's
    #: description (at most ``card.DESCRIPTION_MAX`` characters) and author, where the title
    #: came from (``card.TITLE_SOURCES``), what it is (``card.KINDS``), and the final URL's
    #: host when a redirect left the link's registrable domain.
    site: str | None = None
    description: str | None = None
    author: str | None = None
    title_source: str | None = None
    kind: str | None = None
    final_host: str | None = None
    elapsed: float = 0.0
    cached: bool = False
    #: The host itself failed (no name, no connection, no TLS): not printed, but the
    #: pipeline fails the host's other URLs at once for a while.
    host_down: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def reused(self, *, url: str, line: int, host: str, elapsed: float) -> Result:
        """The same outcome reported for another occurrence, marked as cached."""
        return self._replace(url=url, line=line, host=host, elapsed=elapsed, cached=True)
