"""linkfilter.decode: labels, the WHATWG order of declarations, detection, the markup scanner."""

from __future__ import annotations

import codecs
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from typing import NamedTuple

from linkfilter.decode import (
    OWN_HINT_EVIDENCE,
    PRESCAN_MIN_BYTES,
    bom_encoding,
    browser_hints,
    codec_for_label,
    decode_bytes,
    encoding_for_chardet,
    encoding_for_label,
    page_language,
    pick_encoding,
)
from linkfilter.hints import Hints, language_letters
from linkfilter.markup import MarkupScanner, scan_markup
from linkfilter.plausible import mixes_alphabets, plausible
from linkfilter.title import TitleSniffer

#: Bytes per read, as the fetcher hands them to the sniffer.
CHUNK = 16 * 1024


class Read(NamedTuple):
    """What the program makes of a page, and the whole body decoded with the encoding it chose."""

    title: str | None
    charset: str
    source: str
    text: str


def read(body: bytes, header: str | None = None, hints: Hints | None = None) -> Read:
    """Read ``body`` as the program does: chunks fed to ``TitleSniffer`` until it has enough, then
    its result (``choose_encoding`` on what was read); ``header`` is Content-Type's charset."""
    sniffer = TitleSniffer(header)
    got = 0
    while got < len(body):
        got += CHUNK
        if sniffer.feed(body[got - CHUNK:got]):
            break
    found = sniffer.result(body[:got], max_title=0, capped=False, hints=hints)
    bom = bom_encoding(body)
    skip = bom[1] if bom and bom[0] == found.charset else 0
    return Read(found.title, found.charset, found.charset_source, decode_bytes(body[skip:], found.charset))

# Realistic text, several sentences per language, so that chardet has something to work on.
TEXTS = {
    "en": ("Weekend weather and events in the city",
           "The weekend will be sunny with light winds, and the city has planned a number of events. "
           "There will be a farmers market on Saturday morning and a free concert in the park."),
    "fr": ("Les élèves découvrent l'été à Paris",
           "Cet été, les élèves de la classe de troisième ont découvert les musées de la capitale. "
           "Ils ont visité le Louvre, où ils ont admiré la Joconde et les sculptures grecques, puis ils se "
           "sont promenés le long de la Seine jusqu'à la cathédrale Notre-Dame. Le soir, après un dîner "
           "très animé, chacun a écrit quelques lignes dans son carnet de voyage. « C'était une journée "
           "inoubliable », a déclaré Élodie, qui rêve déjà de revenir l'année prochaine avec sa famille."),
    "cs": ("Příliš žluťoučký kůň úpěl ďábelské ódy",
           "V pondělí ráno se v centru města sešli zástupci místních škol, aby projednali změny v rozvrhu. "
           "Ředitelé se shodli, že výuka bude začínat o půl hodiny později, protože žáci často přicházejí "
           "unavení. Rodiče tento návrh většinou přivítali, ale někteří se obávají, že děti budou končit "
           "příliš pozdě. Konečné rozhodnutí padne na příštím zasedání městské rady."),
    "pl": ("Zażółć gęślą jaźń w środę",
           "W środę w Krakowie odbyło się spotkanie mieszkańców dzielnicy, na którym omawiano budowę nowej "
           "ścieżki rowerowej. Urzędnicy przedstawili plany, według których trasa połączy park z dworcem "
           "kolejowym. Większość uczestników poparła projekt, choć kilka osób zwróciło uwagę na brak miejsc "
           "parkingowych. Prace mają się rozpocząć jesienią, a zakończenie budowy przewidziano na wiosnę."),
    "ru": ("Новости культуры: выставка в Москве",
           "В субботу в Москве открылась большая выставка русской живописи девятнадцатого века. "
           "Посетители смогут увидеть более двухсот картин из частных коллекций, которые никогда раньше "
           "не показывались публике. Организаторы рассказали, что подготовка заняла почти три года. "
           "Выставка продлится до конца весны, а по выходным в залах будут проходить экскурсии."),
    "el": ("Ειδήσεις από την Αθήνα σήμερα",
           "Το πρωί της Τρίτης πραγματοποιήθηκε στην Αθήνα συνάντηση των δημάρχων της περιφέρειας για τα "
           "προβλήματα της κυκλοφορίας. Οι συμμετέχοντες συζήτησαν την επέκταση του μετρό και τη δημιουργία "
           "νέων ποδηλατοδρόμων. Σύμφωνα με τον υπουργό, τα έργα θα ξεκινήσουν μέσα στο επόμενο έτος και θα "
           "ολοκληρωθούν σε τέσσερα χρόνια. Οι κάτοικοι ελπίζουν ότι η ζωή στην πόλη θα γίνει πιο εύκολη."),
    "tr": ("Türkiye'de yağmurlu günler başlıyor",
           "Meteoroloji Genel Müdürlüğü, önümüzdeki hafta boyunca ülkenin büyük bölümünde sağanak yağış "
           "beklendiğini açıkladı. Özellikle Karadeniz kıyılarında yaşayan vatandaşların dikkatli olması "
           "gerektiği belirtildi. Çiftçiler ise yağmurun kuraklıktan etkilenen tarlalar için iyi bir haber "
           "olduğunu söylüyor. Hafta sonuna doğru sıcaklıkların yeniden yükselmesi bekleniyor."),
    "he": ("חדשות היום מירושלים",
           "ביום שלישי התקיים בירושלים כנס גדול של מורים מכל רחבי הארץ. המשתתפים דנו בדרכים חדשות ללמד "
           "מתמטיקה ומדעים בבתי הספר היסודיים. שר החינוך אמר כי המשרד יקצה תקציב מיוחד להכשרת מורים צעירים. "
           "בסוף היום הוצגו פרויקטים של תלמידים, והקהל התרשם מאוד מהיצירתיות ומהרצינות של הילדים."),
    "ar": ("أخبار اليوم من القاهرة",
           "افتتح في القاهرة يوم الأحد معرض كبير للكتاب بمشاركة مئات من دور النشر العربية والأجنبية. "
           "وقال المنظمون إن المعرض سيستمر أسبوعين، وسيتضمن ندوات ثقافية وأمسيات شعرية وورش عمل للأطفال. "
           "وأعرب الزوار عن سعادتهم بتنوع الكتب المعروضة وبالأسعار المناسبة."),
    "lt": ("Šiandien Vilniuje atidaryta nauja biblioteka",
           "Pirmadienį Vilniaus senamiestyje duris atvėrė nauja viešoji biblioteka. Joje skaitytojai ras "
           "daugiau nei šimtą tūkstančių knygų, kompiuterių klasę ir erdvią vaikų skaityklą. Miesto meras "
           "pabrėžė, kad biblioteka bus atvira kiekvieną dieną, įskaitant savaitgalius. "
           "Gyventojai džiaugiasi, "
           "kad šalia namų atsirado jauki vieta mokytis, susitikti su draugais ir dalyvauti renginiuose."),
    "ja": ("東京の天気と週末のイベント情報",
           "今週末の東京は晴れの日が続き、気温も少し上がる見込みです。上野公園では桜まつりが開かれ、多くの人が"
           "花見を楽しむことが予想されています。主催者によると、屋台や音楽のステージも用意されており、家族連れ"
           "でも楽しめる内容になっているということです。なお、混雑が予想されるため、公共交通機関を利用して来場"
           "するよう呼びかけています。詳しい情報は公式サイトで確認してください。"),
    "zh": ("北京今日新闻：城市交通改善计划",
           "北京市政府今天宣布了一项新的城市交通改善计划。根据该计划，未来三年内将新建多条地铁线路，并在主要"
           "道路上增加公交专用道。有关负责人表示，这些措施将有效缓解交通拥堵，方便市民出行。许多市民对此表示"
           "欢迎，认为这是一件关系到每个人日常生活的好事。专家建议，在建设过程中应当充分听取群众的意见。"),
    "zh_tw": ("台北今日新聞：市民活動中心開幕",
              "台北市新的市民活動中心今天正式開幕，市長親自出席剪綵儀式。這座建築共有五層樓，設有圖書館、運動場、"
              "會議室以及兒童遊戲區。市府表示，中心將提供各種課程，包括語言、電腦和藝術，讓不同年齡的市民都能參加。"
              "許多附近的居民表示，過去要到很遠的地方才能參加活動，現在終於方便多了。"),
    "ko": ("서울 시내 교통 개선 계획 발표",
           "서울시는 오늘 시내 교통 문제를 해결하기 위한 새로운 계획을 발표했습니다. 시는 앞으로 삼 년 동안 "
           "지하철 노선을 늘리고 버스 전용 차로를 확대할 예정이라고 밝혔습니다. 시민들은 출퇴근 시간이 줄어들 "
           "것이라며 기대감을 나타냈습니다. 전문가들은 계획이 성공하려면 시민들의 적극적인 참여가 필요하다고 "
           "강조했습니다."),
    "th": ("ข่าววันนี้จากกรุงเทพมหานคร",
           "เมื่อวันจันทร์ที่ผ่านมา กรุงเทพมหานครได้เปิดสวนสาธารณะแห่งใหม่ในย่านใจกลางเมือง "
           "สวนแห่งนี้มีต้นไม้ใหญ่ ทางเดินสำหรับออกกำลังกาย และลานกิจกรรมสำหรับเด็ก "
           "ผู้ว่าราชการกล่าวว่าสวนจะเปิดให้บริการทุกวันตั้งแต่เช้า"
           "จนถึงค่ำ ประชาชนที่มาเยี่ยมชมต่างแสดงความพอใจและหวังว่าจะมีสวนแบบนี้เพิ่มขึ้นอีกในอนาคต"),
}

