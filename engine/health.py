"""Is this installation ready to serve? The checks behind `/readyz`, and the numbers behind
`/metrics`, read from the database so that every process reports the same.

Ready means: the database answers, its schema is the one this release needs, and a worker
has been heard of recently (else mail and long steps would wait silently).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from idmflow.storage import jobs as job_rows
from idmflow.storage import schema
from idmflow.storage.models import outbox, process_instances, tasks

from .ports import Clock

#: a worker heard of within this long counts as running (heartbeats come every 10 s)
WORKER_SILENCE = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return "; ".join(f"{name}: {what}" for name, what in self.checks.items()
                         if not what.startswith("ok"))

    def to_json(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": self.checks,
                **({"reason": self.reason} if not self.ready else {})}


def readiness(db: SqlEngine, clock: Clock) -> Readiness:
    checks: dict[str, str] = {}
    try:
        with db.connect() as conn:
            conn.execute(text("SELECT 1"))
            at = schema.current(db)
            beat = job_rows.last_beat(conn)
    except DBAPIError as exc:
        checks["database"] = f"not reachable ({str(exc.orig).strip().splitlines()[0]})"
        return Readiness(False, checks)
    checks["database"] = "ok"
    checks["schema"] = "ok" if at == schema.head() else (
        f"at {at}, this release needs {schema.head()}; run `idmflow init`")
    if beat is None:
        checks["worker"] = ("no worker is running: start `idmflow worker` or `idmflow serve` "
                            "with its embedded worker")
    else:
        silence = clock.now() - beat
        checks["worker"] = ("ok" if silence <= WORKER_SILENCE else
                            f"the last worker heartbeat is {int(silence.total_seconds())} s old")
    return Readiness(all(v == "ok" for v in checks.values()), checks)


def numbers(db: SqlEngine, clock: Clock) -> dict[str, Any]:
    """What the metrics show, read in one connection."""
    now = clock.now()
    with db.connect() as conn:
        jobs = job_rows.counts(conn)
        oldest = job_rows.oldest_due(conn, now)
        instances = [tuple(r) for r in conn.execute(
            select(process_instances.c.process, process_instances.c.ended_at.is_(None),
                   func.count()).group_by(process_instances.c.process,
                                          process_instances.c.ended_at.is_(None)))]
        decisions = [tuple(r) for r in conn.execute(
            select(tasks.c.process, tasks.c.decision, func.count())
            .where(tasks.c.decision.is_not(None)).group_by(tasks.c.process, tasks.c.decision))]
        mails = [tuple(r) for r in conn.execute(
            select(outbox.c.status, func.count()).group_by(outbox.c.status))]
    return {"jobs": jobs, "queue_latency": (now - oldest).total_seconds() if oldest else 0.0,
            "instances": instances, "decisions": decisions, "mails": mails}
