"""The console's own CSRF tokens: an HMAC of what the browser's session is, never stored.

The console checks its forms itself, whatever the host does (no CSRF protection, Flask-WTF
in selective mode, its own scheme): a form of ours is never left unprotected because a host
configured something. A token is HMAC-SHA256 under the app's secret key of the session's
binding: the console session token when logged in, else a random value in a cookie of ours
(`idmflow_csrf`), so the login form is protected too. A token therefore lives exactly as
long as the session, and a forged or missing one is refused with a plain 400 page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, g, request
from werkzeug.exceptions import BadRequest

COOKIE = "idmflow_csrf"
FIELD = "csrf_token"
_SAFE = ("GET", "HEAD", "OPTIONS")

CSRF_HELP = ("The form was refused because its security token is missing or has expired "
             "(CSRF protection). Go back, reload the page and submit the form again.")


class CsrfRefused(BadRequest):
    """A form came without this session's token."""

    name = "Form expired"
    description = CSRF_HELP


def _nonce() -> str:
    """The logged-out binding: our cookie's value, a fresh one when the browser has none."""
    value = request.cookies.get(COOKIE, "")
    if len(value) < 32:
        value = g.get("idmflow_new_csrf_cookie") or secrets.token_urlsafe(32)
        g.idmflow_new_csrf_cookie = value  # the response sets it (see scope.py)
    return value


def _binding() -> str:
    from .access import session_binding

    return session_binding() or "anonymous:" + _nonce()


def _sign(binding: str) -> str:
    key = str(current_app.secret_key or "").encode()
    if not key:
        raise RuntimeError("the app has no SECRET_KEY; the console's forms need one")
    return hmac.new(key, b"idmflow-csrf|" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """The token for this request's forms (a template global)."""
    return _sign(_binding())


def check() -> None:
    """Before a console request: refuse an unsafe method without the session's token."""
    if request.method in _SAFE:
        return
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not hmac.compare_digest(sent, _sign(_binding())):
        raise CsrfRefused()
