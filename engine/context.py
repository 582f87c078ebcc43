"""What process code sees: `StepContext` for step handlers, `TaskContext` for decisions.

Both run inside the transaction of what triggered them: whatever they write through
`entities`, `open_task` or `notify` commits with the new state and its audit event, or not
at all (a crash never sends a mail for a decision that did not commit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .bulk import EntityOps
from .instances import InstanceView
from .ports import Account, Accounts, Clock, Notification, Producer, UserDirectory
from .records import TaskView


def _no_progress(done: int, total: int) -> None:
    """The default progress callback: nobody is watching."""


@dataclass(slots=True)
class _Common:
    instance: InstanceView
    actor: Account
    options: Mapping[str, Any]
    directory: UserDirectory
    accounts: Accounts
    clock: Clock
    entities: EntityOps
    #: `apply_rule(name, items)`: a rule of the option script for every item, in one call
    apply_rule: Callable[[str, Sequence[Any]], list[Any]]
    #: queue a mail in the outbox, in this transaction
    notify: Callable[[Notification], None]
    #: `render_mail(name, **context)` -> (text, html) from the process's mail templates
    render_mail: Callable[..., tuple[str, str | None]]
    #: the production service (a card printer)
    producer: Producer


@dataclass(slots=True)
class StepContext(_Common):
    """The world of one step handler."""

    trigger: str = ""
    source: str = ""
    dest: str = ""
    input: Mapping[str, Any] = field(default_factory=dict)
    #: the instance's data, saved with the new state; replace keys, don't mutate in place
    data: dict[str, Any] = field(default_factory=dict)
    #: `open_task(kind, title=..., payload=...)` -> task id
    open_task: Callable[..., int] = field(default=lambda *a, **k: 0)
    progress: Callable[[int, int], None] = field(default=_no_progress)
    #: a trigger to fire right after this one, in the same transaction (see `then`)
    follow_up: str | None = None

    def then(self, trigger: str) -> None:
        """Fire `trigger` next, in this transaction (e.g. nothing left to approve)."""
        self.follow_up = trigger


@dataclass(slots=True)
class TaskContext(_Common):
    """The world of one decision on a task."""

    task: TaskView | None = None
    decision: str = ""
    #: the entity ids the decision names; None means every undecided one
    items: Sequence[int] | None = None
    reason: str | None = None
