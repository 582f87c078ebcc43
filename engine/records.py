"""Read models a host or interface lists: entities (cards), audit events, tasks, mail.

Storage builds the first three itself (`storage/records.py`) and they are exported from
here; the outbox's mail is read through `MailRecord`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from idmflow.storage.records import AuditRecord, EntityRecord, TaskView, jsonable

__all__ = ["AuditRecord", "EntityRecord", "MailRecord", "TaskView"]


@dataclass(frozen=True, slots=True)
class MailRecord:
    """A mail of the outbox, whatever its status."""

    id: int
    message_id: str
    recipients: list[str]
    subject: str
    text: str
    html: str | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    #: where it went: the SMTP server, or a local mailbox
    delivered_via: str | None = None
    #: an attempt's outcome was lost: the recipient may have it twice (same Message-ID)
    possible_duplicate: bool = False

    def to_json(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in asdict(self).items()}
