"""Which title a link gets: the useless-title rule, the order of candidates, the other fields."""

from __future__ import annotations

import json
import random

import pytest
from faker import Faker

from linkfilter import card, jsonld
from linkfilter.card import PLACEHOLDERS, DESCRIPTION_MAX, choose, cut_description, kind_of, useless
from linkfilter.title import ELLIPSIS, Card, PageCard, TitleSniffer

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.mark.parametrize("title", [None, "", "   ", " - ", "|", "—"])
def test_empty_titles_are_useless(title):
    assert useless(title, (), home=False)
    assert useless(title, (), home=True)


@pytest.mark.parametrize("text, where", PLACEHOLDERS)
def test_every_placeholder_is_useless_anywhere_in_any_case(text, where):
    assert where  # each entry says where it was seen
    for variant in (text, text.upper(), text.lower(), f"  {text}  ", text.rstrip(".") + " !"):
        assert useless(variant, (), home=False), variant
        assert useless(variant, (), home=True), variant  # a wall is a wall on any path
    assert card.placeholder(text.upper()) == text or card.placeholder(text.upper()) is not None


@pytest.mark.parametrize("title", ["YouTube", " - YouTube", "YouTube |", "youtube", "YOUTUBE!", "— YouTube —"])
def test_the_name_in_the_host_off_the_home_page_is_useless(title):
    hosts = ("www.youtube.com",)
    assert useless(title, (), home=False, hosts=hosts)
    assert not useless(title, (), home=True, hosts=hosts)  # the home page's title is its name
    assert not useless(f"Cats playing piano{title}", (), home=False, hosts=hosts)


def test_the_registrable_name_not_any_label_of_the_host():
    assert useless("X", (), home=False, hosts=("x.com",))
    assert useless("BBC", (), home=False, hosts=("news.bbc.co.uk",))
    # "news" is a label of the host but not the site's name; "co" is part of the suffix
    assert not useless("News", (), home=False, hosts=("news.bbc.co.uk",))
    assert not useless("Co", (), home=False, hosts=("news.bbc.co.uk",))


def test_declared_site_names_count_too():
    for names in (["Le Monde"], [None, "le monde"], ["Le Monde.fr", "Le Monde"]):
        assert useless("Le Monde", names, home=False, hosts=("www.lemonde.fr",))
        assert useless("| LE MONDE", names, home=False)
    assert not useless("Le Monde", ["Le Monde"], home=True)
    assert not useless("Élections : les résultats - Le Monde", ["Le Monde"], home=False)


def test_generated_site_names_are_useless_alone_and_useful_with_a_headline():
    """Site names and headlines from faker, a source the rule was not tuned on."""
    fake = Faker(["en_US", "fr_FR", "de_DE", "ja_JP"])
    Faker.seed(18)
    rnd = random.Random(18)
    for _ in range(300):
        site = fake.company()
        headline = fake.sentence(nb_words=rnd.randrange(3, 10))
        sep = rnd.choice([" - ", " | ", " — ", " · ", " :: "])
        alone = rnd.choice([site, sep.strip() + " " + site, site + sep, site.upper()])
        assert useless(alone, [site], home=False), (alone, site)
        assert not useless(alone, [site], home=True), (alone, site)
        assert not useless(headline + sep + site, [site], home=False), (headline, site)
        assert not useless(headline, [site], home=False), headline
        # no real headline is taken for a placeholder
        assert card.placeholder(headline) is None, headline
        assert card.placeholder(site) is None, site


def test_home_page_is_the_path_only():
    assert card.home_page("https://www.youtube.com/")
    assert card.home_page("https://www.youtube.com")
    assert card.home_page("https://www.youtube.com/?hl=fr")
    assert not card.home_page(VIDEO)
    assert not card.home_page("https://x.com/jack/status/20")


def page_card(**kw) -> PageCard:
    return PageCard(**kw)


