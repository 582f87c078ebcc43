"""The options and rules of the card family, read from the option script CardsScriptOptions.

Every card process declares the whole family's options, so the one shared script is checked
against one schema whichever process is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idmflow.engine import OptionSpec, RuleSpec

SCRIPT = "CardsScriptOptions"
DEFAULT_SCRIPT = Path(__file__).parent / "CardsScriptOptions.py"

BATCH_APPROVAL = "CardsBatchRequestApproval"
REQUEST_APPROVAL = "CardsRequestApproval"
APPROVER_ROLE = "CardsApproverRole"
DEFAULT_CARD_TYPE = "CardsDefaultCardType"
BATCH_MAX_USERS = "CardsBatchMaxUsers"
SELF_APPROVAL = "CardsAllowSelfApproval"
HOLDER_APPROVAL = "CardsAllowHolderApproval"
APPROVAL_FREE_TYPES = "CardsApprovalFreeTypes"
ACTIVATE_ON_ISSUE = "CardsActivateOnIssue"
NEEDS_APPROVAL = "CardNeedsApproval"

CARD_OPTIONS = (
    OptionSpec(BATCH_APPROVAL, bool, default=False,
               doc="Add an approval step to batch orders: cards stay requested until an "
                   "approver decides."),
    OptionSpec(REQUEST_APPROVAL, bool, default=True,
               doc="Add an approval step to the single card request."),
    OptionSpec(APPROVER_ROLE, str, default="approver",
               doc="The role whose members approve card requests."),
    OptionSpec(DEFAULT_CARD_TYPE, str, default="employee",
               doc="The card type ordered when the operator names none."),
    OptionSpec(BATCH_MAX_USERS, int, default=100_000,
               doc="The largest batch an operator may submit, in users."),
    OptionSpec(SELF_APPROVAL, bool, default=False,
               doc="Whether the account that requested cards may approve them itself."),
    OptionSpec(HOLDER_APPROVAL, bool, default=False,
               doc="Whether an approver may decide a request holding a card of their own "
                   "(the directory user of the approver's username)."),
    OptionSpec(APPROVAL_FREE_TYPES, list, default=[],
               doc="Card types that never need approval."),
    OptionSpec(ACTIVATE_ON_ISSUE, bool, default=False,
               doc="Activate cards as soon as they are issued (they end active)."),
)


def _every_card_needs_approval(card: dict[str, Any]) -> bool:
    return True


CARD_RULES = (
    RuleSpec(NEEDS_APPROVAL, params=("card",), default=_every_card_needs_approval,
             doc="Whether a card needs an approver's decision; gets "
                 "{'user', 'type', 'org_unit'}."),
)
