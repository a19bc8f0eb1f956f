"""Registrable domains (``www.youtube.com`` -> ``youtube.com``) from the Public Suffix List.

The list is the one the ``publicsuffixlist`` package bundles: read from the package at
the first call that needs it (about 50 ms, paid only by runs that describe a page), never
downloaded. Pure but for that one load.
"""

from __future__ import annotations

import functools
import threading

_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _list():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the bundled copy; it downloads nothing itself


def _suffixes():
    with _lock:  # two threads meeting the first page build one list, not two
        return _list()


@functools.lru_cache(maxsize=4096)
def registrable(host: str) -> str | None:
    """The registrable domain of ``host`` (lower case, ASCII), or None for an IP address,
    a bare public suffix (``co.uk``) or a single label (``localhost``)."""
    host = host.strip("[]").rstrip(".").lower()
    if not host or ":" in host or host.replace(".", "").isdigit():
        return None
    return _suffixes().privatesuffix(host)


def same_site(a: str, b: str) -> bool:
    """Whether hosts ``a`` and ``b`` have the same registrable domain (or are the same host)."""
    a, b = a.strip("[]").rstrip(".").lower(), b.strip("[]").rstrip(".").lower()
    if a == b:
        return True
    ra = registrable(a)
    return ra is not None and ra == registrable(b)


def site_label(host: str) -> str | None:
    """The name a site goes by in its own host: ``youtube`` for ``www.youtube.com``, ``x``
    for ``x.com``, ``bbc`` for ``news.bbc.co.uk``; None when it has none."""
    domain = registrable(host)
    if domain is None:
        return None
    label = domain.split(".", 1)[0]
    if label.startswith("xn--"):
        try:
            label = label.encode("ascii").decode("idna")
        except UnicodeError:
            pass
    return label
