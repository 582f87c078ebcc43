"""`idmflow schedules list`: the periodic jobs, with their last and next runs."""

from __future__ import annotations

import click

from .output import emit_json, table
from .state import State


@click.group("schedules")
def schedules() -> None:
    """Periodic jobs: when each ran last and runs next."""


@schedules.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_schedules(state: State, as_json: bool) -> None:
    """Every schedule, its cron (UTC) and where it comes from, its last and next run."""
    jobs = state.engine.jobs
    jobs.sync_schedules()  # what this installation declares, with the options' crons
    rows = jobs.schedule_rows()
    if as_json:
        emit_json({"schedules": [r.to_json() for r in rows], "total": len(rows)})
        return
    table(("NAME", "CRON (UTC)", "FROM", "JOB KIND", "LAST RUN", "NEXT RUN"),
          [(r.name, r.cron, r.source, r.kind,
            f"{r.last_period_at:%Y-%m-%d %H:%M}" if r.last_period_at else "never",
            f"{r.next_run_at:%Y-%m-%d %H:%M}") for r in rows])
