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

from flask import Blueprint, Flask, abort, current_app, g, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from idmflow.engine import IdmflowError
from idmflow.storage.database import Limits, enter_people_request, leave_people_request

from . import csrf, errors, navigation, notices
from .access import cookie_options, current_account, needs_password, write_cookie
from .extension import console

#: a request body before login is a login form: a few hundred bytes
ANONYMOUS_MAX_BYTES = 64 * 1024
#: the largest BIGINT: no id, version or page number is larger
MAX_NUMBER = 2**63 - 1
#: the fields that carry numbers (ids, versions, pages)
NUMBERS = frozenset({"page", "number", "version", "card", "shown", "from", "to"})

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
    """Before a console request: bound the body, refuse junk, refuse a form without token."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        limit = console().settings.max_request_bytes
        if current_account() is None:
            limit = min(limit, ANONYMOUS_MAX_BYTES)
        request.max_content_length = limit
        request.max_form_memory_size = limit
    _check_values()
    csrf.check()


def _check_values() -> None:
    """400 for what no field accepts, before it reaches the database as a 500.

    NUL characters (PostgreSQL's text refuses them) and numbers past a BIGINT in the
    fields that hold ids, versions and page numbers; an id in the path that large is 404.
    """
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > MAX_NUMBER:
            abort(404, description=f"There is nothing numbered {value}.")
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400, description=f"The field {key.replace(chr(0), '')!r} contains a NUL "
                                       "character, which no field accepts; remove it.")
            if key in NUMBERS and value.strip().lstrip("-").isdigit() \
                    and abs(int(value)) > MAX_NUMBER:
                abort(400, description=f"The field {key!r} holds {value[:30]}..., larger than "
                                       "any id or page number; use a number shown on the page.")


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
        response.set_cookie(csrf.COOKIE, new_nonce, **cookie_options())
    # Pages of a logged-in person must not stay in a shared browser's cache or a proxy's.
    response.headers["Cache-Control"] = "no-store"
    return headers(response)


def _template_globals() -> dict[str, Any]:
    return {**navigation.layout_context(), "csrf_token": csrf.csrf_token,
            "notices": notices.notices, "needs_password": needs_password,
            "sso": console().settings.oidc is not None}


def _people_limits() -> None:
    """A page waits for the database as long as a person would, never as a batch does."""
    limits = current_app.config.get("IDMFLOW_REQUEST_LIMITS") or Limits()
    g.idmflow_limits = enter_people_request(limits)


def _end_people_limits(_exc: BaseException | None) -> None:
    token = g.pop("idmflow_limits", None)
    if token is not None:
        leave_people_request(token)


def scope(bp: Blueprint) -> None:
    """Give one of the console's blueprints its hooks (once, at import time)."""
    bp.before_request(_people_limits)
    bp.teardown_request(_end_people_limits)
    bp.before_request(_limit_and_check)
    bp.after_request(_after)
    bp.context_processor(_template_globals)
    bp.register_error_handler(HTTPException, errors.http_error)
    bp.register_error_handler(IdmflowError, errors.idmflow_error)
    bp.register_error_handler(DBAPIError, errors.database_error)


def scope_static(bp: Blueprint) -> None:
    """The static files get the headers only: no session, no database."""
    bp.after_request(headers)


def whole_app(app: Flask) -> None:
    """For `create_app`: the console is the whole app (404s, a route the app adds)."""
    app.after_request(headers)
    app.context_processor(_template_globals)
    app.register_error_handler(HTTPException, errors.http_error)
    app.register_error_handler(IdmflowError, errors.idmflow_error)
    app.register_error_handler(DBAPIError, errors.database_error)
