"""linkfilter.challenge: which error pages are bot challenges, and whose."""

from __future__ import annotations

import pytest

from linkfilter.challenge import BODY_LIMIT, SERVICES, STATUSES, detect

CLOUDFLARE_PAGE = (b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
                   b'<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
                   b"<noscript>Enable JavaScript and cookies to continue</noscript></div>"
                   b"<script>(function(){window._cf_chl_opt={cvId: '3',cZone: 'example.org'};"
                   b"var a = document.createElement('script');"
                   b"a.src = '/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8';"
                   b"}());</script></body></html>")

# (status, headers, body, service): pages as the services send them, cut to what identifies them
CHALLENGES = [
    (403, {"cf-mitigated": "challenge", "server": "cloudflare"}, b"", "Cloudflare"),
    (503, {"server": "cloudflare"}, CLOUDFLARE_PAGE, "Cloudflare"),
    (403, {}, b"<html><head><TITLE>Attention Required! | Cloudflare</TITLE></head>", "Cloudflare"),
    (403, {"server": "ddos-guard"},
     b'<!doctype html><html><head><title>DDoS-Guard</title></head><body>'
     b'<script src="/.well-known/ddos-guard/check?context=free_splash"></script></body></html>',
     "DDoS-Guard"),
    (403, {"server": "Sucuri/Cloudproxy", "x-sucuri-id": "18008"},
     b"<html><head><title>Sucuri WebSite Firewall - Access Denied</title></head></html>", "Sucuri"),
    (503, {}, b"<html><script>var s={},u,c,U,r,i,l=0,a,e=eval;sucuri_cloudproxy_js='';</script>", "Sucuri"),
    (403, {"server": "AkamaiGHost"},
     b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
     b"You don't have permission to access this server.<P>\nReference&#32;&#35;18&#46;6b2b1002\n"
     b"<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18&#46;6b2b1002</P>"
     b'<a href="https://errors.edgesuite.net/18.6b2b1002">more</a></BODY></HTML>', "Akamai"),
    (429, {}, b'<script src="/_sec/cp_challenge/ak-challenge-4-3.js"></script>', "Akamai"),
    (403, {"x-cdn": "Imperva"},
     b'<html><head><META NAME="robots" CONTENT="noindex,nofollow"></head><body>'
     b'<iframe id="main-iframe" src="/_Incapsula_Resource?CWUDNSAI=9&xinfo=1" frameborder=0></iframe>'
     b"Request unsuccessful. Incapsula incident ID: 1234-5678</body></html>", "Imperva/Incapsula"),
    (403, {"x-amzn-waf-action": "captcha"}, b"", "AWS WAF"),
    (403, {}, b'<script src="https://abc123.edge.sdk.awswaf.com/abc123/challenge.js"></script>'
              b"<script>AwsWafIntegration.saveReferrer();</script>", "AWS WAF"),
    (429, {"x-vercel-mitigated": "challenge"}, b"", "Vercel"),
    (403, {}, b"<html><head><title>Vercel Security Checkpoint</title></head></html>", "Vercel"),
    (403, {"x-datadome": "protected"},
     b"<html><head><title>example.com</title></head><body><script>var dd={'rt':'c','cid':'AHrl',"
     b"'host':'geo.captcha-delivery.com'}</script><script src=\"https://ct.captcha-delivery.com/c.js\">"
     b"</script></body></html>", "DataDome"),
    (403, {}, b"<title>Access to this page has been denied</title><div id=\"px-captcha\"></div>"
              b"<script>window._pxAppId = 'PXabc';</script>", "PerimeterX"),
    (429, {"x-kpsdk-ct": "0abc"}, b"<script src=\"/ips.js\"></script>", "Kasada"),
]


@pytest.mark.parametrize("status, headers, body, service", CHALLENGES,
                         ids=[f"{c[3]}-{i}" for i, c in enumerate(CHALLENGES)])
def test_known_challenges(status: int, headers: dict, body: bytes, service: str) -> None:
    assert detect(status, headers, body) == service


def test_every_service_in_the_table_is_covered() -> None:
    assert {service.name for service in SERVICES} == {c[3] for c in CHALLENGES}


