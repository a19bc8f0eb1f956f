"""Whether text read from bytes in an encoding looks like text of that encoding's languages.

:mod:`linkfilter.decode` asks it of each reading a hint or chardet proposes: a
reading the bytes speak against (undefined bytes, two alphabets in one word,
letters of another script, signs among letters) is no candidate.  Pure: tables
and one pass over the text.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# The scripts whose letters an encoding's own languages write besides ASCII (the
# first word of the letters' Unicode names).
_LATIN = frozenset({"LATIN"})
_CYRILLIC = frozenset({"CYRILLIC"})
_GREEK = frozenset({"GREEK"})
_JAPANESE = frozenset({"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HALFWIDTH", "FULLWIDTH"})
_SCRIPTS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("windows-1250", "windows-1252", "windows-1254", "windows-1257", "windows-1258",
                     "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-10", "iso-8859-13", "iso-8859-14",
                     "iso-8859-15", "iso-8859-16", "macintosh"), _LATIN),
    **dict.fromkeys(("windows-1251", "koi8-r", "koi8-u", "iso-8859-5", "ibm866", "x-mac-cyrillic"), _CYRILLIC),
    **dict.fromkeys(("windows-1253", "iso-8859-7"), _GREEK),
    **dict.fromkeys(("windows-1255", "iso-8859-8", "iso-8859-8-i"), frozenset({"HEBREW"})),
    **dict.fromkeys(("windows-1256", "iso-8859-6"), frozenset({"ARABIC"})),
    "windows-874": frozenset({"THAI"}),
    **dict.fromkeys(("shift_jis", "euc-jp", "iso-2022-jp"), _JAPANESE),
    **dict.fromkeys(("gbk", "gb18030", "big5"), frozenset({"CJK", "FULLWIDTH", "BOPOMOFO"})),
    "euc-kr": frozenset({"HANGUL", "CJK", "FULLWIDTH"}),
}
# Western European text has its accented letters among ASCII ones: never three in
# a row ("Grüße", "Þjóðhátíð", "informações" have two), as Cyrillic or Greek read
# as windows-1252 has ("Ïðèâåò").  (Polish "żółć" has four: not for windows-1250.)
_WESTERN = frozenset({"windows-1252", "iso-8859-15", "macintosh"})
# Every script above: a letter of another (an ordinal indicator, a micro sign) is left alone.
_KNOWN_SCRIPTS = frozenset().union(*_SCRIPTS.values(), {"ARMENIAN", "GEORGIAN"})
# Alphabets that no word mixes (CJK scripts are left out: "iPhone手机" is a word).
_ALPHABETS = frozenset({"LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI", "ARMENIAN", "GEORGIAN"})
# Undefined bytes (U+FFFD) and the C1 controls the windows code pages give their unused bytes.
_UNDEFINED = re.compile("[\x80-\x9f\ufffd]")
# Signs that begin no word ("©ime", "®eleznik" are ISO-8859-2 read as windows-1250), end none ("Kra¶"
# is "Kraś" read as ISO-8859-2): letters of another code page.  Left out: quotes,
# "¿", "¡", "m²", "N°", "Nº", "µm", "Brand®".
_NO_WORD_STARTS = frozenset("©®±²³´¶¸¹¼½¾×÷¢£¥¤¦§¨¬¯ˇ˘˛˝˙")
_NO_WORD_ENDS = frozenset("±´¶¸¹¼½¾×÷¢£¥¤¦§¨¬¯ˇ˘˛˝˙")
_OTHER, _LETTER, _SIGN_AFTER_LETTER, _BAD_LEAD = range(4)
# The scripts whose letters a language's letters (linkfilter.hints.LETTERS) list.
_LETTERED = frozenset({"LATIN", "CYRILLIC"})
# Signs that stand between two letters of a real word: apostrophes, middle dots,
# hyphens and dashes, the soft hyphen, the joiners Persian writes.
_IN_WORD = frozenset("\u2019\u2018\u02bc\u00b7\u2027\u30fb\uff65\u2010\u2011\u2013\u2014\u00ad\u200c\u200d")




@functools.lru_cache(maxsize=4096)
def _letter(c: str) -> str:
    """The script of a non-ASCII letter: the first word of its name."""
    return unicodedata.name(c, "").partition(" ")[0]


def mixes_alphabets(text: str) -> bool:
    """True when a word of ``text`` has letters of two alphabets ("Cafй", "crטme"): mojibake."""
    seen: set[str] = set()
    for c in text:
        if c.isalpha():
            script = "LATIN" if c < "\x80" else _letter(c)
            if script in _ALPHABETS:
                seen.add(script)
                if len(seen) > 1:
                    return True
        elif not unicodedata.combining(c):
            seen.clear()
    return False


def plausible(text: str, encoding: str, letters: frozenset[str] | None = None) -> bool:
    """True when nothing in ``text`` (bytes decoded as ``encoding``) speaks against that encoding.

    Against it: undefined bytes or C1 controls; a word mixing two alphabets; a
    letter outside the scripts of the encoding's languages; and in an alphabet,
    mojibake words: a sign no word has between two letters ("Za¿ó³æ"), before
    one ("©ime") or after one ("Kra¶"), and in windows-1252 three accented
    letters in a row ("Ïðèâåò"); in a CJK code page, one character between two
    ASCII letters ("H東sson").
    """
    if _UNDEFINED.search(text) or mixes_alphabets(text):
        return False
    own = _SCRIPTS.get(encoding)
    if own is None:
        return True
    alphabet = own in (_LATIN, _CYRILLIC, _GREEK)
    max_run = 3 if encoding in _WESTERN else 0
    run = 0
    before = _OTHER  # what came just before: a letter, a sign after one, a sign no word starts with
    wedged = 0  # CJK: 1 after an ASCII letter, 2 after an ASCII letter and one character
    for c in text:
        if c.isalpha():
            if c >= "\x80":
                script = _letter(c)
                if script in _KNOWN_SCRIPTS and script not in own:
                    return False
                wedged = 2 if wedged == 1 and not alphabet else 0
                if letters is not None and script in _LETTERED and c not in letters:
                    return False
                run += 1
                if max_run and run >= max_run:
                    return False
            else:
                if wedged == 2:  # "H東sson": Latin bytes read as a double-byte code page
                    return False
                wedged = 1
                run = 0
            if alphabet and before in (_SIGN_AFTER_LETTER, _BAD_LEAD):
                return False
            before = _LETTER
        elif c < "\x80" or c.isspace() or c in _IN_WORD:
            run = wedged = 0
            before = _OTHER
        elif not unicodedata.combining(c):
            run = wedged = 0
            if alphabet and before is _LETTER and c in _NO_WORD_ENDS:
                return False
            before = (_SIGN_AFTER_LETTER if before is _LETTER
                      else _BAD_LEAD if c in _NO_WORD_STARTS and before is _OTHER else _OTHER)
    return True
