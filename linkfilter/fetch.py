"""Fetch one page over http.client: redirects, one deadline, a byte cap, the address guard.

Every URL gets one total deadline (``--timeout``) shared by DNS, connect, TLS, every
redirect and every read: each socket operation waits only for the time left, so a server
trickling one byte at a time is cut off at the deadline, not after ``timeout`` per read.
Names are resolved once by ``netguard.resolve`` (which refuses private addresses unless
allowed) and the socket is connected to exactly those addresses; http.client never looks a
name up. The body is decoded incrementally (``content``) and never more than
``--max-bytes`` decoded bytes are held. A Fetcher keeps its last connection per host for
reuse; it belongs to one thread. Reading a response off the socket (status line, headers,
body framing) is ``http11``'s job.

Every failure is a ``linkfilter.errors.FetchError`` subclass; low-level errors are
translated where they happen, naming the host and the limit.
"""

from __future__ import annotations

import collections
import contextlib
import email.utils
import errno
import http
import http.client
import re
import select
import socket
import ssl
import threading
import time
from typing import Callable, Iterator, Mapping, NamedTuple, Protocol
from urllib.parse import urljoin

from linkfilter import challenge, content, netguard
from linkfilter.errors import (
    BadResponse,
    BadURL,
    Challenge,
    ConnectError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TLSError,
    TooManyRedirects,
)
from linkfilter.output import counted
from linkfilter.http11 import MAX_HEADERS, MAX_LINE, BadChunk, Body, Clock, Response, TooManyHeaders
from linkfilter.proxy import Proxies, Proxy
from linkfilter.result import is_html_type
from linkfilter.settings import Settings
from linkfilter.urls import DEFAULT_PORTS, normalize_for_fetch, split_authority

ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
ACCEPT_ENCODING = ", ".join(content.SUPPORTED)  # "gzip, deflate"

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: Most decoded bytes produced per step.
DECODE_STEP = 64 * 1024
#: Most bytes handed to the sink per ``feed``: the title sniffer scans all it is given,
#: so small steps let reading stop soon after the title instead of a whole read later.
SINK_STEP = 2 * 1024
#: Most unread body bytes read and thrown away so a connection can be reused, and the
#: longest that may take; a longer or slower rest closes the connection instead.
DRAIN_LIMIT = 64 * 1024
DRAIN_WINDOW = 0.05
#: Most idle connections one Fetcher keeps open (least recently used go first).
POOL_SIZE = 8
#: The longest the first ``challenge.BODY_LIMIT`` bytes of a page with one of
#: ``challenge.STATUSES`` may take to read.
CHALLENGE_WINDOW = 2.0
#: A Content-Range header's first and last byte and total size (``*`` when unknown).
_CONTENT_RANGE = re.compile(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", re.I)
#: Statuses retried once when their Retry-After fits in the time left.
RETRY_STATUSES = frozenset({429, 503})

#: Resolver signature: ``netguard.resolve`` (tests may hand in their own).
Resolver = Callable[..., "list[tuple[int, tuple]]"]


class Sink(Protocol):
    """Where the decoded body of an HTML page goes while it is read, in pieces of at most
    ``SINK_STEP`` bytes; what it decides must not depend on where they split. The Page's
    body is then exactly what it was fed."""

    def feed(self, data: bytes) -> bool:
        """Take the next decoded bytes; return True when nothing more is needed."""


class FileSink(Sink, Protocol):
    """Where the body of a file (a response that is not HTML) goes while it is read:
    ``feed`` returns True once the file is described. ``tail_wanted`` (bytes, 0 for
    none) asks for one ranged request of the file's end, whose bytes and total size go
    to ``feed_tail``."""

    tail_wanted: int

    def feed_tail(self, data: bytes, total: int | None) -> None:
        """Take the last bytes of the file, and its size from the Content-Range."""


class Page(NamedTuple):
    """What one fetch yields: the last response's head and the first part of its body."""

    url: str  # the URL asked for (as passed to fetch)
    final_url: str  # the normalized URL of the last hop
    status: int
    content_type: str | None  # media type, lower case, no parameters; None when absent
    charset: str | None  # raw charset parameter of Content-Type, unquoted; None when absent
    content_length: int | None  # Content-Length header of the final response, if valid
    body: bytes  # content-decoded body read, at most settings.max_bytes bytes
    capped: bool  # reading stopped because max_bytes was reached
    cut: bool  # the body ended before its announced end (closed early, reset, bad chunk)
    #: Set when the deadline ran out in the body after some of it came: the timeout's
    #: reason, for the caller to raise unless what came is enough (a whole title).
    timed_out: str | None = None
    #: Content-Language header of the final response, as sent; None when absent.
    content_language: str | None = None
    #: Link headers of the final response, joined by ", " as HTTP allows; None when absent.
    link: str | None = None

    @property
    def is_html(self) -> bool:
        """text/html, application/xhtml+xml, or no Content-Type at all."""
        return is_html_type(self.content_type)


_default_context: ssl.SSLContext | None = None
_context_lock = threading.Lock()


def default_ssl_context() -> ssl.SSLContext:
    """The one verifying TLS context all Fetchers share, made on first use (so
    ``SSL_CERT_FILE`` set before then counts)."""
    global _default_context
    with _context_lock:
        if _default_context is None:
            context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])
            _default_context = context
        return _default_context


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """``(media type, charset)`` of a Content-Type value: type lower case without
    parameters, charset as given but unquoted; None for what is absent or unusable."""
    if value is None:
        return None, None
    media, _, params = value.partition(";")
    media = media.strip().lower()
    if "/" not in media or any(c.isspace() for c in media):
        media = ""
    charset = None
    for param in params.split(";"):
        name, eq, raw = param.partition("=")
        if eq and name.strip().lower() == "charset":
            raw = raw.strip()
            if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
                raw = raw[1:-1].strip()
            charset = raw or None
            break
    return media or None, charset


