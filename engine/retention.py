"""How long idmflow keeps what is over, and the scheduled purge that forgets the rest.

Each process may declare its `Retention` (`ProcessDefinition.retention`); an option of its
script may override a period (`Retention.options`: which option holds how many days). What
belongs to no process (mail, jobs, events of instances already purged) follows the engine's
`DEFAULT`. An instance on hold (`Engine.hold`) and its audit events are kept whatever their
age. The purge runs daily as the schedule `idmflow-retention`, in chunks of a thousand rows
per transaction; `idmflow purge --dry-run` counts what would go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from idmflow.storage import retention as purge_rows

from .jobs import JobContext, JobKind
from .schedules import Schedule

KIND = "retention"
SCHEDULE = Schedule("idmflow-retention", "17 3 * * *", KIND,
                    doc="Purge ended instances, old audit events, sent mail and finished jobs "
                        "past their retention.")


@dataclass(frozen=True, slots=True)
class Retention:
    """How long to keep things, in days (None: for ever)."""

    ended_instances: int | None = 730
    audit: int | None = 365
    sent_mail: int | None = 90
    finished_jobs: int | None = 30
    #: field name -> an option of the process's script holding that many days
    options: Mapping[str, str] = field(default_factory=dict)


DEFAULT = Retention()


def _cutoff(now: dt.datetime, days: int | None) -> dt.datetime | None:
    return None if days is None else now - dt.timedelta(days=days)


def effective(retention: Retention, option_of: Callable[[str], Any]) -> Retention:
    """`retention` with the periods its options set (a whole number of days, or None)."""
    values: dict[str, Any] = {}
    for name, option in retention.options.items():
        value = option_of(option)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)
                             and value >= 0):
            values[name] = value
    if not values:
        return retention
    return Retention(**{**{f: getattr(retention, f) for f in ("ended_instances", "audit",
                                                             "sent_mail", "finished_jobs")},
                        **values}, options=retention.options)


def purge(transaction: purge_rows.Transaction, now: dt.datetime,
          processes: Mapping[str, Retention], *, dry_run: bool = False) -> dict[str, int]:
    """Purge (or count) what is past its retention; how many rows of each sort."""
    counts = {"instances": 0, "audit_events": 0, "sent_mail": 0, "finished_jobs": 0,
              "workers": 0}
    for process, kept in sorted(processes.items()):
        before = _cutoff(now, kept.ended_instances)
        if before is not None:
            counts["instances"] += purge_rows.ended_instances(transaction, process, before,
                                                              dry_run=dry_run)
        before = _cutoff(now, kept.audit)
        if before is not None:
            counts["audit_events"] += purge_rows.audit_events(transaction, before,
                                                              process=process, dry_run=dry_run)
    before = _cutoff(now, DEFAULT.audit)
    if before is not None:
        counts["audit_events"] += purge_rows.audit_events(transaction, before, process=None,
                                                          dry_run=dry_run)
    before = _cutoff(now, DEFAULT.sent_mail)
    if before is not None:
        counts["sent_mail"] = purge_rows.sent_mail(transaction, before, dry_run=dry_run)
    before = _cutoff(now, DEFAULT.finished_jobs)
    if before is not None:
        counts["finished_jobs"] = purge_rows.finished_jobs(transaction, before, dry_run=dry_run)
    counts["workers"] = purge_rows.silent_workers(transaction, now - dt.timedelta(days=1),
                                                  dry_run=dry_run)
    return counts


def kind(run: Callable[[bool], dict[str, int]]) -> JobKind:
    """The scheduled purge as a job; `run(dry_run)` does it for one engine."""

    def job(ctx: JobContext) -> dict[str, int]:
        return run(bool(ctx.payload.get("dry_run", False)))

    return JobKind(KIND, job, max_attempts=3, lease=dt.timedelta(minutes=10),
                   doc="Purge what is past its retention.")
