"""The unit of work: one transaction's connection and time, and everything that writes in it.

Starting an instance, firing a trigger (running its step handler), opening a task and
recording audit events all happen on a `UnitOfWork`; deciding a task (`engine/tasks.py`)
works on one too. Whatever a step handler does through its context lands in the same
transaction: it commits with the new state and its audit event, or not at all. `Engine`
(`engine/runtime.py`) is a facade: each of its writing methods opens one unit, calls it,
and lets it commit.

A unit holds one time (`now`) for the whole transaction, so every row and event it writes
carries the same instant, and a fixed `Clock` makes a test's rows exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from sqlalchemy import Connection
from sqlalchemy import Engine as SqlEngine

from idmflow.storage import audit, instances
from idmflow.storage import tasks as task_rows
from idmflow.storage.database import write_transaction
from idmflow.storage.instances import InstanceRow

from . import mail
from .bulk import EntityOps
from .compiler import CompiledProcess, compile_process
from .context import Effects, Entities, StepContext, TaskContext
from .definitions import ProcessDefinition, Transition
from .errors import Conflict, DefinitionError, NotAllowed, NotFound
from .instances import InstanceView
from .migration import check_version
from .options import OptionsProvider
from .ports import Account, Accounts, Clock, Notification, Producer, UserDirectory
from .records import TaskView
from .registry import Registry
from .views import render_mail

#: `progress(done, total)` of a long step
Progress = Callable[[int, int], None]


class Rules(Protocol):
    """Runs the rules of option scripts (the engine's `OptionScripts`)."""

    def apply_rule(self, definition: ProcessDefinition, options_version: str, rule: str,
                   items: Sequence[Any]) -> list[Any]:
        """`rule` for every item, as script version `options_version` defines it."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """The parts of an engine a unit of work uses: the processes, the ports, the options."""

    registry: Registry
    directory: UserDirectory
    accounts: Accounts
    clock: Clock
    producer: Producer
    options: OptionsProvider
    rules: Rules


class UnitOfWork:
    """One transaction: its connection, its time, and the writes of the engine in it.

    Build one with `UnitOfWork.writing(db, services)` (it commits when the block ends
    without an error and rolls back otherwise), or `reading` for questions that write nothing.
    """

    def __init__(self, services: Services, conn: Connection, now: dt.datetime) -> None:
        self.services = services
        self.conn = conn
        self.now = now

    @classmethod
    @contextmanager
    def writing(cls, db: SqlEngine, services: Services) -> Iterator[UnitOfWork]:
        """A unit in a write transaction (SQLite: BEGIN IMMEDIATE), committed at the end."""
        with write_transaction(db) as conn:
            yield cls(services, conn, services.clock.now())

    @classmethod
    @contextmanager
    def reading(cls, db: SqlEngine, services: Services) -> Iterator[UnitOfWork]:
        """A unit over a plain connection, for reads."""
        with db.connect() as conn:
            yield cls(services, conn, services.clock.now())

    # -- instances -----------------------------------------------------------------------

    def load(self, instance_id: int) -> InstanceRow:
        """The instance as stored (`NotFound` if there is none)."""
        row = instances.load_instance(self.conn, instance_id)
        if row is None:
            raise NotFound(f"no process instance {instance_id}")
        return row

    def definition(self, row: InstanceRow) -> ProcessDefinition:
        """The definition an instance runs."""
        return self.services.registry.get(row.process)

    def start(self, definition: ProcessDefinition, actor: str, *,
              input: Mapping[str, Any] | None = None, idempotency_key: str | None = None,
              digest: str | None = None) -> int:
        """A new instance of `definition` in its first step, under the current options."""
        snapshot = self.services.options.snapshot(definition)
        compiled = compile_process(definition, snapshot.values)
        instance_id = instances.insert_instance(
            self.conn, process=definition.name, process_version=definition.version,
            state=compiled.initial, idempotency_key=idempotency_key, request_digest=digest,
            started_by=actor, options_version=snapshot.version, options=dict(snapshot.values),
            data={"input": dict(input)} if input else {}, created_at=self.now,
            updated_at=self.now, ended_at=None)
        self.record(actor, "instance", instance_id, instance_id, "start", None,
                    compiled.initial)
        return instance_id

    def fire(self, instance_id: int, trigger: str, account: Account, *,
             input: Mapping[str, Any] | None = None, expected_version: int | None = None,
             progress: Progress | None = None, system: bool = False) -> None:
        """Fire one trigger, running the step's handler; `system` skips the actor check
        (the engine firing a task's completion).

        Raises:
            NotAllowed: the trigger is not allowed in this state, or not for `account`.
            Conflict: the instance changed since `expected_version` or while the step ran.
        """
        row = self.load(instance_id)
        if expected_version is not None and row.version != expected_version:
            raise Conflict(
                f"instance {instance_id} is at version {row.version}, not "
                f"{expected_version}: someone changed it first; reload it and try again")
        definition = self.definition(row)
        check_version(definition, instance_id, row.process_version)
        compiled = compile_process(definition, row.options)
        transition = compiled.transition(row.state, trigger)
        if not system:
            _check_actor(row, transition, account)
        dest = compiled.fire(row.state, trigger)
        ctx = StepContext(**self._parts(definition, compiled, row, account, progress),
                          trigger=trigger, source=row.state, dest=dest,
                          input=dict(input or {}), data=dict(row.data or {}))
        if transition.handler is not None:
            transition.handler(ctx)
        if not instances.update_instance(self.conn, instance_id, expected_version=row.version,
                                         state=dest, data=ctx.data, now=self.now,
                                         ended=compiled.is_final(dest)):
            raise Conflict(
                f"instance {instance_id} was changed by someone else while {trigger!r} ran "
                f"(version {row.version} is stale); nothing was written; reload it and try again")
        self.record(account.username, "instance", instance_id, instance_id, trigger, row.state,
                    dest, reason=_reason(ctx.input))
        if ctx.follow_up is not None:
            self.fire(instance_id, ctx.follow_up, account, progress=progress, system=True)

    def view(self, row: InstanceRow) -> InstanceView:
        """The instance as callers see it, with the triggers its state allows."""
        return instance_view(row, compile_process(self.definition(row), row.options))

    # -- tasks ---------------------------------------------------------------------------

    def open_task(self, definition: ProcessDefinition, row: InstanceRow, account: Account,
                  kind: str, *, title: str, payload: Mapping[str, Any]) -> int:
        """Open a task of `definition`'s `TaskSpec` `kind` on an instance; its id."""
        spec = definition.task(kind)
        role = str(row.options[spec.role_option]) if spec.role_option else spec.role
        if not role:
            raise DefinitionError(definition.name, [f"task {kind!r} names no role"])
        task_id = task_rows.insert_task(
            self.conn, instance_id=row.id, process=definition.name, kind=kind, role=role,
            title=title, requested_by=row.started_by, payload=dict(payload),
            created_at=self.now, updated_at=self.now, closed_at=None, decided_by=None,
            decision=None, reason=None)
        self.record(account.username, "task", task_id, row.id, "open", None, "open")
        return task_id

    def task_context(self, definition: ProcessDefinition, row: InstanceRow, account: Account,
                     task: TaskView, *, decision: str, items: Sequence[int] | None,
                     reason: str | None) -> TaskContext:
        """The context a `TaskSpec.decide` gets, bound to this transaction."""
        compiled = compile_process(definition, row.options)
        return TaskContext(**self._parts(definition, compiled, row, account, None), task=task,
                           decision=decision, items=items, reason=reason)

    # -- the audit log -------------------------------------------------------------------

    def record(self, actor: str, subject_kind: str, subject_id: int, instance_id: int | None,
               trigger: str, source: str | None, dest: str | None, *,
               reason: str | None = None, data: Mapping[str, Any] | None = None) -> None:
        """Append one audit event at this unit's time."""
        audit.record(self.conn, [audit.event(
            at=self.now, actor=actor, subject_kind=subject_kind, subject_id=subject_id,
            instance_id=instance_id, trigger=trigger, source=source, dest=dest, reason=reason,
            data=data)])

    def entities(self, actor: str, instance_id: int | None) -> EntityOps:
        """Entity writes of `actor` for `instance_id`, in this transaction."""
        return EntityOps(self.conn, actor=actor, instance_id=instance_id, now=self.now)

    # -- helpers -------------------------------------------------------------------------

    def _parts(self, definition: ProcessDefinition, compiled: CompiledProcess,
               row: InstanceRow, account: Account, progress: Progress | None) -> _Parts:
        """What step handlers and decisions both get, bound to this transaction."""
        s = self.services
        return {"instance": instance_view(row, compiled), "actor": account,
                "options": row.options, "directory": s.directory, "accounts": s.accounts,
                "clock": s.clock, "producer": s.producer,
                "entities": self.entities(account.username, row.id),
                "effects": _Effects(self, definition, row, account, progress)}


class _Parts(TypedDict):
    """What step and task contexts share, typed for `StepContext(**parts, ...)`."""

    instance: InstanceView
    actor: Account
    options: Mapping[str, Any]
    directory: UserDirectory
    accounts: Accounts
    clock: Clock
    producer: Producer
    entities: Entities
    effects: Effects


class _Effects:
    """The `Effects` of one context: its process, instance and actor, in one unit."""

    def __init__(self, unit: UnitOfWork, definition: ProcessDefinition, row: InstanceRow,
                 account: Account, progress: Progress | None) -> None:
        self._unit = unit
        self._definition = definition
        self._row = row
        self._account = account
        self._progress = progress

    def apply_rule(self, rule: str, items: Sequence[Any]) -> list[Any]:
        return self._unit.services.rules.apply_rule(self._definition, self._row.options_version,
                                                    rule, items)

    def notify(self, notification: Notification) -> None:
        mail.enqueue(self._unit.conn, notification, self._unit.now)

    def render_mail(self, name: str, context: Mapping[str, Any]) -> tuple[str, str | None]:
        return render_mail(self._definition, name, **context)

    def open_task(self, kind: str, *, title: str, payload: Mapping[str, Any]) -> int:
        return self._unit.open_task(self._definition, self._row, self._account, kind,
                                    title=title, payload=payload)

    def progress(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(done, total)


def instance_view(row: InstanceRow, compiled: CompiledProcess) -> InstanceView:
    """A stored instance as an `InstanceView` (the triggers from its compiled graph)."""
    return InstanceView(
        id=row.id, process=row.process, state=row.state, version=row.version,
        started_by=row.started_by, options_version=row.options_version,
        options=row.options, data=row.data or {}, created_at=row.created_at,
        updated_at=row.updated_at, ended_at=row.ended_at,
        triggers=tuple(compiled.triggers(row.state)), idempotency_key=row.idempotency_key,
        held=row.held)


def _check_actor(row: InstanceRow, transition: Transition, account: Account) -> None:
    if transition.automatic:
        raise NotAllowed(f"trigger {transition.trigger!r} of instance {row.id} is fired by "
                         "idmflow itself (e.g. when its task is decided), not by people")
    if transition.roles:
        if not account.roles & set(transition.roles):
            raise NotAllowed(f"{account.username!r} may not {transition.trigger!r} instance "
                             f"{row.id}: it needs the role {' or '.join(transition.roles)}")
    elif account.username != row.started_by:
        raise NotAllowed(f"{account.username!r} may not {transition.trigger!r} instance "
                         f"{row.id}: only {row.started_by!r}, who started it, may")


def _reason(values: Mapping[str, Any]) -> str | None:
    reason = values.get("reason")
    return None if reason is None else str(reason)
