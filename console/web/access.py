"""Who is logged in and what each role may open: the console's session login.

The signed session cookie (HttpOnly, SameSite=Lax) holds only the username. The account and
its roles are read afresh on each request, so a role taken away or an account removed
counts at once. This is a dozen lines, so Flask-Login (untyped, and mostly about "remember
me" cookies we do not want) is not used.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from idmflow.engine import Account

from .extension import engine

ROLES = ("operator", "approver", "admin")
_SESSION_KEY = "account"


def load_account() -> None:
    """Before each request: the logged-in account in `g.account`, or None."""
    username = session.get(_SESSION_KEY)
    g.account = engine().accounts.get(username) if isinstance(username, str) else None
    if username is not None and g.account is None:
        session.clear()  # the account was removed: the session ends with it


def current_account() -> Account | None:
    """The account of this request, or None when nobody is logged in."""
    account: Account | None = g.get("account")
    return account


def account_or_403() -> Account:
    """The logged-in account; a page that needs one is only reached through `require_role`."""
    account = current_account()
    if account is None:
        abort(403)
    return account


def log_in(account: Account) -> None:
    """Start a fresh session for `account` (nothing of an earlier session survives)."""
    session.clear()
    session[_SESSION_KEY] = account.username
    g.account = account


def log_out() -> None:
    session.clear()
    g.account = None


def require_role(*roles: str) -> Callable[[], Response | None]:
    """A `before_request` guard: the login page when logged out, 403 without one of `roles`."""

    def guard() -> Response | None:
        account = current_account()
        if account is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not account.roles & set(roles):
            abort(403, description=f"This page is for the role {' or '.join(roles)}; your "
                                   f"account has {', '.join(sorted(account.roles)) or 'no role'}.")
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
