"""Held-out titles and pages in many languages, made from faker's localized data, and how many come out right.

Text nobody wrote for linkfilter: names, addresses, company names, jobs and
(where faker has them in the language) sentences of 42 locales (36 languages),
seeded so every run makes the same ones, encoded in each legacy encoding the
locale's language used, and read the way the program reads a page (``TitleSniffer``,
then ``choose_encoding`` with the page's hints) with the hint in each place:
the ``lang`` of ``<html>``, the Content-Language header, the country domain,
and none (the default ``--accept-language`` only).  A case is right when the
title comes out as written.  ``bench/hint_table.py`` prints the table;
``tests/test_heldout.py`` asserts its targets.
"""

from __future__ import annotations

import random
import unicodedata
from typing import Iterator, NamedTuple

from linkfilter.hints import Hints
from linkfilter.settings import DEFAULT_ACCEPT_LANGUAGE
from linkfilter.title import clean_title, page_title

#: Seed of every locale's faker and of the word picks.
SEED = 20261204
#: Cases per (locale, encoding) and kind.
PER_KIND = {"1-3 words": 8, "4-10 words": 8, "page": 4}
KINDS = tuple(PER_KIND)
#: Where the page's language is said: the ``<html lang>``, Content-Language, the country domain; or nowhere.
PLACES = ("lang", "header", "tld", "none")

WESTERN = ("cp1252", "latin-1")
CENTRAL = ("cp1250", "iso8859_2")
BALTIC = ("cp1257", "iso8859_13")
#: faker locale -> (language tag, Python codecs of its legacy encodings).  The country
#: domain is the locale's region.
LOCALES: dict[str, tuple[str, tuple[str, ...]]] = {
    "de_DE": ("de", WESTERN), "de_AT": ("de-AT", WESTERN), "de_CH": ("de-CH", WESTERN),
    "fr_FR": ("fr", WESTERN), "fr_CA": ("fr-CA", WESTERN), "fr_CH": ("fr-CH", WESTERN),
    "es_ES": ("es", WESTERN), "es_MX": ("es-MX", WESTERN), "it_IT": ("it", WESTERN),
    "pt_PT": ("pt", WESTERN), "pt_BR": ("pt-BR", WESTERN), "nl_NL": ("nl", WESTERN),
    "sv_SE": ("sv", WESTERN), "da_DK": ("da", WESTERN), "no_NO": ("no", WESTERN),
    "fi_FI": ("fi", WESTERN), "is_IS": ("is", WESTERN), "ga_IE": ("ga", WESTERN),
    "pl_PL": ("pl", CENTRAL), "cs_CZ": ("cs", CENTRAL), "sk_SK": ("sk", CENTRAL),
    "hu_HU": ("hu", CENTRAL), "hr_HR": ("hr", CENTRAL), "sl_SI": ("sl", CENTRAL),
    "lt_LT": ("lt", BALTIC), "lv_LV": ("lv", BALTIC), "et_EE": ("et", BALTIC),
    "ru_RU": ("ru", ("cp1251", "koi8_r", "iso8859_5", "cp866")), "uk_UA": ("uk", ("cp1251", "koi8_u")),
    "bg_BG": ("bg", ("cp1251",)), "mk_MK": ("mk", ("cp1251",)),
    "el_GR": ("el", ("iso8859_7", "cp1253")), "tr_TR": ("tr", ("cp1254",)),
    "he_IL": ("he", ("cp1255", "iso8859_8")), "ar_AA": ("ar", ("cp1256",)), "fa_IR": ("fa", ("cp1256",)),
    "vi_VN": ("vi", ("cp1258",)), "th_TH": ("th", ("cp874",)),
    "ja_JP": ("ja", ("cp932", "euc_jp", "iso2022_jp")), "zh_CN": ("zh-CN", ("gb18030",)),
    "zh_TW": ("zh-TW", ("big5",)), "ko_KR": ("ko", ("cp949",)),
}
#: The region of a locale whose country domain is not its own code.
_DOMAIN = {"ar_AA": "eg", "ga_IE": "ie"}


class Case(NamedTuple):
    """One held-out title (``kind``: a title of 1-3 or 4-10 words, or a page with body text)."""

    locale: str
    tag: str
    domain: str
    codec: str
    kind: str
    title: str
    body_text: str

    def body(self, place: str) -> bytes:
        """The page's bytes; ``<html lang>`` carries the language when ``place`` is ``lang``."""
        attrs = f' lang="{self.tag}"' if place == "lang" else ""
        body = f"<h1>{self.title}</h1>\n" + "".join(f"<p>{p}</p>\n" for p in self.body_text.split("\n"))
        return (f"<!DOCTYPE html>\n<html{attrs}><head><title>{self.title}</title>\n"
                f'<link rel="stylesheet" href="/site.css"></head>\n<body>{body if self.body_text else ""}'
                "</body></html>\n").encode(self.codec)

    def hints(self, place: str) -> Hints:
        """What the program knows besides the body, with the language said in ``place``."""
        return Hints(self.tag if place == "header" else None,
                     f"http://www.example.{self.domain}/" if place == "tld" else "http://127.0.0.1:8080/",
                     DEFAULT_ACCEPT_LANGUAGE)

    @property
    def language(self) -> str:
        return language_of(self.tag)


