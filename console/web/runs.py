"""Long steps of the console as jobs, so a batch of 100,000 users shows progress and
survives the console process.

A request queues a long step (the batch order's Next, or a "select all N matching" that
checks every matching user) through `BackgroundRuns.start` and returns at once; a worker
(the one `idmflow serve` embeds, or any `idmflow worker`) runs it, and the browser polls the
run's progress. One run per instance at a time: a double click finds the run of the first
click instead of queueing a second (and a second would only find the instance moved on).
Runs are jobs in the database: any console process shows them, and a run whose console or
worker was killed is resumed by a worker and says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from idmflow.engine import Engine, IdmflowError
from idmflow.engine.background import STEP, messages_of
from idmflow.engine.jobs import JobRow

#: how long a finished run's refusal is shown on the instance's page
KEEP = dt.timedelta(minutes=10)
_ACTIVE = ("queued", "running", "retrying")


@dataclass(frozen=True, slots=True)
class Run:
    """One step running in the background (a job), and what came of it."""

    instance_id: int
    trigger: str
    version: int
    done: int = 0
    total: int = 0
    finished: bool = False
    #: what went wrong, for people; empty when the step committed (or another did it)
    problems: tuple[str, ...] = ()
    #: what happened on the way ("interrupted at 33 %, resumed at 14:05:10 UTC")
    note: str | None = None
    ended_at: dt.datetime | None = None

    @classmethod
    def of(cls, job: JobRow) -> Run:
        p = job.payload
        finished = job.state not in _ACTIVE
        problems: tuple[str, ...] = ()
        if isinstance(job.result, dict) and job.result.get("problems"):
            problems = tuple(str(x) for x in job.result["problems"])
        elif job.state == "dead":
            problems = ("the step failed on the server and nothing was written; an admin "
                        f"finds why under Jobs (job {job.id})",)
        note = None
        if job.attempts > 1 and (job.last_error or "").startswith("attempt "):
            what = job.last_error.split(":", 1)[0] if job.last_error else ""
            note = (f"Attempt {what.removeprefix('attempt ')} (its worker stopped); resumed "
                    f"at {job.run_at:%H:%M:%S} UTC.")
        return cls(int(p["instance"]), str(p["trigger"]), int(p["version"]),
                   done=job.progress_done or 0, total=job.progress_total or 0,
                   finished=finished, problems=problems, note=note, ended_at=job.finished_at)

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance_id, "trigger": self.trigger, "done": self.done,
                "total": self.total, "finished": self.finished}


def problems_of(exc: IdmflowError) -> tuple[str, ...]:
    """The lines to show for an error: its problems where it lists them, else its message."""
    return tuple(messages_of(exc))


class BackgroundRuns:
    """The console's runs: step jobs of the engine, by instance."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(self, instance_id: int, trigger: str, *, actor: str, expected_version: int,
              input: Mapping[str, Any] | None = None) -> Run:
        """Queue `trigger` for a worker, unless a run of this instance is still going."""
        running = self.get(instance_id)
        if running is not None and not running.finished:
            return running
        job_id = self._engine.fire_in_background(instance_id, trigger, actor=actor,
                                                 expected_version=expected_version, input=input)
        return Run.of(self._engine.jobs.get(job_id))

    def get(self, instance_id: int) -> Run | None:
        """The latest run of the instance, running or finished."""
        job = self._engine.jobs.latest_for(instance_id, STEP)
        return None if job is None else Run.of(job)

    def take_problems(self, instance_id: int, version: int) -> tuple[str, ...]:
        """The problems of the latest run, while the instance is still where it was then."""
        run = self.get(instance_id)
        if run is None or not run.finished or run.version != version or not run.problems:
            return ()
        if run.ended_at is not None and self._engine.clock.now() - run.ended_at > KEEP:
            return ()
        return run.problems
