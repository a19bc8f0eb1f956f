"""linkfilter.hints: the fallback encoding of a language, of a country domain; families."""

from __future__ import annotations

import pytest

from linkfilter.decode import encoding_for_label
from linkfilter.hints import (
    FALLBACKS,
    FAMILIES,
    LANGUAGE_ENCODINGS,
    LETTERS,
    NO_TLD_HINT,
    TLD_ENCODINGS,
    TLD_LANGUAGES,
    family,
    first_language,
    language_encoding,
    language_letters,
    tld_encoding,
)


@pytest.mark.parametrize("tag, encoding", [
    ("ru", "windows-1251"), ("uk-UA", "windows-1251"), ("sr-Latn-RS", "windows-1251"),
    ("cs", "windows-1250"), ("PL", "iso-8859-2"), ("el", "iso-8859-7"), ("tr", "windows-1254"),
    ("he", "windows-1255"), ("ar-EG", "windows-1256"), ("lt", "windows-1257"), ("vi", "windows-1258"),
    ("th", "windows-874"), ("ja-JP", "shift_jis"), ("ko", "euc-kr"),
    ("zh", "gbk"), ("zh-CN", "gbk"), ("zh-Hans-SG", "gbk"),
    ("zh-TW", "big5"), ("zh-hk", "big5"), ("zh-Hant", "big5"), ("zh-Hant-CN", "big5"), ("zh-MO", "big5"),
    ("en", "windows-1252"), ("en-GB", "windows-1252"), ("fr", "windows-1252"), ("de-CH", "windows-1252"),
    ("pt-BR", "windows-1252"), ("hi", "windows-1252"), (" fr ", "windows-1252"),
])
def test_language_encodings(tag: str, encoding: str) -> None:
    assert language_encoding(tag) == encoding


@pytest.mark.parametrize("tag", [None, "", "*", "x-klingon", "i-default", "und", "mul", "zxx",
                                 "english", "e", "en_US", "fr;q=0.5", "1234", "en--GB"])
def test_tags_that_name_no_language(tag: str | None) -> None:
    assert language_encoding(tag) is None


@pytest.mark.parametrize("header, first", [
    ("en;q=0.9, *;q=0.5", "en"), ("fr-CH, fr;q=0.9, en;q=0.8", "fr-CH"), ("*;q=0.5, de", "de"),
    ("  ja ", "ja"), ("de, en", "de"), ("*", None), ("", None), (None, None), (" , ;q=1", None),
])
def test_first_language(header: str | None, first: str | None) -> None:
    assert first_language(header) == first


@pytest.mark.parametrize("url, encoding", [
    ("http://www.example.ru/", "windows-1251"), ("https://gov.by/x?y", "windows-1251"),
    ("http://example.com.ua:8080/", "windows-1251"), ("http://EXAMPLE.JP/", "shift_jis"),
    ("http://example.cn/", "gbk"), ("http://example.tw/", "big5"), ("http://example.hk/", "big5"),
    ("http://example.kr/", "euc-kr"), ("http://example.th/", "windows-874"), ("http://example.gr/", "iso-8859-7"),
    ("http://example.tr/", "windows-1254"), ("http://example.cz/", "windows-1250"),
    ("http://example.sk/", "windows-1250"), ("http://example.pl/", "iso-8859-2"),
    ("http://example.lt/", "windows-1257"), ("http://example.vn/", "windows-1258"),
    ("http://example.eg/", "windows-1256"), ("http://example.ru./", "windows-1251"),
    ("http://xn--80aswg.xn--p1ai/", "windows-1251"),  # сайт.рф
    ("http://example.fr/", "windows-1252"), ("http://example.de/", "windows-1252"),
    ("http://example.co.uk/", "windows-1252"), ("http://example.io/", "windows-1252"),
    ("http://user:pw@example.at:81/p", "windows-1252"),
])
def test_country_domains(url: str, encoding: str) -> None:
    assert tld_encoding(url) == encoding


@pytest.mark.parametrize("url", [
    None, "", "http://example.com/", "http://example.org/", "https://example.info/", "http://localhost/",
    "http://example.il/", "http://example.ro/", "http://127.0.0.1:8080/", "http://[::1]/", "http://10.1.2.3/",
    "http://example.xn--unknown/", "not a url", "http://[bad/",
])
def test_domains_without_a_hint(url: str | None) -> None:
    assert tld_encoding(url) is None


def test_tables_name_browser_encodings_by_their_whatwg_names() -> None:
    for name in [*LANGUAGE_ENCODINGS.values(), *TLD_ENCODINGS.values(), *(n for f in FAMILIES for n in f)]:
        assert encoding_for_label(name) == name
    assert all(len(tld) == 2 or tld.startswith("xn--") for tld in TLD_ENCODINGS)
    assert not NO_TLD_HINT & TLD_ENCODINGS.keys()
    assert all(key == key.lower() for key in [*LANGUAGE_ENCODINGS, *TLD_ENCODINGS, *NO_TLD_HINT])


def test_families() -> None:
    assert family("windows-1250") == family("iso-8859-2") == {"windows-1250", "iso-8859-2"}
    assert family("gbk") == {"gbk", "gb18030"}
    assert "koi8-r" in family("windows-1251") and "x-mac-cyrillic" not in family("windows-1251")
    assert family("windows-1252") == {"windows-1252"}
    assert family("windows-874") == {"windows-874"}
    members = [name for f in FAMILIES for name in f]
    assert len(members) == len(set(members))  # no encoding in two families


def test_language_letters() -> None:
    czech = language_letters("cs-CZ")
    assert {"ř", "Ř", "ů", "ž", "ü"} <= czech and "ľ" not in czech and "ą" not in czech
    assert "ľ" in language_letters("sk") and "İ" in language_letters("tr")
    assert "ё" in language_letters("ru") and "ё" not in language_letters("bg") and "ї" in language_letters("uk")
    assert "ä" not in language_letters("ru")  # Latin names are no Cyrillic letters
    assert language_letters("fr") is language_letters("ja") is language_letters(None) is None
    assert set(TLD_LANGUAGES.values()) <= LETTERS.keys()
    assert all(tld_encoding(f"http://a.{tld}/") == language_encoding(lang) or family(tld_encoding(
        f"http://a.{tld}/")) == family(language_encoding(lang)) for tld, lang in TLD_LANGUAGES.items())


def test_fallbacks() -> None:
    assert {"windows-1252", "windows-1250", "iso-8859-2", "koi8-r", "euc-jp", "big5"} <= FALLBACKS
    assert not {"iso-8859-4", "iso-8859-3", "macintosh", "x-mac-cyrillic", "iso-8859-16"} & FALLBACKS
