"""Human tasks (approvals) and the mail outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", _id, nullable=False),
        sa.Column("instance_id", _id, sa.ForeignKey("process_instances.id"), nullable=False),
        sa.Column("process", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("payload", _json, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("updated_at", _time, nullable=False),
        sa.Column("closed_at", _time, nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tasks_role_status", "tasks", ["role", "status", "id"])
    op.create_index("ix_tasks_instance", "tasks", ["instance_id"])
    op.create_table(
        "outbox",
        sa.Column("id", _id, nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("recipients", _json, nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("sent_at", _time, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_outbox_status_due", "outbox", ["status", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("tasks")
