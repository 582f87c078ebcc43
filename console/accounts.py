"""What an administrator changes about console accounts, from the CLI or the Accounts page.

One function per change, each checked (policy, names, roles), written in one transaction
that also ends the account's sessions where the change calls for it (storage does that)
and mails the account's owner about a new password, new roles or a disabling (through the
outbox, in the same transaction), and recorded as an audit event with who did it and from
where. Only the default accounts
table can be changed here; a host's own accounts are the host's to manage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection

from idmflow.engine import Engine, InputError, NotAllowed
from idmflow.storage import accounts as rows
from idmflow.storage.audit import record_account_event
from idmflow.storage.database import write_transaction
from idmflow.storage.sessions import LoginFailures

from .passwords import check_password, check_username

ROLES = ("operator", "approver", "admin", "self-service", "supervisor")


def _store(engine: Engine) -> rows.SqlAccounts:
    if not isinstance(engine.accounts, rows.SqlAccounts):
        raise NotAllowed("accounts come from the host product here; change them there")
    return engine.accounts


def _known(engine: Engine, username: str) -> rows.AccountRow:
    from idmflow.engine import NotFound

    found = _store(engine).find(username)
    if found is None:
        raise NotFound(f"no account {username!r}; `idmflow accounts list` shows them")
    return found


def check_roles(roles: Iterable[str]) -> list[str]:
    wanted = sorted(set(roles))
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        raise InputError(f"unknown role(s) {', '.join(unknown)}; use {', '.join(ROLES)}")
    return wanted


#: what the account's owner is told, by change (ASVS 2.2.3: notify after changes to
#: authentication details, so a takeover does not go unseen)
_TOLD = {"password_change": "the password was changed",
         "roles_change": "the roles were changed",
         "account_disable": "the account was disabled"}


def _tell(conn: Connection, engine: Engine, row: rows.AccountRow, trigger: str, *,
          actor: str, client: str | None) -> None:
    """Mail the account's owner about a change to it, in the change's transaction."""
    from idmflow.engine import Notification
    from idmflow.engine.mail import enqueue

    if not row.email or "@" not in row.email:
        return
    what = _TOLD[trigger]
    by = "you" if actor == row.username else actor
    text = (f"Console account {row.username}: {what} by {by}"
            f"{f' from {client}' if client else ''} at "
            f"{engine.clock.now():%Y-%m-%d %H:%M} UTC.\n\n"
            "If that was not you or an administrator you know of, tell an administrator now.")
    enqueue(conn, Notification(to=(row.email,), subject=f"idmflow account {row.username}: "
                               f"{what}", text=text), engine.clock.now())


def _audit(engine: Engine, trigger: str, username: str, *, actor: str, client: str | None,
           data: dict[str, object] | None = None) -> None:
    record_account_event(engine.db, at=engine.clock.now(), actor=actor, trigger=trigger,
                         account=username, client=client, data=dict(data or {}))


def create(engine: Engine, username: str, *, email: str, password: str, roles: Iterable[str],
           actor: str, client: str | None = None) -> None:
    """A new account (name and password checked against the policy)."""
    from sqlalchemy.exc import IntegrityError

    from idmflow.engine import Conflict

    check_username(username)
    check_password(username, password)
    wanted = check_roles(roles)
    try:
        with write_transaction(engine.db) as conn:
            rows.create_account(conn, username, email=email, password=password, roles=wanted,
                                now=engine.clock.now())
    except IntegrityError:
        raise Conflict(f"account {username!r} exists already") from None
    _audit(engine, "account_create", username, actor=actor, client=client,
           data={"roles": wanted})


def change_password(engine: Engine, username: str, password: str, *, actor: str,
                    client: str | None = None, keep_session: str | None = None) -> None:
    """A new password; every session of the account ends (but `keep_session`'s hash)."""
    row = _known(engine, username)
    check_password(username, password)
    with write_transaction(engine.db) as conn:
        rows.set_password(conn, username, password, keep_session=keep_session)
        _tell(conn, engine, row, "password_change", actor=actor, client=client)
    _audit(engine, "password_change", username, actor=actor, client=client)


def change_roles(engine: Engine, username: str, roles: Iterable[str], *, actor: str,
                 client: str | None = None) -> list[str]:
    """Replace the account's roles; its sessions end."""
    row = _known(engine, username)
    before = row.roles
    wanted = check_roles(roles)
    with write_transaction(engine.db) as conn:
        rows.set_roles(conn, username, wanted)
        _tell(conn, engine, row, "roles_change", actor=actor, client=client)
    _audit(engine, "roles_change", username, actor=actor, client=client,
           data={"before": list(before), "after": wanted})
    return wanted


def disable(engine: Engine, username: str, *, actor: str, client: str | None = None) -> None:
    """The account may no longer log in or act; its sessions end."""
    if actor == username:
        raise NotAllowed("you cannot disable your own account; ask another admin")
    row = _known(engine, username)
    with write_transaction(engine.db) as conn:
        rows.set_disabled(conn, username, engine.clock.now())
        _tell(conn, engine, row, "account_disable", actor=actor, client=client)
    _audit(engine, "account_disable", username, actor=actor, client=client)


def enable(engine: Engine, username: str, *, actor: str, client: str | None = None) -> None:
    _known(engine, username)
    with write_transaction(engine.db) as conn:
        rows.set_disabled(conn, username, None)
    _audit(engine, "account_enable", username, actor=actor, client=client)


def delete(engine: Engine, username: str, *, actor: str, client: str | None = None) -> None:
    """Remove the account and its sessions; the audit log keeps its name."""
    if actor == username:
        raise NotAllowed("you cannot delete your own account; ask another admin")
    _known(engine, username)
    with write_transaction(engine.db) as conn:
        rows.delete_account(conn, username)
    _audit(engine, "account_delete", username, actor=actor, client=client)


def unlock(engine: Engine, username: str, *, actor: str, client: str | None = None) -> int:
    """Forget the account's failed logins, which ends a lock; how many were forgotten."""
    forgotten = LoginFailures(engine.db).clear(username)
    _audit(engine, "unlock", username, actor=actor, client=client,
           data={"failures": forgotten})
    return forgotten


@dataclass(frozen=True, slots=True)
class Overview:
    """An account with its state for people: active, disabled or locked."""

    account: rows.AccountRow
    state: str


def overview(engine: Engine) -> list[Overview]:
    """Every account of the accounts table, with whether logins to it are locked now."""
    from . import throttle

    now = engine.clock.now()
    failures = LoginFailures(engine.db)
    found = []
    for row in _store(engine).rows():
        refusal = throttle.refusal(failures.recent(username=row.username,
                                                   since=now - throttle.WINDOW),
                                   throttle.ACCOUNT, now)
        state = ("disabled" if row.disabled_at else
                 "locked" if refusal is not None and refusal.locked else "active")
        found.append(Overview(row, state))
    return found
