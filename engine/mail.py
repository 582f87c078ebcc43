"""Mail through the outbox: queued in the transaction of what it reports, delivered by jobs.

`enqueue` writes the mail with a fresh Message-ID and its delivery job in the caller's
transaction. A worker runs the job: it counts the attempt and marks the mail `sending` in a
short transaction, hands it to the `Notifier` (SMTP by default) with no transaction open, and
records `sent` in another. A failure is retried with the job's backoff and given up after
`MAX_ATTEMPTS`. Delivery is at least once: when a sender dies in the middle of a send, or
the connection breaks once the message is on its way (`DeliveryUncertain`), the mail is
marked `possible_duplicate` and sent again with the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from idmflow.storage import outbox
from idmflow.storage.database import write_transaction

from .jobs import JobContext, JobFailed, JobKind
from .ports import DeliveryUncertain, Notification
from .worker import Outcome

MAX_ATTEMPTS = 8
FIRST_RETRY = dt.timedelta(seconds=30)
LAST_RETRY = dt.timedelta(hours=1)
KIND = "mail"


def _deliver(ctx: JobContext) -> dict[str, Any]:
    mail_id = int(ctx.payload["mail"])
    notifier = ctx.host.notifier
    if notifier is None:
        raise JobFailed("this engine has no notifier to deliver mail with; open it with "
                        "idmflow.engine.open(), which wires SMTP (IDMFLOW_SMTP_URL)")
    with write_transaction(ctx.host.db) as conn:
        mail = outbox.get(conn, mail_id)
        if mail is None:
            raise JobFailed(f"mail {mail_id} is no longer in the outbox")
        if mail.status == "sent":
            return {"mail": mail_id, "already": "sent"}
        outbox.mark_sending(conn, mail_id, ctx.now())
    try:
        notifier.send(Notification(to=tuple(mail.recipients), subject=mail.subject,
                                   text=mail.text, html=mail.html,
                                   headers={"Message-ID": mail.message_id}))
    except Exception as exc:
        with write_transaction(ctx.host.db) as conn:
            outbox.mark_unsent(conn, mail_id, error=f"{type(exc).__name__}: {exc}",
                               possible_duplicate=isinstance(exc, DeliveryUncertain))
        raise
    with write_transaction(ctx.host.db) as conn:
        outbox.mark_sent(conn, mail_id, ctx.now(), via=str(notifier))
    return {"mail": mail_id, "to": list(mail.recipients)}


def _failed(conn: Connection, ctx: JobContext, error: str, retry_at: dt.datetime | None) -> None:
    outbox.mark_retry(conn, int(ctx.payload["mail"]), error=error,
                      next_attempt_at=retry_at or ctx.now(), give_up=retry_at is None)


DELIVER = JobKind(KIND, _deliver, queue="mail", max_attempts=MAX_ATTEMPTS,
                  lease=dt.timedelta(seconds=60), first_retry=FIRST_RETRY,
                  last_retry=LAST_RETRY, on_failure=_failed,
                  doc="Deliver one mail of the outbox through the notifier.")


def enqueue(conn: Connection, notification: Notification, now: dt.datetime) -> str:
    """Queue one mail and its delivery in `conn`'s transaction; returns its Message-ID."""
    from idmflow.storage import jobs

    message_id = f"<{uuid.uuid4().hex}@idmflow>"
    mail_id = outbox.enqueue(conn, {
        "message_id": message_id, "recipients": list(notification.to),
        "subject": notification.subject, "text": notification.text, "html": notification.html,
        "next_attempt_at": now, "created_at": now})
    jobs.enqueue(conn, kind=KIND, queue=DELIVER.queue, payload={"mail": mail_id}, now=now,
                 max_attempts=MAX_ATTEMPTS, key=f"mail:{message_id}")
    return message_id


@dataclass(slots=True)
class Delivery:
    """What one round of delivery did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Delivery:
        result = cls()
        for outcome in outcomes:
            if outcome.state == "succeeded":
                result.sent += 1
                continue
            result.retried += outcome.state == "retrying"
            result.failed += outcome.state == "dead"
            result.errors.append(f"mail {outcome.job.payload.get('mail')}: {outcome.error}")
        return result


def requeue(conn: Connection, mail_ids: Sequence[int], now: dt.datetime) -> list[int]:
    """Send these mails again now (failed ones, or pending ones before their time): their
    jobs are queued again (or made, for a mail that never had one). The ids requeued."""
    from idmflow.storage import jobs

    done: list[int] = []
    for mail_id in mail_ids:
        mail = outbox.get(conn, mail_id)
        if mail is None or mail.status in ("sent", "sending"):
            continue
        outbox.requeue(conn, [mail_id], now)
        job = jobs.by_key(conn, f"mail:{mail.message_id}")
        if job is None:
            jobs.enqueue(conn, kind=KIND, queue=DELIVER.queue, payload={"mail": mail_id},
                         now=now, max_attempts=MAX_ATTEMPTS, key=f"mail:{mail.message_id}")
        elif job.state != "running":
            jobs.retry(conn, [job.id], now)
        done.append(mail_id)
    return done
