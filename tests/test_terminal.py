"""Which streams are terminals, and what that turns on: colour and the progress line."""

from __future__ import annotations

import io
import os

import pytest

from linkfilter.settings import Settings
from linkfilter.terminal import Terminal, binary, colored, isatty

COLOUR_TERM = {"TERM": "xterm-256color"}


@pytest.mark.parametrize("choice, tty, environ, expected", [
    ("always", False, {}, True),
    ("never", True, COLOUR_TERM, False),
    ("auto", False, COLOUR_TERM, False),
    ("auto", True, COLOUR_TERM, True),
    ("auto", True, {**COLOUR_TERM, "NO_COLOR": "1"}, False),
    ("auto", True, {**COLOUR_TERM, "NO_COLOR": ""}, True),  # set but empty: not set
    ("auto", True, {"TERM": "dumb"}, False),
    ("auto", True, {"TERM": ""}, False),
    ("auto", True, {}, False),  # no TERM: nothing says the terminal has colour
    ("always", True, {"TERM": "dumb", "NO_COLOR": "1"}, True),
])
def test_colour_follows_the_choice_the_stream_and_the_environment(choice, tty, environ, expected):
    assert colored(choice, tty, environ) is expected


@pytest.fixture
def pty():
    """Both ends of a pseudo-terminal, as binary streams; closed afterwards."""
    main, side = os.openpty()
    with open(main, "rb", buffering=0) as m, open(side, "wb", buffering=0) as s:
        yield m, s


def test_pipes_and_files_turn_nothing_on():
    terminal = Terminal.detect(Settings(color="auto"), io.BytesIO(), io.BytesIO(), COLOUR_TERM)
    assert terminal == Terminal(out_color=False, err_color=False, progress=False, shared=False)


def test_one_terminal_for_both_streams_is_shared_and_coloured_without_a_progress_line(pty):
    _, side = pty
    terminal = Terminal.detect(Settings(), side, side, COLOUR_TERM)
    assert terminal == Terminal(out_color=True, err_color=True, progress=False, shared=True)


def test_a_terminal_stderr_with_stdout_in_a_file_draws_the_progress_line(pty, tmp_path):
    _, side = pty
    with open(tmp_path / "out", "wb") as out:
        terminal = Terminal.detect(Settings(), out, side, COLOUR_TERM)
        quiet = Terminal.detect(Settings(quiet=True), out, side, COLOUR_TERM)
    assert terminal == Terminal(out_color=False, err_color=True, progress=True, shared=False)
    assert not quiet.progress


def test_a_closed_or_missing_stream_is_no_terminal(pty):
    _, side = pty
    closed = open(os.dup(side.fileno()), "wb", buffering=0)
    closed.close()
    assert isatty(side) and not isatty(closed) and not isatty(None)
    assert binary(None) is None
    text = io.TextIOWrapper(io.BytesIO())
    assert binary(text) is text.buffer
