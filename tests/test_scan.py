"""CandidateLines: line numbers and candidate lines, however the stream is chunked."""

from hypothesis import given, settings
from hypothesis import strategies as st

from linkfilter.scan import CandidateLines


def run(chunks, max_scan=1 << 20):
    scanner = CandidateLines(max_scan)
    out = []
    for chunk in chunks:
        out.extend(scanner.feed(chunk))
    out.extend(scanner.finish())
    return out, scanner.lines


def reference(data: bytes, max_scan=1 << 20):
    """What the scanner must find, computed the slow obvious way."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for number, line in enumerate(lines, 1):
        low = line[:max_scan].lower()
        if b"://" in low or b"www." in low:
            out.append((number, line[:max_scan]))
    return out, len(lines)


def test_plain_text_counts_lines_and_yields_nothing():
    assert run([b"a\nb\nc\n"]) == ([], 3)


def test_last_line_without_newline_counts():
    assert run([b"a\nhttp://x.org"]) == ([(2, b"http://x.org")], 2)


def test_marks_in_any_case_and_crlf_kept():
    out, n = run([b"x\r\nWWW.Example.com\r\nHTTP://A.B\n"])
    assert out == [(2, b"WWW.Example.com\r"), (3, b"HTTP://A.B")]
    assert n == 3


def test_a_line_split_across_chunks_is_joined():
    assert run([b"see ht", b"tp:/", b"/x.org now\nnext\n"]) == ([(1, b"see http://x.org now")], 2)


def test_long_line_is_scanned_only_at_its_start():
    line = b"a" * 50 + b" http://late.example\n"
    assert run([line], max_scan=40) == ([], 1)
    early = b"http://early.example " + b"b" * 100 + b"\nwww.x.y\n"
    out, n = run([early[:30], early[30:70], early[70:]], max_scan=40)
    assert out == [(1, early[:40]), (2, b"www.x.y")]
    assert n == 2


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"\n", b"http://", b"www.", b"WwW.", b":/", b"/", b" ", b"\xff"]), max_size=60),
    st.lists(st.integers(min_value=0, max_value=200), max_size=8),
    st.integers(min_value=3, max_value=30),
)
def test_any_chunking_gives_the_reference_answer(parts, cuts, max_scan):
    data = b"".join(parts)
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[i:j] for i, j in zip([0] + points, points + [len(data)])]
    assert run(chunks, max_scan) == reference(data, max_scan)


def test_without_line_counting_lines_are_numbered_zero():
    scanner = CandidateLines(count_lines=False)
    found = list(scanner.feed(b"a\nhttp://x.y\n")) + list(scanner.finish())
    assert found == [(0, b"http://x.y")]
