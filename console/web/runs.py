"""Steps that run in a background thread, so a batch of 100,000 users shows progress.

A request fires a long step (the batch order's Next, or a "select all N matching" that
checks every matching user) through `BackgroundRuns.start` and
returns at once; the browser then polls the run's progress, reported by the engine as
(done, total). One run per instance at a time: a double click finds the run of the first
click instead of starting a second, and a submit based on a stale version gets `Conflict`
from the engine, which here simply means "the other submit did it".

Runs live in this process's memory. With several console processes a poll may reach
another one; it then finds no run and the page shows the instance as stored, which is
right once the step has committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idmflow.engine import Conflict, Engine, IdmflowError, InputError, OptionScriptError

log = logging.getLogger(__name__)

#: how long a finished run is remembered, for its page to show its outcome
KEEP_SECONDS = 600.0


@dataclass(slots=True)
class Run:
    """One step running in the background, and what came of it."""

    instance_id: int
    trigger: str
    done: int = 0
    total: int = 0
    #: what went wrong, for people; empty when the step committed (or lost a race)
    problems: tuple[str, ...] = ()
    finished: threading.Event = field(default_factory=threading.Event)
    ended_at: float | None = None

    def report(self, done: int, total: int) -> None:
        """The engine's progress callback."""
        self.done, self.total = done, total

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance_id, "trigger": self.trigger, "done": self.done,
                "total": self.total, "finished": self.finished.is_set()}


def problems_of(exc: IdmflowError) -> tuple[str, ...]:
    """The lines to show for an error: its problems where it lists them, else its message."""
    if isinstance(exc, (InputError, OptionScriptError)):
        return tuple(exc.problems)
    return (str(exc),)


class BackgroundRuns:
    """The runs of one console process, by instance id."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._runs: dict[int, Run] = {}
        self._lock = threading.Lock()

    def start(self, instance_id: int, trigger: str, *, actor: str, expected_version: int,
              input: Mapping[str, Any] | None = None) -> Run:
        """Fire `trigger` in a thread, unless a run of this instance is still going."""
        with self._lock:
            self._forget_old()
            running = self._runs.get(instance_id)
            if running is not None and not running.finished.is_set():
                return running
            run = Run(instance_id, trigger)
            self._runs[instance_id] = run
        thread = threading.Thread(target=self._work, args=(run, actor, expected_version, input),
                                  name=f"idmflow-{trigger}-{instance_id}", daemon=True)
        thread.start()
        return run

    def get(self, instance_id: int) -> Run | None:
        """The latest run of the instance, running or finished."""
        with self._lock:
            return self._runs.get(instance_id)

    def take_problems(self, instance_id: int) -> tuple[str, ...]:
        """The problems of a finished run, once: the page that shows them forgets the run."""
        with self._lock:
            run = self._runs.get(instance_id)
            if run is None or not run.finished.is_set() or not run.problems:
                return ()
            del self._runs[instance_id]
            return run.problems

    def _work(self, run: Run, actor: str, expected_version: int,
              input: Mapping[str, Any] | None) -> None:
        try:
            self._engine.fire(run.instance_id, run.trigger, actor=actor, input=input,
                              expected_version=expected_version, progress=run.report)
        except Conflict:
            pass  # another submit of the same page committed first: its result stands
        except IdmflowError as exc:
            run.problems = problems_of(exc)
        except Exception:  # a bug: keep the trace in the log, show people a plain line
            log.exception("background %r of instance %d failed", run.trigger, run.instance_id)
            run.problems = ("the step failed on the server and nothing was written; "
                            "the error is in the server log",)
        finally:
            run.ended_at = time.monotonic()
            run.finished.set()

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key, run in list(self._runs.items()):
            if run.ended_at is not None and now - run.ended_at > KEEP_SECONDS:
                del self._runs[key]
