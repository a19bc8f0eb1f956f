"""Fetch one page over http.client: redirects, one deadline, a byte cap, the address guard.

Every URL gets one total deadline (``--timeout``) shared by DNS, connect, TLS, every
redirect and every read: each socket operation waits only for the time left, so a server
trickling one byte at a time is cut off at the deadline, not after ``timeout`` per read.
Names are resolved once by ``netguard.resolve`` (which refuses private addresses unless
allowed) and the socket is connected to exactly those addresses; http.client never looks a
name up. The body is decoded incrementally (``content``) and never more than
``--max-bytes`` decoded bytes are held. A Fetcher keeps its last connection per host for
reuse; it belongs to one thread.

Every failure is a ``linkfilter.errors.FetchError`` subclass; low-level errors are
translated where they happen, naming the host and the limit.
"""

from __future__ import annotations

import collections
import email.parser
import email.utils
import errno
import http
import http.client
import io
import re
import select
import socket
import ssl
import threading
import time
from typing import Callable, Mapping, NamedTuple, Protocol
from urllib.parse import urljoin, urlsplit

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
from linkfilter.proxy import Proxies, Proxy
from linkfilter.settings import Settings
from linkfilter.urls import normalize_for_fetch

ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
ACCEPT_ENCODING = ", ".join(content.SUPPORTED)  # "gzip, deflate"

#: Media types whose body is read; a response without Content-Type counts as HTML too.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}

#: Raw bytes asked of the socket per read.
READ_SIZE = 16 * 1024
#: Most decoded bytes produced per step.
DECODE_STEP = 64 * 1024
#: Most bytes handed to the sink per ``feed``: the title sniffer scans all it is given,
#: so a 16 KiB read whose title is in its first line cost it 320 us fed whole, 85 us fed
#: in these steps (a title 14 KiB in: about the same either way).
SINK_STEP = 2 * 1024
#: Longest status, header or chunk-size line, and most header lines: the limits
#: http.client enforces (``http.client._MAXLINE``, ``_MAXHEADERS``), quoted in our errors.
MAX_LINE = 65536
MAX_HEADERS = 100
#: Most interim (1xx) responses skipped before the real one.
MAX_INTERIM = 10
#: Most unread body bytes read and thrown away so a connection can be reused, and the
#: longest that may take; a longer or slower rest closes the connection instead.
DRAIN_LIMIT = 64 * 1024
DRAIN_WINDOW = 0.05
#: Most idle connections one Fetcher keeps open (least recently used go first).
POOL_SIZE = 8
#: Statuses whose page may be a bot challenge, and the longest the first
#: ``challenge.BODY_LIMIT`` bytes of such a page may take to read.
CHALLENGE_STATUSES = frozenset({403, 429, 503})
CHALLENGE_WINDOW = 2.0
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
        return self.content_type is None or self.content_type in HTML_TYPES


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
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise BadURL(f"bad URL {url!r}: {e}", url=url) from e
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise BadURL(f"not an http(s) URL with a host: {url!r}", url=url)
        authority = parts.netloc.rpartition("@")[2]  # never the user:password part
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(
            url=url,
            scheme=scheme,
            host=parts.hostname,
            port=DEFAULT_PORTS[scheme] if port is None else port,
            authority=authority,
            path=path,
        )


class _Want(NamedTuple):
    """What one request reads besides an HTML page: the media types whose body is read,
    and how much of it."""

    read_types: frozenset[str] | None = None
    max_bytes: int | None = None


class _Clock:
    """The one deadline of a fetch; ``left()`` is what the next operation may wait."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def left(self) -> float:
        """Seconds left; raises TimeoutError (socket.timeout) when none are."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline reached")
        return remaining


