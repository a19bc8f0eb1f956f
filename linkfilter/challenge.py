"""Tell a bot challenge (an interstitial that hides the real page) from a real error page.

Protection services answer a client they do not trust with a page of their own,
"Just a moment..." and the like, under status 403, 429 or 503. Printing its title
for every link to such a site is worse than printing nothing, so the fetcher asks
``detect`` about each such response and reports the error ``challenge`` instead.

Only markers that the challenge pages themselves carry count: a header the service
sets on challenges alone, or a string of the challenge page (its title, the path of
its script). A header that a service sets on every response (``server:
cloudflare``, ``x-cdn: Incapsula``) is not one: a site behind it may still answer a
real 403. Pure: no I/O.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple

#: Most bytes of the (content-decoded) body the fetcher reads for ``detect``.
BODY_LIMIT = 64 * 1024
#: The statuses a challenge comes with; any other status is never one.
STATUSES = frozenset({403, 429, 503})


class Service(NamedTuple):
    """A protection service and what its challenge pages carry.

    ``headers``: (lower-case header name, lower-case values that mean a challenge;
    empty: the header's presence is enough). ``body``: lower-case byte strings, any
    of which in the lower-cased body means a challenge.
    """

    name: str
    headers: tuple[tuple[str, frozenset[str]], ...]
    body: tuple[bytes, ...]


_ANY: frozenset[str] = frozenset()

#: The services, in the order they are tried. Each marker is specific to that
#: service's challenge or block page; the titles are the pages' exact <title>.
SERVICES: tuple[Service, ...] = (
    Service("Cloudflare",
            (("cf-mitigated", frozenset({"challenge"})),),
            (b"/cdn-cgi/challenge-platform/", b"window._cf_chl_opt", b"cf-browser-verification",
             b"<title>just a moment...</title>", b"<title>attention required! | cloudflare</title>")),
    Service("DDoS-Guard",
            (),
            (b"/.well-known/ddos-guard/", b"<title>ddos-guard</title>")),
    Service("Sucuri",
            (),
            (b"sucuri_cloudproxy_js", b"<title>sucuri website firewall", b"cloudproxy@sucuri.net")),
    Service("Akamai",
            (),
            (b"/_sec/cp_challenge/", b"errors.edgesuite.net")),
    Service("Imperva/Incapsula",
            (),
            (b"/_incapsula_resource", b"incapsula incident id")),
    Service("AWS WAF",
            (("x-amzn-waf-action", frozenset({"challenge", "captcha"})),),
            (b"awswafintegration", b".awswaf.com/")),
    Service("Vercel",
            (("x-vercel-mitigated", frozenset({"challenge"})),),
            (b"<title>vercel security checkpoint</title>",)),
    Service("DataDome",
            (),
            (b"captcha-delivery.com",)),
    Service("PerimeterX",
            (),
            (b"captcha.px-cdn.net", b"window._pxappid", b'id="px-captcha"')),
    Service("Kasada",
            (("x-kpsdk-ct", _ANY),),
            ()),
)


def detect(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """The name of the service whose bot challenge this response is, else None.

    ``headers`` maps lower-case names to values (the last of a repeated header);
    ``body`` is the start of the content-decoded body (up to ``BODY_LIMIT``, maybe
    empty). None for any status but 403, 429 and 503.
    """
    if status not in STATUSES:
        return None
    for service in SERVICES:
        for name, values in service.headers:
            value = headers.get(name)
            if value is not None and (not values or value.strip().lower() in values):
                return service.name
    if not body:
        return None
    text = body[:BODY_LIMIT].lower()
    for service in SERVICES:
        if any(marker in text for marker in service.body):
            return service.name
    return None
