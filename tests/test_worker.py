"""worker.describe: one URL in, one Result out, every failure a Result.

The fetcher here is a test double (an object with a ``fetch`` method that hands back a
``fetch.Page`` or raises, feeding the sink as the real one does); what runs is the real
worker, title and decode code.
"""

from __future__ import annotations

import pytest

from linkfilter.errors import ConnectError, FetchTimeout
from linkfilter.fetch import Page
from linkfilter.settings import Settings
from linkfilter.worker import describe, internal_error

URL = "http://example.com/"


class FakeFetcher:
    """Answers every fetch with ``page`` (feeding its body to the sink the worker hands in,
    in pieces, until the sink has enough), or raises ``error``."""

    def __init__(self, page: Page | None = None, error: BaseException | None = None) -> None:
        self.page = page
        self.error = error
        self.calls: list[tuple[str, bool]] = []

    def deadline(self):
        return None  # the worker hands it back to fetch as it is

    def fetch(self, url, sink_factory=None, *, normalized=False, file_sink=None, clock=None):
        self.calls.append((url, normalized))
        if self.error is not None:
            raise self.error
        page = self.page
        if sink_factory is not None and page.is_html:
            sink = sink_factory(page.charset)
            for at in range(0, len(page.body), 64):
                if sink.feed(page.body[at : at + 64]):
                    return page._replace(body=page.body[: at + 64])
        return page


def html_page(body: bytes, **changes) -> Page:
    fields = dict(url=URL, final_url=URL, status=200, content_type="text/html", charset="utf-8",
                  content_length=len(body), body=body, capped=False, cut=False)
    fields.update(changes)
    return Page(**fields)


def run(fetcher: FakeFetcher, **settings) -> object:
    return describe(fetcher, URL, "example.com/", 3, "example.com", Settings(**settings))


def test_a_page_with_a_title_is_a_result_with_it():
    fetcher = FakeFetcher(html_page(b"<html><head><title>Hello</title></head><body>x</body></html>"))
    result = run(fetcher)
    assert fetcher.calls == [(URL, True)]  # the cache key is fetched as it is
    assert (result.title, result.error, result.status, result.charset) == ("Hello", None, 200, "utf-8")
    assert (result.url, result.line, result.host) == ("example.com/", 3, "example.com")


def test_a_body_cut_by_the_deadline_before_a_title_is_a_timeout():
    reason = "timed out reading from example.com (--timeout 1 s for the whole URL)"
    page = html_page(b"<html><head><title>never closed", cut=True, timed_out=reason)
    result = run(FakeFetcher(page))
    assert (result.error, result.reason, result.title) == ("timeout", reason, None)


def test_a_whole_title_before_the_deadline_still_counts():
    page = html_page(b"<title>In time</title><p>and then the server stalled", cut=True,
                     timed_out="timed out reading from example.com")
    result = run(FakeFetcher(page))
    assert (result.title, result.error) == ("In time", None)


def test_a_timeout_raised_by_the_fetcher_is_a_timeout_result():
    result = run(FakeFetcher(error=FetchTimeout("timed out connecting to example.com", url=URL)))
    assert (result.error, result.reason, result.title) == (
        "timeout", "timed out connecting to example.com", None)
    assert result.elapsed >= 0


@pytest.mark.parametrize("body, what", [
    (b"<html><body>" + b"<p>words</p>" * 200, "no title in"),
    (b"<html><head><title>" + b"a very long title " * 100, "<title> still open after"),
])
def test_a_capped_body_without_a_title_is_too_large(body, what):
    page = html_page(body[:1024], capped=True, content_length=len(body))
    result = run(FakeFetcher(page), max_bytes=1024)
    assert result.error == "too-large"
    assert result.reason == f"{what} the first 1.0 KiB (--max-bytes 1024)"


def test_a_capped_body_with_a_title_is_the_title():
    page = html_page(b"<title>Early</title>" + b"x" * 2000, capped=True)
    assert run(FakeFetcher(page), max_bytes=1024).title == "Early"


def test_a_bug_in_the_fetcher_costs_one_url_as_an_internal_error():
    result = run(FakeFetcher(error=RuntimeError("boom")))
    assert (result.error, result.reason) == ("internal", "internal error: RuntimeError: boom")
    assert (result.url, result.line, result.host, result.title) == ("example.com/", 3, "example.com", None)


def test_a_bug_while_reading_the_title_is_an_internal_error():
    class BrokenPage(FakeFetcher):
        def fetch(self, url, sink_factory=None, *, normalized=False, file_sink=None, clock=None):
            sink_factory(object())  # a charset no decoder knows what to do with
            return html_page(b"<title>x</title>")

    result = run(BrokenPage())
    assert result.error == "internal" and result.reason.startswith("internal error: ")


def test_a_host_failure_is_marked_so_the_pipeline_can_fail_its_other_urls():
    refused = ConnectError("example.com refused the connection", url=URL)
    refused.host_down = True  # as the fetcher marks a failure before the request was sent
    assert (run(FakeFetcher(error=refused)).error, run(FakeFetcher(error=refused)).host_down) \
        == ("connect", True)


def test_a_failure_after_the_request_is_about_the_url_only():
    reset = ConnectError("connection to example.com was reset", url=URL)
    assert (run(FakeFetcher(error=reset)).error, run(FakeFetcher(error=reset)).host_down) \
        == ("connect", False)


def test_internal_error_is_the_one_spelling_of_the_internal_result():
    result = internal_error("u", 7, "h", ValueError("bad"), 1.5)
    assert (result.url, result.line, result.host, result.elapsed) == ("u", 7, "h", 1.5)
    assert (result.error, result.reason, result.title) == ("internal", "internal error: ValueError: bad", None)
