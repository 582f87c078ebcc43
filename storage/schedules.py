"""The schedules table: what each periodic job's cron is, and which period it last fired.

Firing a period is one short transaction: the due row is locked (skipping rows another
worker holds, on PostgreSQL), its job is enqueued under the key `schedule:NAME:PERIOD`, and
the row moves to its next period. The key makes a period fire once even if two workers get
there together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from .models import schedules as t
from .records import aware, jsonable


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    name: str
    kind: str
    cron: str
    source: str
    last_period_at: dt.datetime | None
    last_job_id: int | None
    next_run_at: dt.datetime
    updated_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in asdict(self).items()}


def _row(row: Any) -> ScheduleRow:
    return ScheduleRow(**{f: aware(getattr(row, f)) for f in ScheduleRow.__dataclass_fields__})


def all_rows(conn: Connection) -> list[ScheduleRow]:
    return [_row(r) for r in conn.execute(select(t).order_by(t.c.name))]


def put(conn: Connection, *, name: str, kind: str, cron: str, source: str,
        next_run_at: dt.datetime, now: dt.datetime) -> None:
    """Add a schedule, or give it a new cron (and the next run that follows from it).

    Workers starting together all add the engine's schedules: the one that loses the race
    for the row updates it instead.
    """
    if conn.execute(select(t.c.name).where(t.c.name == name)).first() is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(t).values(name=name, kind=kind, cron=cron, source=source,
                                              next_run_at=next_run_at, updated_at=now))
            return
        except IntegrityError:
            pass  # another worker added it since we looked
    conn.execute(update(t).where(t.c.name == name).values(
        kind=kind, cron=cron, source=source, next_run_at=next_run_at, updated_at=now))


def due(conn: Connection, now: dt.datetime) -> list[ScheduleRow]:
    """Schedules whose next run has come, locked for this transaction."""
    stmt = select(t).where(t.c.next_run_at <= now).order_by(t.c.next_run_at)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [_row(r) for r in conn.execute(stmt)]


def fired(conn: Connection, name: str, *, period: dt.datetime, job_id: int,
          next_run_at: dt.datetime, now: dt.datetime) -> None:
    conn.execute(update(t).where(t.c.name == name).values(
        last_period_at=period, last_job_id=job_id, next_run_at=next_run_at, updated_at=now))
