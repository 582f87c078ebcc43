"""The default `Accounts`: console accounts and their roles, with hashed passwords.

Also what an administrator changes about an account (password, roles, disabled, deleted);
each change ends every console session of the account in the same transaction, so a cookie
copied before the change opens nothing afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, Engine, delete, insert, select, update

from idmflow.engine.ports import Account

from .models import account_roles, accounts, console_sessions


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account as the admin's list shows it."""

    id: int
    username: str
    email: str
    roles: tuple[str, ...]
    created_at: dt.datetime
    disabled_at: dt.datetime | None


def _hash(password: str, method: str | None) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method=method) if method \
        else generate_password_hash(password)


@lru_cache(maxsize=8)
def _dummy_hash(method: str) -> str:
    """A hash of nothing with `method`'s cost: what an unknown name is checked against."""
    return _hash("no such account", method)


def _method(hashed: str) -> str:
    """werkzeug's method part of a stored hash (`scrypt:32768:8:1`, `pbkdf2:sha256:1000`)."""
    return hashed.split("$", 1)[0]


class SqlAccounts:
    """Accounts from the `accounts` and `account_roles` tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, username: str) -> Account | None:
        """The account; None when there is none or it is disabled (a disabled one acts not)."""
        with self._engine.connect() as conn:
            row = conn.execute(select(accounts.c.id, accounts.c.username, accounts.c.email)
                               .where(accounts.c.username == username,
                                      accounts.c.disabled_at.is_(None))).first()
            if row is None:
                return None
            roles = conn.execute(select(account_roles.c.role)
                                 .where(account_roles.c.account_id == row.id)).scalars()
            return Account(row.username, row.email, frozenset(roles))

    def with_role(self, role: str) -> list[Account]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(accounts.c.username, accounts.c.email)
                .join(account_roles, account_roles.c.account_id == accounts.c.id)
                .where(account_roles.c.role == role, accounts.c.disabled_at.is_(None))
                .order_by(accounts.c.username)).all()
        return [Account(r.username, r.email, frozenset({role})) for r in rows]

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account when `password` is right and it is enabled, else None.

        An unknown name costs a hash check too (against a dummy hash of the same method as
        the stored ones), so the time of the answer does not tell which names exist.
        """
        from werkzeug.security import check_password_hash  # loads with a login only

        with self._engine.connect() as conn:
            row = conn.execute(select(accounts.c.password_hash, accounts.c.disabled_at)
                               .where(accounts.c.username == username)).first()
            if row is None or not row.password_hash:
                sample = conn.execute(select(accounts.c.password_hash).where(
                    accounts.c.password_hash.is_not(None)).limit(1)).scalar()
        if row is None or not row.password_hash:
            check_password_hash(_dummy_hash(_method(sample) if sample else "scrypt"), password)
            return None
        if not check_password_hash(row.password_hash, password) or row.disabled_at is not None:
            return None
        return self.get(username)

    def rows(self) -> list[AccountRow]:
        """Every account, disabled ones too, by username."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(accounts).order_by(accounts.c.username)).all()
            roles: dict[int, list[str]] = {}
            for account_id, role in conn.execute(select(account_roles.c.account_id,
                                                        account_roles.c.role)
                                                 .order_by(account_roles.c.role)):
                roles.setdefault(account_id, []).append(role)
        return [AccountRow(r.id, r.username, r.email, tuple(roles.get(r.id, ())), r.created_at,
                           r.disabled_at) for r in rows]

    def find(self, username: str) -> AccountRow | None:
        """One account, disabled or not."""
        return next((a for a in self.rows() if a.username == username), None)


def end_sessions(conn: Connection, username: str, *, keep: str | None = None) -> int:
    """Delete every console session of `username` (but the one hashed `keep`); how many."""
    stmt = delete(console_sessions).where(console_sessions.c.username == username)
    if keep is not None:
        stmt = stmt.where(console_sessions.c.id_hash != keep)
    return conn.execute(stmt).rowcount or 0


def _account_id(conn: Connection, username: str) -> int:
    from idmflow.engine.errors import NotFound

    found = conn.execute(select(accounts.c.id).where(accounts.c.username == username)).scalar()
    if found is None:
        raise NotFound(f"no account {username!r}; `idmflow accounts list` shows them")
    return int(found)


def set_password(conn: Connection, username: str, password: str, *,
                 hash_method: str | None = None, keep_session: str | None = None) -> None:
    """A new password; every session but `keep_session` (the one changing it) ends."""
    conn.execute(update(accounts).where(accounts.c.id == _account_id(conn, username))
                 .values(password_hash=_hash(password, hash_method)))
    end_sessions(conn, username, keep=keep_session)


def set_roles(conn: Connection, username: str, roles: Iterable[str]) -> None:
    """Replace the account's roles; its sessions end (the next login sees the new roles)."""
    account_id = _account_id(conn, username)
    conn.execute(delete(account_roles).where(account_roles.c.account_id == account_id))
    wanted = sorted(set(roles))
    if wanted:
        conn.execute(insert(account_roles), [{"account_id": account_id, "role": r}
                                             for r in wanted])
    end_sessions(conn, username)


def set_disabled(conn: Connection, username: str, at: dt.datetime | None) -> None:
    """Disable (at `at`) or enable (None) an account; disabling ends its sessions."""
    conn.execute(update(accounts).where(accounts.c.id == _account_id(conn, username))
                 .values(disabled_at=at))
    if at is not None:
        end_sessions(conn, username)


def delete_account(conn: Connection, username: str) -> None:
    """Remove the account, its roles and its sessions (audit events keep its name)."""
    account_id = _account_id(conn, username)
    conn.execute(delete(account_roles).where(account_roles.c.account_id == account_id))
    conn.execute(delete(accounts).where(accounts.c.id == account_id))
    end_sessions(conn, username)


def create_account(conn: Connection, username: str, *, email: str, password: str | None,
                   roles: Iterable[str], now: dt.datetime, hash_method: str | None = None
                   ) -> None:
    """Insert one account with its roles (the password stored only as a hash).

    `hash_method` is werkzeug's (default: its current default, scrypt); tests pass a cheap
    PBKDF2 setting because scrypt costs a tenth of a second per account.
    """
    hashed = _hash(password, hash_method) if password else None
    account_id = conn.execute(insert(accounts).values(
        username=username, email=email, created_at=now, password_hash=hashed,
    ).returning(accounts.c.id)).scalar_one()
    roles = sorted(set(roles))
    if roles:
        conn.execute(insert(account_roles), [{"account_id": account_id, "role": r} for r in roles])


def provision_external(conn: Connection, username: str, *, email: str, roles: Iterable[str],
                       now: dt.datetime) -> bool:
    """Create or update an account that logs in through single sign-on (no password).

    Its roles are the provider's at each login; a changed set ends its other sessions.
    Returns False, changing nothing, when a local account (one with a password) has the
    name: single sign-on never takes over a local account.
    """
    row = conn.execute(select(accounts.c.id, accounts.c.password_hash, accounts.c.disabled_at)
                       .where(accounts.c.username == username)).first()
    if row is None:
        create_account(conn, username, email=email, password=None, roles=roles, now=now)
        return True
    if row.password_hash is not None or row.disabled_at is not None:
        return False
    conn.execute(update(accounts).where(accounts.c.id == row.id).values(email=email))
    held = set(conn.execute(select(account_roles.c.role)
                            .where(account_roles.c.account_id == row.id)).scalars())
    if held != set(roles):
        set_roles(conn, username, roles)
    return True
