"""`idmflow accounts list|create|passwd|roles|disable|enable|delete|unlock` and the policy
for names and passwords, on both databases; the admin's Accounts page does the same."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from flask import Flask

import idmflow.engine as idm
from idmflow.console.cli import main
from idmflow.console.passwords import check_username, password_problems
from idmflow.storage.database import connect
from idmflow.storage.demo import seed_accounts
from idmflow.storage.sessions import LoginFailures

from .conftest import Client, text_of


@pytest.fixture
def run(console_url: str):  # type: ignore[no-untyped-def]
    def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, ["--database-url", console_url, *args], input=stdin)

    return invoke


def test_list_shows_roles_and_states_as_a_table_and_as_json(run, console_url: str) -> None:  # type: ignore[no-untyped-def]
    assert run("accounts", "disable", "operator2").exit_code == 0
    failures = LoginFailures(connect(console_url))
    for _ in range(10):
        failures.record("approver", "192.0.2.1", dt.datetime.now(dt.timezone.utc))
    doc = json.loads(run("accounts", "list", "--json").stdout)
    assert doc["total"] == 4 and [a["username"] for a in doc["accounts"]] == [
        "admin", "approver", "operator", "operator2"]
    states = {a["username"]: a["state"] for a in doc["accounts"]}
    assert states == {"admin": "active", "approver": "locked", "operator": "active",
                      "operator2": "disabled"}
    people = run("accounts", "list").stdout
    assert "USERNAME" in people and "operator2  operator2@example.org  disabled" in people
    assert run("accounts", "unlock", "approver").stdout.strip() == "approver: unlocked"
    doc = json.loads(run("accounts", "list", "--json").stdout)
    assert {a["username"]: a["state"] for a in doc["accounts"]}["approver"] == "active"


def test_passwd_roles_disable_enable_delete(run, app: Flask) -> None:  # type: ignore[no-untyped-def]
    result = run("accounts", "passwd", "operator")
    assert result.exit_code == 0
    username, password = result.stdout.strip().split(" / ")
    assert username == "operator" and password_problems("operator", password) == []
    assert Client(app.test_client()).login("operator", password).status_code == 302
    assert run("accounts", "passwd", "operator", "--password-stdin",
               stdin="river stone lantern\n").exit_code == 0
    assert Client(app.test_client()).login("operator", "river stone lantern").status_code == 302

    assert run("accounts", "roles", "operator", "--role", "approver", "--role", "operator"
               ).stdout.strip() == "operator: roles approver, operator"
    assert json.loads(run("accounts", "show", "operator").stdout)["roles"] == [
        "approver", "operator"]
    assert run("accounts", "disable", "operator").exit_code == 0
    assert Client(app.test_client()).login("operator", "river stone lantern").status_code == 401
    assert run("accounts", "show", "operator").exit_code == 1  # a disabled account acts not
    assert run("accounts", "enable", "operator").exit_code == 0
    assert Client(app.test_client()).login("operator", "river stone lantern").status_code == 302
    assert run("accounts", "delete", "operator").exit_code == 0
    missing = run("accounts", "delete", "operator")
    assert missing.exit_code == 1 and "no account 'operator'" in missing.output


@pytest.mark.parametrize(("password", "problem"), [
    ("x", "has 1 characters; use at least 12"),
    ("password1234", "in a list of common passwords"),
    ("newbie-account-1", "contains the account name"),
    ("aaaaaaaaaaaa", "too easy to guess"),
    ("qwertyuiopasdf", "too easy to guess"),
])
def test_weak_passwords_are_refused_with_the_reason(run, password: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    result = run("accounts", "create", "newbie", "--email", "n@example.org", "--role",
                 "operator", "--password-stdin", stdin=password + "\n")
    assert result.exit_code == 1 and problem in result.output, result.output
    assert "Traceback" not in result.output
    assert run("accounts", "show", "newbie").exit_code == 1  # nothing was written


@pytest.mark.parametrize("name", ["admin ", " admin", "ad min", "", "-x", "ädmin", "a" * 101,
                                  "admin\n"])
def test_account_names_are_checked(run, name: str) -> None:  # type: ignore[no-untyped-def]
    result = run("accounts", "create", "--email", "n@example.org", "--role", "operator", "--",
                 name)
    assert result.exit_code == 1 and "account name" in result.output, result.output
    with pytest.raises(idm.InputError):
        check_username(name)


def test_the_demos_generated_passwords_meet_the_policy(console_url: str) -> None:
    db = connect(console_url)
    try:
        from sqlalchemy import delete

        from idmflow.storage.models import account_roles, accounts
        with db.begin() as conn:
            conn.execute(delete(account_roles))
            conn.execute(delete(accounts))
        seeded = seed_accounts(db, dt.datetime.now(dt.timezone.utc),
                               hash_method="pbkdf2:sha256:1000")
    finally:
        db.dispose()
    for account in seeded:
        assert account.password and password_problems(account.username, account.password) == []


def test_account_changes_are_audited(run, web_engine: idm.Engine) -> None:  # type: ignore[no-untyped-def]
    run("accounts", "roles", "operator2", "--role", "approver", "--as", "admin")
    run("accounts", "disable", "operator2")
    events = web_engine.history(subject_kind="account")
    assert [(e.trigger, e.actor) for e in events] == [("roles_change", "admin"),
                                                      ("account_disable", "cli")]
    assert events[0].data == {"account": "operator2", "client": "cli",
                              "before": ["operator"], "after": ["approver"]}


def test_the_admins_accounts_page(as_admin: Client, app: Flask, web_engine: idm.Engine) -> None:
    page = text_of(as_admin.get("/admin/accounts"))
    assert "<strong>operator2</strong>" in page and ">Accounts</a>" in page
    other = Client(app.test_client())
    other.login("operator2")
    assert other.get("/operator/batch-orders").status_code == 200
    response = as_admin.post("/admin/accounts/operator2/roles",
                             data={"role": ["operator", "supervisor"]}, follow_redirects=True)
    assert "operator2 now has the roles operator, supervisor" in text_of(response)
    assert other.get("/operator/batch-orders").status_code == 302  # its session ended
    shown = text_of(as_admin.post("/admin/accounts/operator2/password"))
    new = shown.split('<code class="password">')[1].split("</code>")[0]
    assert Client(app.test_client()).login("operator2", new).status_code == 302
    assert as_admin.post("/admin/accounts/operator2/disable").status_code == 302
    assert Client(app.test_client()).login("operator2", new).status_code == 401
    own = as_admin.post("/admin/accounts/admin/delete")
    assert own.status_code == 400 and "cannot delete your own account" in text_of(own)
    assert as_admin.get("/admin/accounts").status_code == 200
    for who in ("operator", "approver"):
        client = Client(app.test_client())
        client.login(who)
        assert client.get("/admin/accounts").status_code == 403
        assert client.post("/admin/accounts/operator2/enable").status_code == 403


def test_audit_lists_the_security_events(run, app: Flask) -> None:  # type: ignore[no-untyped-def]
    Client(app.test_client()).login("operator", "wrong password")
    Client(app.test_client()).login("operator")
    run("accounts", "unlock", "operator")
    doc = json.loads(run("audit", "--accounts", "--json").stdout)
    assert [e["trigger"] for e in doc["events"]] == ["login_failed", "login", "unlock"]
    assert doc["events"][0]["data"]["client"] == "127.0.0.1"
    people = run("audit", "--accounts").stdout.splitlines()
    assert people[0].split() == ["ID", "AT", "ACTOR", "ACCOUNT", "TRIGGER", "CLIENT"]
    assert "login_failed  127.0.0.1" in people[1]


def test_the_owner_is_mailed_about_changes_to_their_account(run, web_engine: idm.Engine  # type: ignore[no-untyped-def]
                                                            ) -> None:
    run("accounts", "passwd", "operator2", "--as", "admin")
    run("accounts", "roles", "operator2", "--role", "approver")
    run("accounts", "unlock", "operator2")  # no mail: nothing about the account changed
    run("accounts", "disable", "operator2")
    mails, total = web_engine.outbox()
    assert total == 3 and all(m.recipients == ["operator2@example.org"] for m in mails)
    assert [m.subject for m in reversed(mails)] == [
        "idmflow account operator2: the password was changed",
        "idmflow account operator2: the roles were changed",
        "idmflow account operator2: the account was disabled"]
    assert "by admin from cli" in mails[-1].text and "tell an administrator" in mails[-1].text