def parse_content_length(values: list[str] | None) -> int | None:
    """The Content-Length, if every copy of the header holds the same plain number."""
    if not values:
        return None
    found = {v.strip() for v in values}
    if len(found) != 1:
        return None
    (text,) = found
    return int(text) if text.isascii() and text.isdigit() else None


def _header_text(value: str) -> str:
    """A header value's bytes as UTF-8 (http.client decodes Latin-1).

    Bytes that are not UTF-8 become surrogate escapes, which
    ``normalize_for_fetch`` percent-encodes back to the very bytes sent.
    """
    try:
        return value.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeError:
        return value


def _printable(text: str, limit: int = 80) -> str:
    """Server text for a message: printable ASCII only, cut to ``limit``."""
    text = "".join(c if " " <= c <= "~" else "?" for c in text).strip()
    return text[:limit] + ("..." if len(text) > limit else "")


class _Target(NamedTuple):
    """One normalized URL taken apart for a request."""

    url: str
    scheme: str
    host: str  # lower case, IPv6 without brackets: for resolve, SNI and the certificate
    port: int
    authority: str  # the Host header: host, with :port when not the default
    path: str  # origin-form request target

    @classmethod
    def parse(cls, url: str) -> _Target:
        """Take apart a URL as ``normalize_for_fetch`` makes it (which checked its parts)."""
        scheme, authority, rest = split_authority(url)
        scheme = scheme.lower() if scheme is not None else ""
        authority = authority.rpartition("@")[2]  # never the user:password part
        host, port_text = authority, ""
        if ":" in authority and not authority.endswith("]"):
            host, _, port_text = authority.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        host = host.lower()
        if scheme not in DEFAULT_PORTS or not host:
            raise BadURL(f"not an http(s) URL with a host: {url!r}", url=url)
        port = DEFAULT_PORTS[scheme]
        if port_text:
            if not (port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535):
                raise BadURL(f"bad URL {url!r}: bad port {port_text!r}", url=url)
            port = int(port_text)
        path, mark, query = rest.partition("#")[0].partition("?")
        return cls(
            url=url,
            scheme=scheme,
            host=host,
            port=port,
            authority=authority,
            path=(path or "/") + (mark + query if query else ""),
        )


