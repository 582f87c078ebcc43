"""Background work: jobs, schedules and the workers that run them; mail goes through jobs.

Every mail still pending in the outbox gets its delivery job here, so an upgrade loses no
mail. `outbox.delivered_via` says where a sent mail went (an SMTP server, a local mailbox).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_time = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("delivered_via", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("possible_duplicate", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    jobs = op.create_table(
        "jobs",
        sa.Column("id", _id, nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("queue", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("instance_id", _id, sa.ForeignKey("process_instances.id"), nullable=True),
        sa.Column("payload", _json, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("run_at", _time, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", _time, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", _json, nullable=True),
        sa.Column("progress_done", sa.BigInteger(), nullable=True),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("updated_at", _time, nullable=False),
        sa.Column("started_at", _time, nullable=True),
        sa.Column("finished_at", _time, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_jobs_due", "jobs", ["state", "queue", "priority", "run_at", "id"])
    op.create_index("ix_jobs_lease", "jobs", ["state", "lease_expires_at"])
    op.create_index("ix_jobs_kind_state", "jobs", ["kind", "state", "id"])
    op.create_index("ix_jobs_instance", "jobs", ["instance_id", "id"])
    op.create_table(
        "workers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("queues", _json, nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("started_at", _time, nullable=False),
        sa.Column("heartbeat_at", _time, nullable=False),
        sa.Column("stopped_at", _time, nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "schedules",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=150), nullable=False),
        sa.Column("last_period_at", _time, nullable=True),
        sa.Column("last_job_id", sa.BigInteger(), nullable=True),
        sa.Column("next_run_at", _time, nullable=False),
        sa.Column("updated_at", _time, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    conn = op.get_bind()
    outbox = sa.table("outbox", sa.column("id"), sa.column("message_id"), sa.column("status"),
                      sa.column("attempts"), sa.column("next_attempt_at"))
    now = dt.datetime.now(dt.timezone.utc)
    pending = conn.execute(sa.select(outbox).where(outbox.c.status == "pending")).all()
    if pending:
        op.bulk_insert(jobs, [{
            "kind": "mail", "queue": "mail", "key": f"mail:{row.message_id}",
            "payload": {"mail": row.id}, "state": "queued", "priority": 0,
            "run_at": row.next_attempt_at, "attempts": row.attempts, "max_attempts": 8,
            "created_at": now, "updated_at": now} for row in pending])


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("workers")
    op.drop_table("jobs")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("possible_duplicate")
        batch.drop_column("delivered_via")
