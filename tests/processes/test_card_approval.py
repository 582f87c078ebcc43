"""Approving batch orders: tasks, decisions, races, mail over real SMTP, the audit trail."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import insert

import idmflow.engine as idm
from idmflow.engine import Conflict, InputError, NotAllowed
from idmflow.processes.cards.options import DEFAULT_SCRIPT, SCRIPT
from idmflow.processes.cards.request_multiple.definition import NAME
from idmflow.storage.accounts import create_account
from idmflow.storage.demo import demo_user
from idmflow.storage.models import users
from idmflow.storage.smtp import SmtpNotifier, SmtpServer

FAST_HASH = "pbkdf2:sha256:1000"  # the tests' accounts skip scrypt's cost
ACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] == "active"]


def _approval_on(engine: idm.Engine, extra: str = "") -> None:
    engine.scripts.install_defaults()
    source = DEFAULT_SCRIPT.read_text().replace("CardsBatchRequestApproval = False",
                                                "CardsBatchRequestApproval = True")
    engine.scripts.save(SCRIPT, source + extra, author="admin", comment="approval on")


@pytest.fixture
def approving(engine: idm.Engine) -> idm.Engine:
    _approval_on(engine)
    return engine


def _batch(engine: idm.Engine, users: list[str], actor: str = "operator") -> idm.TaskView:
    view = engine.run(NAME, actor=actor, steps=[("select", {"users": users}), ("next", {})])
    assert view.state == "approval"
    (task,), _ = engine.tasks(instance_id=view.id)
    return task


def _card_ids(engine: idm.Engine, task: idm.TaskView) -> list[int]:
    return [c.id for c in engine.entities("card", instance_id=task.instance_id)[0]]


def test_fifty_cards_approve_45_reject_5_mail_and_audit(smtp_server,  # type: ignore[no-untyped-def]
                                                        approving: idm.Engine) -> None:
    task = _batch(approving, ACTIVE[:50])
    assert task.role == "approver" and task.requested_by == "operator"
    assert task.payload["cards"] == 50 and task.payload["card_type"] == "employee"
    assert approving.tasks(actor="approver")[1] == 1
    assert approving.deliver_mail().sent == 1
    assert smtp_server.subjects() == [
        "Approval needed: Batch %d: 50 employee card(s) requested by operator" % task.instance_id]
    assert smtp_server.messages[0]["To"] == "approver@example.org"
    ids = _card_ids(approving, task)
    approving.decide(task.id, actor="approver", decision="reject", items=ids[45:],
                     reason="no budget for these")
    done = approving.decide(task.id, actor="approver", decision="approve")
    assert done.status == "done" and done.decided_by == "approver"
    assert approving.instance(task.instance_id).state == "done"
    assert approving.entity_states("card", instance_id=task.instance_id) == {
        "approved": 45, "rejected": 5}
    assert approving.deliver_mail().sent == 2
    subjects = smtp_server.subjects()[1:]
    assert any(s.startswith("Card request rejected: Batch") and "5 of 50" in s
               and "no budget for these" in s for s in subjects)
    assert any(s.startswith("Card request approved: Batch") and "45 of 50" in s
               for s in subjects)
    rejected_mail = next(m for m in smtp_server.messages
                         if str(m["Subject"]).startswith("Card request rejected"))
    assert rejected_mail["To"] == "operator@example.org"
    assert "Reason: no budget for these" in rejected_mail.get_body(("plain",)).get_content()
    assert rejected_mail.get_body(("html",)) is not None
    trail = approving.history(subject_kind="card", subject_id=ids[49])
    assert [(e.trigger, e.source, e.dest, e.actor, e.reason) for e in trail] == [
        ("request", "registered", "requested", "operator", None),
        ("reject", "requested", "rejected", "approver", "no budget for these")]
    story = [(e.subject_kind, e.trigger) for e in approving.history(instance_id=task.instance_id)
             if e.subject_kind != "card"]
    assert story == [("instance", "start"), ("instance", "select"), ("task", "open"),
                     ("instance", "next"), ("task", "reject"), ("task", "approve"),
                     ("instance", "complete")]


def test_postpone_keeps_the_task_in_the_open_list(approving: idm.Engine) -> None:
    task = _batch(approving, ACTIVE[:3])
    postponed = approving.decide(task.id, actor="approver", decision="postpone")
    assert postponed.status == "postponed"
    listed, total = approving.tasks(actor="approver")
    assert total == 1 and listed[0].id == task.id
    assert approving.entity_states("card", instance_id=task.instance_id) == {"requested": 3}


@pytest.mark.parametrize("actor, kwargs, error, message", [
    ("approver", {"decision": "reject"}, InputError, "a rejection needs a reason"),
    ("approver", {"decision": "reject", "reason": "   "}, InputError, "needs a reason"),
    ("admin", {"decision": "approve"}, NotAllowed, "needs the role 'approver'"),
    ("operator", {"decision": "approve"}, NotAllowed, "needs the role 'approver'"),
    ("approver", {"decision": "abort"}, NotAllowed, "only 'operator', who requested it"),
    ("approver", {"decision": "explode"}, InputError, "unknown decision 'explode'"),
    ("approver", {"decision": "approve", "items": [999999]}, InputError, "not in task"),
])
def test_bad_decisions_are_refused_and_change_nothing(approving: idm.Engine, counts,  # type: ignore[no-untyped-def]
                                                      actor: str, kwargs: dict[str, object],
                                                      error: type[Exception],
                                                      message: str) -> None:
    task = _batch(approving, ACTIVE[:3])
    before = counts()
    with pytest.raises(error, match=message):
        approving.decide(task.id, actor=actor, **kwargs)  # type: ignore[arg-type]
    assert counts() == before
    assert approving.task(task.id).status == "open"


def test_a_decided_task_and_decided_cards_are_refused(approving: idm.Engine) -> None:
    task = _batch(approving, ACTIVE[:3])
    ids = _card_ids(approving, task)
    approving.decide(task.id, actor="approver", decision="approve", items=ids[:1])
    with pytest.raises(Conflict, match=f"card {ids[0]} is already approved .approve by "
                                       "approver"):
        approving.decide(task.id, actor="approver", decision="reject", items=ids[:2],
                         reason="x")
    assert approving.entity_states("card", instance_id=task.instance_id) == {
        "approved": 1, "requested": 2}
    with pytest.raises(Conflict, match=f"card {ids[0]} is already approved"):
        approving.decide(task.id, actor="operator", decision="abort", items=ids[:1])
    approving.decide(task.id, actor="operator", decision="abort", items=ids[1:2])
    approving.decide(task.id, actor="approver", decision="approve")
    with pytest.raises(Conflict, match=f"task {task.id} was already decided by approver"):
        approving.decide(task.id, actor="approver", decision="approve")
    assert approving.entity_states("card", instance_id=task.instance_id) == {
        "approved": 2, "aborted": 1}


def _dual_account(engine: idm.Engine) -> None:
    with engine.db.begin() as conn:
        create_account(conn, "boss", email="boss@example.org", password="pw",
                       hash_method=FAST_HASH, roles=("operator", "approver"),
                       now=dt.datetime.now(dt.timezone.utc))


def test_nobody_decides_their_own_request_unless_the_option_allows(engine: idm.Engine) -> None:
    _approval_on(engine)
    _dual_account(engine)
    task = _batch(engine, ACTIVE[:2], actor="boss")
    with pytest.raises(NotAllowed, match="their own request.*CardsAllowSelfApproval = True"):
        engine.decide(task.id, actor="boss", decision="approve")
    source = engine.scripts.show(SCRIPT).source or ""
    engine.scripts.save(SCRIPT, source.replace("CardsAllowSelfApproval = False",
                                               "CardsAllowSelfApproval = True"), author="admin")
    own = _batch(engine, ACTIVE[2:4], actor="boss")
    assert engine.decide(own.id, actor="boss", decision="approve").status == "done"
    with pytest.raises(NotAllowed, match="their own request"):  # started under the old options
        engine.decide(task.id, actor="boss", decision="approve")


def _directory_user(engine: idm.Engine, username: str) -> None:
    """A directory user with a console account's username: the same person."""
    with engine.db.begin() as conn:
        conn.execute(insert(users).values(
            username=username, username_key=username, display_name=username.title(),
            display_key=username, email=f"{username}@example.org", org_unit="Test",
            state="active"))


