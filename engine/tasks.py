"""Human tasks: listing them for the people who may act, and deciding them exactly once.

Generic: a process declares a `TaskSpec` (who decides, what deciding does) and opens tasks
from a step handler; this module asks `deciders.refusal` who may decide, serialises
concurrent deciders (the task row is locked on PostgreSQL, writers are serialised on
SQLite, and the task's version catches anything else), runs the process's `decide`, records
the decision in the audit log, and fires the process's `complete` trigger when nothing is
left undecided. Everything here works on a `UnitOfWork`, in its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from idmflow.storage import tasks as task_rows

from .deciders import refusal
from .errors import Conflict, InputError, NotFound
from .migration import check_version
from .ports import Account
from .records import TaskView
from .unit import UnitOfWork

OPEN_STATUSES = ("open", "postponed")


def find(unit: UnitOfWork, *, roles: Sequence[str] | None = None,
         statuses: Sequence[str] | None = None, text: str | None = None,
         instance_id: int | None = None, limit: int | None = None
         ) -> tuple[list[TaskView], int]:
    """Tasks for `roles` (all tasks without), oldest first, and how many match in all."""
    return task_rows.find_tasks(unit.conn, roles=roles, statuses=statuses, text=text,
                                instance_id=instance_id, limit=limit)


def get(unit: UnitOfWork, task_id: int, *, lock: bool = False) -> TaskView:
    """One task (`NotFound` if there is none); with `lock`, locked until the unit ends."""
    task = task_rows.load_task(unit.conn, task_id, lock=lock)
    if task is None:
        raise NotFound(f"no task {task_id}; see `idmflow tasks list --as ACCOUNT`")
    return task


def may_decide(unit: UnitOfWork, task_id: int, *, account: Account,
               decision: str | None = None) -> str | None:
    """Why `account` may not decide `task_id` now, or None: the rule `decide` applies."""
    task = get(unit, task_id)
    row = unit.load(task.instance_id)
    refused = refusal(unit.conn, unit.definition(row), task, row.options, account, decision)
    return None if refused is None else str(refused)


def decide(unit: UnitOfWork, task_id: int, *, account: Account, decision: str,
           items: Sequence[int] | None = None, reason: str | None = None) -> None:
    """Apply one decision to a task, in the unit's transaction."""
    reason = (reason or "").strip() or None
    if decision == "reject" and reason is None:
        raise InputError("a rejection needs a reason: say why (--reason TEXT); the requester "
                         "receives it")
    if items is not None and not items:
        raise InputError("no cards named: give card ids, or leave them out to decide every "
                         "undecided one")
    task = get(unit, task_id, lock=True)
    row = unit.load(task.instance_id)
    definition = unit.definition(row)
    refused = refusal(unit.conn, definition, task, row.options, account, decision)
    if refused is not None:
        raise refused
    check_version(definition, row.id, row.process_version)
    spec = definition.task(task.kind)
    if decision == "postpone":
        status = "postponed"
    else:
        remaining = spec.decide(unit.task_context(definition, row, account, task,
                                                  decision=decision, items=items,
                                                  reason=reason))
        status = "done" if remaining == 0 else "open"
    now = unit.now
    if not task_rows.update_task(unit.conn, task_id, expected_version=task.version,
                                 status=status, updated_at=now, decided_by=account.username,
                                 decision=decision, reason=reason,
                                 closed_at=now if status == "done" else None):
        raise Conflict(f"task {task_id} was decided by someone else at the same moment; "
                       "reload it and try again")
    unit.record(account.username, "task", task_id, row.id, decision, task.status, status,
                reason=reason, data={"items": list(items) if items is not None else "all"})
    if status == "done":
        unit.fire(row.id, spec.complete, account, system=True)
