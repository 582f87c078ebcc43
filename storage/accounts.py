"""The default `Accounts`: console accounts and their roles, with hashed passwords."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, insert, select

from idmflow.engine.ports import Account

from .models import account_roles, accounts


class SqlAccounts:
    """Accounts from the `accounts` and `account_roles` tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, username: str) -> Account | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(accounts.c.id, accounts.c.username, accounts.c.email)
                               .where(accounts.c.username == username)).first()
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
                .where(account_roles.c.role == role).order_by(accounts.c.username)).all()
        return [Account(r.username, r.email, frozenset({role})) for r in rows]

    def check_password(self, username: str, password: str) -> Account | None:
        """The account when `password` is right, else None (same answer for a wrong name)."""
        with self._engine.connect() as conn:
            hashed = conn.execute(select(accounts.c.password_hash)
                                  .where(accounts.c.username == username)).scalar()
        from werkzeug.security import check_password_hash  # loads with a login only

        if not hashed or not check_password_hash(hashed, password):
            return None
        return self.get(username)


def create_account(conn: Connection, username: str, *, email: str, password: str | None,
                   roles: Iterable[str], now: dt.datetime, hash_method: str | None = None
                   ) -> None:
    """Insert one account with its roles (the password stored only as a hash).

    `hash_method` is werkzeug's (default: its current default, scrypt); tests pass a cheap
    PBKDF2 setting because scrypt costs a tenth of a second per account.
    """
    from werkzeug.security import generate_password_hash

    hashed = None
    if password:
        hashed = (generate_password_hash(password, method=hash_method) if hash_method
                  else generate_password_hash(password))
    account_id = conn.execute(insert(accounts).values(
        username=username, email=email, created_at=now, password_hash=hashed,
    ).returning(accounts.c.id)).scalar_one()
    roles = sorted(set(roles))
    if roles:
        conn.execute(insert(account_roles), [{"account_id": account_id, "role": r} for r in roles])