def _script(engine: idm.Engine, **values: bool) -> None:
    source = engine.scripts.show(SCRIPT).source or ""
    for name, value in values.items():
        source = source.replace(f"{name} = {not value}", f"{name} = {value}")
    engine.scripts.save(SCRIPT, source, author="admin")


def test_nobody_decides_a_request_holding_their_own_card(approving: idm.Engine,
                                                         counts) -> None:  # type: ignore[no-untyped-def]
    _directory_user(approving, "approver")
    with approving.db.begin() as conn:
        create_account(conn, "approver2", email="a2@example.org", password="pw",
                       hash_method=FAST_HASH, roles=("approver",),
                       now=dt.datetime.now(dt.timezone.utc))
    task = _batch(approving, [ACTIVE[0], "approver", ACTIVE[1]])
    cards = {c.subject: c.id for c in approving.entities("card", instance_id=task.instance_id)[0]}
    said = (f"'approver' may not decide task {task.id}: it holds card {cards['approver']} of "
            "the directory user 'approver', the same person; another approver must decide it, "
            "or an admin sets CardsAllowHolderApproval = True")
    assert approving.may_decide(task.id, actor="approver") == said
    before = counts()
    for decision, items in (("approve", None), ("approve", [cards[ACTIVE[0]]]),
                            ("postpone", None)):
        with pytest.raises(NotAllowed) as refused:
            approving.decide(task.id, actor="approver", decision=decision, items=items)
        assert str(refused.value) == said
    assert counts() == before and approving.task(task.id).status == "open"
    # withdrawing stays the requester's; another approver decides the rest
    assert approving.may_decide(task.id, actor="operator", decision="abort") is None
    assert approving.may_decide(task.id, actor="approver", decision="abort") == (
        f"'approver' may not abort in task {task.id}: only 'operator', who requested it, may")
    assert approving.may_decide(task.id, actor="approver2") is None
    assert approving.decide(task.id, actor="approver2", decision="approve").status == "done"
    assert approving.may_decide(task.id, actor="approver2", decision="approve") == (
        f"task {task.id} was already decided by approver2 (approve) at "
        f"{approving.task(task.id).closed_at:%Y-%m-%d %H:%M:%S}; it is closed and takes no "
        "more decisions")


