"""The renderer chosen once per run: which line a result becomes in each output mode."""

from __future__ import annotations

import json

import pytest

from linkfilter.render import (
    FAILURE_COLOR,
    RESET,
    RESULT_COLOR,
    DryRunRenderer,
    JSONRenderer,
    TextRenderer,
    renderer_for,
)
from linkfilter.result import Result
from linkfilter.settings import Settings

PAGE = Result(url="http://a.example/x", line=3, host="a.example", status=200, title="Ex",
              content_type="text/html", elapsed=0.25)
FAILED = Result(url="http://a.example/y", line=4, host="a.example", error="http",
                reason="HTTP 404", elapsed=0.5)


@pytest.mark.parametrize("settings, kind", [
    (Settings(), TextRenderer),
    (Settings(format="{url}"), TextRenderer),
    (Settings(json=True), JSONRenderer),
    (Settings(json=True, dry_run=True), JSONRenderer),
    (Settings(dry_run=True), DryRunRenderer),
    (Settings(dry_run=True, format="{line}: {url}"), DryRunRenderer),
])
def test_the_mode_is_chosen_from_the_settings(settings, kind):
    assert type(renderer_for(settings, False, False)) is kind


def test_text_lines_are_the_template_and_a_failure_its_fallback():
    plain = renderer_for(Settings(), False, False)
    assert plain.line(PAGE) == "a.example: Ex"
    assert plain.line(FAILED) is None
    fallback = renderer_for(Settings(fallback="{url} [{error}]"), False, False)
    assert fallback.line(FAILED) == "http://a.example/y [http]"


def test_colour_wraps_each_stdout_line_and_each_failure_line():
    render = renderer_for(Settings(format="{title}"), True, True)
    assert render.line(PAGE) == f"{RESULT_COLOR}Ex{RESET}"
    batch = renderer_for(Settings(dry_run=True), True, True).urls(["http://a.example/", "http://b.example/"])
    assert batch == f"{RESULT_COLOR}http://a.example/{RESET}\n{RESULT_COLOR}http://b.example/{RESET}"
    assert render.failure(FAILED) == f"{FAILURE_COLOR}linkfilter: http://a.example/y: HTTP 404{RESET}"
    assert renderer_for(Settings(), False, False).failure(FAILED) == "linkfilter: http://a.example/y: HTTP 404"


def test_json_lines_are_never_coloured():
    line = renderer_for(Settings(json=True), True, True).line(PAGE)
    assert json.loads(line)["title"] == "Ex" and "\x1b" not in line


def test_dry_run_lines_are_the_url_or_the_template_with_url_host_and_line():
    bare = renderer_for(Settings(dry_run=True), False, False)
    assert bare.url_only and bare.line(PAGE) == "http://a.example/x"
    assert bare.urls(["http://a.example/", "http://b.example/"]) == "http://a.example/\nhttp://b.example/"
    templated = renderer_for(Settings(dry_run=True, format="{line} {host} {title}."), False, False)
    assert not templated.url_only and templated.line(PAGE) == "3 a.example ."


@pytest.mark.parametrize("settings, line", [
    (Settings(fallback="{url} [{error}] {reason}"),
     "http://a.example/x [interrupted] stopped by a signal before the page came"),
    (Settings(), None),
    (Settings(dry_run=True, fallback="{url} [{error}]"), None),
])
def test_a_url_cut_short_by_a_stop_prints_its_fallback_line_in_text_mode_only(settings, line):
    assert renderer_for(settings, False, False).interrupted("http://a.example/x", 3, "a.example") == line
