"""InOrder (``--ordered``): echo and result slots released front to back, through a real Writer."""

from __future__ import annotations

import io
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from linkfilter.ordered import InOrder
from linkfilter.writer import Writer


class Output:
    """A real Writer on in-memory streams, with an InOrder in front of it."""

    def __init__(self, **limits) -> None:
        self.stdout, self.stderr = io.BytesIO(), io.BytesIO()
        self.writer = Writer(self.stdout, self.stderr)
        self.writer.start()
        self.inorder = InOrder(self.writer, **limits)

    def close(self) -> bytes:
        self.writer.eof()
        self.writer.close()
        return self.stdout.getvalue()


def test_each_line_s_results_follow_it_in_url_order_whatever_order_they_come_in():
    out = Output()
    o = out.inorder
    o.echo(b"one\n")
    a, b = o.slot(), o.slot()
    o.echo(b"two\n")
    c = o.slot()
    o.echo(b"three\n")
    o.fill(c, "c")
    o.fill(b, None)  # a result that prints nothing still keeps its place
    o.fill(a, "a")
    assert out.close() == b"one\na\ntwo\nc\nthree\n"


def test_echo_before_any_open_slot_is_written_at_once():
    out = Output()
    out.inorder.echo(b"no urls here\n")
    slot = out.inorder.slot()
    out.writer.close()  # the writer has written what it was given: the echo, not the slot
    assert out.stdout.getvalue() == b"no urls here\n"
    assert slot.ready is False


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_any_fill_order_gives_input_order(urls_per_line, random):
    out = Output()
    o = out.inorder
    slots, expected = [], []
    for number, count in enumerate(urls_per_line):
        o.echo(b"line %d\n" % number)
        expected.append(b"line %d\n" % number)
        for k in range(count):
            slots.append((o.slot(), f"{number}.{k}"))
            expected.append(f"{number}.{k}\n".encode())
    random.shuffle(slots)
    for slot, line in slots:
        o.fill(slot, line)
    assert out.close() == b"".join(expected)


def test_the_reader_waits_for_room_past_the_byte_limit_until_the_front_line_is_done():
    out = Output(max_bytes=10)
    o = out.inorder
    o.echo(b"first\n")
    front = o.slot()
    o.echo(b"12345\n")
    assert o.wait_room(0) is True  # 6 bytes held: room
    o.echo(b"67890\n")
    assert o.wait_room(0) is False  # 12 bytes held behind the open slot
    waited = threading.Event()

    def reader():
        o.wait_room()
        waited.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert not waited.wait(0.05)  # still waiting while the front slot is open
    o.fill(front, "result")
    thread.join(5)
    assert waited.is_set() and o.wait_room(0) is True
    assert out.close() == b"first\nresult\n12345\n67890\n"


def test_the_reader_waits_for_room_past_the_slot_limit():
    out = Output(max_slots=2)
    o = out.inorder
    first, second = o.slot(), o.slot()
    assert o.wait_room(0) is True
    third = o.slot()
    assert o.wait_room(0) is False
    o.fill(second, "2")  # not at the front: nothing released
    assert o.wait_room(0) is False
    o.fill(first, "1")
    assert o.wait_room(0) is True
    o.fill(third, "3")
    assert out.close() == b"1\n2\n3\n"


def test_a_bug_while_reporting_a_url_costs_that_url_only_not_the_ordered_output(
        http_server, monkeypatch):
    """A worker that fails unexpectedly still fills the URL's slot (as an ``internal`` error):
    the lines after it are not held for ever."""
    import linkfilter.pipeline as pipeline
    from linkfilter.settings import Settings

    http_server.route("/", lambda request: (_ for _ in ()).throw(AssertionError("unreachable")))
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "describe", broken)
    stdout, stderr = io.BytesIO(), io.BytesIO()
    data = f"a {http_server.url('/x')}\nb\n".encode()
    run = pipeline.Pipeline(Settings(ordered=True, allow_private=True, timeout=5),
                            stdin=io.BytesIO(data), stdout=stdout, stderr=stderr)
    done = threading.Event()
    status = []
    threading.Thread(target=lambda: (status.append(run.run(["-"])), done.set()), daemon=True).start()
    assert done.wait(10), "the ordered output stalled behind the failed URL"
    assert calls and status == [0]
    assert stdout.getvalue() == data
    assert b"internal error: RuntimeError: boom" in stderr.getvalue()
