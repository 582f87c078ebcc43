"""A step handler tested the way a process author would: a context built by hand, a fake
`Entities`, a `Recorder` for the effects; no database, no engine, no CLI.

This is the example `docs/adding-a-use-case.md` points to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import pytest

from idmflow.engine import (Account, DirectoryUser, InputError, InstanceView, Lifecycle,
                            ProductionOrder, ProductionResult, Recorder, StepContext,
                            UserQuery)
from idmflow.processes.cards.request_multiple import PROCESS
from idmflow.processes.cards.request_multiple.steps import create_requests, select_users

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone.utc)
OPERATOR = Account("operator", "operator@example.org", frozenset({"operator"}))
APPROVER = Account("approver", "approver@example.org", frozenset({"approver"}))


@dataclass
class FakeEntities:
    """Just what the card handlers use: who holds an open card, and creating cards."""

    held: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    created: list[tuple[str, list[tuple[str, str]], str]] = field(default_factory=list)

    def holders(self, lifecycle: Lifecycle, *, type: str, states: Sequence[str],
                subjects: Sequence[str]) -> dict[str, tuple[int, int | None]]:
        return {s: self.held[s] for s in subjects if s in self.held}

    def atomic(self) -> nullcontext[None]:
        return nullcontext()

    def create(self, lifecycle: Lifecycle, items: Sequence[tuple[str, str]], *, trigger: str,
               dest: str, progress: Callable[[int], None] | None = None) -> int:
        self.created.append((dest, list(items), trigger))
        if progress:
            progress(len(items))
        return len(items)


class Directory:
    def __init__(self, *users: DirectoryUser) -> None:
        self.users = {u.username: u for u in users}

    def get_many(self, usernames: Sequence[str]) -> dict[str, DirectoryUser]:
        return {n: self.users[n] for n in usernames if n in self.users}

    def search(self, query: UserQuery) -> list[DirectoryUser]:
        return []

    def count(self, query: UserQuery) -> int:
        return 0

    def iter_usernames(self, query: UserQuery) -> Iterator[str]:
        return iter(())


class Accounts:
    def get(self, username: str) -> Account | None:
        return {"operator": OPERATOR, "approver": APPROVER}.get(username)

    def with_role(self, role: str) -> list[Account]:
        return [APPROVER] if role == "approver" else []


class Clock:
    def now(self) -> dt.datetime:
        return NOW


class Producer:
    def produce(self, orders: Sequence[ProductionOrder]) -> list[ProductionResult]:
        return [ProductionResult(o.id, ok=True) for o in orders]


def user(name: str, state: str = "active") -> DirectoryUser:
    return DirectoryUser(name, name.title(), f"{name}@example.org", "Sales", state)  # type: ignore[arg-type]


def context(entities: FakeEntities, recorder: Recorder, *, trigger: str,
            input: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
            **options: Any) -> StepContext:
    values = {**PROCESS.defaults(), **options}
    instance = InstanceView(id=7, process=PROCESS.name, state="confirm", version=2,
                            started_by="operator", options_version="CardsScriptOptions@1",
                            options=values, data=data or {}, created_at=NOW, updated_at=NOW,
                            ended_at=None)
    return StepContext(instance=instance, actor=OPERATOR, options=values,
                       directory=Directory(user("ann"), user("bob"), user("cid", "locked")),
                       accounts=Accounts(), clock=Clock(), producer=Producer(),
                       entities=entities, effects=recorder, trigger=trigger,
                       source=instance.state, dest="approval", input=input or {},
                       data=dict(data or {}))


def test_next_requests_the_cards_opens_the_approval_and_mails_the_approvers() -> None:
    entities, recorder = FakeEntities(), Recorder(PROCESS)
    ctx = context(entities, recorder, trigger="next",
                  data={"selection": ["ann", "bob"], "card_type": "employee", "skipped": {}},
                  CardsBatchRequestApproval=True)
    create_requests(ctx)
    assert entities.created == [("requested", [("ann", "employee"), ("bob", "employee")],
                                 "request")]
    assert [(t.kind, t.title) for t in recorder.tasks] == [
        ("approval", "Batch 7: 2 employee card(s) requested by operator")]
    (mail,) = recorder.notifications
    assert mail.to == ("approver@example.org",)
    assert mail.subject == "Approval needed: Batch 7: 2 employee card(s) requested by operator"
    assert recorder.reported[0] == (0, 2) and recorder.reported[-1] == (2, 2)
    assert ctx.data["task"] == 1 and ctx.data["requested"] == 2 and ctx.follow_up is None


def test_a_rule_of_the_script_is_stood_in_for_by_the_test() -> None:
    entities = FakeEntities()
    recorder = Recorder(PROCESS, rules={"CardNeedsApproval": lambda card: card["user"] == "bob"})
    ctx = context(entities, recorder, trigger="next",
                  data={"selection": ["ann", "bob"], "card_type": "employee", "skipped": {}},
                  CardsBatchRequestApproval=True)
    create_requests(ctx)
    assert entities.created == [("requested", [("bob", "employee")], "request"),
                                ("approved", [("ann", "employee")], "request")]


def test_the_selection_refuses_locked_users_and_open_cards_by_name() -> None:
    entities = FakeEntities(held={"bob": (41, 3)})
    ctx = context(entities, Recorder(PROCESS), trigger="select",
                  input={"users": ["ann", "bob", "cid", "ann"]})
    with pytest.raises(InputError) as refused:
        select_users(ctx)
    assert refused.value.details == {"not_active": ["cid"], "open_card": ["bob"]}
    assert "process instance 3" in str(refused.value)
    assert entities.created == [] and ctx.data == {}