# (language, label to declare, Python codec that makes the bytes, WHATWG name decode_page reports)
ENCODINGS = [
    ("ja", "UTF-8", "utf-8", "utf-8"),
    ("fr", "windows-1252", "cp1252", "windows-1252"),
    ("fr", "ISO-8859-1", "latin-1", "windows-1252"),
    ("cs", "iso-8859-2", "iso8859_2", "iso-8859-2"),
    ("pl", "windows-1250", "cp1250", "windows-1250"),
    ("ru", "koi8-r", "koi8_r", "koi8-r"),
    ("ru", "windows-1251", "cp1251", "windows-1251"),
    ("ru", "iso-8859-5", "iso8859_5", "iso-8859-5"),
    ("el", "iso-8859-7", "iso8859_7", "iso-8859-7"),
    ("el", "windows-1253", "cp1253", "windows-1253"),
    ("tr", "windows-1254", "cp1254", "windows-1254"),
    ("he", "windows-1255", "cp1255", "windows-1255"),
    ("ar", "windows-1256", "cp1256", "windows-1256"),
    ("lt", "windows-1257", "cp1257", "windows-1257"),
    ("ja", "Shift_JIS", "shift_jis", "shift_jis"),
    ("ja", "EUC-JP", "euc_jp", "euc-jp"),
    ("ja", "ISO-2022-JP", "iso2022_jp", "iso-2022-jp"),
    ("zh", "GB2312", "gb2312", "gbk"),
    ("zh", "GBK", "gbk", "gbk"),
    ("zh", "gb18030", "gb18030", "gb18030"),
    ("zh_tw", "Big5", "big5", "big5"),
    ("ko", "EUC-KR", "euc_kr", "euc-kr"),
    ("th", "TIS-620", "tis_620", "windows-874"),
    ("th", "windows-874", "cp874", "windows-874"),
]
IDS = [f"{lang}-{label}" for lang, label, _, _ in ENCODINGS]


def page(lang: str, head: str = "", *, repeat: int = 3) -> str:
    title, text = TEXTS[lang]
    body = "\n".join(f"<p>{text}</p>" for _ in range(repeat))
    return (f"<!DOCTYPE html>\n<html><head>{head}<title>{title}</title>\n"
            '<link rel="stylesheet" href="/site.css"></head>\n'
            f"<body><h1>{title}</h1>\n{body}\n</body></html>\n")


def xml_page(lang: str, label: str) -> str:
    title, text = TEXTS[lang]
    return (f'<?xml version="1.0" encoding="{label}"?>\n'
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
            f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head>'
            f"<body><p>{text}</p></body></html>\n")


# --------------------------------------------------------------------------- labels

@pytest.mark.parametrize("label, codec", [
    ("latin1", "cp1252"), ("ISO-8859-1", "cp1252"), ("us-ascii", "cp1252"), ("ascii", "cp1252"),
    ("gbk", "gb18030"), ("gb2312", "gb18030"), ("GB18030", "gb18030"), ("big5", "big5hkscs"),
    ("big5-hkscs", "big5hkscs"), ("shift_jis", "cp932"), ("sjis", "cp932"), ("windows-31j", "cp932"),
    ("euc-kr", "cp949"), ("ks_c_5601-1987", "cp949"), ("tis-620", "cp874"), ("windows-874", "cp874"),
    ("iso-8859-11", "cp874"), ("utf-16", "utf-16-le"), ("UTF-16BE", "utf-16-be"), ("unicode", "utf-16-le"),
    ("utf8", "utf-8"), ("unicode-1-1-utf-8", "utf-8"), ("koi8", "koi8_r"), ("iso-8859-9", "cp1254"),
    ("latin5", "cp1254"), ("iso-8859-8-i", "iso8859_8"), ("x-mac-roman", "mac_roman"),
    ("x-user-defined", "cp1252"), ("euc-jp", "euc_jis_2004"), ("csiso2022jp", "iso2022_jp_ext"),
])
def test_label_map(label: str, codec: str) -> None:
    assert codec_for_label(label) == codec


