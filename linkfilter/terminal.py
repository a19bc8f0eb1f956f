"""The run's standard streams: which are terminals, and what that turns on: colour, the progress line.

Decided once per run, before the first line is written. ``--color auto`` colours a
stream that is a terminal, unless ``NO_COLOR`` is set (to anything but the empty
string) or ``TERM`` is unset, empty or dumb: such a terminal shows escapes as text.
The progress line is drawn on a stderr that is a terminal (``progress.wanted``).
"""

from __future__ import annotations

import os
from typing import BinaryIO, Mapping, NamedTuple

from linkfilter import progress
from linkfilter.settings import Settings

#: ``TERM`` values (besides unset or empty) that mean a terminal without colour.
DUMB_TERMINALS = ("dumb",)


class Terminal(NamedTuple):
    """What the run's stdout and stderr turn on."""

    out_color: bool  # result lines coloured
    err_color: bool  # failure lines coloured
    progress: bool  # the progress line drawn on stderr
    shared: bool  # stdout and stderr are one terminal: what one draws, the other can wipe

    @classmethod
    def detect(cls, settings: Settings, out: BinaryIO | None, err: BinaryIO | None,
               environ: Mapping[str, str] = os.environ) -> Terminal:
        """Look at the streams (and, for ``--color auto``, the environment) once."""
        out_tty, err_tty = isatty(out), isatty(err)
        return cls(
            out_color=colored(settings.color, out_tty, environ),
            err_color=colored(settings.color, err_tty, environ),
            progress=progress.wanted(settings.progress, settings.quiet,
                                     err_tty and progress.is_file(out), err_tty),
            shared=err_tty and out_tty and progress.same_terminal(out, err),
        )


def colored(choice: str, tty: bool, environ: Mapping[str, str]) -> bool:
    """Whether a stream gets colour under ``--color choice``; ``tty``: it is a terminal."""
    if choice != "auto":
        return choice == "always"
    return tty and not environ.get("NO_COLOR") and environ.get("TERM", "") not in ("", *DUMB_TERMINALS)


def isatty(stream) -> bool:
    """Whether ``stream`` is a terminal (a closed or absent one is not)."""
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError, AttributeError):
        return False


def binary(stream) -> BinaryIO | None:
    """The byte stream under a text stream (None when the descriptor is closed)."""
    if stream is None:
        return None
    return getattr(stream, "buffer", stream)
