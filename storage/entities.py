"""Entity rows (cards): bulk insert, set-based moves and queries.

Bulk insert is COPY on PostgreSQL (about half the time of a Core executemany) and a Core
executemany elsewhere; both in chunks so a caller can show progress. Nothing here builds
an ORM object per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from . import statistics
from .lists import chunk_size, one_of
from .models import entities as t
from .records import EntityRecord, record_of

CHUNK = 10_000
_COPY_COLUMNS = ("kind", "subject", "type", "state", "instance_id", "created_by", "created_at",
                 "updated_at")
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which entities a statement reads or writes: every filter given must hold.

    The engine says what it wants in these terms; the SQL is built here (`where`).
    """

    kind: str
    state: str | None = None
    #: one of these states
    states: Sequence[str] | None = None
    instance_id: int | None = None
    #: only entities of no instance (`instance_id IS NULL`)
    no_instance: bool = False
    subject: str | None = None
    ids: Sequence[int] | None = None
    #: only ids above this one (what an insert just added)
    above_id: int | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses of this selection."""
        where: list[ColumnElement[bool]] = [t.c.kind == self.kind]
        if self.state is not None:
            where.append(t.c.state == self.state)
        if self.states is not None:
            where.append(t.c.state.in_(list(self.states)))
        if self.instance_id is not None:
            where.append(t.c.instance_id == self.instance_id)
        if self.no_instance:
            where.append(t.c.instance_id.is_(None))
        if self.subject is not None:
            where.append(t.c.subject == self.subject)
        if self.ids is not None:
            where.append(t.c.id.in_(list(self.ids)))
        if self.above_id is not None:
            where.append(t.c.id > self.above_id)
        return where


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


def max_id(conn: Connection, selection: Selection) -> int:
    """The largest id among the selected entities, 0 when none."""
    return int(conn.execute(select(func.max(t.c.id)).where(*selection.where())).scalar() or 0)


def move(conn: Connection, selection: Selection, *, dest: str, now: dt.datetime) -> int:
    """Set `dest` on every selected entity in one UPDATE; returns how many moved."""
    moved = int(conn.execute(update(t).where(*selection.where()).values(state=dest,
                                                                        updated_at=now)).rowcount)
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


def held_by(conn: Connection, *, subject: str, instance_id: int, kinds: Sequence[str] | None,
            limit: int) -> list[tuple[str, int]]:
    """The (kind, id) of up to `limit` entities of `instance_id` whose subject is `subject`.

    With `kinds`, the kind-and-subject index finds them without reading the instance's
    other entities (a batch may have 100,000).
    """
    stmt = select(t.c.kind, t.c.id).where(t.c.subject == subject, t.c.instance_id == instance_id)
    if kinds is not None:
        stmt = stmt.where(t.c.kind.in_(list(kinds)))
    return [(str(kind), int(i)) for kind, i in conn.execute(stmt.order_by(t.c.id).limit(limit))]


def keys(conn: Connection, selection: Selection, columns: Sequence[str]
         ) -> list[tuple[Any, ...]]:
    """The values of `columns` of every selected entity."""
    return [tuple(row) for row in conn.execute(
        select(*(t.c[c] for c in columns)).where(*selection.where()))]


def find(conn: Connection, selection: Selection, *, limit: int | None = None, offset: int = 0,
         lock: bool = False) -> list[EntityRecord]:
    """The selected entities in creation order (a page of them with `offset` and `limit`).

    With `lock`, the rows stay locked until the transaction ends (PostgreSQL; SQLite's
    writers are serialised anyway): what is checked is what gets changed.
    """
    stmt = select(t).where(*selection.where()).order_by(t.c.id)
    if lock:
        stmt = stmt.with_for_update()
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return [record_of(EntityRecord, row) for row in conn.execute(stmt)]


def count(conn: Connection, selection: Selection) -> int:
    """How many entities are selected."""
    return int(conn.execute(select(func.count()).select_from(t)
                            .where(*selection.where())).scalar_one())


def count_by_state(conn: Connection, selection: Selection) -> dict[str, int]:
    """How many selected entities are in each state."""
    rows = conn.execute(select(t.c.state, func.count()).where(*selection.where())
                        .group_by(t.c.state))
    return {state: int(n) for state, n in rows}
