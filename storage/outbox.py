"""The mail outbox: written with what it reports, marked sending, sent or retried.

Each mail has a delivery job (`storage.jobs`, kind `mail`); the job's claim is what keeps two
senders off one mail. The outbox row is what people read: status, attempts, last error,
where it went.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from .models import outbox as t


def enqueue(conn: Connection, row: dict[str, Any]) -> int:
    """Queue a mail (message_id, recipients, subject, text, html) as pending; its id."""
    return int(conn.execute(insert(t).values(
        {"status": "pending", "attempts": 0, "last_error": None, "sent_at": None,
         "possible_duplicate": False, **row})
        .returning(t.c.id)).scalar_one())


def get(conn: Connection, mail_id: int) -> Row[Any] | None:
    return conn.execute(select(t).where(t.c.id == mail_id)).first()


def mark_sending(conn: Connection, mail_id: int, now: dt.datetime) -> None:
    """Count an attempt before the send, so a send whose outcome is lost stays visible."""
    conn.execute(update(t).where(t.c.id == mail_id).values(
        status="sending", attempts=t.c.attempts + 1, next_attempt_at=now))


def mark_unsent(conn: Connection, mail_id: int, *, error: str, possible_duplicate: bool) -> None:
    """The send raised: back to pending (its job decides when to retry)."""
    values: dict[str, Any] = {"status": "pending", "last_error": error[:2000]}
    if possible_duplicate:
        values["possible_duplicate"] = True
    conn.execute(update(t).where(t.c.id == mail_id, t.c.status == "sending").values(values))


def mark_sent(conn: Connection, mail_id: int, now: dt.datetime, *, via: str) -> None:
    """Sent; the last failed attempt's error stays for the record."""
    conn.execute(update(t).where(t.c.id == mail_id).values(
        status="sent", sent_at=now, delivered_via=via[:300]))


def requeue(conn: Connection, mail_ids: Sequence[int], now: dt.datetime) -> None:
    """Failed or waiting mails back to pending, due now (their jobs are retried alike)."""
    conn.execute(update(t).where(t.c.id.in_(list(mail_ids)), t.c.status != "sent")
                 .values(status="pending", next_attempt_at=now))


def mark_retry(conn: Connection, mail_id: int, *, error: str, next_attempt_at: dt.datetime,
               give_up: bool) -> None:
    """Record a failed attempt (counted when it began): retried at `next_attempt_at`, or
    `failed` for good. A mail still `sending` lost its sender in the middle of the send:
    it is marked as a possible duplicate."""
    conn.execute(update(t).where(t.c.id == mail_id, t.c.status != "sent").values(
        status="failed" if give_up else "pending", last_error=error[:2000],
        next_attempt_at=next_attempt_at,
        possible_duplicate=t.c.possible_duplicate | (t.c.status == "sending")))


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
