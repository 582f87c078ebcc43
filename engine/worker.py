"""A worker: claims due jobs, runs them outside any transaction, records what happened.

Each job goes claim (a short transaction that takes a lease and counts the attempt, then
commits) -> run (the job's own I/O: SMTP, a CA, a step over 100,000 rows, with no lock of ours
held) -> record (a short transaction: succeeded, retried later, or dead). While a job runs, a
heartbeat renews its lease; a job whose lease ran out (its worker was killed or hangs) is put
back by any worker's reaper. On PostgreSQL workers wake on `LISTEN` as soon as a job is
committed; otherwise they poll. Workers are stateless: start as many as you like over one
PostgreSQL, or one beside SQLite (`idmflow serve` embeds one).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from idmflow.storage import jobs as store
from idmflow.storage.database import write_transaction
from idmflow.storage.jobs import JobRow

from .errors import IdmflowError
from .jobs import JobContext, JobFailed, JobKind, Jobs, require_json

log = logging.getLogger(__name__)

#: the lease of a job whose kind this worker does not know
DEFAULT_LEASE = dt.timedelta(seconds=60)
#: how long an unknown kind waits before another worker (one that knows it) may try
UNKNOWN_KIND_RETRY = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt at one job came to: succeeded, retrying, dead, or lost (the lease
    was taken from this worker before it could record the outcome)."""

    job: JobRow
    state: str
    error: str | None = None
    result: Any = None


