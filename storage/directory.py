"""The default `UserDirectory`: the `users` table, searched on its indexes.

The name filter is a case-insensitive prefix of the username or display name, run as a
range over the lower-cased key columns (`key >= 'ab' AND key < 'ab' || U+10FFFF`), which
every database answers from a plain b-tree index. Pages are keyset pages by username, so
page 2,000 of a million users costs what page 1 does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from idmflow.engine.ports import DirectoryUser, UserQuery

from .lists import chunk_size, one_of
from .models import users

_TOP = "\U0010ffff"  # sorts after every character, bytewise in UTF-8 too
_PAGE = 5000  # usernames per keyset page when streaming every match


def prefix(column: Any, text: str) -> ColumnElement[bool]:
    """`column` starts with the lower-cased `text`, as an index range."""
    key = text.lower()
    return and_(column >= key, column < key + _TOP)


def user_filter(query: UserQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a query, parameters bound (never formatted into SQL)."""
    clauses: list[ColumnElement[bool]] = []
    if query.text:
        clauses.append(or_(prefix(users.c.username_key, query.text),
                           prefix(users.c.display_key, query.text)))
    if query.org_unit:
        clauses.append(users.c.org_unit == query.org_unit)
    if query.state:
        clauses.append(users.c.state == query.state)
    return clauses


_COLUMNS = (users.c.username, users.c.display_name, users.c.email, users.c.org_unit,
            users.c.state)


def _user(row: Any) -> DirectoryUser:
    return DirectoryUser(row.username, row.display_name, row.email, row.org_unit, row.state)


class SqlUserDirectory:
    """Directory users from the `users` table of the engine's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_many(self, usernames: Sequence[str]) -> dict[str, DirectoryUser]:
        found: dict[str, DirectoryUser] = {}
        names = list(usernames)
        size = chunk_size(self._engine)
        with self._engine.connect() as conn:
            for start in range(0, len(names), size):
                chunk = names[start:start + size]
                for row in conn.execute(select(*_COLUMNS).where(
                        one_of(conn, users.c.username, chunk))):
                    found[row.username] = _user(row)
        return found

    def search(self, query: UserQuery) -> list[DirectoryUser]:
        stmt = select(*_COLUMNS).where(*user_filter(query)).order_by(users.c.username)
        if query.after is not None:
            stmt = stmt.where(users.c.username > query.after)
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        with self._engine.connect() as conn:
            return [_user(row) for row in conn.execute(stmt)]

    def count(self, query: UserQuery) -> int:
        stmt = select(func.count()).select_from(users).where(*user_filter(query))
        with self._engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def iter_usernames(self, query: UserQuery) -> Iterator[str]:
        after = query.after
        while True:
            stmt = (select(users.c.username).where(*user_filter(query))
                    .order_by(users.c.username).limit(_PAGE))
            if after is not None:
                stmt = stmt.where(users.c.username > after)
            with self._engine.connect() as conn:
                names = list(conn.execute(stmt).scalars())
            yield from names
            if len(names) < _PAGE:
                return
            after = names[-1]
