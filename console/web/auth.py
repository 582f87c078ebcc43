"""The `auth` blueprint: the start page, logging in with a console account, logging out.

Passwords are checked through the `Accounts` port (`authenticate`), so a host's own
accounts log in the same way. A wrong username and a wrong password get the same answer
in about the same time. Repeated failures are slowed and then locked (`throttle.py`);
every login, failure, lock and logout is an audit event with the client's address.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idmflow.storage.audit import record_account_event

from .. import throttle
from .access import client_address, current_account, log_in, log_out, safe_next
from .extension import console, engine
from .navigation import landing
from .notices import flash

auth = Blueprint("auth", __name__, template_folder="templates")

WRONG = "Wrong username or password."


def audit(trigger: str, account: str, *, actor: str | None = None, **data: object) -> None:
    """A security event about `account`, with this request's client address."""
    record_account_event(engine().db, at=engine().clock.now(), actor=actor or account,
                         trigger=trigger, account=account, client=client_address(),
                         data=data)


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


def _refusal(username: str, now: dt.datetime) -> throttle.Refusal | None:
    since = now - throttle.WINDOW
    failures = console().failures
    return (throttle.refusal(failures.recent(username=username, since=since),
                             throttle.ACCOUNT, now)
            or throttle.refusal(failures.recent(client=client_address(), since=since),
                                throttle.CLIENT, now))


def _failed(username: str, now: dt.datetime) -> None:
    failures = console().failures
    before = len(failures.recent(username=username, since=now - throttle.WINDOW))
    failures.record(username, client_address(), now)
    audit("login_failed", username)
    if throttle.is_lock(before):
        audit("login_lock", username, minutes=int(throttle.WINDOW.total_seconds() // 60))


def _purge(now: dt.datetime) -> None:
    """Forget expired sessions and old failures (a login is rare enough to pay for it)."""
    settings = console().settings
    console().sessions.purge(now=now, idle=dt.timedelta(minutes=settings.session_idle_minutes),
                             lifetime=dt.timedelta(hours=settings.session_lifetime_hours))
    console().failures.purge(now - 4 * throttle.WINDOW)


@auth.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    """The login form; on success, the page asked for (`next`) or the role's first page."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("idmflow/login.html", next=target, username="")
    username = request.form.get("username", "").strip()[:100]
    password = request.form.get("password", "")[:1000]
    now = engine().clock.now()
    refused = _refusal(username, now) if username else None
    if refused is not None:
        return render_template("idmflow/login.html", next=target, username=username,
                               problem=refused.message), 429
    account = engine().accounts.authenticate(username, password) if username else None
    if account is None:
        if username:
            _failed(username, now)
        return render_template("idmflow/login.html", next=target, username=username,
                               problem=WRONG), 401
    console().failures.clear(username)
    _purge(now)
    log_in(account)
    audit("login", account.username)
    return redirect(target or url_for("auth.index"))


@auth.post("/logout")
def logout() -> Response:
    account = current_account()
    if account is not None:
        audit("logout", account.username)
    log_out()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
