"""How fast workers run jobs, beside a floor: a raw-SQL claim-and-complete loop.

Throughput: N empty jobs are enqueued, then W workers (threads, each its own connections)
run them all; the floor does the same rows with SQLAlchemy Core, two transactions a job as
the worker has (claim with `FOR UPDATE SKIP LOCKED`, reading what any runner needs: the
kind, the payload and the attempt; commit; then mark it done), and no bookkeeping beyond
that. Printed: jobs per second of each and engine / floor.

Latency (PostgreSQL): one started worker waits on LISTEN; jobs are enqueued one at a time,
each from its own transaction, and the time from the enqueue's commit to the job's start is
measured (p50, p99).

    python benchmarks/jobs.py [--jobs 2000] [--runs 3] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

import idmflow.engine as idm
from idmflow.engine.jobs import JobContext, JobKind
from idmflow.storage.database import connect, write_transaction

from databases import fresh


def _enqueue(engine: idm.Engine, n: int) -> None:
    with write_transaction(engine.db) as conn:
        conn.execute(text("DELETE FROM jobs"))
        for i in range(n):
            engine.jobs.enqueue("noop", {"i": i}, conn=conn)


def _engine_run(url: str, n: int, workers: int) -> float:
    engines = [idm.open(url) for _ in range(workers)]
    for engine in engines:
        engine.jobs.register(JobKind("noop", lambda ctx: None))
    _enqueue(engines[0], n)

    def work(engine: idm.Engine) -> int:
        return len(engine.worker(queues=["default"]).run_due())

    elapsed = _timed(work, engines, n)
    for engine in engines:
        engine.close()
    return elapsed


def _floor_run(url: str, n: int, workers: int) -> float:
    setup = idm.open(url)
    setup.jobs.register(JobKind("noop", lambda ctx: None))
    _enqueue(setup, n)
    setup.close()
    dbs = [connect(url) for _ in range(workers)]
    skip = " FOR UPDATE SKIP LOCKED" if url.startswith("postgresql") else ""
    claim = text("UPDATE jobs SET state = 'running', attempts = attempts + 1 WHERE id = "
                 f"(SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority, run_at, id "
                 f"LIMIT 1{skip}) RETURNING id, kind, payload, attempts")
    finish = text("UPDATE jobs SET state = 'succeeded' WHERE id = :id")

    def work(db: Any) -> int:
        count = 0
        while True:
            with write_transaction(db) as conn:
                row = conn.execute(claim).first()
            if row is None:
                return count
            with write_transaction(db) as conn:
                conn.execute(finish, {"id": row[0]})
            count += 1

    elapsed = _timed(work, dbs, n)
    for db in dbs:
        db.dispose()
    return elapsed


def _timed(work: Callable[[Any], int], each: list[Any], n: int) -> float:
    """Seconds for one thread per item of `each` to run `work` on it, started together;
    together they must have run all `n` jobs."""
    barrier = threading.Barrier(len(each) + 1, timeout=600)
    done: list[int] = []

    def run(item: Any) -> None:
        barrier.wait()
        done.append(work(item))

    threads = [threading.Thread(target=run, args=(item,)) for item in each]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert sum(done) == n, (sum(done), n)
    return elapsed


def _latency(url: str, samples: int) -> list[float]:
    engine = idm.open(url)
    started: dict[int, float] = {}

    def note(ctx: JobContext) -> None:
        started[ctx.payload["i"]] = time.perf_counter()

    engine.jobs.register(JobKind("noop", note))
    producer = idm.open(url)  # another engine: no in-process wake-up, only LISTEN/NOTIFY
    producer.jobs.register(JobKind("noop", lambda ctx: None))
    worker = engine.worker(queues=["default"], poll=5.0)
    worker.start()
    time.sleep(0.5)  # LISTEN is set up
    committed: dict[int, float] = {}
    for i in range(samples):
        with write_transaction(producer.db) as conn:
            producer.jobs.enqueue("noop", {"i": i}, conn=conn)
        committed[i] = time.perf_counter()
        time.sleep(0.02)
    deadline = time.monotonic() + 30
    while len(started) < samples and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    engine.close()
    producer.close()
    return sorted(started[i] - committed[i] for i in started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    print(f"{'database':10}{'workers':>8}{'jobs':>8}{'engine/s':>10}{'floor/s':>10}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for database in args.databases.split(","):
            url = fresh(database, folder)
            for workers in ((1,) if database == "sqlite" else (1, 4)):
                engine_s: list[float] = []
                floor_s: list[float] = []
                for _ in range(args.runs):  # alternating, so drift hits both alike
                    engine_s.append(_engine_run(url, args.jobs, workers))
                    floor_s.append(_floor_run(url, args.jobs, workers))
                e = args.jobs / statistics.median(engine_s)
                f = args.jobs / statistics.median(floor_s)
                print(f"{database:10}{workers:>8}{args.jobs:>8,}{e:>10,.0f}{f:>10,.0f}"
                      f"{e / f:>8.2f}")
            if database == "postgres":
                lat = _latency(url, args.samples)
                p50 = statistics.median(lat) * 1000
                p99 = lat[max(int(len(lat) * 0.99) - 1, 0)] * 1000
                print(f"{database:10} enqueue -> start with LISTEN/NOTIFY over {len(lat)} jobs: "
                      f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
