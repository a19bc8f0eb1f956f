"""The address guard: classification tables and resolve() against the real system resolver."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkfilter import netguard
from linkfilter.errors import BadURL, BlockedAddress, DNSError, FetchTimeout
from linkfilter.netguard import address_kind, is_public, resolve

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "192.0.1.1",  # just below 192.0.0.0/24's neighbour ranges
    "192.31.196.1",  # AS112, globally reachable
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above CGNAT
    "172.15.255.255",
    "172.32.0.0",
    "223.255.255.255",  # last unicast before multicast
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001::1",
    "::ffff:8.8.8.8",  # mapped, public inside
    "::8.8.8.8",  # compatible, public inside
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "64:ff9b:1::808:808",  # local-use NAT64, /96 layout
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo: server 65.54.227.120, client 8.8.8.8
    "2606:4700::1111%eth0",  # a scope id does not change the address
]

NOT_PUBLIC = [
    # IPv4
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "this-network"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link-local"),
    ("192.0.0.9", "reserved"),
    ("192.0.0.170", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("192.88.99.1", "reserved"),
    ("224.0.0.1", "multicast"),  # is_global on 3.11
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.254", "reserved"),
    ("255.255.255.255", "broadcast"),
    # IPv6
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fe80::1%1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001:2::1", "benchmarking"),
    ("2001:10::1", "reserved"),
    ("100::1", "reserved"),  # discard-only
    ("4000::1", "reserved"),  # outside 2000::/3
    ("5f00::1", "reserved"),
    # IPv4 inside IPv6
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:7f00:1", "IPv4-mapped loopback"),
    ("::ffff:10.1.2.3", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
    ("::ffff:224.0.0.1", "IPv4-mapped multicast"),
    ("::127.0.0.1", "IPv4-compatible loopback"),
    ("::10.0.0.1", "IPv4-compatible private"),
    ("64:ff9b::7f00:1", "NAT64 loopback"),  # is_global on 3.11
    ("64:ff9b::a00:1", "NAT64 private"),
    ("64:ff9b::", "NAT64 unspecified"),
    ("64:ff9b:1::7f00:1", "NAT64 loopback"),
    ("64:ff9b:1:7f00:0:1::", "NAT64 loopback"),  # 127.0.0.1 placed for a /48 NAT64 prefix
    ("64:ff9b:1:0:7f:0:1:0", "NAT64 loopback"),  # ... for a /64 prefix
    ("64:ff9b:1:7f00:0:1:808:808", "NAT64 loopback"),  # public where /96 puts it, loopback for /48
    ("2002:7f00:1::", "6to4 loopback"),  # is_global on 3.11
    ("2002:c0a8:101::1", "6to4 private"),
    ("2002:e000:1::", "6to4 multicast"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo documentation"),  # RFC 4380: client 192.0.2.45
    ("2001:0:7f00:1::808:808", "Teredo loopback"),  # server 127.0.0.1
    ("2001:0:4136:e378::80ff:fffe", "Teredo loopback"),  # client 127.0.0.1 (inverted)
]


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses(ip):
    assert is_public(ip) is True
    assert address_kind(ip) is None


@pytest.mark.parametrize("ip, kind", NOT_PUBLIC)
def test_non_public_addresses_and_their_kind(ip, kind):
    assert is_public(ip) is False
    assert address_kind(ip) == kind


@pytest.mark.parametrize("ip", ["224.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"])
def test_is_global_traps_are_refused(ip):
    # The point of the explicit checks: these three are the 3.11 is_global blind spots.
    assert not is_public(ip)


@pytest.mark.parametrize(
    "text", ["", "localhost", "0177.0.0.1", "127.1", "1.2.3.4.5", "::g", "8.8.8.8%eth0", "[::1]"]
)
def test_text_that_is_no_address_is_not_public(text):
    assert is_public(text) is False
    assert address_kind(text) == "invalid"


IPV4 = st.integers(min_value=0, max_value=2**32 - 1)


@given(IPV4)
def test_ipv4_inside_ipv6_gets_the_ipv4_answer(value):
    v4 = str(ipaddress.IPv4Address(value))
    expected = is_public(v4)
    assert is_public(f"::ffff:{v4}") == expected
    assert is_public(f"64:ff9b::{v4}") == expected
    assert is_public(str(ipaddress.IPv6Address(0x2002 << 112 | value << 80 | 1))) == expected
    assert is_public(f"::{v4}") == expected


@given(IPV4)
def test_ipv4_at_least_as_strict_as_is_global(value):
    addr = ipaddress.IPv4Address(value)
    if is_public(str(addr)):
        assert addr.is_global and not addr.is_multicast


@given(st.integers(min_value=0x2000 << 112, max_value=(0x4000 << 112) - 1))
def test_global_unicast_ipv6_at_least_as_strict_as_is_global(value):
    addr = ipaddress.IPv6Address(value)
    if addr in ipaddress.IPv6Network("2001::/32") or addr in ipaddress.IPv6Network("2002::/16"):
        return  # Teredo and 6to4 are judged by the IPv4 inside, which is_global ignores
    if is_public(str(addr)):
        assert addr.is_global


# resolve() against the real resolver, loopback names only.

LOOPBACK_SPELLINGS = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
]


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_are_blocked(host):
    with pytest.raises(BlockedAddress) as info:
        resolve(host, 80, deadline=soon(), allow_private=False)
    message = str(info.value)
    assert "loopback" in message
    assert "--allow-private" in message
    assert host.strip("[]") in message
    assert info.value.code == "blocked-address"


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_resolve_when_allowed(host):
    found = resolve(host, 8080, deadline=soon(), allow_private=True)
    assert found
    assert len(found) == len(set(found))
    for family, sockaddr in found:
        assert family in (socket.AF_INET, socket.AF_INET6)
        assert sockaddr[1] == 8080
        assert address_kind(sockaddr[0]) in ("loopback", "IPv4-mapped loopback")
        # A ready sockaddr for connect(): the right length for its family.
        assert len(sockaddr) == (2 if family == socket.AF_INET else 4)


def test_numeric_spellings_resolve_to_the_canonical_address():
    for host in ("127.1", "2130706433", "0x7f000001", "0177.0.0.1"):
        assert resolve(host, 80, deadline=soon(), allow_private=True) == [
            (socket.AF_INET, ("127.0.0.1", 80))
        ]
    assert resolve("::1", 443, deadline=soon(), allow_private=True) == [
        (socket.AF_INET6, ("::1", 443, 0, 0))
    ]


def test_message_for_a_literal_says_is_not_resolves():
    with pytest.raises(BlockedAddress, match=r"^127\.0\.0\.1 is a loopback address; use --allow"):
        resolve("127.0.0.1", 80, deadline=soon(), allow_private=False)
    with pytest.raises(BlockedAddress, match=r"^2130706433 resolves to 127\.0\.0\.1, a loopback"):
        resolve("2130706433", 80, deadline=soon(), allow_private=False)
    with pytest.raises(BlockedAddress, match="an IPv4-mapped loopback address"):
        resolve("::ffff:127.0.0.1", 80, deadline=soon(), allow_private=False)


def test_a_name_that_does_not_resolve_fails_within_the_deadline():
    # No network here: the lookup fails at once, or hangs until the deadline cuts it off.
    budget = 2.0
    start = time.monotonic()
    with pytest.raises((DNSError, FetchTimeout)) as info:
        resolve("nonexistent.invalid", 80, deadline=start + budget, allow_private=False)
    assert time.monotonic() - start < budget + 0.5
    assert "nonexistent.invalid" in str(info.value)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_deadline_already_past_is_a_timeout(host):
    with pytest.raises(FetchTimeout, match=host) as info:
        resolve(host, 80, deadline=time.monotonic() - 1, allow_private=True)
    assert info.value.code == "timeout"


def test_busy_dns_threads_make_a_name_time_out_but_not_a_literal():
    # Hold every free slot, as lookups stuck on a dead resolver would (an earlier test's
    # lookup of nonexistent.invalid may still hold one where DNS hangs).
    taken = 0
    try:
        while netguard._pool.slots.acquire(blocking=False):
            taken += 1
        assert 0 < taken <= netguard.DNS_THREADS
        start = time.monotonic()
        with pytest.raises(FetchTimeout, match="localhost"):
            resolve("localhost", 80, deadline=start + 0.3, allow_private=True)
        assert 0.25 < time.monotonic() - start < 1.0
        # Numeric hosts never need a thread.
        assert resolve("127.0.0.1", 80, deadline=soon(), allow_private=True)
    finally:
        for _ in range(taken):
            netguard._pool.slots.release()
    assert resolve("localhost", 80, deadline=soon(), allow_private=True)


def test_many_lookups_leave_no_thread_behind():
    for _ in range(3 * netguard.DNS_THREADS):
        resolve("localhost", 80, deadline=soon(), allow_private=True)
    assert netguard._pool.slots.acquire(blocking=False)  # slots came back
    netguard._pool.slots.release()


def _dns_threads() -> int:
    return sum(t.name == "linkfilter-dns" for t in threading.enumerate())


def test_a_lookup_thread_waits_for_the_next_lookup():
    resolve("localhost", 80, deadline=soon(), allow_private=True)
    kept = _dns_threads()
    assert kept >= 1
    for _ in range(20):
        assert resolve("localhost", 80, deadline=soon(), allow_private=True)
    assert _dns_threads() == kept  # no thread started per lookup


def test_lookups_at_once_never_make_more_than_dns_threads():
    errors: list[BaseException] = []
    go = threading.Event()

    def look() -> None:
        go.wait(5)
        try:
            resolve("localhost", 80, deadline=soon(), allow_private=True)
        except BaseException as e:
            errors.append(e)

    callers = [threading.Thread(target=look, daemon=True) for _ in range(3 * netguard.DNS_THREADS)]
    for t in callers:
        t.start()
    go.set()
    for t in callers:
        t.join(10)
    assert not any(t.is_alive() for t in callers)
    assert not errors
    assert 1 <= _dns_threads() <= netguard.DNS_THREADS


@pytest.mark.parametrize(
    "host, port",
    [("", 80), (".", 80), ("bad host", 80), ("a\x00b", 80), ("bücher.de", 80), ("localhost", 70000)],
)
def test_malformed_hosts_and_ports_are_bad_urls(host, port):
    with pytest.raises(BadURL):
        resolve(host, port, deadline=soon(), allow_private=True)


# resolve() with the resolver injected: names that resolve to several addresses.


def fake_getaddrinfo(answers: dict[bytes, list[str]]):
    """A stand-in for the system resolver (netguard._getaddrinfo) that knows only ``answers``."""

    def getaddrinfo(name: bytes, port: int, flags: int = 0) -> list:
        if flags & socket.AI_NUMERICHOST or name not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos = []
        for ip in answers[name]:
            if ":" in ip:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)))
        return infos

    return getaddrinfo


@pytest.mark.parametrize(
    "addresses, private",
    [
        (["93.184.216.34", "127.0.0.1"], "127.0.0.1"),  # public first, then private
        (["127.0.0.1", "93.184.216.34"], "127.0.0.1"),  # private first
        (["2606:4700:4700::1111", "8.8.8.8", "10.1.2.3"], "10.1.2.3"),  # private last of three
        (["2606:4700:4700::1111", "fe80::1"], "fe80::1"),
        (["8.8.8.8", "::ffff:192.168.1.1"], "::ffff:192.168.1.1"),
    ],
)
def test_a_name_with_any_private_address_is_refused(monkeypatch, addresses, private):
    monkeypatch.setattr(netguard, "_getaddrinfo", fake_getaddrinfo({b"mixed.example": addresses}))
    with pytest.raises(BlockedAddress) as info:
        resolve("mixed.example", 80, deadline=soon(), allow_private=False)
    assert str(info.value).startswith(f"mixed.example resolves to {private}, ")
    assert "--allow-private" in str(info.value)
    # allowed, every address comes back in the resolver's order
    found = resolve("mixed.example", 80, deadline=soon(), allow_private=True)
    assert [sockaddr[0] for _, sockaddr in found] == addresses


def test_a_name_with_only_public_addresses_resolves(monkeypatch):
    addresses = ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"]
    monkeypatch.setattr(netguard, "_getaddrinfo", fake_getaddrinfo({b"public.example": addresses}))
    found = resolve("public.example", 443, deadline=soon(), allow_private=False)
    assert found == [
        (socket.AF_INET, ("93.184.216.34", 443)),
        (socket.AF_INET6, ("2606:4700:4700::1111", 443, 0, 0)),
        (socket.AF_INET, ("8.8.8.8", 443)),
    ]
