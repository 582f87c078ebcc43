"""Request card as data: choose the user (or yourself), confirm, Next; approval optional."""

from __future__ import annotations

from pathlib import Path

from idmflow.engine import ProcessDefinition, Step, Transition

from ..approval import APPROVAL as APPROVAL_TASK
from ..options import CARD_OPTIONS, CARD_RULES, DEFAULT_SCRIPT, REQUEST_APPROVAL, SCRIPT
from ..lifecycle import CARD
from . import steps

NAME = "CardsProcRequest"
SELF_SERVICE = "self-service"

PROCESS = ProcessDefinition(
    name=NAME,
    title="Request card",
    category="Cards",
    lifecycles=(CARD,),
    description="Request one card for one active user; self-service users request their own.",
    start_roles=("operator", SELF_SERVICE),
    option_script=SCRIPT,
    options=CARD_OPTIONS,
    rules=CARD_RULES,
    tasks=(APPROVAL_TASK,),
    default_script=DEFAULT_SCRIPT,
    steps=(
        Step("choose_user", title="Choose the user", view="choose_user.html"),
        Step("confirm", title="Request card", view="confirm.html"),
        Step("approval", title="Approval needed", view="approval_needed.html",
             enabled_by=REQUEST_APPROVAL),
        Step("done", title="Card requested", view="done.html", final=True),
        Step("cancelled", title="Cancelled", view="cancelled.html", final=True),
    ),
    transitions=(
        Transition("select", "choose_user", "confirm", handler=steps.choose_user),
        Transition("back", "confirm", "choose_user"),
        Transition("next", "confirm", "approval", handler=steps.create_request,
                   when=REQUEST_APPROVAL),
        Transition("next", "confirm", "done", handler=steps.create_request,
                   unless=REQUEST_APPROVAL),
        Transition("cancel", ("choose_user", "confirm"), "cancelled"),
        Transition("complete", "approval", "done", automatic=True),
    ),
    templates=Path(__file__).parent / "templates",
    mail_templates=Path(__file__).parent.parent / "templates",
)
