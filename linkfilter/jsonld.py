"""What a page's JSON-LD says about it: the headline or name, the publisher, the author.

Reads ``<script type="application/ld+json">`` texts as schema.org data: an object, a
list of them, or a ``@graph`` (whose nodes may name a publisher or author by ``@id``).
Only the types that describe a page's own content (``CONTENT_TYPES``) give a title;
anything that does not parse is skipped. Pure.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

#: schema.org types whose ``headline``/``name`` is the page's title (plus every ``*Article``
#: and ``*Posting``).
CONTENT_TYPES = frozenset({
    "Article", "NewsArticle", "BlogPosting", "Report", "ScholarlyArticle", "TechArticle",
    "VideoObject", "AudioObject", "ImageObject", "MediaObject", "Clip", "Episode",
    "PodcastEpisode", "TVEpisode", "Movie", "TVSeries", "MusicRecording", "MusicAlbum",
    "MusicPlaylist", "Book", "Recipe", "Event", "Product", "Course", "Dataset",
    "SoftwareApplication", "WebPage", "ItemPage", "AboutPage", "CollectionPage",
    "ProfilePage", "QAPage", "FAQPage", "Question", "SocialMediaPosting",
    "DiscussionForumPosting", "CreativeWork", "HowTo", "JobPosting", "Review",
})
#: Most items looked at in one page's JSON-LD (a product list can hold thousands).
MAX_ITEMS = 200


class Said(NamedTuple):
    """The first title, publisher name and author name found (raw text, not cleaned)."""

    title: str | None = None
    site: str | None = None
    author: str | None = None


def _types(item: dict) -> list[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return [k for k in kinds if isinstance(k, str)]


def _content(item: dict) -> bool:
    return any(k in CONTENT_TYPES or k.endswith(("Article", "Posting")) for k in _types(item))


def _name(value, nodes: dict[str, dict]) -> str | None:
    """A person's or organisation's name: a string, ``{"name": ...}``, ``{"@id": ...}`` naming
    one of ``nodes`` (a graph's nodes by id), or the first of a list."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        if "name" not in value and isinstance(value.get("@id"), str):
            value = nodes.get(value["@id"], value)
        value = value.get("name")
    return value if isinstance(value, str) and value.strip() else None


def _items(data, out: list) -> None:
    if len(out) >= MAX_ITEMS:
        return
    if isinstance(data, list):
        for item in data:
            _items(item, out)
    elif isinstance(data, dict):
        out.append(data)
        graph = data.get("@graph")
        if graph is not None:
            _items(graph, out)


def read(texts: Iterable[str]) -> Said:
    """What the JSON-LD ``texts`` (one per script) say."""
    import json

    items: list[dict] = []
    for text in texts:
        try:
            _items(json.loads(text), items)
        except (ValueError, RecursionError):
            continue
    nodes = {item["@id"]: item for item in items if isinstance(item.get("@id"), str)}
    title = site = author = None
    for item in items:
        if title is None and _content(item):
            for key in ("headline", "name"):
                value = item.get(key)
                if isinstance(value, str) and value.strip():
                    title = value
                    break
        if site is None:
            site = _name(item.get("publisher"), nodes)
        if author is None and _content(item):
            author = _name(item.get("author"), nodes)
    return Said(title, site, author)
