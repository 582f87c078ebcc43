"""Fixtures of the web console's tests: the app over the demo database, known passwords,
a test client that logs in and sends CSRF tokens like a browser, and directory users that
tests add (e.g. one whose display name is a script tag).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

import idmflow.engine as idm
from idmflow.console.web import create_app
from idmflow.storage.database import connect
from idmflow.storage.demo import demo_user, seed_users
from idmflow.storage.directory import index_users
from idmflow.storage.models import account_roles, accounts, users

from ..conftest import FixedClock

#: the demo accounts' passwords in these tests (the demo itself makes random ones)
PASSWORDS = {"operator": "operator-pw-1", "approver": "approver-pw-1", "admin": "admin-pw-1",
             "operator2": "operator2-pw-1"}
_FAST_HASH = "pbkdf2:sha256:1000"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
XSS_NAME = "<script>alert(1)</script>"
DEMO_USERS = 300
#: the active demo users, in the order a search lists them
ACTIVE = sorted(demo_user(i)["username"] for i in range(1, DEMO_USERS + 1)
                if demo_user(i)["state"] == "active")


def add_account(url: str, username: str, password: str, roles: tuple[str, ...]) -> None:
    """One console account, its password hashed with a cheap PBKDF2 setting.

    The default (scrypt) costs a tenth of a second per hash and per login, which adds up
    over a few hundred tests; checking the password works the same.
    """
    db = connect(url)
    with db.begin() as conn:
        account_id = conn.execute(insert(accounts).values(
            username=username, email=f"{username}@example.org",
            created_at=dt.datetime.now(dt.timezone.utc),
            password_hash=generate_password_hash(password, method=_FAST_HASH),
        ).returning(accounts.c.id)).scalar_one()
        conn.execute(insert(account_roles), [{"account_id": account_id, "role": r}
                                             for r in roles])
    db.dispose()


def add_accounts(url: str) -> None:
    """The accounts of `PASSWORDS`; each has the role its name says (operator2: operator)."""
    for username, password in PASSWORDS.items():
        add_account(url, username, password, (username.rstrip("0123456789"),))


def add_user(url: str, username: str, display_name: str, *, state: str = "active",
             org_unit: str = "Test") -> None:
    """Add one directory user."""
    db = connect(url)
    with db.begin() as conn:
        conn.execute(insert(users).values(
            username=username, username_key=username.lower(), display_name=display_name,
            display_key=display_name.lower(), email=f"{username}@example.org",
            org_unit=org_unit, state=state))
        index_users(conn, [username])
    db.dispose()


NAME = "CardsBoProcRequestMulitple"
SCRIPT = "CardsScriptOptions"


def approval_on(engine: idm.Engine) -> None:
    """What an admin does in the script editor: turn the batch approval step on."""
    engine.scripts.install_defaults()
    source = engine.scripts.show(SCRIPT).source or ""
    engine.scripts.save(SCRIPT, source.replace("CardsBatchRequestApproval = False",
                                               "CardsBatchRequestApproval = True"),
                        author="admin", comment="approval on")


def batch(engine: idm.Engine, users: list[str], actor: str = "operator") -> idm.TaskView:
    view = engine.run(NAME, actor=actor, steps=[("select", {"users": users}), ("next", {})])
    tasks, _ = engine.tasks(instance_id=view.id)
    assert len(tasks) == 1
    return tasks[0]


class Client:
    """A Flask test client that logs in and adds the CSRF token to every POST."""

    def __init__(self, client: FlaskClient) -> None:
        self.http = client
        self.token: str | None = None

    def login(self, username: str, password: str | None = None) -> TestResponse:
        page = self.http.get("/login")
        self.token = token_of(page)
        response = self.http.post("/login", data={
            "username": username, "password": password or PASSWORDS[username],
            "csrf_token": self.token})
        self.token = token_of(self.http.get("/login"))
        return response

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.http.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        if self.token is None:
            self.token = token_of(self.http.get("/login"))
        return self.http.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)


def token_of(response: TestResponse) -> str:
    found = _TOKEN.search(response.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def console_url(db_url: str) -> str:
    """`db_url` with 300 demo users, the XSS user and the accounts of `PASSWORDS`."""
    db = connect(db_url)
    seed_users(db, DEMO_USERS)
    db.dispose()
    add_accounts(db_url)
    add_user(db_url, "xss1", XSS_NAME)
    return db_url


@pytest.fixture
def web_engine(console_url: str) -> Iterator[idm.Engine]:
    """The console's engine, with a worker running its background jobs, as `idmflow serve`
    has (the mail queue is left to the tests that deliver mail themselves)."""
    eng = idm.open(console_url)
    with working(eng):
        yield eng
    eng.close()


@contextmanager
def working(engine: idm.Engine) -> Iterator[None]:
    """A worker for the console's long steps while the block runs."""
    worker = engine.worker(queues=["steps"], poll=0.05)
    worker.start()
    try:
        yield
    finally:
        worker.stop(grace=10)


@pytest.fixture
def app(web_engine: idm.Engine) -> Flask:
    return create_app(web_engine, testing=True)


@pytest.fixture
def clock() -> FixedClock:
    """The time the engine of `timed_app` reads; tests move it."""
    return FixedClock()


@pytest.fixture
def timed_engine(console_url: str, clock: FixedClock) -> Iterator[idm.Engine]:
    engine = idm.open(console_url, clock=clock)
    yield engine
    engine.close()


@pytest.fixture
def timed_app(timed_engine: idm.Engine) -> Flask:
    """The console over an engine on `clock` (session expiry, throttling)."""
    return create_app(timed_engine, testing=True)


@pytest.fixture
def client(app: Flask) -> Client:
    return Client(app.test_client())


@pytest.fixture
def as_operator(client: Client) -> Client:
    client.login("operator")
    return client


@pytest.fixture
def as_admin(client: Client) -> Client:
    client.login("admin")
    return client
