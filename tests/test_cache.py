"""cache: TTL exact to the tick, capped failure TTL, in-flight joining, LRU bounds, host failures."""

import time

import pytest

from linkfilter.cache import (
    FAILURE_TTL,
    LRU,
    Claim,
    HostFailures,
    ReportOnce,
    ResultCache,
    compact,
    expand,
)
from linkfilter.result import Result


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def ok(url="http://a/"):
    return Result(url=url, line=1, host="a", final_url=url, status=200, title="A",
                  content_type="text/html")


def bad(url="http://a/"):
    return Result(url=url, line=1, host="a", error="timeout", reason="timed out")


def outcome(result):
    return (result.title, result.error, result.reason, result.status, result.content_type)


def test_first_claim_fetches_later_ones_wait_then_hit():
    cache = ResultCache(60, clock=Clock())
    assert cache.claim("k", "w1") == (Claim.FETCH, None)
    assert cache.claim("k", "w2") == (Claim.WAIT, None)
    assert cache.claim("k", "w3") == (Claim.WAIT, None)
    assert cache.complete("k", ok()) == ["w2", "w3"]
    hit = cache.claim("k", "w4")
    assert hit.how is Claim.HIT
    assert outcome(hit.result) == outcome(ok())


@pytest.mark.parametrize("result, ttl", [(ok(), 100), (bad(), 100), (bad(), 3600)])
def test_an_entry_is_fresh_before_its_ttl_and_stale_at_it(result, ttl):
    clock = Clock()
    cache = ResultCache(ttl, clock=clock)
    cache.claim("k", 0)
    cache.complete("k", result)
    life = ttl if result.ok else min(ttl, FAILURE_TTL)
    clock.now += life - 1e-6
    assert cache.claim("k", 0).how is Claim.HIT
    clock.now = 1000.0 + life
    assert cache.claim("k", 0).how is Claim.FETCH  # stale exactly at the TTL: fetched again


def test_failures_are_kept_at_most_a_minute():
    clock = Clock()
    cache = ResultCache(3600, clock=clock)
    cache.claim("k", 0)
    cache.complete("k", bad())
    clock.now += FAILURE_TTL - 1
    assert outcome(cache.claim("k", 0).result) == outcome(bad())
    clock.now += 2
    assert cache.claim("k", 0).how is Claim.FETCH


def test_ttl_zero_disables_reuse():
    cache = ResultCache(0, clock=Clock())
    assert cache.claim("k", 0).how is Claim.FETCH
    assert cache.claim("k", 1).how is Claim.FETCH
    assert cache.complete("k", ok()) == []
    assert cache.claim("k", 2).how is Claim.FETCH


def test_a_kept_result_drops_the_occurrence_and_expands_back():
    result = ok("http://a/x")._replace(elapsed=1.5)
    kept = compact("http://a/x", result)
    assert (kept.url, kept.line, kept.host, kept.final_url) == ("", 0, "", None)
    back = expand("http://a/x", kept, url="www.a/x", line=7, host="a", elapsed=0.0)
    assert back == result._replace(url="www.a/x", line=7, elapsed=0.0, cached=True)
    moved = ok("http://a/x")._replace(final_url="http://b/")
    assert expand("k", compact("http://a/x", moved), url="u", line=1, host="a",
                  elapsed=0).final_url == "http://b/"
    failed = expand("k", compact("k", bad()), url="u", line=1, host="a", elapsed=0)
    assert failed.final_url is None and failed.error == "timeout" and failed.cached


def test_the_cache_holds_at_most_its_size_least_recently_used_first_out():
    cache = ResultCache(3600, clock=Clock(), size=3)
    for key in "abc":
        cache.claim(key, 0)
        cache.complete(key, ok(key))
    assert cache.claim("a", 0).how is Claim.HIT  # a is now the most recently used
    cache.claim("d", 0)
    cache.complete("d", ok("d"))
    assert len(cache) == 3
    assert cache.claim("b", 0).how is Claim.FETCH  # b went first
    assert all(cache.claim(key, 0).how is Claim.HIT for key in "acd")


def test_an_expired_entry_counts_until_it_is_pushed_out():
    clock = Clock()
    lru = LRU(2, clock)
    lru.put("old", 1, 1.0)
    clock.now += 5
    lru.put("x", 2, 10)
    lru.put("y", 3, 10)
    assert len(lru) == 2 and lru.get("old") is None and lru.get("x") == 2


