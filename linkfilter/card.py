"""Which title a link gets: the useless-title rule, and the choice among a page's titles.

A page may offer several titles: its ``<title>``, an oEmbed answer's, ``og:title``,
``twitter:title`` and a JSON-LD ``headline``/``name``. A title is *useless* when,
cleaned, it is empty; or it is only the site's name (its ``og:site_name``,
``application-name``, oEmbed ``provider_name`` or the name in its host: ``YouTube``
for ``www.youtube.com``), alone or with separators, on a page whose path is more
than ``/`` (a home page's title is its name); or it is one of ``PLACEHOLDERS``.
``choose`` takes the first useful one in the order ``--prefer`` asks for, and the
site, description and author beside it. Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, NamedTuple
from urllib.parse import urlsplit

from linkfilter.output import is_html_type
from linkfilter.markup import Meta
from linkfilter.title import ELLIPSIS, Card, Judge, PageCard, clean_title, meta_key

#: Titles that say nothing about the page: script walls, consent walls, log-in walls and
#: bot walls, with where each was seen. Compared ignoring case, spaces and punctuation.
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    ("JavaScript is not available.", "x.com and twitter.com posts, to agents without JavaScript"),
    ("Before you continue to YouTube", "consent.youtube.com, YouTube links from the EU"),
    ("Before you continue to Google", "consent.google.com, Google links from the EU"),
    ("Before you continue", "consent.google.com, Google Maps links from the EU"),
    ("Reddit - Dive into anything", "reddit.com posts served to bots"),
    ("Reddit - The heart of the internet", "reddit.com posts served to bots (2024 wording)"),
    ("Login • Instagram", "instagram.com posts behind the log-in wall"),
    ("Instagram", "instagram.com posts and instagr.am links"),
    ("Log in or sign up to view", "facebook.com posts behind the log-in wall"),
    ("Log into Facebook", "facebook.com and fb.watch links behind the log-in wall"),
    ("Sign Up | LinkedIn", "linkedin.com posts behind the auth wall"),
    ("LinkedIn Login, Sign in | LinkedIn", "linkedin.com links behind the auth wall"),
    ("Sign in - Google Accounts", "docs.google.com and drive.google.com private files"),
    ("TikTok - Make Your Day", "tiktok.com videos served to bots"),
    ("Yahoo is part of the Yahoo family of brands", "guce.yahoo.com consent wall"),
    ("Just a moment...", "Cloudflare's challenge page, served with 200 by some sites"),
    ("Attention Required! | Cloudflare", "Cloudflare's block page"),
    ("Access Denied", "Akamai's block page"),
    ("Access to this page has been denied", "PerimeterX's block page"),
    ("Please enable JS and disable any ad blocker", "DataDome's wall"),
    ("Are you a robot?", "bloomberg.com's bot wall"),
    ("DDoS-Guard", "DDoS-Guard's challenge page"),
    ("Amazon.com", "amazon.com's robot check page"),
    ("Imgur: The magic of the Internet", "imgur.com images served to bots"),
    ("Google Maps", "maps.app.goo.gl and google.com/maps links"),
    ("Redirecting...", "pages that leave by script"),
    ("Loading...", "single-page applications before their script runs"),
    ("Untitled Document", "pages saved by HTML editors with their default title"),
)

#: Most characters of a description; a longer one is cut at a word, ending with ``ELLIPSIS``.
DESCRIPTION_MAX = 300

#: Where a title came from (``title_source``); ``file`` is a file's own metadata.
TITLE_SOURCES = ("title", "oembed", "og", "twitter", "jsonld", "file")

#: The order titles are tried in, for each of ``settings.PREFER_CHOICES``.
_ORDER = {
    "title": ("title", "oembed", "og", "twitter", "jsonld"),
    "card": ("oembed", "og", "twitter", "jsonld", "title"),
}

_NOT_WORD = re.compile(r"[\W_]+")
_PLACEHOLDER_KEYS = {}
for _text, _where in PLACEHOLDERS:
    _PLACEHOLDER_KEYS.setdefault(_NOT_WORD.sub("", _text.casefold()), _text)


def _key(text: str) -> str:
    """``text`` compared ignoring case, spaces and punctuation."""
    return _NOT_WORD.sub("", text.casefold())


class Choice(NamedTuple):
    """The title chosen (None: every candidate useless), where from, and the other fields."""

    title: str | None
    title_source: str | None
    site: str | None
    description: str | None
    author: str | None
    #: Why there is no title: the useless title that was there (``"YouTube"``), else None.
    placeholder: str | None = None


@functools.lru_cache(maxsize=1024)
def _split(url: str) -> tuple[str, str | None] | None:
    """``url``'s path and host name, split once for ``home_page`` and ``host_of``; None if it does not split."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    try:
        return parts.path, parts.hostname
    except ValueError:
        return parts.path, None


