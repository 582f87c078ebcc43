"""Named locks for the length of a transaction, for check-then-act that no row can hold.

"The next version number of a script" is read, then written: two transactions that read at
once would both take the same number. PostgreSQL gets a transaction-level advisory lock on
the name (released at commit or rollback, never leaked); SQLite needs none, since a writer
holds the database's write lock from its BEGIN IMMEDIATE on.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def hold(conn: Connection, name: str) -> None:
    """Wait until no other transaction holds `name`, then hold it until this one ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                     {"name": name})
