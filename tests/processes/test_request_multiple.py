"""`CardsBoProcRequestMulitple` end to end through the public API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import idmflow.engine as idm
from idmflow.engine import Conflict, FixedOptions, InputError, NotAllowed, NotFound
from idmflow.processes.cards.request_multiple.definition import NAME
from idmflow.storage.demo import demo_user

ACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] == "active"]
INACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] != "active"]


def _order(engine: idm.Engine, users: list[str], **extra: object) -> idm.InstanceView:
    return engine.run(NAME, actor="operator", steps=[("select", {"users": users, **extra}),
                                                     ("next", {})])


def test_batch_without_approval_ends_approved_with_one_event_per_card(engine: idm.Engine) -> None:
    view = _order(engine, ACTIVE[:40])
    assert view.state == "done" and view.ended
    cards, total = engine.entities("card", instance_id=view.id)
    assert total == 40 and {c.state for c in cards} == {"approved"}
    assert [c.subject for c in cards] == ACTIVE[:40]
    assert {c.type for c in cards} == {"employee"}
    events = engine.history(subject_kind="card", subject_id=cards[0].id)
    assert [(e.trigger, e.source, e.dest, e.actor) for e in events] == [
        ("request", "registered", "approved", "operator")]
    steps = [(e.trigger, e.dest) for e in engine.history(instance_id=view.id)
             if e.subject_kind == "instance"]
    assert steps == [("start", "select_users"), ("select", "confirm"), ("next", "done")]


def test_batch_with_approval_leaves_cards_requested(demo_url: str) -> None:
    engine = idm.open(demo_url, options=FixedOptions({"CardsBatchRequestApproval": True}))
    view = _order(engine, ACTIVE[:5])
    assert view.state == "approval" and not view.ended
    assert view.data["approval_needed"] is True
    assert engine.entity_states("card", instance_id=view.id) == {"requested": 5}
    assert view.options["CardsBatchRequestApproval"] is True


def test_step_by_step_with_confirmation_and_back(engine: idm.Engine) -> None:
    view = engine.start(NAME, actor="operator")
    assert view.state == "select_users" and view.triggers == ("select", "cancel")
    view = engine.fire(view.id, "select", actor="operator",
                       input={"users": ACTIVE[:3], "card_type": "visitor"})
    assert view.state == "confirm" and view.data["selection"] == ACTIVE[:3]
    page = idm.render_step(engine.definition(NAME), view)
    assert "3 card(s) of type <strong>visitor</strong>" in page and ACTIVE[0] in page
    view = engine.fire(view.id, "back", actor="operator")
    view = engine.fire(view.id, "select", actor="operator", input={"users": ACTIVE[3:5]})
    view = engine.fire(view.id, "next", actor="operator")
    assert view.data["cards"] == 2 and "selection" not in view.data
    assert [c.subject for c in engine.entities("card", instance_id=view.id)[0]] == ACTIVE[3:5]


@pytest.mark.parametrize("at", ["select_users", "confirm"])
def test_cancel_at_any_step_creates_nothing(engine: idm.Engine, counts, at: str) -> None:
    view = engine.start(NAME, actor="operator")
    if at == "confirm":
        view = engine.fire(view.id, "select", actor="operator", input={"users": ACTIVE[:3]})
    view = engine.fire(view.id, "cancel", actor="operator")
    assert view.state == "cancelled" and view.ended
    assert counts()["entities"] == 0
    with pytest.raises(NotAllowed, match="not allowed in state 'cancelled'"):
        engine.fire(view.id, "next", actor="operator")


def test_select_all_matching_takes_every_active_user_of_the_filter(engine: idm.Engine) -> None:
    view = engine.run(NAME, actor="operator",
                      steps=[("select", {"org_unit": "HR"}), ("next", {})])
    expected = engine.directory.count(idm.UserQuery(org_unit="HR", state="active"))
    assert view.data["cards"] == expected > 0


def test_duplicates_count_once(engine: idm.Engine) -> None:
    view = _order(engine, [ACTIVE[0], ACTIVE[1], ACTIVE[0]])
    assert view.data["cards"] == 2 and view.data["duplicates"] == 1


@pytest.mark.parametrize("users, message", [
    ([], "the selection is empty"),
    (["", "  "], "the selection is empty"),
    (["nobody", ACTIVE[0]], "1 unknown user names (not in the directory): nobody"),
    ([INACTIVE[0], ACTIVE[0]], f"users who are not active: {INACTIVE[0]} ("),
])
def test_bad_selection_is_refused_and_writes_nothing(engine: idm.Engine, counts,
                                                     users: list[str], message: str) -> None:
    before = counts()
    with pytest.raises(InputError) as err:
        _order(engine, users)
    assert message in str(err.value)
    assert counts() == before


def test_open_card_of_the_same_type_is_named(engine: idm.Engine, counts) -> None:
    _order(engine, ACTIVE[:2])
    before = counts()
    with pytest.raises(InputError, match=f"already have an open .*employee card: {ACTIVE[1]}"):
        _order(engine, ACTIVE[1:4])
    assert counts() == before
    view = _order(engine, ACTIVE[1:4], card_type="visitor")  # another type is fine
    assert view.data["cards"] == 3


def test_skip_ineligible_leaves_them_out_and_reports_them(engine: idm.Engine) -> None:
    _order(engine, ACTIVE[:1])
    view = _order(engine, [ACTIVE[0], ACTIVE[1], INACTIVE[0], "ghost"], skip_ineligible=True)
    assert view.data["cards"] == 1
    assert view.data["skipped"] == {"unknown": ["ghost"], "not_active": [INACTIVE[0]],
                                    "open_card": [ACTIVE[0]]}


def test_batch_larger_than_the_option_allows_is_refused(demo_url: str) -> None:
    engine = idm.open(demo_url, options=FixedOptions({"CardsBatchMaxUsers": 3}))
    with pytest.raises(InputError, match="at most 3 .*CardsBatchMaxUsers"):
        _order(engine, ACTIVE[:4])


def test_bad_card_type_is_refused(engine: idm.Engine) -> None:
    with pytest.raises(InputError, match="card type 'Bad Type!' is not valid"):
        _order(engine, ACTIVE[:1], card_type="Bad Type!")


def test_roles_and_unknown_things_are_refused(engine: idm.Engine, counts) -> None:
    with pytest.raises(NotAllowed, match="'approver' may not start .* needs the role operator"):
        engine.start(NAME, actor="approver")
    with pytest.raises(NotFound, match="no account 'mallory'"):
        engine.start(NAME, actor="mallory")
    with pytest.raises(NotFound, match="no process 'CardsNope'"):
        engine.start("CardsNope", actor="operator")
    view = engine.start(NAME, actor="operator")
    with pytest.raises(NotAllowed, match="no trigger 'explode'"):
        engine.fire(view.id, "explode", actor="operator")
    with pytest.raises(NotAllowed, match="only 'operator', who started it"):
        engine.fire(view.id, "cancel", actor="admin")
    with pytest.raises(NotFound, match="no process instance 999999"):
        engine.fire(999999, "cancel", actor="operator")


def test_idempotency_key_returns_the_first_instance(engine: idm.Engine, counts) -> None:
    first = engine.run(NAME, actor="operator", idempotency_key="order-42",
                       steps=[("select", {"users": ACTIVE[:3]}), ("next", {})])
    again = engine.run(NAME, actor="operator", idempotency_key="order-42",
                       steps=[("select", {"users": ACTIVE[:3]}), ("next", {})])
    assert again.id == first.id
    assert counts()["entities"] == 3
    # One key stands for one request: the same key asking for something else is refused.
    with pytest.raises(Conflict, match=f"'order-42' was used by instance {first.id} .* for a "
                                       "different request"):
        engine.start(NAME, actor="operator", idempotency_key="order-42")
    assert counts()["entities"] == 3


def test_stale_version_is_a_conflict_and_writes_nothing(engine: idm.Engine, counts) -> None:
    view = engine.start(NAME, actor="operator")
    engine.fire(view.id, "select", actor="operator", input={"users": ACTIVE[:2]},
                expected_version=view.version)
    before = counts()
    with pytest.raises(Conflict, match="someone changed it first"):
        engine.fire(view.id, "next", actor="operator", expected_version=view.version)
    assert counts() == before


def test_concurrent_write_during_a_step_is_a_conflict(engine: idm.Engine, counts, demo_url: str) -> None:
    """Another writer bumps the version while Next runs: nothing of Next commits."""
    view = engine.start(NAME, actor="operator")
    view = engine.fire(view.id, "select", actor="operator", input={"users": ACTIVE[:5]})
    before = counts()

    def interfere(done: int, total: int) -> None:
        if done == total:  # the cards are written; now someone else writes the instance
            other = idm.open(demo_url)
            with other.db.begin() as conn:
                conn.execute(text("UPDATE process_instances SET version = version + 1 "
                                  "WHERE id = :i"), {"i": view.id})
            other.db.dispose()

    if engine.db.dialect.name == "sqlite":
        pytest.skip("SQLite holds the write lock for the whole step: no second writer can "
                    "interleave, which the PostgreSQL run of this test covers")
    with pytest.raises(Conflict, match="changed by someone else"):
        engine.fire(view.id, "next", actor="operator", progress=interfere)
    after = counts()
    assert after["entities"] == before["entities"] == 0


def test_failure_in_the_middle_of_a_batch_leaves_nothing(engine: idm.Engine, counts,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from idmflow.storage import entities

    monkeypatch.setattr(entities, "CHUNK", 50)
    view = engine.start(NAME, actor="operator")
    view = engine.fire(view.id, "select", actor="operator", input={"users": ACTIVE[:200]})
    before = counts()

    def crash(done: int, total: int) -> None:
        if 0 < done < total:
            raise RuntimeError(f"injected failure after {done} of {total} cards")

    with pytest.raises(RuntimeError, match="injected failure after 50 of 200"):
        engine.fire(view.id, "next", actor="operator", progress=crash)
    assert counts() == before
    assert engine.instance(view.id).state == "confirm"
    assert engine.fire(view.id, "next", actor="operator").data["cards"] == 200
