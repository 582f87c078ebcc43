"""The `audit` blueprint: the history of a card and of a batch, from the audit log.

Open to every console role, each for what it needs to know (`need_to_know.py`): operators
follow their batches, approvers the requests of their roles, admins everything. The log is
append-only; these pages only read it.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from idmflow.engine import NotFound

from .access import ROLES, account_or_403, require_role
from .extension import engine
from .need_to_know import SUPERVISOR, may_see_history
from .step_page import CARD

audit = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")
audit.before_request(require_role(*ROLES, SUPERVISOR))

#: events listed on a batch's page; a card's own page has the rest
BATCH_EVENTS = 500


@audit.get("/cards/<int:card_id>")
def card_history(card_id: int) -> str:
    """Every event of one card, oldest first."""
    events = engine().history(subject_kind=CARD, subject_id=card_id)
    if not events:
        abort(404, description=f"There is no card {card_id} (no event names it).")
    if not may_see_history(account_or_403(), events[0].instance_id):
        abort(403, description=f"The history of card {card_id} is not for you to read.")
    return render_template("idmflow/audit/card.html", card_id=card_id, events=events,
                           instance_id=events[0].instance_id)


@audit.get("/instances/<int:instance_id>")
def instance_history(instance_id: int) -> str:
    """A batch's steps, then the first events of its cards."""
    try:
        view = engine().instance(instance_id)
    except NotFound as exc:
        abort(404, description=str(exc))
    if not may_see_history(account_or_403(), instance_id):
        abort(403, description=f"The history of batch order {instance_id} is not for you "
                               "to read.")
    steps = engine().history(subject_kind="instance", subject_id=instance_id)
    events = engine().history(instance_id=instance_id, limit=BATCH_EVENTS + len(steps) + 1)
    cards = [e for e in events if e.subject_kind != "instance"]
    return render_template("idmflow/audit/instance.html", instance=view, steps=steps,
                           events=cards[:BATCH_EVENTS], more=len(cards) > BATCH_EVENTS,
                           definition=engine().definition(view.process))
