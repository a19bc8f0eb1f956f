"""Which proxy a request goes through, read from the environment the way curl reads it.

- ``http_proxy`` or ``HTTP_PROXY`` for http, ``https_proxy`` or ``HTTPS_PROXY`` for https;
  ``all_proxy`` or ``ALL_PROXY`` for either when the scheme's own variable is unset. Lower
  case wins, and an empty variable counts as unset. Under CGI (``REQUEST_METHOD`` set)
  ``HTTP_PROXY`` is ignored, as Python's urllib does: CGI puts a client's ``Proxy:``
  header there ("httpoxy").
- ``no_proxy`` / ``NO_PROXY`` lists hosts to reach directly (see ``no_proxy_matches``).
- A proxy URL without a scheme is ``http://``; without a port it is port 1080, as in curl.
- Only ``http://`` proxies are spoken to (https through them with CONNECT). Any other
  scheme (``https://``, ``socks5://``, ...) is a BadURL rather than a silent direct
  connection, which the user set a proxy to avoid.

A ``Proxies`` reads the variables once (a Fetcher makes one): choosing for a request
then costs no environment lookups.

Pure: nothing here does I/O.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from typing import Mapping, NamedTuple
from urllib.parse import unquote, urlsplit

from linkfilter.errors import BadURL

#: Port of a proxy URL that names none; curl's choice, whatever the proxy's scheme.
DEFAULT_PROXY_PORT = 1080

#: The only proxy scheme supported.
PROXY_SCHEME = "http"

_SEPARATORS = re.compile(r"[,\s]+")


class Proxy(NamedTuple):
    """An http:// proxy: where to connect, and the Proxy-Authorization value if it has credentials."""

    host: str  # ASCII, lower case, IPv6 without brackets
    port: int
    url: str  # as configured, password replaced by "***" (for messages)
    authorization: str | None = None  # "Basic ..." or None: never in the repr

    def __repr__(self) -> str:
        return f"Proxy(host={self.host!r}, port={self.port!r}, url={self.url!r})"


def proxy_for(
    scheme: str, host: str, port: int, env: Mapping[str, str] | None = None
) -> Proxy | None:
    """Return the proxy for a ``scheme://host:port`` request, or None to connect directly.

    ``env`` defaults to ``os.environ``. Raises BadURL when the proxy variable that applies
    holds an unusable URL (other scheme, bad port, no host); the message names the variable.
    """
    return Proxies(env).proxy_for(scheme, host, port)


class Proxies:
    """The proxy variables of one environment, read once: ``proxy_for`` then chooses for
    each request without reading the environment again (a Fetcher keeps one)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        cgi = "REQUEST_METHOD" in env
        self._found = {
            "http": _lookup(env, "http_proxy", upper=not cgi) or _lookup(env, "all_proxy"),
            "https": _lookup(env, "https_proxy") or _lookup(env, "all_proxy"),
        }
        no_proxy = _lookup(env, "no_proxy")
        self._no_proxy = no_proxy[1] if no_proxy is not None else None
        self._parsed: dict[str, Proxy] = {}

    def proxy_for(self, scheme: str, host: str, port: int) -> Proxy | None:
        """As the module's ``proxy_for``, from the variables read when this was made."""
        scheme = scheme.lower()
        found = self._found.get(scheme)
        if found is None:
            return None
        if self._no_proxy is not None and no_proxy_matches(host, port, self._no_proxy):
            return None
        proxy = self._parsed.get(scheme)
        if proxy is None:  # a bad URL is parsed (and refused) again on every request
            proxy = self._parsed[scheme] = parse_proxy_url(found[1], variable=found[0])
        return proxy


def _lookup(env: Mapping[str, str], name: str, upper: bool = True) -> tuple[str, str] | None:
    """(variable, value) of the first non-empty of ``name`` and, if ``upper``, ``NAME``."""
    for key in (name, name.upper()) if upper else (name,):
        value = env.get(key, "").strip()
        if value:
            return key, value
    return None


