"""Search at a million users: word keys for names, case-insensitive org units, run pages.

`user_keys` holds every prefix of every word of each user's username and display name, so
a name search by any word is one index run in username order (see `storage.directory`);
the rows for users already there are written here. Org units get indexes on
`lower(org_unit)`, and entities one on `(instance_id, id)` for the pages of one run and
`(instance_id, kind, state)` (instead of `(instance_id, state)`) for its counts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_key = sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "user_keys",
        sa.Column("key", _key, nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("key", "username"),
        sqlite_with_rowid=False,
    )
    op.drop_index("ix_users_org_unit_state_username", table_name="users")
    op.create_index("ix_users_org_key_username", "users", [sa.text("lower(org_unit)"), "username"])
    op.create_index("ix_users_org_key_state_username", "users",
                    [sa.text("lower(org_unit)"), "state", "username"])
    op.create_index("ix_entities_instance_id", "entities", ["instance_id", "id"])
    op.drop_index("ix_entities_instance_state", table_name="entities")
    op.create_index("ix_entities_instance_kind_state", "entities",
                    ["instance_id", "kind", "state"])

    _index_existing_users()


def _index_existing_users() -> None:
    """The keys of the users already there, as `storage.directory.keys` makes them then."""
    conn = op.get_bind()
    users = sa.table("users", sa.column("username"), sa.column("display_name"))
    keys = sa.table("user_keys", sa.column("key"), sa.column("username"))
    word = re.compile(r"[^\W_]+")
    after = ""
    while True:
        rows = conn.execute(sa.select(users.c.username, users.c.display_name)
                            .where(users.c.username > after).order_by(users.c.username)
                            .limit(5000)).all()
        values = [{"key": key, "username": username} for username, display in rows
                  for key in {w[:end] for name in (username, display)
                              for w in word.findall(name.lower())
                              for end in range(1, min(len(w), 200) + 1)}]
        if values:
            conn.execute(keys.insert(), values)
        if len(rows) < 5000:
            return
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_entities_instance_kind_state", table_name="entities")
    op.create_index("ix_entities_instance_state", "entities", ["instance_id", "state"])
    op.drop_index("ix_entities_instance_id", table_name="entities")
    op.drop_index("ix_users_org_key_state_username", table_name="users")
    op.drop_index("ix_users_org_key_username", table_name="users")
    op.create_index("ix_users_org_unit_state_username", "users",
                    ["org_unit", "state", "username"])
    op.drop_table("user_keys")
