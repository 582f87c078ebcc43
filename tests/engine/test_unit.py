"""The unit of work on its own: start -> fire -> open task -> decide -> complete.

A temporary SQLite file, a fixed clock, a notifier that collects (the mail jobs run by a
worker in this thread), a small process of the test's own; no `Engine`, no CLI, no card
process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as SqlEngine

from idmflow.engine import (Account, DeclaredDefaults, DirectoryUser, Lifecycle, NotAllowed,
                            Notification, OptionSpec, ProcessDefinition, ProductionOrder,
                            ProductionResult, Registry, Step, StepContext, TaskContext,
                            TaskSpec, Transition, UserQuery, upgrade_schema)
from idmflow.engine import mail, tasks
from idmflow.engine.jobs import Jobs
from idmflow.engine.unit import Services, UnitOfWork
from idmflow.engine.worker import Worker
from idmflow.storage.database import connect
from idmflow.storage.outbox import find_mail

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone.utc)
#: what SQLite gives back of NOW (it stores no time zone)
STORED = NOW.replace(tzinfo=None)
OLGA = Account("olga", "olga@example.org", frozenset({"clerk"}))
PAUL = Account("paul", "paul@example.org", frozenset({"checker"}))
ANN = Account("ann", "ann@example.org", frozenset({"checker"}))

BADGE = Lifecycle("badge", states=("new", "waiting", "granted", "refused"), initial="new",
                  final=("granted", "refused"),
                  transitions=(Transition("ask", "new", "waiting"),
                               Transition("grant", "waiting", "granted"),
                               Transition("refuse", "waiting", "refused")))


def ask(ctx: StepContext) -> None:
    people = list(ctx.input["people"])
    ctx.entities.create(BADGE, [(p, "visitor") for p in people], trigger="ask", dest="waiting")
    task_id = ctx.open_task("check", title=f"{len(people)} badge(s)", payload={"n": len(people)})
    ctx.data.update(task=task_id)
    ctx.notify(Notification(to=("checkers@example.org",), subject=f"Check task {task_id}",
                            text=f"{len(people)} badge(s) wait for you"))


def decide(ctx: TaskContext) -> int:
    trigger, dest = ("grant", "granted") if ctx.decision == "approve" else ("refuse", "refused")
    ctx.entities.move(BADGE, trigger, dest, ids=ctx.items, instance_id=ctx.instance.id,
                      reason=ctx.reason)
    ctx.notify(Notification(to=(OLGA.email,), subject=f"Badges {dest} by {ctx.actor.username}",
                            text=f"task {ctx.task.id}"))
    return ctx.entities.count(BADGE, instance_id=ctx.instance.id, state="waiting")


VISITS = ProcessDefinition(
    name="Visits", title="Visitor badges", start_roles=("clerk",),
    options=(OptionSpec("VisitsChecker", str, default="checker", doc="Who checks."),),
    steps=(Step("draft", view="draft.html"), Step("checking", view="checking.html"),
           Step("done", final=True)),
    transitions=(Transition("ask", "draft", "checking", handler=ask),
                 Transition("complete", "checking", "done", automatic=True)),
    tasks=(TaskSpec(kind="check", decide=decide, role_option="VisitsChecker"),),
    lifecycles=(BADGE,))


class Accounts:
    def get(self, username: str) -> Account | None:
        return {a.username: a for a in (OLGA, PAUL, ANN)}.get(username)

    def with_role(self, role: str) -> list[Account]:
        return [a for a in (ANN, OLGA, PAUL) if role in a.roles]


class NoDirectory:
    def get_many(self, usernames: Sequence[str]) -> dict[str, DirectoryUser]:
        return {}

    def search(self, query: UserQuery) -> list[DirectoryUser]:
        return []

    def count(self, query: UserQuery) -> int:
        return 0

    def iter_usernames(self, query: UserQuery) -> Iterator[str]:
        return iter(())


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


class NoProduction:
    def produce(self, orders: Sequence[ProductionOrder]) -> list[ProductionResult]:
        raise AssertionError("nothing is produced here")


class Defaults:
    """Rules at the process's defaults (this process has none)."""

    def apply_rule(self, definition: ProcessDefinition, options_version: str, rule: str,
                   items: Sequence[Any]) -> list[Any]:
        return definition.rule(rule).apply_default(items)


