"""Step handlers of "Issue multiple cards": pick the cards, then produce them.

Production goes through the engine's `Producer` port (a card printer; the default simulates
one). Every card it makes goes `approved -> issued` (or `failed -> issued`, produced again),
every card it fails goes `-> failed`; with `CardsActivateOnIssue` issued cards go on to
`active`. All moves are set-based, one statement per outcome, in the step's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from idmflow.engine import EntityRecord, InputError, ProductionOrder, StepContext

from ..lifecycle import CARD
from ..options import ACTIVATE_ON_ISSUE, BATCH_MAX_USERS

ISSUABLE = ("approved", "failed")
_CHUNK = 5000


def select_cards(ctx: StepContext) -> None:
    """Input: `cards` (ids), or `state` ("approved" or "failed") with an optional `batch`."""
    ids = _chosen(ctx)
    limit = int(ctx.options[BATCH_MAX_USERS])
    if len(ids) > limit:
        raise InputError(f"{len(ids):,} cards chosen; at most {limit:,} may be issued at once "
                         "(option CardsBatchMaxUsers)")
    _check_issuable(ctx, ids)
    ctx.data.update(selection=ids)


def issue_cards(ctx: StepContext) -> None:
    """Next: produce every chosen card and record each outcome."""
    ids: list[int] = list(ctx.data.get("selection") or [])
    # Locked until this step commits: a second batch naming the same cards waits, then finds
    # them issued and is refused before any card is produced twice.
    cards = _check_issuable(ctx, ids, lock=True)
    total = len(cards)
    made: dict[str, list[int]] = {"approved": [], "failed": []}
    failed: list[int] = []
    errors: dict[str, str] = {}
    for start in range(0, total, _CHUNK):
        chunk = cards[start:start + _CHUNK]
        for card, result in zip(chunk, ctx.producer.produce(
                [ProductionOrder(c.id, c.subject, c.type) for c in chunk])):
            if result.ok:
                made[card.state].append(card.id)
            else:
                failed.append(card.id)
                errors[str(card.id)] = result.error or "production failed"
        ctx.progress(min(start + _CHUNK, total), total)
    moves = ctx.entities
    issued = (moves.move(CARD, "issue", "issued", ids=made["approved"]) if made["approved"]
              else 0)
    issued += moves.move(CARD, "retry", "issued", ids=made["failed"]) if made["failed"] else 0
    if failed:
        moves.move(CARD, "fail", "failed", ids=failed)
    activated = 0
    if ctx.options[ACTIVATE_ON_ISSUE] and issued:
        activated = moves.move(CARD, "activate", "active",
                               ids=made["approved"] + made["failed"])
    ctx.data.pop("selection", None)
    ctx.data.update(cards=total, issued=issued, failed=len(failed), activated=activated,
                    failed_cards=failed[:1000], errors=dict(list(errors.items())[:100]))


def _chosen(ctx: StepContext) -> list[int]:
    cards = ctx.input.get("cards")
    state = ctx.input.get("state")
    if cards is not None and state is not None:
        raise InputError("give either card ids or a state (with an optional batch), not both")
    if cards is not None:
        if isinstance(cards, (str, bytes)) or not isinstance(cards, Sequence):
            raise InputError("cards must be a list of card ids, e.g. [12, 13]")
        try:
            ids = list(dict.fromkeys(int(c) for c in cards))
        except (TypeError, ValueError):
            raise InputError("cards must be a list of card ids, e.g. [12, 13]") from None
    elif state is not None:
        if state not in ISSUABLE:
            raise InputError(f"only approved cards (or failed ones, to produce them again) "
                             f"can be issued, not {state!r}")
        batch = ctx.input.get("batch")
        found, _ = ctx.entities.find(CARD, state=str(state),
                                     instance_id=int(batch) if batch is not None else None)
        ids = [c.id for c in found]
    else:
        ids = []
    if not ids:
        raise InputError("no card chosen: tick at least one approved card")
    return ids


def _check_issuable(ctx: StepContext, ids: list[int], *, lock: bool = False
                    ) -> list[EntityRecord]:
    """The chosen cards, each of which must exist and be approved or failed."""
    cards = ctx.entities.get_many(CARD, ids, lock=lock)
    missing = [i for i in ids if i not in cards]
    wrong = [f"{i} ({cards[i].state})" for i in ids if i in cards and cards[i].state not in
             ISSUABLE]
    problems = []
    if missing:
        problems.append(f"no card with id {', '.join(map(str, missing[:20]))}")
    if wrong:
        problems.append(f"only approved cards (or failed ones, to produce them again) can be "
                        f"issued; these are not: {', '.join(wrong[:20])}"
                        + (f" and {len(wrong) - 20} more" if len(wrong) > 20 else ""))
    if problems:
        raise InputError(problems)
    return [cards[i] for i in ids]
