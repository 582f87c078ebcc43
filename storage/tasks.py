"""Task rows: open one, lock one for a decision, record the decision, list them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from .models import tasks as t
from .records import TaskView, record_of


def insert_task(conn: Connection, **values: Any) -> int:
    """A new open task at version 1; returns its id."""
    return int(conn.execute(insert(t).values(status="open", version=1, **values)
                            .returning(t.c.id)).scalar_one())


def load_task(conn: Connection, task_id: int, *, lock: bool = False) -> TaskView | None:
    """The task; with `lock`, its row stays locked until the transaction ends (PostgreSQL)."""
    stmt = select(t).where(t.c.id == task_id)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else record_of(TaskView, row)


def update_task(conn: Connection, task_id: int, *, expected_version: int,
                **values: Any) -> bool:
    """Write the decision if nobody wrote since `expected_version`; False otherwise."""
    result = conn.execute(update(t).where(t.c.id == task_id, t.c.version == expected_version)
                          .values(version=expected_version + 1, **values))
    return result.rowcount == 1


def find_tasks(conn: Connection, *, roles: Sequence[str] | None = None,
               statuses: Sequence[str] | None = None, text: str | None = None,
               instance_id: int | None = None, limit: int | None = None
               ) -> tuple[list[TaskView], int]:
    """Matching tasks, oldest first, and how many match in all."""
    where: list[ColumnElement[bool]] = []
    if roles is not None:
        where.append(t.c.role.in_(list(roles)))
    if statuses is not None:
        where.append(t.c.status.in_(list(statuses)))
    if instance_id is not None:
        where.append(t.c.instance_id == instance_id)
    if text:
        pattern = f"%{text.lower()}%"
        where.append(or_(func.lower(t.c.title).like(pattern),
                         func.lower(t.c.requested_by).like(pattern)))
    stmt = select(t).where(*where).order_by(t.c.created_at, t.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [record_of(TaskView, row) for row in conn.execute(stmt)]
    total = len(rows) if limit is None else int(conn.execute(
        select(func.count()).select_from(t).where(*where)).scalar_one())
    return rows, total
