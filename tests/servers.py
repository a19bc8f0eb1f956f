"""Local servers for tests: real sockets on 127.0.0.1 (port 0), each connection in a thread.

- ``HTTPServer``: HTTP/1.1 with keep-alive and a registry of path handlers, optionally TLS.
  It counts connections (each one a TCP, and with TLS a TLS, handshake) and records every
  request it reads.
- ``RawServer``: runs a script on each bare connection, for answers no sane server gives:
  canned bytes, slow or endless bodies, resets, hangs, a gzip bomb (see the script makers
  ``canned``, ``slow``, ``endless``, ``reset``, ``hang``, ``gzip_bomb``, ``each``).
- ``ProxyServer``: an http proxy that forwards absolute-form requests and opens CONNECT
  tunnels, recording what it was asked; ``route`` sends every target to a server of ours.

Every server binds when made, serves once started, and is a context manager (start on
enter; on exit, stop: close the listener, shut every open connection, join the threads).
``.url(path)`` gives ``http://127.0.0.1:PORT/path`` (``https://`` with TLS), ``.authority``
``127.0.0.1:PORT``; ``.connections`` counts accepted connections and ``wait_closed(n)``
waits until the server has finished n of them. Servers wait on sockets and on their
``stopping`` Event, never in sleep loops, so they stop at once. Tests import this module
as ``servers`` (pytest puts tests/ on sys.path); conftest.py has fixtures for each.

Example::

    with HTTPServer() as server:
        server.route("/", page("<title>Hi</title>"))
        server.route("/old", redirect("/", 301))
        server.route("/who", lambda request: page(request.header("User-Agent") or ""))
        server.route("/bye", Reply(200, [("Content-Type", "text/html")], b"..", drop=True))
        ...fetch server.url("/old")...
        assert [r.path for r in server.requests] == ["/old", "/"]

    with RawServer(slow(b"HTTP/1.1 200 OK\r\n\r\n<title>", 0.1)) as server: ...
"""

from __future__ import annotations

import dataclasses
import http
import select
import socket
import ssl
import struct
import threading
import zlib
from typing import Callable, Iterable, Iterator, Union
from urllib.parse import urlsplit

from command import WAIT

#: Longest request head the servers read; a longer one drops the connection.
MAX_HEAD = 64 * 1024
#: How long a server thread waits for a silent client before giving up on it.
IDLE_TIMEOUT = 30.0
#: An IDNA host ("bücher.example") that the conftest's test certificate also covers.
IDN_HOST = "xn--bcher-kva.example"


# -- shared plumbing ---------------------------------------------------------------------


