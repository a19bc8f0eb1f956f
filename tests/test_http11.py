"""The wire layer: header blocks as http.client reads them, and body framing, over real sockets."""

from __future__ import annotations

import email.parser
import http.client
import io
import socket
import time

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from linkfilter.http11 import MAX_HEADERS, MAX_LINE, BadChunk, Body, Clock, Response, TooManyHeaders, read_head


# -- read_head: http.client's header parsing, faster for plain blocks ------------------

HEAD_PIECES = [b"Content-Type", b"X-A", b"a", b"!#$%&'*+-.^_`|~", b"From", b"From ", b":", b": ",
               b" ", b"\t", b"text/html; charset=utf-8", b"\xe9\x85\xff", b"\x00\x0b\x0c\x1c",
               b"\r\n", b"\n", b"\r", b"=?utf-8?q?x?=", b"\"q\"", b"{}", b"\x7f"]


def _both(block: bytes) -> tuple[http.client.HTTPMessage, http.client.HTTPMessage]:
    ours = read_head(io.BufferedReader(io.BytesIO(block)))
    theirs = http.client.parse_headers(io.BufferedReader(io.BytesIO(block)))
    return ours, theirs


@hypothesis_settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(HEAD_PIECES), max_size=30), st.sampled_from([b"\r\n\r\n", b"\n\n", b""]))
def test_read_head_parses_as_http_client_does(pieces: list[bytes], end: bytes) -> None:
    ours, theirs = _both(b"".join(pieces) + end)
    assert ours.items() == theirs.items()
    assert [ours.get_all(k) for k in theirs.keys()] == [theirs.get_all(k) for k in theirs.keys()]
    assert ours.get_payload() == theirs.get_payload()
    assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects]


def test_read_head_takes_plain_blocks_without_the_email_parser(monkeypatch):
    block = (b"Content-Type: text/html; charset=utf-8\r\nContent-Length: 12\r\n"
             b"Set-Cookie: a=1\r\nSet-Cookie: b=2 \r\nX-Odd:\t\xe9t\xe9\r\n\r\nbody")
    expected = http.client.parse_headers(io.BufferedReader(io.BytesIO(block)))

    def refuse(*args, **kwargs):
        raise AssertionError("the email parser was used for a plain header block")

    monkeypatch.setattr(email.parser.Parser, "parsestr", refuse)
    fp = io.BufferedReader(io.BytesIO(block))
    message = read_head(fp)
    assert message.items() == expected.items()
    assert message.get_all("set-cookie") == ["a=1", "b=2 "]
    assert message["x-odd"] == "\xe9t\xe9"
    assert fp.read() == b"body"  # the body is left unread


@pytest.mark.parametrize("block", [
    b"A: " + b"x" * MAX_LINE + b"\r\n\r\n",
    b"".join(b"H%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n",
])
def test_read_head_keeps_http_clients_limits(block):
    with pytest.raises(http.client.HTTPException) as ours:
        read_head(io.BufferedReader(io.BytesIO(block)))
    with pytest.raises(http.client.HTTPException) as theirs:
        http.client.parse_headers(io.BufferedReader(io.BytesIO(block)))
    assert isinstance(ours.value, type(theirs.value))  # TooManyHeaders is an HTTPException
    assert ours.value.args == theirs.value.args


def test_too_many_headers_is_its_own_type_with_http_clients_message():
    block = b"".join(b"H%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n"
    with pytest.raises(TooManyHeaders, match=f"^got more than {MAX_HEADERS} headers$"):
        read_head(io.BufferedReader(io.BytesIO(block)))


# -- Response and Body over a socket --------------------------------------------------


def response_to(raw: bytes, timeout: float = 5.0) -> Response:
    """A begun Response reading ``raw`` from a real socket whose peer then closed."""
    ours, theirs = socket.socketpair()
    theirs.sendall(raw)
    theirs.close()
    response = Response(ours, clock=Clock(timeout))
    response.begin()
    ours.close()  # the response's file keeps the socket open
    return response


def read_all(body: Body) -> bytes:
    out = b""
    while not body.done:
        out += body.read()
    return out


def test_interim_responses_are_skipped_up_to_the_limit():
    interim = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    response = response_to(interim * 10 + ok)
    assert response.status == 200
    assert read_all(Body(response)) == b"hi"
    with pytest.raises(http.client.HTTPException, match="more than 10 interim"):
        response_to(interim * 11 + ok)


def test_chunked_body_with_extensions_and_trailers():
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n")
    response = response_to(raw)  # kept: a response closes its file when collected
    body = Body(response)
    assert read_all(body) == b"abcde"
    assert body.read() == b""


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
])
def test_a_body_that_stops_short_is_an_incomplete_read(raw):
    response = response_to(raw)
    body = Body(response)
    with pytest.raises(http.client.IncompleteRead):
        read_all(body)


@pytest.mark.parametrize("chunks, match", [
    (b"zz\r\nabc\r\n", "bad chunk size"),
    (b"3\r\nabcX\r\n0\r\n\r\n", "no line end after a chunk"),
    (b"0\r\n" + b"T: x\r\n" * (MAX_HEADERS + 1) + b"\r\n", "trailer lines"),
])
def test_broken_chunks_are_bad_chunks(chunks, match):
    response = response_to(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    body = Body(response)
    with pytest.raises(BadChunk, match=match):
        read_all(body)


def test_a_body_without_length_ends_with_the_connection():
    response = response_to(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 40000)
    body = Body(response)
    assert read_all(body) == b"x" * 40000


def test_drain_reads_a_short_rest_and_refuses_a_long_one():
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
    short, long = response_to(raw), response_to(raw)
    assert Body(short).drain(100)
    assert not Body(long).drain(99)


def test_reads_wait_only_for_the_time_left():
    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")  # and then silence
        clock = Clock(0.2)
        response = Response(ours, clock=clock)
        response.begin()
        body = Body(response)
        assert body.read() == b"ab"
        with pytest.raises(TimeoutError):
            body.read()
        assert time.monotonic() >= clock.deadline
    finally:
        ours.close()
        theirs.close()


def test_narrowed_deadline_is_restored_after_the_block_even_on_error():
    clock = Clock(60.0)
    wide = clock.deadline
    with pytest.raises(RuntimeError):
        with clock.narrowed(0.5):
            assert clock.deadline <= time.monotonic() + 0.5
            raise RuntimeError
    assert clock.deadline == wide
    with clock.narrowed(120.0):  # never later than the fetch's own deadline
        assert clock.deadline == wide
    assert clock.deadline == wide
