"""Option script versions: append a version, read the newest or any, list the history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from . import locks
from .models import script_versions as t


@dataclass(frozen=True, slots=True)
class ScriptRow:
    """One stored version of an option script (`source` None where it was not read)."""

    id: int
    name: str
    version: int
    author: str
    comment: str
    created_at: dt.datetime
    values: dict[str, Any]
    rules: dict[str, Any]
    source: str | None


def _script(row: Row[Any] | None) -> ScriptRow | None:
    if row is None:
        return None
    return ScriptRow(row.id, row.name, row.version, row.author, row.comment, row.created_at,
                     row.values, row.rules, getattr(row, "source", None))


def latest(conn: Connection, name: str) -> ScriptRow | None:
    """The active (newest) version of script `name`, or None when none is stored."""
    return _script(conn.execute(select(t).where(t.c.name == name)
                                .order_by(t.c.version.desc()).limit(1)).first())


def get(conn: Connection, name: str, version: int) -> ScriptRow | None:
    """Version `version` of script `name`, or None."""
    return _script(conn.execute(
        select(t).where(t.c.name == name, t.c.version == version)).first())


def history(conn: Connection, name: str) -> list[ScriptRow]:
    """Every version of `name`, oldest first, without the source."""
    cols = [c for c in t.c if c.name != "source"]
    return [row for row in map(_script, conn.execute(
        select(*cols).where(t.c.name == name).order_by(t.c.version))) if row is not None]


def lock(conn: Connection, name: str) -> None:
    """Hold script `name` until the transaction ends: what the holder read stays newest."""
    locks.hold(conn, f"script_versions:{name}")


def append(conn: Connection, name: str, *, source: str, values: dict[str, Any],
           rules: dict[str, Any], author: str, comment: str, now: dt.datetime) -> ScriptRow:
    """Store the next version of `name`. Hold `lock(conn, name)` first: then two racing
    saves queue on it and the later one takes the next number, not the same one."""
    current = conn.execute(select(func.max(t.c.version)).where(t.c.name == name)).scalar()
    row_id = conn.execute(insert(t).values(
        name=name, version=(current or 0) + 1, source=source, values=values, rules=rules,
        author=author, comment=comment, created_at=now).returning(t.c.id)).scalar_one()
    row = _script(conn.execute(select(t).where(t.c.id == row_id)).first())
    assert row is not None
    return row
