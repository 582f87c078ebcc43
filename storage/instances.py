"""Process instance rows: insert, load, and the optimistic-lock update."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from .models import process_instances as t


def insert_instance(conn: Connection, **values: Any) -> int:
    """Insert a new instance at version 1; returns its id."""
    return int(conn.execute(insert(t).values(version=1, **values).returning(t.c.id)).scalar_one())


def load_instance(conn: Connection, instance_id: int) -> Row[Any] | None:
    """The instance row, or None."""
    return conn.execute(select(t).where(t.c.id == instance_id)).first()


def find_by_key(conn: Connection, process: str, key: str) -> Row[Any] | None:
    """The instance of `process` started with idempotency key `key`, or None."""
    return conn.execute(select(t).where(t.c.process == process, t.c.idempotency_key == key)).first()


def update_instance(conn: Connection, instance_id: int, *, expected_version: int, state: str,
                    data: dict[str, Any], now: dt.datetime, ended: bool) -> bool:
    """Write the new state if nobody else wrote since `expected_version`; False otherwise."""
    result = conn.execute(
        update(t).where(t.c.id == instance_id, t.c.version == expected_version)
        .values(state=state, data=data, version=expected_version + 1, updated_at=now,
                ended_at=now if ended else None))
    return result.rowcount == 1


def update_options(conn: Connection, instance_id: int, *, expected_version: int,
                   options_version: str, options: dict[str, Any], now: dt.datetime) -> bool:
    """Move an instance to other option values if nobody wrote since `expected_version`."""
    result = conn.execute(
        update(t).where(t.c.id == instance_id, t.c.version == expected_version)
        .values(options_version=options_version, options=options,
                version=expected_version + 1, updated_at=now))
    return result.rowcount == 1


def list_instances(conn: Connection, *, process: str | None = None, started_by: str | None = None,
                   limit: int | None = None) -> list[Row[Any]]:
    """Instances, oldest first, without their (possibly large) data."""
    cols = [c for c in t.c if c.name != "data"]
    stmt = select(*cols).order_by(t.c.id)
    if process:
        stmt = stmt.where(t.c.process == process)
    if started_by:
        stmt = stmt.where(t.c.started_by == started_by)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt))
