"""Login protection: growing delays and a temporary lock per account and per address, an
admin's unlock, the same answer for unknown names, and audit events with the client's
address (Flask test client on both databases, the engine's clock moved by the test).
"""

from __future__ import annotations

import datetime as dt
import re

from click.testing import CliRunner
from flask import Flask

import idmflow.engine as idm
from idmflow.console import accounts as changes
from idmflow.console.cli import main

from ..conftest import FixedClock
from .conftest import Client, text_of


def attempt(app: Flask, username: str, password: str, address: str = "192.0.2.7") -> Client:
    client = Client(app.test_client())
    client.http.environ_base["REMOTE_ADDR"] = address
    client.last = client.login(username, password)  # type: ignore[attr-defined]
    return client


def test_25_wrong_passwords_are_slowed_then_locked_until_an_admin_unlocks(
        timed_app: Flask, timed_engine: idm.Engine, clock: FixedClock) -> None:
    answers = []
    for _ in range(25):
        response = attempt(timed_app, "operator", "wrong password").last  # type: ignore[attr-defined]
        answers.append((response.status_code, text_of(response)))
        clock.time += dt.timedelta(seconds=1)
    statuses = [status for status, _ in answers]
    assert statuses[:4] == [401] * 4  # the first failures only say it was wrong
    assert 429 in statuses[4:10]      # then a growing wait between tries
    assert statuses.count(401) < 10   # the rest were refused without checking a password
    assert answers[-1][0] == 429 and "Too many attempts; try again in" in answers[-1][1]
    locked = attempt(timed_app, "operator", "operator-pw-1").last  # type: ignore[attr-defined]
    assert locked.status_code == 429 and "Too many attempts; try again in" in text_of(locked)

    # the CLI's --as trusts whoever reaches the database: a login lock does not stop it
    result = CliRunner().invoke(main, ["--database-url", timed_engine.db.url.render_as_string(
        hide_password=False), "tasks", "list", "--as", "operator", "--json"])
    assert result.exit_code == 0, result.output

    changes.unlock(timed_engine, "operator", actor="admin")
    assert attempt(timed_app, "operator", "operator-pw-1").last.status_code == 302  # type: ignore[attr-defined]


def test_the_lock_ends_by_itself_after_15_minutes(timed_app: Flask, clock: FixedClock) -> None:
    for _ in range(10):
        attempt(timed_app, "admin", "wrong password")
        clock.time += dt.timedelta(seconds=61)  # past every wait: ten real failures
    assert attempt(timed_app, "admin", "admin-pw-1").last.status_code == 429  # type: ignore[attr-defined]
    clock.time += dt.timedelta(minutes=15)
    assert attempt(timed_app, "admin", "admin-pw-1").last.status_code == 302  # type: ignore[attr-defined]


def test_unknown_names_get_the_same_answers(timed_app: Flask, clock: FixedClock) -> None:
    known = [attempt(timed_app, "operator", "wrong").last for _ in range(6)]  # type: ignore[attr-defined]
    unknown = [attempt(timed_app, "mallory", "wrong", "192.0.2.8").last  # type: ignore[attr-defined]
               for _ in range(6)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    def shown(response: object, name: str) -> str:
        return re.sub(r'value="[0-9a-f]{64}"', "", text_of(response).replace(name, "X"))  # type: ignore[arg-type]

    assert [shown(r, "operator") for r in known] == [shown(r, "mallory") for r in unknown]


def test_one_address_trying_many_names_is_slowed(timed_app: Flask, clock: FixedClock) -> None:
    for n in range(20):
        assert attempt(timed_app, f"guess{n}", "wrong").last.status_code == 401  # type: ignore[attr-defined]
    refused = attempt(timed_app, "admin", "admin-pw-1").last  # type: ignore[attr-defined]
    assert refused.status_code == 429
    assert attempt(timed_app, "admin", "admin-pw-1", "198.51.100.1").last.status_code == 302  # type: ignore[attr-defined]


def test_logins_failures_locks_and_logouts_are_audited_with_the_address(
        timed_app: Flask, timed_engine: idm.Engine, clock: FixedClock) -> None:
    for _ in range(10):
        attempt(timed_app, "approver", "wrong")
        clock.time += dt.timedelta(minutes=1)
    changes.unlock(timed_engine, "approver", actor="admin", client="cli")
    client = attempt(timed_app, "approver", "approver-pw-1", "203.0.113.9")
    client.post("/logout")
    events = timed_engine.history(subject_kind="account")
    triggers = [e.trigger for e in events]
    assert triggers == ["login_failed"] * 10 + ["login_lock", "unlock", "login", "logout"]
    login = next(e for e in events if e.trigger == "login")
    assert login.actor == "approver" and login.data is not None
    assert login.data["client"] == "203.0.113.9" and login.data["account"] == "approver"
    assert events[0].data is not None and events[0].data["client"] == "192.0.2.7"
