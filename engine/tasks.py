"""Human tasks: listing them for the people who may act, and deciding them exactly once.

Generic: a process declares a `TaskSpec` (who decides, what deciding does) and opens tasks
from a step handler; this module asks `deciders.refusal` who may decide, serialises concurrent deciders
(the task row is locked on PostgreSQL, writers are serialised on SQLite, and the task's
version catches anything else), runs the process's `decide`, records the decision in the
audit log, and fires the process's `complete` trigger when nothing is left undecided.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row

from idmflow.storage import audit
from idmflow.storage import tasks as task_rows

from .context import TaskContext
from .deciders import refusal
from .errors import Conflict, InputError, NotFound
from .records import TaskView

if TYPE_CHECKING:
    from .runtime import Engine

OPEN_STATUSES = ("open", "postponed")
_FIELDS = tuple(TaskView.__dataclass_fields__)


def task_view(row: Row[Any]) -> TaskView:
    return TaskView(**{name: getattr(row, name) for name in _FIELDS})


def find(engine: Engine, *, actor: str | None = None, statuses: Sequence[str] | None = None,
         text: str | None = None, instance_id: int | None = None, limit: int | None = None
         ) -> tuple[list[TaskView], int]:
    """Tasks `actor` may act on (by role), or all tasks without `actor`."""
    roles = sorted(engine.account(actor).roles) if actor is not None else None
    with engine._connection() as conn:
        rows, total = task_rows.find_tasks(conn, roles=roles, statuses=statuses, text=text,
                                           instance_id=instance_id, limit=limit)
    return [task_view(r) for r in rows], total


def get(engine: Engine, task_id: int) -> TaskView:
    with engine._connection() as conn:
        row = task_rows.load_task(conn, task_id)
    if row is None:
        raise NotFound(f"no task {task_id}; see `idmflow tasks list --as ACCOUNT`")
    return task_view(row)


def may_decide(engine: Engine, task_id: int, *, actor: str, decision: str | None = None
               ) -> str | None:
    """Why `actor` may not decide `task_id` now, or None: the rule `decide` applies."""
    account = engine.account(actor)
    with engine._connection() as conn:
        task = task_rows.load_task(conn, task_id)
        if task is None:
            raise NotFound(f"no task {task_id}; see `idmflow tasks list --as ACCOUNT`")
        row = engine._load(conn, task.instance_id)
        refused = refusal(conn, engine.definition(row.process), task_view(task), row.options,
                          account, decision)
    return None if refused is None else str(refused)


def decide(engine: Engine, task_id: int, *, actor: str, decision: str,
           items: Sequence[int] | None = None, reason: str | None = None) -> TaskView:
    """Apply one decision to a task, all in one transaction."""
    account = engine.account(actor)
    reason = (reason or "").strip() or None
    if decision == "reject" and reason is None:
        raise InputError("a rejection needs a reason: say why (--reason TEXT); the requester "
                         "receives it")
    if items is not None and not items:
        raise InputError("no cards named: give card ids, or leave them out to decide every "
                         "undecided one")
    with engine._transaction() as conn:
        task = task_rows.load_task(conn, task_id, lock=True)
        if task is None:
            raise NotFound(f"no task {task_id}; see `idmflow tasks list --as ACCOUNT`")
        row = engine._load(conn, task.instance_id)
        definition = engine.definition(row.process)
        refused = refusal(conn, definition, task_view(task), row.options, account, decision)
        if refused is not None:
            raise refused
        spec = definition.task(task.kind)
        now = engine.clock.now()
        common = engine._common(conn, definition, row, account, now)
        if decision == "postpone":
            status = "postponed"
        else:
            remaining = spec.decide(TaskContext(**common, task=task_view(task),
                                                decision=decision, items=items, reason=reason))
            status = "done" if remaining == 0 else "open"
        if not task_rows.update_task(conn, task_id, expected_version=task.version,
                                     status=status, updated_at=now, decided_by=actor,
                                     decision=decision, reason=reason,
                                     closed_at=now if status == "done" else None):
            raise Conflict(f"task {task_id} was decided by someone else at the same moment; "
                           "reload it and try again")
        audit.record(conn, [{
            "at": now, "actor": actor, "subject_kind": "task", "subject_id": task_id,
            "instance_id": row.id, "trigger": decision, "source": task.status, "dest": status,
            "reason": reason, "data": {"items": list(items) if items is not None else "all"}}])
        if status == "done":
            engine._fire_in(conn, row.id, spec.complete, account, None, None, None, system=True)
    return get(engine, task_id)
