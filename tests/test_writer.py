"""Writer: results only between whole echoed lines; one added newline at most."""

import io

import pytest

from linkfilter.writer import ExitStatus, Writer


def drive(ops):
    out, err = io.BytesIO(), io.BytesIO()
    w = Writer(out, err)
    w.start()
    for name, arg in ops:
        getattr(w, name)(*arg)
    w.close(timeout=5)
    return out.getvalue(), err.getvalue()


def test_echo_is_byte_for_byte():
    data = b"a\x00b\r\n\xff\xfe invalid\nlast"
    assert drive([("echo", (data,)), ("eof", ())]) == (data, b"")


def test_result_waits_for_the_end_of_an_echoed_line():
    out, _ = drive([("echo", (b"first li",)), ("out", ("R",)), ("echo", (b"ne\nnext\n",)), ("eof", ())])
    assert out == b"first line\nR\nnext\n"


def test_unfinished_last_line_gets_one_newline_before_results():
    out, _ = drive([("echo", (b"no newline",)), ("eof", ()), ("out", ("R1",)), ("out", ("R2",))])
    assert out == b"no newline\nR1\nR2\n"
    held, _ = drive([("echo", (b"no newline",)), ("out", ("R",)), ("eof", ())])
    assert held == b"no newline\nR\n"


def test_without_results_the_output_ends_as_the_input_did():
    out, err = drive([("echo", (b"no newline",)), ("eof", ()), ("err", ("linkfilter: x: failed",))])
    assert out == b"no newline"
    assert err == b"linkfilter: x: failed\n"


class Broken(io.RawIOBase):
    def __init__(self, errno_):
        self.errno_ = errno_

    def writable(self):
        return True

    def write(self, data):
        raise OSError(self.errno_, "boom")


@pytest.mark.parametrize("errno_, status", [(32, ExitStatus.PIPE), (28, ExitStatus.ERROR)])
def test_write_errors_end_the_run_with_the_right_status(errno_, status):
    seen = []
    w = Writer(Broken(errno_), io.BytesIO(), on_fatal=lambda s, m: seen.append((s, m)))
    w.start()
    w.echo(b"x\n")
    w.thread.join(timeout=5)
    assert seen and seen[0][0] == status
    if status == ExitStatus.PIPE:
        assert seen[0][1] is None
    else:
        assert seen[0][1].startswith("linkfilter: write error:")


def test_held_result_is_released_when_a_chunk_ends_the_line_exactly():
    out, _ = drive([("echo", (b"abc",)), ("out", ("R",)), ("echo", (b"\n",)), ("out", ("S",)), ("eof", ())])
    assert out == b"abc\nR\nS\n"


@pytest.mark.parametrize("ops", [
    [("echo", (b"no newline",)), ("err", ("linkfilter: x: failed",)), ("eof", ())],
    [("echo", (b"a\nno newline",)), ("err", ("linkfilter: x: failed",)),
     ("err", ("linkfilter: y: failed",)), ("eof", ())],
])
def test_a_held_stderr_line_adds_no_newline_to_stdout(ops):
    """Only a held *stdout* result earns the one added newline: a run whose only held
    lines are errors ends its stdout byte-exactly as its input ended."""
    out, err = drive(ops)
    assert out == ops[0][1][0]
    assert err.startswith(b"linkfilter: x: failed\n")


def test_the_output_is_the_same_however_the_writes_are_batched():
    """Many operations queued before the writer wakes are written in a few joined writes,
    in order, with the same held-result rule."""
    out, err = io.BytesIO(), io.BytesIO()
    w = Writer(out, err)
    w.start()
    expected = b""
    for i in range(300):
        w.echo(f"line {i} ".encode())
        w.out(f"R{i}")
        w.echo(b"end\n")
        expected += f"line {i} end\nR{i}\n".encode()
    w.eof()
    w.close(timeout=5)
    assert out.getvalue() == expected and err.getvalue() == b""


@pytest.mark.parametrize("pieces", [
    [b"crlf line\r\n"],
    [b"crlf line\r", b"\n"],  # the CRLF split between two reads
    [b"crlf ", b"line\r\n"],
])
def test_result_lines_end_like_the_echoed_line_they_follow(pieces):
    ops = [("echo", (p,)) for p in pieces] + [("out", ("R1\nR2",)), ("err", ("E",)),
                                              ("echo", (b"lf line\n",)), ("out", ("R3",))]
    out, err = drive(ops + [("eof", ())])
    assert out == b"crlf line\r\nR1\r\nR2\r\nlf line\nR3\n"
    assert err == b"E\n"  # stderr lines are ours: LF


def test_a_held_result_ends_like_the_line_it_waited_for():
    out, _ = drive([("echo", (b"half",)), ("out", ("R",)), ("echo", (b" line\r\nnext",)),
                    ("out", ("S",)), ("eof", ())])
    assert out == b"half line\r\nR\r\nnext\r\nS\r\n"
