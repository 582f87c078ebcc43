"""The app factory, and `install`, which mounts the console on a host's own Flask app.

`create_app` is what `idmflow serve` runs: a Flask app with the console's cookie settings,
CSRF protection on every form, the error pages and the blueprints. A host product that has
its own Flask app calls `install(app, engine)` instead and keeps its own configuration.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask, g, request
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]
from werkzeug.wrappers import Response

import idmflow.engine as idm
from idmflow.engine.config import from_environment
from idmflow.storage.database import Limits, enter_people_request, leave_people_request

from . import errors, navigation, ops
from . import jobs_page, outbox, script_editor, script_history  # noqa: F401  (routes of `admin`)
from .access import load_account
from .admin import admin
from .approvals import approvals
from .assets import assets
from .audit import audit
from .auth import auth
from .extension import attach
from .operator import operator
from .secret_key import secret_key as stored_secret_key

#: the console's blueprints, in the order they are registered
BLUEPRINTS: tuple[Blueprint, ...] = (assets, auth, operator, approvals, audit, admin, ops.ops)

# Pages load nothing from elsewhere. Mermaid writes <style> into its SVGs, hence the inline
# styles; scripts are only our files and the vendored mermaid.
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(engine: idm.Engine | None = None, *, url: str | None = None,
               secret_key: str | None = None, testing: bool = False) -> Flask:
    """The web console over `engine` (default: an engine opened on `url`).

    Args:
        engine: the engine to serve; when None, `idmflow.engine.open(url)` is called.
        url: the database URL when no engine is given (default: `IDMFLOW_DATABASE_URL`).
        secret_key: signs session cookies; default `IDMFLOW_SECRET_KEY`, else a key kept
            in a file (see `secret_key.py`), or a throw-away one when `testing`.
        testing: Flask's testing mode (errors propagate to the test).
    """
    if engine is None:
        engine = idm.open(url)
    app = Flask(__name__, static_folder=None)
    if secret_key is None and testing:
        secret_key = from_environment().secret_key or secrets.token_urlsafe(32)
    elif secret_key is None:
        secret_key = stored_secret_key(engine.db.url.render_as_string())
    app.config.update(
        SECRET_KEY=secret_key, TESTING=testing,
        SESSION_COOKIE_NAME="idmflow_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # A token lives as long as the session: an admin's long edit must not expire.
        WTF_CSRF_TIME_LIMIT=None,
    )
    install(app, engine)
    return app


def install(app: Flask, engine: idm.Engine, *, url_prefix: str = "") -> None:
    """Mount the console on `app`: engine, login, CSRF protection, error pages, blueprints.

    The host keeps its own secret key and cookie settings; `url_prefix` puts every page
    of the console under a path of the host's (e.g. "/idm").
    """
    attach(app, engine)
    if "csrf" not in app.extensions:
        CSRFProtect(app)
    app.before_request(load_account)
    navigation.install(app)
    errors.install(app)
    ops.install(app)
    names = {bp.name for bp in BLUEPRINTS}

    @app.before_request
    def _people_limits() -> None:
        # A page waits for the database as long as a person would, never as a batch does.
        if request.blueprint in names:
            g.idmflow_limits = enter_people_request(
                app.config.get("IDMFLOW_REQUEST_LIMITS") or Limits())

    @app.teardown_request
    def _end_people_limits(_exc: BaseException | None) -> None:
        token = g.pop("idmflow_limits", None)
        if token is not None:
            leave_people_request(token)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        if request.blueprint in names or request.endpoint is None:
            for header, value in _HEADERS.items():
                response.headers.setdefault(header, value)
        return response

    for bp in BLUEPRINTS:
        app.register_blueprint(bp, url_prefix=url_prefix + (bp.url_prefix or "") or None)
