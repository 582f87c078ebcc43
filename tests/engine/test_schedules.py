"""Schedules: each period fires once across workers, a missed period once after downtime,
an option of the process's script overrides the cron, and `idmflow schedules list` shows
the last and next runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import idmflow.engine as idm
from idmflow.engine.jobs import JobKind
from idmflow.engine.registry import Registered, Registry
from idmflow.engine.schedules import Schedule

from ..conftest import FixedClock

SWEEP = Schedule("nightly-sweep", "0 3 * * *", "sweep", payload={"what": "cards"})


def _engine(url: str, clock: FixedClock, **kw: Any) -> idm.Engine:
    engine = idm.open(url, clock=clock, **kw)
    engine.jobs.register(JobKind("sweep", lambda ctx: ctx.payload))
    engine.jobs.schedule(SWEEP)
    return engine


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()  # 2026-11-26 09:00 UTC


@pytest.fixture
def sweeping(demo_url: str, clock: FixedClock) -> Iterator[idm.Engine]:
    engine = _engine(demo_url, clock)
    yield engine
    engine.close()


def _sweeps(engine: idm.Engine) -> list[Any]:
    return sorted(engine.jobs.find(kind="sweep", limit=None)[0], key=lambda j: j.id)


def test_a_period_fires_once_across_three_workers(demo_url: str, clock: FixedClock) -> None:
    engines = [_engine(demo_url, clock) for _ in range(3)]
    engines[0].jobs.sync_schedules()  # next run: 2026-11-27 03:00
    clock.time = dt.datetime(2026, 11, 27, 3, 0, 30, tzinfo=dt.timezone.utc)
    barrier = threading.Barrier(3)
    fired: list[list[tuple[str, int]]] = []

    def tick(engine: idm.Engine) -> None:
        barrier.wait()
        fired.append(engine.jobs.tick())

    threads = [threading.Thread(target=tick, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(f) for f in fired) == [0, 0, 1]
    [job] = _sweeps(engines[0])
    assert job.key == "schedule:nightly-sweep:2026-11-27T03:00:00+00:00"
    assert job.payload == {"what": "cards"}
    [outcome] = engines[1].worker().run_due()
    assert outcome.state == "succeeded" and outcome.result == {"what": "cards"}
    for engine in engines:
        engine.close()


def test_after_downtime_a_missed_period_fires_once(sweeping: idm.Engine, clock: FixedClock
                                                   ) -> None:
    sweeping.jobs.sync_schedules()
    clock.time += dt.timedelta(days=5, hours=1)  # five nights missed, 10:00 on the sixth day
    assert [name for name, _ in sweeping.jobs.tick()] == ["nightly-sweep"]
    assert sweeping.jobs.tick() == []
    [row] = sweeping.jobs.schedule_rows()
    assert row.last_period_at == dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.timezone.utc)
    assert row.next_run_at == dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.timezone.utc)
    assert len(_sweeps(sweeping)) == 1
    clock.time = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.timezone.utc)
    assert len(sweeping.jobs.tick()) == 1 and len(_sweeps(sweeping)) == 2


def test_a_worker_fires_schedules_as_it_runs(sweeping: idm.Engine, clock: FixedClock) -> None:
    sweeping.jobs.sync_schedules()
    clock.time = dt.datetime(2026, 11, 27, 3, 1, tzinfo=dt.timezone.utc)
    outcomes = sweeping.worker().run_due()
    assert [o.job.kind for o in outcomes] == ["sweep"]


def test_an_option_overrides_the_cron(demo_url: str, clock: FixedClock) -> None:
    base = idm.Registry.from_entry_points().get("CardsBoProcRequestMulitple")
    option = idm.OptionSpec("CardsSweepCron", str, "", "when the sweep runs (cron, UTC)")
    definition = dataclasses.replace(
        base, options=base.options + (option,),
        jobs=(JobKind("sweep", lambda ctx: None),),
        schedules=(dataclasses.replace(SWEEP, option="CardsSweepCron"),))
    registry = Registry([Registered(definition, "local")])
    engine = idm.open(demo_url, clock=clock, registry=registry,
                      options=idm.FixedOptions({"CardsSweepCron": "*/15 * * * *"}))
    engine.jobs.sync_schedules()
    [row] = engine.jobs.schedule_rows()
    assert (row.cron, row.source) == ("*/15 * * * *", "option CardsSweepCron")
    assert row.next_run_at == dt.datetime(2026, 11, 26, 9, 15, tzinfo=dt.timezone.utc)
    engine.close()
    typo = idm.open(demo_url, clock=clock, registry=registry,
                    options=idm.FixedOptions({"CardsSweepCron": "every night"}))
    typo.jobs.sync_schedules()  # a bad value keeps the declared cron (and is logged)
    [row] = typo.jobs.schedule_rows()
    assert (row.cron, row.source) == ("0 3 * * *", "declared")
    typo.close()


def test_bad_schedules_are_refused_clearly(sweeping: idm.Engine) -> None:
    with pytest.raises(idm.IdmflowError, match="'every day' is not a cron expression"):
        sweeping.jobs.schedule(Schedule("daily", "every day", "sweep"))
    with pytest.raises(idm.DefinitionError, match="declared twice, differently"):
        sweeping.jobs.schedule(dataclasses.replace(SWEEP, cron="0 4 * * *"))
    sweeping.jobs.schedule(SWEEP)  # the same declaration again is fine


def test_schedules_list(sweeping: idm.Engine, cli: Any) -> None:
    from click.testing import CliRunner

    from idmflow.console.cli.schedules import schedules
    from idmflow.console.cli.state import State

    state = State(None)
    state._engine = sweeping  # the CLI over this engine, which declares the sweep
    result = CliRunner().invoke(schedules, ["list", "--json"], obj=state)
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed["total"] == 1 and listed["schedules"][0]["name"] == "nightly-sweep"
    assert listed["schedules"][0]["next_run_at"] == "2026-11-27T03:00:00+00:00"
    assert listed["schedules"][0]["last_period_at"] is None
    plain = cli("schedules", "list")  # the demo installation declares none
    assert plain.exit_code == 0 and "NAME" in plain.output