def language_of(tag: str) -> str:
    """The row of a language tag in the table: its primary subtag, Traditional Chinese apart."""
    return "zh-TW" if tag == "zh-TW" else tag.split("-")[0]


def encodable(text: str, codec: str) -> str | None:
    """``text`` as ``codec`` can write it, None if it cannot (Vietnamese tones become combining marks)."""
    if codec == "cp1256":  # Persian written in windows-1256 used the Arabic yeh and kaf
        text = text.replace("\u06cc", "\u064a").replace("\u06a9", "\u0643")
    if codec == "cp1258":
        text = "".join(c if _fits(c, codec) else unicodedata.normalize("NFD", c) for c in text)
        text = "".join(_recompose(text, codec))
    return text if _fits(text, codec) else None


def _fits(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _recompose(text: str, codec: str) -> Iterator[str]:
    """Join a base letter and its first mark where the code page has the pair as one letter (ơ, ư, â)."""
    i = 0
    while i < len(text):
        pair = unicodedata.normalize("NFC", text[i:i + 2])
        if len(pair) == 1 and _fits(pair, codec):
            yield pair
            i += 2
        else:
            yield text[i]
            i += 1


def _pool(locale: str) -> tuple[list[str], list[str]]:
    """(words, sentences) of one locale: its names, addresses, streets, companies, jobs and sentences."""
    import faker  # noqa: PLC0415 -- a test-only dependency

    fake = faker.Faker(locale)
    fake.seed_instance(SEED)
    own_lorem = any(not c.isascii() for c in " ".join(fake.sentence() for _ in range(5)))
    sentences = []
    for _ in range(40):
        # (not fake.city(): it_IT's picks from a set, in an order that changes with PYTHONHASHSEED)
        parts = [fake.name(), fake.address().replace("\n", ", "), fake.street_name(), fake.company()]
        try:
            parts.append(fake.job())
        except AttributeError:
            pass
        if own_lorem:
            parts.append(fake.sentence())
        sentences.append(", ".join(parts) + ".")
    words = [w.strip(",.") for s in sentences for w in s.split()]
    kept = [" ".join(w for w in s.split() if not _hybrid(w)) for s in sentences]
    return [w for w in words if w and not _hybrid(w)], kept


def _hybrid(word: str) -> bool:
    """faker glues English suffixes to local names ("Симеоновstad", "خثعمburgh"): no real text has those."""
    scripts = {unicodedata.name(c, "").split(" ")[0] for c in word if c.isalpha()}
    return "LATIN" in scripts and bool(scripts & {"CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI"})


def cases() -> Iterator[Case]:
    """Every held-out case, the same ones on every run."""
    for locale, (tag, codecs) in LOCALES.items():
        words, sentences = _pool(locale)
        domain = _DOMAIN.get(locale, locale.split("_")[1].lower())
        rnd = random.Random(f"{SEED}-{locale}")
        for codec in codecs:
            for kind, count in PER_KIND.items():
                made = 0
                for _ in range(count * 50):
                    if made == count:
                        break
                    low, high = (1, 3) if kind == "1-3 words" else (4, 10)
                    start = rnd.randrange(len(words))
                    title = encodable(" ".join(words[start:start + rnd.randint(low, high)]), codec)
                    body = ""
                    if kind == "page":
                        picked = [encodable(s, codec) for s in rnd.sample(sentences, 12)]
                        body = "\n".join(" ".join(s for s in picked[k:k + 4] if s) for k in (0, 4, 8))
                    if title is None or title.isascii() or (kind == "page" and body.isascii()):
                        continue
                    made += 1
                    yield Case(locale, tag, domain, codec, kind, title, body)


def place_applies(case: Case, place: str) -> bool:
    """A country domain hints only where browsers take it as a hint (not .il, for example)."""
    from linkfilter.hints import tld_encoding  # noqa: PLC0415

    return place != "tld" or tld_encoding(case.hints("tld").url) is not None


def right(case: Case, place: str) -> tuple[bool, str, str]:
    """(the title came out as written, the encoding chosen, how it was chosen)."""
    found = page_title(case.body(place), None, max_title=0, capped=False, hints=case.hints(place))
    want = clean_title(case.title, 0)
    got = found.title and unicodedata.normalize("NFC", found.title)
    return got == unicodedata.normalize("NFC", want or ""), found.charset, found.charset_source


def table(selected: Iterator[Case] | None = None) -> dict[tuple[str, str, str], list[int]]:
    """{(language, kind, place): [right, total]} over ``selected`` (default: every case)."""
    counts: dict[tuple[str, str, str], list[int]] = {}
    for case in selected if selected is not None else cases():
        for place in PLACES:
            if place_applies(case, place):
                cell = counts.setdefault((case.language, case.kind, place), [0, 0])
                cell[0] += right(case, place)[0]
                cell[1] += 1
    return counts


def languages(counts: dict[tuple[str, str, str], list[int]]) -> list[str]:
    """The languages of a table, in the order of ``LOCALES``."""
    seen = dict.fromkeys(language_of(tag) for tag, _ in LOCALES.values())
    present = {language for language, _, _ in counts}
    return [language for language in seen if language in present]
