"""Card approval, shared by the card processes: open the task, apply decisions, send mail.

A batch (or single request) whose cards wait in `requested` gets one approval task for all
of them. Approvers approve or reject all undecided cards or some of them (a rejection with
its reason); the requester may abort undecided cards. Each decision moves the named cards
in one set-based statement and mails the requester; when no card is left undecided the task
closes and the process completes.
"""

from __future__ import annotations

from idmflow.engine import InputError, Notification, StepContext, TaskContext, TaskSpec

from .lifecycle import CARD
from .options import APPROVER_ROLE, HOLDER_APPROVAL, SELF_APPROVAL

#: decision -> (card trigger, card state it leads to)
MOVES = {"approve": ("approve", "approved"), "reject": ("reject", "rejected"),
         "abort": ("abort", "aborted")}


def open_approval(ctx: StepContext, *, waiting: int, card_type: str, what: str) -> int:
    """Open the approval task for the cards `ctx` just requested and mail the approvers."""
    requester = ctx.instance.started_by
    title = f"{what} {ctx.instance.id}: {waiting} {card_type} card(s) requested by {requester}"
    task_id = ctx.open_task("approval", title=title, payload={
        "what": what, "cards": waiting, "card_type": card_type, "requested_by": requester,
        "requested_at": ctx.clock.now().isoformat()})
    role = str(ctx.options[APPROVER_ROLE])
    approvers = [a.email for a in ctx.accounts.with_role(role) if a.email]
    if approvers:
        text, html = ctx.render_mail("approval_needed", task_id=task_id, title=title,
                                     instance=ctx.instance, cards=waiting, card_type=card_type,
                                     requester=requester, what=what)
        ctx.notify(Notification(to=tuple(approvers), subject=f"Approval needed: {title}",
                                text=text, html=html))
    return task_id


def decide(ctx: TaskContext) -> int:
    """Move the named (or all undecided) cards; returns how many are still undecided."""
    trigger, dest = MOVES[ctx.decision]
    instance_id = ctx.instance.id
    if ctx.items is not None:
        foreign = ctx.entities.outside(CARD, ctx.items, instance_id=instance_id)
        if foreign:
            raise InputError(f"card(s) {', '.join(map(str, foreign))} are not in task "
                             f"{ctx.task.id}; list its cards with `idmflow tasks show "
                             f"{ctx.task.id}`")
    moved = ctx.entities.move(CARD, trigger, dest, ids=ctx.items, instance_id=instance_id,
                              reason=ctx.reason)
    remaining = ctx.entities.count(CARD, instance_id=instance_id, state="requested")
    if ctx.decision in ("approve", "reject") and moved:
        _mail_requester(ctx, moved, dest, remaining)
    return remaining


def _mail_requester(ctx: TaskContext, moved: int, dest: str, remaining: int) -> None:
    requester = ctx.accounts.get(ctx.task.requested_by)
    if requester is None or not requester.email:
        return
    verb = "approved" if dest == "approved" else "rejected"
    what = f"{ctx.task.payload.get('what', 'Request')} {ctx.instance.id}"
    subject = (f"Card request {verb}: {what}, {moved} of {ctx.task.payload.get('cards')} "
               f"{ctx.task.payload.get('card_type')} card(s) {verb} by {ctx.actor.username}")
    if verb == "rejected":
        subject += f": {ctx.reason}"
    text, html = ctx.render_mail(verb, task=ctx.task, instance=ctx.instance, moved=moved,
                                 remaining=remaining, decider=ctx.actor.username,
                                 reason=ctx.reason, what=what)
    ctx.notify(Notification(to=(requester.email,), subject=subject[:300], text=text, html=html))


APPROVAL = TaskSpec(kind="approval", decide=decide, role_option=APPROVER_ROLE,
                    self_decision_option=SELF_APPROVAL, holder_decision_option=HOLDER_APPROVAL)
