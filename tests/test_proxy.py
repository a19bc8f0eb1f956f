"""Proxy choice from explicit environments, as curl makes it."""

from __future__ import annotations

import base64

import pytest

from linkfilter.errors import BadURL
from linkfilter.proxy import (
    DEFAULT_PROXY_PORT,
    Proxies,
    Proxy,
    no_proxy_matches,
    parse_proxy_url,
    proxy_for,
    redact,
)

P = "http://proxy.test:3128"


def where(scheme: str, env: dict[str, str], host: str = "example.com", port: int | None = None):
    """(host, port) of the chosen proxy, or None."""
    port = port if port is not None else (443 if scheme == "https" else 80)
    proxy = proxy_for(scheme, host, port, env)
    return None if proxy is None else (proxy.host, proxy.port)


@pytest.mark.parametrize(
    "scheme, env, expected",
    [
        ("http", {}, None),
        ("https", {}, None),
        ("http", {"http_proxy": P}, ("proxy.test", 3128)),
        ("http", {"HTTP_PROXY": P}, ("proxy.test", 3128)),
        ("http", {"HTTP_PROXY": P, "http_proxy": "http://lower:1"}, ("lower", 1)),
        # under CGI, HTTP_PROXY comes from a client's Proxy: header ("httpoxy"): ignored
        ("http", {"HTTP_PROXY": P, "REQUEST_METHOD": "GET"}, None),
        ("http", {"HTTP_PROXY": P, "REQUEST_METHOD": "GET", "all_proxy": "http://all:1"}, ("all", 1)),
        ("https", {"https_proxy": P}, ("proxy.test", 3128)),
        ("https", {"HTTPS_PROXY": P}, ("proxy.test", 3128)),
        ("https", {"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:2"}, ("low", 1)),
        # Each scheme its own variable.
        ("https", {"http_proxy": P}, None),
        ("http", {"https_proxy": P}, None),
        # all_proxy as the fallback, lower case first, the scheme's own variable first.
        ("http", {"all_proxy": P}, ("proxy.test", 3128)),
        ("https", {"ALL_PROXY": P}, ("proxy.test", 3128)),
        ("https", {"all_proxy": "http://low:1", "ALL_PROXY": "http://up:2"}, ("low", 1)),
        ("https", {"https_proxy": "http://own:1", "all_proxy": "http://all:2"}, ("own", 1)),
        # Empty counts as unset.
        ("https", {"https_proxy": "", "HTTPS_PROXY": "http://up:2"}, ("up", 2)),
        ("http", {"http_proxy": "  ", "all_proxy": "http://all:2"}, ("all", 2)),
        # Scheme case does not matter; other schemes never use a proxy.
        ("HTTP", {"http_proxy": P}, ("proxy.test", 3128)),
        ("ftp", {"all_proxy": P, "ftp_proxy": P}, None),
    ],
)
def test_which_variable(scheme, env, expected):
    assert where(scheme, env) == expected


@pytest.mark.parametrize(
    "value, host, port",
    [
        ("http://proxy.test:3128", "proxy.test", 3128),
        ("http://proxy.test:3128/", "proxy.test", 3128),
        ("proxy.test:3128", "proxy.test", 3128),  # no scheme means http://
        ("proxy.test", "proxy.test", DEFAULT_PROXY_PORT),  # no port means 1080, as in curl
        ("http://proxy.test", "proxy.test", 1080),
        ("HTTP://Proxy.Test:8080", "proxy.test", 8080),
        ("http://10.0.0.1:3128", "10.0.0.1", 3128),
        ("http://[::1]:3128", "::1", 3128),
        ("[fd00::1]", "fd00::1", 1080),
        ("  http://proxy.test:3128  ", "proxy.test", 3128),
    ],
)
def test_proxy_url_forms(value, host, port):
    proxy = proxy_for("https", "example.com", 443, {"https_proxy": value})
    assert proxy is not None
    assert (proxy.host, proxy.port) == (host, port)
    assert proxy.url == value.strip()
    assert proxy.authorization is None


def basic(pair: str) -> str:
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