def _ops_per_second(lru, keys):
    """Operations per second of this thread's CPU time (other load on the machine does not count)."""
    started = time.thread_time()
    for key in keys:
        lru.put(key, key, 60)
        lru.get(key)
    return len(keys) / max(time.thread_time() - started, 1e-9)


def test_cache_operations_cost_the_same_small_and_full():
    """Every put past the size evicts one entry in O(1): no sweep over the whole cache."""
    clock = Clock()
    small, full = LRU(1_000, clock), LRU(200_000, clock)
    for i in range(200_000):
        full.put(("fill", i), i, 60)
    for i in range(1_000):
        small.put(("fill", i), i, 60)
    rounds = []
    for r in range(5):  # alternate, take medians: the machine is shared
        keys = [("new", r, i) for i in range(20_000)]
        rounds.append((_ops_per_second(small, keys), _ops_per_second(full, keys)))
    small_rate = sorted(a for a, _ in rounds)[2]
    full_rate = sorted(b for _, b in rounds)[2]
    assert len(full) == 200_000 and len(small) == 1_000
    assert full_rate > small_rate / 2, (small_rate, full_rate)


def test_host_failures_are_remembered_for_the_failure_ttl_and_forgotten_on_success():
    clock = Clock()
    hosts = HostFailures(3600, clock=clock)
    down = bad()._replace(error="connect", reason="refused", host_down=True)
    hosts.failed("http://a", down)
    assert hosts.get("http://a").error == "connect"
    assert hosts.get("http://b") is None
    clock.now += FAILURE_TTL - 1e-6
    assert hosts.get("http://a") is not None
    clock.now = 1000.0 + FAILURE_TTL
    assert hosts.get("http://a") is None
    hosts.failed("http://a", down)
    hosts.succeeded("http://a")
    assert hosts.get("http://a") is None


def test_host_failures_follow_a_shorter_cache_ttl_and_zero_disables():
    clock = Clock()
    hosts = HostFailures(5, clock=clock)
    hosts.failed("h", bad())
    clock.now += 5
    assert hosts.get("h") is None
    off = HostFailures(0, clock=clock)
    off.failed("h", bad())
    assert off.get("h") is None


def test_a_host_that_answered_lately_is_not_down_after_one_failure_but_is_after_two():
    clock = Clock()
    hosts = HostFailures(3600, clock=clock)
    down = bad()._replace(error="connect", reason="refused", host_down=True)
    hosts.succeeded("http://a")
    assert hosts.failed("http://a", down) is False  # a passing fault of a host that answers
    assert hosts.get("http://a") is None
    assert hosts.failed("http://a", down) is True  # the second in a row
    assert hosts.get("http://a").reason == "refused"


def test_an_answer_between_two_failures_forgives_each():
    clock = Clock()
    hosts = HostFailures(3600, clock=clock)
    down = bad()._replace(error="tls", host_down=True)
    hosts.succeeded("http://a")
    for _ in range(3):
        assert hosts.failed("http://a", down) is False
        hosts.succeeded("http://a")
    assert hosts.get("http://a") is None
    assert hosts.failed("http://b", down) is True  # another host never answered


def test_an_answer_older_than_the_failure_ttl_forgives_nothing():
    clock = Clock()
    hosts = HostFailures(3600, clock=clock)
    down = bad()._replace(error="connect", host_down=True)
    hosts.succeeded("http://a")
    clock.now += FAILURE_TTL - 1e-6
    hosts.succeeded("http://b")
    clock.now += 1e-6
    assert hosts.failed("http://a", down) is True  # answered exactly FAILURE_TTL ago
    assert hosts.failed("http://b", down) is False  # answered just now
    assert hosts.get("http://a") is not None and hosts.get("http://b") is None


def test_a_failing_url_is_reported_once_per_failure_ttl():
    clock = Clock()
    once = ReportOnce(3600, clock=clock)
    assert once.first("u") and not once.first("u") and once.first("v")
    clock.now += FAILURE_TTL
    assert once.first("u")
    assert all(ReportOnce(0, clock=clock).first("u") for _ in range(3))
