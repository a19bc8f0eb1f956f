"""Title scan and decoding cost, measured against html.parser in one run.

Prints bytes per second of the title scan on a 1 MiB page whose <title> is at
the very end (so the whole page is scanned), as a ratio to
``html.parser.HTMLParser`` fed the same text (target: at least 5x), what
decoding costs with and without chardet, and what the browser hints cost on a
short undeclared page.

``--hints`` prints instead how often short titles cut from the test texts
(tests/test_decode.py, 14 languages) come out right: chardet alone, with the
default --accept-language, with the page's own language, with a wrong one, and
by how many non-ASCII bytes chardet saw (the ground for
``decode.HINT_MAX_EVIDENCE``); it takes a few minutes.

    python3 bench/bench_title.py [--hints]
"""

from __future__ import annotations

import html.parser
import random
import subprocess
import sys
import time

from linkfilter.decode import decode_page
from linkfilter.hints import Hints
from linkfilter.title import TitleSniffer, find_title, page_title

PAGE_BYTES = 1 << 20
CHUNK = 16 * 1024
ROUNDS = 5

WORDS = ("the of and to in is was for on that with as by at from this be have are it an not or "
         "page title news city report market people school water music world games travel").split()
FRENCH = ("Les élèves découvrent l'été à Paris : musées, cathédrale, dîner très animé et journée "
          "inoubliable pour toute la classe de troisième, qui rêve déjà de revenir. ")


def build_page(title: str, filler: str = "") -> str:
    """A realistic page of about 1 MiB: scripts and styles, then links, lists, comments and SVG
    icons with their own <title>, and the page's <title> as the last thing."""
    rnd = random.Random(7)
    out = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n',
           '<link rel="stylesheet" href="/static/site.css">\n',
           "<style>body{margin:0} .nav>a{color:#333} td:hover{background:#eee}</style>\n",
           '<script>window.dataLayer=[];function gtag(){dataLayer.push(arguments)} '
           'if (a < b && c > d) { document.write("<div>x</div>"); }</script>\n',
           "<main>\n"]  # no </head> or <body>: the scan cannot stop before the title
    size = sum(map(len, out))
    n = 0
    while size < PAGE_BYTES:
        n += 1
        words = " ".join(rnd.choice(WORDS) for _ in range(rnd.randrange(4, 14)))
        kind = n % 10
        if kind == 0:
            piece = f"<!-- block {n} -->\n"
        elif kind == 1:
            piece = ('<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><title>icon</title>'
                     f'<path d="M12 2L{n % 20} 7l10 5 10-5-10-5z"/></svg>\n')
        elif kind == 2:
            piece = f"<ul class=\"menu\"><li><a href='/a/{n}'>{words}</a></li><li>{words}</li></ul>\n"
        elif kind == 3:
            piece = f'<img src="/img/{n}.png" alt="{words}" width=120 height=80 loading=lazy>\n'
        else:
            piece = (f'<div class="row col-{n % 12}" data-id="{n}"><a href="https://example.com/p/{n}'
                     f'?q={n}&amp;r=2" title="{words}">{words}</a> <span>{words} {filler}</span></div>\n')
        out.append(piece)
        size += len(piece)
    out.append(f"<title>{title}</title>\n")
    return "".join(out)


