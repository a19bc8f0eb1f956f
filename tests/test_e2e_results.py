"""Result lines through the real command: one per distinct URL of a line, ending like the line."""

from __future__ import annotations

import pytest

from command import run
from servers import page


@pytest.fixture
def site(http_server):
    http_server.route("/x", page("<title>Ex</title>"))
    http_server.route("/y", page("<title>Why</title>"))
    return http_server


@pytest.mark.parametrize("ordered", [[], ["--ordered"]], ids=["live", "ordered"])
def test_one_result_per_distinct_normalised_url_of_a_line(site, ordered):
    """The same URL written twice in a line, differing only in the case of its scheme or
    host (or in its fragment), prints one result; on another line it prints again."""
    x = f"http://localhost:{site.port}/x"
    upper = f"HTTP://LocalHost:{site.port}/x"
    line = f"see {x} and {upper} or {x}#part, also {site.url('/y')}\n"
    data = (line + f"again {upper}\n").encode()
    p = run(["--allow-private", "-n", "-f", "{line} {title}", *ordered], data)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.decode().splitlines()) == ["1 Ex", "1 Why", "2 Ex"]


def test_result_lines_follow_the_line_ending_of_a_crlf_log(site):
    data = f"a {site.url('/x')}\r\nb {site.url('/y')}\n".encode()
    p = run(["--allow-private", "--ordered"], data)
    assert p.stdout == (f"a {site.url('/x')}\r\n{site.authority}: Ex\r\n"
                        f"b {site.url('/y')}\n{site.authority}: Why\n").encode()
