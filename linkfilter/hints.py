"""The encoding a browser falls back to for a page: by its language, its country domain, the reader's locale.

A page that declares no encoding and is not UTF-8 is a legacy page, and browsers
do not read its bytes alone: the HTML standard suggests a fallback encoding for
the user's language, Firefox picks one for the page's country top-level domain,
and a page's language narrows the choice as well. :mod:`linkfilter.decode` lets
these hints decide where the bytes allow their encoding and chardet has little
text to go on (a title), and break chardet's near-ties on longer pages. Pure:
no I/O, tables only.

The tables are the browsers' own: ``LANGUAGE_ENCODINGS`` is the HTML standard's
table of locales whose legacy encoding is not windows-1252 (Firefox's
``localesfallbacks``), with Traditional Chinese; ``TLD_ENCODINGS`` and
``NO_TLD_HINT`` are Firefox's ``domainsfallbacks`` and
``nonparticipatingdomains``. Every other language, and every other two-letter
country domain, means windows-1252.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

#: Language (primary subtag, lower case) -> encoding, where it is not windows-1252.
LANGUAGE_ENCODINGS: dict[str, str] = {
    "ar": "windows-1256", "ba": "windows-1251", "be": "windows-1251", "bg": "windows-1251",
    "cs": "windows-1250", "el": "iso-8859-7", "et": "windows-1257", "fa": "windows-1256",
    "he": "windows-1255", "hr": "windows-1250", "hu": "iso-8859-2", "ja": "shift_jis",
    "kk": "windows-1251", "ko": "euc-kr", "ku": "windows-1254", "ky": "windows-1251",
    "lt": "windows-1257", "lv": "windows-1257", "mk": "windows-1251", "pl": "iso-8859-2",
    "ru": "windows-1251", "sah": "windows-1251", "sk": "windows-1250", "sl": "iso-8859-2",
    "sr": "windows-1251", "tg": "windows-1251", "th": "windows-874", "tr": "windows-1254",
    "tt": "windows-1251", "uk": "windows-1251", "vi": "windows-1258", "zh": "gbk",
}
#: The letters beyond ASCII (lower case) of languages whose code pages are close
#: relatives, so that a hint can tell "ž" from "ľ" (ISO-8859-2 and windows-1250
#: swap them) or Bulgarian "Раян" from "арџэ" (ISO-8859-5): their own, and in
#: Latin script the German and French ones that names bring.
LETTERS: dict[str, str] = {
    "cs": "áčďéěíňóřšťúůýž", "sk": "áäčďéíĺľňóôŕšťúýž", "pl": "ąćęłńóśźż", "hu": "áéíóöőúüű",
    "hr": "čćđšž", "sl": "čćđšž", "lt": "ąčęėįšųūž", "lv": "āčēģīķļņšūž", "et": "äõöüšž",
    "tr": "âçğıîöşûü",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя", "bg": "абвгдежзийклмнопрстуфхцчшщъьюя",
    "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя", "mk": "абвгдѓежзѕијклљмнњопрстќуфхцчџш",
}
_NAMES_LETTERS = "äöüéèáóà"
#: Country domain -> its language, for the languages of ``LETTERS``.
TLD_LANGUAGES = {"cz": "cs", "sk": "sk", "pl": "pl", "hu": "hu", "hr": "hr", "si": "sl", "lt": "lt", "lv": "lv",
                 "ee": "et", "tr": "tr", "ru": "ru", "bg": "bg", "ua": "uk", "mk": "mk"}
#: Chinese written in Traditional characters (by region or script subtag) is Big5.
_TRADITIONAL = frozenset({"tw", "hk", "mo", "hant"})
#: Tags that name no language.
_NO_LANGUAGE = frozenset({"und", "mul", "mis", "zxx"})

#: Country top-level domain (lower case, IDN ones in punycode) -> encoding, where it is
#: not windows-1252.
TLD_ENCODINGS: dict[str, str] = {
    "ae": "windows-1256", "af": "windows-1256", "bg": "windows-1251", "bh": "windows-1256",
    "by": "windows-1251", "cn": "gbk", "cz": "windows-1250", "dz": "windows-1256",
    "ee": "windows-1257", "eg": "windows-1256", "gr": "iso-8859-7", "hk": "big5",
    "hr": "windows-1250", "hu": "iso-8859-2", "iq": "windows-1256", "ir": "windows-1256",
    "jo": "windows-1256", "jp": "shift_jis", "kg": "windows-1251", "kp": "euc-kr",
    "kr": "euc-kr", "kw": "windows-1256", "kz": "windows-1251", "lb": "windows-1256",
    "lt": "windows-1257", "lv": "windows-1257", "ma": "windows-1256", "mk": "windows-1251",
    "mn": "windows-1251", "mo": "big5", "om": "windows-1256", "pl": "iso-8859-2",
    "ps": "windows-1256", "qa": "windows-1256", "rs": "windows-1251", "ru": "windows-1251",
    "sa": "windows-1256", "sd": "windows-1256", "sg": "gbk", "si": "iso-8859-2",
    "sk": "windows-1250", "su": "windows-1251", "sy": "windows-1256", "th": "windows-874",
    "tj": "windows-1251", "tn": "windows-1256", "tr": "windows-1254", "tw": "big5",
    "ua": "windows-1251", "uz": "windows-1251", "vn": "windows-1258", "ye": "windows-1256",
    # internationalized country domains
    "xn--mgbaam7a8h": "windows-1256", "xn--fiqs8s": "gbk", "xn--fiqz9s": "gbk",
    "xn--lgbbat1ad8j": "windows-1256", "xn--wgbh1c": "windows-1256", "xn--j6w193g": "big5",
    "xn--mgba3a4f16a": "windows-1256", "xn--mgbayh7gpa": "windows-1256",
    "xn--3e0b707e": "euc-kr", "xn--80ao21a": "windows-1251", "xn--mgbc0a9azcg": "windows-1256",
    "xn--l1acc": "windows-1251", "xn--mgbx4cd0ab": "windows-1256", "xn--mgb9awbf": "windows-1256",
    "xn--mgbai9azgqp6j": "windows-1256", "xn--ygbi2ammx": "windows-1256",
    "xn--wgbl6a": "windows-1256", "xn--90a3ac": "windows-1251", "xn--p1ai": "windows-1251",
    "xn--mgberp4a5d4ar": "windows-1256", "xn--mgbpl2fh": "windows-1256",
    "xn--yfro4i67o": "gbk", "xn--mgbtf8fl": "windows-1256", "xn--o3cw4h": "windows-874",
    "xn--pgbs0dh": "windows-1256", "xn--kprw13d": "big5", "xn--kpry57d": "big5",
    "xn--j1amh": "windows-1251", "xn--mgb2ddes": "windows-1256",
}
#: Two-letter domains that say nothing about the encoding (several scripts in use,
#: or much use from abroad). Generic domains (com, org, info ...) give no hint either.
NO_TLD_HINT = frozenset({"az", "ba", "cy", "il", "ly", "my", "pk", "ro", "tm"})

#: Encodings that stand for the same languages: a hint for one of them accepts the
#: others when chardet ranks them higher, since the bytes tell close relatives apart
#: better than a hint does. Left out: encodings no browser falls back to for these
#: languages and that decode their common letters differently (iso-8859-15 and
#: macintosh for windows-1252, x-mac-cyrillic, iso-8859-4, iso-8859-6).
FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"windows-1250", "iso-8859-2"}),
    frozenset({"windows-1251", "koi8-r", "koi8-u", "iso-8859-5", "ibm866"}),
    frozenset({"iso-8859-7", "windows-1253"}),
    frozenset({"windows-1255", "iso-8859-8"}),
    frozenset({"windows-1257", "iso-8859-13"}),
    frozenset({"shift_jis", "euc-jp", "iso-2022-jp"}),
    frozenset({"gbk", "gb18030"}),
)
_FAMILY_OF: dict[str, frozenset[str]] = {name: family for family in FAMILIES for name in family}
#: Every encoding a browser falls back to for some language or country, and its family.
FALLBACKS: frozenset[str] = frozenset(
    {"windows-1252"}.union(*(_FAMILY_OF.get(name, {name}) for name in
                             [*LANGUAGE_ENCODINGS.values(), *TLD_ENCODINGS.values()])))

_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,8})((?:-[A-Za-z0-9]{1,8})*)", re.ASCII)
_TLD = re.compile(r"[a-z]{2}|xn--[a-z0-9-]+", re.ASCII)


def family(encoding: str) -> frozenset[str]:
    """The encodings a hint for ``encoding`` accepts: its family, or itself alone."""
    return _FAMILY_OF.get(encoding, frozenset({encoding}))


def language_encoding(tag: str | None) -> str | None:
    """The fallback encoding for a language tag (``fr``, ``zh-TW``, ``sr-Latn-RS``); None for no language.

    Languages whose legacy encoding is not windows-1252 are in ``LANGUAGE_ENCODINGS``;
    every other language is windows-1252. Private-use (``x-...``) and undetermined
    (``und``) tags, and anything that is not a tag, name no language.
    """
    if not tag:
        return None
    m = _LANGUAGE_TAG.fullmatch(tag.strip())
    if not m:
        return None
    primary = m.group(1).lower()
    if primary in _NO_LANGUAGE or len(primary) > 3:
        return None
    if primary == "zh" and _TRADITIONAL & set(m.group(2).lower().split("-")):
        return "big5"
    return LANGUAGE_ENCODINGS.get(primary, "windows-1252")


def language_letters(tag: str | None) -> frozenset[str] | None:
    """The non-ASCII letters (both cases) a text in language ``tag`` has, None when not known."""
    m = _LANGUAGE_TAG.fullmatch(tag.strip()) if tag else None
    letters = LETTERS.get(m.group(1).lower()) if m else None
    if letters is None:
        return None
    if not "\u0400" <= letters[0] <= "\u04ff":  # Latin script: names bring German and French letters
        letters += _NAMES_LETTERS
    return frozenset(letters + letters.upper() + "İ")


def first_language(header: str | None) -> str | None:
    """The first language range of a Content-Language or Accept-Language value, ``*`` skipped."""
    for item in (header or "").split(","):
        tag = item.split(";", 1)[0].strip()
        if tag and tag != "*":
            return tag
    return None


def country_domain(url: str | None) -> str | None:
    """The country top-level domain of ``url``'s host that hints (lower case), None for others."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host or host.startswith("[") or ":" in host:
        return None
    tld = host.rstrip(".").rpartition(".")[2].lower()
    if not _TLD.fullmatch(tld) or tld in NO_TLD_HINT:
        return None
    return tld


def tld_encoding(url: str | None) -> str | None:
    """The fallback encoding for the country top-level domain of ``url``'s host; None for others.

    Two-letter domains not in ``TLD_ENCODINGS`` mean windows-1252, except those in
    ``NO_TLD_HINT``; generic domains (``com``, ``info`` ...) and IP addresses give
    no hint.
    """
    tld = country_domain(url)
    if tld is None:
        return None
    if tld.startswith("xn--"):
        return TLD_ENCODINGS.get(tld)
    return TLD_ENCODINGS.get(tld, "windows-1252")


class Hints(NamedTuple):
    """What is known of a page besides its body, for choosing its encoding when it declares none.

    ``content_language``: its Content-Language header; ``url``: its final URL (for
    the country domain); ``accept_language``: the reader's Accept-Language, whose
    first language stands for the reader's locale.
    """

    content_language: str | None = None
    url: str | None = None
    accept_language: str | None = None
