"""Step handlers: check the account, open the approval task; record the approver's decision."""

from __future__ import annotations

from idmflow.engine import InputError, StepContext, TaskContext


def choose(ctx: StepContext) -> None:
    """Input: `user`, a locked directory user, and a `reason`."""
    name = str(ctx.input.get("user") or "").strip()
    user = ctx.directory.get_many([name]).get(name)
    if user is None:
        raise InputError(f"no directory user {name!r}")
    if user.state != "locked":
        raise InputError(f"{name!r} is {user.state}, not locked: there is nothing to unlock")
    ctx.data.update(user=name, reason=str(ctx.input.get("reason") or ""))
    if ctx.options["UnlockApproval"]:
        ctx.open_task("approval", title=f"Unlock {name}", payload={"user": name})


def decide(ctx: TaskContext) -> int:
    """Any decision on an unlock settles it: nothing stays undecided."""
    return 0
