"""Entity rows (cards): bulk insert, set-based moves and queries.

Bulk insert is COPY on PostgreSQL (about half the time of a Core executemany) and a Core
executemany elsewhere; both in chunks so a caller can show progress. Nothing here builds
an ORM object per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from . import statistics
from .lists import chunk_size, one_of
from .models import entities as t

CHUNK = 10_000
_COPY_COLUMNS = ("kind", "subject", "type", "state", "instance_id", "created_by", "created_at",
                 "updated_at")
Progress = Callable[[int], None]


def insert_many(conn: Connection, rows: Sequence[dict[str, Any]], *,
                progress: Progress | None = None) -> None:
    """Insert entity rows (dicts of `_COPY_COLUMNS`), reporting how many are done."""
    copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        if copy:
            _copy(conn, chunk)
        else:
            conn.execute(insert(t), list(chunk))
        if progress:
            progress(start + len(chunk))
    statistics.after_write(conn, "entities", len(rows))


def _copy(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    statement = f"COPY entities ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    dbapi = conn.dialect.loaded_dbapi
    try:
        with raw.cursor() as cur:  # type: ignore[attr-defined]
            with cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(tuple(row[c] for c in _COPY_COLUMNS))
    except dbapi.Error as exc:
        # The raw cursor bypasses SQLAlchemy: raise what an executed statement would (an
        # IntegrityError for a unique index), so callers handle one kind of error.
        raise DBAPIError.instance(statement, None, exc, dbapi.Error,
                                  dialect=conn.dialect) from exc


def max_id(conn: Connection, *where: ColumnElement[bool]) -> int:
    """The largest id among matching entities, 0 when none."""
    return int(conn.execute(select(func.max(t.c.id)).where(*where)).scalar() or 0)


def move(conn: Connection, where: Sequence[ColumnElement[bool]], *, dest: str,
         now: dt.datetime) -> int:
    """Set `dest` on every matching entity in one UPDATE; returns how many moved."""
    moved = int(conn.execute(update(t).where(*where).values(state=dest, updated_at=now)).rowcount)
    statistics.after_write(conn, "entities", moved)
    return moved


Key = tuple[str, ...]


def holding(conn: Connection, *, kind: str, states: Sequence[str], columns: Sequence[str],
            keys: Iterable[Key]) -> dict[Key, tuple[int, int | None]]:
    """Which `keys` (values of `columns`, e.g. (subject, type)) an entity of `kind` in one
    of `states` already has, each with that entity's (id, instance id), the oldest first."""
    wanted = set(keys)
    if not wanted:
        return {}
    cols = [t.c[c] for c in columns]
    by = "subject" if "subject" in columns else columns[0]
    at = list(columns).index(by)
    values = sorted({key[at] for key in wanted})
    found: dict[Key, tuple[int, int | None]] = {}
    size = chunk_size(conn)
    for start in range(0, len(values), size):
        rows = conn.execute(select(*cols, t.c.id, t.c.instance_id).where(
            t.c.kind == kind, t.c.state.in_(states),
            one_of(conn, t.c[by], values[start:start + size])).order_by(t.c.id))
        for row in rows:
            key = tuple(row[:len(cols)])
            if key in wanted:
                found.setdefault(key, (row.id, row.instance_id))
    return found


def keys(conn: Connection, where: Sequence[ColumnElement[bool]], columns: Sequence[str]
         ) -> list[tuple[Any, ...]]:
    """The values of `columns` of every matching entity."""
    return [tuple(row) for row in conn.execute(select(*(t.c[c] for c in columns)).where(*where))]


def filters(*, kind: str, state: str | None = None, instance_id: int | None = None,
            subject: str | None = None, ids: Sequence[int] | None = None
            ) -> list[ColumnElement[bool]]:
    """The WHERE clauses for the usual entity filters."""
    where: list[ColumnElement[bool]] = [t.c.kind == kind]
    if state is not None:
        where.append(t.c.state == state)
    if instance_id is not None:
        where.append(t.c.instance_id == instance_id)
    if subject is not None:
        where.append(t.c.subject == subject)
    if ids is not None:
        where.append(t.c.id.in_(list(ids)))
    return where


def find(conn: Connection, where: Sequence[ColumnElement[bool]], *,
         limit: int | None = None, offset: int = 0, lock: bool = False) -> list[Row[Any]]:
    """Matching entities in creation order (a page of them with `offset` and `limit`).

    With `lock`, the rows stay locked until the transaction ends (PostgreSQL; SQLite's
    writers are serialised anyway): what is checked is what gets changed.
    """
    stmt = select(t).where(*where).order_by(t.c.id)
    if lock:
        stmt = stmt.with_for_update()
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return list(conn.execute(stmt))


def count(conn: Connection, where: Sequence[ColumnElement[bool]]) -> int:
    return int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())


def count_by_state(conn: Connection, where: Sequence[ColumnElement[bool]]) -> dict[str, int]:
    """How many matching entities are in each state."""
    rows = conn.execute(select(t.c.state, func.count()).where(*where).group_by(t.c.state))
    return {state: int(n) for state, n in rows}
