"""The tables, as typed SQLAlchemy models.

Nothing here knows a process: cards are rows of `entities` with `kind = "card"`, so a new
use case with its own lifecycle (a user account, a token) needs no new table. Bulk paths use
these models' `__table__` with Core statements; the ORM classes are the typed schema.
The Alembic migrations in `migrations/versions` create exactly this schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Dialect, ForeignKey, Index, Integer, String,
                        Table, Text, TypeDecorator, UniqueConstraint, func)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

# BigInteger ids on PostgreSQL; SQLite only makes INTEGER PRIMARY KEY an alias of rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")


class JsonB(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL.

    Not `JSON().with_variant(JSONB(), ...)`: importing `sqlalchemy.dialects.postgresql` for
    JSONB costs a SQLite user's every command about a fifth of its start-up time.
    """

    impl = JSON
    cache_ok = True
    should_evaluate_none = True  # as JSON's: None is stored as JSON null, not SQL NULL

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


Json = JsonB()
Time = DateTime(timezone=True)


def _key(length: int) -> String:
    """A lower-cased search key compared bytewise, so a prefix is an index range scan."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Base(DeclarativeBase):
    pass


class User(Base):
    """A person in the default user directory."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    username_key: Mapped[str] = mapped_column(_key(100))
    display_name: Mapped[str] = mapped_column(String(200))
    display_key: Mapped[str] = mapped_column(_key(200))
    email: Mapped[str] = mapped_column(String(200))
    org_unit: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))

    __table_args__ = (
        Index("ix_users_username_key", "username_key"),
        Index("ix_users_display_key", "display_key"),
        Index("ix_users_state_username", "state", "username"),
    )


# Org units match case-insensitively, by the database's own lower() on both sides.
Index("ix_users_org_key_username", func.lower(User.__table__.c.org_unit),
      User.__table__.c.username)
Index("ix_users_org_key_state_username", func.lower(User.__table__.c.org_unit),
      User.__table__.c.state, User.__table__.c.username)


class UserKey(Base):
    """One prefix of one word of a user's username or display name ("b", "be", "ber", ...).

    A search word is then one key, and its matches are one run of this table's primary key
    in username order: any page of any name search is an index seek and `limit` rows,
    however many users match. `storage.directory.index_users` writes these rows.
    """

    __tablename__ = "user_keys"
    key: Mapped[str] = mapped_column(_key(200), primary_key=True)
    #: no foreign key: it cost PostgreSQL a trigger call per key row; searches join `users`,
    #: so the keys of a deleted user find nothing
    username: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


class Account(Base):
    """A console account: who logs in and acts, with roles."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(Time)
    #: set while the account is disabled: it cannot log in, and it gets no mail
    disabled_at: Mapped[dt.datetime | None] = mapped_column(Time)


class AccountRole(Base):
    __tablename__ = "account_roles"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    role: Mapped[str] = mapped_column(String(50), primary_key=True)

    __table_args__ = (Index("ix_account_roles_role", "role"),)


class ConsoleSession(Base):
    """One logged-in browser: the cookie holds a random id, the table only its SHA-256 hash.

    Keyed by username, not account id, so accounts a host provides get sessions too.
    `authenticated_at` is the last password entry (login or re-authentication).
    """

    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(Time)
    last_seen_at: Mapped[dt.datetime] = mapped_column(Time)
    authenticated_at: Mapped[dt.datetime] = mapped_column(Time)
    client: Mapped[str] = mapped_column(String(100))
    user_agent: Mapped[str] = mapped_column(String(300))

    __table_args__ = (Index("ix_console_sessions_username", "username"),)


class LoginFailure(Base):
    """One wrong password (or unknown name), for throttling by account and by address."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(Time)

    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),
                      Index("ix_login_failures_client_at", "client", "at"))


class ProcessInstance(Base):
    """One run of a process; `version` is the optimistic lock."""

    __tablename__ = "process_instances"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    process: Mapped[str] = mapped_column(String(100))
    process_version: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    #: a hash of what started it (input and steps): one key, one request
    request_digest: Mapped[str | None] = mapped_column(String(64))
    started_by: Mapped[str] = mapped_column(String(100))
    options_version: Mapped[str] = mapped_column(String(50))
    options: Mapped[dict[str, Any]] = mapped_column(Json)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(Time)
    updated_at: Mapped[dt.datetime] = mapped_column(Time)
    ended_at: Mapped[dt.datetime | None] = mapped_column(Time)
    #: on hold (a legal hold, an investigation): kept, with its audit events, past retention
    held: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("process", "idempotency_key", name="uq_process_instances_idempotency"),
        Index("ix_process_instances_started_by", "started_by", "id"),
        Index("ix_process_instances_process_state", "process", "state"),
    )


class Entity(Base):
    """A thing with a lifecycle (a card): whose it is, its type and its state."""

    __tablename__ = "entities"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(50))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(Time)
    updated_at: Mapped[dt.datetime] = mapped_column(Time)

    __table_args__ = (
        Index("ix_entities_kind_subject_type_state", "kind", "subject", "type", "state"),
        # with kind, a run's counts (in all, by state) read the index alone: 3x faster
        # at 90,000 cards of a run among a million on SQLite
        Index("ix_entities_instance_kind_state", "instance_id", "kind", "state"),
        Index("ix_entities_kind_state", "kind", "state", "id"),
        # a run's cards page by id: without it a page of a 100,000-card run sorts them all
        Index("ix_entities_instance_id", "instance_id", "id"),
    )