class _DeadlineReader(io.RawIOBase):
    """Raw socket reads that each wait only for the time left to the deadline.

    Counts the bytes received (a reused connection that fails before its first byte is
    retried) and notes EOF (a cut body is told from a bad chunk by it). Closing it leaves
    the socket open, as closing ``socket.makefile()`` does.
    """

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        super().__init__()
        self._sock = sock
        self._io = sock.makefile("rb", buffering=0)
        self.clock = clock
        self.received = 0
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:  # type: ignore[override]
        self._sock.settimeout(self.clock.left())
        n = self._io.readinto(buffer)
        if n == 0:
            self.eof = True
        elif n:
            self.received += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._io.close()
        super().close()


class _TimedSocket:
    """What HTTPResponse is handed instead of the socket: its ``makefile`` is deadline-bound."""

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        self._sock = sock
        self._clock = clock
        self.reader: _DeadlineReader | None = None

    def makefile(self, mode: str = "rb", *args, **kwargs) -> io.BufferedReader:
        self.reader = _DeadlineReader(self._sock, self._clock)
        return io.BufferedReader(self.reader)


#: A header line as the email parser reads it (name: the characters it allows in one;
#: value: after the colon and the blanks it strips, up to the line end), when that is
#: all the line holds: a value with a CR or LF in it is left to the email parser.
_PLAIN_HEADER = re.compile(rb"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n")


def read_head(fp) -> http.client.HTTPMessage:
    """Read a header block up to its blank line; what ``http.client.parse_headers`` returns.

    That parses every block with the email package, about 50 us per response. Here a
    block of plain ``Name: value`` lines (nearly every response) is taken apart with one
    regex per line into the same message; any other block (folded lines, a line that is
    no header, a bare CR) still goes to the email parser, so the answer is the same.
    Raises LineTooLong or HTTPException at http.client's limits, with its messages.
    """
    lines = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            break
    message = http.client.HTTPMessage()
    plain = _PLAIN_HEADER.fullmatch
    for line in lines[:-1]:
        m = plain(line)
        if m is None:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
        message.set_raw(m[1].decode("ascii"), m[2].decode("iso-8859-1"))
    message.set_payload("")  # as the email parser leaves it: no body after the headers
    return message


class _Response(http.client.HTTPResponse):
    """An HTTPResponse read within the deadline that skips every interim (1xx) response
    and reads its header block with ``read_head``."""

    def __init__(self, sock, debuglevel=0, method=None, url=None, *, clock: _Clock) -> None:
        self.timed = _TimedSocket(sock, clock)
        super().__init__(self.timed, debuglevel, method=method, url=url)

    @property
    def reader(self) -> _DeadlineReader | None:
        return self.timed.reader

    def _read_status(self):  # http.client hook; begin() itself only skips 100 Continue
        for _ in range(MAX_INTERIM + 1):
            version, status, reason = super()._read_status()
            if not 100 <= status < 200:
                return version, status, reason
            read_head(self.fp)  # an interim response's headers: not ours
        raise http.client.HTTPException(f"more than {MAX_INTERIM} interim (1xx) responses")

    def begin(self) -> None:
        """What ``HTTPResponse.begin`` does (status, version, headers, framing, whether the
        connection closes after), with the headers read by ``read_head``."""
        if self.headers is not None:
            return
        version, status, reason = self._read_status()  # never 1xx: skipped there
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = read_head(self.fp)
        encoding = self.msg.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.msg.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                pass
            else:
                if self.length < 0:  # nonsense: as if there were none
                    self.length = None
        if status in (204, 304) or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body ends with the connection


