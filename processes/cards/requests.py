"""Requesting cards for users, shared by the batch order and the single request.

`check_and_keep` checks who may get a card and keeps the names on the instance for the
confirmation page; `create_cards` (the operator's Next) checks them again, since users or
cards may have changed in between, and writes every card with its audit event in the
step's transaction — straight to `approved`, or to `requested` with an approval task when
the process's approval option is on and the script's rule says the card needs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from idmflow.engine import DirectoryUser, InputError, InvariantViolation, StepContext

from .approval import open_approval
from .lifecycle import CARD, OPEN_STATES
from .options import DEFAULT_CARD_TYPE, NEEDS_APPROVAL

_CARD_TYPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_NAMED = 20  # names listed in a message; the error's details hold them all


def check_and_keep(ctx: StepContext, names: list[str], **extra: Any) -> None:
    """Check `names` for a card of the input's type and keep them for Next."""
    card_type = chosen_card_type(ctx)
    skip = bool(ctx.input.get("skip_ineligible", False))
    eligible, skipped, _ = _eligible(ctx, names, card_type, skip=skip)
    ctx.data.update(selection=eligible, card_type=card_type, skipped=skipped,
                    skip_ineligible=skip, **extra)


def create_cards(ctx: StepContext, *, approval_option: str, what: str) -> None:
    """Next: one card per kept user, all in this transaction, or none."""
    names: list[str] = list(ctx.data.get("selection") or [])
    card_type = str(ctx.data["card_type"])
    eligible, skipped, found = _eligible(ctx, names, card_type,
                                         skip=bool(ctx.data.get("skip_ineligible")))
    approval = bool(ctx.options[approval_option])
    waiting = _needing_approval(ctx, eligible, card_type, found) if approval else []
    wait = set(waiting)
    approved_now = [n for n in eligible if n not in wait]
    while True:
        try:
            created = _write_cards(ctx, waiting, approved_now, card_type)
            break
        except InvariantViolation as exc:
            # Another batch committed cards for some of these users since they were checked:
            # the database refused this one whole. Refuse it as the check would have, or,
            # when asked to skip the ineligible, leave them out too and write the rest.
            raced = {name: held for name, held in exc.holders.items() if held is not None}
            if not raced:
                raise
            if not ctx.data.get("skip_ineligible"):
                raise InputError(_describe({"open_card": list(raced)}, card_type, found, raced),
                                 details={"open_card": list(raced)}) from exc
            skipped.setdefault("open_card", []).extend(raced)
            waiting = [n for n in waiting if n not in raced]
            approved_now = [n for n in approved_now if n not in raced]
            if not waiting and not approved_now:
                raise InputError("no user of the selection may get a card any more: "
                                 + _describe({"open_card": list(raced)}, card_type, found,
                                             raced)[0]) from exc
    for reason, users in skipped.items():
        ctx.data["skipped"].setdefault(reason, []).extend(users)
    ctx.data.pop("selection", None)  # the cards are the record from here on
    ctx.data.update(cards=created, requested=len(waiting), approved=len(approved_now),
                    approval_needed=bool(waiting))
    if waiting:
        ctx.data["task"] = open_approval(ctx, waiting=len(waiting), card_type=card_type,
                                         what=what)
    elif approval:
        ctx.then("complete")  # no card needs a decision: done at once


def _write_cards(ctx: StepContext, waiting: list[str], approved_now: list[str],
                 card_type: str) -> int:
    """Write the cards in their two states; all of them, or `InvariantViolation` and none."""
    total = len(waiting) + len(approved_now)
    ctx.progress(0, total)
    created = 0
    with ctx.entities.atomic():
        for dest, group in (("requested", waiting), ("approved", approved_now)):
            if group:
                created += ctx.entities.create(
                    CARD, [(name, card_type) for name in group], trigger="request", dest=dest,
                    progress=_shifted(ctx, created, total))
    return created


def _shifted(ctx: StepContext, offset: int, total: int) -> Callable[[int], None]:
    """Progress of one group of cards, as progress of the whole batch."""
    return lambda done: ctx.progress(offset + done, total)


def _made_by(users: list[str], holders: Mapping[str, tuple[int, int | None]]) -> str:
    """Which runs made the open cards of `users`, e.g. " (their cards come from instance 12)"."""
    runs = sorted({held[1] for u in users if (held := holders.get(u)) and held[1] is not None})
    if not runs:
        return ""
    named = ", ".join(map(str, runs[:_NAMED])) + (" ..." if len(runs) > _NAMED else "")
    return f" (their open cards come from process instance {named}; see `idmflow process show ID`)"


def chosen_card_type(ctx: StepContext) -> str:
    """The input's card type, else the option's default, checked."""
    card_type = str(ctx.input.get("card_type") or ctx.options[DEFAULT_CARD_TYPE])
    if not _CARD_TYPE.match(card_type):
        raise InputError(f"card type {card_type!r} is not valid: use lower-case letters, digits, "
                         "'-' or '_' (e.g. employee)")
    return card_type


def _needing_approval(ctx: StepContext, names: list[str], card_type: str,
                      found: Mapping[str, DirectoryUser]) -> list[str]:
    """The users whose card the option script's rule sends to an approver (one call)."""
    cards = [{"user": n, "type": card_type, "org_unit": found[n].org_unit} for n in names]
    verdicts = ctx.apply_rule(NEEDS_APPROVAL, cards)
    return [n for n, needs in zip(names, verdicts) if needs]


def _eligible(ctx: StepContext, names: list[str], card_type: str, *, skip: bool
              ) -> tuple[list[str], dict[str, list[str]], dict[str, DirectoryUser]]:
    """Split `names` into those who may get a card and why the others may not.

    Also returns the directory entries read, so Next need not read them again.
    """
    found = ctx.directory.get_many(names)
    unknown = [n for n in names if n not in found]
    not_active = [n for n in names if n in found and found[n].state != "active"]
    candidates = [n for n in names if n in found and found[n].state == "active"]
    holders = ctx.entities.holders(CARD, type=card_type, states=OPEN_STATES, subjects=candidates)
    open_card = [n for n in candidates if n in holders]
    problems = {"unknown": unknown, "not_active": not_active, "open_card": open_card}
    problems = {k: v for k, v in problems.items() if v}
    eligible = [n for n in candidates if n not in holders] if problems else candidates
    if problems and not skip:
        raise InputError(_describe(problems, card_type, found, holders), details=problems)
    if not eligible:
        raise InputError("no user of the selection may get a card: "
                         + "; ".join(_describe(problems, card_type, found, holders)[:-1]))
    return eligible, problems, found


def _describe(problems: dict[str, list[str]], card_type: str, found: Mapping[str, Any],
              holders: Mapping[str, tuple[int, int | None]]) -> list[str]:
    words = {
        "unknown": "unknown user names (not in the directory)",
        "not_active": "users who are not active",
        "open_card": f"users who already have an open (requested or approved) {card_type} card",
    }
    lines = []
    for reason, users in problems.items():
        shown = ", ".join(
            f"{u} ({found[u].state})" if reason == "not_active" else u for u in users[:_NAMED])
        more = f" and {len(users) - _NAMED:,} more" if len(users) > _NAMED else ""
        lines.append(f"{len(users):,} {words[reason]}: {shown}{more}{_made_by(users, holders)}")
    lines.append("remove them from the selection, or pass skip_ineligible "
                 "(--skip-ineligible) to leave them out")
    return lines