class AuditEvent(Base):
    """One row of the append-only audit log: who moved what from where to where, and why."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(Time)
    actor: Mapped[str] = mapped_column(String(100))
    subject_kind: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    instance_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    trigger: Mapped[str] = mapped_column(String(50))
    source: Mapped[str | None] = mapped_column(String(50))
    dest: Mapped[str | None] = mapped_column(String(50))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)

    __table_args__ = (
        Index("ix_audit_events_subject", "subject_kind", "subject_id", "id"),
        Index("ix_audit_events_instance", "instance_id", "id"),
        Index("ix_audit_events_actor", "actor", "id"),
    )


class ScriptVersion(Base):
    """One saved version of an option script: its source and the values computed from it.

    Values are computed once, when the version is saved, so starting a process reads them
    instead of running the script. The newest version of a name is the active one.
    """

    __tablename__ = "script_versions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    values: Mapped[dict[str, Any]] = mapped_column(Json)
    rules: Mapped[dict[str, Any]] = mapped_column(Json)
    author: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Time)

    __table_args__ = (UniqueConstraint("name", "version", name="uq_script_versions_name_version"),)


class Task(Base):
    """A human task (an approval): who may act, its status and the last decision on it.

    `version` is the optimistic lock; deciding also takes the row lock on PostgreSQL, so two
    approvers deciding at once are serialised and the second sees the first's decision.
    """

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    process: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    requested_by: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(Time)
    updated_at: Mapped[dt.datetime] = mapped_column(Time)
    closed_at: Mapped[dt.datetime | None] = mapped_column(Time)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_tasks_role_status", "role", "status", "id"),
        Index("ix_tasks_instance", "instance_id"),
    )


class OutboxMail(Base):
    """A mail written in the transaction of what it reports, delivered later by a sender."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    recipients: Mapped[list[str]] = mapped_column(Json)
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(Time)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Time)
    sent_at: Mapped[dt.datetime | None] = mapped_column(Time)
    #: where it went when sent (the SMTP server, or a local mailbox file)
    delivered_via: Mapped[str | None] = mapped_column(String(300))
    #: an attempt's outcome was lost (its sender died, or the connection broke after the
    #: message was handed over): the recipient may have it twice, with one Message-ID
    possible_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at", "id"),)


class Job(Base):
    """A piece of background work, enqueued in the transaction of what causes it.

    A worker claims it by taking a lease (`lease_owner`, `lease_expires_at`) in a short
    transaction and commits before doing the work; `attempts` is counted at the claim, so an
    attempt whose worker died is still visible. `key` makes a double enqueue one job.
    """

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(50))
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: the process instance it acts on, if any (a long step, a deadline)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    #: queued, running, retrying, succeeded, dead, cancelled
    state: Mapped[str] = mapped_column(String(20))
    #: lower runs first
    priority: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[dt.datetime] = mapped_column(Time)
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(Time)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any | None] = mapped_column(Json)
    #: how far the running attempt is (stored on PostgreSQL, where another process may ask)
    progress_done: Mapped[int | None] = mapped_column(BigInteger)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(Time)
    updated_at: Mapped[dt.datetime] = mapped_column(Time)
    started_at: Mapped[dt.datetime | None] = mapped_column(Time)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Time)

    __table_args__ = (
        Index("ix_jobs_due", "state", "queue", "priority", "run_at", "id"),
        Index("ix_jobs_lease", "state", "lease_expires_at"),
        Index("ix_jobs_kind_state", "kind", "state", "id"),
        Index("ix_jobs_instance", "instance_id", "id"),
    )


class ScheduleRow(Base):
    """A periodic job: its cron expression, and the period it last fired for.

    Declared in code (by the engine or a process); stored so that every worker agrees on
    what fired and `idmflow schedules list` shows the next and last runs.
    """

    __tablename__ = "schedules"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    cron: Mapped[str] = mapped_column(String(100))
    #: where `cron` comes from: "declared", or the option that overrides it
    source: Mapped[str] = mapped_column(String(150))
    last_period_at: Mapped[dt.datetime | None] = mapped_column(Time)
    last_job_id: Mapped[int | None] = mapped_column(BigInteger)
    next_run_at: Mapped[dt.datetime] = mapped_column(Time)
    updated_at: Mapped[dt.datetime] = mapped_column(Time)


class WorkerBeat(Base):
    """A worker process that runs or ran: its heartbeat says it is alive (for /readyz)."""

    __tablename__ = "workers"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    queues: Mapped[list[str]] = mapped_column(Json)
    concurrency: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(Time)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(Time)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(Time)


# The Core tables, typed as such (`__table__` is typed as a bare FromClause).
users = cast(Table, User.__table__)
user_keys = cast(Table, UserKey.__table__)
accounts = cast(Table, Account.__table__)
account_roles = cast(Table, AccountRole.__table__)
console_sessions = cast(Table, ConsoleSession.__table__)
login_failures = cast(Table, LoginFailure.__table__)
process_instances = cast(Table, ProcessInstance.__table__)
entities = cast(Table, Entity.__table__)
audit_events = cast(Table, AuditEvent.__table__)
script_versions = cast(Table, ScriptVersion.__table__)
tasks = cast(Table, Task.__table__)
outbox = cast(Table, OutboxMail.__table__)
jobs = cast(Table, Job.__table__)
workers = cast(Table, WorkerBeat.__table__)
schedules = cast(Table, ScheduleRow.__table__)