def test_the_holder_option_is_its_own_and_self_approval_does_not_imply_it(
        engine: idm.Engine) -> None:
    _approval_on(engine)
    _dual_account(engine)
    _directory_user(engine, "boss")
    _script(engine, CardsAllowSelfApproval=True)
    mine = _batch(engine, ["boss", ACTIVE[0]], actor="boss")
    with pytest.raises(NotAllowed, match="holds card .* of the directory user 'boss'"):
        engine.decide(mine.id, actor="boss", decision="approve")
    boss_card = next(c.id for c in engine.entities("card", instance_id=mine.instance_id)[0]
                     if c.subject == "boss")
    # withdrawing is the requester's, holder or not; a withdrawn card still belongs to the task
    engine.decide(mine.id, actor="boss", decision="abort", items=[boss_card])
    with pytest.raises(NotAllowed, match=f"holds card {boss_card} of"):
        engine.decide(mine.id, actor="boss", decision="approve")
    _script(engine, CardsAllowHolderApproval=True)
    again = _batch(engine, ["boss", ACTIVE[1]], actor="boss")
    assert engine.may_decide(again.id, actor="boss") is None
    assert engine.decide(again.id, actor="boss", decision="approve").status == "done"
    with pytest.raises(NotAllowed, match="holds card"):  # started under the old options
        engine.decide(mine.id, actor="boss", decision="approve")


