"""Testing helpers for people who write processes: a ready database and engine per test.

Installed with idmflow as a pytest plugin (entry point `pytest11`), so a plugin package's
tests can use the fixtures without importing anything:

    def test_my_process(idmflow_engine):
        view = idmflow_engine.run("MyProcess", actor="operator", steps=[("next", {})])

`idmflow_url` is a fresh SQLite database in the test's temporary folder with the schema,
300 deterministic demo users (about 90 % active), the demo accounts `operator`, `approver`
and `admin`, and every registered process's default option script; `idmflow_engine` is an
engine over it; `idmflow_cli` runs `idmflow ...` against it and returns click's result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from idmflow.storage.database import connect
from idmflow.storage.demo import seed_accounts, seed_users

from idmflow.console.cli import main
from idmflow.engine import Engine
from idmflow.engine import open as open_engine
from idmflow.engine import upgrade_schema

DEMO_USERS = 300


def prepare_database(url: str, *, users: int = DEMO_USERS) -> str:
    """Create the schema, demo users and accounts, and install the default option scripts."""
    db = connect(url)
    upgrade_schema(db)
    seed_users(db, users)
    seed_accounts(db, dt.datetime.now(dt.timezone.utc))
    db.dispose()
    engine = open_engine(url)
    engine.scripts.install_defaults()
    engine.close()
    return url


@pytest.fixture
def idmflow_url(tmp_path: Path) -> str:
    """A fresh, prepared SQLite database for this test."""
    return prepare_database(f"sqlite:///{tmp_path / 'idmflow-test.db'}")


@pytest.fixture
def idmflow_engine(idmflow_url: str) -> Iterator[Engine]:
    """An engine over `idmflow_url`."""
    engine = open_engine(idmflow_url)
    yield engine
    engine.close()


@pytest.fixture
def idmflow_cli(idmflow_url: str) -> Callable[..., Any]:
    """Run `idmflow ARGS...` against `idmflow_url`; returns click's `Result`."""
    from click.testing import CliRunner

    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(main, ["--database-url", idmflow_url, *args])

    return run