# (service, fragment): pieces of the services' pages, each carrying exactly one body marker
ONE_MARKER_PAGES = [
    ("Cloudflare", b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8">'),
    ("Cloudflare", b"<script>(function(){window._cf_chl_opt={cvId: '3',cZone: 'example.org'};"),
    ("Cloudflare", b'<div class="cf-browser-verification cf-im-under-attack">'),
    ("Cloudflare", b"<head><title>Just a moment...</title></head>"),
    ("Cloudflare", b"<head><TITLE>Attention Required! | Cloudflare</TITLE></head>"),
    ("DDoS-Guard", b'<script src="/.well-known/ddos-guard/check?context=free_splash"></script>'),
    ("DDoS-Guard", b"<head><title>DDoS-Guard</title></head>"),
    ("Sucuri", b"<script>var s={},u,c,U,r,i,l=0,a,e=eval;sucuri_cloudproxy_js='';</script>"),
    ("Sucuri", b"<head><title>Sucuri WebSite Firewall - Access Denied</title></head>"),
    ("Sucuri", b'If you are the site owner, <a href="mailto:cloudproxy@sucuri.net">write</a>'),
    ("Akamai", b'<script src="/_sec/cp_challenge/ak-challenge-4-3.js"></script>'),
    ("Akamai", b'Reference: <a href="https://errors.edgesuite.net/18.6b2b1002">18.6b2b1002</a>'),
    ("Imperva/Incapsula", b'<iframe src="/_Incapsula_Resource?CWUDNSAI=9&xinfo=1"></iframe>'),
    ("Imperva/Incapsula", b"Request unsuccessful. Incapsula incident ID: 1234-5678"),
    ("AWS WAF", b"<script>window.awsWafIntegration.getToken().then(reload)</script>"),
    ("AWS WAF", b'<script src="https://abc123.edge.sdk.awswaf.com/abc123/challenge.js"></script>'),
    ("Vercel", b"<head><title>Vercel Security Checkpoint</title></head>"),
    ("DataDome", b'<script src="https://ct.captcha-delivery.com/c.js"></script>'),
    ("PerimeterX", b'<script src="https://captcha.px-cdn.net/PXabc123/captcha.js"></script>'),
    ("PerimeterX", b"<script>window._pxAppId = 'PXabc123';</script>"),
    ("PerimeterX", b'<div id="px-captcha"></div>'),
]
BODY_MARKERS = [(service.name, marker) for service in SERVICES for marker in service.body]
HEADER_MARKERS = [(service.name, name, value) for service in SERVICES
                  for name, values in service.headers for value in sorted(values) or ["1"]]


@pytest.mark.parametrize("service, fragment", ONE_MARKER_PAGES,
                         ids=[f"{name}-{i}" for i, (name, _) in enumerate(ONE_MARKER_PAGES)])
def test_a_page_with_one_marker_alone_is_its_services_challenge(service: str, fragment: bytes) -> None:
    """Each marker alone suffices, in any case, under every challenge status."""
    for body in (b"<html>" + fragment + b"</html>", fragment.upper()):
        assert [detect(status, {}, body) for status in sorted(STATUSES)] == [service] * 3


@pytest.mark.parametrize("service, marker", BODY_MARKERS,
                         ids=[f"{name}:{marker.decode()}" for name, marker in BODY_MARKERS])
def test_every_body_marker_of_the_table_has_a_page_carrying_it_alone(service: str, marker: bytes) -> None:
    carrying = [(name, fragment) for name, fragment in ONE_MARKER_PAGES if marker in fragment.lower()]
    assert [name for name, _ in carrying] == [service]
    others = [m for _, m in BODY_MARKERS if m != marker]
    assert not any(m in carrying[0][1].lower() for m in others)


@pytest.mark.parametrize("service, name, value", HEADER_MARKERS,
                         ids=[f"{service}:{name}={value}" for service, name, value in HEADER_MARKERS])
def test_every_header_marker_alone_tells_its_service(service: str, name: str, value: str) -> None:
    assert [detect(status, {name: value}, b"") for status in sorted(STATUSES)] == [service] * 3


@pytest.mark.parametrize("status", [200, 202, 301, 400, 401, 404, 410, 500, 502, 504])
def test_other_statuses_are_never_challenges(status: int) -> None:
    assert detect(status, {"cf-mitigated": "challenge"}, CLOUDFLARE_PAGE) is None


@pytest.mark.parametrize("status, headers, body", [
    # real error pages of sites behind those services: headers on every response are no marker
    (403, {"server": "cloudflare", "cf-ray": "8a1b2c3d4e5f-CDG"},
     b"<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body></html>"),
    (503, {"server": "ddos-guard", "retry-after": "120"},
     b"<html><head><title>Down for maintenance</title></head></html>"),
    (403, {"x-cdn": "Incapsula", "x-iinfo": "1-2-3"}, b"<title>Members only</title>"),
    (429, {"x-datadome": "protected", "retry-after": "30"}, b"Too many requests, slow down."),
    (403, {"cf-mitigated": "block"}, b""),
    (403, {"x-amzn-waf-action": "block"}, b"<title>403 ERROR</title>The request could not be satisfied."),
    (503, {}, b""),
    # a page that talks about a service is not its challenge
    (403, {}, b"<title>Why we chose Cloudflare and DataDome</title><p>Just a moment, please.</p>"),
])
def test_real_error_pages_are_not_challenges(status: int, headers: dict, body: bytes) -> None:
    assert detect(status, headers, body) is None


def test_header_values_are_compared_without_case_or_surrounding_space() -> None:
    assert detect(403, {"cf-mitigated": " Challenge "}, b"") == "Cloudflare"
    assert detect(403, {"x-amzn-waf-action": "CHALLENGE"}, b"") == "AWS WAF"


def test_markers_are_found_in_any_case_up_to_the_body_limit() -> None:
    filler = b"<!-- " + b"x" * (BODY_LIMIT - 200) + b" -->"
    page = filler + b"<TITLE>Just A Moment...</TITLE>"
    assert len(page) < BODY_LIMIT
    assert detect(503, {}, page) == "Cloudflare"
    assert detect(503, {}, b"x" * BODY_LIMIT + b"<title>Just a moment...</title>") is None


def test_statuses() -> None:
    assert STATUSES == {403, 429, 503}
