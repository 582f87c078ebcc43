"""Read models a host or interface lists: entities (cards) and audit events, as plain data."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


@dataclass(frozen=True, slots=True)
class EntityRecord:
    """An entity (a card) as stored."""

    id: int
    kind: str
    subject: str
    type: str
    state: str
    instance_id: int | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


_ENTITY_FIELDS = tuple(EntityRecord.__dataclass_fields__)


def entity_record(row: Any) -> EntityRecord:
    """An entity row as an `EntityRecord`."""
    return EntityRecord(**{name: getattr(row, name) for name in _ENTITY_FIELDS})


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit event: who moved what from where to where, when and why."""

    id: int
    at: dt.datetime
    actor: str
    subject_kind: str
    subject_id: int
    instance_id: int | None
    trigger: str
    source: str | None
    dest: str | None
    reason: str | None
    #: facts beyond the columns, e.g. a login's account name and client address
    data: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class TaskView:
    """A human task as its form and lists show it."""

    id: int
    instance_id: int
    process: str
    kind: str
    role: str
    status: str
    title: str
    requested_by: str
    payload: dict[str, Any]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    decided_by: str | None
    decision: str | None
    reason: str | None

    @property
    def is_open(self) -> bool:
        """Open or postponed: it stays in the approvers' list until closed."""
        return self.status != "done"

    def to_json(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


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
        return {k: _jsonable(v) for k, v in asdict(self).items()}
