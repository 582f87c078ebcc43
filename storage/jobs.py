"""The jobs table: enqueue in the caller's transaction, claim with a lease, record the outcome.

Every function takes the caller's connection and does one short statement or two, so a worker
holds no transaction (and no SQLite write lock) while it runs a job. On PostgreSQL a claim
skips rows another worker is claiming (`FOR UPDATE SKIP LOCKED`), and an enqueue wakes the
workers listening on `CHANNEL` when its transaction commits.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from .models import jobs as t
from .records import aware, jsonable
from .models import workers as w

#: the LISTEN/NOTIFY channel that wakes workers on PostgreSQL
CHANNEL = "idmflow_jobs"
#: a job that may be claimed (a retry is claimed once its `run_at` has come)
READY = ("queued", "retrying")
#: a job that is over: it is never claimed again unless someone retries it
ENDED = ("succeeded", "dead", "cancelled")
STATES = ("queued", "running", "retrying", "succeeded", "dead", "cancelled")


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job as stored."""

    id: int
    kind: str
    queue: str
    key: str | None
    instance_id: int | None
    payload: dict[str, Any]
    state: str
    priority: int
    run_at: dt.datetime
    attempts: int
    max_attempts: int
    lease_owner: str | None
    lease_expires_at: dt.datetime | None
    last_error: str | None
    result: Any
    progress_done: int | None
    progress_total: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in asdict(self).items()}


_FIELDS = tuple(JobRow.__dataclass_fields__)


def _row(row: Any) -> JobRow:
    return JobRow(**{name: aware(getattr(row, name)) for name in _FIELDS})


def enqueue(conn: Connection, *, kind: str, queue: str, payload: dict[str, Any],
            now: dt.datetime, run_at: dt.datetime | None = None, priority: int = 0,
            max_attempts: int = 5, key: str | None = None,
            instance_id: int | None = None) -> tuple[int, bool]:
    """Queue a job in `conn`'s transaction: its id, and whether it is new.

    With a `key` that a job already has, nothing is added and that job's id is returned.
    """
    values = {"kind": kind, "queue": queue, "key": key, "instance_id": instance_id,
              "payload": payload, "state": "queued",
              "priority": priority, "run_at": run_at or now, "attempts": 0,
              "max_attempts": max_attempts, "created_at": now, "updated_at": now}
    if key is not None:
        existing = conn.execute(select(t.c.id).where(t.c.key == key)).scalar()
        if existing is not None:
            return int(existing), False
    try:
        with conn.begin_nested():
            job_id = int(conn.execute(insert(t).values(values).returning(t.c.id)).scalar_one())
    except IntegrityError:
        # Another transaction enqueued the same key since we looked: that job is the one.
        existing = conn.execute(select(t.c.id).where(t.c.key == key)).scalar()
        if key is None or existing is None:
            raise
        return int(existing), False
    notify(conn, queue)
    return job_id, True


