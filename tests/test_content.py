"""The capped content decoders, fed in-memory bytes (no sockets)."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from servers import BOMB_BLOCK, gzip_bomb_stream

from linkfilter.content import (
    DecodeError,
    DeflateDecoder,
    GzipDecoder,
    IdentityDecoder,
    decoder_for,
)

TEXT = b"<html><head><title>Caf\xc3\xa9</title></head><body>" + b"hello world " * 2000 + b"</body>"


def zlib_deflate(data: bytes) -> bytes:
    return zlib.compress(data)


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def decode_all(decoder, pieces, max_length: int) -> bytes:
    """Feed ``pieces``, draining at most ``max_length`` at a time, as the fetcher does."""
    out = bytearray()
    for piece in pieces:
        chunk = decoder.decompress(piece, max_length)
        while chunk:
            assert len(chunk) <= max_length
            out += chunk
            chunk = decoder.decompress(b"", max_length)
    return bytes(out + decoder.flush())


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


ENCODINGS = {
    "gzip": (GzipDecoder, gzip.compress),
    "deflate-zlib": (DeflateDecoder, zlib_deflate),
    "deflate-raw": (DeflateDecoder, raw_deflate),
}


@pytest.mark.parametrize("name", sorted(ENCODINGS))
@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
@pytest.mark.parametrize("max_length", [1, 100, 65536])
def test_round_trip_in_any_pieces_and_steps(name, piece, max_length):
    make, compress = ENCODINGS[name]
    decoder = make()
    assert decode_all(decoder, split(compress(TEXT), piece), max_length) == TEXT
    assert decoder.eof


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=3000),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=8),
    max_length=st.integers(min_value=1, max_value=5000),
    name=st.sampled_from(sorted(ENCODINGS)),
)
def test_any_split_any_step_gives_the_input_back(data, cuts, max_length, name):
    make, compress = ENCODINGS[name]
    blob = compress(data)
    bounds = sorted({0, len(blob), *(c % (len(blob) + 1) for c in cuts)})
    pieces = [blob[a:b] for a, b in zip(bounds, bounds[1:])]
    assert decode_all(make(), pieces, max_length) == data


def test_gzip_with_several_members():
    blob = gzip.compress(b"one ") + gzip.compress(b"two ") + gzip.compress(b"three")
    for piece in (1, 5, len(blob)):
        decoder = GzipDecoder()
        assert decode_all(decoder, split(blob, piece), 3) == b"one two three"
        assert decoder.eof


def test_gzip_trailing_garbage_after_a_whole_member_is_ignored():
    decoder = GzipDecoder()
    out = decode_all(decoder, [gzip.compress(b"body") + b"\x00\x00junk"], 100)
    assert out == b"body"
    assert decoder.eof
    assert decoder.decompress(b"more junk", 100) == b""


def test_corrupt_first_member_raises():
    with pytest.raises(DecodeError, match="gzip"):
        GzipDecoder().decompress(b"\x1f\x8b\x08\x00garbage-garbage-garbage", 100)
    with pytest.raises(DecodeError):
        GzipDecoder().decompress(b"not gzip at all, not at all", 100)


def test_corrupt_deflate_raises_after_both_formats_fail():
    with pytest.raises(DecodeError, match="deflate"):
        DeflateDecoder().decompress(b"\xff" * 64, 100)


@pytest.mark.parametrize(
    "wbits, make", [(15, DeflateDecoder), (-15, DeflateDecoder), (31, GzipDecoder)]
)
def test_corruption_after_output_raises_not_restarts(wbits, make):
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)
    good = c.compress(TEXT) + c.flush(zlib.Z_SYNC_FLUSH)  # byte-aligned, stream not ended
    decoder = make()
    assert decoder.decompress(good, 100)
    with pytest.raises(DecodeError):
        decode_all(decoder, [b"\xff\xff\xff"], 100)  # block type 3 does not exist


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_truncated_stream_is_not_eof(name):
    make, compress = ENCODINGS[name]
    blob = compress(TEXT)
    decoder = make()
    out = decode_all(decoder, [blob[: len(blob) // 2]], 1000)
    assert TEXT.startswith(out) and len(out) < len(TEXT)
    assert not decoder.eof


def test_truncated_second_gzip_member_is_not_eof():
    decoder = GzipDecoder()
    second = gzip.compress(b"two")
    decode_all(decoder, [gzip.compress(b"one") + second[:5]], 10)
    assert not decoder.eof


def test_identity_passes_through_in_steps():
    decoder = IdentityDecoder()
    assert decoder.decompress(b"abcdef", 4) == b"abcd"
    assert decoder.decompress(b"gh", 4) == b"efgh"
    assert decoder.decompress(b"", 4) == b""
    assert decoder.decompress(b"ij", -1) == b"ij"
    assert decoder.eof


@pytest.mark.parametrize("make", [IdentityDecoder, GzipDecoder, DeflateDecoder])
def test_max_length_zero_keeps_the_input(make):
    blob = b"plain" if make is IdentityDecoder else (
        gzip.compress(b"plain") if make is GzipDecoder else zlib_deflate(b"plain")
    )
    decoder = make()
    assert decoder.decompress(blob, 0) == b""
    assert decoder.decompress(b"", 100) == b"plain"


def test_bomb_output_and_held_input_stay_small():
    """A 1 GiB gzip bomb fed in 16 KiB reads: each call returns at most max_length and the
    decoder never holds more than one read of input."""
    decoder = GzipDecoder()
    produced = 0
    stream = gzip_bomb_stream(1 << 30)
    wire = b"".join(next(stream) for _ in range(64))  # 64 MiB decoded
    for piece in split(wire, 16 * 1024):
        chunk = decoder.decompress(piece, 65536)
        while chunk:
            assert len(chunk) <= 65536
            assert len(decoder._pending) <= 16 * 1024  # no build-up of input either
            produced += len(chunk)
            chunk = decoder.decompress(b"", 65536)
    assert produced == 64 * BOMB_BLOCK


def test_the_test_bomb_is_a_valid_gzip_stream():
    blob = b"".join(gzip_bomb_stream(3 * BOMB_BLOCK))
    assert gzip.decompress(blob) == bytes(3 * BOMB_BLOCK)


@pytest.mark.parametrize(
    "header, kind",
    [
        (None, IdentityDecoder),
        ("", IdentityDecoder),
        ("identity", IdentityDecoder),
        ("gzip", GzipDecoder),
        ("GZIP", GzipDecoder),
        ("x-gzip", GzipDecoder),
        (" deflate ", DeflateDecoder),
        ("identity, gzip", GzipDecoder),
    ],
)
def test_decoder_for_known_encodings(header, kind):
    assert isinstance(decoder_for(header), kind)


@pytest.mark.parametrize("header", ["br", "zstd", "gzip, deflate", "compress"])
def test_decoder_for_refuses_what_it_cannot_decode(header):
    with pytest.raises(DecodeError, match="not supported"):
        decoder_for(header)


def test_random_bytes_never_raise_anything_but_decode_error():
    for seed in range(50):
        data = os.urandom(200)
        for make in (GzipDecoder, DeflateDecoder):
            try:
                decode_all(make(), [data], 64)
            except DecodeError:
                pass
