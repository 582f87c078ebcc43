"""The default `UserDirectory`: the `users` table, searched on its indexes.

The name filter matches a case-insensitive prefix of any word of the username or display
name. `user_keys` holds every prefix of every such word, one row each, keyed
`(key, username)`: a search word is then one key, and its matches are one run of that
index already in username order. So every page (the first, the last, of "a" or of a rare
name) is an index seek and `limit` rows, whatever the number of matches; more words are
an `EXISTS` per word on the same index. A b-tree range per word would not do: "ber" spans
the words "berg", "bergmann", "bert", each its own username order, so a page would sort
every match (measured in `benchmarks/search.py`, as are SQLite FTS5 and `pg_trgm`, which
also return matches unordered). The price is about 15 key rows a user.

Whoever writes `users` calls `index_users` for the rows written (the demo data, the tests
and the benchmarks do); a user without keys is still found by org unit and state.

The page size goes into the SQL as a literal: with a bound `LIMIT ?` SQLite plans for an
unknown limit and walked the username index to its end on a last page (1.2 s at a million
users against 0.3 ms). Counts for people's pages stop at a cap (`at_most`), since an
exact count of "a" reads a million keys; the CLI's JSON asks for the exact one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, false, func, insert, literal_column, select
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from idmflow.engine.ports import DirectoryUser, UserQuery

from .lists import chunk_size, one_of
from .models import user_keys, users

_PAGE = 5000  # usernames per keyset page when streaming every match
_WORD = re.compile(r"[^\W_]+")  # letters and digits; anything else separates words
_KEY_LENGTH = 200


def words(text: str) -> list[str]:
    """The lower-cased words of `text`, in order: "Anna Berg-320" -> anna, berg, 320."""
    return _WORD.findall(text.lower())


def keys(*names: str) -> set[str]:
    """Every prefix of every word of `names`: the `user_keys` of one user."""
    return {word[:end] for name in names for word in words(name)
            for end in range(1, min(len(word), _KEY_LENGTH) + 1)}


def index_users(conn: Connection, usernames: Sequence[str] | None = None) -> int:
    """(Re)write the search keys of `usernames` (None: of every user) from `users`.

    Call it in the transaction that wrote the users; returns how many key rows it wrote.
    """
    written = 0
    if usernames is None:
        conn.execute(delete(user_keys))
        after = ""
        while True:
            rows = conn.execute(select(users.c.username, users.c.display_name)
                                .where(users.c.username > after).order_by(users.c.username)
                                .limit(_PAGE)).all()
            written += _write_keys(conn, rows)
            if len(rows) < _PAGE:
                return written
            after = rows[-1].username
    names = list(dict.fromkeys(usernames))
    size = chunk_size(conn)
    for start in range(0, len(names), size):
        chunk = names[start:start + size]
        conn.execute(delete(user_keys).where(one_of(conn, user_keys.c.username, chunk)))
        rows = conn.execute(select(users.c.username, users.c.display_name)
                            .where(one_of(conn, users.c.username, chunk))).all()
        written += _write_keys(conn, rows)
    return written


def _write_keys(conn: Connection, rows: Iterable[Any]) -> int:
    values = [{"key": key, "username": row.username}
              for row in rows for key in keys(row.username, row.display_name)]
    if values:
        conn.execute(insert(user_keys), values)
    return len(values)


def _limit(n: int) -> Any:
    """`LIMIT n` as a literal (see the module's docstring), never text from outside."""
    return literal_column(str(int(n)))


def _matching(conn: Connection, query: UserQuery, *columns: Any) -> tuple[Select[Any], Any]:
    """`columns` of the users matching `query` (not `after` or `limit`), in username order,
    and the username column that order is on.

    Without a name the users table's indexes on (state, username) and
    (lower(org_unit), [state,] username) give the order. With one, the longest word leads
    (the fewest matches, as a rule) on `user_keys`, each other word is an `EXISTS` on it,
    and org unit and state are one more `EXISTS` on the user's row, so they filter the
    run as it goes: as plain filters, both planners read every user of the org unit and
    sorted them (10 ms for an org unit of 12,000, growing with it), and written off their
    indexes PostgreSQL misjudged them and scanned every user (3 s). An org unit (with the
    state) of fewer than `_FEW` users leads instead, on its index in username order, since
    a broad word would pass most of its keys by.
    """
    org = func.lower(users.c.org_unit)
    wanted = _words(query.text) if query.text else []
    if query.text and not wanted:  # only punctuation: no word, so nobody (never everybody)
        return select(*columns).select_from(users).where(false()), users.c.username
    if not wanted or (query.org_unit and _few(conn, query)):
        stmt = select(*columns).select_from(users).where(*_filters(query, org, users.c.state))
        for word in wanted:
            stmt = stmt.where(_has_key(word, users.c.username))
        return stmt.order_by(users.c.username), users.c.username
    lead = user_keys.alias("k")
    stmt = (select(*columns).select_from(lead.join(users, users.c.username == lead.c.username))
            .where(lead.c.key == wanted[0]).order_by(lead.c.username))
    if query.org_unit or query.state:
        same = users.alias()
        stmt = stmt.where(exists(select(literal_column("1")).where(
            same.c.username == lead.c.username,
            *_filters(query, func.lower(same.c.org_unit), same.c.state)).offset(_limit(0))))
    for word in wanted[1:]:
        stmt = stmt.where(_has_key(word, lead.c.username))
    return stmt, lead.c.username


_FEW = 2000


def _words(text: str) -> list[str]:
    """The search words of `text`, longest first, without those a longer one implies
    ("ann anna" asks for "anna")."""
    found = sorted(set(words(text)), key=len, reverse=True)
    return [w[:_KEY_LENGTH] for i, w in enumerate(found)
            if not any(other.startswith(w) for other in found[:i])]


def _filters(query: UserQuery, org: Any, state: Any) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.org_unit:
        where.append(org == func.lower(query.org_unit))
    if query.state:
        where.append(state == query.state)
    return where


def _has_key(word: str, username: Any) -> ColumnElement[bool]:
    """The user of `username` has `word`. OFFSET 0 keeps PostgreSQL from making this a
    hash semi-join that reads every key of the word (25 ms for "anna b" at 100,000 users):
    one primary-key lookup per row instead."""
    other = user_keys.alias()
    return exists(select(literal_column("1")).where(
        other.c.key == word, other.c.username == username).offset(_limit(0)))


def _few(conn: Connection, query: UserQuery) -> bool:
    """Whether the org unit (and state) of `query` has fewer than `_FEW` users: a capped
    count on its index, about a millisecond."""
    inner = (select(literal_column("1")).select_from(users)
             .where(*_filters(query, func.lower(users.c.org_unit), users.c.state))
             .limit(_limit(_FEW)).subquery())
    return int(conn.execute(select(func.count()).select_from(inner)).scalar_one()) < _FEW


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
        with self._engine.connect() as conn:
            stmt = _page(conn, query, query.after, query.limit, *_COLUMNS)
            return [_user(row) for row in conn.execute(stmt)]

    def count(self, query: UserQuery, *, at_most: int | None = None) -> int:
        with self._engine.connect() as conn:
            stmt = _page(conn, query, None, at_most, literal_column("1").label("one"))
            if at_most is None:  # any order counts the same; a capped count keeps the
                stmt = stmt.order_by(None)  # key run's order, or PostgreSQL scans users
            return int(conn.execute(select(func.count()).select_from(stmt.subquery()))
                       .scalar_one())

    def iter_usernames(self, query: UserQuery) -> Iterator[str]:
        after = query.after
        while True:
            with self._engine.connect() as conn:
                stmt = _page(conn, query, after, _PAGE, users.c.username)
                names = list(conn.execute(stmt).scalars())
            yield from names
            if len(names) < _PAGE:
                return
            after = names[-1]


def _page(conn: Connection, query: UserQuery, after: str | None, limit: int | None,
          *columns: Any) -> Select[Any]:
    """The statement for one page: `query`'s matches after `after`, at most `limit`."""
    stmt, username = _matching(conn, query, *columns)
    if after is not None:
        stmt = stmt.where(username > after)
    if limit is not None:
        stmt = stmt.limit(_limit(limit))
    if conn.dialect.name == "postgresql" and username is not users.c.username:
        _nested_loops(conn)
    return stmt


def _nested_loops(conn: Connection) -> None:
    """Have PostgreSQL run a key-led search as written, for this transaction only.

    A page of a key run is a nested loop by construction: walk the run, look each user up.
    The planner's estimates cannot know that: for a common key it merge-joined the whole
    username index from its start (53 ms on the last page of "a" at a million users), and
    with a state filter it hashed every user (0.8 s for a capped count).
    """
    conn.execute(select(func.set_config("enable_hashjoin", "off", True),
                        func.set_config("enable_mergejoin", "off", True)))
