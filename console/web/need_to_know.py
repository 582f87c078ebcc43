"""Need to know: who may read which batch, request and history.

- An operator sees the batches they started; one with the role `supervisor`, or every
  operator when `IDMFLOW_OPERATORS_SEE_ALL` is set, sees all of them.
- An approver sees the requests of the roles they hold (the open list already says so; a
  task's own page asks too).
- The audit history of a batch or a card follows both: an admin reads every history, an
  operator that of the batches they see, an approver that of the requests of their roles.

Refusals are 403 pages that name what is refused, never the account's roles.
"""

from __future__ import annotations

from flask import abort

from idmflow.engine import Account, InstanceView, TaskView

from .extension import console, engine

SUPERVISOR = "supervisor"


def sees_all_batches(account: Account) -> bool:
    return SUPERVISOR in account.roles or (
        "operator" in account.roles and console().settings.operators_see_all)


def may_see_instance(account: Account, view: InstanceView) -> bool:
    return view.started_by == account.username or sees_all_batches(account)


def check_instance(account: Account, view: InstanceView) -> None:
    """403 unless `account` may see the batch `view`."""
    if not may_see_instance(account, view):
        abort(403, description=f"Batch order {view.id} was started by another operator; "
                               "you see your own.")


def check_task(account: Account, task: TaskView) -> None:
    """403 unless the task is for one of `account`'s roles."""
    if task.role not in account.roles:
        abort(403, description=f"Request {task.id} is for another role than yours.")


def may_see_history(account: Account, instance_id: int | None) -> bool:
    """Whether `account` may read the audit history of the batch `instance_id`."""
    if "admin" in account.roles:
        return True
    if instance_id is None:
        return False
    if "operator" in account.roles or SUPERVISOR in account.roles:
        if may_see_instance(account, engine().instance(instance_id)):
            return True
    if "approver" in account.roles:
        tasks, _ = engine().tasks(instance_id=instance_id, statuses=None)
        return any(t.role in account.roles for t in tasks)
    return False
