"""Invariants across entity rows, held by the database as partial unique indexes.

A lifecycle declares "at most one entity in these states per subject and type"; the engine
hands each declaration here as a plain `UniqueIndex`, and `idmflow init` creates one index
`uq_entities_<kind>_<name> ON entities (<columns>) WHERE kind = '<kind>' AND state IN (...)`.
Both SQLite and PostgreSQL enforce such an index at insert and update time, so two
transactions that each checked first can never both commit a second open card: the second
waits for the first, then fails, whatever isolation level it runs at.

Nothing here knows a process. Rows that already break a declaration stop the upgrade before
any index is made (`InvariantsBroken`, with the offending rows), so a database is never
left half-migrated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Index, MetaData, and_, func, inspect, select
from sqlalchemy.sql.elements import ColumnElement

from .models import entities as t

PREFIX = "uq_entities_"
_SHOWN = 20


@dataclass(frozen=True, slots=True)
class UniqueIndex:
    """At most one entity of `kind` in `states` per value of `columns`."""

    kind: str
    name: str
    columns: tuple[str, ...]
    states: tuple[str, ...]

    @property
    def index_name(self) -> str:
        return f"{PREFIX}{self.kind}_{self.name}"

    def where(self) -> ColumnElement[bool]:
        """The rows the index covers."""
        return and_(t.c.kind == self.kind, t.c.state.in_(self.states))

    def index(self) -> Index:
        """The index, on a private copy of the table: the models' metadata stays as declared."""
        copy = t.to_metadata(MetaData())
        where = and_(copy.c.kind == self.kind, copy.c.state.in_(self.states))
        return Index(self.index_name, *(copy.c[c] for c in self.columns), unique=True,
                     sqlite_where=where, postgresql_where=where)


@dataclass(frozen=True, slots=True)
class Breach:
    """One group of rows breaking an invariant: the shared values and the rows' ids."""

    values: tuple[str, ...]
    ids: tuple[int, ...]


class InvariantsBroken(Exception):
    """Rows already break declared invariants; no index was made. The engine words it."""

    def __init__(self, breaches: Sequence[tuple[UniqueIndex, list[Breach], int]]) -> None:
        self.breaches = list(breaches)
        super().__init__(", ".join(spec.index_name for spec, _, _ in self.breaches))


def existing(conn: Connection) -> set[str]:
    """Names of the invariant indexes the database has."""
    return {str(ix["name"]) for ix in inspect(conn).get_indexes(t.name)
            if str(ix["name"]).startswith(PREFIX)}


def breaches(conn: Connection, spec: UniqueIndex, *, shown: int = _SHOWN
             ) -> tuple[list[Breach], int]:
    """The first `shown` groups of rows breaking `spec`, and how many groups there are."""
    cols = [t.c[c] for c in spec.columns]
    groups = (select(*cols).where(spec.where()).group_by(*cols)
              .having(func.count() > 1).order_by(*cols))
    total = int(conn.execute(select(func.count()).select_from(groups.subquery())).scalar_one())
    found = []
    for values in conn.execute(groups.limit(shown)):
        ids = conn.execute(select(t.c.id).where(
            spec.where(), *(c == v for c, v in zip(cols, values))).order_by(t.c.id)).scalars()
        found.append(Breach(tuple(values), tuple(ids)))
    return found, total


def sync(conn: Connection, specs: Iterable[UniqueIndex]) -> list[str]:
    """Create the index of every spec the database lacks; returns the names created.

    Every missing spec is checked before any index is made: if rows break one, nothing is
    created and `InvariantsBroken` lists them. Indexes of invariants no longer declared are
    kept (a plugin that failed to load must not lose its guarantees); drop one on purpose.
    """
    have = existing(conn)
    missing = [spec for spec in specs if spec.index_name not in have]
    broken = []
    for spec in missing:
        found, total = breaches(conn, spec)
        if total:
            broken.append((spec, found, total))
    if broken:
        raise InvariantsBroken(broken)
    for spec in missing:
        spec.index().create(conn)
    return [spec.index_name for spec in missing]
