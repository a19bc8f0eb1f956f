"""oEmbed: the provider registry, where discovery may lead, and one answer within the URL's deadline.

The registry (``data/oembed-providers.json``, the public registry's ``providers.json``;
MIT, licence beside it; rebuilt by ``scripts/update_oembed.py``) is read at the first
URL that needs it, and indexed once by host: a URL is matched against the schemes of
the providers of its own host and its parent domains only, with the registry's glob
rules (``*`` is any run of characters, within the host in a host), ``http`` and
``https`` alike. A discovered endpoint (``<link rel=alternate
type=application/json+oembed>`` or a ``Link`` header) is followed only on the page's
own registrable domain or on a registry endpoint host.

An answer is one more request under the URL's one deadline, through the same guard,
proxies and user agent: at most ``MAX_BODY`` bytes of JSON. Its ``html`` is never
rendered or run; only the text of a ``<blockquote>``'s first paragraph is taken, as
the title of a post that has none.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import NamedTuple
from urllib.parse import quote, urljoin, urlsplit

from linkfilter.errors import FetchError
from linkfilter.title import OEMBED_TYPE, Card, clean_title, unescape

#: The registry, a file of this package.
REGISTRY_FILE = "data/oembed-providers.json"
#: Most bytes of an oEmbed answer read.
MAX_BODY = 64 * 1024
#: The Accept header of an oEmbed request.
ACCEPT = "application/json"
#: Media types whose body is read as JSON (``text/javascript``: older providers' label).
JSON_TYPES = frozenset({"application/json", "text/json", OEMBED_TYPE, "text/javascript"})
#: oEmbed ``type`` -> ``kind``.
KINDS = {"photo": "image", "video": "video", "rich": "page", "link": "page"}


class Endpoint(NamedTuple):
    """One provider endpoint: its URL (``{format}`` filled in) and the provider's name."""

    url: str
    provider: str


class Answer(NamedTuple):
    """What an oEmbed answer says (cleaned), and the kind of thing it describes."""

    card: Card
    kind: str


class _Registry(NamedTuple):
    by_host: dict[str, list[tuple[str, Endpoint]]]  # host key -> (scheme, endpoint)
    endpoint_hosts: frozenset[str]


_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _glob(scheme: str) -> re.Pattern[str] | None:
    """The regex of a registry scheme, for http and https alike; None if not a web URL."""
    m = re.match(r"https?://([^/]*)(.*)", scheme, re.I)
    if m is None:
        return None
    host = "[^/?#]*".join(re.escape(part) for part in m.group(1).lower().split("*"))
    rest = ".*".join(re.escape(part) for part in m.group(2).split("*"))
    return re.compile(f"https?://{host}{rest}", re.I)


def _host_key(scheme: str) -> str:
    """The fixed end of a scheme's host: ``youtube.com`` for ``https://*.youtube.com/...``."""
    host = scheme.partition("://")[2].partition("/")[0].lower()
    return host.rpartition("*")[2].lstrip(".")


def _endpoint_url(url: str) -> str:
    return url.replace("{format}", "json")


@functools.lru_cache(maxsize=1)
def _load() -> _Registry:
    import json
    import os

    # beside this module (importlib.resources would cost 20 ms of imports on the first URL)
    with open(os.path.join(os.path.dirname(__file__), REGISTRY_FILE), "rb") as f:
        providers = json.loads(f.read())
    by_host: dict[str, list[tuple[str, Endpoint]]] = {}
    hosts = set()
    for provider in providers:
        for entry in provider.get("endpoints", ()):
            endpoint = Endpoint(_endpoint_url(entry["url"]), provider.get("provider_name", ""))
            hosts.add((urlsplit(endpoint.url).hostname or "").lower())
            for scheme in entry.get("schemes", ()):
                if scheme[:4].lower() == "http":  # compiled at its first use
                    by_host.setdefault(_host_key(scheme), []).append((scheme, endpoint))
    hosts.discard("")
    return _Registry(by_host, frozenset(hosts))


def registry() -> _Registry:
    """The registry, loaded and indexed at the first call (once, whatever the threads)."""
    with _lock:
        return _load()


def endpoint_for(url: str) -> Endpoint | None:
    """The registry endpoint whose schemes match ``url``, if any."""
    from linkfilter.card import host_of

    host = host_of(url)
    if not host:
        return None
    for rx, endpoint in _schemes_for(host.lower()):
        if rx.fullmatch(url):
            return endpoint
    return None


