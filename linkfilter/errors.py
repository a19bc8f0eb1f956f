"""The exception family: every failure linkfilter expects, with a stable code.

Fetch errors are per URL: the pipeline turns them into a stderr line or a JSON
record and goes on. The command line translates the family into one-line messages and exit codes.
"""

from __future__ import annotations


class LinkfilterError(Exception):
    """Root of every error linkfilter raises on purpose."""


class FetchError(LinkfilterError):
    """Raised when one URL yields no page; ``code`` is the stable JSON code."""

    code = "fetch"
    #: True when the failure came before a request could be sent (the name does not
    #: resolve, no TCP connection, no TLS handshake): the host cannot be reached, and the
    #: pipeline may fail its other URLs at once for a while. Anything after the request
    #: was sent (reset, read timeout, bad response, error status) is about the URL only.
    #: The fetcher sets it on the errors of its connect phase.
    host_down = False

    def __init__(self, reason: str, *, url: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, url={self.url!r})"


class BadURL(FetchError):
    """Raised when a URL cannot be turned into a request (bad host, bad port)."""

    code = "bad-url"


class DNSError(FetchError):
    """Raised when the host name does not resolve."""

    code = "dns"
    host_down = True


class ConnectError(FetchError):
    """Raised when no TCP connection could be made, or it was reset."""

    code = "connect"


class TLSError(FetchError):
    """Raised when the TLS handshake or certificate check fails."""

    code = "tls"


class FetchTimeout(FetchError):
    """Raised when the total deadline for one URL runs out."""

    code = "timeout"


class TooManyRedirects(FetchError):
    """Raised on a redirect loop or one hop more than ``--max-redirects``."""

    code = "too-many-redirects"


class HTTPStatusError(FetchError):
    """Raised when the final response has a status of 400 or more."""

    def __init__(self, status: int, reason: str, *, url: str | None = None) -> None:
        super().__init__(reason, url=url)
        self.status = status

    @property
    def code(self) -> str:  # type: ignore[override]
        return f"http-{self.status}"


class BlockedAddress(FetchError):
    """Raised when a host resolves to a non-global address and private ones are not allowed."""

    code = "blocked-address"


class BadResponse(FetchError):
    """Raised on a malformed response: status line, headers, chunking."""

    code = "bad-response"


class TooLarge(FetchError):
    """Raised when the byte cap is reached before anything useful was read."""

    code = "too-large"


class Challenge(FetchError):
    """Raised when a 403, 429 or 503 page is a bot challenge (an interstitial), not the page."""

    code = "challenge"


class NoTitle(FetchError):
    """Raised when a page offers no useful title: none, or only placeholders and its site's name."""

    code = "no-title"
