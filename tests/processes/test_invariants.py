"""Invariants the database holds, tested with real races on SQLite and PostgreSQL.

Batch orders whose users overlap press Next at one moment (threads and a barrier, and two
CLI processes): no user ever gets two open cards of one type, each batch is all or nothing,
and a loser is refused naming the users that got a card in the meantime. Also: the index
itself refuses a duplicate written behind the engine's back, `idmflow init` refuses a
database that already breaks an invariant, idempotency keys, and the other check-then-act
paths (issuing the same cards twice, saving one script twice at once).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

import idmflow.engine as idm
from idmflow.engine import Conflict, InputError
from idmflow.processes.cards.issue_multiple.definition import NAME as ISSUE
from idmflow.processes.cards.options import SCRIPT
from idmflow.processes.cards.request_multiple.definition import NAME as BATCH
from idmflow.storage import invariants, schema
from idmflow.storage.database import connect
from idmflow.storage.demo import demo_user
from idmflow.storage.models import Base, entities

ACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] == "active"]
REPEATS = 20
INDEX = "uq_entities_card_one_open"

#: name -> the selections (slices of ACTIVE) of the batches that race
RACES = {
    "two identical": [(0, 100), (0, 100)],
    "two overlapping": [(0, 100), (60, 160)],
    "three overlapping": [(0, 100), (60, 160), (140, 240)],
}


def _together(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread, released at one moment; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the outcome under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _doubles(engine: idm.Engine, card_type: str) -> list[str]:
    """Users holding more than one open card of `card_type`."""
    with engine.db.connect() as conn:
        return list(conn.execute(text(
            "SELECT subject FROM entities WHERE kind = 'card' AND type = :t AND state IN "
            "('requested', 'approved') GROUP BY subject HAVING count(*) > 1"),
            {"t": card_type}).scalars())


@pytest.fixture
def engines(demo_url: str):  # type: ignore[no-untyped-def]
    """Three engines over the demo database, as three console processes would have."""
    opened = [idm.open(demo_url) for _ in range(3)]
    yield opened
    for e in opened:
        e.close()


@pytest.mark.parametrize("race", list(RACES))
def test_batches_racing_at_next_never_give_two_open_cards(engines: list[idm.Engine],
                                                          race: str) -> None:
    slices = RACES[race]
    for repeat in range(REPEATS):
        card_type = f"race{repeat}"
        selections = [ACTIVE[a:b] for a, b in slices]
        started = [e.run(BATCH, actor="operator", steps=[
            ("select", {"users": sel, "card_type": card_type})])
            for e, sel in zip(engines, selections)]
        outcomes = _together([
            (lambda e=e, v=v: e.fire(v.id, "next", actor="operator"))
            for e, v in zip(engines, started)])
        assert _doubles(engines[0], card_type) == []
        won = set()
        for view, selection, outcome in zip(started, selections, outcomes):
            cards = engines[0].entity_states("card", instance_id=view.id)
            if isinstance(outcome, idm.InstanceView):
                assert outcome.state == "done" and cards == {"approved": len(selection)}
                won |= set(selection)
            else:
                assert isinstance(outcome, InputError), repr(outcome)
                assert cards == {}  # all or nothing: the loser wrote no card
                assert engines[0].instance(view.id).state == "confirm"  # and can be retried
                named = outcome.details["open_card"]
                assert named and set(named) <= set(selection)
                assert "already have an open" in str(outcome) and named[0] in str(outcome)
        assert won, outcomes
        winners = sum(isinstance(o, idm.InstanceView) for o in outcomes)
        for selection, outcome in zip(selections, outcomes):
            if isinstance(outcome, InputError):
                named = set(outcome.details["open_card"])
                # Every user named did get a card elsewhere. With one winner, all of them are
                # named; with two, one may still have been committing when this one was told.
                assert named <= set(selection) & won
                if winners == 1:
                    assert named == set(selection) & won


def test_a_loser_with_skip_ineligible_is_written_without_the_raced_users(
        engines: list[idm.Engine]) -> None:
    for repeat in range(REPEATS):
        card_type = f"skip{repeat}"
        selections = [ACTIVE[0:100], ACTIVE[60:160]]
        started = [e.run(BATCH, actor="operator", steps=[
            ("select", {"users": sel, "card_type": card_type, "skip_ineligible": True})])
            for e, sel in zip(engines, selections)]
        outcomes = _together([(lambda e=e, v=v: e.fire(v.id, "next", actor="operator"))
                              for e, v in zip(engines, started)])
        assert all(isinstance(o, idm.InstanceView) for o in outcomes), outcomes
        assert _doubles(engines[0], card_type) == []
        skipped = [o.data["skipped"].get("open_card", []) for o in outcomes]
        assert sorted(len(s) for s in skipped) == [0, 40]  # exactly the overlap, once
        assert {*skipped[0], *skipped[1]} == set(ACTIVE[60:100])
        for outcome, left_out in zip(outcomes, skipped):
            assert outcome.data["cards"] == 100 - len(left_out)


def _cli(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from idmflow.console.cli import main; main()",
         "--database-url", url, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def test_two_cli_processes_ordering_one_selection(demo_url: str, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("\n".join(ACTIVE[:200]), encoding="utf-8")
    runs = [_cli(demo_url, "cards", "request-batch", "--as", "operator", "--users-file",
                 str(users), "--json") for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    _, out, _ = next(r for r in results if r[0] == 0)
    winner = json.loads(out)["instance"]
    _, out, err = next(r for r in results if r[0] == 1)
    assert out == "" and "Traceback" not in err and "IntegrityError" not in err
    assert "200 users who already have an open" in err and ACTIVE[0] in err
    assert f"process instance {winner}" in err  # names the batch that made the cards
    engine = idm.open(demo_url)
    try:
        assert _doubles(engine, "employee") == []
        assert engine.entity_states("card") == {"approved": 200}
    finally:
        engine.close()


def test_the_index_refuses_a_second_open_card_written_behind_the_engine(demo_url: str) -> None:
    db = connect(demo_url)
    now = dt.datetime.now(dt.timezone.utc)
    row = {"kind": "card", "subject": ACTIVE[0], "type": "employee", "state": "approved",
           "instance_id": None, "created_by": "sql", "created_at": now, "updated_at": now}
    with db.begin() as conn:
        conn.execute(insert(entities), [row, {**row, "type": "visitor"},
                                        {**row, "state": "rejected"}])
    with pytest.raises(IntegrityError):
        with db.begin() as conn:
            conn.execute(insert(entities), [{**row, "state": "requested"}])
    with db.connect() as conn:
        assert conn.execute(select(entities.c.id)).all().__len__() == 3
        assert INDEX in invariants.existing(conn)
    db.dispose()


def _break_the_invariant(url: str) -> list[int]:
    """Drop the index and write two open cards for one user, as a database from before."""
    db = connect(url)
    now = dt.datetime.now(dt.timezone.utc)
    row = {"kind": "card", "subject": ACTIVE[3], "type": "employee", "state": "approved",
           "instance_id": None, "created_by": "sql", "created_at": now, "updated_at": now}
    with db.begin() as conn:
        conn.execute(text(f"DROP INDEX {INDEX}"))
        conn.execute(insert(entities), [row, {**row, "state": "requested"}])
        ids = list(conn.execute(select(entities.c.id).order_by(entities.c.id)).scalars())
    db.dispose()
    return ids


def test_init_refuses_a_database_that_breaks_an_invariant_and_changes_nothing(
        demo_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    ids = _break_the_invariant(demo_url)
    result = cli("init")
    assert result.exit_code == 1
    assert "already breaks invariants" in result.output
    assert f"{ACTIVE[3]}, employee: cards {ids[0]}, {ids[1]}" in result.output
    assert "idmflow cards abort" in result.output and "Traceback" not in result.output
    db = connect(demo_url)
    with db.connect() as conn:
        assert INDEX not in invariants.existing(conn)
    db.dispose()
    refused = cli("cards", "list", "--json")  # a database without the index is not used
    assert refused.exit_code == 1 and "run `idmflow init`" in refused.output
    with connect(demo_url).begin() as conn:
        conn.execute(text("UPDATE entities SET state = 'aborted' WHERE id = :i"), {"i": ids[1]})
    assert cli("init").exit_code == 0
    assert cli("cards", "list", "--json").exit_code == 0


def test_an_upgrade_from_before_the_invariants_is_never_half_done(db_url: str) -> None:
    db = connect(db_url)
    with db.begin() as conn:  # back to an empty database, then to the last revision before
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE alembic_version"))
    schema.upgrade(db, to="0003")
    now = dt.datetime.now(dt.timezone.utc)
    row = {"kind": "card", "subject": "jdoe", "type": "employee", "state": "approved",
           "instance_id": None, "created_by": "sql", "created_at": now, "updated_at": now}
    with db.begin() as conn:
        conn.execute(insert(entities), [row, row])
    with pytest.raises(idm.IdmflowError, match="jdoe, employee: cards 1, 2"):
        idm.upgrade_schema(db)
    assert schema.current(db) == "0003"  # the versioned migration was rolled back too
    columns = {c["name"] for c in inspect(db).get_columns("process_instances")}
    assert "idempotency_key" in columns and "request_digest" not in columns
    db.dispose()


def test_idempotency_key_from_the_cli(cli, counts) -> None:  # type: ignore[no-untyped-def]
    first = cli("cards", "request-batch", "--as", "operator", "--users", ",".join(ACTIVE[:5]),
                "--idempotency-key", "order-7", "--json")
    assert first.exit_code == 0
    before = counts()
    again = cli("cards", "request-batch", "--as", "operator", "--users", ",".join(ACTIVE[:5]),
                "--idempotency-key", "order-7", "--json")
    assert again.exit_code == 0 and json.loads(again.output) == json.loads(first.output)
    assert counts() == before  # the retry wrote nothing
    instance = json.loads(first.output)["instance"]
    other = cli("cards", "request-batch", "--as", "operator", "--users", ",".join(ACTIVE[5:9]),
                "--idempotency-key", "order-7")
    assert other.exit_code == 1 and counts() == before
    assert f"idempotency key 'order-7' was used by instance {instance}" in other.output
    rerun = cli("cards", "request-batch", "--as", "operator", "--users", ",".join(ACTIVE[:5]))
    assert rerun.exit_code == 1 and counts() == before
    assert f"their open cards come from process instance {instance}" in rerun.output


class Printer:
    """A host's card printer that remembers what it printed."""

    def __init__(self) -> None:
        self.printed: list[int] = []

    def produce(self, orders: Sequence[idm.ProductionOrder]) -> list[idm.ProductionResult]:
        self.printed += [o.id for o in orders]
        return [idm.ProductionResult(o.id, True) for o in orders]


