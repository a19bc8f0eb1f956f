"""ResultCache: TTL, capped failure TTL, in-flight joining."""

from linkfilter.cache import FAILURE_TTL, ResultCache
from linkfilter.result import Result


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def ok(url="http://a/"):
    return Result(url=url, line=1, host="a", title="A")


def bad(url="http://a/"):
    return Result(url=url, line=1, host="a", error="timeout", reason="timed out")


def test_first_claim_fetches_later_ones_wait_then_hit():
    cache = ResultCache(60, clock=Clock())
    assert cache.claim("k", "w1") is None
    assert cache.claim("k", "w2") is False
    assert cache.claim("k", "w3") is False
    assert cache.complete("k", ok()) == ["w2", "w3"]
    assert cache.claim("k", "w4") == ok()


def test_success_expires_after_ttl():
    clock = Clock()
    cache = ResultCache(100, clock=clock)
    cache.claim("k", 0)
    cache.complete("k", ok())
    clock.now += 99
    assert cache.claim("k", 0) == ok()
    clock.now += 2
    assert cache.claim("k", 0) is None


def test_failures_are_kept_at_most_a_minute():
    clock = Clock()
    cache = ResultCache(3600, clock=clock)
    cache.claim("k", 0)
    cache.complete("k", bad())
    clock.now += FAILURE_TTL - 1
    assert cache.claim("k", 0) == bad()
    clock.now += 2
    assert cache.claim("k", 0) is None


def test_ttl_zero_disables_reuse():
    cache = ResultCache(0, clock=Clock())
    assert cache.claim("k", 0) is None
    assert cache.claim("k", 1) is None
    assert cache.complete("k", ok()) == []
    assert cache.claim("k", 2) is None
