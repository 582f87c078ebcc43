"""Invariants held by the database; idempotent batch orders remember what they asked for.

From this revision on, every upgrade also creates the partial unique indexes that the
installed lifecycles declare (see `storage.invariants`; env.py runs it after the versioned
migrations, in the same transaction). `request_digest` is a hash of what started an instance,
so the same idempotency key with a different request is refused instead of answered with
the first run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("request_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("request_digest")