def test_issuing_the_same_cards_twice_at_once_produces_each_card_once(
        demo_url: str) -> None:
    printers = [Printer(), Printer()]
    engines = [idm.open(demo_url, producer=p) for p in printers]
    try:
        made = engines[0].run(BATCH, actor="operator", steps=[
            ("select", {"users": ACTIVE[:50]}), ("next", {})])
        ids = [c.id for c in engines[0].entities("card", instance_id=made.id)[0]]
        started = [e.run(ISSUE, actor="operator", steps=[("select", {"cards": ids})])
                   for e in engines]
        outcomes = _together([(lambda e=e, v=v: e.fire(v.id, "next", actor="operator"))
                              for e, v in zip(engines, started)])
        wins = [o for o in outcomes if isinstance(o, idm.InstanceView)]
        assert len(wins) == 1, outcomes
        loser = next(o for o in outcomes if not isinstance(o, idm.InstanceView))
        assert isinstance(loser, InputError) and "these are not" in str(loser)
        assert sorted(printers[0].printed + printers[1].printed) == sorted(ids)
        assert engines[0].entity_states("card", instance_id=made.id) == {"issued": 50}
        issue_events = [e for e in engines[0].history(subject_kind="card", subject_id=ids[0])
                        if e.trigger == "issue"]
        assert len(issue_events) == 1
    finally:
        for e in engines:
            e.close()


