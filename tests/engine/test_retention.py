"""Retention: ended instances, old audit events, sent mail and finished jobs are purged in
chunks by a daily job; an instance on hold stays with its events; cards outlive their
instance; `idmflow purge --dry-run` counts what would go."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

import idmflow.engine as idm
from idmflow.engine.retention import Retention, effective
from idmflow.storage.models import audit_events, entities

from ..conftest import FixedClock

NAME = "CardsBoProcRequestMulitple"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def kept(demo_url: str, clock: FixedClock) -> Iterator[idm.Engine]:
    engine = idm.open(demo_url, clock=clock)
    yield engine
    engine.close()


def _batch(engine: idm.Engine, users: list[str]) -> idm.InstanceView:
    return engine.run(NAME, actor="operator", steps=[("select", {"users": users}),
                                                     ("next", {})])


def _active(engine: idm.Engine, n: int) -> list[str]:
    return [u.username for u in engine.directory.search(idm.UserQuery(state="active", limit=n))]


def _count(engine: idm.Engine, table: Any, *where: Any) -> int:
    with engine.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def test_what_is_past_retention_goes_and_a_hold_keeps_its_instance(kept: idm.Engine,
                                                                   clock: FixedClock,
                                                                   cli: Any) -> None:
    users = _active(kept, 6)
    first, second, third = (_batch(kept, users[i:i + 2]) for i in (0, 2, 4))
    assert first.state == "done"
    kept.hold(second.id, actor="admin", reason="case 4711")
    clock.time += dt.timedelta(days=800)  # past 730 days for instances, 365 for events
    recent = _batch(kept, _active(kept, 10)[6:8])
    would = kept.purge(dry_run=True)
    assert would["instances"] == 2 and would["audit_events"] > 0
    assert kept.instance(first.id).id == first.id  # a dry run deletes nothing
    done = kept.purge()
    assert done["instances"] == 2 and done["audit_events"] == would["audit_events"]
    for gone in (first, third):
        with pytest.raises(idm.NotFound):
            kept.instance(gone.id)
    assert kept.instance(second.id).held and kept.instance(recent.id).state == "done"
    # cards outlive the instance that made them; the held instance keeps its events
    assert _count(kept, entities, entities.c.subject.in_(users[:2])) == 2
    assert _count(kept, entities, entities.c.instance_id.is_(None)) == 4
    assert _count(kept, audit_events, audit_events.c.instance_id == second.id) > 0
    assert _count(kept, audit_events, audit_events.c.instance_id == first.id) == 0
    assert kept.purge() == {"instances": 0, "audit_events": 0, "sent_mail": 0,
                            "finished_jobs": 0, "workers": 0}
    kept.hold(second.id, actor="admin", reason="case closed", release=True)
    assert kept.purge()["instances"] == 1
    # released and past retention: gone with its old events; the release itself is recent
    assert [e.trigger for e in kept.history(instance_id=second.id)] == ["release"]


def test_sent_mail_and_finished_jobs_go_after_their_time(kept: idm.Engine, clock: FixedClock
                                                         ) -> None:
    from ..console.conftest import approval_on

    class Collected:
        def send(self, notification: idm.Notification) -> None:
            pass

    approval_on(kept)
    view = kept.run(NAME, actor="operator", steps=[("select", {"users": _active(kept, 2)}),
                                                   ("next", {})])
    kept.notifier = Collected()
    assert kept.deliver_mail().sent == 1
    clock.time += dt.timedelta(days=91)
    counts = kept.purge()
    assert counts["sent_mail"] == 1 and kept.outbox()[1] == 0
    assert kept.jobs.find(kind="mail")[1] == 0  # its delivery job went with it
    assert kept.instance(view.id).state == "approval"  # a running instance is never purged


def test_the_purge_is_a_daily_schedule(kept: idm.Engine, clock: FixedClock) -> None:
    kept.jobs.sync_schedules()
    [row] = [r for r in kept.jobs.schedule_rows() if r.name == "idmflow-retention"]
    assert row.next_run_at == dt.datetime(2026, 11, 27, 3, 17, tzinfo=dt.timezone.utc)
    clock.time = row.next_run_at
    [outcome] = [o for o in kept.worker().run_due() if o.job.kind == "retention"]
    assert outcome.state == "succeeded" and set(outcome.result) >= {"instances",
                                                                     "audit_events"}


def test_an_option_sets_a_period() -> None:
    declared = Retention(audit=365, options={"audit": "CardsAuditDays"})
    assert effective(declared, lambda option: 30).audit == 30
    assert effective(declared, lambda option: None).audit is None  # kept for ever
    assert effective(declared, lambda option: "soon").audit == 365  # not a number: declared
    assert effective(declared, lambda option: -1).audit == 365


def test_holds_and_purge_from_the_command_line(kept: idm.Engine, cli: Any) -> None:
    view = _batch(kept, _active(kept, 2))
    refused = cli("process", "hold", str(view.id), "--as", "operator", "--reason", "x")
    assert refused.exit_code == 1 and "an admin's act" in refused.output
    blank = cli("process", "hold", str(view.id), "--as", "admin", "--reason", "  ")
    assert blank.exit_code == 1 and "give a reason" in blank.output
    held = cli("process", "hold", str(view.id), "--as", "admin", "--reason", "audit 2026",
               "--json")
    assert held.exit_code == 0 and json.loads(held.output)["held"] is True
    assert [e.trigger for e in kept.history(instance_id=view.id)][-1] == "hold"
    counted = cli("purge", "--dry-run", "--json")
    assert counted.exit_code == 0 and json.loads(counted.output)["dry_run"] is True
    assert cli("purge").output.startswith("purged: 0 instances")
    assert cli("process", "hold", "9999", "--as", "admin", "--reason", "x").exit_code == 1
