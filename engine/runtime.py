"""Running instances: start a process, fire a trigger, read an instance.

Each call is one transaction: the instance's new state, its audit event and whatever the
step handler wrote commit together or not at all. The instance row carries a version; a
write based on a stale read fails with `Conflict` and leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError

from idmflow.storage import audit, instances
from idmflow.storage import tasks as task_rows
from idmflow.storage.database import write_transaction

from . import mail
from . import tasks as task_ops
from .bulk import EntityOps
from .compiler import CompiledProcess, compile_process
from .context import StepContext
from .definitions import ProcessDefinition, Transition
from .errors import Conflict, DefinitionError, IdmflowError, NotAllowed, NotFound
from .instances import InstanceView
from .options import OptionsProvider
from .ports import Account, Accounts, Clock, Notifier, Producer, UserDirectory
from .reads import EngineReads
from .records import TaskView
from .registry import Registry
from .scripts import OptionScripts
from .tasks import OPEN_STATUSES
from .views import render_mail

Progress = Callable[[int, int], None]


class Engine(EngineReads):
    """The engine a host embeds: processes, instances and the ports they use.

    Build it with `idmflow.engine.open()`, which wires the defaults from `storage/`.
    """

    def __init__(self, db: SqlEngine, *, registry: Registry, directory: UserDirectory,
                 accounts: Accounts, notifier: Notifier | None, clock: Clock,
                 producer: Producer, options: OptionsProvider | None = None) -> None:
        self.db = db
        self.registry = registry
        self.directory = directory
        self.accounts = accounts
        self.notifier = notifier
        self.clock = clock
        self.producer = producer
        #: the option scripts: versions, validation, rules
        self.scripts = OptionScripts(self._transaction, self._connection, registry, accounts,
                                     clock)
        #: where processes get their options: the active script versions unless overridden
        self.options: OptionsProvider = options or self.scripts

    # -- processes -------------------------------------------------------------------

    def processes(self) -> list[ProcessDefinition]:
        """Every registered process, by name."""
        return self.registry.all()

    def definition(self, name: str) -> ProcessDefinition:
        """The process called `name` (`NotFound` lists the known ones)."""
        return self.registry.get(name)

    def compiled(self, name: str, options: Mapping[str, Any] | None = None) -> CompiledProcess:
        """The graph of `name` under `options`, or under the current options."""
        definition = self.definition(name)
        if options is None:
            options = self.options.snapshot(definition).values
        return compile_process(definition, options)

    def diagram(self, name: str, options: Mapping[str, Any] | None = None) -> str:
        """The mermaid diagram of `name` under `options` (default: the current options)."""
        compiled = self.compiled(name, options)
        return compiled.diagram(compiled.definition.title)

    # -- instances -------------------------------------------------------------------

    def start(self, name: str, *, actor: str, input: Mapping[str, Any] | None = None,
              idempotency_key: str | None = None) -> InstanceView:
        """Start `name` as `actor`; the same `idempotency_key` twice returns the first run.

        Raises:
            NotFound: no such process or account.
            NotAllowed: the account lacks every role that may start the process.
        """
        return self.run(name, actor=actor, input=input, idempotency_key=idempotency_key)

    def run(self, name: str, *, actor: str, input: Mapping[str, Any] | None = None,
            steps: Sequence[tuple[str, Mapping[str, Any]]] = (),
            idempotency_key: str | None = None, progress: Progress | None = None
            ) -> InstanceView:
        """Start `name` and fire each (trigger, input) of `steps`, all in one transaction.

        For automation: a refused step leaves nothing behind, not even the instance. The
        same `idempotency_key` twice returns the first run and does nothing else.
        """
        definition = self.definition(name)
        account = self._starter(definition, actor)
        digest = None
        if idempotency_key is not None:
            digest = request_digest(input, steps)
            existing = self._by_key(name, idempotency_key, digest)
            if existing is not None:
                return existing
        try:
            with self._transaction() as conn:
                instance_id = self._start_in(conn, definition, actor, input, idempotency_key,
                                             digest)
                for trigger, step_input in steps:
                    self._fire_in(conn, instance_id, trigger, account, step_input, None, progress)
        except IntegrityError as exc:
            return self._raced(name, idempotency_key, digest, exc)
        return self.instance(instance_id)

    def fire(self, instance_id: int, trigger: str, *, actor: str,
             input: Mapping[str, Any] | None = None, expected_version: int | None = None,
             progress: Progress | None = None) -> InstanceView:
        """Fire `trigger` on an instance as `actor`, running the step's handler.

        Raises:
            NotFound: no such instance or account.
            NotAllowed: the trigger is not allowed in the current state, or not for `actor`.
            Conflict: the instance changed since `expected_version` or during the step.
            InputError: the handler refused the input (nothing is written).
        """
        account = self.account(actor)
        with self._transaction() as conn:
            self._fire_in(conn, instance_id, trigger, account, input, expected_version, progress)
        return self.instance(instance_id)

    def instance(self, instance_id: int) -> InstanceView:
        """The instance as stored now (`NotFound` if there is none)."""
        with self._connection() as conn:
            row = self._load(conn, instance_id)
        return self._view(row, compile_process(self.definition(row.process), row.options))

    def tasks(self, *, actor: str | None = None, statuses: Sequence[str] | None = OPEN_STATUSES,
              text: str | None = None, instance_id: int | None = None,
              limit: int | None = None) -> tuple[list[TaskView], int]:
        """Tasks `actor` may act on by role (open or postponed by default), oldest first,
        and how many match in all; without `actor`, everyone's."""
        return task_ops.find(self, actor=actor, statuses=statuses, text=text,
                             instance_id=instance_id, limit=limit)

    def task(self, task_id: int) -> TaskView:
        """One task (`NotFound` if there is none)."""
        return task_ops.get(self, task_id)

    def decide(self, task_id: int, *, actor: str, decision: str,
               items: Sequence[int] | None = None, reason: str | None = None) -> TaskView:
        """Decide a task: "approve", "reject" (reason required), "postpone", or the
        requester's "abort"; `items` names entities (cards), None means every undecided one.

        Raises:
            Conflict: the task was already decided ("already decided by X").
            NotAllowed: the actor lacks the task's role, it is their own request, or it
                holds an item whose holder is the actor (see `may_decide`).
            InputError: no reason for a rejection, an unknown decision, items not in the task.
        """
        return task_ops.decide(self, task_id, actor=actor, decision=decision, items=items,
                               reason=reason)

    def may_decide(self, task_id: int, *, actor: str, decision: str | None = None
                   ) -> str | None:
        """Why `actor` may not decide `task_id` now (one sentence), or None when they may.

        The rule `decide` applies (`engine/deciders.py`): a closed task, a missing role,
        one's own request, an item one holds (one username is one person). `decision`
        None asks about the decisions of the task's role; a requester decision ("abort")
        asks whether `actor` requested it.

        Raises:
            NotFound: no such task or account.
        """
        return task_ops.may_decide(self, task_id, actor=actor, decision=decision)

    def deliver_mail(self, *, limit: int = 100) -> mail.Delivery:
        """Deliver the mail that is due, once, through the notifier (`open()` wires SMTP)."""
        if self.notifier is None:
            raise IdmflowError("this engine has no notifier to deliver mail with; open it "
                               "with idmflow.engine.open(), which wires SMTP "
                               "(IDMFLOW_SMTP_URL), or pass notifier=")
        with self._db_errors():
            return mail.deliver_due(self.db, self.notifier, self.clock, limit=limit)

    def account(self, username: str) -> Account:
        """The console account `username` (`NotFound` says how to create one)."""
        account = self.accounts.get(username)
        if account is None:
            raise NotFound(f"no account {username!r}; create it, or run `idmflow demo` for "
                           "the demo accounts operator, approver and admin")
        return account

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()

    # -- helpers -----------------------------------------------------------------------

    def _starter(self, definition: ProcessDefinition, actor: str) -> Account:
        account = self.account(actor)
        if definition.start_roles and not account.roles & set(definition.start_roles):
            raise NotAllowed(
                f"{actor!r} may not start {definition.name!r}: it needs the role "
                f"{' or '.join(definition.start_roles)} (the account has "
                f"{', '.join(sorted(account.roles)) or 'no roles'})")
        return account

    def _start_in(self, conn: Connection, definition: ProcessDefinition, actor: str,
                  input: Mapping[str, Any] | None, idempotency_key: str | None,
                  digest: str | None) -> int:
        snapshot = self.options.snapshot(definition)
        compiled = compile_process(definition, snapshot.values)
        now = self.clock.now()
        instance_id = instances.insert_instance(
            conn, process=definition.name, process_version=definition.version,
            state=compiled.initial, idempotency_key=idempotency_key, request_digest=digest,
            started_by=actor,
            options_version=snapshot.version, options=dict(snapshot.values),
            data={"input": dict(input)} if input else {},
            created_at=now, updated_at=now, ended_at=None)
        audit.record(conn, [self._event(now, actor, instance_id, "start", None, compiled.initial)])
        return instance_id

    def _raced(self, name: str, key: str | None, digest: str | None, exc: IntegrityError
               ) -> InstanceView:
        """Two starts with one key raced and the other committed first: return its run."""
        if key is not None and digest is not None:
            existing = self._by_key(name, key, digest)
            if existing is not None:
                return existing
        raise Conflict(f"could not start {name!r}: {exc.orig}") from exc

    def _fire_in(self, conn: Connection, instance_id: int, trigger: str, account: Account,
                 input: Mapping[str, Any] | None, expected_version: int | None,
                 progress: Progress | None, *, system: bool = False) -> None:
        """Fire one trigger inside `conn`'s transaction; `system` skips the actor check."""
        row = self._load(conn, instance_id)
        if expected_version is not None and row.version != expected_version:
            raise Conflict(
                f"instance {instance_id} is at version {row.version}, not "
                f"{expected_version}: someone changed it first; reload it and try again")
        definition = self.definition(row.process)
        compiled = compile_process(definition, row.options)
        transition = compiled.transition(row.state, trigger)
        if not system:
            self._check_actor(row, transition, account)
        dest = compiled.fire(row.state, trigger)
        now = self.clock.now()
        ctx = StepContext(
            **self._common(conn, definition, row, account, now), trigger=trigger,
            source=row.state, dest=dest, input=dict(input or {}), data=dict(row.data or {}),
            open_task=lambda kind, **kw: self._open_task(conn, definition, row, account, now,
                                                         kind, **kw))
        if progress is not None:
            ctx.progress = progress
        if transition.handler is not None:
            transition.handler(ctx)
        if not instances.update_instance(conn, instance_id, expected_version=row.version,
                                         state=dest, data=ctx.data, now=now,
                                         ended=compiled.is_final(dest)):
            raise Conflict(
                f"instance {instance_id} was changed by someone else while {trigger!r} ran "
                f"(version {row.version} is stale); nothing was written; reload it and try again")
        audit.record(conn, [self._event(now, account.username, instance_id, trigger, row.state,
                                        dest, reason=_reason(ctx.input))])
        if ctx.follow_up is not None:
            self._fire_in(conn, instance_id, ctx.follow_up, account, None, None, progress,
                          system=True)

    def _common(self, conn: Connection, definition: ProcessDefinition, row: Row[Any],
                account: Account, now: dt.datetime) -> dict[str, Any]:
        """What step handlers and task decisions both get, bound to this transaction."""
        return {
            "instance": self._view(row, compile_process(definition, row.options)),
            "actor": account, "options": row.options, "directory": self.directory,
            "accounts": self.accounts, "clock": self.clock,
            "entities": EntityOps(conn, actor=account.username, instance_id=row.id, now=now),
            "apply_rule": lambda rule, items: self.scripts.apply_rule(
                definition, row.options_version, rule, items),
            "notify": lambda notification: mail.enqueue(conn, notification, now),
            "render_mail": lambda name, **context: render_mail(definition, name, **context),
            "producer": self.producer,
        }

    def _open_task(self, conn: Connection, definition: ProcessDefinition, row: Row[Any],
                   account: Account, now: dt.datetime, kind: str, *, title: str,
                   payload: Mapping[str, Any]) -> int:
        spec = definition.task(kind)
        role = str(row.options[spec.role_option]) if spec.role_option else spec.role
        if not role:
            raise DefinitionError(definition.name, [f"task {kind!r} names no role"])
        task_id = task_rows.insert_task(
            conn, instance_id=row.id, process=definition.name, kind=kind, role=role,
            title=title, requested_by=row.started_by, payload=dict(payload), created_at=now,
            updated_at=now, closed_at=None, decided_by=None, decision=None, reason=None)
        audit.record(conn, [{"at": now, "actor": account.username, "subject_kind": "task",
                             "subject_id": task_id, "instance_id": row.id, "trigger": "open",
                             "source": None, "dest": "open", "reason": None}])
        return task_id

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._db_errors():
            with write_transaction(self.db) as conn:
                yield conn

    def _load(self, conn: Connection, instance_id: int) -> Row[Any]:
        row = instances.load_instance(conn, instance_id)
        if row is None:
            raise NotFound(f"no process instance {instance_id}")
        return row

    def _by_key(self, name: str, key: str, digest: str) -> InstanceView | None:
        """The run started with `key`, if any; `Conflict` when it asked for something else."""
        with self._connection() as conn:
            row = instances.find_by_key(conn, name, key)
        if row is None:
            return None
        if row.request_digest is not None and row.request_digest != digest:
            raise Conflict(
                f"idempotency key {key!r} was used by instance {row.id} of {name!r} (started by "
                f"{row.started_by} at {row.created_at:%Y-%m-%d %H:%M:%S}) for a different "
                "request; repeat that request exactly to get its result, or use a new key")
        return self.instance(row.id)

    def _check_actor(self, row: Row[Any], transition: Transition, account: Account) -> None:
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

    @staticmethod
    def _event(now: Any, actor: str, instance_id: int, trigger: str, source: str | None,
               dest: str, reason: str | None = None) -> dict[str, Any]:
        return {"at": now, "actor": actor, "subject_kind": "instance", "subject_id": instance_id,
                "instance_id": instance_id, "trigger": trigger, "source": source, "dest": dest,
                "reason": reason}

    @staticmethod
    def _view(row: Row[Any], compiled: CompiledProcess) -> InstanceView:
        return InstanceView(
            id=row.id, process=row.process, state=row.state, version=row.version,
            started_by=row.started_by, options_version=row.options_version,
            options=row.options, data=row.data or {}, created_at=row.created_at,
            updated_at=row.updated_at, ended_at=row.ended_at,
            triggers=tuple(compiled.triggers(row.state)), idempotency_key=row.idempotency_key)


def request_digest(input: Mapping[str, Any] | None,
                   steps: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """A hash of what a start asks for, so one idempotency key stands for one request."""
    asked = {"input": dict(input or {}), "steps": [[t, dict(i or {})] for t, i in steps]}
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _reason(values: Mapping[str, Any]) -> str | None:
    reason = values.get("reason")
    return None if reason is None else str(reason)
