"""Purging what has been kept long enough, in small chunks so no lock is held for long.

Each function deletes (or, with `dry_run`, counts) at most `chunk` rows per transaction and
loops until nothing more is due; the caller gives the cut-off times. Instances on hold, and
the audit events of instances on hold, are never purged. Cards outlive the instance that made
them: a purged instance's entities keep their rows, without the link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, String, delete, func, literal, select, update
from sqlalchemy.sql.elements import ColumnElement

from .models import audit_events as audit
from .models import entities, jobs, outbox, process_instances as instances, tasks, workers

Transaction = Callable[[], AbstractContextManager[Connection]]
CHUNK = 1000


def _chunks(transaction: Transaction, ids_of: Callable[[Connection], list[int]],
            remove: Callable[[Connection, list[int]], None], dry_run: bool) -> int:
    if dry_run:
        with transaction() as conn:
            return len(ids_of(conn))  # ids_of counts everything when asked with no limit
    done = 0
    while True:
        with transaction() as conn:
            ids = ids_of(conn)
            if not ids:
                return done
            remove(conn, ids)
            done += len(ids)


def ended_instances(transaction: Transaction, process: str, before: dt.datetime, *,
                    dry_run: bool = False, chunk: int = CHUNK) -> int:
    """Instances of `process` that ended before `before` and are not on hold, with their
    tasks and jobs; their entities stay, unlinked."""
    where = (instances.c.process == process, instances.c.ended_at.is_not(None),
             instances.c.ended_at < before, instances.c.held.is_(False))

    def ids_of(conn: Connection) -> list[int]:
        stmt = select(instances.c.id).where(*where).order_by(instances.c.id)
        return [int(i) for i in conn.execute(stmt if dry_run else stmt.limit(chunk)).scalars()]

    def remove(conn: Connection, ids: list[int]) -> None:
        conn.execute(update(entities).where(entities.c.instance_id.in_(ids))
                     .values(instance_id=None))
        conn.execute(delete(tasks).where(tasks.c.instance_id.in_(ids)))
        conn.execute(delete(jobs).where(jobs.c.instance_id.in_(ids)))
        conn.execute(delete(instances).where(instances.c.id.in_(ids)))

    return _chunks(transaction, ids_of, remove, dry_run)


def audit_events(transaction: Transaction, before: dt.datetime, *, process: str | None,
                 dry_run: bool = False, chunk: int = CHUNK) -> int:
    """Audit events older than `before`: of the instances of `process`, or (None) those of
    no instance still stored. Events of instances on hold stay."""
    held = select(instances.c.id).where(instances.c.held.is_(True))
    of_process = select(instances.c.id).where(instances.c.process == process)
    known = select(instances.c.id)
    where: list[ColumnElement[bool]] = [audit.c.at < before]
    if process is not None:
        where += [audit.c.instance_id.in_(of_process), audit.c.instance_id.not_in(held)]
    else:
        where.append((audit.c.instance_id.is_(None)) | audit.c.instance_id.not_in(known))

    def ids_of(conn: Connection) -> list[int]:
        stmt = select(audit.c.id).where(*where).order_by(audit.c.id)
        return [int(i) for i in conn.execute(stmt if dry_run else stmt.limit(chunk)).scalars()]

    def remove(conn: Connection, ids: list[int]) -> None:
        conn.execute(delete(audit).where(audit.c.id.in_(ids)))

    return _chunks(transaction, ids_of, remove, dry_run)


def sent_mail(transaction: Transaction, before: dt.datetime, *, dry_run: bool = False,
              chunk: int = CHUNK) -> int:
    """Mail sent before `before` (and its delivery jobs)."""
    def ids_of(conn: Connection) -> list[int]:
        stmt = (select(outbox.c.id).where(outbox.c.status == "sent", outbox.c.sent_at < before)
                .order_by(outbox.c.id))
        return [int(i) for i in conn.execute(stmt if dry_run else stmt.limit(chunk)).scalars()]

    def remove(conn: Connection, ids: list[int]) -> None:
        keys = [f"mail:{m}" for m in conn.execute(
            select(outbox.c.message_id).where(outbox.c.id.in_(ids))).scalars()]
        conn.execute(delete(jobs).where(jobs.c.key.in_(keys)))
        conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))

    return _chunks(transaction, ids_of, remove, dry_run)


def finished_jobs(transaction: Transaction, before: dt.datetime, *, dry_run: bool = False,
                  chunk: int = CHUNK) -> int:
    """Jobs that succeeded or were cancelled before `before` (dead ones stay for admins);
    a mail's job stays while its mail does."""
    mail_keys = select(literal("mail:", String) + outbox.c.message_id)

    def ids_of(conn: Connection) -> list[int]:
        stmt = (select(jobs.c.id).where(jobs.c.state.in_(("succeeded", "cancelled")),
                                        jobs.c.finished_at < before,
                                        jobs.c.key.is_(None) | jobs.c.key.not_in(mail_keys))
                .order_by(jobs.c.id))
        return [int(i) for i in conn.execute(stmt if dry_run else stmt.limit(chunk)).scalars()]

    def remove(conn: Connection, ids: list[int]) -> None:
        conn.execute(delete(jobs).where(jobs.c.id.in_(ids)))

    return _chunks(transaction, ids_of, remove, dry_run)


def silent_workers(transaction: Transaction, before: dt.datetime, *, dry_run: bool = False
                   ) -> int:
    """Workers not heard of since `before`."""
    with transaction() as conn:
        if dry_run:
            return int(conn.execute(select(func.count()).select_from(workers)
                                    .where(workers.c.heartbeat_at < before)).scalar_one())
        return int(conn.execute(delete(workers).where(workers.c.heartbeat_at < before)).rowcount)


