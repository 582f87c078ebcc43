"""Mail through the outbox: queued in the transaction of what it reports, delivered later.

`enqueue` writes the mail with a fresh Message-ID in the caller's transaction. `deliver_due`
claims what is due (skipping rows another sender holds), hands each to the `Notifier`
(SMTP by default), and marks it sent; a failure is retried with exponential backoff and
given up after `MAX_ATTEMPTS`. Delivery is at least once: a crash between the server's OK
and the commit sends the mail again, with the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine as SqlEngine

from idmflow.storage import outbox
from idmflow.storage.database import write_transaction

from .ports import Clock, Notification, Notifier

MAX_ATTEMPTS = 8
FIRST_RETRY = dt.timedelta(seconds=30)
LAST_RETRY = dt.timedelta(hours=1)


def one_line(value: str) -> str:
    """A header value on one line: a line break in a reject reason must not break the mail."""
    return " ".join(value.split())


def enqueue(conn: Connection, notification: Notification, now: dt.datetime) -> str:
    """Queue one mail in `conn`'s transaction; returns its Message-ID."""
    message_id = f"<{uuid.uuid4().hex}@idmflow>"
    outbox.enqueue(conn, [{
        "message_id": message_id, "recipients": [one_line(r) for r in notification.to],
        "subject": one_line(notification.subject), "text": notification.text, "html": notification.html,
        "next_attempt_at": now, "created_at": now}])
    return message_id


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failure: 30 s, 1 min, 2 min, ... at most 1 h."""
    delay: dt.timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(delay, LAST_RETRY)


@dataclass(slots=True)
class Delivery:
    """What one round of delivery did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(db: SqlEngine, notifier: Notifier, clock: Clock, *, limit: int = 100
                ) -> Delivery:
    """Deliver every due mail once (one transaction per mail, so one failure stays local)."""
    result = Delivery()
    for _ in range(limit):
        with write_transaction(db) as conn:
            now = clock.now()
            rows = outbox.claim_due(conn, now, limit=1)
            if not rows:
                break
            row = rows[0]
            try:
                notifier.send(Notification(to=tuple(row.recipients), subject=row.subject,
                                           text=row.text, html=row.html,
                                           headers={"Message-ID": row.message_id}))
            except Exception as exc:  # any delivery failure: keep the mail, retry later
                attempts = row.attempts + 1
                give_up = attempts >= MAX_ATTEMPTS
                outbox.mark_retry(conn, row.id, error=f"{type(exc).__name__}: {exc}",
                                  next_attempt_at=now + backoff(attempts), give_up=give_up)
                result.failed += give_up
                result.retried += not give_up
                result.errors.append(f"mail {row.id} to {', '.join(row.recipients)}: "
                                     f"{type(exc).__name__}: {exc}")
                continue
            outbox.mark_sent(conn, row.id, now)
            result.sent += 1
    return result
