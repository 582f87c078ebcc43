"""Connecting: the database URL, SQLite's pragmas, write transactions, and time limits.

People's requests (console pages) get a statement timeout on PostgreSQL and a short wait for
SQLite's write lock (`serving_people`); work in a worker or the CLI gets neither, since a
100,000-card batch takes longer than any page should. Connecting has a timeout and TCP
keepalives, so a stalled server is noticed instead of waited for.

The default is a SQLite file in the current folder in WAL mode, so a newcomer needs nothing
else; PostgreSQL is reached through psycopg 3 (`postgresql+psycopg://`). Nothing here runs
at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

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


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a person's request may wait for the database (a batch step or a sweep in a
    worker has no such limit: 100,000 cards take longer than any page should)."""

    statement_seconds: float = 30.0
    busy_seconds: float = 5.0


#: the limits of the request this thread (or task) serves, if it serves a person
_PEOPLE: ContextVar[Limits | None] = ContextVar("idmflow_people_limits", default=None)
#: how long a connection attempt may take, and TCP keepalives so a dead server is noticed
PG_CONNECT = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30,
              "keepalives_interval": 10, "keepalives_count": 3}
#: SQLite's wait for the write lock outside people's requests (a batch, a worker)
SQLITE_BUSY_SECONDS = 30.0


@contextmanager
def serving_people(limits: Limits = Limits()) -> Iterator[None]:
    """Within the block, transactions have people's limits: a statement timeout on
    PostgreSQL, a short wait for SQLite's write lock."""
    token = _PEOPLE.set(limits)
    try:
        yield
    finally:
        _PEOPLE.reset(token)


def enter_people_request(limits: Limits = Limits()) -> Token[Limits | None]:
    """`serving_people` for frameworks with separate before/after hooks."""
    return _PEOPLE.set(limits)


def leave_people_request(token: Token[Limits | None]) -> None:
    _PEOPLE.reset(token)


def problem(exc: BaseException) -> str | None:
    """What a database error says about the database, for people; None for other errors
    (a bug, a constraint)."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    text = str(orig).strip().splitlines()[0] if orig is not None else str(exc)
    code = getattr(getattr(orig, "diag", None), "sqlstate", None) or getattr(orig, "sqlstate",
                                                                            None)
    if code == "57014":  # query_canceled: our statement timeout
        return "it did not answer in time (the statement timeout of a request ran out)"
    if "database is locked" in text or "database is busy" in text:
        return "it is busy: another writer held it too long"
    if exc.connection_invalidated or (code or "").startswith("08") or isinstance(
            exc, (OperationalError, InterfaceError)) and any(
            word in text.lower() for word in ("connect", "server closed", "terminating",
                                              "timeout", "unable to open", "no such file")):
        return f"it is not reachable ({text})"
    return None


def connect(url: str | None = None, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for `url`, with SQLite set up for concurrent use."""
    url = database_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, connect_args=dict(PG_CONNECT),
                               **kwargs)

        @event.listens_for(engine, "begin")
        def _pg_begin(conn: Connection) -> None:
            limits = _PEOPLE.get()
            if limits is not None:
                conn.exec_driver_sql(
                    f"SET LOCAL statement_timeout = {int(limits.statement_seconds * 1000)}")

        return engine
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is unreliable).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if make_url(url).database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that reads first
        # and then writes can fail at once with "database is locked" instead of waiting.
        write = conn.get_execution_options().get("idmflow_write", False)
        limits = _PEOPLE.get()
        busy = limits.busy_seconds if limits is not None else SQLITE_BUSY_SECONDS
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy * 1000)}")
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