class Worker:
    """Runs the due jobs of `queues` (all when None), `concurrency` at a time."""

    def __init__(self, jobs: Jobs, *, queues: Sequence[str] | None = None,
                 concurrency: int = 1, name: str | None = None, poll: float = 1.0,
                 heartbeat: float = 10.0,
                 report: Callable[[str], None] | None = None) -> None:
        if concurrency < 1:
            raise IdmflowError(f"a worker runs at least one job at a time, not {concurrency}")
        self.jobs = jobs
        self.queues = tuple(queues or ())
        self.concurrency = concurrency
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.poll = poll
        self.heartbeat = heartbeat
        self._report = report or log.warning
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._running: dict[int, JobRow] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        #: outcomes since the start, by state
        self.counts: dict[str, int] = {}

    # -- in the caller's thread ----------------------------------------------------------

    def run_due(self, *, limit: int | None = None) -> list[Outcome]:
        """Run the due jobs one after another in this thread until none is due (or `limit`
        have run): `idmflow mail send`, tests, and hosts that drive work themselves."""
        self.reap()
        self.jobs.tick()
        outcomes: list[Outcome] = []
        while limit is None or len(outcomes) < limit:
            outcome = self.run_one()
            if outcome is None:
                break
            outcomes.append(outcome)
        return outcomes

    def run_one(self) -> Outcome | None:
        """Claim one due job and run it; None when nothing is due."""
        job = self._claim()
        return None if job is None else self._execute(job)

    # -- as a service --------------------------------------------------------------------

    def start(self) -> None:
        """Register, then run in background threads until `stop()`."""
        self._beat(started=True)
        self.jobs.listeners.append(self.wake)
        targets: list[tuple[str, Callable[[], None]]] = [
            (f"idmflow-worker-{i + 1}", self._run_loop) for i in range(self.concurrency)]
        targets.append(("idmflow-worker-heartbeat", self._heartbeat_loop))
        if self.jobs.host.db.dialect.name == "postgresql":
            targets.append(("idmflow-worker-listen", self._listen_loop))
        for thread_name, target in targets:
            thread = threading.Thread(target=target, name=thread_name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, grace: float = 30.0) -> list[int]:
        """Stop claiming, let running jobs finish for up to `grace` seconds, give the rest
        back to the queue (for another worker), and deregister. Returns the released ids."""
        self._stopping.set()
        self._wake.set()
        if self.wake in self.jobs.listeners:
            self.jobs.listeners.remove(self.wake)
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        released: list[int] = []
        with self._lock:
            left = list(self._running.values())
        for job in left:
            with write_transaction(self.jobs.host.db) as conn:
                if store.release(conn, job.id, self.name, self._now(),
                                 f"released by worker {self.name}, stopped after a grace of "
                                 f"{grace:g} s before the job finished"):
                    released.append(job.id)
        try:
            with write_transaction(self.jobs.host.db) as conn:
                store.stopped(conn, self.name, self._now())
        except DBAPIError as exc:
            self._report(f"worker {self.name}: could not record its stop: {exc.orig}")
        return released

    @property
    def running(self) -> list[JobRow]:
        with self._lock:
            return list(self._running.values())

    def wake(self) -> None:
        """Look for due jobs now instead of at the next poll."""
        self._wake.set()

    def reap(self) -> int:
        """Put back the jobs whose lease ran out (their worker died); how many."""
        now = self._now()
        n = 0
        with write_transaction(self.jobs.host.db) as conn:
            for job in store.expired(conn, now):
                kind = self.jobs.kinds.get(job.kind)
                retry_at = (kind.retry_at(job.attempts, now) if kind is not None
                            else now + UNKNOWN_KIND_RETRY)
                if store.requeue_expired(conn, job, now, retry_at=retry_at):
                    n += 1
                    if kind is not None and kind.on_failure is not None:
                        kind.on_failure(conn, JobContext(job, self.jobs.host),
                                        f"worker {job.lease_owner} stopped before it recorded "
                                        "the outcome", retry_at)
        return n

    # -- one job -------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self.jobs.host.clock.now()

    def _lease(self, kind_name: str) -> dt.timedelta:
        kind = self.jobs.kinds.get(kind_name)
        return kind.lease if kind is not None else DEFAULT_LEASE

    def _claim(self) -> JobRow | None:
        with write_transaction(self.jobs.host.db) as conn:
            now = self._now()
            claimed = store.claim(conn, queues=self.queues or None, owner=self.name, now=now,
                                  lease=DEFAULT_LEASE, limit=1)
            if not claimed:
                return None
            job = claimed[0]
            if self._lease(job.kind) != DEFAULT_LEASE:  # the kind's own lease, from the start
                store.extend(conn, self.name, [job.id], now + self._lease(job.kind), now)
        with self._lock:
            self._running[job.id] = job
        return job

    def _execute(self, job: JobRow) -> Outcome:
        try:
            kind = self.jobs.kinds.get(job.kind)
            if kind is None:
                return self._record_failure(
                    job, None, f"no job kind {job.kind!r} in worker {self.name} (is the "
                    "package that declares it installed here?)", retry=True)
            ctx = JobContext(job, self.jobs.host, self._reporter(job))
            try:
                result = kind.run(ctx)
                require_json({"result": result})
            except JobFailed as exc:
                return self._record_failure(job, kind, str(exc), retry=False)
            except Exception as exc:  # any failure of the job: retried with backoff
                return self._record_failure(job, kind, f"{type(exc).__name__}: {exc}",
                                            retry=True)
            with write_transaction(self.jobs.host.db) as conn:
                held = store.succeed(conn, job.id, self.name, result, self._now())
            return self._counted(Outcome(job, "succeeded" if held else "lost", None, result))
        finally:
            with self._lock:
                self._running.pop(job.id, None)
            self.jobs.live.pop(job.id, None)

    def _reporter(self, job: JobRow) -> Callable[[int, int], None]:
        """Progress of `job`: kept in this process; stored too on PostgreSQL (at most twice a
        second), where another process may show it. SQLite's one writer is the step itself."""
        stored = self.jobs.host.db.dialect.name == "postgresql"
        last = 0.0

        def report(done: int, total: int) -> None:
            nonlocal last
            self.jobs.live[job.id] = (done, total)
            if stored and (time.monotonic() - last >= 0.5 or done >= total):
                last = time.monotonic()
                try:
                    with write_transaction(self.jobs.host.db) as conn:
                        store.progress(conn, job.id, self.name, done, total)
                except DBAPIError as exc:  # progress is a courtesy: never fail the job for it
                    log.warning("job %s: progress not stored: %s", job.id, exc.orig)

        return report

    def _record_failure(self, job: JobRow, kind: JobKind | None, error: str, *,
                        retry: bool) -> Outcome:
        with write_transaction(self.jobs.host.db) as conn:
            now = self._now()
            if kind is None:
                retry_at: dt.datetime | None = now + UNKNOWN_KIND_RETRY
            else:
                retry_at = kind.retry_at(job.attempts, now) if retry else None
            held = store.fail(conn, job.id, self.name, error, now, retry_at=retry_at)
            if held and kind is not None and kind.on_failure is not None:
                kind.on_failure(conn, JobContext(job, self.jobs.host), error, retry_at)
        state = "lost" if not held else "retrying" if retry_at is not None else "dead"
        if state != "retrying":
            log.warning("job %s (%s) %s: %s", job.id, job.kind, state, error)
        return self._counted(Outcome(job, state, error))

    def _counted(self, outcome: Outcome) -> Outcome:
        self.counts[outcome.state] = self.counts.get(outcome.state, 0) + 1
        return outcome

    # -- threads -------------------------------------------------------------------------

    def _run_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                outcome = self.run_one()
            except Exception as exc:  # the database away: wait and try again, never die
                self._report(f"worker {self.name}: {exc}")
                outcome = None
                self._stopping.wait(self.poll)
            if outcome is None and not self._stopping.is_set():
                self._wake.wait(self.poll)
                self._wake.clear()

    def _heartbeat_loop(self) -> None:
        # often enough that the shortest lease is renewed three times before it runs out
        shortest = min((k.lease for k in self.jobs.kinds.values()), default=DEFAULT_LEASE)
        interval = min(self.heartbeat, shortest.total_seconds() / 3)
        while not self._stopping.wait(interval):
            try:
                self._beat()
                self.reap()
                if self.jobs.tick():
                    self._wake.set()
            except Exception as exc:
                self._report(f"worker {self.name}: heartbeat failed: {exc}")

    def _beat(self, *, started: bool = False) -> None:
        with write_transaction(self.jobs.host.db) as conn:
            now = self._now()
            store.beat(conn, self.name, queues=self.queues, concurrency=self.concurrency,
                       now=now, started=started)
            for job in self.running:
                store.extend(conn, self.name, [job.id], now + self._lease(job.kind), now)

    def _listen_loop(self) -> None:
        """Wake a runner as soon as a job is committed (PostgreSQL's LISTEN/NOTIFY)."""
        while not self._stopping.is_set():
            try:
                raw = self.jobs.host.db.raw_connection()
                try:
                    driver: Any = raw.driver_connection
                    driver.autocommit = True
                    driver.execute(f"LISTEN {store.CHANNEL}")
                    while not self._stopping.is_set():
                        for _ in driver.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
                finally:
                    raw.invalidate()  # a LISTENing connection must not go back to the pool
            except Exception as exc:
                if self._stopping.is_set():
                    return
                self._report(f"worker {self.name}: lost its LISTEN connection ({exc}); "
                             "polling until it is back")
                self._stopping.wait(self.poll)
