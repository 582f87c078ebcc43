"""A batch's Next as a job: a worker killed in the middle leaves nothing half-written, and
another worker makes the batch, exactly once, with no click; the page says it resumed."""

from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import subprocess
import sys
import time

from sqlalchemy import text

import idmflow.engine as idm
import idmflow.engine.jobs
from idmflow.console.web.runs import BackgroundRuns
from idmflow.storage.database import connect, write_transaction
from idmflow.storage.demo import demo_user, seed_users

NAME = "CardsBoProcRequestMulitple"
USERS = 6000
_WORKER = "from idmflow.console.cli import main; main()"


def _third_done(job: idm.jobs.JobRow) -> bool:
    return bool(job.progress_total) and 3 * (job.progress_done or 0) >= (job.progress_total or 0)


def _writing(url: str) -> bool:
    """Whether someone holds SQLite's write lock (the step, in the middle of its work)."""
    probe = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def test_a_killed_worker_s_batch_is_made_once_by_another(demo_url: str) -> None:
    db = connect(demo_url)
    seed_users(db, USERS)
    db.dispose()
    engine = idm.open(demo_url)
    active = sorted(demo_user(i)["username"] for i in range(1, USERS + 1)
                    if demo_user(i)["state"] == "active")
    view = engine.run(NAME, actor="operator", steps=[("select", {"users": active})])
    runs = BackgroundRuns(engine)
    runs.start(view.id, "next", actor="operator", expected_version=view.version)
    child = subprocess.Popen([sys.executable, "-c", _WORKER, "--database-url", demo_url,
                              "worker", "--queue", "steps"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    postgres = demo_url.startswith("postgresql")
    deadline = time.monotonic() + 60
    while True:  # in the middle of the step: on PostgreSQL (which stores progress) a third
        assert time.monotonic() < deadline, "the worker never got a third through"
        job = engine.jobs.latest_for(view.id, "step")
        assert job is not None and job.state in ("queued", "running")
        if job.state == "running" and (_third_done(job) if postgres else _writing(demo_url)):
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert engine.instance(view.id).state == "confirm"  # nothing half-written
    assert engine.entity_states("card", instance_id=view.id) == {}
    with write_transaction(engine.db) as conn:  # a minute later: its lease ran out
        conn.execute(text("UPDATE jobs SET lease_expires_at = :t WHERE id = :id"),
                     {"t": engine.clock.now() - dt.timedelta(seconds=1), "id": job.id})
    other = engine.worker(queues=["steps"], poll=0.1)
    assert other.reap() == 1
    other.start()
    try:
        deadline = time.monotonic() + 120
        while not (run := runs.get(view.id)) or not run.finished:
            assert time.monotonic() < deadline, "the batch was never resumed"
            time.sleep(0.1)
    finally:
        other.stop()
    done = engine.instance(view.id)
    assert done.state != "confirm" and run.problems == ()
    assert sum(engine.entity_states("card", instance_id=view.id).values()) == len(active)
    assert run.note is not None and run.note.startswith("Attempt 1 was interrupted")
    assert ("%" in run.note) is postgres and "resumed at" in run.note
    with engine.db.connect() as conn:
        cards = conn.execute(text("SELECT count(*) FROM entities WHERE instance_id = :i"),
                             {"i": view.id}).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM audit_events WHERE instance_id = :i "
                                   "AND subject_kind = 'card'"), {"i": view.id}).scalar_one()
    assert cards == events == len(active)
    engine.close()