def test_labels_ignore_case_and_surrounding_whitespace() -> None:
    assert codec_for_label("  \tLaTiN1\n ") == "cp1252"
    assert encoding_for_label(" SHIFT_JIS ") == "shift_jis"
    assert encoding_for_label("GB2312") == "gbk"


@pytest.mark.parametrize("label", ["", "utf-7", "utf-32", "iso-2022-kr", "hz-gb-2312", "replacement",
                                   "latin 1", "utf_8", "x-unknown", "cp932", "euc_jp", "\u212aoi8-r"])
def test_unknown_labels(label: str) -> None:
    assert codec_for_label(label) is None
    assert encoding_for_label(label) is None


@pytest.mark.parametrize("answer, name", [
    ("SHIFT_JIS", "shift_jis"), ("CP932", "shift_jis"), ("shift_jis_2004", "shift_jis"), ("EUC-JP", "euc-jp"),
    ("euc_jis_2004", "euc-jp"), ("ISO-2022-JP", "iso-2022-jp"), ("iso2022_jp_2", "iso-2022-jp"),
    ("GB2312", "gbk"), ("GB18030", "gb18030"), ("Big5", "big5"), ("big5hkscs", "big5"), ("EUC-KR", "euc-kr"),
    ("CP949", "euc-kr"), ("Windows-1252", "windows-1252"), ("ISO-8859-1", "windows-1252"),
    ("ISO-8859-7", "iso-8859-7"), ("ISO-8859-9", "windows-1254"), ("iso8859-15", "iso-8859-15"),
    ("iso8859-16", "iso-8859-16"), ("TIS-620", "windows-874"), ("CP874", "windows-874"), ("KOI8-R", "koi8-r"),
    ("IBM866", "ibm866"), ("MacCyrillic", "x-mac-cyrillic"), ("MacRoman", "macintosh"),
    ("UTF-8-SIG", "utf-8"),
    ("UTF-16", "utf-16le"), ("utf-16-be", "utf-16be"),
    ("IBM855", None), ("Johab", None), ("HZ-GB-2312", None), ("cp037", None), ("", None), (None, None),
])
def test_chardet_answers_map_to_browser_encodings(answer: str | None, name: str | None) -> None:
    assert encoding_for_chardet(answer) == name


def test_every_chardet_candidate_maps() -> None:
    # What chardet 7.7 would call each candidate it may answer with (compat names, its default).
    from chardet.output_names import apply_compat_names

    from linkfilter.decode import _CHARDET_CANDIDATES

    for candidate in _CHARDET_CANDIDATES:
        answer = apply_compat_names({"encoding": candidate})["encoding"]
        assert encoding_for_chardet(answer) is not None, (candidate, answer)
        assert encoding_for_chardet(candidate) is not None, candidate


def test_every_codec_in_the_table_exists() -> None:
    from linkfilter.decode import _ENCODINGS, _LABELS

    assert len(_LABELS) > 200
    for name, (codec, labels) in _ENCODINGS.items():
        codecs.lookup(codec)
        assert encoding_for_label(name) == name
        assert all(encoding_for_label(label) == name for label in labels.split())


def test_windows_code_pages_keep_c1_bytes_as_whatwg_does() -> None:
    assert decode_bytes(b"a\x81b\x8d\x80", "windows-1252") == "a\x81b\x8d\u20ac"
    assert decode_bytes(b"\x98", "windows-1251") == "\x98"
    assert decode_bytes(b"\xff", "windows-1253") == "\ufffd"
    assert decode_bytes(b"\xa4\x40\xff", "big5") == "\u4e00\ufffd"


def test_euc_jp_has_the_nec_row() -> None:
    assert decode_bytes("①東京".encode("euc_jis_2004"), "euc-jp") == "①東京"


# --------------------------------------------------------------------------- one declaration at a time

def _check(result: Read, lang: str, charset: str, source: str) -> None:
    title, text = TEXTS[lang]
    assert (result.title, result.charset, result.source) == (title, charset, source)
    assert text in result.text


@pytest.mark.parametrize("lang, label, codec, name", ENCODINGS, ids=IDS)
def test_declared_in_the_header(lang: str, label: str, codec: str, name: str) -> None:
    body = page(lang).encode(codec)
    _check(read(body, label), lang, name, "header")
    _check(read(body, f'"{label.lower()}"'), lang, name, "header")


@pytest.mark.parametrize("lang, label, codec, name", ENCODINGS, ids=IDS)
def test_declared_by_meta_charset(lang: str, label: str, codec: str, name: str) -> None:
    body = page(lang, f'<meta charset="{label}">').encode(codec)
    _check(read(body, None), lang, name, "meta")


@pytest.mark.parametrize("lang, label, codec, name", ENCODINGS, ids=IDS)
def test_declared_by_http_equiv(lang: str, label: str, codec: str, name: str) -> None:
    head = f"<META HTTP-EQUIV=Content-Type CONTENT='text/html; Charset={label.upper()}'>"
    body = page(lang, head).encode(codec)
    _check(read(body, None), lang, name, "meta")


@pytest.mark.parametrize("lang, label, codec, name", ENCODINGS, ids=IDS)
def test_declared_by_xml_declaration(lang: str, label: str, codec: str, name: str) -> None:
    body = xml_page(lang, label).encode(codec)
    _check(read(body, None), lang, name, "xml")


# What chardet 7.7 answers for these pages when nothing is declared.  Where it
# differs from the encoding used, it names a superset that decodes the text alike.
DETECTED = {("el", "iso-8859-7"): "windows-1253", ("zh", "GB2312"): "gb18030", ("zh", "GBK"): "gb18030"}


@pytest.mark.parametrize("lang, label, codec, name", ENCODINGS, ids=IDS)
def test_undeclared_is_detected(lang: str, label: str, codec: str, name: str) -> None:
    body = page(lang).encode(codec)
    expected = DETECTED.get((lang, label), name)
    _check(read(body, None), lang, expected, "utf-8" if name == "utf-8" else "chardet")


@pytest.mark.parametrize("codec, name", [("utf-8-sig", "utf-8"), ("utf-16", "utf-16le"),
                                         ("utf-16-be", "utf-16be"), ("utf-16-le", "utf-16le")])