def no_proxy_matches(host: str, port: int, no_proxy: str) -> bool:
    """Tell whether a ``no_proxy`` value exempts ``host:port`` from the proxy.

    The value is a list split on commas and blanks. ``*`` matches every host. A name
    matches itself and its subdomains (``example.com`` and ``.example.com`` both match
    ``example.com`` and ``www.example.com``, not ``notexample.com``; a leading ``*.`` is
    read as ``.``); case and one trailing dot are ignored on both sides. An IP address or
    CIDR range (``10.0.0.0/8``, ``fd00::/8``) matches a host written as an address in it.
    Any entry may end in ``:port`` (IPv6 as ``[::1]:8080``) to match that port only.
    """
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    ip = _as_ip(name)
    if ip is None and name.endswith("."):
        name = name[:-1]
    for token in _SEPARATORS.split(no_proxy.strip().lower()):
        if token == "*":
            return True
        entry = _split_port(token)
        if entry is None:
            continue
        pattern, only_port = entry
        if only_port is not None and only_port != port:
            continue
        if ip is not None:
            if _ip_in(ip, pattern):
                return True
        elif _name_in(name, pattern):
            return True
    return False


def _as_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _split_port(token: str) -> tuple[str, int | None] | None:
    """``(pattern, port or None)`` of one no_proxy entry; None if it is malformed."""
    if not token:
        return None
    if token.startswith("["):
        end = token.find("]")
        if end < 0:
            return None
        pattern, rest = token[1:end], token[end + 1 :]
        if rest.startswith("/"):  # [fd00::]/8
            return pattern + rest, None
    elif token.count(":") == 1:
        pattern, rest = token.split(":")
        rest = ":" + rest
    else:
        return token, None  # a name, an IPv4 entry, or a bare IPv6 entry
    if not rest:
        return pattern, None
    if rest.startswith(":") and rest[1:].isdigit():
        return pattern, int(rest[1:])
    return None


def _ip_in(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, pattern: str) -> bool:
    try:
        network = ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return False
    return network.version == ip.version and ip in network


def _name_in(name: str, pattern: str) -> bool:
    if pattern.endswith("."):
        pattern = pattern[:-1]
    if pattern.startswith("*."):
        pattern = pattern[1:]
    pattern = pattern.lstrip(".")
    return bool(pattern) and (name == pattern or name.endswith("." + pattern))


def parse_proxy_url(text: str, *, variable: str = "proxy") -> Proxy:
    """Turn a proxy variable's value into a Proxy; BadURL (naming ``variable``) if unusable."""
    raw = text.strip()
    shown = redact(raw)
    full = raw if "://" in raw else f"{PROXY_SCHEME}://{raw}"
    scheme = full.split("://", 1)[0].lower()
    if scheme != PROXY_SCHEME:
        raise BadURL(
            f"{variable}={shown}: only http:// proxies are supported, not {scheme}://; "
            f"unset {variable} (or list the host in no_proxy) to connect directly"
        )
    try:
        parts = urlsplit(full)
        host = parts.hostname
        port = parts.port
    except ValueError as e:
        raise BadURL(f"{variable}={shown}: bad proxy URL ({e})") from None
    if not host:
        raise BadURL(f"{variable}={shown}: the proxy URL names no host")
    if not host.isascii() or any(ord(c) <= 32 or ord(c) == 127 for c in host):
        raise BadURL(f"{variable}={shown}: the proxy host must be plain ASCII")
    if port == 0:
        raise BadURL(f"{variable}={shown}: port 0 is not a proxy port")
    return Proxy(
        host=host,
        port=DEFAULT_PROXY_PORT if port is None else port,
        url=shown,
        authorization=_basic(parts.username, parts.password),
    )


def _basic(username: str | None, password: str | None) -> str | None:
    """The Proxy-Authorization value for percent-encoded URL credentials (UTF-8), or None."""
    if username is None:
        return None
    pair = f"{unquote(username)}:{unquote(password or '')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def redact(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part replaced by ``***``."""
    head, sep, rest = url.partition("://")
    if not sep:
        head, rest = "", url
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    userinfo, at, hostport = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{head}{sep}{user}:***@{hostport}{tail}"