def home_page(url: str) -> bool:
    """A URL whose path is ``/`` or empty: its title is the site's name, and that is fine."""
    parts = _split(url)
    return parts is not None and parts[0] in ("", "/")


def placeholder(title: str) -> str | None:
    """The ``PLACEHOLDERS`` entry ``title`` is, if any."""
    return _PLACEHOLDER_KEYS.get(_key(title))


def useless(title: str | None, names: Iterable[str | None], home: bool,
            hosts: Iterable[str | None] = ()) -> bool:
    """Whether a cleaned title says nothing: empty, a placeholder, or (off the home page)
    only one of the site's ``names`` or the name in one of its ``hosts``, with separators.

    The suffix list is asked only about a title that is one of a host's labels.
    """
    if title is None:
        return True
    key = _key(title)
    if not key or key in _PLACEHOLDER_KEYS:
        return True
    if home:
        return False
    if any(name and _key(name) == key for name in names):
        return True
    for host in hosts:
        if host and key in _label_keys(host):
            from linkfilter.domain import site_label

            label = site_label(host)
            if label is not None and _key(label) == key:
                return True
    return False


@functools.lru_cache(maxsize=1024)
def _label_keys(host: str) -> frozenset[str]:
    """The keys (``_key``) of a host's labels, computed once per host."""
    return frozenset(_key(label) for label in host.split("."))


def judge(url: str) -> Judge:
    """``TitleSniffer``'s judge for a page fetched from ``url``: the rule of ``useless``,
    with the names the page's head declares (og:site_name, application-name)."""
    home = home_page(url)
    hosts = (host_of(url),)

    def says_nothing(title: str | None, metas: tuple[Meta, ...]) -> bool:
        names = [m.attrs.get("content") for m in metas if meta_key(m) in SITE_NAME_METAS]
        return useless(title, names, home, hosts)

    return says_nothing


#: The metas that give a site's own name.
SITE_NAME_METAS = ("og:site_name", "application-name")


def cut_description(text: str | None, limit: int = DESCRIPTION_MAX) -> str | None:
    """A cleaned description of at most ``limit`` characters, cut at a word with ``ELLIPSIS``."""
    text = clean_title(text, 0) if text else None
    if text is None or len(text) <= limit:
        return text
    head = text[:limit]  # the ellipsis takes the place of the character after it
    space = head.rfind(" ", 0, limit)
    if space > limit // 2:
        head = head[:space]
    else:
        head = head[:limit - 1]
    return head.rstrip(" ,;:.-\u2013\u2014") + ELLIPSIS


def choose(page: PageCard | None, oembed: Card | None, *, url: str, final_url: str | None,
           prefer: str = "title") -> Choice:
    """The first useful title in ``--prefer`` order, and the fields beside it.

    ``site``: oEmbed provider, og:site_name, JSON-LD publisher, application-name;
    ``description``: og, twitter, ``<meta name=description>``; ``author``: oEmbed, JSON-LD,
    ``<meta name=author>``.
    """
    page = page or PageCard()
    oembed = oembed or Card()
    site = oembed.site or page.og.site or page.jsonld.site or page.meta.site
    names = (oembed.site, page.og.site, page.jsonld.site, page.meta.site)
    hosts = (host_of(url), host_of(final_url))
    home = home_page(final_url or url) and home_page(url)
    found = {
        "title": page.title,
        "oembed": oembed.title,
        "og": page.og.title,
        "twitter": page.twitter.title,
        "jsonld": page.jsonld.title,
    }
    title = source = None
    first_useless = None
    for name in _ORDER[prefer]:
        candidate = found[name]
        if not useless(candidate, names, home, hosts):
            title, source = candidate, name
            break
        if candidate is not None and first_useless is None:
            first_useless = candidate
    description = page.og.description or page.twitter.description or page.meta.description
    author = oembed.author or page.jsonld.author or page.meta.author
    return Choice(title, source, site, cut_description(description), author,
                  None if title is not None else first_useless)


def host_of(url: str | None) -> str | None:
    """``url``'s host name (lower case), None when it has none or does not split."""
    parts = _split(url) if url else None
    return parts[1] if parts is not None else None


#: ``kind`` by media type; ``kind_of`` adds the families (image/*, video/*, audio/*).
KINDS = ("page", "image", "video", "audio", "pdf", "file")


def kind_of(content_type: str | None) -> str:
    """What a response is, from its media type: ``page`` for HTML (or none), ``pdf``,
    ``image``, ``video``, ``audio``, else ``file``."""
    if content_type is None or is_html_type(content_type):
        return "page"
    if content_type == "application/pdf":
        return "pdf"
    family = content_type.partition("/")[0]
    if family in ("image", "video", "audio"):
        return family
    return "file"
