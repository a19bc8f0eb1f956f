"""linkfilter.output: what a server chose reaches the terminal without control or bidi characters."""

from __future__ import annotations

import json
import re

import pytest

from linkfilter.output import error_line, human_size, json_line, summary, text_line
from linkfilter.result import RECORD_FIELDS, Result

# What no output line may hold: C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A title a hostile page could send: an OSC that retitles the terminal, a CSI through its
# one-byte C1 form, a right-to-left override, an isolate, NEL, DEL and a NUL.
HOSTILE = "\x1b]0;owned\x07Real\u202etitle\x9b31m \u2066x\u2069\x85y\x7f\x00"
CLEANED = "]0;ownedRealtitle31m xy"  # the same with those characters dropped, by hand


def ok_result(**fields) -> Result:
    values = {"url": "http://example.com/", "line": 3, "host": "example.com",
              "final_url": "http://example.com/", "status": 200, "title": "Title",
              "content_type": "text/html", "content_length": 1234, "charset": "utf-8",
              "charset_source": "header", "elapsed": 0.25}
    values.update(fields)
    return Result(**values)


def test_json_title_has_no_control_or_bidi_characters() -> None:
    line = json_line(ok_result(title=HOSTILE))
    assert not UNSAFE.search(line)
    assert "\\u00" not in line and "\\u20" not in line  # nor JSON escapes of them
    assert json.loads(line)["title"] == CLEANED


def test_json_and_text_carry_the_same_cleaned_title() -> None:
    result = ok_result(title=HOSTILE)
    assert text_line(result, "{title}") == CLEANED
    assert json.loads(json_line(result))["title"] == CLEANED


STRING_FIELDS = ["url", "host", "final_url", "title", "content_type", "charset", "charset_source", "error",
                 "reason"]


@pytest.mark.parametrize("field", STRING_FIELDS)
def test_every_string_field_of_the_json_record_is_cleaned(field: str) -> None:
    record = json.loads(json_line(ok_result(**{field: HOSTILE})))
    assert list(record) == list(RECORD_FIELDS)
    assert record[field] == CLEANED
    assert not any(UNSAFE.search(v) for v in record.values() if isinstance(v, str))


def test_plain_text_passes_unchanged() -> None:
    title = "Fedora.cz | Česká komunita \u05e9\u05dc\u05d5\u05dd \u200f(RTL mark kept) 東京"
    result = ok_result(title=title)
    assert json.loads(json_line(result))["title"] == title
    assert text_line(result, "{host}: {title}") == f"example.com: {title}"


def test_text_line_and_error_line_are_cleaned() -> None:
    assert text_line(ok_result(title=HOSTILE, host="a\x1b.example"), "{host}: {title}") == \
        f"a.example: {CLEANED}"
    failed = ok_result(title=None, error="http-404", reason=HOSTILE, url="http://x.example/\x9b2J")
    assert text_line(failed, "{title}") is None
    assert error_line(failed) == f"linkfilter: http://x.example/2J: {CLEANED}"


@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (20_000, "19.5 KiB"),
    (1024 ** 2, "1.0 MiB"), (1024 ** 3, "1.0 GiB"), (1024 ** 4, "1.0 TiB"),
    (2048 * 1024 ** 4, "2048 TiB"), (310 * 1024 ** 2, "310 MiB"), (102297, "99.9 KiB"),
])
def test_human_size_changes_unit_at_each_1024(n: int, text: str) -> None:
    assert human_size(n) == text


def test_a_page_of_exactly_one_kib_is_summarised_in_kib() -> None:
    page = ok_result(content_type="image/png", content_length=1024)
    assert summary(page) == "[image/png, 1.0 KiB]"