def notify(conn: Connection, queue: str) -> None:
    """Wake listening workers when `conn`'s transaction commits (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, :queue)"),
                     {"channel": CHANNEL, "queue": queue})


def claim(conn: Connection, *, queues: Sequence[str] | None, owner: str, now: dt.datetime,
          lease: dt.timedelta, limit: int = 1) -> list[JobRow]:
    """Take up to `limit` due jobs for `owner` until `now + lease`, counting an attempt each.

    Most urgent first: lower priority, then earlier `run_at`, then older. The caller commits
    at once, before running them.
    """
    stmt = _claim_statement(conn.dialect.name, bool(queues))
    params: dict[str, Any] = {"now": now, "owner": owner, "until": now + lease, "limit": limit}
    if queues:
        params["queues"] = list(queues)
    return sorted((_row(r) for r in conn.execute(stmt, params)),
                  key=lambda j: (j.priority, j.run_at, j.id))


@functools.cache
def _claim_statement(dialect: str, by_queue: bool) -> Any:
    """The claim, built once: a worker runs it for every job, and building and keying a
    statement costs more than SQLite takes to run it."""
    now = bindparam("now", type_=t.c.run_at.type)
    due = (select(t.c.id).where(t.c.state.in_(READY), t.c.run_at <= now)
           .order_by(t.c.priority, t.c.run_at, t.c.id).limit(bindparam("limit")))
    if by_queue:
        due = due.where(t.c.queue.in_(bindparam("queues", expanding=True)))
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return (update(t).where(t.c.id.in_(due.scalar_subquery()))
            .values(state="running", lease_owner=bindparam("owner"),
                    lease_expires_at=bindparam("until", type_=t.c.run_at.type),
                    attempts=t.c.attempts + 1, updated_at=now, progress_done=None,
                    progress_total=None, started_at=func.coalesce(t.c.started_at, now))
            .returning(*t.c))


def progress(conn: Connection, job_id: int, owner: str, done: int, total: int) -> None:
    """Record how far a running attempt is."""
    conn.execute(update(t).where(_held(job_id, owner))
                 .values(progress_done=done, progress_total=total))


def latest_for(conn: Connection, instance_id: int, kind: str) -> JobRow | None:
    """The newest job of `kind` acting on the instance."""
    row = conn.execute(select(t).where(t.c.instance_id == instance_id, t.c.kind == kind)
                       .order_by(t.c.id.desc()).limit(1)).first()
    return None if row is None else _row(row)


def _held(job_id: int, owner: str) -> ColumnElement[bool]:
    return and_(t.c.id == job_id, t.c.state == "running", t.c.lease_owner == owner)


def extend(conn: Connection, owner: str, job_ids: Iterable[int], until: dt.datetime,
           now: dt.datetime) -> int:
    """Renew `owner`'s leases on these running jobs; how many it still held."""
    ids = list(job_ids)
    if not ids:
        return 0
    return conn.execute(update(t).where(t.c.id.in_(ids), t.c.state == "running",
                                        t.c.lease_owner == owner)
                        .values(lease_expires_at=until, updated_at=now)).rowcount


def succeed(conn: Connection, job_id: int, owner: str, result: Any, now: dt.datetime) -> bool:
    """Mark the job done with its result; False if `owner` no longer held it. An earlier
    attempt's error stays: it says what the job went through."""
    return conn.execute(_SUCCEED, {"job": job_id, "owner": owner, "result": result,
                                   "now": now}).rowcount == 1


_SUCCEED = update(t).where(t.c.id == bindparam("job"), t.c.state == "running",
                           t.c.lease_owner == bindparam("owner")).values(
    state="succeeded", result=bindparam("result", type_=t.c.result.type), lease_owner=None,
    lease_expires_at=None, finished_at=bindparam("now", type_=t.c.run_at.type),
    updated_at=bindparam("now", type_=t.c.run_at.type))


def fail(conn: Connection, job_id: int, owner: str, error: str, now: dt.datetime, *,
         retry_at: dt.datetime | None) -> bool:
    """Record a failed attempt: retried at `retry_at`, or dead when it is None."""
    return conn.execute(update(t).where(_held(job_id, owner)).values(
        _failed(error, now, retry_at))).rowcount == 1


def _failed(error: str, now: dt.datetime, retry_at: dt.datetime | None) -> dict[str, Any]:
    """The lease given up and the error kept; retried at `retry_at`, or dead when None."""
    values: dict[str, Any] = {"last_error": error[:4000], "lease_owner": None,
                              "lease_expires_at": None, "updated_at": now}
    if retry_at is None:
        values.update(state="dead", finished_at=now)
    else:
        values.update(state="retrying", run_at=retry_at)
    return values


def release(conn: Connection, job_id: int, owner: str, now: dt.datetime, note: str) -> bool:
    """Give a claimed job back to the queue (a worker stopping); its attempt stays counted."""
    return conn.execute(update(t).where(_held(job_id, owner)).values(
        state="queued", run_at=now, lease_owner=None, lease_expires_at=None,
        last_error=note, updated_at=now)).rowcount == 1


def expired(conn: Connection, now: dt.datetime, *, limit: int = 100) -> list[JobRow]:
    """Running jobs whose lease ran out: their worker died or hangs."""
    stmt = (select(t).where(t.c.state == "running", t.c.lease_expires_at < now)
            .order_by(t.c.lease_expires_at).limit(limit))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [_row(r) for r in conn.execute(stmt)]


