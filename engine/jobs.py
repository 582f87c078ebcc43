"""Background work: job kinds, and enqueueing them in the transaction that causes them.

A job is enqueued with the state change it follows (the outbox, generalised): the mail of a
decision, a long step, a call to an outside system. If the transaction rolls back, the job
never existed; if it commits, a worker (`idmflow worker`, or the one `idmflow serve` embeds)
runs it at least once. Side effects are made effectively once by the job's own idempotency:
a mail's Message-ID, a request's reference.

`JobQueue` is the small interface between enqueueing and running: the default keeps jobs in
idmflow's own tables (`storage.jobs`) and `engine.worker` runs them; a host that has its own
queue can hand them there instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine as SqlEngine

from idmflow.storage import jobs as store
from idmflow.storage import schedules as store_schedules
from idmflow.storage.database import write_transaction
from idmflow.storage.jobs import JobRow

from .errors import IdmflowError, InputError, NotFound
from .ports import Clock, Notifier
from .schedules import Schedule, ScheduleRow, Schedules

__all__ = ["JobContext", "JobFailed", "JobHost", "JobKind", "JobQueue", "JobRow", "Jobs",
           "backoff", "require_json"]


class JobHost(Protocol):
    """What a job sees of the engine that runs it (read when the job runs, not before)."""

    db: SqlEngine
    clock: Clock
    notifier: Notifier | None


@dataclass(frozen=True, slots=True)
class JobContext:
    """One attempt at one job."""

    job: JobRow
    host: JobHost
    on_progress: Callable[[int, int], None] | None = None

    def progress(self, done: int, total: int) -> None:
        """Report how far this attempt is (a page of the console may be showing it)."""
        if self.on_progress is not None:
            self.on_progress(done, total)

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    @property
    def attempt(self) -> int:
        """1 for the first attempt."""
        return self.job.attempts

    @property
    def last_attempt(self) -> bool:
        return self.job.attempts >= self.job.max_attempts

    def now(self) -> dt.datetime:
        return self.host.clock.now()


class JobFailed(IdmflowError):
    """Raised by a job that must not be retried (bad payload, a refusal that will not pass)."""


def backoff(attempt: int, *, first: dt.timedelta, last: dt.timedelta,
            rng: Callable[[], float] = random.random) -> dt.timedelta:
    """How long to wait after the `attempt`-th failure: `first`, doubled each time, at most
    `last`, less up to a fifth at random so that jobs failing together spread out."""
    delay: dt.timedelta = min(first * 2 ** max(attempt - 1, 0), last)
    return delay * (1 - 0.2 * rng())


@dataclass(frozen=True, slots=True)
class JobKind:
    """A kind of job: what runs it and how often it is tried.

    `run` gets a `JobContext` and returns a plain-JSON result (kept with the job) or raises:
    any exception is retried with backoff until `max_attempts`, `JobFailed` ends the job at
    once. `run` holds no transaction while it does outside I/O. `on_failure(conn, ctx, error,
    retry_at)` records a failure in the job's own tables, in the transaction that records it
    in the job (`retry_at` is None when the job is given up).
    """

    name: str
    run: Callable[[JobContext], Any]
    queue: str = "default"
    max_attempts: int = 5
    #: how long a worker may run one attempt without renewing its lease
    lease: dt.timedelta = dt.timedelta(seconds=60)
    first_retry: dt.timedelta = dt.timedelta(seconds=30)
    last_retry: dt.timedelta = dt.timedelta(hours=1)
    on_failure: Callable[[Connection, JobContext, str, dt.datetime | None], None] | None = None
    doc: str = ""

    def retry_at(self, attempt: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after `attempt` failed, or None when it was the last."""
        if attempt >= self.max_attempts:
            return None
        return now + backoff(attempt, first=self.first_retry, last=self.last_retry)


class JobQueue(Protocol):
    """Where enqueued jobs go; the default is idmflow's `jobs` table."""

    def enqueue(self, conn: Connection, kind: JobKind, payload: Mapping[str, Any], *,
                now: dt.datetime, run_at: dt.datetime | None, priority: int,
                key: str | None, instance_id: int | None) -> int:
        """Queue one job in `conn`'s transaction; its id (an existing job's, for a known key)."""
        ...


class TableQueue:
    """Jobs in idmflow's own `jobs` table, run by `Worker`s over the database."""

    def enqueue(self, conn: Connection, kind: JobKind, payload: Mapping[str, Any], *,
                now: dt.datetime, run_at: dt.datetime | None, priority: int,
                key: str | None, instance_id: int | None) -> int:
        job_id, _new = store.enqueue(conn, kind=kind.name, queue=kind.queue,
                                     payload=dict(payload), now=now, run_at=run_at,
                                     priority=priority, max_attempts=kind.max_attempts, key=key,
                                     instance_id=instance_id)
        return job_id


