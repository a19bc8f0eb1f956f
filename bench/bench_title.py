"""Title scan and decoding cost, measured against html.parser in one run.

Prints bytes per second of the title scan on a 1 MiB page whose <title> is at
the very end (so the whole page is scanned), as a ratio to
``html.parser.HTMLParser`` fed the same text (target: at least 5x), what
decoding costs with and without chardet, and what the browser hints cost on a
short undeclared page (how often the hints make titles right: bench/hint_table.py).

    python3 bench/bench_title.py
"""

from __future__ import annotations

import html.parser
import random
import subprocess
import sys
import time

from linkfilter.hints import Hints
from linkfilter.markup import scan_markup
from linkfilter.title import TitleSniffer, page_title

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
    assert html_parser_title(text) == "The End & more" and scan_markup(text).title_raw == "The End &amp; more"
    assert page_title(body, None, max_title=200, capped=False).title == "The End & more"

    t_hp = best(lambda: html_parser_title(text))
    t_find = best(lambda: scan_markup(text))
    t_page = best(lambda: page_title(body, None, max_title=200, capped=False))
    t_sniff = best(lambda: sniff_chunks(body))
    print(f"page: {len(body)} bytes, {text.count('<')} '<', title at the end")
    print(f"html.parser.HTMLParser      {t_hp * 1000:8.1f} ms  {mib / t_hp:7.1f} MiB/s")
    print(f"scan_markup (text)          {t_find * 1000:8.1f} ms  {mib / t_find:7.1f} MiB/s"
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

    def read(page: bytes, header: str | None = None, hints: Hints | None = None):
        return page_title(page, header, max_title=200, capped=False, hints=hints)

    t_decl = best(lambda: read(body, "utf-8"))
    t_meta = best(lambda: read(body))
    t_utf8 = best(lambda: read(body.replace(b'<meta charset="utf-8">', b"")))
    read(small)  # load chardet's models outside the timing
    t_det = best(lambda: read(latin_body))
    t_det64 = best(lambda: read(small))
    detected = read(latin_body)
    assert detected.title == "Été à Paris" and detected.charset_source in ("chardet", "lang"), detected.charset
    print(f"page_title 1 MiB, header charset    {t_decl * 1000:8.1f} ms")
    print(f"page_title 1 MiB, <meta> prescan    {t_meta * 1000:8.1f} ms")
    print(f"page_title 1 MiB, valid UTF-8       {t_utf8 * 1000:8.1f} ms")
    print(f"page_title 1 MiB, chardet           {t_det * 1000:8.1f} ms"
          f"  ({t_det / t_utf8:4.1f}x the UTF-8 case,"
          f" chardet said {detected.charset})")
    print(f"page_title 64 KiB, chardet          {t_det64 * 1000:8.1f} ms")

    # Hints on a short undeclared page: alternate rounds, medians.
    cafe = "<html><head><title>Café à la crème — été</title></head><body><p>x</p></body></html>"
    short = cafe.encode("cp1252")
    hints = Hints("fr", "http://example.fr/", "en;q=0.9, *;q=0.5")
    plain_t, hinted_t = [], []
    for _ in range(ROUNDS * 4):
        plain_t.append(best(lambda: read(short), 1))
        hinted_t.append(best(lambda: read(short, None, hints), 1))
    plain_t.sort()
    hinted_t.sort()
    p_med, h_med = plain_t[len(plain_t) // 2], hinted_t[len(hinted_t) // 2]
    print(f"page_title short title, chardet     {p_med * 1000:8.2f} ms")
    print(f"page_title short title, hints       {h_med * 1000:8.2f} ms  ({h_med / p_med:4.2f}x)")
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


if __name__ == "__main__":
    main()
