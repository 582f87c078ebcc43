"""The admin's Accounts page: roles, disable/enable, delete, unlock, a new password.

Changes go through `idmflow.console.accounts` (the CLI's functions too), so each is checked,
ends the account's sessions where it should and is audited with the admin's address. Like
saving a script, a change needs the admin's password again when it was last entered more
than a few minutes ago.
"""

from __future__ import annotations

import secrets
from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idmflow.engine import IdmflowError
from idmflow.storage.accounts import SqlAccounts

from .. import accounts as changes
from .access import account_or_403, client_address, confirm_password, needs_password
from .admin import admin
from .extension import engine
from .notices import flash

ACTIONS = ("roles", "disable", "enable", "delete", "unlock", "password")


def _page(*, problems: tuple[str, ...] = (), new_password: tuple[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    managed = isinstance(engine().accounts, SqlAccounts)
    return render_template("idmflow/admin/accounts.html",
                           lines=changes.overview(engine()) if managed else [],
                           roles=changes.ROLES, managed=managed,
                           needs_password=needs_password(), problems=problems,
                           new_password=new_password), status


@admin.get("/accounts")
def accounts() -> tuple[str, int]:
    """Every account with its roles and state."""
    return _page()


@admin.post("/accounts/<username>/<action>")
def account_action(username: str, action: str) -> Response | tuple[str, int]:
    """One change to one account."""
    account = account_or_403()
    if action not in ACTIONS:
        return _page(problems=(f"Unknown action {action!r}.",), status=400)
    if needs_password() and not confirm_password(account, request.form.get("password", "")):
        return _page(problems=("Enter your password to confirm this change (it was last "
                               "entered more than a few minutes ago).",), status=400)
    who = {"actor": account.username, "client": client_address()}
    try:
        if action == "roles":
            roles = changes.change_roles(engine(), username, request.form.getlist("role"), **who)
            flash(f"{username} now has the roles {', '.join(roles) or 'none'}; "
                  "their sessions have ended.")
        elif action == "password":
            password = secrets.token_urlsafe(12)
            changes.change_password(engine(), username, password, **who)
            return _page(new_password=(username, password))
        elif action == "unlock":
            changes.unlock(engine(), username, **who)
            flash(f"Logins to {username} are unlocked.")
        else:
            {"disable": changes.disable, "enable": changes.enable,
             "delete": changes.delete}[action](engine(), username, **who)
            flash(f"{username}: {action}d.")
    except IdmflowError as exc:
        return _page(problems=(str(exc),), status=400)
    return redirect(url_for("admin.accounts"))
