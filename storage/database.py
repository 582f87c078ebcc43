"""Connecting: the database URL, SQLite's pragmas and write transactions.

The default is a SQLite file in the current folder in WAL mode, so a newcomer needs nothing
else; PostgreSQL is reached through psycopg 3 (`postgresql+psycopg://`). Nothing here runs
at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///idmflow.db"


def database_url(url: str | None = None) -> str:
    """`url` (default: a SQLite file in the current folder) as SQLAlchemy needs it.

    The environment (`IDMFLOW_DATABASE_URL`) is read by `idmflow.engine.config`, not here.
    """
    url = url or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; plain URLs would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def safe_url(url: str) -> str:
    """The URL as people may see it: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL has no password we could find either
        return url.split("@")[-1] if "@" in url else url


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600), as SQLite would make it
    0644 under the usual umask; its -wal and -shm files take the same mode from it."""
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # there already, or its folder is missing (SQLite then says so itself)


def connect(url: str | None = None, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for `url`, with SQLite set up for concurrent use."""
    url = database_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    _create_private(make_url(url).database)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is unreliable).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if make_url(url).database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that reads first
        # and then writes can fail at once with "database is locked" instead of waiting.
        write = conn.get_execution_options().get("idmflow_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that commits on success and rolls back on any error."""
    with engine.connect() as conn:
        conn = conn.execution_options(idmflow_write=True)
        with conn.begin():
            yield conn


def is_sqlite(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "sqlite"
