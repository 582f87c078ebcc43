"""`CardsBoProcIssueMultiple` and `CardsProcRequest`, end to end through the public API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

import idmflow.engine as idm
from idmflow.engine import InputError, NotAllowed, ProductionOrder, ProductionResult
from idmflow.processes.cards.issue_multiple.definition import NAME as ISSUE
from idmflow.processes.cards.options import DEFAULT_SCRIPT, SCRIPT
from idmflow.processes.cards.request_multiple.definition import NAME as BATCH
from idmflow.processes.cards.request_single.definition import NAME as SINGLE
from idmflow.storage.accounts import create_account
from idmflow.storage.demo import demo_user

FAST_HASH = "pbkdf2:sha256:1000"  # the tests' accounts skip scrypt's cost
ACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] == "active"]
INACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] != "active"]


class Printer:
    """A host's printer: fails the cards it is told to fail, once each."""

    def __init__(self, fail: Sequence[int] = ()) -> None:
        self.fail = set(fail)
        self.printed: list[int] = []

    def produce(self, orders: Sequence[ProductionOrder]) -> list[ProductionResult]:
        results = []
        for order in orders:
            if order.id in self.fail:
                self.fail.discard(order.id)
                results.append(ProductionResult(order.id, False, "ribbon empty"))
            else:
                self.printed.append(order.id)
                results.append(ProductionResult(order.id, True))
        return results


def _approved_cards(engine: idm.Engine, n: int) -> list[int]:
    view = engine.run(BATCH, actor="operator", steps=[("select", {"users": ACTIVE[:n]}),
                                                      ("next", {})])
    return [c.id for c in engine.entities("card", instance_id=view.id)[0]]


def _issue(engine: idm.Engine, selection: dict[str, object]) -> idm.InstanceView:
    return engine.run(ISSUE, actor="operator", steps=[("select", selection), ("next", {})])


def test_issue_failed_and_produce_again(demo_url: str) -> None:
    printer = Printer()
    engine = idm.open(demo_url, producer=printer)
    ids = _approved_cards(engine, 10)
    printer.fail = set(ids[:3])
    first = _issue(engine, {"cards": ids})
    assert first.state == "done" and first.data["issued"] == 7 and first.data["failed"] == 3
    assert engine.entity_states("card") == {"issued": 7, "failed": 3}
    again = _issue(engine, {"state": "failed"})
    assert again.data["issued"] == 3 and again.data["failed"] == 0
    assert engine.entity_states("card") == {"issued": 10}
    trail = engine.history(subject_kind="card", subject_id=ids[0])
    assert [(e.trigger, e.source, e.dest) for e in trail] == [
        ("request", "registered", "approved"), ("fail", "approved", "failed"),
        ("retry", "failed", "issued")]


def test_activate_on_issue_ends_active(engine: idm.Engine) -> None:
    engine.scripts.install_defaults()
    engine.scripts.save(SCRIPT, DEFAULT_SCRIPT.read_text().replace(
        "CardsActivateOnIssue = False", "CardsActivateOnIssue = True"), author="admin")
    ids = _approved_cards(engine, 4)
    view = _issue(engine, {"state": "approved"})
    assert view.data["activated"] == 4
    assert engine.entity_states("card") == {"active": 4}
    assert [e.trigger for e in engine.history(subject_kind="card", subject_id=ids[0])] == [
        "request", "issue", "activate"]


def test_issuing_a_card_not_approved_is_refused(engine: idm.Engine, counts) -> None:  # type: ignore[no-untyped-def]
    engine.scripts.install_defaults()
    source = DEFAULT_SCRIPT.read_text().replace("CardsBatchRequestApproval = False",
                                                "CardsBatchRequestApproval = True")
    engine.scripts.save(SCRIPT, source, author="admin")
    view = engine.run(BATCH, actor="operator", steps=[("select", {"users": ACTIVE[:2]}),
                                                      ("next", {})])
    ids = [c.id for c in engine.entities("card", instance_id=view.id)[0]]
    before = counts()
    with pytest.raises(InputError, match=r"only approved cards .* these are not: "
                                         rf"{ids[0]} \(requested\)"):
        _issue(engine, {"cards": ids})
    with pytest.raises(InputError, match="no card with id 999999"):
        _issue(engine, {"cards": [999999]})
    with pytest.raises(InputError, match="no card chosen"):
        _issue(engine, {"state": "approved"})
    with pytest.raises(InputError, match="not 'issued'"):
        _issue(engine, {"state": "issued"})
    assert counts() == before


def test_single_request_by_operator_and_self_service(engine: idm.Engine) -> None:
    with engine.db.begin() as conn:
        create_account(conn, ACTIVE[0], email="me@example.org", password="pw",
                       hash_method=FAST_HASH, roles=("self-service",),
                       now=dt.datetime.now(dt.timezone.utc))
    mine = engine.run(SINGLE, actor=ACTIVE[0], steps=[("select", {}), ("next", {})])
    assert mine.state == "approval"  # CardsRequestApproval defaults to True
    (task,), _ = engine.tasks(instance_id=mine.id)
    assert task.requested_by == ACTIVE[0] and task.payload["cards"] == 1
    engine.decide(task.id, actor="approver", decision="approve")
    assert engine.instance(mine.id).state == "done"
    assert engine.entities("card", subject=ACTIVE[0])[0][0].state == "approved"
    other = engine.run(SINGLE, actor="operator", steps=[("select", {"user": ACTIVE[1]}),
                                                        ("next", {})])
    assert engine.entity_states("card", instance_id=other.id) == {"requested": 1}


@pytest.mark.parametrize("actor, user, error, message", [
    ("self", "other", NotAllowed, "only for themselves"),
    ("operator", "inactive", InputError, "not active"),
    ("operator", "nobody", InputError, "unknown user names"),
    ("approver", "other", NotAllowed, "needs the role operator or self-service"),
])
def test_single_request_refusals(engine: idm.Engine, counts, actor: str, user: str,  # type: ignore[no-untyped-def]
                                 error: type[Exception], message: str) -> None:
    with engine.db.begin() as conn:
        create_account(conn, ACTIVE[0], email="me@example.org", password="pw",
                       hash_method=FAST_HASH, roles=("self-service",),
                       now=dt.datetime.now(dt.timezone.utc))
    names = {"self": ACTIVE[0], "other": ACTIVE[1], "inactive": INACTIVE[0], "nobody": "nobody"}
    before = counts()
    with pytest.raises(error, match=message):
        engine.run(SINGLE, actor=names.get(actor, actor),
                   steps=[("select", {"user": names[user]}), ("next", {})])
    assert counts() == before
