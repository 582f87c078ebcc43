"""Creating and upgrading the schema with Alembic, from inside the installed package.

An upgrade runs the versioned migrations and then makes the declared invariants' indexes
(`storage.invariants`), all in one transaction: the invariants come from the installed
processes, which a versioned file cannot know, and a plugin installed later gets its
indexes from the next `idmflow init`.

Every command checks that the database is at this release's schema; that check reads the
`alembic_version` table and the revision ids of the version files directly, because
importing Alembic costs more than the rest of a quick command (`idmflow cards list`).
Upgrading uses Alembic itself; a test checks both ways find the same head.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from .invariants import UniqueIndex

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _revisions() -> dict[str, str | None]:
    """revision -> down_revision, from each version file's two assignments."""
    found: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        values = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id in ("revision", "down_revision")):
                values[node.targets[0].id] = ast.literal_eval(node.value)
        if "revision" in values:
            found[str(values["revision"])] = values.get("down_revision")
    return found


_HEAD: list[str] = []
#: CPython 3.11's `ast.parse` can fail ("AST constructor recursion depth mismatch") when
#: threads parse at once, as engines opened together do: parse once per process
_HEAD_LOCK = threading.Lock()


def head() -> str:
    """The newest revision this release knows: the one no other revision follows."""
    with _HEAD_LOCK:
        if not _HEAD:
            revisions = _revisions()
            heads = sorted(set(revisions) - {down for down in revisions.values() if down})
            if len(heads) != 1:
                raise RuntimeError(f"the migrations of this release have {len(heads)} heads "
                                   f"({', '.join(heads)}), not one; merge them")
            _HEAD.append(heads[0])
        return _HEAD[0]


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine, invariants: Sequence[UniqueIndex] = (), *, to: str = "head"
            ) -> tuple[str | None, str]:
    """Create or upgrade the schema to revision `to` (the newest) and hold `invariants`.

    Returns (before, after). Raises `InvariantsBroken` (nothing changed) when rows already
    break an invariant whose index is missing.
    """
    from alembic import command

    before = current(engine)
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        config.attributes["invariants"] = tuple(invariants)
        command.upgrade(config, to)
    return before, head() if to == "head" else to