class _Server:
    """Listener, accept thread, one thread per connection, counters, clean stop."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.host = "127.0.0.1"
        self._listener = socket.create_server((self.host, 0))
        self.port: int = self._listener.getsockname()[1]
        self.stopping = threading.Event()
        self.connections = 0  # TCP connections accepted
        self.tls_failures = 0  # TLS handshakes that failed (client refused our certificate...)
        self._closed = 0
        self._changed = threading.Condition()
        self._wake_r, self._wake_w = socket.socketpair()
        self._live: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._accepter: threading.Thread | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    @property
    def authority(self) -> str:
        """``127.0.0.1:PORT``, as in a Host header."""
        return f"{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """``http://127.0.0.1:PORT/path`` (https with TLS)."""
        if not path.startswith("/"):
            path = "/" + path
        return f"{self.scheme}://{self.authority}{path}"

    def start(self) -> _Server:
        self._accepter = threading.Thread(
            target=self._accept_loop, name=f"{type(self).__name__}-{self.port}", daemon=True
        )
        self._accepter.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._wake_w.send(b"x")
        if self._accepter is not None:
            self._accepter.join(5)
        with self._changed:
            live = list(self._live)
        for sock in live:
            _shut(sock)
        for thread in list(self._threads):
            thread.join(5)
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_closed(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until the server has finished ``count`` connections; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._closed >= count, timeout)

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            ready = select.select([self._listener, self._wake_r], [], [])[0]
            if self._wake_r in ready or self.stopping.is_set():
                return
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._changed:
                self.connections += 1
                number = self.connections
                self._live.add(sock)
            thread = threading.Thread(
                target=self._serve, args=(sock, number), name=f"conn-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        conn = sock
        try:
            sock.settimeout(IDLE_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    with self._changed:
                        self.tls_failures += 1
                    return
                with self._changed:
                    self._live.add(conn)
            self.handle(conn, number)
        except OSError:
            pass  # the client went away; that is its right
        finally:
            with self._changed:
                self._live.discard(sock)
                self._live.discard(conn)
            _close(conn)
            with self._changed:
                self._closed += 1
                self._changed.notify_all()

    def handle(self, sock: socket.socket, number: int) -> None:
        raise NotImplementedError


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def read_head(stream) -> bytes | None:
    """Read a request head, up to and including its blank line, from a binary file
    (``sock.makefile("rb")``: keep one per connection, it buffers). None if the peer
    closed first or the head is longer than MAX_HEAD."""
    data = bytearray()
    while True:
        line = stream.readline(MAX_HEAD + 1)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            if data:
                return bytes(data + line)
            continue  # blank lines before a request are allowed
        data += line
        if len(data) > MAX_HEAD:
            return None


def recv_head(sock: socket.socket) -> bytes | None:
    """Read a head byte by byte from a plain socket, so nothing after it is taken."""
    data = bytearray()
    while not data.endswith(b"\r\n\r\n") and len(data) <= MAX_HEAD:
        byte = sock.recv(1)
        if not byte:
            return None
        data += byte
    return bytes(data) if data.endswith(b"\r\n\r\n") else None


@dataclasses.dataclass
class Request:
    """One request as a server read it."""

    method: str
    target: str  # as sent: origin-form "/p?q", absolute-form, or "host:port" for CONNECT
    version: str
    headers: list[tuple[str, str]]  # in order, names as sent
    connection: int = 0  # which accepted connection carried it, 1-based

    @property
    def path(self) -> str:
        """The path of the target (absolute-form included), without the query."""
        if self.target.startswith(("http://", "https://")):
            return urlsplit(self.target).path or "/"
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def header_names(self) -> list[str]:
        return [key for key, _ in self.headers]


def parse_head(head: bytes, connection: int = 0) -> Request:
    """A Request from a raw head; ValueError if it is no request line."""
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    method, target, version = lines[0].split(" ")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
    return Request(method, target, version, headers, connection)


# -- HTTP server -------------------------------------------------------------------------


Body = Union[bytes, Iterable[bytes]]


@dataclasses.dataclass
class Reply:
    """An HTTP response for HTTPServer to send.

    ``body`` is bytes or an iterable of bytes (streamed as it is produced; a generator can
    pace itself with ``server.stopping.wait(seconds)``). Content-Length is added for bytes
    unless ``headers`` has one or ``chunked`` is set; an iterable without Content-Length
    is sent chunked if ``chunked``, else until close. ``close`` sends
    ``Connection: close`` and closes; ``drop`` closes after the reply *without* saying so,
    as a server whose keep-alive timer ran out does.
    """

    status: int = 200
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    body: Body = b""
    chunked: bool = False
    close: bool = False
    drop: bool = False


Handler = Union[Reply, Callable[[Request], Reply]]


def page(
    body: bytes | str = b"",
    content_type: str | None = "text/html",
    *,
    headers: Iterable[tuple[str, str]] = (),
    **options,
) -> Reply:
    """A 200 Reply with a Content-Type (None: no Content-Type header at all)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    head = [("Content-Type", content_type)] if content_type is not None else []
    return Reply(200, head + list(headers), data, **options)


def redirect(location: str, status: int = 302, **options) -> Reply:
    """A redirect to ``location`` (sent as given: relative or absolute)."""
    return Reply(status, [("Location", location)], b"", **options)


class HTTPServer(_Server):
    """HTTP/1.1 server with keep-alive and a registry of path handlers.

    ``route(path, handler)`` registers a Reply or a callable taking the Request and
    returning one; unknown paths get 404, a handler that raises gets its client a 500 and
    its exception in ``errors``. ``requests`` holds every request read (with the number of
    the connection that carried it); ``connections`` counts TCP connections.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(tls)
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self.errors: list[Exception] = []  # raised by handlers (each answered with a 500)

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def requests_for(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def handle(self, sock: socket.socket, number: int) -> None:
        with sock.makefile("rb") as stream:
            self._serve_requests(sock, stream, number)

    def _serve_requests(self, sock: socket.socket, stream, number: int) -> None:
        while not self.stopping.is_set():
            head = read_head(stream)
            if head is None:
                return
            try:
                request = parse_head(head, number)
            except ValueError:
                sock.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                return
            with self._changed:
                self.requests.append(request)
            handler = self.routes.get(request.path)
            if handler is None:
                reply = Reply(404, [("Content-Type", "text/plain")], b"not found\n")
            elif isinstance(handler, Reply):
                reply = handler
            else:
                try:
                    reply = handler(request)
                except Exception as e:  # a broken test handler: 500, and keep it for the test
                    with self._changed:
                        self.errors.append(e)
                    text = repr(e).encode()
                    reply = Reply(500, [("Content-Type", "text/plain")], text, close=True)
            keep = self._send(sock, reply)
            if not keep or (request.header("Connection") or "").lower() == "close":
                return

    def _send(self, sock: socket.socket, reply: Reply) -> bool:
        """Write ``reply``; True if the connection stays open."""
        headers = list(reply.headers)
        names = {name.lower() for name, _ in headers}
        body = reply.body
        until_close = False
        if reply.chunked:
            if "transfer-encoding" not in names:
                headers.append(("Transfer-Encoding", "chunked"))
        elif "content-length" not in names:
            if isinstance(body, (bytes, bytearray)):
                headers.append(("Content-Length", str(len(body))))
            else:
                until_close = True
        if (reply.close or until_close) and "connection" not in names:
            headers.append(("Connection", "close"))
        try:
            phrase = http.HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Whatever"
        lines = [f"HTTP/1.1 {reply.status} {phrase}"] + [f"{k}: {v}" for k, v in headers]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if isinstance(body, (bytes, bytearray)) and not reply.chunked:
            sock.sendall(head + body)  # one write: no Nagle wait between head and body
            return not (reply.close or reply.drop)
        sock.sendall(head)
        pieces = [body] if isinstance(body, (bytes, bytearray)) else body
        for piece in pieces:
            if self.stopping.is_set():
                return False
            if reply.chunked:
                if piece:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            elif piece:
                sock.sendall(piece)
        if reply.chunked:
            sock.sendall(b"0\r\n\r\n")
        return not (reply.close or reply.drop or until_close)


# -- raw server --------------------------------------------------------------------------


class RawConnection:
    """What a RawServer script gets: the socket and a few helpers."""

    def __init__(self, server: RawServer, sock: socket.socket, number: int) -> None:
        self.server = server
        self.sock = sock
        self.number = number  # 1-based count of connections to this server
        self._stream = None

    def read_request(self) -> Request | None:
        """Read one request head (recorded on the server); None if the client closed."""
        if self._stream is None:
            self._stream = self.sock.makefile("rb")
        head = read_head(self._stream)
        if head is None:
            return None
        request = parse_head(head, self.number)
        with self.server._changed:
            self.server.requests.append(request)
        return request

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait(self, seconds: float) -> bool:
        """Pause (on the server's stop Event); True if the server is stopping."""
        return self.server.stopping.wait(seconds)

    def reset(self) -> None:
        """Close with a TCP RST rather than a FIN."""
        if self._stream is not None:
            self._stream.close()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def hold(self) -> None:
        """Keep the connection open, reading and dropping, until the client or server ends it."""
        while not self.server.stopping.is_set():
            if not self.sock.recv(4096):
                return


Script = Callable[[RawConnection], None]


class RawServer(_Server):
    """Runs ``script(RawConnection)`` on each connection; closes the socket after it."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(tls)
        self.script = script
        self.requests: list[Request] = []

    def handle(self, sock: socket.socket, number: int) -> None:
        conn = RawConnection(self, sock, number)
        try:
            self.script(conn)
        finally:
            if conn._stream is not None:
                conn._stream.close()


def canned(data: bytes, *, close: bool = True) -> Script:
    """Read the request, send ``data``; then close, or with ``close=False`` hold the line."""

    def script(conn: RawConnection) -> None:
        if conn.read_request() is None:
            return
        conn.send(data)
        if not close:
            conn.hold()

    return script


def slow(data: bytes, interval: float, *, fast: int = 0) -> Script:
    """Read the request, send the first ``fast`` bytes of ``data`` at once, then the rest
    one byte every ``interval`` seconds (slow headers: fast=0; slow body: fast=len(head))."""

    def script(conn: RawConnection) -> None:
        if conn.read_request() is None:
            return
        conn.send(data[:fast])
        for i in range(fast, len(data)):
            if conn.wait(interval):
                return
            conn.send(data[i : i + 1])
        conn.hold()

    return script


def endless(head: bytes, chunk: bytes = b"<p>" + b"x" * 1021) -> Script:
    """Read the request, send ``head``, then ``chunk`` again and again until the client leaves."""

    def script(conn: RawConnection) -> None:
        if conn.read_request() is None:
            return
        conn.send(head)
        while not conn.server.stopping.is_set():
            conn.send(chunk)

    return script


def reset(data: bytes = b"", *, read: bool = True) -> Script:
    """Read the request (unless ``read`` is False), send ``data``, then reset the connection."""

    def script(conn: RawConnection) -> None:
        if read and conn.read_request() is None:
            return
        if data:
            conn.send(data)
        conn.reset()

    return script


def hang(*, read: bool = True) -> Script:
    """Read the request (unless ``read`` is False), then say nothing until the end."""

    def script(conn: RawConnection) -> None:
        if read and conn.read_request() is None:
            return
        conn.hold()

    return script


def each(*scripts: Script) -> Script:
    """Connection 1 runs the first script, connection 2 the second...; the last repeats."""

    def script(conn: RawConnection) -> None:
        scripts[min(conn.number, len(scripts)) - 1](conn)

    return script


#: Decoded size of one repeated block of the gzip bomb.
BOMB_BLOCK = 1 << 20
_bomb_cache: tuple[bytes, bytes] | None = None


def _bomb_blocks() -> tuple[bytes, bytes]:
    """(gzip header + the first MiB of zeros, one more MiB of zeros), compressed once.

    After a full flush the compressor starts afresh, so every further MiB compresses to
    the same bytes: the bomb is these blocks repeated, never held whole.
    """
    global _bomb_cache
    if _bomb_cache is None:
        zeros = bytes(BOMB_BLOCK)
        c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
        again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
        assert c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH) == again
        _bomb_cache = (first, again)
    return _bomb_cache


def gzip_bomb_stream(size: int = 1 << 30) -> Iterator[bytes]:
    """A valid gzip stream of ``size`` (a multiple of 1 MiB) zero bytes, made as it is sent
    (about 1 KiB on the wire per MiB)."""
    first, again = _bomb_blocks()
    blocks = max(1, size // BOMB_BLOCK)
    zeros = bytes(BOMB_BLOCK)
    crc = zlib.crc32(zeros)
    yield first
    for _ in range(blocks - 1):
        crc = zlib.crc32(zeros, crc)
        yield again
    # An empty final fixed-Huffman block, then CRC-32 and size mod 2**32.
    yield b"\x03\x00" + struct.pack("<II", crc, (blocks * BOMB_BLOCK) & 0xFFFFFFFF)


def gzip_bomb(size: int = 1 << 30, content_type: str = "text/html") -> Script:
    """Read the request, answer 200 with ``Content-Encoding: gzip`` and a ``size``-byte bomb
    (until close), streamed from two precomputed blocks."""

    def script(conn: RawConnection) -> None:
        if conn.read_request() is None:
            return
        conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Encoding: gzip\r\n"
            b"Connection: close\r\n\r\n" % content_type.encode()
        )
        for block in gzip_bomb_stream(size):
            if conn.server.stopping.is_set():
                return
            conn.send(block)

    return script


# -- proxy -------------------------------------------------------------------------------


class ProxyServer(_Server):
    """An http proxy: absolute-form requests are forwarded, CONNECT opens a tunnel.

    ``requests`` records the first request of each client connection (later requests on
    a kept connection are relayed unread). ``route(host, port)`` gives the address to
    really connect to; by default the target itself, so with no DNS in tests use it to send
    e.g. every host to one local server. ``refuse`` answers every request with that status.
    """

    def __init__(
        self,
        route: Callable[[str, int], tuple[str, int]] | None = None,
        *,
        refuse: int | None = None,
    ) -> None:
        super().__init__(None)
        self.route = route or (lambda host, port: (host, port))
        self.refuse = refuse
        self.requests: list[Request] = []

    def handle(self, sock: socket.socket, number: int) -> None:
        head = recv_head(sock)
        if head is None:
            return
        request = parse_head(head, number)
        with self._changed:
            self.requests.append(request)
        if self.refuse is not None:
            sock.sendall(b"HTTP/1.1 %d Refused\r\nContent-Length: 0\r\n\r\n" % self.refuse)
            return
        if request.method == "CONNECT":
            host, _, port = request.target.rpartition(":")
            upstream = self._open(host.strip("[]"), int(port))
            if upstream is None:
                sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            parts = urlsplit(request.target)
            upstream = self._open(parts.hostname or "", parts.port or 80)
            if upstream is None:
                sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            kept = [
                line
                for line in head.split(b"\r\n")
                if not line.lower().startswith(b"proxy-authorization:")
            ]
            upstream.sendall(b"\r\n".join(kept))
        try:
            self._relay(sock, upstream)
        finally:
            with self._changed:
                self._live.discard(upstream)
            _close(upstream)

    def _open(self, host: str, port: int) -> socket.socket | None:
        try:
            upstream = socket.create_connection(self.route(host, port), timeout=IDLE_TIMEOUT)
        except OSError:
            return None
        with self._changed:
            self._live.add(upstream)
        return upstream

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        """Copy bytes both ways until either side closes."""
        peers = {a: b, b: a}
        while not self.stopping.is_set():
            ready = select.select([a, b], [], [], IDLE_TIMEOUT)[0]
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)


__all__ = [
    "BOMB_BLOCK",
    "HTTPServer",
    "IDN_HOST",
    "ProxyServer",
    "RawConnection",
    "RawServer",
    "Reply",
    "Request",
    "canned",
    "each",
    "endless",
    "gzip_bomb",
    "gzip_bomb_stream",
    "hang",
    "page",
    "parse_head",
    "read_head",
    "recv_head",
    "redirect",
    "reset",
    "slow",
]


class Stuck:
    """A RawServer script: read the request, count it, then say nothing until the end."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self, conn) -> None:
        if conn.read_request() is None:
            return
        with self._changed:
            self.count += 1
            self._changed.notify_all()
        conn.hold()

    def wait_for(self, count: int, timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count >= count, timeout)


class Gate:
    """An HTTPServer handler that holds every request until ``open()``; counts the
    requests in flight at once and the most there ever were."""

    def __init__(self, title: str = "Gated") -> None:
        self.title = title
        self.opened = threading.Event()
        self.in_flight = self.most = self.answered = 0
        self._changed = threading.Condition()

    def __call__(self, request) -> Reply:
        with self._changed:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self._changed.notify_all()
        self.opened.wait(30)
        with self._changed:
            self.in_flight -= 1
            self.answered += 1
            self._changed.notify_all()
        return page(f"<title>{self.title}</title>")

    def open(self) -> None:
        self.opened.set()

    def wait_for(self, condition, timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)
