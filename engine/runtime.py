"""`Engine`: the facade a host embeds, over one unit of work per call.

Each writing call opens one `UnitOfWork` (`engine/unit.py`), which holds the transaction:
the instance's new state, its audit event and whatever the step handler wrote commit
together or not at all. The instance row carries a version; a write based on a stale read
fails with `Conflict` and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError

from idmflow.storage import instances, outbox
from idmflow.storage.database import write_transaction

from . import background, mail, retention
from . import tasks as task_ops
from .compiler import CompiledProcess, compile_process
from .definitions import ProcessDefinition
from .errors import Conflict, IdmflowError, InputError, NotAllowed, NotFound, RuleFailed
from .instances import InstanceView
from .jobs import Jobs
from .migration import OptionMigration
from .options import OptionsProvider
from .ports import Account, Accounts, Clock, Notifier, Producer, UserDirectory
from .reads import EngineReads
from .records import TaskView
from .registry import Registry
from .schedules import effective_crons
from .scripts import OptionScripts
from .tasks import OPEN_STATUSES
from .unit import Progress, Services, UnitOfWork
from .worker import Worker


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
        #: background work: the kinds of job this engine runs, and its queue
        self.jobs = Jobs(self)
        self.jobs.register(mail.DELIVER)
        self.jobs.register(background.step_kind(self))
        for definition in registry.all():
            for kind in definition.jobs:
                self.jobs.register(kind)
            for schedule in definition.schedules:
                self.jobs.schedule(schedule, process=definition.name)
        self.jobs.crons = lambda: effective_crons(
            self.jobs.schedules,
            lambda process, option: self.options.snapshot(self.definition(process))
            .values.get(option))
        self.jobs.register(retention.kind(lambda dry_run: self.purge(dry_run=dry_run)))
        self.jobs.schedule(retention.SCHEDULE)
        self._migration = OptionMigration(self._transaction, self._connection, registry,
                                          self.scripts, clock)

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
            with self._unit() as unit:
                instance_id = unit.start(definition, actor, input=input,
                                         idempotency_key=idempotency_key, digest=digest)
                for trigger, step_input in steps:
                    unit.fire(instance_id, trigger, account, input=step_input,
                              progress=progress)
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
        try:
            with self._unit() as unit:
                unit.fire(instance_id, trigger, account, input=input,
                          expected_version=expected_version, progress=progress)
        except RuleFailed as exc:  # noted on the instance: an admin may migrate it
            self._migration.record_failure(instance_id, trigger=trigger, actor=actor, error=exc)
            raise
        return self.instance(instance_id)

    def migrate_options(self, instance_id: int, *, actor: str) -> InstanceView:
        """Move an instance to the current option-script version (admins only), audited:
        for an instance stuck on a version whose rule fails, once the script is fixed.

        Raises:
            NotAllowed: not an admin, the instance ended, nothing to migrate, or its step is
                switched off by the current options.
            OptionScriptError: the rule that failed for it still fails (nothing changes).
        """
        self._migration.migrate(instance_id, actor=actor, options=self.options)
        return self.instance(instance_id)

    def instance(self, instance_id: int) -> InstanceView:
        """The instance as stored now (`NotFound` if there is none)."""
        with self._reading() as unit:
            return unit.view(unit.load(instance_id))

    def tasks(self, *, actor: str | None = None, statuses: Sequence[str] | None = OPEN_STATUSES,
              text: str | None = None, instance_id: int | None = None,
              limit: int | None = None) -> tuple[list[TaskView], int]:
        """Tasks `actor` may act on by role (open or postponed by default), oldest first,
        and how many match in all; without `actor`, everyone's."""
        roles = sorted(self.account(actor).roles) if actor is not None else None
        with self._reading() as unit:
            return task_ops.find(unit, roles=roles, statuses=statuses, text=text,
                                 instance_id=instance_id, limit=limit)

    def task(self, task_id: int) -> TaskView:
        """One task (`NotFound` if there is none)."""
        with self._reading() as unit:
            return task_ops.get(unit, task_id)

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
        account = self.account(actor)
        with self._unit() as unit:
            task_ops.decide(unit, task_id, account=account, decision=decision, items=items,
                            reason=reason)
        return self.task(task_id)

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
        account = self.account(actor)
        with self._reading() as unit:
            return task_ops.may_decide(unit, task_id, account=account, decision=decision)

    def deliver_mail(self, *, limit: int = 100) -> mail.Delivery:
        """Deliver the mail that is due, once, through the notifier (`open()` wires SMTP)."""
        if self.notifier is None:
            raise IdmflowError("this engine has no notifier to deliver mail with; open it "
                               "with idmflow.engine.open(), which wires SMTP "
                               "(IDMFLOW_SMTP_URL), or pass notifier=")
        with self._db_errors():
            return mail.Delivery.of(self.worker(queues=[mail.DELIVER.queue]).run_due(limit=limit))

    def retry_mail(self, mail_ids: Sequence[int] | None = None, *, failed: bool = False
                   ) -> list[int]:
        """Send mails again now: these (failed, or pending before their time), or every
        failed one. Returns the ids requeued; a sent mail is never requeued."""
        with self._transaction() as conn:
            ids = list(mail_ids or ())
            if failed:
                rows, _total = outbox.find_mail(conn, status="failed")
                ids += [r.id for r in rows]
            return mail.requeue(conn, ids, self.clock.now())

    def fire_in_background(self, instance_id: int, trigger: str, *, actor: str,
                           expected_version: int, input: Mapping[str, Any] | None = None
                           ) -> int:
        """Queue the step for a worker (a batch's Next over many users); returns the job's id.

        The refusals that need no step (no such instance or account) come at once; the step's
        own (bad input, a changed instance) end up in the job's result.
        """
        self.account(actor)
        self.instance(instance_id)
        return self.jobs.enqueue(background.STEP, background.step_payload(
            instance_id, trigger, actor=actor, expected_version=expected_version, input=input),
            instance_id=instance_id)

    def purge(self, *, dry_run: bool = False) -> dict[str, int]:
        """Forget what is past its retention (each process's `retention`, its options, the
        engine's defaults), in small chunks; with `dry_run`, count it. How many of each."""
        kept: dict[str, retention.Retention] = {}
        for definition in self.registry.all():
            values = self.options.snapshot(definition).values
            kept[definition.name] = retention.effective(
                definition.retention or retention.DEFAULT, values.get)
        with self._db_errors():
            return retention.purge(self._transaction, self.clock.now(), kept, dry_run=dry_run)

    def hold(self, instance_id: int, *, actor: str, reason: str, release: bool = False
             ) -> InstanceView:
        """Put an instance on hold (kept, with its audit events, past its retention) or
        release it; an admin's act, audited with the reason."""
        account = self.account(actor)
        if "admin" not in account.roles:
            raise NotAllowed(f"{actor} may not hold instances: that is an admin's act")
        if not reason.strip():
            raise InputError("give a reason for the hold (e.g. the case or ticket it is for)")
        with self._unit() as unit:
            row = unit.load(instance_id)
            instances.set_held(unit.conn, instance_id, not release, unit.now)
            unit.record(actor, "instance", instance_id, instance_id,
                        "release" if release else "hold", row.state, row.state,
                        reason=reason.strip())
        return self.instance(instance_id)

    def worker(self, *, queues: Sequence[str] | None = None, concurrency: int = 1,
               poll: float = 1.0) -> Worker:
        """A worker over this engine's jobs: `start()` it in the background (and `stop()` it),
        or `run_due()` in the caller's thread. `idmflow worker` runs one as a process."""
        return Worker(self.jobs, queues=queues, concurrency=concurrency, poll=poll)

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

    def _raced(self, name: str, key: str | None, digest: str | None, exc: IntegrityError
               ) -> InstanceView:
        """Two starts with one key raced and the other committed first: return its run."""
        if key is not None and digest is not None:
            existing = self._by_key(name, key, digest)
            if existing is not None:
                return existing
        raise Conflict(f"could not start {name!r}: {exc.orig}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._db_errors():
            with write_transaction(self.db) as conn:
                yield conn

    def _services(self) -> Services:
        return Services(registry=self.registry, directory=self.directory,
                        accounts=self.accounts, clock=self.clock, producer=self.producer,
                        options=self.options, rules=self.scripts)

    @contextmanager
    def _unit(self) -> Iterator[UnitOfWork]:
        """One unit of work in a write transaction, committed when the block ends."""
        with self._db_errors():
            with UnitOfWork.writing(self.db, self._services()) as unit:
                yield unit

    @contextmanager
    def _reading(self) -> Iterator[UnitOfWork]:
        with self._db_errors():
            with UnitOfWork.reading(self.db, self._services()) as unit:
                yield unit

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


def request_digest(input: Mapping[str, Any] | None,
                   steps: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """A hash of what a start asks for, so one idempotency key stands for one request."""
    asked = {"input": dict(input or {}), "steps": [[t, dict(i or {})] for t, i in steps]}
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