class Collecting:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


@dataclass
class Host:
    """What the mail jobs need of an engine: the database, the time, the notifier."""

    db: SqlEngine
    clock: FixedClock
    notifier: Collecting


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlEngine]:
    engine = connect(f"sqlite:///{tmp_path / 'unit.db'}")
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def services() -> Services:
    registry = Registry()
    registry.add(VISITS)
    return Services(registry=registry, directory=NoDirectory(), accounts=Accounts(),
                    clock=FixedClock(), producer=NoProduction(), options=DeclaredDefaults(),
                    rules=Defaults())


def test_start_fire_open_task_decide_complete(db: SqlEngine, services: Services) -> None:
    with UnitOfWork.writing(db, services) as unit:
        instance_id = unit.start(VISITS, OLGA.username)
        unit.fire(instance_id, "ask", OLGA, input={"people": ["ann", "bea", "cem"]})
        row = unit.load(instance_id)
        assert (row.state, row.version, row.process_version) == ("checking", 2, "1")
        task_id = row.data["task"]
    with UnitOfWork.reading(db, services) as unit:
        (task,), total = tasks.find(unit, roles=["checker"])
        assert total == 1 and (task.id, task.role, task.requested_by) == (task_id, "checker",
                                                                          "olga")
        # ann holds a badge of this request: the one rule refuses her, paul may
        assert "holds badge 1 of the directory user 'ann'" in (
            tasks.may_decide(unit, task_id, account=ANN) or "")
        assert tasks.may_decide(unit, task_id, account=PAUL) is None
    with UnitOfWork.writing(db, services) as unit:
        badges = unit.entities(PAUL.username, instance_id).find(BADGE)[0]
        tasks.decide(unit, task_id, account=PAUL, decision="reject", reason="unknown",
                     items=[badges[2].id])
        tasks.decide(unit, task_id, account=PAUL, decision="approve")
        view = unit.view(unit.load(instance_id))
        assert (view.state, view.ended_at, view.triggers) == ("done", STORED, ())
        assert tasks.get(unit, task_id).status == "done"
        states = {b.subject: b.state
                  for b in unit.entities(PAUL.username, instance_id).find(BADGE)[0]}
        assert states == {"ann": "granted", "bea": "granted", "cem": "refused"}
    with db.connect() as conn:
        from idmflow.storage.audit import history

        trail = [(e.subject_kind, e.actor, e.trigger, e.source, e.dest, e.at == STORED)
                 for e in history(conn, instance_id=instance_id) if e.subject_kind != "badge"]
        mails, _ = find_mail(conn)
    assert trail == [("instance", "olga", "start", None, "draft", True),
                     ("task", "olga", "open", None, "open", True),  # by the handler
                     ("instance", "olga", "ask", "draft", "checking", True),
                     ("task", "paul", "reject", "open", "open", True),
                     ("task", "paul", "approve", "open", "done", True),
                     ("instance", "paul", "complete", "checking", "done", True)]
    assert len(mails) == 3
    collected = Collecting()
    jobs = Jobs(Host(db, FixedClock(), collected))
    jobs.register(mail.DELIVER)
    outcomes = Worker(jobs, queues=[mail.DELIVER.queue]).run_due()
    assert [o.state for o in outcomes] == ["succeeded"] * 3
    assert sorted(n.subject for n in collected.sent) == [
        "Badges granted by paul", "Badges refused by paul", f"Check task {task_id}"]


def test_a_unit_that_fails_writes_nothing(db: SqlEngine, services: Services) -> None:
    with UnitOfWork.writing(db, services) as unit:
        instance_id = unit.start(VISITS, OLGA.username)
    with pytest.raises(NotAllowed, match="only 'olga', who started it"):
        with UnitOfWork.writing(db, services) as unit:
            unit.record("paul", "instance", instance_id, instance_id, "note", None, None)
            unit.fire(instance_id, "ask", PAUL, input={"people": ["ann"]})
    with UnitOfWork.reading(db, services) as unit:
        assert unit.load(instance_id).state == "draft"
        assert tasks.find(unit)[1] == 0
    with db.connect() as conn:
        from idmflow.storage.audit import history

        assert [e.trigger for e in history(conn, instance_id=instance_id)] == ["start"]
