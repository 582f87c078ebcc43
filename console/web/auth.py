"""The `auth` blueprint: the start page, logging in with a console account, logging out.

Passwords are checked against the hashes of the `accounts` table; a wrong username and a
wrong password get the same answer, so the form does not tell which accounts exist.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idmflow.storage.accounts import SqlAccounts

from .access import current_account, log_in, log_out, safe_next
from .extension import engine
from .navigation import landing

auth = Blueprint("auth", __name__, template_folder="templates")


@auth.get("/")
def index() -> Response | str:
    """Logged out: the login page. Logged in: the first page of the account's role."""
    account = current_account()
    if account is None:
        return redirect(url_for("auth.login"))
    target = landing(account.roles)
    if target is not None:
        return redirect(url_for(target))
    return render_template("idmflow/home.html")


@auth.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    """The login form; on success, the page asked for (`next`) or the role's first page."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("idmflow/login.html", next=target, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    account = SqlAccounts(engine().db).check_password(username, password) if username else None
    if account is None:
        return render_template("idmflow/login.html", next=target, username=username,
                               problem="Wrong username or password."), 401
    log_in(account)
    return redirect(target or url_for("auth.index"))


@auth.post("/logout")
def logout() -> Response:
    log_out()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
