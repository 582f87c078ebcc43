"""Server-side sessions: logout and account changes revoke every copy of the cookie, idle
and absolute expiry, a new id at each login, re-authentication before script saves and
restores, "My sessions" with "Log out everywhere else" (Flask test client, both databases).
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

import idmflow.engine as idm
from idmflow.console import accounts as changes
from idmflow.console.web import create_app
from idmflow.storage.database import connect
from idmflow.storage.models import console_sessions
from idmflow.storage.sessions import token_hash

from ..conftest import FixedClock
from .conftest import Client, add_account, text_of

COOKIE = "idmflow_session"
SCRIPT = "CardsScriptOptions"


def cookie_of(client: Client) -> str:
    cookie = client.http.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def copy_of(app: Flask, token: str) -> Client:
    """Another browser holding a copy of the cookie `token`."""
    other = Client(app.test_client())
    other.http.set_cookie(COOKIE, token)
    return other


def test_logout_revokes_every_copy_of_the_session(app: Flask, client: Client) -> None:
    client.login("operator")
    token = cookie_of(client)
    saved = copy_of(app, token)
    assert saved.get("/operator/batch-orders").status_code == 200
    client.post("/logout")
    assert saved.get("/operator/batch-orders").status_code == 302  # to the login page
    start = saved.http.post("/operator/batch-orders/CardsBoProcRequestMulitple/start")
    assert start.status_code in (302, 400)
    assert saved.get("/operator/batch-orders").status_code == 302


def test_the_table_keeps_only_a_hash_of_the_token(console_url: str, client: Client) -> None:
    client.login("operator")
    token = cookie_of(client)
    db = connect(console_url)
    with db.connect() as conn:
        stored = list(conn.execute(select(console_sessions.c.id_hash,
                                          console_sessions.c.username)))
    db.dispose()
    assert stored == [(token_hash(token), "operator")] and token not in stored[0][0]


def test_login_renews_the_session_id(app: Flask, client: Client) -> None:
    client.login("operator")
    first = cookie_of(client)
    client.login("operator")
    second = cookie_of(client)
    assert first != second
    assert copy_of(app, first).get("/operator/batch-orders").status_code == 302
    assert copy_of(app, second).get("/operator/batch-orders").status_code == 200


@pytest.mark.parametrize("change", ["password", "roles", "disable", "delete"])
def test_account_changes_end_all_its_sessions(app: Flask, web_engine: idm.Engine,
                                              change: str) -> None:
    browsers = [Client(app.test_client()) for _ in range(2)]
    for browser in browsers:
        browser.login("operator")
        assert browser.get("/operator/batch-orders").status_code == 200
    if change == "password":
        changes.change_password(web_engine, "operator", "a new and long passphrase",
                                actor="admin")
    elif change == "roles":
        changes.change_roles(web_engine, "operator", ["operator", "approver"], actor="admin")
    elif change == "disable":
        changes.disable(web_engine, "operator", actor="admin")
    else:
        changes.delete(web_engine, "operator", actor="admin")
    for browser in browsers:
        assert browser.get("/operator/batch-orders").status_code == 302


def test_a_deleted_and_recreated_account_does_not_inherit_old_sessions(
        app: Flask, console_url: str, web_engine: idm.Engine) -> None:
    old = Client(app.test_client())
    old.login("operator")
    token = cookie_of(old)
    changes.delete(web_engine, "operator", actor="admin")
    add_account(console_url, "operator", "operator-pw-1", ("admin",))
    assert copy_of(app, token).get("/admin/outbox").status_code == 302


def test_idle_timeout_and_absolute_lifetime(timed_app: Flask, clock: FixedClock) -> None:
    client = Client(timed_app.test_client())
    client.login("operator")
    clock.time += dt.timedelta(minutes=29)
    assert client.get("/operator/batch-orders").status_code == 200  # still within 30 min
    clock.time += dt.timedelta(minutes=31)
    response = client.get("/operator/batch-orders")
    assert response.status_code == 302 and "/login" in response.location

    client.login("operator")
    logged_in = clock.time
    for _ in range(40):  # busy all day: a request every 20 minutes
        clock.time += dt.timedelta(minutes=20)
        if client.get("/operator/batch-orders").status_code != 200:
            break
    assert dt.timedelta(hours=12) < clock.time - logged_in <= dt.timedelta(hours=12, minutes=20)
    assert client.get("/operator/batch-orders").status_code == 302


def test_timeouts_are_configurable(console_url: str, clock: FixedClock,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMFLOW_SESSION_IDLE_MINUTES", "5")
    engine = idm.open(console_url, clock=clock)
    try:
        client = Client(create_app(engine, testing=True).test_client())
        client.login("operator")
        clock.time += dt.timedelta(minutes=6)
        assert client.get("/operator/batch-orders").status_code == 302
    finally:
        engine.close()


def test_a_bad_timeout_setting_is_one_clear_error(web_engine: idm.Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMFLOW_SESSION_LIFETIME_HOURS", "forever")
    with pytest.raises(idm.IdmflowError, match="IDMFLOW_SESSION_LIFETIME_HOURS='forever' is "
                                               "not allowed: use a whole number of hours"):
        create_app(web_engine, testing=True)


def test_saving_a_script_needs_the_password_when_it_was_entered_long_ago(
        timed_app: Flask, timed_engine: idm.Engine, clock: FixedClock) -> None:
    timed_engine.scripts.install_defaults()
    source = timed_engine.scripts.show(SCRIPT).source or ""
    edited = source.replace("CardsBatchRequestApproval = False",
                            "CardsBatchRequestApproval = True")
    admin = Client(timed_app.test_client())
    admin.login("admin")
    url = f"/admin/scripts/{SCRIPT}"
    clock.time += dt.timedelta(minutes=6)
    assert 'name="password"' in text_of(admin.get(url))
    for data in ({}, {"password": "wrong"}):
        refused = admin.post(url, data={"action": "save", "source": edited, **data})
        assert refused.status_code == 400 and "Enter your password to save" in text_of(refused)
        assert "CardsBatchRequestApproval = True" in text_of(refused)  # the edit is kept
    assert len(timed_engine.scripts.history(SCRIPT)) == 1
    saved = admin.post(url, data={"action": "save", "source": edited,
                                  "password": "admin-pw-1"})
    assert saved.status_code == 302 and len(timed_engine.scripts.history(SCRIPT)) == 2
    # entered just now: the next save within the window needs no password
    again = admin.post(url, data={"action": "save", "source": source})
    assert again.status_code == 302 and len(timed_engine.scripts.history(SCRIPT)) == 3

    clock.time += dt.timedelta(minutes=6)
    restore = f"/admin/scripts/{SCRIPT}/restore/2"
    asked = admin.post(restore)
    assert asked.status_code == 200 and 'name="password"' in text_of(asked)
    assert admin.post(restore, data={"password": "nope"}).status_code == 400
    assert len(timed_engine.scripts.history(SCRIPT)) == 3
    assert admin.post(restore, data={"password": "admin-pw-1"}).status_code == 302
    assert len(timed_engine.scripts.history(SCRIPT)) == 4
    events = [e.trigger for e in timed_engine.history(subject_kind="account")]
    assert events.count("script_save") == 2 and events.count("script_restore") == 1


def test_my_sessions_lists_them_and_logs_out_everywhere_else(app: Flask) -> None:
    here, there = Client(app.test_client()), Client(app.test_client())
    here.login("approver")
    there.http.environ_base["HTTP_USER_AGENT"] = "Other Browser/1.0"
    there.login("approver")
    page = text_of(here.get("/sessions"))
    assert "Other Browser/1.0" in page and "this session" in page
    assert page.count("<tr>") == 3  # the header and two sessions
    done = here.post("/sessions/others", follow_redirects=True)
    assert "Logged out everywhere else (1 other session)." in text_of(done)
    assert there.get("/approvals/").status_code == 302
    assert here.get("/approvals/").status_code == 200


def test_changing_ones_password_checks_the_policy_and_ends_other_sessions(app: Flask) -> None:
    here, there = Client(app.test_client()), Client(app.test_client())
    here.login("operator")
    there.login("operator")
    for current, new, problem in (
            ("wrong", "a long enough passphrase", "current password is not right"),
            ("operator-pw-1", "short", "use at least 12"),
            ("operator-pw-1", "password1234", "common passwords"),
            ("operator-pw-1", "operator-and-more", "contains the account name")):
        refused = here.post("/password", data={"current": current, "new": new,
                                               "repeat": new})
        assert refused.status_code == 400 and problem in text_of(refused), problem
    changed = here.post("/password", data={"current": "operator-pw-1",
                                           "new": "staple battery horse", "repeat":
                                           "staple battery horse"})
    assert changed.status_code == 302
    assert here.get("/operator/batch-orders").status_code == 200
    assert there.get("/operator/batch-orders").status_code == 302
    assert Client(app.test_client()).login("operator", "staple battery horse").status_code == 302


def test_a_login_forgets_expired_sessions_of_everyone(timed_app: Flask, console_url: str,
                                                      clock: FixedClock) -> None:
    for name in ("operator", "approver"):
        Client(timed_app.test_client()).login(name)
    clock.time += dt.timedelta(hours=13)
    Client(timed_app.test_client()).login("admin")
    db = connect(console_url)
    with db.connect() as conn:
        left = list(conn.execute(select(console_sessions.c.username)).scalars())
    db.dispose()
    assert left == ["admin"]


def test_changing_an_account_needs_the_admins_password_when_it_was_entered_long_ago(
        timed_app: Flask, timed_engine: idm.Engine, clock: FixedClock) -> None:
    admin = Client(timed_app.test_client())
    admin.login("admin")
    clock.time += dt.timedelta(minutes=6)
    assert 'name="password"' in text_of(admin.get("/admin/accounts"))
    refused = admin.post("/admin/accounts/operator2/disable", data={"password": "wrong"})
    assert refused.status_code == 400 and "Enter your password" in text_of(refused)
    assert timed_engine.accounts.get("operator2") is not None
    done = admin.post("/admin/accounts/operator2/disable", data={"password": "admin-pw-1"})
    assert done.status_code == 302 and timed_engine.accounts.get("operator2") is None


def test_log_out_everywhere_else_asks_the_password_when_it_is_old(
        timed_app: Flask, clock: FixedClock) -> None:
    here, there = Client(timed_app.test_client()), Client(timed_app.test_client())
    there.login("approver")
    here.login("approver")
    clock.time += dt.timedelta(minutes=6)
    assert 'name="password"' in text_of(here.get("/sessions"))
    refused = here.post("/sessions/others", data={"password": "wrong"})
    assert refused.status_code == 400 and "Enter your password" in text_of(refused)
    assert there.get("/approvals/").status_code == 200
    assert here.post("/sessions/others", data={"password": "approver-pw-1"}).status_code == 302
    assert there.get("/approvals/").status_code == 302
