"""Long steps as jobs: a batch's Next over 100,000 users runs in a worker, not in a request.

The console enqueues the step (`STEP`) and shows its progress; any worker runs it, through
the same `fire` as everyone else, with the version of the page it came from. The step is one
transaction, so an attempt killed half-way left nothing, and the next attempt (after the
reaper, or on another worker) makes the batch whole; an attempt that finds the instance
moved on (the killed attempt had committed, or a second submit did the work) is done. So the
step happens exactly once, with no click. The Python API's `fire`/`run` and the CLI's
foreground mode still run the step in the caller's process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .errors import Conflict, IdmflowError, InputError, OptionScriptError
from .jobs import JobContext, JobKind

STEP = "step"


class Firing(Protocol):
    """What a step job needs of the engine."""

    def fire(self, instance_id: int, trigger: str, *, actor: str,
             input: Mapping[str, Any] | None = None, expected_version: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> Any: ...


def messages_of(exc: IdmflowError) -> list[str]:
    """The lines to show people for an error: its problems where it lists them."""
    if isinstance(exc, (InputError, OptionScriptError)):
        return list(exc.problems)
    return [str(exc)]


def step_payload(instance_id: int, trigger: str, *, actor: str, expected_version: int,
                 input: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"instance": instance_id, "trigger": trigger, "actor": actor,
            "version": expected_version, "input": dict(input or {})}


def step_kind(engine: Firing) -> JobKind:
    """The job kind that fires a step of an instance in a worker."""

    def run(ctx: JobContext) -> dict[str, Any]:
        p = ctx.payload
        try:
            engine.fire(int(p["instance"]), str(p["trigger"]), actor=str(p["actor"]),
                        input=p.get("input") or None, expected_version=int(p["version"]),
                        progress=ctx.progress)
        except Conflict:
            # Moved on since the page: an earlier attempt committed before its worker died,
            # or another submit did the work. Either way the step is done once.
            return {"outcome": "moved on"}
        except IdmflowError as exc:
            # The engine refused (bad input, not allowed): the job did its work, and the
            # operator reads the refusal on the page.
            return {"outcome": "refused", "problems": messages_of(exc)}
        return {"outcome": "done"}

    return JobKind(STEP, run, queue="steps", max_attempts=3,
                   lease=dt.timedelta(seconds=30), first_retry=dt.timedelta(seconds=5),
                   last_retry=dt.timedelta(minutes=1),
                   doc="Fire a long step (a batch's Next) of an instance in a worker.")
