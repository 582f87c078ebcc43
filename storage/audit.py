"""The append-only audit log: writing events one by one or set-based, and reading history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, literal, select

from .database import write_transaction
from .entities import Selection
from .models import accounts, audit_events, entities
from .records import AuditRecord, record_of


def event(*, at: dt.datetime, actor: str, subject_kind: str, subject_id: int,
          instance_id: int | None, trigger: str, source: str | None, dest: str | None,
          reason: str | None = None, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One audit event as `record` takes it: the one place its columns are spelt out."""
    row: dict[str, Any] = {"at": at, "actor": actor, "subject_kind": subject_kind,
                           "subject_id": subject_id, "instance_id": instance_id,
                           "trigger": trigger, "source": source, "dest": dest,
                           "reason": reason}
    if data is not None:
        row["data"] = dict(data)
    return row


def record(conn: Connection, events: Sequence[dict[str, Any]]) -> None:
    """Append events (made by `event`) in one statement."""
    if events:
        conn.execute(insert(audit_events), list(events))


def record_entity_moves(conn: Connection, selection: Selection, *, at: dt.datetime,
                        actor: str, trigger: str, dest: str, instance_id: int | None,
                        reason: str | None, source: str | None = None) -> None:
    """One event per selected entity; the source is `source` or its current state.

    Run before the UPDATE that moves them: one INSERT ... SELECT, no row crosses to Python.
    """
    src = select(
        literal(at, audit_events.c.at.type), literal(actor), entities.c.kind, entities.c.id,
        literal(instance_id, audit_events.c.instance_id.type), literal(trigger),
        entities.c.state if source is None else literal(source),
        literal(dest), literal(reason, audit_events.c.reason.type),
    ).where(*selection.where())
    conn.execute(insert(audit_events).from_select(
        ["at", "actor", "subject_kind", "subject_id", "instance_id", "trigger", "source", "dest",
         "reason"], src))


def history(conn: Connection, *, subject_kind: str | None = None, subject_id: int | None = None,
            instance_id: int | None = None, actor: str | None = None,
            limit: int | None = None) -> list[AuditRecord]:
    """Events matching every given filter, in the order they happened."""
    stmt = select(audit_events).order_by(audit_events.c.id)
    if subject_kind is not None:
        stmt = stmt.where(audit_events.c.subject_kind == subject_kind)
    if subject_id is not None:
        stmt = stmt.where(audit_events.c.subject_id == subject_id)
    if instance_id is not None:
        stmt = stmt.where(audit_events.c.instance_id == instance_id)
    if actor is not None:
        stmt = stmt.where(audit_events.c.actor == actor)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [record_of(AuditRecord, row) for row in conn.execute(stmt)]


def latest(conn: Connection, subject_kind: str, subject_id: int, trigger: str
           ) -> Row[Any] | None:
    """The newest event of one subject with `trigger` (with its `data`), or None."""
    return conn.execute(select(audit_events).where(
        audit_events.c.subject_kind == subject_kind, audit_events.c.subject_id == subject_id,
        audit_events.c.trigger == trigger).order_by(audit_events.c.id.desc()).limit(1)).first()


def last_moves(conn: Connection, subject_kind: str, ids: Sequence[int]
               ) -> dict[int, AuditRecord]:
    """The newest event of each subject, by id (to say who decided a card already)."""
    rows = conn.execute(select(audit_events).where(
        audit_events.c.subject_kind == subject_kind, audit_events.c.subject_id.in_(list(ids)))
        .order_by(audit_events.c.id))
    return {row.subject_id: record_of(AuditRecord, row) for row in rows}


def record_account_event(engine: Engine, *, at: dt.datetime, actor: str, trigger: str,
                         account: str, client: str | None = None, reason: str | None = None,
                         subject_kind: str = "account", subject_id: int | None = None,
                         data: dict[str, Any] | None = None) -> None:
    """One security event (login, failure, lock, logout, account change, script save).

    The subject is the account's row (0 for a name with no row: unknown, or a host's);
    `data` keeps the account name and the client address, which a row id cannot.
    """
    with write_transaction(engine) as conn:
        if subject_id is None:
            subject_id = conn.execute(select(accounts.c.id)
                                      .where(accounts.c.username == account)).scalar() or 0
        record(conn, [event(at=at, actor=actor[:100], subject_kind=subject_kind,
                            subject_id=subject_id, instance_id=None, trigger=trigger,
                            source=None, dest=None, reason=reason,
                            data={"account": account[:100], "client": client,
                                  **(data or {})})])
