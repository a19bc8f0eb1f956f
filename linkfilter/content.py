"""Incremental, capped decoders for a response's ``Content-Encoding`` (gzip, deflate).

Every decoder shares one small protocol, as urllib3's do: ``decompress(data, max_length)``
takes the compressed bytes that just arrived and returns at most ``max_length`` decoded
bytes, keeping whatever input it has not used for the next call (``decompress(b"", n)``
goes on from there); ``flush()`` returns what is left once the input has ended, and ``eof``
tells whether the compressed stream was complete. Output decoded before corrupt input
is returned first; the DecodeError comes with the next call.

Memory stays near ``max_length`` plus one network read however much the input would
expand, so a 1 GiB gzip bomb costs no more than the caller's cap. Call ``flush()`` only
after ``decompress(b"", n)`` has returned b"" (zlib's own flush is not capped).

Pure: no I/O. Corrupt input raises DecodeError.
"""

from __future__ import annotations

import zlib
from typing import Protocol

#: Content-Encoding tokens this module decodes; what the fetcher offers in Accept-Encoding.
SUPPORTED = ("gzip", "deflate")

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_WBITS = -zlib.MAX_WBITS


class DecodeError(ValueError):
    """Raised when compressed data is corrupt, or the encoding is not one we decode."""


class Decoder(Protocol):
    """What the fetcher needs of a decoder."""

    eof: bool

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        """Take ``data``; return at most ``max_length`` decoded bytes (all, if negative)."""

    def flush(self) -> bytes:
        """Return the decoded bytes still held once all input has been given."""


class IdentityDecoder:
    """No encoding: bytes pass through, still at most ``max_length`` at a time."""

    eof = True

    def __init__(self) -> None:
        self._pending = b""

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        pending = self._pending + data if self._pending else bytes(data)
        if max_length < 0 or len(pending) <= max_length:
            self._pending = b""
            return pending
        self._pending = pending[max_length:]
        return pending[:max_length]

    def flush(self) -> bytes:
        out, self._pending = self._pending, b""
        return out


class _ZlibDecoder:
    """The loop gzip and deflate share: feed held input to zlib, never more than asked out."""

    def __init__(self, wbits: int) -> None:
        self._obj = zlib.decompressobj(wbits)
        self._pending = b""  # input zlib has not taken yet (its unconsumed tail, a next member)
        self._fed = False  # the current zlib stream has been given bytes
        self._ignore = False  # the rest of the input is trailing garbage
        self._error: DecodeError | None = None  # met after output; raised on the next call

    @property
    def eof(self) -> bool:
        return self._ignore or self._obj.eof or (self._ended_once() and not self._fed)

    def _ended_once(self) -> bool:
        return False

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if self._error is not None:
            raise self._error
        if self._ignore:
            return b""
        if data:
            self._pending = self._pending + data if self._pending else bytes(data)
        out = bytearray()
        while self._pending and (max_length < 0 or len(out) < max_length):
            room = 0 if max_length < 0 else max_length - len(out)
            pending = self._pending
            self._fed = True
            try:
                chunk = self._obj.decompress(pending, room)
            except zlib.error as e:
                try:
                    self._recover(e, bool(out))
                except DecodeError as error:
                    if not out:
                        raise
                    self._error = error  # hand over what came before; raise next time
                    break
                if self._ignore:
                    break
                continue
            out += chunk
            self._produced(chunk)
            if self._obj.eof:
                self._pending = self._obj.unused_data
                self._end_of_stream()
                if self._ignore:
                    break
            else:
                self._pending = self._obj.unconsumed_tail
                if not chunk and len(self._pending) >= len(pending):
                    break  # zlib wants more input than there is
        return bytes(out)

    def flush(self) -> bytes:
        if self._error is not None:
            raise self._error
        if self._ignore:
            return b""
        try:
            return self._obj.flush()
        except zlib.error as e:
            raise DecodeError(f"corrupt {self.name} data: {e}") from e

    name = "compressed"

    def _produced(self, chunk: bytes) -> None:
        pass

    def _recover(self, error: zlib.error, produced: bool) -> None:
        raise DecodeError(f"corrupt {self.name} data: {error}") from error

    def _end_of_stream(self) -> None:
        self._ignore = True  # bytes after the end of the stream are not part of the body


class GzipDecoder(_ZlibDecoder):
    """gzip with any number of members; bytes after a member that are no member are ignored."""

    name = "gzip"

    def __init__(self) -> None:
        super().__init__(_GZIP_WBITS)
        self._members = 0

    def _ended_once(self) -> bool:
        return self._members > 0

    def _end_of_stream(self) -> None:
        self._members += 1
        self._obj = zlib.decompressobj(_GZIP_WBITS)
        self._fed = False

    def _recover(self, error: zlib.error, produced: bool) -> None:
        if self._members and not self._obj.eof:
            # Trailing garbage (zero padding, junk) after a complete member: other gzip
            # readers accept it, and so do we, as long as the first member was whole.
            self._ignore = True
            self._pending = b""
            self._fed = False
            return
        super()._recover(error, produced)


class DeflateDecoder(_ZlibDecoder):
    """HTTP "deflate": a zlib stream as the RFC says, or raw deflate as some servers send."""

    name = "deflate"

    def __init__(self) -> None:
        super().__init__(_ZLIB_WBITS)
        self._raw = False
        self._seen: bytearray | None = bytearray()  # input kept until the format is settled

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if self._seen is not None and data:
            self._seen += data
        return super().decompress(data, max_length)

    def _produced(self, chunk: bytes) -> None:
        if chunk:
            self._seen = None

    def _recover(self, error: zlib.error, produced: bool) -> None:
        if self._seen is not None and not self._raw and not produced:
            # No zlib header: start again from the first byte as raw deflate.
            self._raw = True
            self._obj = zlib.decompressobj(_RAW_WBITS)
            self._pending = bytes(self._seen)
            return
        super()._recover(error, produced)


def decoder_for(content_encoding: str | None) -> Decoder:
    """The decoder for a ``Content-Encoding`` header value; DecodeError if we cannot decode it.

    ``identity`` and empty entries are skipped; ``x-gzip`` is gzip. More than one real
    encoding stacked (``gzip, deflate``) is refused: we never ask for it and no
    common server sends it.
    """
    tokens = [t.strip().lower() for t in (content_encoding or "").split(",")]
    tokens = [t for t in tokens if t and t != "identity"]
    if not tokens:
        return IdentityDecoder()
    if len(tokens) > 1:
        raise DecodeError(f"stacked Content-Encoding {', '.join(tokens)!s} is not supported")
    token = tokens[0]
    if token in ("gzip", "x-gzip"):
        return GzipDecoder()
    if token == "deflate":
        return DeflateDecoder()
    raise DecodeError(
        f"Content-Encoding {token[:40]!r} is not supported (we ask for {', '.join(SUPPORTED)})"
    )
