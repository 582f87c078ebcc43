"""Who may decide a task: the one rule, asked by every path that decides.

`Engine.decide` raises what `refusal` returns, and `Engine.may_decide` shows it (the console
hides its buttons with it); a later path (bulk decisions, escalation, delegation, an HTTP
API) must ask it too, never a copy of it. The rule:

* a closed task takes no decision;
* a requester decision (withdraw, abort) is the requester's alone: the rest of the rule is
  about judging a request, and withdrawing one's own request judges nothing;
* any other decision needs the task's role;
* nobody decides a request they made, unless the process's bool option
  `TaskSpec.self_decision_option` allows it;
* nobody decides a task that holds an item (an entity of the task's instance) whose subject
  is themselves, unless the separate bool option `TaskSpec.holder_decision_option` allows
  it. One username is one person: the console account `jdoe` and the directory user `jdoe`
  are the same, whatever the account's roles. A batch task holding one such item is refused
  as a whole (the refusal names the items): deciding "the others" would still let the holder
  decide the batch their own card belongs to, and a decision without items means all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from idmflow.storage import entities

from .definitions import ProcessDefinition
from .errors import Conflict, IdmflowError, InputError, NotAllowed
from .ports import Account
from .records import TaskView

#: how many held items a refusal names
_SHOWN = 5


def refusal(conn: Connection, definition: ProcessDefinition, task: TaskView,
            options: Mapping[str, Any], account: Account, decision: str | None
            ) -> IdmflowError | None:
    """Why `account` may not make `decision` on `task` now, as the error to raise, or None.

    Args:
        conn: reads the task's items (whether `account` holds one), in the caller's
            transaction so the answer holds for what the caller then writes.
        options: the options the task's instance runs with.
        decision: None asks for the decisions of the task's role (what an approver's
            buttons offer).
    """
    spec = definition.task(task.kind)
    who = account.username
    if not task.is_open:
        closed = f" at {task.closed_at:%Y-%m-%d %H:%M:%S}" if task.closed_at else ""
        return Conflict(f"task {task.id} was already decided by {task.decided_by} "
                        f"({task.decision}){closed}; it is closed and takes no more decisions")
    if decision is not None and decision in spec.requester_decisions:
        if who != task.requested_by:
            return NotAllowed(f"{who!r} may not {decision} in task {task.id}: only "
                              f"{task.requested_by!r}, who requested it, may")
        return None
    if decision is not None and decision not in spec.decisions:
        allowed = ", ".join((*spec.decisions, *spec.requester_decisions))
        return InputError(f"unknown decision {decision!r} for task {task.id}; use one of: "
                          f"{allowed}")
    if task.role not in account.roles:
        return NotAllowed(f"{who!r} may not decide task {task.id}: it needs the role "
                          f"{task.role!r} (the account has "
                          f"{', '.join(sorted(account.roles)) or 'no roles'})")
    if who == task.requested_by and not _allowed(options, spec.self_decision_option):
        return NotAllowed(f"{who!r} may not decide task {task.id}: it is their own request; "
                          f"another {task.role} must decide it"
                          f"{_hint(spec.self_decision_option)}")
    if not _allowed(options, spec.holder_decision_option):
        kinds = [lifecycle.name for lifecycle in definition.lifecycles] or None
        held = entities.held_by(conn, subject=who, instance_id=task.instance_id, kinds=kinds,
                                limit=_SHOWN + 1)
        if held:
            named = ", ".join(f"{kind} {i}" for kind, i in held[:_SHOWN]) + (
                " and more" if len(held) > _SHOWN else "")
            return NotAllowed(
                f"{who!r} may not decide task {task.id}: it holds {named} of the directory "
                f"user {who!r}, the same person; another {task.role} must decide "
                f"it{_hint(spec.holder_decision_option)}")
    return None


def _allowed(options: Mapping[str, Any], option: str | None) -> bool:
    return bool(option and options.get(option))


def _hint(option: str | None) -> str:
    return f", or an admin sets {option} = True" if option else ""
