"""The address guard: resolve a host once, within the deadline, and refuse non-public addresses.

The fetcher connects to exactly the addresses ``resolve`` returns and never looks the name
up again, so DNS rebinding cannot swap a checked public address for a private one.

``ipaddress.is_global`` is not used: its answers change between Python releases, and on
3.11 it calls ``224.0.0.1``, ``64:ff9b::7f00:1`` and ``2002:7f00:1::`` global. The tables
below follow the IANA special-purpose registries instead, and IPv4 addresses embedded in
IPv6 (mapped, compatible, NAT64, 6to4, Teredo) are unpacked and checked as IPv4.
"""

from __future__ import annotations

import ipaddress
import socket
import time

from linkfilter.dnspool import DNSPool, LookupTimeout, PoolBusy
from linkfilter.errors import BadURL, BlockedAddress, DNSError, FetchTimeout

#: Most lookups running at once (``dnspool`` says why there is a cap).
DNS_THREADS = 16

#: What allow_private=False tells the user to pass.
ALLOW_FLAG = "--allow-private"

# First match wins, so the narrow ranges come before the wide ones that hold them.
_V4_SPECIAL = [
    (ipaddress.IPv4Network(net), kind)
    for net, kind in (
        ("0.0.0.0/32", "unspecified"),
        ("0.0.0.0/8", "this-network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments, all of it
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),  # deprecated 6to4 relay anycast
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
]

_V6_SPECIAL = [
    (ipaddress.IPv6Network(net), kind)
    for net, kind in (
        ("2001:2::/48", "benchmarking"),
        ("2001::/23", "reserved"),  # IETF protocol assignments (Teredo is checked before)
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "reserved"),  # SRv6 segment identifiers
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
]

#: Global unicast IPv6: anything outside it (and not unpacked above) is not public.
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")

_MASK32 = 0xFFFFFFFF


def is_public(ip: str) -> bool:
    """Tell whether ``ip`` is a globally routable unicast address; text that is no address is not."""
    return address_kind(ip) is None


def address_kind(ip: str) -> str | None:
    """Name what makes ``ip`` non-public ("loopback", "IPv4-mapped private", ...), or None if public.

    Text that does not parse as an address (including IPv4 with leading zeros) is "invalid".
    A scope id (``fe80::1%eth0``) is ignored.
    """
    text = str(ip)
    if ":" in text:
        text = text.split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return "invalid"
    if addr.version == 4:
        return _v4_kind(int(addr))
    return _v6_kind(addr)


def _v4_kind(value: int) -> str | None:
    addr = ipaddress.IPv4Address(value)
    for net, kind in _V4_SPECIAL:
        if addr in net:
            return kind
    return None


def _embedded(prefix: str, value: int) -> str | None:
    kind = _v4_kind(value)
    return None if kind is None else f"{prefix} {kind}"


def _bits(value: int, start: int, length: int) -> int:
    """Bits ``start`` .. ``start + length`` of a 128-bit value, counted from the top."""
    return (value >> (128 - start - length)) & ((1 << length) - 1)


def _nat64_local_candidates(value: int) -> list[int]:
    """Where RFC 6052 puts the IPv4 address under a /96, /64, /56 or /48 NAT64 prefix."""
    return [
        _bits(value, 96, 32),
        _bits(value, 72, 32),
        _bits(value, 56, 8) << 24 | _bits(value, 72, 24),
        _bits(value, 48, 16) << 16 | _bits(value, 72, 16),
    ]


def _v6_kind(addr: ipaddress.IPv6Address) -> str | None:
    value = int(addr)
    if value == 0:
        return "unspecified"
    if value == 1:
        return "loopback"
    if addr in _MAPPED:
        return _embedded("IPv4-mapped", value & _MASK32)
    if addr in _COMPATIBLE:
        return _embedded("IPv4-compatible", value & _MASK32)
    if addr in _NAT64:
        return _embedded("NAT64", value & _MASK32)
    if addr in _NAT64_LOCAL:
        # The operator's prefix length is unknown here: the IPv4 in the usual /96 place must be
        # public, and so must every other place it may sit, except 0.0.0.0/8, which is what the
        # zero padding of a /96 address reads as there and which no translator forwards.
        usual, *others = _nat64_local_candidates(value)
        for candidate in others:
            if candidate >> 24 and _v4_kind(candidate):
                return _embedded("NAT64", candidate)
        return _embedded("NAT64", usual)
    if addr in _SIX_TO_FOUR:
        return _embedded("6to4", _bits(value, 16, 32))
    if addr in _TEREDO:
        # Teredo carries the server's IPv4 plainly and the client's inverted.
        return _embedded("Teredo", _bits(value, 32, 32)) or _embedded(
            "Teredo", ~value & _MASK32
        )
    for net, kind in _V6_SPECIAL:
        if addr in net:
            return kind
    if addr not in _V6_GLOBAL_UNICAST:
        return "reserved"
    return None


def _with_article(kind: str) -> str:
    vowel = kind[0] in "aeiouAEIOU" and not kind.startswith("uni")
    return f"{'an' if vowel else 'a'} {kind}"


def resolve(
    host: str, port: int, *, deadline: float, allow_private: bool
) -> list[tuple[int, tuple]]:
    """Resolve ``host`` for TCP before the ``time.monotonic()`` ``deadline``; check every address.

    ``host`` is ASCII (IDNA already applied); IPv6 may come with or without brackets; one
    trailing dot is dropped (the system resolver does not find ``localhost.``). Numeric
    spellings (``127.1``, ``2130706433``, ``0x7f000001``) are what the C library makes of them.

    Returns ``[(family, sockaddr), ...]`` in getaddrinfo order, without duplicates: connect
    to these, never to the name. Raises BadURL for a malformed host or port, DNSError when
    the name does not resolve, FetchTimeout when the deadline comes first, and
    BlockedAddress unless ``allow_private`` when any address is not public.
    """
    name = _lookup_name(host)
    if not 0 <= port <= 65535:
        raise BadURL(f"port {port} of {host} is out of range (0-65535)")
    if deadline - time.monotonic() <= 0:
        raise FetchTimeout(f"timed out before resolving {host}")
    infos = _numeric(name, port)
    if infos is None:
        infos = _lookup_within(name, port, host, deadline)
    found: list[tuple[int, tuple]] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        entry = (int(family), tuple(sockaddr))
        if entry not in found:
            found.append(entry)
    if not found:
        raise DNSError(f"{host} has no IPv4 or IPv6 address")
    if not allow_private:
        for _family, sockaddr in found:
            kind = address_kind(sockaddr[0])
            if kind is not None:
                raise BlockedAddress(_blocked_message(host, sockaddr[0], kind))
    return found


def _blocked_message(host: str, ip: str, kind: str) -> str:
    what = f"{_with_article(kind)} address"
    if host.strip("[]").lower() == ip.lower():
        return f"{ip} is {what}; use {ALLOW_FLAG} to allow it"
    return f"{host} resolves to {ip}, {what}; use {ALLOW_FLAG} to allow it"


def _lookup_name(host: str) -> bytes:
    """The name to hand getaddrinfo, as ASCII bytes (so Python's IDNA 2003 codec stays out)."""
    name = host
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise BadURL("empty host name")
    if any(ord(c) <= 32 or ord(c) == 127 for c in name):
        raise BadURL(f"host {host!r} holds a space or control character")
    try:
        return name.encode("ascii")
    except UnicodeEncodeError:
        raise BadURL(f"host {host!r} is not ASCII (IDNA-encode it first)") from None


def _getaddrinfo(name: bytes, port: int, flags: int = 0) -> list:
    return socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP, flags)


def _numeric(name: bytes, port: int) -> list | None:
    """getaddrinfo for a numeric host, which never blocks; None for a name that needs a lookup."""
    try:
        return _getaddrinfo(name, port, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None


_pool = DNSPool(DNS_THREADS, "linkfilter-dns")


def _lookup_within(name: bytes, port: int, host: str, deadline: float) -> list:
    try:
        return _pool.run(lambda: _getaddrinfo(name, port), deadline)
    except PoolBusy:
        raise FetchTimeout(
            f"timed out resolving {host}: all {DNS_THREADS} DNS threads (DNS_THREADS) were busy"
        ) from None
    except LookupTimeout:
        raise FetchTimeout(f"timed out resolving {host}") from None
    except socket.gaierror as e:
        raise DNSError(f"cannot resolve {host}: {e.strerror}") from e
    except (OSError, UnicodeError, ValueError) as e:
        raise DNSError(f"cannot resolve {host}: {e}") from e
