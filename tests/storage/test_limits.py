"""Time limits: people's requests get a statement timeout (PostgreSQL) and a short wait for
SQLite's write lock; work outside them (a batch in a worker, the CLI) gets neither."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from idmflow.storage.database import Limits, connect, problem, serving_people, write_transaction


@contextmanager
def busy(url: str) -> Iterator[None]:
    """Another connection holds what a write needs: SQLite's write lock, or on PostgreSQL
    an exclusive lock on the instances table."""
    if url.startswith("sqlite"):
        import sqlite3

        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    db = connect(url)
    with db.connect() as conn:
        conn.execute(text("LOCK TABLE process_instances IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()
    db.dispose()


def _write(db: object) -> None:
    with write_transaction(db) as conn:  # type: ignore[arg-type]
        conn.execute(text("SELECT count(*) FROM process_instances"))


def test_a_person_gives_up_soon_a_worker_waits(db_url: str) -> None:
    db = connect(db_url)
    short = Limits(statement_seconds=0.2, busy_seconds=0.2)
    with busy(db_url):
        started = time.monotonic()
        with serving_people(short):
            with pytest.raises(Exception) as caught:
                _write(db)
        assert time.monotonic() - started < 5
    expected = ("it is busy: another writer held it too long" if db_url.startswith("sqlite")
                else "it did not answer in time (the statement timeout of a request ran out)")
    assert problem(caught.value) == expected
    if db_url.startswith("postgresql"):  # outside a request, a long statement runs
        with db.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.5)"))
    _write(db)  # the limit ended with the request
    db.dispose()
