"""What a host provides: the user directory, console accounts, a notifier and a clock.

These are `typing.Protocol`s with the plain value types that cross them, so a host plugs in
its LDAP directory or its mailer without subclassing anything of ours. `storage/` ships the
defaults. This module imports nothing else of the project: it is the one piece of `engine/`
that `storage/` may import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

UserState = Literal["active", "inactive", "locked"]
USER_STATES: tuple[UserState, ...] = ("active", "inactive", "locked")


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A person in the user directory: who may get a card."""

    username: str
    display_name: str
    email: str
    org_unit: str
    state: UserState


@dataclass(frozen=True, slots=True)
class UserQuery:
    """A directory search.

    `text` is one or more words, each a case-insensitive prefix of some word of the username
    or display name ("berg", "Berg 320" and "anna b" find "Anna Berg 320"; letters and digits
    make words, anything else separates them, so text of punctuation alone finds nobody).
    `org_unit` matches case-insensitively, `state` exactly. `after` is the last username of
    the previous page (keyset paging).
    """

    text: str | None = None
    org_unit: str | None = None
    state: UserState | None = None
    after: str | None = None
    limit: int | None = 50


@dataclass(frozen=True, slots=True)
class Account:
    """A console account: who acts (operator, approver, admin), not who gets a card."""

    username: str
    email: str
    roles: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Notification:
    """A message for people, rendered by the process and delivered by the host's notifier."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProductionOrder:
    """One thing to produce (a card to print): its id, whose it is and its type."""

    id: int
    subject: str
    type: str


@dataclass(frozen=True, slots=True)
class ProductionResult:
    """What production made of one order: done, or failed with the reason."""

    id: int
    ok: bool
    error: str | None = None


class UserDirectory(Protocol):
    """The host's user directory (the default is the `users` table)."""

    def get_many(self, usernames: Sequence[str]) -> dict[str, DirectoryUser]:
        """The users among `usernames` that exist, by username; unknown names are absent."""
        ...

    def search(self, query: UserQuery) -> list[DirectoryUser]:
        """One page of matches, ordered by username."""
        ...

    def count(self, query: UserQuery, *, at_most: int | None = None) -> int:
        """How many users match, ignoring `after` and `limit`; counting stops at `at_most`
        (a page of people says "more than 1,000" from a cheap capped count)."""
        ...

    def iter_usernames(self, query: UserQuery) -> Iterator[str]:
        """Every matching username in order, streamed (for "select all N matching")."""
        ...


class Accounts(Protocol):
    """Console accounts and their roles (the default is the `accounts` table)."""

    def get(self, username: str) -> Account | None:
        """The account, or None when there is no such account."""
        ...

    def with_role(self, role: str) -> list[Account]:
        """Every account holding `role`, ordered by username."""
        ...

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account when `password` is its password, else None.

        The console logs people in through this, so a host with its own accounts (LDAP,
        its own table) plugs them in here. Answer an unknown name in about the time a wrong
        password takes, so the login page does not tell which names exist.
        """
        ...


class DeliveryUncertain(Exception):
    """Raised by a `Notifier` whose send failed after the message was handed over (the
    connection broke before the server's reply): it may have arrived. The outbox marks the
    mail a possible duplicate and sends it again with the same Message-ID."""


class Notifier(Protocol):
    """Delivers a notification (the default sends it over SMTP)."""

    def send(self, notification: Notification) -> None:
        """Send one notification, or raise; `DeliveryUncertain` when it may have arrived."""
        ...


class Producer(Protocol):
    """The host's production service (a card printer); the default simulates one."""

    def produce(self, orders: Sequence[ProductionOrder]) -> list[ProductionResult]:
        """Produce every order; one result per order, in order. Failures are results,
        not exceptions: an exception means the service itself is down."""
        ...


class Clock(Protocol):
    """The time, injectable so tests can fix it."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...
