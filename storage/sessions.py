"""Console sessions and login failures, as rows: what makes a logout or a lock real.

The cookie carries a random token; the table keeps only its SHA-256, so reading the table
does not hand out sessions. A row is the session: deleting it ends every copy of the
cookie. Expiry (idle and absolute) is decided by the caller's times, so tests move a clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, delete, func, insert, or_, select, update

from .accounts import end_sessions
from .database import write_transaction
from .models import console_sessions, login_failures
from .records import aware


def token_hash(token: str) -> str:
    """What the table stores of a session token."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One console session as the "my sessions" page shows it."""

    id_hash: str
    username: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    authenticated_at: dt.datetime
    client: str
    user_agent: str


def _row(r: Row[Any]) -> SessionRow:
    return SessionRow(r.id_hash, r.username, aware(r.created_at), aware(r.last_seen_at),
                      aware(r.authenticated_at), r.client, r.user_agent)


class SessionStore:
    """The `console_sessions` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, username: str, *, now: dt.datetime, client: str, user_agent: str,
               replaces: str | None = None) -> str:
        """A new session; returns its token (for the cookie). `replaces` is ended."""
        token = secrets.token_urlsafe(32)
        with write_transaction(self._engine) as conn:
            if replaces:
                conn.execute(delete(console_sessions)
                             .where(console_sessions.c.id_hash == token_hash(replaces)))
            conn.execute(insert(console_sessions).values(
                id_hash=token_hash(token), username=username, created_at=now,
                last_seen_at=now, authenticated_at=now, client=client[:100],
                user_agent=user_agent[:300]))
        return token

    def lookup(self, token: str, *, now: dt.datetime, idle: dt.timedelta,
               lifetime: dt.timedelta) -> SessionRow | None:
        """The live session of `token`; an expired one is deleted and None returned.

        `last_seen_at` moves on when it is more than a minute old, so a page costs a write
        at most once a minute.
        """
        key = token_hash(token)
        with self._engine.connect() as conn:
            found = conn.execute(select(console_sessions)
                                 .where(console_sessions.c.id_hash == key)).first()
        if found is None:
            return None
        row = _row(found)
        if now - row.last_seen_at > idle or now - row.created_at > lifetime:
            self.end(token)
            return None
        if now - row.last_seen_at > dt.timedelta(minutes=1):
            with write_transaction(self._engine) as conn:
                conn.execute(update(console_sessions).where(console_sessions.c.id_hash == key)
                             .values(last_seen_at=now))
        return row

    def reauthenticated(self, token: str, now: dt.datetime) -> None:
        """The person entered their password again in this session."""
        with write_transaction(self._engine) as conn:
            conn.execute(update(console_sessions)
                         .where(console_sessions.c.id_hash == token_hash(token))
                         .values(authenticated_at=now, last_seen_at=now))

    def end(self, token: str) -> None:
        """Log out: delete the session's row."""
        with write_transaction(self._engine) as conn:
            conn.execute(delete(console_sessions)
                         .where(console_sessions.c.id_hash == token_hash(token)))

    def end_all(self, username: str, *, keep: str | None = None) -> int:
        """End every session of `username` but the one of token `keep`; how many ended."""
        with write_transaction(self._engine) as conn:
            return end_sessions(conn, username, keep=token_hash(keep) if keep else None)

    def of(self, username: str) -> list[SessionRow]:
        """Every session of `username`, newest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(console_sessions)
                                .where(console_sessions.c.username == username)
                                .order_by(console_sessions.c.created_at.desc())).all()
        return [_row(r) for r in rows]

    def purge(self, *, now: dt.datetime, idle: dt.timedelta, lifetime: dt.timedelta) -> int:
        """Delete every expired session (of everyone); how many."""
        with write_transaction(self._engine) as conn:
            return conn.execute(delete(console_sessions).where(or_(
                console_sessions.c.last_seen_at < now - idle,
                console_sessions.c.created_at < now - lifetime))).rowcount or 0


class LoginFailures:
    """The `login_failures` table: wrong passwords by name and by client address."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, username: str, client: str, now: dt.datetime) -> None:
        with write_transaction(self._engine) as conn:
            conn.execute(insert(login_failures).values(username=username[:100],
                                                       client=client[:100], at=now))

    def recent(self, *, username: str | None = None, client: str | None = None,
               since: dt.datetime) -> list[dt.datetime]:
        """When the failures since `since` happened, oldest first."""
        stmt = select(login_failures.c.at).where(login_failures.c.at >= since)
        if username is not None:
            stmt = stmt.where(login_failures.c.username == username)
        if client is not None:
            stmt = stmt.where(login_failures.c.client == client)
        with self._engine.connect() as conn:
            return [aware(at) for at in conn.execute(stmt.order_by(login_failures.c.at))
                    .scalars()]

    def clear(self, username: str) -> int:
        """Forget the failures of `username` (an admin's unlock, or a good login)."""
        with write_transaction(self._engine) as conn:
            return conn.execute(delete(login_failures)
                                .where(login_failures.c.username == username)).rowcount or 0

    def purge(self, before: dt.datetime) -> int:
        with write_transaction(self._engine) as conn:
            return conn.execute(delete(login_failures)
                                .where(login_failures.c.at < before)).rowcount or 0

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(login_failures))
                       .scalar_one())