class _TitleParser(html.parser.HTMLParser):
    """The html.parser baseline: collect the first <title>'s data, outside <svg>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.inside = False
        self.done = False
        self.svg = 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svg += 1
        elif tag == "title" and not self.done and not self.svg:
            self.inside = True

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg = max(0, self.svg - 1)
        elif tag == "title" and self.inside:
            self.inside, self.done = False, True

    def handle_data(self, data):
        if self.inside:
            self.parts.append(data)


def html_parser_title(text: str) -> str:
    p = _TitleParser()
    p.feed(text)
    p.close()
    return "".join(p.parts)


def best(fn, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def sniff_chunks(body: bytes) -> None:
    s = TitleSniffer("utf-8")
    for i in range(0, len(body), CHUNK):
        if s.feed(body[i:i + CHUNK]):
            break


def chardet_import_ms() -> float:
    code = ("import time; t=time.perf_counter(); import chardet; "
            "chardet.detect(b'caf\\xe9 cr\\xe8me br\\xfbl\\xe9e'); print((time.perf_counter()-t)*1000)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    text = build_page("The End &amp; more")
    body = text.encode("utf-8")
    mib = len(body) / (1 << 20)
    assert html_parser_title(text) == find_title(text) == "The End & more"
    assert page_title(body, None, max_title=200, capped=False).title == "The End & more"

    t_hp = best(lambda: html_parser_title(text))
    t_find = best(lambda: find_title(text))
    t_page = best(lambda: page_title(body, None, max_title=200, capped=False))
    t_sniff = best(lambda: sniff_chunks(body))
    print(f"page: {len(body)} bytes, {text.count('<')} '<', title at the end")
    print(f"html.parser.HTMLParser      {t_hp * 1000:8.1f} ms  {mib / t_hp:7.1f} MiB/s")
    print(f"find_title (text)           {t_find * 1000:8.1f} ms  {mib / t_find:7.1f} MiB/s"
          f"  ratio {t_hp / t_find:5.1f}x (target >= 5x)")
    print(f"page_title (bytes)          {t_page * 1000:8.1f} ms  {mib / t_page:7.1f} MiB/s"
          f"  ratio {t_hp / t_page:5.1f}x")
    print(f"TitleSniffer, {CHUNK // 1024} KiB chunks  {t_sniff * 1000:8.1f} ms  {mib / t_sniff:7.1f} MiB/s"
          f"  ratio {t_hp / t_sniff:5.1f}x")

    # Decoding: a declared page, an undeclared UTF-8 page, an undeclared windows-1252 one.
    latin = build_page("Été à Paris", FRENCH).replace('<meta charset="utf-8">', "")
    latin_body = latin.encode("cp1252")
    small = latin_body[:64 * 1024]
    print(f"chardet import + first detect (fresh process) {chardet_import_ms():6.1f} ms")
    t_decl = best(lambda: decode_page(body, "utf-8"))
    t_meta = best(lambda: decode_page(body, None))
    t_utf8 = best(lambda: decode_page(body.replace(b'<meta charset="utf-8">', b""), None))
    decode_page(small, None)  # load chardet's models outside the timing
    t_det = best(lambda: decode_page(latin_body, None))
    t_det64 = best(lambda: decode_page(small, None))
    detected = decode_page(latin_body, None)
    assert "Été à Paris" in detected.text and detected.source == "chardet", detected.charset
    print(f"decode_page 1 MiB, header charset   {t_decl * 1000:8.1f} ms")
    print(f"decode_page 1 MiB, <meta> prescan   {t_meta * 1000:8.1f} ms")
    print(f"decode_page 1 MiB, valid UTF-8      {t_utf8 * 1000:8.1f} ms")
    print(f"decode_page 1 MiB, chardet          {t_det * 1000:8.1f} ms"
          f"  ({t_det / t_utf8:4.1f}x the UTF-8 case,"
          f" chardet said {detected.charset})")
    print(f"decode_page 64 KiB, chardet         {t_det64 * 1000:8.1f} ms")

    # Hints on a short undeclared page: alternate rounds, medians.
    cafe = "<html><head><title>Café à la crème — été</title></head><body><p>x</p></body></html>"
    short = cafe.encode("cp1252")
    hints = Hints("fr", "http://example.fr/", "en;q=0.9, *;q=0.5")
    plain_t, hinted_t = [], []
    for _ in range(ROUNDS * 4):
        plain_t.append(best(lambda: decode_page(short, None), 1))
        hinted_t.append(best(lambda: decode_page(short, None, hints), 1))
    plain_t.sort()
    hinted_t.sort()
    p_med, h_med = plain_t[len(plain_t) // 2], hinted_t[len(hinted_t) // 2]
    print(f"decode_page short title, chardet    {p_med * 1000:8.2f} ms")
    print(f"decode_page short title, hints      {h_med * 1000:8.2f} ms  ({h_med / p_med:4.2f}x)")
    describe_cost()


def article_page() -> tuple[bytes, int]:
    """A news article: a 10 KiB head (stylesheets, a script, og: tags, JSON-LD), a long body."""
    rnd = random.Random(5)
    head = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            "<title>A story about the city council vote | News Example</title>\n"
            + '<link rel="stylesheet" href="/s.css">\n' * 20
            + '<meta property="og:title" content="A story about the city council vote">'
            '<meta property="og:site_name" content="News Example">'
            '<meta property="og:description" content="The council voted on Tuesday to ...">'
            '<meta name="twitter:card" content="summary_large_image">'
            "<script>" + "var a = 1; if (a < 2) { a++; }\n" * 300 + "</script>"
            '<script type="application/ld+json">{"@type":"NewsArticle","headline":"A story",'
            '"author":{"name":"A. Writer"},"publisher":{"name":"News Example"}}</script></head><body>')
    body = "".join("<p>" + " ".join(rnd.choice(WORDS) for _ in range(60)) + "</p>\n" for _ in range(600))
    return (head + body + "</body></html>").encode(), len(head)


def describe_cost() -> None:
    """What the worker does with a page: sniff in 2 KiB steps to the stop point, then the
    title and the card, and choose among them (run with an older checkout's package on
    PYTHONPATH to compare: before the card, the sniffer stopped at the title)."""
    body, head = article_page()
    url = "https://news.example.com/2026/12/council-vote"
    try:
        from linkfilter import card
    except ImportError:  # before the card existed
        card = None

    def run() -> None:
        sniffer = TitleSniffer("utf-8", card.judge(url)) if card else TitleSniffer("utf-8")
        for at in range(0, len(body), 2048):
            if sniffer.feed(body[at:at + 2048]):
                break
        if card:
            found = sniffer.result(body, max_title=200, capped=False, card=True)
            card.choose(found.card, None, url=url, final_url=url)
        else:
            sniffer.result(body, max_title=200, capped=False)

    times = sorted(best(run, 1) for _ in range(ROUNDS * 40))
    print(f"article page, {head} B head, sniff + card + choose  {times[len(times) // 2] * 1e6:8.0f} us")


# --------------------------------------------------------------------------- --hints

# The page's own language tag for each text of tests/test_decode.py, and its codec.
HINT_TEXTS = {"fr": ("fr", "cp1252"), "cs": ("cs", "cp1250"), "pl": ("pl", "cp1250"), "ru": ("ru", "cp1251"),
              "el": ("el", "iso8859_7"), "tr": ("tr", "cp1254"), "he": ("he", "cp1255"), "ar": ("ar", "cp1256"),
              "lt": ("lt", "cp1257"), "ja": ("ja", "cp932"), "zh": ("zh-CN", "gb18030"),
              "zh_tw": ("zh-TW", "big5"), "ko": ("ko", "cp949"), "th": ("th", "cp874")}
WRONG_LANGUAGES = ["en", "cs", "ru", "el", "tr", "he", "ar", "lt", "th", "ja", "zh-CN", "zh-TW", "ko"]


def hint_accuracy() -> None:
    """Short titles cut from the test texts: the share that comes out right, by hints."""
    import os

    import linkfilter.decode as decode  # noqa: PLC0415

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from test_decode import TEXTS  # noqa: PLC0415

    default = "en;q=0.9, *;q=0.5"
    rows: dict[tuple[str, str], list[int]] = {}
    by_evidence: dict[int, list[int]] = {}  # bucket: [fixed by the own language, broken by a wrong one, n]
    limit = decode.HINT_MAX_EVIDENCE

    def count(group: str, column: str, ok: bool) -> None:
        row = rows.setdefault((group, column), [0, 0])
        row[0] += ok
        row[1] += 1

    for key, (tag, codec) in HINT_TEXTS.items():
        text = TEXTS[key][0] + " " + TEXTS[key][1]
        joiner = "" if key in ("ja", "zh", "zh_tw", "th") else " "  # characters, or words
        units = list(text.replace(" ", "")) if not joiner else text.split()
        group = "western" if codec == "cp1252" else key
        for k in (2, 3, 5, 8):
            for i in range(0, max(1, len(units) - k), 2):
                raw = joiner.join(units[i:i + k]).encode(codec)
                if raw.isascii():
                    continue
                want = raw.decode(codec)
                body = b"<html><head><title>" + raw + b"</title></head><body></body></html>"

                def right(hints: Hints | None) -> bool:
                    return want in decode_page(body, None, hints).text

                alone = right(None)
                count(group, "alone", alone)
                count(group, "default", right(Hints(accept_language=default)))
                own = right(Hints(tag, None, default))
                count(group, "own lang", own)
                for wrong in WRONG_LANGUAGES:
                    if wrong.split("-")[0] != tag.split("-")[0] and not (wrong == "en" and group == "western"):
                        count(group, "wrong lang", right(Hints(wrong)))
                # the same without the evidence limit: what hints would do on longer text
                decode.HINT_MAX_EVIDENCE = 1 << 30
                try:
                    fixed = right(Hints(tag, None, default)) and not alone
                    broken = alone and not all(right(Hints(w)) for w in WRONG_LANGUAGES
                                               if w.split("-")[0] != tag.split("-")[0])
                finally:
                    decode.HINT_MAX_EVIDENCE = limit
                bucket = by_evidence.setdefault(min(sum(b > 127 for b in raw), 24) // 4 * 4, [0, 0, 0])
                bucket[0] += fixed
                bucket[1] += broken
                bucket[2] += 1
    columns = ["alone", "default", "own lang", "wrong lang"]
    print("right, by hints given (titles of 2 to 8 words or characters)")
    print(f"{'':8} {'titles':>6} " + " ".join(f"{c:>10}" for c in columns))
    for group in sorted({g for g, _ in rows}):
        n = rows[(group, "alone")][1]
        print(f"{group:8} {n:6} " + " ".join(f"{100 * rows[(group, c)][0] / rows[(group, c)][1]:9.1f}%"
                                             for c in columns))
    print(f"without the limit of {limit} non-ASCII bytes, by the title's non-ASCII bytes: titles the")
    print("page's own language makes right that chardet alone has wrong, and right ones a wrong language breaks")
    for low in sorted(by_evidence):
        fixed, broken, n = by_evidence[low]
        print(f"  {low:2}-{low + 3:2}{'+' if low == 24 else ' '} bytes: {n:5} titles, {fixed:4} fixed,"
              f" {broken:4} broken")


if __name__ == "__main__":
    if "--hints" in sys.argv[1:]:
        hint_accuracy()
    else:
        main()