@dataclass
class Jobs:
    """The job kinds an engine knows, and enqueueing, listing, retrying and cancelling jobs."""

    host: JobHost
    queue: JobQueue = field(default_factory=TableQueue)
    kinds: dict[str, JobKind] = field(default_factory=dict)
    #: how far each job running in this process is, by id (what workers here report)
    live: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: called after a job is committed by `enqueue`: workers in this process wake at once
    listeners: list[Callable[[], None]] = field(default_factory=list)
    schedules: Schedules = field(default_factory=Schedules)
    #: each schedule's effective cron and where it comes from (the engine reads options)
    crons: Callable[[], Mapping[str, tuple[str, str]]] = dict

    def schedule(self, schedule: Schedule, *, process: str | None = None) -> None:
        """Add a periodic job (the engine's own, a process's, or a host's)."""
        self.schedules.add(schedule, process=process)

    def sync_schedules(self) -> None:
        """Store the declared schedules with their effective crons (firing nothing)."""
        if self.schedules.declared:
            crons = self.crons()
            with write_transaction(self.host.db) as conn:
                self.schedules.sync(conn, self.host.clock.now(), crons)

    def tick(self) -> list[tuple[str, int]]:
        """Store the schedules and fire what is due, in one short transaction; what fired."""
        if not self.schedules.declared:
            return []
        crons = self.crons()
        with write_transaction(self.host.db) as conn:
            now = self.host.clock.now()
            self.schedules.sync(conn, now, crons)

            def enqueue(row: ScheduleRow, payload: Mapping[str, Any], key: str) -> int:
                spec = self.kinds.get(row.kind) or JobKind(row.kind, _unknown)
                return self.queue.enqueue(conn, spec, payload, now=now, run_at=None,
                                          priority=0, key=key, instance_id=None)

            return self.schedules.fire_due(conn, now, enqueue)

    def schedule_rows(self) -> list[ScheduleRow]:
        """Every stored schedule with its last and next run (stored at the first tick)."""
        with self.host.db.connect() as conn:
            return store_schedules.all_rows(conn)

    def register(self, kind: JobKind) -> None:
        """Add a kind (the engine's own, a process's, or a host's)."""
        known = self.kinds.get(kind.name)
        if known is not None and known is not kind:
            raise IdmflowError(f"job kind {kind.name!r} is registered twice; give one of "
                               "them another name")
        self.kinds[kind.name] = kind

    def kind(self, name: str) -> JobKind:
        try:
            return self.kinds[name]
        except KeyError:
            known = ", ".join(sorted(self.kinds)) or "none"
            raise NotFound(f"no job kind {name!r} (known: {known})") from None

    def enqueue(self, kind: str, payload: Mapping[str, Any] | None = None, *,
                conn: Connection | None = None, run_at: dt.datetime | None = None,
                priority: int = 0, key: str | None = None,
                instance_id: int | None = None) -> int:
        """Queue a job: in `conn`'s transaction when given (what the step changes and the job
        commit together), else in a transaction of its own. Returns the job's id."""
        spec = self.kind(kind)
        payload = dict(payload or {})
        require_json(payload)
        with self._within(conn) as c:
            job_id = self.queue.enqueue(c, spec, payload, now=self.host.clock.now(),
                                        run_at=run_at, priority=priority, key=key,
                                        instance_id=instance_id)
        if conn is None:
            for wake in list(self.listeners):
                wake()
        return job_id

    def latest_for(self, instance_id: int, kind: str) -> JobRow | None:
        """The newest job of `kind` acting on the instance, with the progress this process
        knows of if it runs here."""
        with self.host.db.connect() as conn:
            job = store.latest_for(conn, instance_id, kind)
        live = None if job is None else self.live.get(job.id)
        if job is not None and live is not None:
            job = dataclasses.replace(job, progress_done=live[0], progress_total=live[1])
        return job

    def get(self, job_id: int) -> JobRow:
        with self.host.db.connect() as conn:
            job = store.get(conn, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}; `idmflow jobs list` shows the jobs")
        return job

    def find(self, *, states: Sequence[str] | None = None, kind: str | None = None,
             limit: int | None = 50) -> tuple[list[JobRow], int]:
        """Jobs, dead ones first, then newest first; and how many match in all."""
        bad = [s for s in states or () if s not in store.STATES]
        if bad:
            raise InputError(f"unknown job state {bad[0]!r}; use one of "
                             f"{', '.join(store.STATES)}")
        with self.host.db.connect() as conn:
            return store.find(conn, states=states, kind=kind, limit=limit)

    def retry(self, job_ids: Sequence[int]) -> list[int]:
        """Run these jobs again now (dead, cancelled or waiting ones); the ids queued."""
        with write_transaction(self.host.db) as conn:
            return store.retry(conn, job_ids, self.host.clock.now())

    def cancel(self, job_ids: Sequence[int]) -> list[int]:
        """Cancel jobs that have not started; the ids cancelled."""
        with write_transaction(self.host.db) as conn:
            return store.cancel(conn, job_ids, self.host.clock.now())

    @contextmanager
    def _within(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
            return
        with write_transaction(self.host.db) as own:
            yield own


def _unknown(ctx: JobContext) -> None:
    raise JobFailed(f"no job kind {ctx.job.kind!r} here")


def require_json(payload: Mapping[str, Any]) -> None:
    """A payload is plain JSON (it is stored, and read by another process)."""
    import json

    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"a job's payload must be plain JSON (str, int, float, bool, None, "
                         f"lists and dicts with str keys): {exc}") from exc