def test_two_approvers_race_and_exactly_one_wins(approving: idm.Engine, demo_url: str) -> None:
    with approving.db.begin() as conn:
        create_account(conn, "approver2", email="a2@example.org", password="pw",
                       hash_method=FAST_HASH, roles=("approver",),
                       now=dt.datetime.now(dt.timezone.utc))
    task = _batch(approving, ACTIVE[:200])
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def decide(actor: str, decision: str) -> None:
        own = idm.open(demo_url)
        barrier.wait()
        try:
            outcomes[actor] = own.decide(task.id, actor=actor, decision=decision,
                                         reason="race" if decision == "reject" else None)
        except idm.IdmflowError as exc:
            outcomes[actor] = exc
        finally:
            own.close()

    threads = [threading.Thread(target=decide, args=("approver", "approve")),
               threading.Thread(target=decide, args=("approver2", "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [o for o in outcomes.values() if isinstance(o, Exception)]
    wins = [o for o in outcomes.values() if isinstance(o, idm.TaskView)]
    assert len(errors) == 1 and len(wins) == 1, outcomes
    assert isinstance(errors[0], Conflict) and "already decided by" in str(errors[0])
    states = approving.entity_states("card", instance_id=task.instance_id)
    assert states in ({"approved": 200}, {"rejected": 200})
    card_events = [e for e in approving.history(instance_id=task.instance_id)
                   if e.subject_kind == "card" and e.trigger != "request"]
    assert len(card_events) == 200  # no card changed twice


def test_smtp_down_keeps_mail_and_the_decision_commits(smtp_server, approving: idm.Engine,  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    working = approving.notifier
    task = _batch(approving, ACTIVE[:2])
    approving.notifier = SmtpNotifier(SmtpServer("127.0.0.1", 9))  # nothing listens there
    approving.decide(task.id, actor="approver", decision="approve")
    assert approving.instance(task.instance_id).state == "done"
    result = approving.deliver_mail()
    assert result.sent == 0 and result.retried == 2 and "refused" in result.errors[0].lower()
    pending, total = approving.outbox(status="pending")
    assert total == 2 and all(m.attempts == 1 and m.last_error for m in pending)
    assert approving.deliver_mail().sent == 0  # not due yet: backoff
    later = approving.clock.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(approving, "clock", type("Later", (), {"now": lambda self: later})())
    approving.notifier = working
    assert approving.deliver_mail().sent == 2
    assert len(smtp_server.messages) == 2
    ids = {str(m["Message-ID"]) for m in smtp_server.messages}
    assert ids == {m.message_id for m in approving.outbox(status="sent")[0]}


def test_nothing_to_approve_completes_at_once(engine: idm.Engine) -> None:
    _approval_on(engine)
    source = engine.scripts.show(SCRIPT).source or ""
    engine.scripts.save(SCRIPT, source.replace("CardsApprovalFreeTypes = []",
                                               'CardsApprovalFreeTypes = ["visitor"]'),
                        author="admin")
    view = engine.run(NAME, actor="operator", steps=[
        ("select", {"users": ACTIVE[:2], "card_type": "visitor"}), ("next", {})])
    assert view.state == "done" and engine.tasks(instance_id=view.id)[1] == 0
    with pytest.raises(NotAllowed, match="fired by idmflow itself"):
        task = _batch(engine, ACTIVE[2:4])
        engine.fire(task.instance_id, "complete", actor="operator")


def test_two_senders_never_send_a_mail_twice(approving: idm.Engine, demo_url: str,  # type: ignore[no-untyped-def]
                                             smtp_server) -> None:
    for start in range(0, 30, 3):
        _batch(approving, ACTIVE[start:start + 3])  # one "Approval needed" mail each
    barrier = threading.Barrier(2, timeout=60)  # a sender that fails must not hang the other
    sent: list[int] = []

    def sender() -> None:
        own = idm.open(demo_url)
        barrier.wait()
        sent.append(own.deliver_mail().sent)
        own.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(sent) == 10
    ids = [str(m["Message-ID"]) for m in smtp_server.messages]
    assert len(ids) == len(set(ids)) == 10