def test_byte_order_mark(codec: str, name: str) -> None:
    text = page("ja")
    body = text.encode(codec)
    if not body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        body = {"utf-16be": codecs.BOM_UTF16_BE, "utf-16le": codecs.BOM_UTF16_LE}[name] + body
    result = read(body, None)
    assert (result.title, result.text, result.charset, result.source) == (TEXTS["ja"][0], text, name, "bom")


# --------------------------------------------------------------------------- conflicts and the order

def test_header_beats_meta() -> None:
    body = page("ru", '<meta charset="koi8-r">').encode("cp1251")
    _check(read(body, "windows-1251"), "ru", "windows-1251", "header")


def test_bom_beats_header_and_meta() -> None:
    body = codecs.BOM_UTF8 + page("fr", '<meta charset="iso-8859-2">').encode("utf-8")
    _check(read(body, "windows-1252"), "fr", "utf-8", "bom")
    body = codecs.BOM_UTF16_BE + page("fr").encode("utf-16-be")
    _check(read(body, "utf-8"), "fr", "utf-16be", "bom")


def test_header_utf16_without_bom_is_little_endian() -> None:
    _check(read(page("ko").encode("utf-16-le"), "utf-16"), "ko", "utf-16le", "header")


def test_meta_claiming_utf16_means_utf8() -> None:
    body = page("ja", '<meta charset="utf-16">').encode("utf-8")
    _check(read(body, None), "ja", "utf-8", "meta")
    body = xml_page("ja", "UTF-16").encode("utf-8")
    _check(read(body, None), "ja", "utf-8", "xml")


def test_unknown_header_label_falls_through_to_meta() -> None:
    body = page("cs", '<meta charset="iso-8859-2">').encode("iso8859_2")
    _check(read(body, "x-bogus"), "cs", "iso-8859-2", "meta")
    _check(read(body, ""), "cs", "iso-8859-2", "meta")


def test_unknown_meta_label_is_skipped_for_the_next_one() -> None:
    head = '<meta charset="x-klingon"><meta http-equiv="content-type" content="text/html;charset=koi8-r">'
    _check(read(page("ru", head).encode("koi8_r"), None), "ru", "koi8-r", "meta")


def test_unknown_meta_label_falls_through_to_detection() -> None:
    body = page("ru", '<meta charset="x-klingon">').encode("koi8_r")
    _check(read(body, None), "ru", "koi8-r", "chardet")


def test_meta_beats_xml_declaration() -> None:
    text = xml_page("pl", "iso-8859-2").replace("<head>", '<head><meta charset="windows-1250">')
    _check(read(text.encode("cp1250"), None), "pl", "windows-1250", "meta")


def test_x_user_defined_means_windows_1252() -> None:
    _check(read(page("fr", '<meta charset="x-user-defined">').encode("cp1252"), None),
           "fr", "windows-1252", "meta")


def test_http_equiv_content_parsing() -> None:
    cases = {
        "text/html; charset=koi8-r": "koi8-r",
        'text/html;charset="koi8-r"': "koi8-r",
        "text/html; CHARSET = 'koi8-r' ; x": "koi8-r",
        "text/html; charsetx; charset=koi8-r": "koi8-r",
    }
    for content, name in cases.items():
        body = page("ru", f'<meta http-equiv="Content-Type" content="{content}">').encode("koi8_r")
        assert read(body, None).charset == name, content
    # no http-equiv, or an unterminated quote: not a declaration
    for head in ['<meta content="text/html; charset=koi8-r">',
                 '<meta http-equiv="content-type" content="text/html; charset=\'koi8-r">',
                 '<meta http-equiv="refresh" content="0; charset=koi8-r">']:
        assert read(page("ru", head).encode("koi8_r"), None).source == "chardet", head


def test_meta_inside_comment_script_or_template_does_not_count() -> None:
    # chardet also reads <meta> declarations, so the long ASCII stretch keeps them from it
    for head in ['<!-- <meta charset="koi8-r"> -->', '<script>x = "<meta charset=koi8-r>"</script>',
                 '<template><meta charset="koi8-r"></template>',
                 '<style>/* <meta charset=koi8-r> */</style>']:
        result = read(page("ru", head).encode("cp1251"), None)
        assert (result.charset, result.source) == ("windows-1251", "chardet"), head


def test_prescan_covers_everything_before_the_title() -> None:
    script = "<script>" + "var x = 1;\n" * 30000 + "</script>"
    body = page("ru", script + '<meta charset="koi8-r">').encode("koi8_r")
    assert body.index(b"<meta") > 300000
    _check(read(body, None), "ru", "koi8-r", "meta")


def test_meta_after_the_title_counts_only_in_the_first_1024_bytes() -> None:
    title, text = TEXTS["ru"]
    near = f"<html><head><title>{title}</title><meta charset=koi8-r></head><body>{text}</body>"
    _check(read(near.encode("koi8_r"), None), "ru", "koi8-r", "meta")
    far = (f"<html><head><title>{title}</title>{' ' * PRESCAN_MIN_BYTES}<meta charset=koi8-r></head>"
           f"<body>{text}")
    assert read(far.encode("koi8_r"), None).source == "chardet"


def test_without_a_title_the_head_is_prescanned() -> None:
    _, text = TEXTS["ru"]
    head = "<html><head>" + "<link rel=preload href=/x.js>\n" * 100 + "<meta charset=koi8-r></head>"
    result = read(f"{head}<body><p>{text}</p>".encode("koi8_r"), None)
    assert (result.charset, result.source) == ("koi8-r", "meta") and text in result.text
    late = f"<html><head></head><body><p>{text}</p>" + " " * PRESCAN_MIN_BYTES + "<meta charset=koi8-r>"
    assert read(late.encode("koi8_r"), None).source == "chardet"


def test_valid_utf8_wins_over_detection_even_when_cut_mid_character() -> None:
    body = page("ja").encode("utf-8")
    cut = body[:body.index("東".encode()) + 1]
    result = read(cut, None)
    assert (result.charset, result.source) == ("utf-8", "utf-8")
    assert result.title == "\ufffd"  # the open title runs to the end: the cut character


def test_ascii_is_utf8() -> None:
    assert read(page("en").encode("ascii"), None) == Read(TEXTS["en"][0], "utf-8", "utf-8", page("en"))


def test_iso_2022_jp_is_7bit_but_still_detected() -> None:
    body = page("ja").encode("iso2022_jp")
    assert body.isascii()
    _check(read(body, None), "ja", "iso-2022-jp", "chardet")


def test_detection_looks_at_the_title_after_a_long_ascii_prefix() -> None:
    title, text = TEXTS["ja"]
    prefix = "<html><head><script>" + "var a = [1, 2, 3]; function f(x) { return x * 2; }\n" * 6000
    body = f"{prefix}</script><title>{title}</title></head><body><p>{text}</p>".encode("euc_jp")
    assert body.index(b"<title>") > 200000
    _check(read(body, None), "ja", "euc-jp", "chardet")