def test_two_admins_saving_one_script_at_once_get_two_versions(engines: list[idm.Engine]
                                                               ) -> None:
    engines[0].scripts.install_defaults()
    source = engines[0].scripts.show(SCRIPT).source
    assert source is not None
    edits = [source.replace("CardsBatchRequestApproval = False",
                            f"CardsBatchRequestApproval = {flag}") for flag in (True, False)]
    outcomes = _together([(lambda e=e, s=s: e.scripts.save(SCRIPT, s, author="admin"))
                          for e, s in zip(engines, edits)])
    assert sorted(o.version for o in outcomes) == [2, 3], outcomes
    assert [v.version for v in engines[0].scripts.history(SCRIPT)] == [1, 2, 3]


def test_two_starts_with_one_key_at_once_make_one_run(engines: list[idm.Engine],
                                                      counts) -> None:  # type: ignore[no-untyped-def]
    before = counts()
    steps = [("select", {"users": ACTIVE[:30]}), ("next", {})]
    outcomes = _together([(lambda e=e: e.run(BATCH, actor="operator", steps=steps,
                                             idempotency_key="retry-after-timeout"))
                          for e in engines])
    assert all(isinstance(o, idm.InstanceView) for o in outcomes), outcomes
    assert len({o.id for o in outcomes}) == 1
    assert counts()["process_instances"] == before["process_instances"] + 1
    assert counts()["entities"] == before["entities"] + 30


def test_two_inits_at_once_install_the_default_script_once(engines: list[idm.Engine]) -> None:
    outcomes = _together([e.scripts.install_defaults for e in engines])
    assert sorted(len(o) for o in outcomes) == [0, 0, 1], outcomes
    assert [v.version for v in engines[0].scripts.history(SCRIPT)] == [1]