class _Connection(http.client.HTTPConnection):
    """An HTTPConnection that connects to checked addresses, never to a name, within the
    deadline; optionally through an http proxy's CONNECT tunnel to ``host:port``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: list[tuple[int, tuple]],
        clock: _Clock,
        tunnel: Proxy | None = None,
        **kwargs,
    ) -> None:
        super().__init__(host, port, **kwargs)
        self.auto_open = 0  # a dropped connection is never silently reopened
        self.addresses = addresses
        self.clock = clock
        self.tunnel = tunnel
        self.key: tuple = ()  # the Fetcher's pool key
        self.last: _Response | None = None

    def response_class(self, sock, debuglevel=0, method=None, url=None):  # type: ignore[override]
        self.last = _Response(sock, debuglevel, method=method, url=url, clock=self.clock)
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
        answer = _Response(self.sock, method="CONNECT", clock=self.clock)
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


def _connect_any(addresses: list[tuple[int, tuple]], clock: _Clock) -> socket.socket:
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
    sock: socket.socket, context: ssl.SSLContext, host: str, clock: _Clock
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


class _BadChunk(Exception):
    """The chunked framing is broken (not a cut: the bytes are there, and wrong)."""


class _Cut(Exception):
    """The body ended before its framing said it would."""


class _Late(Exception):
    """The deadline ran out in the body; ``data`` is what was decoded before."""

    def __init__(self, error: TimeoutError, data: bytes) -> None:
        super().__init__(str(error))
        self.error = error
        self.data = data


class _Body:
    """The raw (still content-encoded) body of one response, framed by Content-Length,
    chunks, or the end of the connection. ``read()`` returns b"" once it is complete."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.fp = response.fp
        self.chunked = bool(response.chunked)
        self.left = response.length  # bytes left (Content-Length) or None
        self.chunk_left: int | None = None  # in the current chunk; None before the first
        self.done = self.fp is None or (not self.chunked and self.left == 0)

    def read(self) -> bytes:
        if self.done:
            return b""
        if self.chunked:
            return self._read_chunked()
        want = READ_SIZE if self.left is None else min(READ_SIZE, self.left)
        data = self._read1(want)
        if self.left is None:
            if not data:
                self.done = True
            return data
        if not data:
            raise _Cut()
        self.left -= len(data)
        self.done = self.left == 0
        return data

    def _read1(self, n: int) -> bytes:
        try:
            return self.fp.read1(n)
        except (ConnectionResetError, ConnectionAbortedError) as e:
            raise _Cut() from e

    def _readline(self) -> bytes:
        try:
            line = self.fp.readline(MAX_LINE + 1)
        except (ConnectionResetError, ConnectionAbortedError) as e:
            raise _Cut() from e
        if len(line) > MAX_LINE:
            raise _BadChunk(f"a chunk line longer than {MAX_LINE} bytes")
        if not line.endswith(b"\n"):
            raise _Cut()
        return line

    def _read_chunked(self) -> bytes:
        if not self.chunk_left:
            if self.chunk_left == 0:
                if self._readline().strip(b"\r\n"):
                    raise _BadChunk("no line end after a chunk's data")
            size = self._readline().split(b";", 1)[0].strip(b" \t\r\n")
            if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
                raise _BadChunk(f"bad chunk size {size[:20]!r}")
            self.chunk_left = int(size, 16)
            if self.chunk_left == 0:
                for _ in range(MAX_HEADERS + 1):  # trailer fields, up to a blank line
                    if not self._readline().strip(b"\r\n"):
                        self.done = True
                        return b""
                raise _BadChunk(f"more than {MAX_HEADERS} trailer lines")
        data = self._read1(min(READ_SIZE, self.chunk_left))
        if not data:
            raise _Cut()
        self.chunk_left -= len(data)
        return data

    def drain(self, limit: int) -> bool:
        """Read and drop the rest if it is at most ``limit`` bytes; True if complete."""
        if not self.chunked and self.left is not None and self.left > limit:
            return False
        budget = limit
        try:
            while not self.done:
                data = self.read()
                budget -= len(data)
                if budget < 0:
                    return False
        except (_Cut, _BadChunk, OSError, ValueError):
            return False
        return True


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

    def deadline(self) -> _Clock:
        """A new deadline of ``settings.timeout``, for one URL that takes several requests
        (an oEmbed answer, then the page): pass it to each ``fetch``."""
        return _Clock(self.settings.timeout)

    def fetch(
        self,
        url: str,
        sink_factory: Callable[[str | None], Sink] | None = None,
        *,
        normalized: bool = False,
        clock: _Clock | None = None,
        accept: str = ACCEPT,
        read_types: frozenset[str] | None = None,
        max_bytes: int | None = None,
    ) -> Page:
        """Fetch one URL within settings.timeout in total (or what ``clock`` has left).

        Follows redirects (each hop normalized and guarded again). For an HTML response
        with status < 300, calls ``sink_factory(charset)`` once and feeds it the decoded
        body until it returns True, the body ends, or ``max_bytes`` are read; without a
        sink it reads to the end or the cap. Non-HTML: headers only (body b'').
        ``normalized`` says ``url`` is already what ``normalize_for_fetch`` makes of it
        (the pipeline's cache key): it is not normalized again (8-9 us saved per URL).
        ``accept`` is the Accept header; ``read_types`` the media types whose body is read
        instead of HTML's (at most ``max_bytes``, default ``--max-bytes``).
        Raises only FetchError subclasses.
        """
        clock = clock or _Clock(self.settings.timeout)
        want = _Want(read_types, max_bytes)
        current = url
        try:
            if not normalized:
                current = normalize_for_fetch(url)
            seen = {current}
            hops = 0
            retried = False
            while True:
                target = _Target.parse(current)
                conn, response = self._exchange(target, clock, accept)
                status = response.status
                location = _first(response.msg.get_all("Location"))
                if status in REDIRECT_STATUSES and location and location.strip():
                    self._finish(conn, response, clock)
                    limit = self.settings.max_redirects
                    if hops >= limit:
                        raise TooManyRedirects(
                            f"more than {limit} redirects (--max-redirects {limit})"
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
                    if status in CHALLENGE_STATUSES:
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
                return self._page(url, target, conn, response, sink_factory, clock, want)
        except FetchError as e:
            if e.url is None:
                e.url = current
            raise

    # -- one request ---------------------------------------------------------

    def _exchange(self, target: _Target, clock: _Clock, accept: str = ACCEPT) -> tuple[_Connection, _Response]:
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
                return conn, self._send(conn, target, proxy, accept)
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if isinstance(e, TimeoutError) or conn.received:
                    raise _translate(e, target, proxy, clock) from e
            except BaseException:
                conn.close()
                raise
        conn = self._connect(target, proxy, clock)
        conn.key = key
        try:
            return conn, self._send(conn, target, proxy, accept)
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise _translate(e, target, proxy, clock) from e
        except BaseException:
            conn.close()
            raise

    def _connect(self, target: _Target, proxy: Proxy | None, clock: _Clock) -> _Connection:
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
        try:
            conn.connect()
        except FetchError:
            conn.close()
            raise
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise _translate(e, target, proxy, clock, connecting=True) from e
        return conn

    def _send(self, conn: _Connection, target: _Target, proxy: Proxy | None, accept: str = ACCEPT) -> _Response:
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
        conn.putheader("Accept-Encoding", ACCEPT_ENCODING)
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
        response: _Response,
        sink_factory: Callable[[str | None], Sink] | None,
        clock: _Clock,
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
            self._finish(conn, response, clock)
            return page
        try:
            decoder = content.decoder_for(response.getheader("Content-Encoding"))
        except content.DecodeError as e:
            self._discard(conn, response)
            raise BadResponse(f"{target.host}: {e}") from e
        sink = sink_factory(charset) if sink_factory is not None and not other else None
        body = _Body(response)
        try:
            data, capped, cut, stopped = self._read_body(
                body, decoder, sink, want.max_bytes if want is not None else None)
        except _Late as e:
            self._discard(conn, response)
            reason = _translate(e.error, target, None, clock, reading=True).reason
            return page._replace(body=e.data, cut=True, timed_out=reason)
        except BaseException as e:
            self._discard(conn, response)
            if isinstance(e, (OSError, http.client.HTTPException)):
                raise _translate(e, target, None, clock, reading=True) from e
            raise
        if body.done and not cut:
            self._keep(conn, response)
        elif (stopped or capped) and not cut:
            self._finish(conn, response, clock, body)
        else:
            self._discard(conn, response)
        return page._replace(body=data, capped=capped, cut=cut)

    def _challenge(self, conn: _Connection, response: _Response, clock: _Clock) -> str | None:
        """The service whose bot challenge this error page is, or None; reads at most
        ``challenge.BODY_LIMIT`` bytes of it for ``CHALLENGE_WINDOW`` seconds."""
        headers = {name.lower(): value for name, value in response.msg.items()}
        data = b""
        saved = clock.deadline
        clock.deadline = min(saved, time.monotonic() + CHALLENGE_WINDOW)
        try:
            decoder = content.decoder_for(response.getheader("Content-Encoding"))
            body = _Body(response)
            data, capped, cut, _ = self._read_body(body, decoder, None, cap=challenge.BODY_LIMIT)
            if body.done and not cut:
                self._keep(conn, response)
            else:
                self._discard(conn, response)
        except _Late as e:
            data = e.data
            self._discard(conn, response)
        except (FetchError, OSError, http.client.HTTPException, content.DecodeError):
            self._discard(conn, response)
        finally:
            clock.deadline = saved
        return challenge.detect(response.status, headers, data)

    def _read_body(
        self, body: _Body, decoder: content.Decoder, sink: Sink | None, cap: int | None = None
    ) -> tuple[bytes, bool, bool, bool]:
        """Read, decode and feed the body: ``(bytes, capped, cut, stopped by the sink)``."""
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
                        return bytes(out), False, False, True
                    if len(out) >= cap:
                        more = decoder.decompress(b"", 1)
                        capped = bool(more) or not body.done
                        return bytes(out), capped, False, False
                    piece = decoder.decompress(b"", min(DECODE_STEP, cap - len(out)))
                if body.done:
                    break
            tail = decoder.flush()
            room = cap - len(out)
            stop = take(tail[:room])
            capped = len(tail) > room
            cut = not decoder.eof and not capped and not stop
            return bytes(out), capped, cut, stop
        except _Cut:
            return bytes(out), False, True, False
        except TimeoutError as e:
            if out:  # a title that came before the deadline may still count
                raise _Late(e, bytes(out)) from e
            raise
        except (_BadChunk, content.DecodeError) as e:
            if out:  # what came before the damage still counts
                return bytes(out), False, True, False
            raise BadResponse(f"bad response body: {e}") from e

    # -- connection upkeep ---------------------------------------------------

    def _finish(
        self,
        conn: _Connection,
        response: _Response,
        clock: _Clock,
        body: _Body | None = None,
    ) -> None:
        """Done with ``response`` before its end: read a short rest quickly and keep the
        connection, or close it."""
        if response.will_close or conn.sock is None:
            self._discard(conn, response)
            return
        body = body or _Body(response)
        saved = clock.deadline
        clock.deadline = min(saved, time.monotonic() + DRAIN_WINDOW)
        try:
            complete = body.drain(DRAIN_LIMIT)
        finally:
            clock.deadline = saved
        if complete:
            self._keep(conn, response)
        else:
            self._discard(conn, response)

    def _keep(self, conn: _Connection, response: _Response) -> None:
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
    clock: _Clock,
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
        timeout = FetchTimeout(
            f"timed out {doing} {peer} (--timeout {clock.timeout:g} s for the whole URL)"
        )
        timeout.host_down = connecting
        return timeout
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
        text = str(error)
        if text.startswith("got more than"):
            return BadResponse(f"{host} sent more than {MAX_HEADERS} header lines")
        return BadResponse(f"bad response from {host}: {_printable(text) or type(error).__name__}")
    if isinstance(error, ConnectionRefusedError):
        return ConnectError(f"{peer} refused the connection")
    if isinstance(error, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return ConnectError(f"connection to {peer} was reset")
    if isinstance(error, OSError):
        reason = error.strerror or errno.errorcode.get(error.errno or 0) or str(error)
        return ConnectError(f"cannot connect to {peer}: {reason}")
    return ConnectError(f"connection to {peer} failed: {error}")