def test_no_answer_from_chardet_is_windows_1252() -> None:
    for body in (b"\x98\x99", bytes(range(256)), b"<title>\x1b$B</title>"):
        result = read(body, None)
        assert (result.charset, result.source) == ("windows-1252", "fallback")
        assert result.text == decode_bytes(body, "windows-1252")


# --------------------------------------------------------------------------- hints for short undeclared pages

# Short titles, each under 40 bytes of non-ASCII text: (language tag, country domain,
# Python codec that makes the bytes, WHATWG name).  None: no country domain hints that
# language (Israel's does not take part in the browsers' table).
SHORT = [
    ("fr", "fr", "cp1252", "windows-1252", "Café à la crème — été"),
    ("fr", "fr", "cp1252", "windows-1252", "Les élèves découvrent l'été à Paris"),
    ("de", "de", "cp1252", "windows-1252", "Schöne Grüße aus München"),
    ("es", "es", "cp1252", "windows-1252", "Años de cañón: la canción española"),
    ("pt-BR", "br", "cp1252", "windows-1252", "Coração não é pão: informações"),
    ("it", "it", "cp1252", "windows-1252", "Perché la città è più bella"),
    ("sv", "se", "cp1252", "windows-1252", "Smörgåsbord på färjan till Åland"),
    ("da", "dk", "cp1252", "windows-1252", "Rødgrød med fløde på Ærø"),
    ("is", "is", "cp1252", "windows-1252", "Þjóðhátíð í Vestmannaeyjum"),
    ("cs", "cz", "cp1250", "windows-1250", "Příliš žluťoučký kůň úpěl"),
    ("pl", "pl", "cp1250", "windows-1250", "Zażółć gęślą jaźń w środę"),
    ("pl", "pl", "iso8859_2", "iso-8859-2", "Wiadomości z Łodzi i Gdańska"),
    ("hu", "hu", "iso8859_2", "iso-8859-2", "Árvíztűrő tükörfúrógép"),
    ("sk", "sk", "cp1250", "windows-1250", "Ďaleko za horami: príbeh"),
    ("hr", "hr", "cp1250", "windows-1250", "Čudesna šuma: Đakovo i Žumberak"),
    ("ru", "ru", "cp1251", "windows-1251", "Привет, мир"),
    ("ru", "ru", "koi8_r", "koi8-r", "Новости культуры"),
    ("uk", "ua", "cp1251", "windows-1251", "Київ і Львів сьогодні"),
    ("bg", "bg", "cp1251", "windows-1251", "Здравей, свят"),
    ("el", "gr", "iso8859_7", "iso-8859-7", "Ειδήσεις από την Αθήνα"),
    ("el", "gr", "cp1253", "windows-1253", "Καλημέρα κόσμε"),
    ("tr", "tr", "cp1254", "windows-1254", "Türkçe haberler: yağmur"),
    ("tr", "tr", "cp1254", "windows-1254", "İstanbul'da güneşli gün"),
    ("he", None, "cp1255", "windows-1255", "חדשות היום"),
    ("ar", "eg", "cp1256", "windows-1256", "أخبار اليوم"),
    ("fa", "ir", "cp1256", "windows-1256", "اخبار امروز ايران"),
    ("lt", "lt", "cp1257", "windows-1257", "Šiandien Vilniuje"),
    ("lv", "lv", "cp1257", "windows-1257", "Ziņas no Rīgas šodien"),
    ("et", "ee", "cp1257", "windows-1257", "Tänased uudised Tõrvast"),
    ("vi", "vn", "cp1258", "windows-1258", "Tin t\u01b0\u0301c h\u00f4m nay"),  # tones as combining marks
    ("th", "th", "cp874", "windows-874", "ข่าววันนี้"),
    ("ja", "jp", "cp932", "shift_jis", "東京の天気"),
    ("ja", "jp", "euc_jp", "euc-jp", "日本語のページ"),
    ("zh-CN", "cn", "gb18030", "gbk", "北京今日新闻"),
    ("zh-TW", "tw", "big5", "big5", "台北今日新聞"),
    ("ko", "kr", "cp949", "euc-kr", "서울 시내 교통"),
]
SHORT_IDS = [f"{lang}-{name}-{i}" for i, (lang, _, _, name, _) in enumerate(SHORT)]
DEFAULT_ACCEPT_LANGUAGE = "en;q=0.9, *;q=0.5"


def short_page(raw: bytes, html_attrs: bytes = b"") -> bytes:
    return (b"<!DOCTYPE html><html" + html_attrs + b"><head><title>" + raw
            + b"</title></head><body></body></html>")


def test_the_short_titles_are_short() -> None:
    names = {name for _, _, _, name, _ in SHORT}
    languages = {lang.split("-")[0] for lang, _, _, _, _ in SHORT}
    assert len(names - {"windows-1252"}) >= 10 and len(languages) >= 8
    for _, _, codec, _, title in SHORT:
        raw = title.encode(codec)
        assert 0 < sum(b > 127 for b in raw) < 40  # "short": fewer than 40 bytes past ASCII


HINTED = [(*s, place) for s in SHORT for place in ("lang", "meta", "content-language", "tld", "locale")
          if place != "tld" or s[1] is not None]


@pytest.mark.parametrize("lang, tld, codec, name, title, place", HINTED,
                         ids=[f"{lang}-{name}-{place}" for lang, _, _, name, _, place in HINTED])
def test_a_hint_makes_every_short_title_right(lang, tld, codec, name, title, place) -> None:
    raw = title.encode(codec)
    want = raw.decode(codec)
    body, hints, source = short_page(raw), Hints(accept_language=DEFAULT_ACCEPT_LANGUAGE), place
    if place == "lang":
        body, source = short_page(raw, f' lang="{lang}"'.encode()), "lang"
    elif place == "meta":  # the pragma-set default language, when <html> has none
        body = short_page(raw).replace(b"<head>", f'<head><meta http-equiv="Content-Language" content="{lang}">'
                                       .encode())
        source = "lang"
    elif place == "content-language":
        hints, source = hints._replace(content_language=f"{lang}, en"), "lang"
    elif place == "tld":
        hints = hints._replace(url=f"http://news.example.{tld}/today")
    else:  # the reader's own language
        hints = Hints(accept_language=f"{lang};q=0.9, en;q=0.5")
    result = read(body, None, hints)
    assert want in result.text
    assert result.source in (source, "chardet")
    if result.source == "chardet":  # the hint agreed with chardet's best
        assert read(body, None).charset == result.charset