@pytest.mark.parametrize(
    "value, pair",
    [
        ("http://user:pass@proxy.test:3128", "user:pass"),
        ("user:pass@proxy.test:3128", "user:pass"),
        ("http://user@proxy.test:3128", "user:"),
        ("http://us%40er:p%3Aa%20ss@proxy.test:3128", "us@er:p:a ss"),  # percent-decoded
        ("http://j%C3%B6rg:gr%C3%BC%C3%9Fe@proxy.test", "jörg:grüße"),  # UTF-8
    ],
)
def test_credentials_become_a_basic_header_and_leave_the_url(value, pair):
    proxy = proxy_for("http", "example.com", 80, {"http_proxy": value})
    assert proxy is not None
    assert proxy.host == "proxy.test"
    assert proxy.authorization == basic(pair)
    password = pair.split(":", 1)[1]
    if password:
        assert password not in proxy.url
        assert ":***@" in proxy.url
    assert proxy.authorization not in repr(proxy)


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("https://proxy.test:3128", "only http:// proxies"),
        ("socks5://proxy.test:1080", "not socks5://"),
        ("socks5h://user:secret@proxy.test", "https_proxy"),
        ("http://proxy.test:99999", "bad proxy URL"),
        ("http://proxy.test:port", "bad proxy URL"),
        ("http://[::1", "bad proxy URL"),
        ("http://:3128", "names no host"),
        ("http://", "names no host"),
        ("http://pröxy.test", "ASCII"),
        ("http://proxy.test:0", "port 0"),
    ],
)
def test_unusable_proxy_urls_are_bad_urls(value, fragment):
    with pytest.raises(BadURL) as info:
        proxy_for("https", "example.com", 443, {"https_proxy": value})
    message = str(info.value)
    assert fragment in message
    assert "https_proxy=" in message
    assert "secret" not in message


def test_an_unusable_proxy_is_no_error_for_a_host_that_bypasses_it():
    env = {"https_proxy": "socks5://proxy.test", "no_proxy": "example.com"}
    assert proxy_for("https", "example.com", 443, env) is None
    with pytest.raises(BadURL):
        proxy_for("https", "other.test", 443, env)


@pytest.mark.parametrize(
    "no_proxy, host, port, expected",
    [
        ("*", "anything.test", 80, True),
        ("localhost, *", "anything.test", 80, True),
        ("example.com", "example.com", 80, True),
        ("example.com", "www.example.com", 80, True),
        ("example.com", "a.b.example.com", 80, True),
        ("example.com", "notexample.com", 80, False),
        ("example.com", "example.com.evil.test", 80, False),
        ("www.example.com", "example.com", 80, False),
        (".example.com", "example.com", 80, True),  # curl: a leading dot is ignored
        (".example.com", "www.example.com", 80, True),
        ("*.example.com", "www.example.com", 80, True),
        ("EXAMPLE.COM", "www.Example.com", 80, True),
        ("example.com.", "example.com", 80, True),
        ("example.com", "example.com.", 80, True),
        ("foo.test,example.com", "example.com", 80, True),
        ("foo.test example.com", "example.com", 80, True),
        (" foo.test , , example.com ", "example.com", 80, True),
        ("foo.test,bar.test", "example.com", 80, False),
        ("", "example.com", 80, False),
        (".", "example.com", 80, False),
        # ports
        ("example.com:8080", "example.com", 8080, True),
        ("example.com:8080", "example.com", 80, False),
        ("example.com:", "example.com", 80, False),
        ("10.0.0.1:8080", "10.0.0.1", 8080, True),
        ("10.0.0.1:8080", "10.0.0.1", 80, False),
        ("[::1]:8080", "::1", 8080, True),
        ("[::1]:8080", "::1", 80, False),
        ("[::1]", "::1", 80, True),
        # addresses and CIDR ranges
        ("10.0.0.1", "10.0.0.1", 80, True),
        ("10.0.0.1", "10.0.0.2", 80, False),
        ("10.0.0.0/8", "10.20.30.40", 80, True),
        ("10.0.0.0/8", "11.0.0.1", 80, False),
        ("192.168.1.7/24", "192.168.1.200", 80, True),  # host bits ignored, as curl does
        ("127.0.0.0/8", "127.0.0.1", 80, True),
        ("::1", "::1", 80, True),
        ("::1", "[::1]", 80, True),
        ("fd00::/8", "fd12::1", 80, True),
        ("[fd00::]/8", "fd12::1", 80, True),
        ("fd00::/8", "fe80::1", 80, False),
        ("fe80::/10", "fe80::1%eth0", 80, True),
        ("10.0.0.0/8", "::ffff:10.0.0.1", 80, False),  # families are not mixed
        # a name entry never matches an address host, nor the reverse
        ("example.com", "10.0.0.1", 80, False),
        ("10.0.0.0/8", "example.com", 80, False),
        ("127.0.0.1", "localhost", 80, False),
        ("10.0.0.0/33", "10.0.0.1", 80, False),  # a bad range matches nothing
    ],
)
def test_no_proxy_matching(no_proxy, host, port, expected):
    assert no_proxy_matches(host, port, no_proxy) is expected


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"https_proxy": P, "no_proxy": "example.com"}, None),
        ({"https_proxy": P, "NO_PROXY": "example.com"}, None),
        ({"https_proxy": P, "no_proxy": "other.test"}, ("proxy.test", 3128)),
        # Lower case wins: an upper-case list that would match is not read.
        ({"https_proxy": P, "no_proxy": "other.test", "NO_PROXY": "*"}, ("proxy.test", 3128)),
        ({"https_proxy": P, "no_proxy": "", "NO_PROXY": "*"}, None),
        ({"all_proxy": P, "no_proxy": "*"}, None),
    ],
)
def test_no_proxy_variables(env, expected):
    assert where("https", env) == expected


