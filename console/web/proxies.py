"""Reverse proxies: X-Forwarded-* believed only from the addresses in `IDMFLOW_PROXIES`.

werkzeug's `ProxyFix` believes the headers of whoever sends them; this wrapper hands a
request to it only when the connection comes from a configured proxy, so a client talking
to the console directly cannot claim another address (the throttle counts by address) or
HTTPS (which decides the `Secure` cookie flag).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxies:
    """WSGI middleware: `ProxyFix` (one hop) for requests from `proxies`, nothing else."""

    def __init__(self, app: Any, proxies: Iterable[str]) -> None:
        self._plain = app
        self._fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
        self._proxies = frozenset(proxies)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REMOTE_ADDR") in self._proxies:
            return self._fixed(environ, start_response)
        return self._plain(environ, start_response)
