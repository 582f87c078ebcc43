"""Creating and upgrading the schema with Alembic, from inside the installed package.

An upgrade runs the versioned migrations and then makes the declared invariants' indexes
(`storage.invariants`), all in one transaction: the invariants come from the installed
processes, which a versioned file cannot know, and a plugin installed later gets its
indexes from the next `idmflow init`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from .invariants import UniqueIndex

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The newest revision this release knows."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, invariants: Sequence[UniqueIndex] = (), *, to: str = "head"
            ) -> tuple[str | None, str]:
    """Create or upgrade the schema to revision `to` (the newest) and hold `invariants`.

    Returns (before, after). Raises `InvariantsBroken` (nothing changed) when rows already
    break an invariant whose index is missing.
    """
    before = current(engine)
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        config.attributes["invariants"] = tuple(invariants)
        command.upgrade(config, to)
    return before, head() if to == "head" else to