class _Connection(http.client.HTTPConnection):
    """An HTTPConnection that connects to checked addresses, never to a name, within the
    deadline; optionally through an http proxy's CONNECT tunnel to ``host:port``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: list[tuple[int, tuple]],
        clock: Clock,
        tunnel: Proxy | None = None,
        **kwargs,
    ) -> None:
        super().__init__(host, port, **kwargs)
        self.auto_open = 0  # a dropped connection is never silently reopened
        self.addresses = addresses
        self.clock = clock
        self.tunnel = tunnel
        self.key: tuple = ()  # the Fetcher's pool key
        self.last: Response | None = None

    def response_class(self, sock, debuglevel=0, method=None, url=None):  # type: ignore[override]
        self.last = Response(sock, debuglevel, method=method, url=url, clock=self.clock)
        return self.last

    @property
    def received(self) -> int:
        """Bytes of the current response received so far."""
        reader = self.last.reader if self.last is not None else None
        return reader.received if reader is not None else 0

    def connect(self) -> None:
        self.sock = _connect_any(self.addresses, self.clock)
        if self.tunnel is not None:
            self._open_tunnel(self.tunnel)

    def _open_tunnel(self, proxy: Proxy) -> None:
        authority = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        head = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if proxy.authorization:
            head.append(f"Proxy-Authorization: {proxy.authorization}")
        self.sock.settimeout(self.clock.left())
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii"))
        answer = Response(self.sock, method="CONNECT", clock=self.clock)
        try:
            answer.begin()
        finally:
            answer.close()
        if not 200 <= answer.status < 300:
            raise ConnectError(
                f"proxy {proxy.url} refused CONNECT to {authority}: "
                f"{answer.status} {_printable(answer.reason)}".rstrip()
            )


class _TLSConnection(_Connection, http.client.HTTPSConnection):
    """_Connection with TLS to the target host (through the tunnel, if any)."""

    def __init__(self, host: str, port: int, *, context: ssl.SSLContext, **kwargs) -> None:
        super().__init__(host, port, context=context, **kwargs)
        self.tls_context = context

    def connect(self) -> None:
        _Connection.connect(self)
        self.sock = _tls_handshake(self.sock, self.tls_context, self.host, self.clock)


def _connect_any(addresses: list[tuple[int, tuple]], clock: Clock) -> socket.socket:
    """A TCP socket connected to the first address that answers, within the deadline."""
    last: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(clock.left())
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            raise
        except OSError as e:
            sock.close()
            last = e
            continue
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        return sock
    raise last if last is not None else ConnectionError("no address to connect to")


def _tls_handshake(
    sock: socket.socket, context: ssl.SSLContext, host: str, clock: Clock
) -> ssl.SSLSocket:
    """Wrap ``sock`` in TLS for ``host`` (SNI, certificate); the whole handshake, however
    many round trips it takes, gets only the time left."""
    try:
        tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    except BaseException:
        sock.close()
        raise
    try:
        tls.settimeout(0.0)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                ready = select.select([tls], [], [], clock.left())[0]
            except ssl.SSLWantWriteError:
                ready = select.select([], [tls], [], clock.left())[1]
            if not ready:
                raise TimeoutError("TLS handshake timed out")
        tls.settimeout(clock.left())
    except BaseException:
        tls.close()
        raise
    return tls


class _Want(NamedTuple):
    """What one request reads besides an HTML page: the media types whose body is read,
    and how much of it."""

    read_types: frozenset[str] | None = None
    max_bytes: int | None = None


class _Read(NamedTuple):
    """What reading one body yielded."""

    data: bytes  # decoded, at most the cap
    capped: bool = False  # stopped at the cap with more to come
    cut: bool = False  # ended before its announced end (short, damaged, or late)
    stopped: bool = False  # the sink had enough
    #: The deadline ran out after some of the body came: what came may still hold a title.
    late: TimeoutError | None = None


class _Stale(Exception):
    """A kept connection failed before any byte of an answer: the server closed it idle."""


@contextlib.contextmanager
def _error_catcher(
    conn: _Connection,
    target: _Target,
    proxy: Proxy | None,
    clock: Clock,
    *,
    response: http.client.HTTPResponse | None = None,
    kept: bool = False,
    connecting: bool = False,
    reading: bool = False,
) -> Iterator[None]:
    """Close ``conn`` (and ``response``) on any error in the block, and raise a low-level
    one as the FetchError it means. On a ``kept`` connection, a failure before the first
    byte of an answer (other than the deadline) raises _Stale instead, to be retried."""
    try:
        yield
    except (OSError, http.client.HTTPException) as e:
        if response is not None:
            response.close()
        conn.close()
        if kept and not isinstance(e, TimeoutError) and not conn.received:
            raise _Stale() from e
        raise _translate(e, target, proxy, clock, connecting=connecting, reading=reading) from e
    except BaseException:
        if response is not None:
            response.close()
        conn.close()
        raise


class Fetcher:
    """One per worker thread; keeps its last connection per (scheme, host, port, proxy)
    alive for reuse (at most POOL_SIZE of them)."""

    def __init__(
        self,
        settings: Settings,
        ssl_context: ssl.SSLContext | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        """``environ`` is where proxy variables are read, once, here (default ``os.environ``);
        ``resolver`` replaces ``netguard.resolve`` (a test seam: a fake DNS)."""
        self.settings = settings
        self._ssl_context = ssl_context
        self._proxies = Proxies(environ)
        self._resolve = resolver or netguard.resolve
        self._pool: collections.OrderedDict[tuple, _Connection] = collections.OrderedDict()

    def close(self) -> None:
        """Close every kept connection."""
        while self._pool:
            _, conn = self._pool.popitem()
            conn.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def deadline(self) -> Clock:
        """A new deadline of ``settings.timeout``, for one URL that takes several requests
        (an oEmbed answer, then the page): pass it to each ``fetch``."""
        return Clock(self.settings.timeout)

    def fetch(
        self,
        url: str,
        sink_factory: Callable[[str | None], Sink] | None = None,
        *,
        normalized: bool = False,
        file_sink: Callable[[Page], FileSink] | None = None,
        clock: Clock | None = None,
        accept: str = ACCEPT,
        read_types: frozenset[str] | None = None,
        max_bytes: int | None = None,
    ) -> Page:
        """Fetch one URL within settings.timeout in total (or what ``clock`` has left).

        Follows redirects (each hop normalized and guarded again). For an HTML response
        with status < 300, calls ``sink_factory(charset)`` once and feeds it the decoded
        body until it returns True, the body ends, or ``max_bytes`` are read; without a
        sink it reads to the end or the cap. Non-HTML with status < 300: fed likewise to
        ``file_sink(page head)`` when given (then one ranged request for the file's end if
        it wants one and the server takes ranges, within the same deadline), else headers
        only (body b'').
        ``normalized`` says ``url`` is already what ``normalize_for_fetch`` makes of it
        (the pipeline's cache key): it is not normalized again.
        ``accept`` is the Accept header; ``read_types`` the media types whose body is read
        instead of HTML's (at most ``max_bytes``, default ``--max-bytes``).
        Raises only FetchError subclasses.
        """
        clock = clock or Clock(self.settings.timeout)
        want = _Want(read_types, max_bytes)
        current = url
        hops = 0
        try:
            if not normalized:
                current = normalize_for_fetch(url)
            seen = {current}
            retried = False
            while True:
                target = _Target.parse(current)
                conn, response = self._exchange(target, clock, accept=accept)
                status = response.status
                location = _first(response.msg.get_all("Location"))
                if status in REDIRECT_STATUSES and location and location.strip():
                    self._finish(conn, response, clock)
                    limit = self.settings.max_redirects
                    if hops >= limit:
                        raise TooManyRedirects(
                            f"more than {counted(limit, 'redirect')} (--max-redirects {limit})"
                        )
                    current = normalize_for_fetch(_join(current, location))
                    if current in seen:
                        raise TooManyRedirects(
                            f"redirect loop back to {current} (--max-redirects {limit})"
                        )
                    seen.add(current)
                    hops += 1
                    continue
                if status >= 400:
                    head = f"HTTP {status} {_printable(response.reason) or _phrase(status)}".rstrip()
                    if status in challenge.STATUSES:
                        service = self._challenge(conn, response, clock)
                        if service:
                            raise Challenge(f"HTTP {status}: {service} bot challenge")
                    else:
                        self._finish(conn, response, clock)
                    if status in RETRY_STATUSES:
                        wait, said = _retry_after(response.msg.get_all("Retry-After"))
                        if wait is not None and not retried and wait < clock.deadline - time.monotonic():
                            retried = True
                            time.sleep(wait)
                            continue
                        if said is not None:
                            left = max(clock.deadline - time.monotonic(), 0.0)
                            why = "retried once already" if retried else f"{left:.1f} s left"
                            head += f" (Retry-After: {said}; {why}, --timeout {clock.timeout:g} s)"
                    raise HTTPStatusError(status, head)
                return self._page(url, target, conn, response, sink_factory, clock, file_sink, want)
        except FetchError as e:
            if e.url is None:
                e.url = current
            if hops:  # the URL's host answered (a redirect): a later hop's failure is not its
                e.host_down = False
            raise

    # -- one request ---------------------------------------------------------

    def _exchange(
        self, target: _Target, clock: Clock, ranged: str | None = None, *, accept: str = ACCEPT
    ) -> tuple[_Connection, Response]:
        """Send the request for ``target`` and read the response head.

        A kept connection is tried first; if it fails before the first byte of a response
        (the server closed it while idle), the request is sent once more on a new one.
        """
        proxy = self._proxies.proxy_for(target.scheme, target.host, target.port)
        key = (target.scheme, target.host, target.port, proxy.url if proxy else None)
        conn = self._pool.pop(key, None)
        if conn is not None:
            conn.clock = clock
            try:
                with _error_catcher(conn, target, proxy, clock, kept=True):
                    return conn, self._send(conn, target, proxy, ranged, accept)
            except _Stale:
                pass  # closed while idle: send once more on a new connection
        conn = self._connect(target, proxy, clock)
        conn.key = key
        with _error_catcher(conn, target, proxy, clock):
            return conn, self._send(conn, target, proxy, ranged, accept)

    def _connect(self, target: _Target, proxy: Proxy | None, clock: Clock) -> _Connection:
        if proxy is None:
            addresses = self._resolve(
                target.host,
                target.port,
                deadline=clock.deadline,
                allow_private=self.settings.allow_private,
            )
        else:
            if not self.settings.allow_private:
                # The guard is about the target; the proxy itself may be anywhere.
                self._resolve(
                    target.host, target.port, deadline=clock.deadline, allow_private=False
                )
            addresses = self._resolve(
                proxy.host, proxy.port, deadline=clock.deadline, allow_private=True
            )
        if target.scheme == "https":
            context = self._ssl_context or default_ssl_context()
            conn: _Connection = _TLSConnection(
                target.host,
                target.port,
                context=context,
                addresses=addresses,
                clock=clock,
                tunnel=proxy,
            )
        else:
            conn = _Connection(target.host, target.port, addresses=addresses, clock=clock)
        # Nothing was sent yet: a failure here means the host (or its proxy) cannot be
        # reached, and it is the only kind that marks the host down.
        try:
            with _error_catcher(conn, target, proxy, clock, connecting=True):
                conn.connect()
        except FetchError as e:
            e.host_down = True
            raise
        return conn

    def _send(
        self,
        conn: _Connection,
        target: _Target,
        proxy: Proxy | None,
        ranged: str | None = None,
        accept: str = ACCEPT,
    ) -> Response:
        """Send the GET (with ``Range: ranged`` and no content coding, when given)."""
        conn.last = None
        conn.sock.settimeout(conn.clock.left())
        absolute = proxy is not None and target.scheme == "http"
        try:
            conn.putrequest(
                "GET",
                target.url if absolute else target.path,
                skip_host=True,
                skip_accept_encoding=True,
            )
        except (http.client.InvalidURL, UnicodeError) as e:
            raise BadURL(f"cannot request {target.url!r}: {e}", url=target.url) from e
        conn.putheader("Host", target.authority)
        conn.putheader("User-Agent", self.settings.user_agent)
        conn.putheader("Accept", accept)
        conn.putheader("Accept-Encoding", "identity" if ranged else ACCEPT_ENCODING)
        if ranged:
            conn.putheader("Range", ranged)
        conn.putheader("Accept-Language", self.settings.accept_language)
        if absolute and proxy.authorization:
            conn.putheader("Proxy-Authorization", proxy.authorization)
        conn.endheaders()
        return conn.getresponse()  # type: ignore[return-value]

    # -- the response --------------------------------------------------------

    def _page(
        self,
        url: str,
        target: _Target,
        conn: _Connection,
        response: Response,
        sink_factory: Callable[[str | None], Sink] | None,
        clock: Clock,
        file_sink: Callable[[Page], FileSink] | None = None,
        want: _Want | None = None,
    ) -> Page:
        content_type, charset = parse_content_type(_last(response.msg.get_all("Content-Type")))
        language = _last(response.msg.get_all("Content-Language"))
        links = response.msg.get_all("Link")
        page = Page(
            url=url,
            final_url=target.url,
            status=response.status,
            content_type=content_type,
            charset=charset,
            content_length=parse_content_length(response.msg.get_all("Content-Length")),
            body=b"",
            capped=False,
            cut=False,
            content_language=_header_text(language) if language is not None else None,
            link=", ".join(_header_text(v) for v in links) if links else None,
        )
        other = want is not None and want.read_types is not None
        readable = content_type in want.read_types if other else page.is_html  # type: ignore[union-attr]
        if not (readable and response.status < 300):
            if other or file_sink is None or response.status >= 300:
                self._finish(conn, response, clock)
                return page
            return self._file(page, target, conn, response, file_sink(page), clock)
        try:
            decoder = content.decoder_for(response.getheader("Content-Encoding"))
        except content.DecodeError as e:
            self._discard(conn, response)
            raise BadResponse(f"{target.host}: {e}") from e
        sink = sink_factory(charset) if sink_factory is not None and not other else None
        body = Body(response)
        with _error_catcher(conn, target, None, clock, response=response, reading=True):
            read = self._read_body(body, decoder, sink, want.max_bytes if want is not None else None)
        if read.late is not None:
            self._discard(conn, response)
            reason = _translate(read.late, target, None, clock, reading=True).reason
            return page._replace(body=read.data, cut=True, timed_out=reason)
        self._settle(conn, response, clock, body, read)
        return page._replace(body=read.data, capped=read.capped, cut=read.cut)

    def _settle(
        self, conn: _Connection, response: Response, clock: Clock, body: Body, read: _Read
    ) -> None:
        """After a body read that did not fail: keep the connection when the body ended,
        drain a short rest when reading stopped early, else close it."""
        if body.done and not read.cut:
            self._keep(conn, response)
        elif (read.stopped or read.capped) and not read.cut:
            self._finish(conn, response, clock, body)
        else:
            self._discard(conn, response)

    def _file(
        self,
        page: Page,
        target: _Target,
        conn: _Connection,
        response: Response,
        sink: FileSink,
        clock: Clock,
    ) -> Page:
        """Feed a file's body to ``sink`` until it is described, then drop the connection
        (or keep it, if the rest is short); ask for its end if the sink wants it. A body
        that fails or runs out of time leaves the description to what came before."""
        body = Body(response)
        try:
            decoder = content.decoder_for(response.getheader("Content-Encoding"))
            read = self._read_body(body, decoder, sink)
        except (FetchError, OSError, http.client.HTTPException, content.DecodeError):
            self._discard(conn, response)
            return page._replace(cut=True)
        if read.late is not None:
            self._discard(conn, response)
            return page._replace(body=read.data, cut=True)
        # asked before a short rest is drained: the bytes drained are not described
        ranges = (response.getheader("Accept-Ranges") or "").lower()
        tail = bool(sink.tail_wanted) and not body.done and "bytes" in ranges
        self._settle(conn, response, clock, body, read)
        if tail:
            self._tail(target, sink, clock)
        return page._replace(body=read.data, capped=read.capped, cut=read.cut)

    def _tail(self, target: _Target, sink: FileSink, clock: Clock) -> None:
        """One ranged request for the last ``sink.tail_wanted`` bytes of ``target``, within
        what is left of the deadline; whatever fails, the file keeps what it has."""
        wanted = sink.tail_wanted
        try:
            conn, response = self._exchange(target, clock, f"bytes=-{wanted}")
        except FetchError:
            return
        found = _CONTENT_RANGE.fullmatch(response.getheader("Content-Range") or "")
        if response.status != 206 or found is None:
            self._finish(conn, response, clock)
            return
        body = Body(response)
        try:
            read = self._read_body(body, content.decoder_for(None), None, cap=wanted)
        except (FetchError, OSError, http.client.HTTPException, content.DecodeError):
            self._discard(conn, response)
            return
        if read.late is not None:
            self._discard(conn, response)
            return
        if body.done and not read.cut:
            self._keep(conn, response)
        else:
            self._discard(conn, response)
        total = found.group(3)
        sink.feed_tail(read.data, int(total) if total.isdigit() else None)

    def _challenge(self, conn: _Connection, response: Response, clock: Clock) -> str | None:
        """The service whose bot challenge this error page is, or None; reads at most
        ``challenge.BODY_LIMIT`` bytes of it for ``CHALLENGE_WINDOW`` seconds."""
        headers = {name.lower(): value for name, value in response.msg.items()}
        data = b""
        with clock.narrowed(CHALLENGE_WINDOW):
            try:
                decoder = content.decoder_for(response.getheader("Content-Encoding"))
                body = Body(response)
                read = self._read_body(body, decoder, None, cap=challenge.BODY_LIMIT)
                data = read.data
                if body.done and not read.cut:
                    self._keep(conn, response)
                else:
                    self._discard(conn, response)
            except (FetchError, OSError, http.client.HTTPException, content.DecodeError):
                self._discard(conn, response)
        return challenge.detect(response.status, headers, data)

    def _read_body(
        self, body: Body, decoder: content.Decoder, sink: Sink | None, cap: int | None = None
    ) -> _Read:
        """Read, decode and feed the body, at most ``cap`` decoded bytes of it."""
        cap = self.settings.max_bytes if cap is None else cap
        out = bytearray()

        def take(piece: bytes) -> bool:
            """Keep ``piece``; True when reading should stop."""
            if sink is None:
                out.extend(piece)
                return False
            for at in range(0, len(piece), SINK_STEP):
                part = piece[at : at + SINK_STEP]
                out.extend(part)  # the body kept is what the sink was fed
                if sink.feed(part):
                    return True
            return False

        try:
            while True:
                raw = body.read()
                piece = decoder.decompress(raw, min(DECODE_STEP, cap - len(out)))
                while piece:
                    if take(piece):
                        return _Read(bytes(out), stopped=True)
                    if len(out) >= cap:
                        more = decoder.decompress(b"", 1)
                        return _Read(bytes(out), capped=bool(more) or not body.done)
                    piece = decoder.decompress(b"", min(DECODE_STEP, cap - len(out)))
                if body.done:
                    break
            tail = decoder.flush()
            room = cap - len(out)
            stop = take(tail[:room])
            capped = len(tail) > room
            cut = not decoder.eof and not capped and not stop
            return _Read(bytes(out), capped=capped, cut=cut, stopped=stop)
        except http.client.IncompleteRead:
            return _Read(bytes(out), cut=True)
        except TimeoutError as e:
            if out:  # a title that came before the deadline may still count
                return _Read(bytes(out), cut=True, late=e)
            raise
        except (BadChunk, content.DecodeError) as e:
            if out:  # what came before the damage still counts
                return _Read(bytes(out), cut=True)
            raise BadResponse(f"bad response body: {e}") from e

    # -- connection upkeep ---------------------------------------------------

    def _finish(
        self,
        conn: _Connection,
        response: Response,
        clock: Clock,
        body: Body | None = None,
    ) -> None:
        """Done with ``response`` before its end: read a short rest quickly and keep the
        connection, or close it."""
        if response.will_close or conn.sock is None:
            self._discard(conn, response)
            return
        body = body or Body(response)
        with clock.narrowed(DRAIN_WINDOW):
            complete = body.drain(DRAIN_LIMIT)
        if complete:
            self._keep(conn, response)
        else:
            self._discard(conn, response)

    def _keep(self, conn: _Connection, response: Response) -> None:
        """The response is complete: keep its connection for the next request, if open."""
        response.close()
        if response.will_close or conn.sock is None:
            conn.close()
            return
        old = self._pool.pop(conn.key, None)
        if old is not None and old is not conn:
            old.close()
        self._pool[conn.key] = conn
        while len(self._pool) > POOL_SIZE:
            _, old = self._pool.popitem(last=False)
            old.close()

    @staticmethod
    def _discard(conn: _Connection, response: http.client.HTTPResponse) -> None:
        response.close()
        conn.close()


def _join(base: str, location: str) -> str:
    """The absolute URL a Location header points to from ``base``."""
    try:
        return urljoin(base, _header_text(location).strip())
    except ValueError as e:
        raise BadURL(f"bad redirect Location {_printable(location)!r}: {e}") from e


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _last(values: list[str] | None) -> str | None:
    return values[-1] if values else None


#: Longest Retry-After taken at its word (a day); more is as good as "not in time".
MAX_RETRY_AFTER = 86400.0


def _retry_after(values: list[str] | None) -> tuple[float | None, str | None]:
    """Seconds to wait from a Retry-After header (delay or HTTP date), and the value as
    sent (printable), for the error's reason; ``(None, None)`` without one."""
    if not values:
        return None, None
    said = _printable(_header_text(values[-1]).strip(), 40)
    if said.isdigit():
        return min(float(said), MAX_RETRY_AFTER), said
    try:
        when = email.utils.parsedate_to_datetime(said)
    except (TypeError, ValueError, IndexError):
        return None, said
    if when.tzinfo is None:
        return None, said
    wait = when.timestamp() - time.time()
    return min(max(wait, 0.0), MAX_RETRY_AFTER), said


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _translate(
    error: BaseException,
    target: _Target,
    proxy: Proxy | None,
    clock: Clock,
    *,
    connecting: bool = False,
    reading: bool = False,
) -> FetchError:
    """The FetchError for a low-level error met while talking to ``target``."""
    host = target.host
    peer = f"proxy {proxy.url}" if proxy is not None and connecting else host
    if isinstance(error, FetchError):
        return error
    if isinstance(error, TimeoutError):
        doing = "connecting to" if connecting else "reading from" if reading else "waiting for"
        return FetchTimeout(
            f"timed out {doing} {peer} (--timeout {clock.timeout:g} s for the whole URL)"
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return TLSError(f"certificate of {host} not accepted: {error.verify_message}")
    if isinstance(error, ssl.SSLError):
        return TLSError(f"TLS with {host} failed: {error.reason or error}")
    if isinstance(error, http.client.RemoteDisconnected):
        return ConnectError(f"{host} closed the connection without answering")
    if isinstance(error, http.client.LineTooLong):
        return BadResponse(f"{host} sent a {error.args[0]} longer than {MAX_LINE} bytes")
    if isinstance(error, http.client.BadStatusLine):
        line = _printable(str(error.line).strip())
        return BadResponse(f"{host} sent no HTTP status line: {line!r}")
    if isinstance(error, http.client.UnknownProtocol):
        return BadResponse(f"{host} answered in an unknown protocol {_printable(error.version)!r}")
    if isinstance(error, http.client.HTTPException):
        if isinstance(error, TooManyHeaders):
            return BadResponse(f"{host} sent more than {MAX_HEADERS} header lines")
        return BadResponse(f"bad response from {host}: {_printable(str(error)) or type(error).__name__}")
    if isinstance(error, ConnectionRefusedError):
        return ConnectError(f"{peer} refused the connection")
    if isinstance(error, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return ConnectError(f"connection to {peer} was reset")
    if isinstance(error, OSError):
        reason = error.strerror or errno.errorcode.get(error.errno or 0) or str(error)
        return ConnectError(f"cannot connect to {peer}: {reason}")
    return ConnectError(f"connection to {peer} failed: {error}")