def test_env_defaults_to_os_environ(monkeypatch):
    for name in ("http_proxy", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("http", "example.com", 80) is None
    monkeypatch.setenv("http_proxy", "http://from-env.test:3128")
    assert proxy_for("http", "example.com", 80) == Proxy(
        "from-env.test", 3128, "http://from-env.test:3128"
    )
    monkeypatch.setenv("no_proxy", "example.com")
    assert proxy_for("http", "example.com", 80) is None


def test_proxies_read_the_environment_once():
    env = {"http_proxy": P, "no_proxy": "direct.test"}
    proxies = Proxies(env)
    env.clear()  # what a Fetcher sees was fixed when it was made
    assert proxies.proxy_for("HTTP", "example.com", 80) == Proxy("proxy.test", 3128, P)
    assert proxies.proxy_for("http", "example.com", 80) is proxies.proxy_for("http", "a.test", 80)
    assert proxies.proxy_for("http", "direct.test", 80) is None
    assert proxies.proxy_for("https", "example.com", 443) is None
    assert Proxies(env).proxy_for("http", "example.com", 80) is None


def test_proxies_refuse_a_bad_proxy_url_on_every_request():
    proxies = Proxies({"https_proxy": "socks5://proxy.test"})
    for _ in range(2):
        with pytest.raises(BadURL, match="^https_proxy=socks5://"):
            proxies.proxy_for("https", "example.com", 443)


def test_parse_proxy_url_names_the_variable():
    assert parse_proxy_url("proxy.test:1").port == 1
    with pytest.raises(BadURL, match="^all_proxy=socks4://"):
        parse_proxy_url("socks4://proxy.test", variable="all_proxy")


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://user:secret@proxy:3128", "http://user:***@proxy:3128"),
        ("user:secret@proxy:3128/path", "user:***@proxy:3128/path"),
        ("http://user:se@cret@proxy", "http://user:***@proxy"),
        ("http://user@proxy", "http://user@proxy"),
        ("http://proxy:3128/a@b", "http://proxy:3128/a@b"),
        ("proxy", "proxy"),
    ],
)
def test_redact(url, shown):
    assert redact(url) == shown


def test_proxy_is_a_frozen_value():
    proxy = Proxy("proxy.test", 3128, P)
    with pytest.raises(AttributeError):
        proxy.port = 1  # type: ignore[misc]
    assert proxy == Proxy("proxy.test", 3128, P, None)
