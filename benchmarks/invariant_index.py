"""What holding "one open card per holder and type" in the database costs a batch's insert.

For each database it inserts N card rows (and nothing else) with raw SQLAlchemy Core in one
transaction, once on the schema without the invariant's partial unique index (the floor) and
once with it, alternating, several times; it prints the median of each and their ratio.
PostgreSQL rows go in by COPY, as the engine writes them.

    python benchmarks/invariant_index.py [--rows 100000] [--runs 5] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time

from sqlalchemy import text

from idmflow.engine import Registry, upgrade_schema
from idmflow.storage.database import connect, write_transaction
from idmflow.storage.entities import insert_many

from databases import fresh

INDEX = "uq_entities_card_one_open"


def _insert(url: str, rows: int, *, indexed: bool) -> float:
    db = connect(url)
    with write_transaction(db) as conn:
        conn.execute(text("DELETE FROM entities"))
        if not indexed:
            conn.execute(text(f"DROP INDEX IF EXISTS {INDEX}"))
    if indexed:
        upgrade_schema(db, registry=Registry.from_entry_points())  # makes the index again
    now = dt.datetime.now(dt.timezone.utc)
    batch = [{"kind": "card", "subject": f"user{i:07d}", "type": "employee",
              "state": "approved", "instance_id": None, "created_by": "bench",
              "created_at": now, "updated_at": now} for i in range(rows)]
    start = time.perf_counter()
    with write_transaction(db) as conn:
        insert_many(conn, batch)
    elapsed = time.perf_counter() - start
    db.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"{'database':10}{'rows':>10}{'no index s':>12}{'index s':>10}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.databases.split(","):
            url = fresh(name, folder)
            times: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.runs):
                for indexed in (False, True):
                    times[indexed].append(_insert(url, args.rows, indexed=indexed))
            floor, held = statistics.median(times[False]), statistics.median(times[True])
            print(f"{name:10}{args.rows:>10,}{floor:>12.3f}{held:>10.3f}{held / floor:>8.2f}")


if __name__ == "__main__":
    main()
