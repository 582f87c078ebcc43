"""Console pages at a million cards and a 100,000-card approval task: server time and size.

It seeds `--users` directory users (as `benchmarks/search.py` does, in SQL), runs one batch
order for all of its active users with the approval step on through the engine (so the
approval task holds about 90 % of them as requested cards, written the engine's way, which
also refreshes the planner's statistics), then adds filler cards up to `--cards` with one
`INSERT ... SELECT`, spread over 1,000 finished runs, and refreshes statistics as a large
engine write would (`storage.statistics.after_write`). Each page is fetched through
Flask's test client, logged in as the role that reads it, `--repeat` times after one
warm-up: the median server time (the request in this process, no network) and the size.

The budget (issue 14): every page under 200 ms and 1 MB. About 6 minutes on two cores:

    python benchmarks/pages.py [--cards 1000000] [--users 100000] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics as stats
import tempfile
import time

from sqlalchemy import insert, select, text

import idmflow.engine as idm
from idmflow.console.web import create_app
from idmflow.storage import statistics
from idmflow.storage.accounts import create_account
from idmflow.storage.database import connect, write_transaction
from idmflow.storage.models import entities, process_instances, users

from databases import fresh
from search import seed

BATCH = "CardsBoProcRequestMulitple"
SCRIPT = "CardsScriptOptions"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench-password-1"


def prepare(url: str, n_users: int, n_cards: int) -> tuple[idm.Engine, int, int, int]:
    """The seeded engine, the batch's instance id, its approval task's id and a card's."""
    sql = connect(url)
    seed(sql, n_users)
    now = dt.datetime.now(dt.timezone.utc)
    with write_transaction(sql) as conn:
        for role in ("operator", "approver", "admin"):
            create_account(conn, role, email=f"{role}@example.org", password=PASSWORD,
                           roles=[role], now=now, hash_method="pbkdf2:sha256:1000")
        active = list(conn.execute(select(users.c.username).where(users.c.state == "active"))
                      .scalars())
    db = idm.open(url)
    db.scripts.install_defaults()
    source = db.scripts.show(SCRIPT).source or ""
    db.scripts.save(SCRIPT, source.replace("CardsBatchRequestApproval = False",
                                           "CardsBatchRequestApproval = True"),
                    author="admin", comment="approval on")
    start = time.perf_counter()
    view = db.run(BATCH, actor="operator", steps=[("select", {"users": active}), ("next", {})])
    print(f"  batch order of {len(active):,} users with approval on: "
          f"{time.perf_counter() - start:.1f} s")
    tasks, _ = db.tasks(instance_id=view.id)
    filler = n_cards - len(active)
    start = time.perf_counter()
    with write_transaction(sql) as conn:
        first = conn.execute(text("SELECT max(id) FROM process_instances")).scalar_one()
        row = dict(conn.execute(select(process_instances).where(
            process_instances.c.id == view.id)).mappings().one())
        del row["id"]
        conn.execute(insert(process_instances), [
            {**row, "state": "done", "ended_at": row["updated_at"], "idempotency_key": None,
             "request_digest": None} for _ in range(1000)])
        conn.execute(text(
            f"INSERT INTO entities (kind, subject, type, state, instance_id, created_by, "
            f"created_at, updated_at) "
            f"SELECT 'card', 'filler' || CAST(e.id AS TEXT) || '-' || CAST(p.id AS TEXT), "
            f"'employee', CASE WHEN (e.id + p.id) - ((e.id + p.id) / 3) * 3 = 0 THEN 'issued' ELSE 'approved' END, "
            f"p.id, 'operator', e.created_at, e.updated_at "
            f"FROM entities e CROSS JOIN process_instances p "
            f"WHERE e.instance_id = :batch AND p.id > :first "
            f"AND e.id < (SELECT min(id) FROM entities WHERE instance_id = :batch) "
            f"+ {max(1, filler // 1000)}"), {"batch": view.id, "first": first})
        total = conn.execute(text("SELECT count(*) FROM entities")).scalar_one()
        statistics.after_write(conn, "entities", total)
        statistics.after_write(conn, "process_instances", 1000 + statistics.LARGE)
    print(f"  filler to {total:,} cards: {time.perf_counter() - start:.1f} s")
    with sql.connect() as conn:
        card = conn.execute(select(entities.c.id).where(entities.c.instance_id == view.id)
                            .limit(1)).scalar_one()
    sql.dispose()
    return db, view.id, tasks[0].id if tasks else 0, card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for database in args.databases.split(","):
            print(f"\n{database}:")
            engine, instance, task, card = prepare(fresh(database, folder), args.users,
                                                   args.cards)
            app = create_app(engine, testing=True)
            pages = {"operator": ["/operator/batch-orders", f"/operator/instances/{instance}"],
                     "approver": ["/approvals/", f"/approvals/{task}"],
                     "admin": [f"/audit/instances/{instance}", f"/audit/cards/{card}",
                               "/admin/jobs", "/admin/outbox", "/admin/processes"]}
            print(f"  {'page':32} {'status':>6} {'median ms':>10} {'KB':>8}  budget 200 ms, 1 MB")
            for role, urls in pages.items():
                client = app.test_client()
                token = _TOKEN.search(client.get("/login").get_data(as_text=True))
                client.post("/login", data={"username": role, "password": PASSWORD,
                                            "csrf_token": token.group(1) if token else ""})
                for url in urls:
                    client.get(url)
                    times = []
                    for _ in range(args.repeat):
                        start = time.perf_counter()
                        response = client.get(url)
                        times.append((time.perf_counter() - start) * 1000)
                    ms, kb = stats.median(times), len(response.data) / 1024
                    over = "  OVER" if ms > 200 or kb > 1024 else ""
                    print(f"  {url:32} {response.status_code:>6} {ms:10.1f} {kb:8.1f}{over}")
            engine.close()


if __name__ == "__main__":
    main()
