"""Step handlers of "Request card": whose card, then Next.

An operator may request a card for any active user; a self-service user only for the
directory user of their own account's name. Checking and creating the card is shared with
the batch order (`processes/cards/requests.py`).
"""

from __future__ import annotations

from idmflow.engine import InputError, NotAllowed, StepContext

from ..options import REQUEST_APPROVAL
from ..requests import check_and_keep, create_cards


def choose_user(ctx: StepContext) -> None:
    """Input: `user` (an operator's choice; a self-service user's own by default), `card_type`."""
    me = ctx.actor.username
    user = str(ctx.input.get("user") or "").strip()
    if "operator" not in ctx.actor.roles:
        if user and user != me:
            raise NotAllowed(f"{me!r} may request a card only for themselves (self-service), "
                             f"not for {user!r}; an operator can request it")
        user = me
    if not user:
        raise InputError("choose the user who shall get the card")
    check_and_keep(ctx, [user])


def create_request(ctx: StepContext) -> None:
    """Next: the card, straight to approved or waiting for an approver."""
    create_cards(ctx, approval_option=REQUEST_APPROVAL, what="Request")
