"""`idmflow jobs ...` and `idmflow worker`: background work, and the process that runs it."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from idmflow.engine import IdmflowError

from .output import emit_json, table
from .state import State

STATES = ("queued", "running", "retrying", "succeeded", "dead", "cancelled")


@click.group("jobs")
def jobs() -> None:
    """Background jobs: list, show, retry, cancel."""


@jobs.command("list")
@click.option("--state", "states", type=click.Choice(STATES), multiple=True,
              help="Only jobs in this state (repeatable).")
@click.option("--kind", help="Only jobs of this kind (e.g. mail).")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_jobs(state: State, states: tuple[str, ...], kind: str | None, limit: int,
              as_json: bool) -> None:
    """Jobs, dead ones first, then newest first."""
    found, total = state.engine.jobs.find(states=states or None, kind=kind, limit=limit)
    if as_json:
        emit_json({"jobs": [j.to_json() for j in found], "total": total})
        return
    table(("ID", "KIND", "STATE", "TRIES", "RUN AT", "LAST ERROR"),
          [(j.id, j.kind, j.state, f"{j.attempts}/{j.max_attempts}",
            f"{j.run_at:%Y-%m-%d %H:%M:%S}", _short(j.last_error)) for j in found])
    if total > len(found):
        click.echo(f"({len(found)} of {total}; --limit shows more)")


@jobs.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(state: State, job_id: int, as_json: bool) -> None:
    """One job: its payload, attempts, last error and result."""
    job = state.engine.jobs.get(job_id)
    if as_json:
        emit_json(job.to_json())
        return
    for name, value in job.to_json().items():
        click.echo(f"{name + ':':<18}{'' if value is None else value}")


@jobs.command("retry")
@click.argument("job_ids", type=int, nargs=-1)
@click.option("--dead", "all_dead", is_flag=True, help="Every dead job.")
@click.pass_obj
def retry(state: State, job_ids: tuple[int, ...], all_dead: bool) -> None:
    """Run jobs again now (dead, cancelled or waiting for a retry)."""
    ids = _chosen(state, job_ids, all_dead, "dead")
    done = state.engine.jobs.retry(ids)
    _report("queued again", ids, done)


@jobs.command("cancel")
@click.argument("job_ids", type=int, nargs=-1, required=True)
@click.pass_obj
def cancel(state: State, job_ids: tuple[int, ...]) -> None:
    """Cancel jobs that have not started (queued or waiting for a retry)."""
    done = state.engine.jobs.cancel(list(job_ids))
    _report("cancelled", list(job_ids), done)


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Jobs run at once.")
@click.option("--queue", "queues", multiple=True,
              help="Only jobs of this queue (repeatable; default: every queue).")
@click.option("--burst", is_flag=True, help="Run what is due now, then exit.")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="On SIGTERM or Ctrl+C: seconds running jobs get to finish before they "
                   "are given back to the queue.")
@click.pass_obj
def worker(state: State, concurrency: int, queues: tuple[str, ...], burst: bool,
           grace: float) -> None:
    """Run background jobs (mail, long steps, schedules) until stopped."""
    engine = state.engine
    runner = engine.worker(queues=queues or None, concurrency=concurrency)
    if burst:
        outcomes = runner.run_due()
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.state] = counts.get(outcome.state, 0) + 1
        click.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing due")
        return
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.start()
    click.echo(f"worker {runner.name}: {concurrency} at a time, queues "
               f"{', '.join(queues) if queues else 'all'} (SIGTERM or Ctrl+C stops it)")
    while not stop.wait(1.0):
        pass
    click.echo(f"stopping: running jobs get {grace:g} s to finish")
    released = runner.stop(grace)
    if released:
        click.echo(f"gave back to the queue: jobs {', '.join(map(str, released))}")
    click.echo("stopped")


def _chosen(state: State, job_ids: tuple[int, ...], every: bool, job_state: str) -> list[int]:
    if bool(job_ids) == every:
        raise click.UsageError(f"give job ids or --{job_state}, not both or neither")
    if job_ids:
        return list(job_ids)
    found, _total = state.engine.jobs.find(states=[job_state], limit=None)
    return [j.id for j in found]


def _report(verb: str, asked: list[int], done: list[int]) -> None:
    click.echo(f"{verb}: {', '.join(map(str, done)) if done else 'none'}")
    skipped = sorted(set(asked) - set(done))
    if skipped:
        raise IdmflowError(f"jobs {', '.join(map(str, skipped))} were not {verb}: they do not "
                           "exist or are in a state that does not allow it (`idmflow jobs "
                           "show ID` says which)")


def _short(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    line = text.splitlines()[0]
    return line if len(line) <= width else line[:width - 1] + "…"
