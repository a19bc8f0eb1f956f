"""The environment of every timed child of the benches, in one place.

Bytecode is allowed and cached in a private directory (as an installed package
has it; this machine sets PYTHONDONTWRITEBYTECODE), no LINKFILTER_* setting,
proxy or PYTHONUNBUFFERED of the caller leaks in, and ``source``, if given,
comes first on the module path (to time another tree).
"""

from __future__ import annotations

import os

_DROPPED = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


def child_env(pycache: str, source: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in _DROPPED and not k.startswith("LINKFILTER_") and "proxy" not in k.lower()}
    env["PYTHONPYCACHEPREFIX"] = pycache
    if source:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    return env