@pytest.mark.parametrize("lang, tld, codec, name, title",
                         [s for s in SHORT if s[3] == "windows-1252"],
                         ids=[i for s, i in zip(SHORT, SHORT_IDS) if s[3] == "windows-1252"])
def test_without_hints_the_default_locale_makes_western_titles_right(lang, tld, codec, name, title) -> None:
    raw = title.encode(codec)
    for url in (None, "http://example.com/", "http://127.0.0.1:8080/"):
        result = read(short_page(raw), None, Hints(None, url, DEFAULT_ACCEPT_LANGUAGE))
        assert raw.decode(codec) in result.text
        assert result.charset == "windows-1252" and result.source in ("locale", "chardet")


@pytest.mark.parametrize("hints", [None, Hints(accept_language=DEFAULT_ACCEPT_LANGUAGE),
                                   Hints("ru", "http://example.ru/", "ru"), Hints("he", None, "he, en")])
def test_a_french_windows_1252_title_never_comes_out_cyrillic_or_hebrew(hints: Hints | None) -> None:
    raw = "Café à la crème — été".encode("cp1252")
    for wrong in ("windows-1251", "iso-8859-8"):  # read as "Cafй а la crиme — йtй", "Cafי א la crטme"
        assert mixes_alphabets(decode_bytes(raw, wrong))
    result = read(short_page(raw), None, hints)
    assert "Café à la crème — été" in result.text and result.charset == "windows-1252"


@pytest.mark.parametrize("text, mixed", [
    ("Cafй а la crиme", True), ("Cafי א la crטme", True), ("Perchй", True), ("Ελλάδαs", True),
    ("Café à la crème — été", False), ("Москва Moscow", False), ("Новости: news", False),
    ("iPhone手机", False), ("東京Tower", False), ("Vie\u0323\u0302t Nam", False), ("Ελλάδα", False),
    ("אבג—abc", False), ("", False),
])
def test_mixes_alphabets(text: str, mixed: bool) -> None:
    assert mixes_alphabets(text) is mixed


@pytest.mark.parametrize("text, encoding, allowed", [
    ("Café à la crème — été", "windows-1252", True), ("Cafй а la crиme — йtй", "windows-1251", False),
    ("Cafי א la crטme", "windows-1255", False), ("Za¿ó³æ gêœl¹ jaŸñ", "windows-1252", False),
    ("Zażółć gęślą jaźń", "windows-1250", True), ("©ime", "windows-1250", False), ("Šime", "iso-8859-2", True),
    ("Kra¶", "iso-8859-2", False), ("Ïðèâåò, ìèð", "windows-1252", False), ("Привет, мир", "windows-1251", True),
    ("Grüße, Þjóðhátíð, informações", "windows-1252", True), ("m² N° Nº µm Brand® «Bonjour» ¿Qué? l’été",
                                                               "windows-1252", True),
    ("caf\x81", "windows-1252", False), ("caf\ufffd", "windows-1252", False), ("Ελλάδα", "windows-1251", False),
    ("東京の天気", "shift_jis", True), ("iPhone手机", "gbk", True), ("Tシャツ", "shift_jis", True), ("H東sson", "big5", False), ("東京の天気", "euc-kr", False), ("서울 시내", "euc-kr", True),
    ("ข่าววันนี้", "windows-874", True), ("שלום", "windows-1256", False), ("شیشه\u200cای", "windows-1256", True),
    ("Tin tư\u0301c", "windows-1258", True), ("đươ\u0300ng", "windows-1258", True),
])
def test_plausible(text: str, encoding: str, allowed: bool) -> None:
    assert plausible(text, encoding) is allowed


# A hint that the bytes speak against: its encoding is implausible, or where chardet is sure,
# ranked under HINT_FLOOR of its best.
CONTRADICTED = [
    ("ru", "cp1251", "Новости культуры: выставка в Москве", Hints("fr", "http://example.fr/", "de")),
    ("ru", "koi8_r", "Новости культуры", Hints("ja", "http://example.jp/", "el")),
    ("el", "iso8859_7", "Ειδήσεις από την Αθήνα", Hints("ru", "http://example.tr/", "en")),
    ("ja", "cp932", "東京の天気と週末", Hints("ko", "http://example.ru/", "en")),
    ("ko", "cp949", "서울 시내 교통", Hints("zh-CN", "http://example.cn/", "ja")),
    # (on "北京今日新闻" alone chardet is unsure, and EUC-JP reads it as plausible kanji: "ja" decides)
    ("zh", "gb18030", "北京今日新闻：城市交通改善计划", Hints("ja", "http://example.kr/", "th")),
    ("he", "cp1255", "חדשות היום מירושלים", Hints("ar", "http://example.eg/", "en")),
    ("ar", "cp1256", "أخبار اليوم من القاهرة", Hints("he", "http://example.ru/", "en")),
    ("th", "cp874", "ข่าววันนี้จากกรุงเทพ", Hints("fr", "http://example.jp/", "en")),
]


@pytest.mark.parametrize("lang, codec, title, hints", CONTRADICTED, ids=[c[0] for c in CONTRADICTED])
def test_a_hint_the_bytes_contradict_keeps_their_encoding(lang, codec, title, hints) -> None:
    raw = title.encode(codec)
    alone = read(short_page(raw), None)
    assert title in alone.text
    for body in (short_page(raw), short_page(raw, f' lang="{hints.content_language}"'.encode())):
        result = read(body, None, hints)
        assert (result.charset, result.source) == (alone.charset, "chardet")


# Hints that name another encoding than the page's for every long page of ENCODINGS.
WRONG_HINTS = [Hints("ru", "http://example.jp/", "el"), Hints("cs", "http://example.lt/", "tr"),
               Hints("fr", "http://example.cz/", DEFAULT_ACCEPT_LANGUAGE), Hints("ar", "http://example.th/", "ko")]


@pytest.mark.parametrize("lang, label, codec, name", ENCODINGS, ids=IDS)
def test_long_pages_keep_chardets_answer_whatever_the_hints(lang: str, label: str, codec: str,
                                                            name: str) -> None:
    body = page(lang).encode(codec)
    alone = read(body, None)
    for hints in WRONG_HINTS:
        _check(read(body, None, hints), lang, alone.charset, alone.source)
    tagged = page(lang).replace("<html>", '<html lang="he">').encode(codec)
    _check(read(tagged, None, WRONG_HINTS[0]), lang, alone.charset, alone.source)


