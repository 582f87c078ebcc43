"""The batch card order as data: steps, transitions, who starts it, options it reads."""

from __future__ import annotations

from pathlib import Path

from idmflow.engine import ProcessDefinition, Step, Transition

from ..options import BATCH_APPROVAL as APPROVAL
from ..approval import APPROVAL as APPROVAL_TASK
from ..options import CARD_OPTIONS, CARD_RULES, DEFAULT_SCRIPT, SCRIPT
from ..lifecycle import CARD
from . import steps

NAME = "CardsBoProcRequestMulitple"  # spelled so: other systems call it by this name

PROCESS = ProcessDefinition(
    name=NAME,
    title="Request multiple cards",
    category="Batch orders",
    lifecycles=(CARD,),
    description="Order a card for each selected active user in one batch.",
    start_roles=("operator",),
    option_script=SCRIPT,
    options=CARD_OPTIONS,
    rules=CARD_RULES,
    default_script=DEFAULT_SCRIPT,
    tasks=(APPROVAL_TASK,),
    steps=(
        Step("select_users", title="Select users", view="select_users.html"),
        Step("confirm", title="Request multiple cards", view="confirm.html"),
        Step("approval", title="Approval needed", view="approval_needed.html",
             enabled_by=APPROVAL),
        Step("done", title="Cards requested", view="done.html", final=True),
        Step("cancelled", title="Cancelled", view="cancelled.html", final=True),
    ),
    transitions=(
        Transition("select", "select_users", "confirm", handler=steps.select_users),
        Transition("back", "confirm", "select_users"),
        Transition("next", "confirm", "approval", handler=steps.create_requests, when=APPROVAL),
        Transition("next", "confirm", "done", handler=steps.create_requests, unless=APPROVAL),
        Transition("cancel", ("select_users", "confirm"), "cancelled"),
        Transition("complete", "approval", "done", automatic=True),
    ),
    templates=Path(__file__).parent / "templates",
    mail_templates=Path(__file__).parent.parent / "templates",
)
