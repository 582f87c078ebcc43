"""Step handlers of the batch card order: the operator's selection, then Next.

The selection is a list of usernames or a search (every matching active user, for
"select all N matching"); a name given twice counts once, and a batch is at most
`CardsBatchMaxUsers` users. Checking and creating the cards is shared with the single
request (`processes/cards/requests.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

from idmflow.engine import InputError, StepContext, UserQuery

from ..options import BATCH_APPROVAL, BATCH_MAX_USERS
from ..requests import check_and_keep, create_cards


def select_users(ctx: StepContext) -> None:
    """Input: `users` (usernames) or `query`/`org_unit`; optional `card_type`, `skip_ineligible`."""
    names, duplicates = _selection(ctx)
    limit = int(ctx.options[BATCH_MAX_USERS])
    if len(names) > limit:
        raise InputError(f"the selection has {len(names):,} users; a batch may have at most "
                         f"{limit:,} (option CardsBatchMaxUsers); split it into smaller batches")
    check_and_keep(ctx, names, duplicates=duplicates)


def create_requests(ctx: StepContext) -> None:
    """Next: one card per selected user, all in this transaction, or none."""
    create_cards(ctx, approval_option=BATCH_APPROVAL, what="Batch")


def _selection(ctx: StepContext) -> tuple[list[str], int]:
    users = ctx.input.get("users")
    query = ctx.input.get("query") or None
    org_unit = ctx.input.get("org_unit") or None
    if users is not None and (query or org_unit):
        raise InputError("give either a list of users or a search (query, org unit), not both")
    if users is not None:
        if isinstance(users, str) or not isinstance(users, Sequence):
            raise InputError("users must be a list of usernames, e.g. [\"jdoe\", \"asmith\"]")
        wanted = [str(u).strip() for u in users if str(u).strip()]
    elif query or org_unit:
        wanted = list(ctx.directory.iter_usernames(
            UserQuery(text=query, org_unit=org_unit, state="active", limit=None)))
    else:
        wanted = []
    names = list(dict.fromkeys(wanted))
    if not names:
        raise InputError("the selection is empty: choose at least one active user")
    return names, len(wanted) - len(names)
