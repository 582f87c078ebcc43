"""Who is logged in and what each role may open: the console's server-side sessions.

The cookie `idmflow_session` (HttpOnly, SameSite=Lax, Secure over HTTPS or when configured)
holds a random token; the session is its row in `console_sessions`, so logging out, a
password or role change, disabling or deleting the account end it for every copy of the
cookie, and it ends by itself after `IDMFLOW_SESSION_IDLE_MINUTES` without a request or
`IDMFLOW_SESSION_LIFETIME_HOURS` after the login. The host's Flask session is never read
or written. A host may instead hand over its own logged-in user (`install(identity=...)`),
or a reverse proxy in `IDMFLOW_PROXIES` may name it in `IDMFLOW_IDENTITY_HEADER`.

The account and its roles are read afresh on each console request, and only on console
requests: `current_account()` loads lazily, so a host's own route costs nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, url_for
from werkzeug.wrappers import Response

from idmflow.engine import Account
from idmflow.storage.sessions import SessionRow

from .extension import console, engine

ROLES = ("operator", "approver", "admin")
COOKIE = "idmflow_session"
#: how long after entering the password saving or restoring a script needs no new entry
REAUTH_WINDOW = dt.timedelta(minutes=5)
_UNSET = object()


def client_address() -> str:
    """The client's address (a configured proxy's X-Forwarded-For was applied by then)."""
    return request.remote_addr or "unknown"


def _from_proxy() -> bool:
    """Whether the request came straight from one of the configured proxies."""
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") \
        or request.remote_addr
    return peer in console().settings.proxies


def _session() -> SessionRow | None:
    """The live console session of this request's cookie (looked up once)."""
    found = g.get("idmflow_session", _UNSET)
    if found is _UNSET:
        token = request.cookies.get(COOKIE)
        settings = console().settings
        found = console().sessions.lookup(
            token, now=engine().clock.now(),
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            lifetime=dt.timedelta(hours=settings.session_lifetime_hours)) if token else None
        if token and found is None:
            g.idmflow_cookie = ""  # expired or ended: the browser forgets it
        g.idmflow_session = found
    session: SessionRow | None = found
    return session


def _host_username() -> str | None:
    state = console()
    if state.identity is not None:
        name = state.identity()
        if name:
            return name
    header = state.settings.identity_header
    if header and _from_proxy():
        return request.headers.get(header) or None
    return None


def current_account() -> Account | None:
    """The account of this request, or None when nobody is logged in."""
    found = g.get("idmflow_account", _UNSET)
    if found is _UNSET:
        found = None
        name = _host_username()
        if name is not None:
            g.idmflow_host_login = True
            found = engine().accounts.get(name)
        elif (session := _session()) is not None:
            found = engine().accounts.get(session.username)
            if found is None:  # removed or disabled meanwhile: the session ends with it
                console().sessions.end(request.cookies.get(COOKIE, ""))
                g.idmflow_cookie = ""
        g.idmflow_account = found
    account: Account | None = found
    return account


def account_or_403() -> Account:
    """The logged-in account; a page that needs one is only reached through `require_role`."""
    account = current_account()
    if account is None:
        abort(403)
    return account


def session_token() -> str | None:
    """This browser's console session token, when it has a live session."""
    new = g.get("idmflow_cookie")
    if new:
        return str(new)
    if new == "" or _session() is None:
        return None
    return request.cookies.get(COOKIE)


def session_binding() -> str | None:
    """What CSRF tokens are bound to while logged in (None: use the logged-out binding)."""
    token = session_token()
    return "session:" + token if token else None


def log_in(account: Account) -> None:
    """A fresh session for `account`: a new token (the one before, if any, ends)."""
    token = console().sessions.create(
        account.username, now=engine().clock.now(), client=client_address(),
        user_agent=request.headers.get("User-Agent", ""),
        replaces=request.cookies.get(COOKIE))
    g.idmflow_cookie = token
    g.idmflow_account = account
    g.idmflow_session = None


def log_out() -> None:
    """End this browser's session (its row; every copy of the cookie stops working)."""
    token = request.cookies.get(COOKIE)
    if token:
        console().sessions.end(token)
    g.idmflow_cookie = ""
    g.idmflow_account = None


def needs_password() -> bool:
    """Whether a sensitive action must ask for the password again (the last entry is old).

    A host's own login is the host's to refresh; the console does not ask then.
    """
    if g.get("idmflow_host_login"):
        return False
    session = _session()
    if session is None:
        return not g.get("idmflow_cookie")  # logged in during this very request: fresh
    return engine().clock.now() - session.authenticated_at > REAUTH_WINDOW


def confirm_password(account: Account, password: str) -> bool:
    """Check the password again for a sensitive action; True when it is right."""
    if not password or engine().accounts.authenticate(account.username, password) is None:
        return False
    token = session_token()
    if token:
        console().sessions.reauthenticated(token, engine().clock.now())
    return True


def cookie_options() -> dict[str, Any]:
    """How every cookie of the console is set: HttpOnly, SameSite=Lax, Secure over HTTPS
    (or always, with `IDMFLOW_SECURE_COOKIES`), and only for the console's own path."""
    return {"httponly": True, "samesite": "Lax", "path": console().url_prefix or "/",
            "secure": bool(console().settings.secure_cookies) or request.is_secure}


def write_cookie(response: Response) -> None:
    """After a console request: set or delete the session cookie as this request decided."""
    token = g.get("idmflow_cookie")
    if token is None:
        return
    if token:
        response.set_cookie(COOKIE, token, max_age=console().settings.session_lifetime_hours
                            * 3600, **cookie_options())
    else:
        response.delete_cookie(COOKIE, **cookie_options())


def require_role(*roles: str) -> Callable[[], Response | None]:
    """A `before_request` guard: the login page when logged out, 403 without one of `roles`."""

    def guard() -> Response | None:
        account = current_account()
        if account is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not account.roles & set(roles):
            abort(403, description=f"This page is for the role {' or '.join(roles)}.")
        return None

    return guard


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target