def test_hints_decide_short_titles_and_break_near_ties_on_longer_ones() -> None:
    # French under a Czech domain: windows-1250 reads it as plausible Latin ("crčme")
    hints = Hints(url="http://example.cz/")
    words = (TEXTS["fr"][1] * 2).split()
    short, long = [], []
    for n in range(1, len(words)):
        text = " ".join(words[:n])
        raw = text.encode("cp1252")
        high = sum(b > 127 for b in raw)
        if high:
            result = read(short_page(raw), None, hints)
            (short if high < OWN_HINT_EVIDENCE else long).append((text, result))
    assert any(r.source == "tld" for _, r in short)  # the hint chose, and chose wrong
    assert long and all(r.source == "chardet" and r.title == text for text, r in long)


CAFE = "Café à la crème — été".encode("cp1252")
PRIVET = "Привет".encode("cp1251")
KOREAN = "서울 시내 교통".encode("cp949")


@pytest.mark.parametrize("candidates, hints, words, evidence, expected", [
    ([], [("tld", "windows-1251")], CAFE, 5, ("windows-1252", "fallback")),
    # implausible candidates are passed over ("Cafי", "Cafй")
    ([("iso-8859-8", 0.015), ("windows-1251", 0.0145), ("windows-1252", 0.013)], [], CAFE, 5,
     ("windows-1252", "chardet")),
    ([("iso-8859-8", 0.015), ("windows-1251", 0.0145)], [], CAFE, 5, ("iso-8859-8", "chardet")),  # none is
    # strongest first: the page's language beats the domain
    ([("windows-1250", 0.02), ("windows-1252", 0.019)], [("lang", "windows-1252"), ("tld", "windows-1250")],
     CAFE, 5, ("windows-1252", "lang")),
    # a hint the bytes make implausible is passed over for the next one
    ([("windows-1250", 0.02), ("windows-1251", 0.019), ("windows-1252", 0.019)],
     [("lang", "windows-1251"), ("tld", "windows-1252")], CAFE, 5, ("windows-1252", "tld")),
    # where chardet is sure, a hint needs HINT_FLOOR of its best; where it is not, none
    ([("euc-kr", 0.23), ("gb18030", 0.02)], [("lang", "gbk")], KOREAN, 12, ("euc-kr", "chardet")),
    ([("euc-kr", 0.03), ("gb18030", 0.002)], [("lang", "gbk")], KOREAN, 12, ("gb18030", "lang")),
    # the reader's locale decides only at LOCALE_SHARE of the best plausible candidate
    ([("windows-1250", 0.02), ("windows-1252", 0.009)], [("locale", "windows-1252")], CAFE, 5,
     ("windows-1250", "chardet")),
    ([("windows-1250", 0.02), ("windows-1252", 0.011)], [("locale", "windows-1252")], CAFE, 5,
     ("windows-1252", "locale")),
    # a longer sample: the hints break near-ties only (chardet 7.7 on a French page: hu 0.1184, fr 0.1166)
    ([("windows-1250", 0.1184), ("windows-1252", 0.1166)], [("locale", "windows-1252")], CAFE, 40,
     ("windows-1252", "locale")),
    ([("windows-1250", 0.15), ("windows-1252", 0.12)], [("lang", "windows-1252")], CAFE, 40,
     ("windows-1250", "chardet")),
    ([("windows-1250", 0.15), ("windows-1252", 0.12)], [("lang", "windows-1252")], CAFE, OWN_HINT_EVIDENCE - 1,
     ("windows-1252", "lang")),
    # within a family the bytes choose; a tie goes to the hint's own encoding
    ([("iso-8859-16", 0.02), ("iso-8859-2", 0.018), ("windows-1250", 0.015)], [("tld", "windows-1250")],
     b"\xe9t\xe9", 3, ("iso-8859-2", "tld")),
    ([("iso-8859-16", 0.02), ("iso-8859-2", 0.018), ("windows-1250", 0.018)], [("tld", "windows-1250")],
     b"\xe9t\xe9", 3, ("windows-1250", "tld")),
    # a hint for a family member of chardet's best changes nothing: chardet decided
    ([("windows-1251", 0.02), ("koi8-r", 0.011)], [("tld", "koi8-r")], PRIVET, 6, ("windows-1251", "chardet")),
    ([("gb18030", 0.03), ("windows-1252", 0.006)], [("tld", "gbk")], "北京".encode("gb18030"), 4,
     ("gb18030", "chardet")),
    # what chardet knows by structure stands
    ([("utf-16le", 0.95), ("windows-1252", 0.9)], [("lang", "windows-1252")], b"C\x00a\x00f\x00\xe9\x00", 1,
     ("utf-16le", "chardet")),
])
def test_pick_encoding(candidates, hints, words, evidence, expected) -> None:
    assert pick_encoding(candidates, hints, words, evidence) == expected


@pytest.mark.parametrize("head, lang", [
    (b'<html lang="ru">', "ru"), (b"<HTML LANG=pl-PL class=x>", "pl-PL"), (b"<html class='a' lang='el'>", "el"),
    (b'<html\nlang = "ja"\n>', "ja"), (b'<html xml:lang="de" lang="fr">', "fr"), (b'<html xml:lang="de">', None),
    (b'<html data-lang="de">', None), (b'<!-- <html lang="de"> --><html lang="tr">', "tr"),
    (b'<html lang="">', None), (b"<html>", None), (b"<htmlx lang=ru>", None),
    (b'<html><meta http-equiv="content-language" content="uk">', "uk"),
    (b'<html lang="cs"><meta http-equiv="Content-Language" content="uk">', "cs"),
    (b'<html lang=""><meta http-equiv="Content-Language" content=" sk ">', "sk"),
    (b'<html><meta http-equiv="content-language" content="de, fr">', None),
])
def test_page_language(head: bytes, lang: str | None) -> None:
    body = head + b"<head><title>x</title></head>"
    assert page_language(body, scan_markup(body.decode("latin-1"))) == lang


def test_a_lang_after_the_title_does_not_count() -> None:
    body = b'<head><title>x</title></head><html lang="ru">'
    assert page_language(body, scan_markup(body.decode("latin-1"))) is None


def test_hints_never_count_for_declared_or_utf8_pages() -> None:
    hints = Hints("ru", "http://example.ru/", "ru")
    raw = "Café".encode("cp1252")
    assert read(short_page(raw), "windows-1252", hints).source == "header"
    assert read(b'<meta charset="iso-8859-15">' + short_page(raw), None, hints).source == "meta"
    assert read(short_page("Café".encode()), None, hints).source == "utf-8"


