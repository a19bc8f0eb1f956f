"""The outcome of looking up one URL found on one input line."""

from __future__ import annotations

from typing import NamedTuple

#: The fields of the printed record, in the order JSON Lines writes them: the keys of a
#: JSON record and the names a ``--format`` or ``--fallback`` template may use.
RECORD_FIELDS = (
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
    "elapsed",
    "cached",
    "kind",
    "title_source",
    "site",
    "description",
    "author",
    "final_host",
    "file_type",
    "width",
    "height",
    "duration",
    "pages",
)


#: Media types whose body is read for a title.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def is_html_type(content_type: str | None) -> bool:
    """text/html or application/xhtml+xml; a response without Content-Type counts as HTML too."""
    return content_type is None or content_type in HTML_TYPES


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
    elapsed: float | None = 0.0  # None: no fetch was made or waited for (--dry-run)
    cached: bool = False
    #: The host itself failed (no name, no connection, no TLS): not printed, but the
    #: pipeline fails the host's other URLs at once for a while.
    host_down: bool = False
    #: What the link is (``page``, ``image``, ``video``, ``audio``, ``pdf``, ``file``): from
    #: the bytes when they name a type, else from the Content-Type; None for a failure.
    kind: str | None = None
    #: Where the title came from (``card.TITLE_SOURCES``): ``title`` (a page's ``<title>``),
    #: ``oembed``, ``og``, ``twitter``, ``jsonld``, ``file`` (the file's own metadata: ID3,
    #: Vorbis comments, a PDF's Info or XMP, a WebM's Title); None without one.
    title_source: str | None = None
    #: What the link is beyond its title (see ``card.choose``): the site's name, the page's
    #: description (at most ``card.DESCRIPTION_MAX`` characters) and author, and the final
    #: URL's host when a redirect left the link's registrable domain.
    site: str | None = None
    description: str | None = None
    author: str | None = None
    final_host: str | None = None
    #: A file's type as its bytes name it ("PNG image", "PDF", "MP3 audio"); None when they
    #: name none we know (the line then shows the Content-Type).
    file_type: str | None = None
    width: int | None = None  # pixels, as shown on screen
    height: int | None = None
    duration: float | None = None  # seconds
    pages: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def reused(self, *, url: str, line: int, host: str, elapsed: float) -> Result:
        """The same outcome reported for another occurrence, marked as cached."""
        return self._replace(url=url, line=line, host=host, elapsed=elapsed, cached=True)
