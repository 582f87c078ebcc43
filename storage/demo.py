"""Demo data: deterministic directory users and the three demo console accounts.

The same N always gives the same users and states (about 90 % active, the rest inactive or
locked) in several org units, and running it twice adds nothing twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .accounts import create_account
from .database import write_transaction
from .directory import index_users
from .models import accounts, users

FIRST = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas",
         "Karin", "Lukas", "Mia", "Noah", "Olga", "Paul", "Rosa", "Simon", "Tina", "Victor")
LAST = ("Berg", "Fischer", "Hansen", "Keller", "Lang", "Meyer", "Novak", "Olsen", "Peters",
        "Richter", "Schmidt", "Vogel", "Wagner", "Weber", "Wolf", "Ziegler")
ORG_UNITS = ("Finance", "HR", "IT", "Legal", "Operations", "Research", "Sales", "Support")
DEMO_ACCOUNTS = (("operator", ("operator",)), ("approver", ("approver",)), ("admin", ("admin",)))
_CHUNK = 10_000


def demo_user(i: int) -> dict[str, str]:
    """The i-th demo user (1-based), always the same."""
    first = FIRST[i % len(FIRST)]
    last = LAST[(i // len(FIRST)) % len(LAST)]
    username = f"{first[0]}{last}{i}".lower()
    roll = (i * 2654435761) % 1000  # Knuth's multiplicative hash: spread, yet fixed
    state = "active" if roll < 900 else "inactive" if roll < 960 else "locked"
    display = f"{first} {last} {i}"
    return {"username": username, "username_key": username.lower(), "display_name": display,
            "display_key": display.lower(), "email": f"{username}@example.org",
            "org_unit": ORG_UNITS[(i * 7 + i // 13) % len(ORG_UNITS)], "state": state}


def _rows(n: int) -> Iterator[list[dict[str, str]]]:
    for start in range(1, n + 1, _CHUNK):
        yield [demo_user(i) for i in range(start, min(n, start + _CHUNK - 1) + 1)]


def seed_users(engine: Engine, n: int, *, progress: Callable[[int], None] | None = None) -> int:
    """Insert demo users 1..n that are not there yet; returns how many were added."""
    dialect_insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    done = 0
    stmt = dialect_insert(users).on_conflict_do_nothing(index_elements=["username"])
    with write_transaction(engine) as conn:
        before = conn.execute(select(func.count()).select_from(users)).scalar_one()
        for chunk in _rows(n):
            conn.execute(stmt, chunk)
            index_users(conn, [row["username"] for row in chunk])
            done += len(chunk)
            if progress:
                progress(done)
        # executemany's rowcount is not reliable across drivers; counting is.
        added = int(conn.execute(select(func.count()).select_from(users)).scalar_one() - before)
        # Fresh statistics, or the planner picks the state index for a name search over a
        # million users (2.6 s instead of 11 ms on SQLite).
        conn.exec_driver_sql("ANALYZE users, user_keys" if conn.dialect.name == "postgresql"
                             else "ANALYZE")
    return added


@dataclass(frozen=True, slots=True)
class SeededAccount:
    username: str
    roles: tuple[str, ...]
    password: str | None  # None: the account existed already, its password is unchanged


def seed_accounts(engine: Engine, now: dt.datetime, *, hash_method: str | None = None
                  ) -> list[SeededAccount]:
    """Create the demo accounts that are missing, each with a fresh random password."""
    result = []
    with write_transaction(engine) as conn:
        existing = set(conn.execute(select(accounts.c.username)).scalars())
        for username, roles in DEMO_ACCOUNTS:
            if username in existing:
                result.append(SeededAccount(username, roles, None))
                continue
            password = secrets.token_urlsafe(12)
            create_account(conn, username, email=f"{username}@example.org", password=password,
                           roles=roles, now=now, hash_method=hash_method)
            result.append(SeededAccount(username, roles, password))
    return result
