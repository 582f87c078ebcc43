"""The app factory, and `install`, which mounts the console on a host's own Flask app.

`create_app` is what `idmflow serve` runs: a Flask app with the error pages, the security
headers and the blueprints. A host product that has its own Flask app calls
`install(app, engine)` instead and keeps its own configuration, session, CSRF set-up and
error pages: everything the console adds is scoped to its own blueprints (`scope.py`).
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask

import idmflow.engine as idm
from idmflow.engine.config import Settings, from_environment

from . import ops
from . import jobs_page, outbox, script_editor, script_history  # noqa: F401  (routes of `admin`)
from . import accounts_page, my_sessions, oidc  # noqa: F401  (routes of `admin`, `auth`)
from .admin import admin
from .approvals import approvals
from .assets import assets
from .audit import audit
from .auth import auth
from .extension import Identity, attach
from .operator import operator
from .proxies import TrustedProxies
from .scope import scope, scope_static, whole_app
from .secret_key import secret_key as stored_secret_key

#: the console's blueprints, in the order they are registered
BLUEPRINTS: tuple[Blueprint, ...] = (assets, auth, operator, approvals, audit, admin)

scope_static(assets)
for _bp in BLUEPRINTS[1:]:
    scope(_bp)


def create_app(engine: idm.Engine | None = None, *, url: str | None = None,
               secret_key: str | None = None, testing: bool = False) -> Flask:
    """The web console over `engine` (default: an engine opened on `url`).

    Args:
        engine: the engine to serve; when None, `idmflow.engine.open(url)` is called.
        url: the database URL when no engine is given (default: `IDMFLOW_DATABASE_URL`).
        secret_key: signs CSRF tokens and notices; default `IDMFLOW_SECRET_KEY`, else a key
            kept in a file (see `secret_key.py`), or a throw-away one when `testing`.
        testing: Flask's testing mode (errors propagate to the test).
    """
    if engine is None:
        engine = idm.open(url)
    settings = from_environment()
    app = Flask(__name__, static_folder=None)
    if secret_key is None and testing:
        secret_key = settings.secret_key or secrets.token_urlsafe(32)
    elif secret_key is None:
        secret_key = stored_secret_key(engine.db.url.render_as_string())
    app.config.update(SECRET_KEY=secret_key, TESTING=testing)
    if settings.proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.proxies)  # type: ignore[method-assign]
    whole_app(app)
    install(app, engine, settings=settings)
    return app


def install(app: Flask, engine: idm.Engine, *, url_prefix: str = "",
            identity: Identity | None = None, settings: Settings | None = None) -> None:
    """Mount the console on `app`: its blueprints, with their own sessions and CSRF checks.

    The host keeps its own secret key (the console signs its tokens with it), session,
    CSRF set-up and error pages. `url_prefix` puts every page of the console under a path
    of the host's (e.g. "/idm"); the console's cookies are scoped to it.

    Args:
        identity: the host's own login: a callable returning the username of the account
            logged in to the host (or None); that account is then logged in to the console.
        settings: the console's settings (default: read from the environment now).
    """
    attach(app, engine, settings or from_environment(), identity=identity,
           url_prefix=url_prefix)
    host_csrf = app.extensions.get("csrf")
    for bp in BLUEPRINTS:
        if host_csrf is not None and hasattr(host_csrf, "exempt"):
            # The host's Flask-WTF would refuse our tokens; our own check (scope.py) holds.
            host_csrf.exempt(bp)
        app.register_blueprint(bp, url_prefix=url_prefix + (bp.url_prefix or "") or None)
    # /healthz, /readyz, /metrics: no login, no session, no CSRF (nothing there writes)
    app.register_blueprint(ops.ops, url_prefix=url_prefix or None)
    ops.install(app, {bp.name for bp in BLUEPRINTS})
