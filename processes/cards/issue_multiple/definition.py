"""Issue multiple cards as data: pick approved (or failed) cards, confirm, Next produces them."""

from __future__ import annotations

from pathlib import Path

from idmflow.engine import ProcessDefinition, Step, Transition

from ..options import CARD_OPTIONS, CARD_RULES, DEFAULT_SCRIPT, SCRIPT
from ..lifecycle import CARD
from . import steps

NAME = "CardsBoProcIssueMultiple"

PROCESS = ProcessDefinition(
    name=NAME,
    title="Issue multiple cards",
    category="Batch orders",
    lifecycles=(CARD,),
    description="Produce the selected approved cards; a card whose production fails ends "
                "failed and can be produced again.",
    start_roles=("operator",),
    option_script=SCRIPT,
    options=CARD_OPTIONS,
    rules=CARD_RULES,
    default_script=DEFAULT_SCRIPT,
    steps=(
        Step("select_cards", title="Select cards", view="select_cards.html"),
        Step("confirm", title="Issue multiple cards", view="confirm.html"),
        Step("done", title="Cards issued", view="done.html", final=True),
        Step("cancelled", title="Cancelled", view="cancelled.html", final=True),
    ),
    transitions=(
        Transition("select", "select_cards", "confirm", handler=steps.select_cards),
        Transition("back", "confirm", "select_cards"),
        Transition("next", "confirm", "done", handler=steps.issue_cards),
        Transition("cancel", ("select_cards", "confirm"), "cancelled"),
    ),
    templates=Path(__file__).parent / "templates",
)
