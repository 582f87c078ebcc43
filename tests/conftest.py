"""Shared fixtures: `db_url` runs integration tests on SQLite and on PostgreSQL.

PostgreSQL tests skip with the reason where the server cannot be reached, but never when
`CI` is set: there a missing server is a failure. The server is
`IDMFLOW_TEST_POSTGRES_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/test); its
`public` schema is emptied before each test.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

import idmflow.engine as idm
from idmflow.console.cli import main
from idmflow.storage.database import connect
from idmflow.storage.demo import seed_accounts, seed_users

PG_URL = os.environ.get("IDMFLOW_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    try:
        probe = create_engine(PG_URL)
        with probe.connect() as conn:
            conn.execute(text("select 1"))
        probe.dispose()
    except Exception as exc:  # any failure to reach it is a reason to skip
        return f"PostgreSQL at {PG_URL} is unreachable ({type(exc).__name__}: {exc})"
    return None


def _reset_postgres() -> None:
    db = create_engine(PG_URL)
    with db.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with the idmflow schema, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'idmflow.db'}"
    else:
        problem = _postgres_problem()
        if problem:
            if os.environ.get("CI"):
                pytest.fail(f"{problem}; CI must run the PostgreSQL tests")
            pytest.skip(problem)
        _reset_postgres()
        url = PG_URL
    db = connect(url)
    idm.upgrade_schema(db)
    db.dispose()
    yield url


#: werkzeug's scrypt costs ~0.15 s per account; the tests' accounts use cheap PBKDF2
FAST_HASH = "pbkdf2:sha256:1000"


class FixedClock:
    """A clock tests can read and move."""

    def __init__(self) -> None:
        self.time = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone.utc)

    def now(self) -> dt.datetime:
        return self.time


@pytest.fixture
def demo_url(db_url: str) -> str:
    """`db_url` with 300 demo users and the demo accounts."""
    db = connect(db_url)
    seed_users(db, 300)
    seed_accounts(db, dt.datetime.now(dt.timezone.utc), hash_method=FAST_HASH)
    db.dispose()
    return db_url


@pytest.fixture
def engine(demo_url: str) -> Iterator[idm.Engine]:
    eng = idm.open(demo_url)
    yield eng
    eng.db.dispose()


@pytest.fixture
def cli(demo_url: str):  # type: ignore[no-untyped-def]
    """Run `idmflow ...` against the demo database; returns click's Result."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, ["--database-url", demo_url, *args], catch_exceptions=False)

    return run


@pytest.fixture
def counts(demo_url: str):  # type: ignore[no-untyped-def]
    """Rows per table of the demo database: a refused request must leave them as they were."""
    return lambda: _row_counts(demo_url)


def _row_counts(url: str) -> dict[str, int]:
    db = connect(url)
    with db.connect() as conn:
        counts = {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                  for t in ("process_instances", "entities", "audit_events")}
    db.dispose()
    return counts


class _Mailbox:
    """Collects what the test SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content or envelope.content,
                                     policy=policy.default)
        self.messages.append(message)
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Mailbox]:
    """A real SMTP server (aiosmtpd) on a free local port; IDMFLOW_SMTP_URL points at it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("IDMFLOW_SMTP_URL", f"smtp://127.0.0.1:{port}")
    yield mailbox
    controller.stop()
