"""Process instance rows: insert, load, and the optimistic-lock update."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from .models import process_instances as t


@dataclass(frozen=True, slots=True)
class InstanceRow:
    """A process instance row as stored (the engine's `InstanceView` adds its triggers)."""

    id: int
    process: str
    #: the definition version it started under
    process_version: str
    state: str
    version: int
    idempotency_key: str | None
    request_digest: str | None
    started_by: str
    options_version: str
    options: dict[str, Any]
    data: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    ended_at: dt.datetime | None
    #: on hold: kept past its retention
    held: bool = False


_FIELDS = tuple(InstanceRow.__dataclass_fields__)


def _instance(row: Row[Any] | None) -> InstanceRow | None:
    return None if row is None else InstanceRow(**{f: getattr(row, f) for f in _FIELDS})


def insert_instance(conn: Connection, **values: Any) -> int:
    """Insert a new instance at version 1; returns its id."""
    return int(conn.execute(insert(t).values(version=1, **values).returning(t.c.id)).scalar_one())


def load_instance(conn: Connection, instance_id: int) -> InstanceRow | None:
    """The instance, or None."""
    return _instance(conn.execute(select(t).where(t.c.id == instance_id)).first())


def find_by_key(conn: Connection, process: str, key: str) -> InstanceRow | None:
    """The instance of `process` started with idempotency key `key`, or None."""
    return _instance(conn.execute(
        select(t).where(t.c.process == process, t.c.idempotency_key == key)).first())


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


def set_held(conn: Connection, instance_id: int, held: bool, now: dt.datetime) -> bool:
    """Put an instance on hold or release it; False when there is no such instance."""
    return conn.execute(update(t).where(t.c.id == instance_id)
                        .values(held=held, updated_at=now)).rowcount == 1

