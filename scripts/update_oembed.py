"""Rebuild linkfilter's oEmbed registry data from the registry's published ``providers.json``.

    python3 scripts/update_oembed.py providers.json [OUT]

Reads a ``providers.json`` downloaded by hand (from the oEmbed registry's repository or
site; linkfilter itself never downloads it) and writes the package data file
(default ``linkfilter/data/oembed-providers.json``) in the shape linkfilter reads: a list
of ``{"provider_name", "provider_url", "endpoints": [{"url", "schemes"?, "discovery"?,
"formats"?}]}``, providers in the registry's order, other keys dropped. Refuses input
that does not have that shape. The data is MIT-licensed: keep
``oembed-providers.LICENSE`` beside it, and update it if the registry's licence changes.
"""

from __future__ import annotations

import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "linkfilter" / "data" / "oembed-providers.json"
ENDPOINT_KEYS = ("url", "schemes", "discovery", "formats")


class Bad(ValueError):
    """Raised when the input is not a providers.json."""


def rebuild(providers) -> list[dict]:
    """The providers, checked and reduced to the keys linkfilter reads."""
    if not isinstance(providers, list):
        raise Bad("not a list of providers")
    out = []
    for n, provider in enumerate(providers):
        if not isinstance(provider, dict) or not isinstance(provider.get("provider_name"), str):
            raise Bad(f"provider {n}: no provider_name")
        endpoints = provider.get("endpoints")
        if not isinstance(endpoints, list):
            raise Bad(f"{provider['provider_name']}: no endpoints")
        kept = []
        for endpoint in endpoints:
            if not isinstance(endpoint, dict) or not isinstance(endpoint.get("url"), str):
                raise Bad(f"{provider['provider_name']}: an endpoint without a url")
            schemes = endpoint.get("schemes", [])
            if not isinstance(schemes, list) or not all(isinstance(s, str) for s in schemes):
                raise Bad(f"{provider['provider_name']}: schemes is not a list of strings")
            kept.append({k: endpoint[k] for k in ENDPOINT_KEYS if k in endpoint})
        out.append({"provider_name": provider["provider_name"],
                    "provider_url": provider.get("provider_url", ""),
                    "endpoints": kept})
    return out


def dump(providers: list[dict]) -> str:
    """The data file's text: one-space indents, UTF-8 kept, no final newline."""
    return json.dumps(providers, indent=1, ensure_ascii=False)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    source = pathlib.Path(argv[1])
    out = pathlib.Path(argv[2]) if len(argv) == 3 else OUT
    try:
        providers = rebuild(json.loads(source.read_bytes()))
    except (OSError, ValueError) as e:
        print(f"update_oembed: {source}: {e}", file=sys.stderr)
        return 1
    out.write_text(dump(providers), encoding="utf-8")
    endpoints = sum(len(p["endpoints"]) for p in providers)
    print(f"{out}: {len(providers)} providers, {endpoints} endpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
