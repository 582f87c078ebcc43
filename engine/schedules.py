"""Periodic work: a schedule is a cron expression and the kind of job it enqueues.

The engine and processes declare schedules in code; an option of the process's script may
override the cron (`Schedule.option`, e.g. a sweep an administrator wants hourly). Workers
fire them: each period fires once across all workers (the job's key is the period), and
after downtime a missed period fires once, not once per missed period (the next run is the
first period after now). Times are UTC; the `Clock` port lets tests travel in time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from idmflow.storage import schedules as rows
from idmflow.storage.schedules import ScheduleRow

from .errors import DefinitionError, IdmflowError

__all__ = ["Schedule", "ScheduleRow", "next_after", "parse_cron"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """Enqueue a job of `kind` with `payload` at every time `cron` names (UTC)."""

    name: str
    cron: str
    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    #: an option of the declaring process's script that overrides `cron` when set
    option: str | None = None
    doc: str = ""


def parse_cron(expression: str, *, where: str) -> str:
    """`expression` if it is a valid five-field cron expression, else an `IdmflowError`."""
    from cronsim import CronSim, CronSimError

    try:
        CronSim(expression, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    except (CronSimError, ValueError, TypeError) as exc:
        raise IdmflowError(f"{where}: {expression!r} is not a cron expression ({exc}); use "
                           "five fields: minute hour day month weekday, e.g. '0 3 * * *' "
                           "for 03:00 UTC daily") from exc
    return expression


def next_after(expression: str, moment: dt.datetime) -> dt.datetime:
    """The first time `expression` names after `moment`."""
    from cronsim import CronSim

    return next(CronSim(expression, moment.replace(second=0, microsecond=0)))


@dataclass
class Schedules:
    """The schedules an engine declares; `sync` stores them, `fire_due` fires them."""

    declared: dict[str, tuple[Schedule, str | None]] = field(default_factory=dict)

    def add(self, schedule: Schedule, *, process: str | None = None) -> None:
        where = f"schedule {schedule.name!r}" + (f" of {process}" if process else "")
        parse_cron(schedule.cron, where=where)
        known = self.declared.get(schedule.name)
        if known is not None and known[0] != schedule:
            raise DefinitionError(process or "engine", [
                f"schedule {schedule.name!r} is declared twice, differently; rename one"])
        self.declared[schedule.name] = (schedule, process)

    def sync(self, conn: Connection, now: dt.datetime,
             crons: Mapping[str, tuple[str, str]]) -> None:
        """Store each declared schedule with its effective cron (`crons`: name -> (cron,
        source)); a changed cron moves the next run."""
        stored = {r.name: r for r in rows.all_rows(conn)}
        for name, (schedule, _process) in self.declared.items():
            cron, source = crons.get(name, (schedule.cron, "declared"))
            row = stored.get(name)
            if row is None or row.cron != cron or row.kind != schedule.kind:
                rows.put(conn, name=name, kind=schedule.kind, cron=cron, source=source,
                         next_run_at=next_after(cron, now), now=now)

    def fire_due(self, conn: Connection, now: dt.datetime,
                 enqueue: Callable[[ScheduleRow, Mapping[str, Any], str], int]
                 ) -> list[tuple[str, int]]:
        """Enqueue the job of every due schedule, once per period (`enqueue(row, payload,
        key)` queues it); (name, job id) each."""
        fired: list[tuple[str, int]] = []
        for row in rows.due(conn, now):
            declared = self.declared.get(row.name)
            payload = dict(declared[0].payload) if declared else {}
            period = row.next_run_at
            job_id = enqueue(row, payload, f"schedule:{row.name}:{period.isoformat()}")
            rows.fired(conn, row.name, period=period, job_id=job_id,
                       next_run_at=next_after(row.cron, now), now=now)
            fired.append((row.name, job_id))
        return fired


def effective_crons(schedules: Schedules,
                    option_of: Callable[[str, str], Any]) -> dict[str, tuple[str, str]]:
    """Each schedule's cron where an option overrides it: name -> (cron, "option NAME").

    `option_of(process, option)` reads the option's current value. A value that is not a
    cron expression keeps the declared cron (and is logged): a typo must not stop a sweep.
    """
    import logging

    crons: dict[str, tuple[str, str]] = {}
    for name, (schedule, process) in schedules.declared.items():
        if schedule.option is None or process is None:
            continue
        try:
            value = option_of(process, schedule.option)
        except IdmflowError as exc:
            logging.getLogger(__name__).warning("schedule %s: %s", name, exc)
            continue
        if isinstance(value, str) and value.strip():
            try:
                crons[name] = (parse_cron(value.strip(), where=f"option {schedule.option}"),
                               f"option {schedule.option}")
            except IdmflowError as exc:
                logging.getLogger(__name__).warning("schedule %s keeps %r: %s", name,
                                                    schedule.cron, exc)
    return crons