def requeue_expired(conn: Connection, job: JobRow, now: dt.datetime, *,
                    retry_at: dt.datetime | None) -> bool:
    """Put an expired job back (or make it dead), saying whose lease ran out."""
    at = (f" at {100 * job.progress_done // job.progress_total} %"
          if job.progress_total and job.progress_done is not None else "")
    note = (f"attempt {job.attempts} was interrupted{at}: worker {job.lease_owner} stopped "
            f"renewing its lease (expired {job.lease_expires_at:%Y-%m-%d %H:%M:%S})")
    return conn.execute(update(t).where(t.c.id == job.id, t.c.state == "running",
                                        t.c.lease_owner == job.lease_owner)
                        .values(_failed(note, now, retry_at))).rowcount == 1


def retry(conn: Connection, job_ids: Sequence[int], now: dt.datetime) -> list[int]:
    """Queue these jobs to run now (dead, cancelled or waiting ones); the ids that were."""
    stmt = (update(t).where(t.c.id.in_(list(job_ids)),
                            t.c.state.in_(("dead", "cancelled", "retrying", "queued")))
            .values(state="queued", run_at=now, updated_at=now, finished_at=None,
                    max_attempts=func.max(t.c.max_attempts, t.c.attempts + 1)
                    if conn.dialect.name == "sqlite"
                    else func.greatest(t.c.max_attempts, t.c.attempts + 1))
            .returning(t.c.id, t.c.queue))
    rows = list(conn.execute(stmt))
    for queue in {r.queue for r in rows}:
        notify(conn, queue)
    return sorted(int(r.id) for r in rows)


def cancel(conn: Connection, job_ids: Sequence[int], now: dt.datetime) -> list[int]:
    """Cancel jobs that have not started (queued or waiting for a retry); the ids that were."""
    stmt = (update(t).where(t.c.id.in_(list(job_ids)), t.c.state.in_(READY))
            .values(state="cancelled", finished_at=now, updated_at=now).returning(t.c.id))
    return sorted(int(i) for i in conn.execute(stmt).scalars())


def get(conn: Connection, job_id: int) -> JobRow | None:
    row = conn.execute(select(t).where(t.c.id == job_id)).first()
    return None if row is None else _row(row)


def by_key(conn: Connection, key: str) -> JobRow | None:
    row = conn.execute(select(t).where(t.c.key == key)).first()
    return None if row is None else _row(row)


def find(conn: Connection, *, states: Sequence[str] | None = None, kind: str | None = None,
         limit: int | None = 50) -> tuple[list[JobRow], int]:
    """Jobs, dead ones first, then newest first; and how many match in all."""
    where: list[ColumnElement[bool]] = []
    if states:
        where.append(t.c.state.in_(list(states)))
    if kind is not None:
        where.append(t.c.kind == kind)
    dead_first = (t.c.state != "dead")
    stmt = select(t).where(*where).order_by(dead_first, t.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [_row(r) for r in conn.execute(stmt)]
    total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
    return rows, total


def counts(conn: Connection) -> dict[tuple[str, str], int]:
    """How many jobs of each (kind, state)."""
    stmt = select(t.c.kind, t.c.state, func.count()).group_by(t.c.kind, t.c.state)
    return {(kind, state): int(n) for kind, state, n in conn.execute(stmt)}


def oldest_due(conn: Connection, now: dt.datetime) -> dt.datetime | None:
    """When the longest-waiting due job became due (for queue latency)."""
    oldest: dt.datetime | None = conn.execute(select(func.min(t.c.run_at)).where(
        t.c.state.in_(READY), t.c.run_at <= now)).scalar()
    return aware(oldest)


# -- workers -------------------------------------------------------------------------------

def beat(conn: Connection, name: str, *, queues: Sequence[str], concurrency: int,
         now: dt.datetime, started: bool = False) -> None:
    """Record that worker `name` is alive (registering it when `started`)."""
    if started:
        conn.execute(delete(w).where(w.c.name == name))
        conn.execute(insert(w).values(name=name, queues=list(queues), concurrency=concurrency,
                                      started_at=now, heartbeat_at=now, stopped_at=None))
    else:
        conn.execute(update(w).where(w.c.name == name).values(heartbeat_at=now))


def stopped(conn: Connection, name: str, now: dt.datetime) -> None:
    conn.execute(update(w).where(w.c.name == name).values(stopped_at=now, heartbeat_at=now))


def last_beat(conn: Connection) -> dt.datetime | None:
    """The newest heartbeat of a worker still running."""
    newest: dt.datetime | None = conn.execute(select(func.max(w.c.heartbeat_at))
                                              .where(w.c.stopped_at.is_(None))).scalar()
    return aware(newest)

