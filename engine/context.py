"""What process code sees: `StepContext` for step handlers, `TaskContext` for decisions.

Both run inside the transaction of what triggered them: whatever they write through
`entities`, `open_task` or `notify` commits with the new state and its audit event, or not
at all (a crash never sends a mail for a decision that did not commit).

A context is plain data plus typed methods. What the methods do beyond the context's own
data goes through two Protocols: `Entities` (entity writes and reads) and `Effects` (rules,
mail, tasks, progress). The engine's unit of work provides both, bound to its transaction;
a process author's unit test builds a context by hand with a fake `Entities` and a
`Recorder` (`idmflow.engine.recording`), no database needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from .definitions import Lifecycle
from .instances import InstanceView
from .ports import Account, Accounts, Clock, Notification, Producer, UserDirectory
from .records import EntityRecord, TaskView


class Entities(Protocol):
    """Entities (cards) as a step or decision writes and reads them, in its transaction.

    The engine's implementation is set-based (`engine/bulk.py`): one statement per call,
    whatever the number of rows.
    """

    def create(self, lifecycle: Lifecycle, items: Sequence[tuple[str, str]], *, trigger: str,
               dest: str, progress: Callable[[int], None] | None = None) -> int:
        """Create one entity per (subject, type) straight into `dest`; returns the count."""
        ...

    def atomic(self) -> AbstractContextManager[None]:
        """A block whose writes all happen or none (an error leaving it undoes them)."""
        ...

    def move(self, lifecycle: Lifecycle, trigger: str, dest: str, *,
             ids: Sequence[int] | None = None, instance_id: int | None = None,
             reason: str | None = None) -> int:
        """Move every selected entity that `trigger` may move to `dest`; returns the count."""
        ...

    def outside(self, lifecycle: Lifecycle, ids: Sequence[int], *, instance_id: int
                ) -> list[int]:
        """Those of `ids` that are no entity of `instance_id`."""
        ...

    def count(self, lifecycle: Lifecycle, *, instance_id: int | None = None,
              state: str | None = None) -> int:
        """How many entities of `lifecycle` match."""
        ...

    def get_many(self, lifecycle: Lifecycle, ids: Sequence[int], *, lock: bool = False
                 ) -> dict[int, EntityRecord]:
        """The entities among `ids` that exist, by id."""
        ...

    def find(self, lifecycle: Lifecycle, *, state: str | None = None,
             instance_id: int | None = None) -> tuple[list[EntityRecord], int]:
        """Every matching entity, oldest first, and the count."""
        ...

    def holders(self, lifecycle: Lifecycle, *, type: str, states: Sequence[str],
                subjects: Sequence[str]) -> dict[str, tuple[int, int | None]]:
        """Which `subjects` hold an entity of `type` in one of `states`: (entity id,
        instance id) of the oldest."""
        ...


class Effects(Protocol):
    """What a context does beyond its own data, bound to the process and its transaction."""

    def apply_rule(self, rule: str, items: Sequence[Any]) -> list[Any]:
        """A rule of the option script for every item, in one call."""
        ...

    def notify(self, notification: Notification) -> None:
        """Queue a mail in the outbox, in this transaction."""
        ...

    def render_mail(self, name: str, context: Mapping[str, Any]) -> tuple[str, str | None]:
        """(text, html) of the process's mail template `name`."""
        ...

    def open_task(self, kind: str, *, title: str, payload: Mapping[str, Any]) -> int:
        """Open a human task of the process's `TaskSpec` `kind`; returns its id."""
        ...

    def progress(self, done: int, total: int) -> None:
        """Report how far a long step is (a progress bar, if someone watches)."""
        ...


@dataclass(slots=True, kw_only=True)
class _Context:
    instance: InstanceView
    actor: Account
    #: the options the instance started with
    options: Mapping[str, Any]
    directory: UserDirectory
    accounts: Accounts
    clock: Clock
    #: the production service (a card printer)
    producer: Producer
    entities: Entities
    effects: Effects

    def apply_rule(self, rule: str, items: Sequence[Any]) -> list[Any]:
        """The option script's `rule` for every item, in one sandbox call (the process's
        default where the instance's script version does not define it)."""
        return self.effects.apply_rule(rule, items)

    def notify(self, notification: Notification) -> None:
        """Queue a mail in the outbox, in this transaction: sent only if it commits."""
        self.effects.notify(notification)

    def render_mail(self, name: str, **context: Any) -> tuple[str, str | None]:
        """(text, html) of the process's `mail/NAME.txt` (and `.html`), autoescaped."""
        return self.effects.render_mail(name, context)


@dataclass(slots=True, kw_only=True)
class StepContext(_Context):
    """The world of one step handler."""

    trigger: str
    source: str
    dest: str
    input: Mapping[str, Any] = field(default_factory=dict)
    #: the instance's data, saved with the new state; replace keys, don't mutate in place
    data: dict[str, Any] = field(default_factory=dict)
    #: a trigger to fire right after this one, in the same transaction (see `then`)
    follow_up: str | None = None

    def open_task(self, kind: str, *, title: str, payload: Mapping[str, Any]) -> int:
        """Open a human task of kind `kind` for the role its `TaskSpec` names; its id."""
        return self.effects.open_task(kind, title=title, payload=payload)

    def progress(self, done: int, total: int) -> None:
        """Report progress of a long step (the CLI shows a bar)."""
        self.effects.progress(done, total)

    def then(self, trigger: str) -> None:
        """Fire `trigger` next, in this transaction (e.g. nothing left to approve)."""
        self.follow_up = trigger


@dataclass(slots=True, kw_only=True)
class TaskContext(_Context):
    """The world of one decision on a task."""

    task: TaskView
    decision: str
    #: the entity ids the decision names; None means every undecided one
    items: Sequence[int] | None = None
    reason: str | None = None
