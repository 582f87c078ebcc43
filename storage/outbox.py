"""The mail outbox: written with what it reports, claimed by senders, marked sent or retried.

Senders claim due rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several senders over
one database never take the same mail; SQLite serialises writers anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from .models import outbox as t


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue mails (dicts of message_id, recipients, subject, text, html) as pending."""
    if rows:
        conn.execute(insert(t), [{"status": "pending", "attempts": 0, "last_error": None,
                                  "sent_at": None, **row} for row in rows])


def claim_due(conn: Connection, now: dt.datetime, *, limit: int) -> list[Row[Any]]:
    """Pending mails whose time has come, locked for this transaction (skipping taken ones)."""
    stmt = (select(t).where(t.c.status == "pending", t.c.next_attempt_at <= now)
            .order_by(t.c.next_attempt_at, t.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(conn.execute(stmt))


def mark_sent(conn: Connection, mail_id: int, now: dt.datetime) -> None:
    conn.execute(update(t).where(t.c.id == mail_id).values(
        status="sent", sent_at=now, attempts=t.c.attempts + 1, last_error=None))


def mark_retry(conn: Connection, mail_id: int, *, error: str, next_attempt_at: dt.datetime,
               give_up: bool) -> None:
    """Record a failed attempt: retried at `next_attempt_at`, or `failed` for good."""
    conn.execute(update(t).where(t.c.id == mail_id).values(
        status="failed" if give_up else "pending", attempts=t.c.attempts + 1,
        last_error=error[:2000], next_attempt_at=next_attempt_at))


def find_mail(conn: Connection, *, status: str | None = None, limit: int | None = None,
              mail_id: int | None = None) -> tuple[list[Row[Any]], int]:
    """Mails, newest first, and how many match in all."""
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(t.c.status == status)
    if mail_id is not None:
        where.append(t.c.id == mail_id)
    stmt = select(t).where(*where).order_by(t.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = list(conn.execute(stmt))
    total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
    return rows, total
