"""One-time messages for the next page ("You are logged out."), in a cookie of our own.

Flask's `flash` keeps them in the host's session; mounted in a host, the console must not
read or write that session at all, so notices live in a signed cookie `idmflow_notices`
that the next console page shows and clears. They survive a logout, where the console
session that could hold them has just ended.
"""

from __future__ import annotations

import json

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from .access import cookie_options

COOKIE = "idmflow_notices"
_MAX = 5


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.secret_key), salt="idmflow-notices")


def flash(message: str) -> None:
    """Show `message` on the next page the browser opens."""
    pending: list[str] = g.setdefault("idmflow_notices", [])
    pending.append(message[:500])


def notices() -> list[str]:
    """The messages for this page (a template global); shown once, then forgotten."""
    if "idmflow_shown" in g:
        shown: list[str] = g.idmflow_shown
        return shown
    found: list[str] = []
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            loaded = _serializer().loads(raw)
            found = [str(m) for m in loaded][:_MAX] if isinstance(loaded, list) else []
        except (BadSignature, json.JSONDecodeError):
            found = []
    g.idmflow_shown = found
    return found


def save(response: Response) -> None:
    """After a console request: keep new notices for the next page, drop shown ones."""
    pending = g.get("idmflow_notices")
    if pending:
        response.set_cookie(COOKIE, _serializer().dumps(pending[-_MAX:]), **cookie_options())
    elif g.get("idmflow_shown"):
        response.delete_cookie(COOKIE, **cookie_options())