def test_title_mode_keeps_a_useful_title_and_replaces_a_useless_one():
    offered = page_card(title="Rick Astley - Never Gonna Give You Up - YouTube",
                        og=Card("Never Gonna Give You Up", "YouTube", "The official video", None))
    chosen = choose(offered, None, url=VIDEO, final_url=VIDEO)
    assert (chosen.title, chosen.title_source, chosen.site) == (
        "Rick Astley - Never Gonna Give You Up - YouTube", "title", "YouTube")
    assert chosen.description == "The official video"
    walled = offered._replace(title=" - YouTube")
    chosen = choose(walled, None, url=VIDEO, final_url=VIDEO)
    assert (chosen.title, chosen.title_source) == ("Never Gonna Give You Up", "og")


def test_card_mode_takes_the_previewers_order():
    offered = page_card(title="Useful page title", twitter=Card("Tweet title"),
                        jsonld=Card("JSON-LD headline"))
    assert choose(offered, None, url=VIDEO, final_url=VIDEO, prefer="card").title_source == "twitter"
    answer = Card("oEmbed title", "YouTube", None, "Rick Astley")
    chosen = choose(offered, answer, url=VIDEO, final_url=VIDEO, prefer="card")
    assert (chosen.title, chosen.title_source, chosen.author, chosen.site) == (
        "oEmbed title", "oembed", "Rick Astley", "YouTube")
    assert choose(offered, answer, url=VIDEO, final_url=VIDEO).title_source == "title"
    only_title = page_card(title="Useful page title")
    assert choose(only_title, None, url=VIDEO, final_url=VIDEO, prefer="card").title_source == "title"


def test_every_candidate_useless_names_the_first_placeholder():
    offered = page_card(title="YouTube", og=Card("Before you continue to YouTube"))
    chosen = choose(offered, None, url=VIDEO, final_url=VIDEO)
    assert chosen.title is None and chosen.title_source is None
    assert chosen.placeholder == "YouTube"
    assert choose(page_card(), None, url=VIDEO, final_url=VIDEO).placeholder is None


def test_the_order_of_the_other_fields():
    offered = page_card(og=Card(None, None, None, None), twitter=Card(None, None, "tw desc"),
                        jsonld=Card(None, "Publisher", None, "JSON author"),
                        meta=Card(None, "App", "meta desc", "meta author"))
    chosen = choose(offered, None, url="http://a.example/x", final_url=None)
    assert (chosen.site, chosen.description, chosen.author) == ("Publisher", "tw desc", "JSON author")
    plain = page_card(meta=Card(None, "App", "meta desc", "meta author"))
    chosen = choose(plain, Card(None, "Provider", None, "oEmbed author"), url="http://a.example/x",
                    final_url=None)
    assert (chosen.site, chosen.description, chosen.author) == ("Provider", "meta desc", "oEmbed author")


@pytest.mark.parametrize("n", [10, 299, 300, 301, 1000])
def test_descriptions_are_cut_at_a_word(n):
    fake = Faker()
    Faker.seed(n)
    text = " ".join(fake.words(nb=n))[: n * 3]
    cut = cut_description(text)
    assert len(cut) <= DESCRIPTION_MAX
    if len(text) <= DESCRIPTION_MAX:
        assert cut == text.strip()
    else:
        assert cut.endswith(ELLIPSIS)
        kept = cut[:-1]
        assert text.startswith(kept) and text[len(kept)] in " ,;:.-"  # whole words only
    assert cut_description(None) is None and cut_description(" \n ") is None
    assert cut_description("x" * 500) == "x" * 299 + ELLIPSIS  # one long word: cut inside it


@pytest.mark.parametrize("media, kind", [
    (None, "page"), ("text/html", "page"), ("application/xhtml+xml", "page"), ("image/png", "image"),
    ("video/mp4", "video"), ("audio/ogg", "audio"), ("application/pdf", "pdf"),
    ("application/zip", "file"), ("text/plain", "file"),
])
def test_kind_follows_the_content_type(media, kind):
    assert kind_of(media) == kind


def test_json_ld_forms():
    graph = ('{"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"Site"},'
             '{"@type":["NewsArticle"],"headline":"The headline","publisher":{"@type":"Organization",'
             '"name":"The Paper"},"author":[{"@type":"Person","name":"A. Writer"}]}]}')
    assert jsonld.read([graph]) == jsonld.Said("The headline", "The Paper", "A. Writer")
    listed = '[{"@type":"BreadcrumbList","name":"crumbs"},{"@type":"Product","name":"A lamp","author":"Me"}]'
    assert jsonld.read([listed]) == jsonld.Said("A lamp", None, "Me")
    assert jsonld.read(["{not json", '"a string"', "[1, 2]"]) == jsonld.Said()
    assert jsonld.read(['{"@type":"Organization","name":"Not a page"}']).title is None
    assert jsonld.read(['{"@type":"OpinionNewsArticle","headline":"Any *Article"}']).title == "Any *Article"