@functools.lru_cache(maxsize=1024)
def _schemes_for(host: str) -> tuple[tuple[re.Pattern[str], Endpoint], ...]:
    """The registry's schemes that may match a URL on ``host`` (its own, its parents',
    the host-less ones), in the order they are tried, found once per host."""
    by_host = registry().by_host
    labels = host.split(".")
    found = []
    for key in [".".join(labels[i:]) for i in range(len(labels))] + [""]:
        for scheme, endpoint in by_host.get(key, ()):
            rx = _glob(scheme)
            if rx is not None:
                found.append((rx, endpoint))
    return tuple(found)


def request_url(endpoint: Endpoint, url: str) -> str:
    """The request for ``url``'s answer at a registry endpoint."""
    query = f"url={quote(url, safe='')}&format=json"
    return endpoint.url + ("&" if "?" in endpoint.url else "?") + query


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_PARAM = re.compile(r"""\s*;\s*([^=;\s]+)\s*=\s*("[^"]*"|[^;,\s]*)""")


def link_header(value: str | None) -> str | None:
    """The oEmbed JSON URL of a ``Link`` header (``<...>; rel="alternate"; type=...``), if any."""
    if not value:
        return None
    for m in _LINK.finditer(value):
        params = {k.lower(): v.strip('"') for k, v in _PARAM.findall(m.group(2))}
        if "alternate" in params.get("rel", "").lower().split() \
                and params.get("type", "").strip().lower() == OEMBED_TYPE:
            return m.group(1).strip()
    return None


def discovered(href: str | None, page_url: str) -> str | None:
    """The absolute URL of a discovered endpoint, when discovery may follow it: on the
    page's own registrable domain, or a registry endpoint host; else None."""
    from linkfilter.domain import same_site

    if not href:
        return None
    try:
        target = urljoin(page_url, href)
        parts = urlsplit(target)
        host = (parts.hostname or "").lower()
        page_host = (urlsplit(page_url).hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    if same_site(host, page_host) or host in registry().endpoint_hosts:
        return target
    return None


_BLOCKQUOTE = re.compile(r"<blockquote\b", re.I)
_P_OR_END = re.compile(r"<p\b|</blockquote", re.I)
_P_END = re.compile(r"</p\s*>", re.I)
_TAG = re.compile(r"<[^<>]*>")


def _first_paragraph(html: str) -> str | None:
    """The markup inside the first ``<p>`` of the first ``<blockquote>``, if it has one.

    Each search starts where the last one stopped, so a hostile answer (thousands of
    unclosed tags) costs time in proportion to its length, not its square.
    """
    m = _BLOCKQUOTE.search(html)
    if m is None:
        return None
    at = html.find(">", m.end())
    p = _P_OR_END.search(html, at + 1) if at >= 0 else None
    if p is None or p.group()[1] == "/":
        return None
    start = html.find(">", p.end())
    end = _P_END.search(html, start + 1) if start >= 0 else None
    return html[start + 1:end.start()] if end is not None else None


def read(body: bytes, max_title: int) -> Answer | None:
    """An answer's fields, or None when it is not a JSON object or has no usable field."""
    import json

    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None

    def text(key: str) -> str | None:
        value = data.get(key)
        return clean_title(unescape(value), max_title) if isinstance(value, str) else None

    title = text("title")
    kind = data.get("type") if isinstance(data.get("type"), str) else ""
    html = data.get("html")
    if title is None and kind in ("rich", "video") and isinstance(html, str):
        paragraph = _first_paragraph(html)
        if paragraph is not None:
            title = clean_title(unescape(_TAG.sub(" ", paragraph)), max_title)
    card = Card(title=title, site=text("provider_name"), author=text("author_name"))
    if card == Card():
        return None
    return Answer(card, KINDS.get(kind, "page"))


def ask(fetcher, url: str, clock, max_title: int) -> Answer | None:
    """Request an oEmbed answer within ``clock``; None when it fails, answers 4xx/5xx, is
    not JSON or says nothing usable (the caller then reads the page)."""
    try:
        page = fetcher.fetch(url, clock=clock, accept=ACCEPT, read_types=JSON_TYPES,
                             max_bytes=MAX_BODY)
    except FetchError:
        return None
    if page.status >= 300 or page.capped or not page.body:
        return None
    return read(page.body, max_title)
