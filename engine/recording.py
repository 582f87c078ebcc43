"""`Recorder`: the effects of a step handler, collected instead of written, for unit tests.

A process author tests a step handler without a database: build a `StepContext` by hand
with a fake `Entities`, pass `effects=Recorder(PROCESS)`, call the handler, and look at
what it asked for: the mails (`notifications`), the tasks it opened (`tasks`), the progress
it reported. Rules answer with the process's defaults, or with `rules` given here (what an
option script would define); mails render from the process's own templates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .definitions import ProcessDefinition
from .ports import Notification
from .views import render_mail


@dataclass(frozen=True, slots=True)
class OpenedTask:
    """A task a handler opened: its kind, title and payload."""

    kind: str
    title: str
    payload: Mapping[str, Any]


@dataclass(slots=True)
class Recorder:
    """An `Effects` that records: nothing leaves the test."""

    definition: ProcessDefinition
    #: rule name -> a function standing in for the option script's rule
    rules: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    notifications: list[Notification] = field(default_factory=list)
    tasks: list[OpenedTask] = field(default_factory=list)
    reported: list[tuple[int, int]] = field(default_factory=list)

    def apply_rule(self, rule: str, items: Sequence[Any]) -> list[Any]:
        spec = self.definition.rule(rule)
        return replace(spec, default=self.rules.get(rule, spec.default)).apply_default(items)

    def notify(self, notification: Notification) -> None:
        self.notifications.append(notification)

    def render_mail(self, name: str, context: Mapping[str, Any]) -> tuple[str, str | None]:
        return render_mail(self.definition, name, **context)

    def open_task(self, kind: str, *, title: str, payload: Mapping[str, Any]) -> int:
        """Records the task (its kind must be declared) and returns its number, from 1."""
        self.definition.task(kind)
        self.tasks.append(OpenedTask(kind, title, dict(payload)))
        return len(self.tasks)

    def progress(self, done: int, total: int) -> None:
        self.reported.append((done, total))
