"""Batch card order and bulk approve through the engine, beside the raw SQL floor.

For each database and N it prints the wall time and peak memory of

* request: a batch order of N active users through the engine, from Next to committed,
  beside the floor: a raw SQLAlchemy Core bulk insert of the same card rows and audit rows;
* approve: one approver's decision approving a batch of N requested cards through the
  engine (task lock, set-based move, audit, mail, process completion), beside the floor:
  a raw Core UPDATE of the same rows plus the insert of their audit rows;

and the ratio engine / floor. Each measurement runs in a fresh child process on a fresh
database. Set-up (users, the pending batch) runs in one child process, untimed; the phase
runs in another, so its peak memory is its own growth of the resident set (the kernel's peak
is reset when the phase begins). PostgreSQL runs use their own database, `idmflow_bench`.

    python benchmarks/batch_request.py [--sizes 1000,10000,100000] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import multiprocessing
import sys
import tempfile
import time
from typing import Any

from sqlalchemy import insert, select, text, update

from databases import fresh

NAME = "CardsBoProcRequestMulitple"


def _status(field: str) -> int:
    """A memory figure of /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> int:
    """Reset the peak resident set (Linux 4.0+) and return the current one."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def _fresh(database: str, folder: str) -> str:
    return fresh(database, folder)


def _seed(url: str, n: int) -> list[str]:
    """N active users (and the demo accounts); returns their usernames."""
    from idmflow.storage.database import connect, write_transaction
    from idmflow.storage.demo import demo_user, seed_accounts
    from idmflow.storage.models import users

    db = connect(url)
    rows = [{**demo_user(i), "state": "active"} for i in range(1, n + 1)]
    with write_transaction(db) as conn:
        for start in range(0, n, 10_000):
            conn.execute(insert(users), rows[start:start + 10_000])
    seed_accounts(db, dt.datetime.now(dt.timezone.utc))
    if db.dialect.name == "postgresql":
        with db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    db.dispose()
    return [r["username"] for r in rows]


def _requested(engine: Any, names: list[str]) -> int:
    """A batch of requested cards (approval on), made through the engine; its instance id."""
    import idmflow.engine as idm

    with_approval = idm.open(str(engine.db.url.render_as_string(hide_password=False)),
                             options=idm.FixedOptions({"CardsBatchRequestApproval": True}))
    view = with_approval.run(NAME, actor="operator",
                             steps=[("select", {"users": names, "card_type": "visitor"}),
                                    ("next", {})])
    with_approval.db.dispose()
    return view.id


def _setup(database: str, n: int, phase: str, folder: str, out: Any) -> None:
    """Untimed, in its own process: a fresh database, N active users, the pending work."""
    import idmflow.engine as idm

    url = _fresh(database, folder)
    names = _seed(url, n)
    engine = idm.open(url)
    instance_id = None
    if phase == "request":
        view = engine.start(NAME, actor="operator")
        instance_id = engine.fire(view.id, "select", actor="operator", input={"users": names}).id
    elif phase.startswith("approve"):
        instance_id = _requested(engine, names)
    engine.db.dispose()
    out.send((url, instance_id))


def _measure(url: str, n: int, phase: str, instance_id: int | None, out: Any) -> None:
    """Timed, in a fresh process, so its memory growth is the phase's own."""
    import idmflow.engine as idm
    from idmflow.storage.demo import demo_user
    from idmflow.storage.models import audit_events, entities

    engine = idm.open(url)
    names = [demo_user(i)["username"] for i in range(1, n + 1)] if "floor" in phase else []
    now = dt.datetime.now(dt.timezone.utc)
    with engine.db.connect():
        pass  # the pool's first connection is set-up, not work
    gc.collect()
    before = _reset_peak()
    started = time.perf_counter()
    if phase == "request":
        assert instance_id is not None
        done = engine.fire(instance_id, "next", actor="operator")
        assert done.data["cards"] == n
    elif phase == "request floor":
        with engine.db.begin() as conn:
            ids = conn.execute(
                insert(entities).returning(entities.c.id, sort_by_parameter_order=True),
                [{"kind": "card", "subject": u, "type": "employee", "state": "approved",
                  "instance_id": None, "created_by": "operator", "created_at": now,
                  "updated_at": now} for u in names]).scalars().all()
            conn.execute(insert(audit_events), [
                {"at": now, "actor": "operator", "subject_kind": "card", "subject_id": i,
                 "instance_id": None, "trigger": "request", "source": "registered",
                 "dest": "approved", "reason": None} for i in ids])
    elif phase == "approve":
        (task,), _ = engine.tasks(instance_id=instance_id)
        assert engine.decide(task.id, actor="approver", decision="approve").status == "done"
    else:  # approve floor
        with engine.db.begin() as conn:
            ids = conn.execute(
                update(entities).where(entities.c.instance_id == instance_id,
                                       entities.c.state == "requested")
                .values(state="approved", updated_at=now)
                .returning(entities.c.id)).scalars().all()
            conn.execute(insert(audit_events), [
                {"at": now, "actor": "approver", "subject_kind": "card", "subject_id": i,
                 "instance_id": instance_id, "trigger": "approve", "source": "requested",
                 "dest": "approved", "reason": None} for i in ids])
        assert len(ids) == n
    seconds = time.perf_counter() - started
    peak = _status("VmHWM") - before
    engine.db.dispose()
    out.send((seconds, max(peak, 0)))


def _child(target: Any, *args: Any) -> Any:
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=target, args=(*args, send))
    child.start()
    result = receive.recv()
    child.join()
    return result


def measure(database: str, n: int, phase: str) -> tuple[float, int]:
    """(seconds, peak bytes) of one phase: set up in one child, measured in another."""
    with tempfile.TemporaryDirectory() as folder:
        url, instance_id = _child(_setup, database, n, phase, folder)
        result: tuple[float, int] = _child(_measure, url, n, phase, instance_id)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'database':9} {'what':8} {'N':>7}  {'engine s':>9} {'floor s':>8} {'ratio':>6}  "
          f"{'engine MB':>9} {'floor MB':>8}  {'engine us/card':>14}")
    for database in args.databases.split(","):
        for what in ("request", "approve"):
            for n in sizes:
                eng_s, eng_b = measure(database, n, what)
                floor_s, floor_b = measure(database, n, f"{what} floor")
                print(f"{database:9} {what:8} {n:>7,}  {eng_s:>9.3f} {floor_s:>8.3f} "
                      f"{eng_s / floor_s:>6.2f}  {eng_b / 2**20:>9.1f} {floor_b / 2**20:>8.1f}  "
                      f"{eng_s / n * 1e6:>14.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
