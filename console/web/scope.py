"""What the console adds around its own requests, and only its own.

Mounted in a host, the console must not change the host's pages: its request hooks,
template variables, error pages and headers are registered on the console's blueprints,
never on the app, so a host route keeps its own errors (a JSON 400 stays JSON) and pays no
database read. `create_app`, where the whole app is the console's, adds them app-wide too.

Around each console request: a size limit (413; a small one before login), the CSRF check
of every form, then the session cookie, notices, `Cache-Control: no-store` and the
security headers on the way out.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from idmflow.engine import IdmflowError

from . import csrf, errors, navigation, notices
from .access import current_account, needs_password, write_cookie
from .extension import console

#: a request body before login is a login form: a few hundred bytes
ANONYMOUS_MAX_BYTES = 64 * 1024

# Pages load nothing from elsewhere. Mermaid writes <style> into its SVGs, hence the inline
# styles; scripts are only our files and the vendored mermaid.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _limit_and_check() -> None:
    """Before a console request: bound the body, then refuse a form without its token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = console().settings.max_request_bytes
    if current_account() is None:
        limit = min(limit, ANONYMOUS_MAX_BYTES)
    request.max_content_length = limit
    request.max_form_memory_size = limit
    csrf.check()


def headers(response: Response) -> Response:
    """The security headers (the host's own, where it set one, win)."""
    for header, value in HEADERS.items():
        response.headers.setdefault(header, value)
    return response


def _after(response: Response) -> Response:
    write_cookie(response)
    notices.save(response)
    new_nonce = g.get("idmflow_new_csrf_cookie")
    if new_nonce:
        response.set_cookie(csrf.COOKIE, new_nonce, httponly=True, samesite="Lax",
                            secure=request.is_secure, path=console().url_prefix or "/")
    # Pages of a logged-in person must not stay in a shared browser's cache or a proxy's.
    response.headers["Cache-Control"] = "no-store"
    return headers(response)


def _template_globals() -> dict[str, Any]:
    return {**navigation.layout_context(), "csrf_token": csrf.csrf_token,
            "notices": notices.notices, "needs_password": needs_password}


def scope(bp: Blueprint) -> None:
    """Give one of the console's blueprints its hooks (once, at import time)."""
    bp.before_request(_limit_and_check)
    bp.after_request(_after)
    bp.context_processor(_template_globals)
    bp.register_error_handler(HTTPException, errors.http_error)
    bp.register_error_handler(IdmflowError, errors.idmflow_error)


def scope_static(bp: Blueprint) -> None:
    """The static files get the headers only: no session, no database."""
    bp.after_request(headers)


def whole_app(app: Flask) -> None:
    """For `create_app`: the console is the whole app (404s, a route the app adds)."""
    app.after_request(headers)
    app.context_processor(_template_globals)
    app.register_error_handler(HTTPException, errors.http_error)
    app.register_error_handler(IdmflowError, errors.idmflow_error)
