"""Alembic's environment: runs the migrations on the connection `storage.schema` passes in,
then creates the indexes of the declared invariants it passes (`storage.invariants`)."""

from __future__ import annotations

from alembic import context

from idmflow.storage import invariants
from idmflow.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand takes this path
    raise RuntimeError("run migrations through `idmflow init`, which passes a connection")

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
    # After the versioned migrations, in their transaction: the declared invariants.
    invariants.sync(connection, context.config.attributes.get("invariants", ()))