def test_browser_hints_order_and_sources() -> None:
    body = short_page(b"caf\xe9", b' lang="tr"')
    markup = scan_markup(body.decode("latin-1"))
    assert browser_hints(body, markup, Hints("ru", "http://a.gr/", "ja, en")) == [
        ("lang", "windows-1254", language_letters("tr")), ("tld", "iso-8859-7", None), ("locale", "shift_jis", None)]
    plain = short_page(b"caf\xe9")
    markup = scan_markup(plain.decode("latin-1"))
    assert browser_hints(plain, markup, Hints("ru", "http://a.com/", "*")) == [
        ("lang", "windows-1251", language_letters("ru"))]
    assert browser_hints(plain, markup, Hints(None, "http://a.cz/", "sk")) == [
        ("tld", "windows-1250", language_letters("cs")), ("locale", "windows-1250", language_letters("sk"))]
    assert browser_hints(plain, markup, None) == []


def test_a_languages_letters_tell_close_code_pages_apart() -> None:
    # ISO-8859-2 "ž" is windows-1250 "ľ": a Slovak letter, no Czech or Croatian one
    raw = "Doležalová".encode("iso8859_2")
    candidates = [("windows-1250", 0.0431), ("iso-8859-2", 0.0395)]
    assert pick_encoding(candidates, [("lang", "windows-1250", language_letters("cs"))], raw, 1) == (
        "iso-8859-2", "lang")
    assert pick_encoding(candidates, [("lang", "windows-1250")], raw, 1) == ("windows-1250", "chardet")
    assert read(short_page(raw, b' lang="cs"')).title == "Doležalová"
    assert read(short_page(raw), None, Hints(url="http://www.example.hr/")).title == "Doležalová"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400),
       st.one_of(st.none(), st.sampled_from(["utf-8", "bogus", '"koi8-r"', "utf-16"])))
def test_reading_never_raises(body: bytes, header: str | None) -> None:
    result = read(body, header)
    assert isinstance(result.text, str) and result.charset and result.source


def test_chardet_is_imported_only_when_needed() -> None:
    code = ("import sys, functools, linkfilter.title as t\n"
            "read = functools.partial(t.page_title, max_title=0, capped=False)\n"
            "assert 'chardet' not in sys.modules\n"
            "read(b'<title>caf\\xc3\\xa9</title>', None)\n"
            "read(b'<meta charset=latin1><title>caf\\xe9</title>', None)\n"
            "read(b'<title>caf\\xe9</title>', 'latin1')\n"
            "assert 'chardet' not in sys.modules\n"
            "read(b'<title>caf\\xe9</title>', None)\n"
            "assert 'chardet' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- the scanner's fast paths

TAG_PIECES = ["<a", "<svg", "</p", " ", "\n", "/", "=", '"', "'", ">", "x", "href", "=x", '="a>b"', "='c'",
              "<", "`", "-", "=/p/q", "/>"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(TAG_PIECES), min_size=1, max_size=12))
def test_fast_tag_regexes_agree_with_the_tokenizer(pieces: list[str]) -> None:
    import re

    from linkfilter.markup import _FAST_TAG, _TAG_BODY, _parse_tag

    text = "<a" + "".join(pieces)
    slow = _parse_tag(text, 0)
    strict = re.compile(r"<(/?)([a-zA-Z][^\t\n\f\r />]*)" + _TAG_BODY)
    for rx in (_FAST_TAG, strict):
        m = rx.match(text)
        if m:
            assert slow is not None and m.end() == slow[2], (text, rx.pattern[:20])


ATTR_PIECES = TAG_PIECES + ["A", "Content", " = ", "\t", '=""', "=''", "\u212a", "\xe9", "='x\"y'", '="p\'q"']


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(ATTR_PIECES), min_size=1, max_size=14))
def test_fast_attributes_agree_with_the_tokenizer(pieces: list[str]) -> None:
    """Where _FAST_TAG matches a tag, its attributes read in one regex pass are _parse_tag's."""
    from linkfilter.markup import _FAST_TAG, _parse_tag, _tag_attributes

    text = "<meta" + "".join(pieces)
    m = _FAST_TAG.match(text)
    if m and not m.group(1):
        slow = _parse_tag(text, 0)
        assert slow is not None
        assert _tag_attributes(text, 0, m) == slow[1], text


def test_scanner_handles_markup_split_anywhere() -> None:
    text = ("<!DOCTYPE html><head><meta http-equiv=content-type content='text/html; charset=koi8-r'>"
            "<!-- c --><script>a<b</script><svg><title>i</title></svg><title id=\"x>y\">T &amp; t</title>"
            "<meta property=og:title content=O></head><body>")
    whole = scan_markup(text)
    assert (whole.title_raw, whole.title_closed) == ("T &amp; t", True)
    assert [m.attrs.get("property") for m in whole.metas] == [None, "og:title"]
    assert whole.head_end == len(text)
    for k in range(len(text) + 1):
        scanner = MarkupScanner()
        scanner.feed(text[:k])
        scanner.feed(text[k:])
        assert scanner.markup() == whole, k


SCAN_PIECES = ["<title>", "</title>", "<TITLE a='>'>", "</title ", "<script>", "</script>", "<!--", "-->", "--!>",
               "<!-->", "<svg>", "</svg>", "<svg/>", "<p>", "<math>", "<![CDATA[", "]]>", "<template>",
               "</template>", "<style>", "</style>", "<textarea>", "<meta charset=x>", "<meta property=og:title",
               " content='y'>", "<a href=/x/>", "<a b = \"c>\">", "<a \"=\">", "</head>", "<body>", "<!x>",
               "<?x>", "</ >", "</>", "<", ">", "\"", "'", "=", " ", "t", "<font color=red>", "<b>"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(SCAN_PIECES), max_size=25))
def test_skipping_regexes_change_nothing(pieces: list[str]) -> None:
    import re

    import linkfilter.markup as d

    text = "".join(pieces)
    fast = scan_markup(text)
    with pytest.MonkeyPatch.context() as patch:
        # the scanner looking at every "<" itself, without the regexes that skip in C
        every = re.compile(r"[^<]*")
        patch.setattr(d, "_SKIP", every)
        patch.setattr(d, "_skip_foreign", lambda: every)
        slow = scan_markup(text)
    assert fast == slow


def test_the_readme_states_the_hint_limits() -> None:
    from pathlib import Path

    from linkfilter.decode import HINT_FLOOR, LOCALE_SHARE, NEAR_TIE, LOCALE_EVIDENCE

    readme = " ".join((Path(__file__).parent.parent / "README.rst").read_text(encoding="utf-8").split())
    assert f"fewer than {OWN_HINT_EVIDENCE} non-ASCII bytes ({LOCALE_EVIDENCE} for the reader's language)" in readme
    assert f"within {NEAR_TIE:.0%} of the best one" in readme
    assert HINT_FLOOR == 0.2 and "under a fifth of its best" in readme
    assert LOCALE_SHARE == 0.5 and "within half of the best confidence" in readme
