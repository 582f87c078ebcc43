"""The "My sessions" page: where one is logged in, "Log out everywhere else", own password.

Part of the `auth` blueprint; any logged-in console account may open it.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idmflow.engine import IdmflowError, InputError
from idmflow.storage.sessions import token_hash

from .. import accounts as changes
from .access import (ROLES, account_or_403, client_address, confirm_password, needs_password,
                     require_role, session_token)
from .auth import audit, auth
from .extension import console, engine
from .notices import flash

_guard = require_role(*ROLES, "self-service", "supervisor")


def _page(problems: tuple[str, ...] = (), status: int = 200) -> tuple[str, int]:
    account = account_or_403()
    token = session_token()
    return render_template("idmflow/sessions.html",
                           sessions=console().sessions.of(account.username),
                           current=token_hash(token) if token else None,
                           problems=problems), status


@auth.get("/sessions")
def my_sessions() -> Response | tuple[str, int]:
    """Every session of the logged-in account, this one marked."""
    return _guard() or _page()


@auth.post("/sessions/others")
def end_other_sessions() -> Response | tuple[str, int]:
    """Log out everywhere else: every session of the account but this one ends."""
    refused = _guard()
    if refused is not None:
        return refused
    account = account_or_403()
    if needs_password() and not confirm_password(account, request.form.get("password", "")):
        return _page(("Enter your password to log out everywhere else (it was last "
                      "entered more than a few minutes ago).",), 400)
    ended = console().sessions.end_all(account.username, keep=session_token())
    audit("logout_others", account.username, sessions=ended)
    flash(f"Logged out everywhere else ({ended} other session{'s' if ended != 1 else ''}).")
    return redirect(url_for("auth.my_sessions"))


@auth.post("/password")
def change_own_password() -> Response | tuple[str, int]:
    """A new password, after the current one; the other sessions end."""
    refused = _guard()
    if refused is not None:
        return refused
    account = account_or_403()
    current = request.form.get("current", "")
    new = request.form.get("new", "")
    if engine().accounts.authenticate(account.username, current) is None:
        return _page(("Your current password is not right.",), 400)
    if new != request.form.get("repeat", ""):
        return _page(("The new password and its repetition differ.",), 400)
    token = session_token()
    try:
        changes.change_password(engine(), account.username, new, actor=account.username,
                                client=client_address(),
                                keep_session=token_hash(token) if token else None)
    except InputError as exc:
        return _page(exc.problems, 400)
    except IdmflowError as exc:
        return _page((str(exc),), 400)
    flash("Your password is changed; your other sessions have ended.")
    return redirect(url_for("auth.my_sessions"))