def test_json_ld_names_given_by_reference_in_a_graph():
    """A publisher or author given as ``{"@id": ...}`` is named by the node with that id
    (Yoast SEO's graphs, on millions of sites, name them so)."""
    graph = json.dumps({"@context": "https://schema.org", "@graph": [
        {"@type": "Article", "@id": "https://ex.example/a/#article", "headline": "The headline",
         "author": {"@id": "https://ex.example/#/schema/person/1"},
         "publisher": {"@id": "https://ex.example/#organization"}},
        {"@type": "WebSite", "@id": "https://ex.example/#website", "name": "Ex",
         "publisher": {"@id": "https://ex.example/#organization"}},
        {"@type": "Organization", "@id": "https://ex.example/#organization", "name": "Ex Media"},
        {"@type": "Person", "@id": "https://ex.example/#/schema/person/1", "name": "Jo Writer"},
    ]})
    assert jsonld.read([graph]) == jsonld.Said("The headline", "Ex Media", "Jo Writer")
    dangling = '{"@type": "Article", "headline": "H", "author": [{"@id": "#nobody"}], "publisher": {"@id": 3}}'
    assert jsonld.read([dangling]) == jsonld.Said("H", None, None)


def test_the_sniffer_reads_on_past_what_offers_no_title():
    """A JSON-LD organisation in the head names the site, not the page, and an oEmbed link
    in the body is not followed: neither stops the reading before a later og:title."""
    org = (b'<script type="application/ld+json">{"@type": "Organization", "name": "Acme",'
           b' "url": "https://example.com"}</script>')
    link = b'<link rel="alternate" type="application/json+oembed" href="/oembed">'
    late = b"<p>x</p>" * 3000 + b'<meta property="og:title" content="The post">' + b"<p>y</p>" * 100
    url = "https://example.com/post/1"
    for body in (b"<html><head><title></title>" + org + b"</head><body>" + late,
                 b"<html><head><title>Loading...</title></head><body>" + link + late):
        sniffer = TitleSniffer("utf-8", card.judge(url))
        assert sniffer.feed(body)
        assert body[:sniffer.stop_at].endswith(b'content="The post">')
        found = sniffer.result(body, max_title=200, capped=False, card=True)
        assert choose(found.card, None, url=url, final_url=url).title == "The post"
    # a JSON-LD headline in the head is an alternative: reading stops there
    article = b'<script type="application/ld+json">{"@type": "Article", "headline": "H"}</script>'
    body = b"<html><head><title></title>" + article + b"</head><body>" + late
    sniffer = TitleSniffer("utf-8", card.judge(url))
    assert sniffer.feed(body) and sniffer.stop_at <= body.index(b"<p>x</p>")


def test_the_sniffer_reads_on_past_a_placeholder_to_the_body():
    body = (b"<html><head><title>Before you continue to YouTube</title></head><body>" + b"<p>x</p>" * 3000
            + b'<meta property="og:title" content="The video">' + b"<p>y</p>" * 3000)
    judge = card.judge(VIDEO)
    sniffer = TitleSniffer("utf-8", judge)
    for at in range(0, len(body), 1000):
        if sniffer.feed(body[at:at + 1000]):
            break
    assert body[:sniffer.stop_at].endswith(b'content="The video">')
    found = sniffer.result(body, max_title=200, capped=False, card=True)
    assert choose(found.card, None, url=VIDEO, final_url=VIDEO).title == "The video"
    # a useful title stops at the head's end, whatever the body holds
    useful = body.replace(b"Before you continue to YouTube", b"Cats on a piano")
    sniffer = TitleSniffer("utf-8", judge)
    assert sniffer.feed(useful)
    assert useful[:sniffer.stop_at].endswith(b"<body>")
