"""The page of a process instance: its step's own view, wrapped in the console's controls.

The process renders what its step says (`render_step`, from the process's templates); the
console adds what the step's triggers need, in the use case's words: the user search for
`select`, Next for `next`, Back and Cancel. Only the account that started the instance gets
controls; others see it read-only. Once the step that creates cards has run, the page lists
the batch's cards, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template
from markupsafe import Markup, escape

from idmflow.engine import (USER_STATES, Account, EntityRecord, InstanceView, NotFound,
                            render_step)

from .card_search import STATES as CARD_STATES
from .extension import engine
from .selectors import selector_for

CARD = "card"
CARDS_PER_PAGE = 100
#: triggers whose step is still being filled in: no cards yet
_BEFORE_CARDS = frozenset({"select", "next"})
#: the triggers the operator's pages offer, in the use case's words
OPERATOR_TRIGGERS = frozenset({"select", "next", "back", "cancel"})
#: a selection brought back to the search step (Back) is kept up to this many names
KEEP_ON_BACK = 1000


@dataclass(frozen=True, slots=True)
class CardPage:
    """One page of a batch's cards, with how many there are in each state."""

    cards: list[EntityRecord]
    total: int
    number: int
    states: dict[str, int]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // CARDS_PER_PAGE))


def card_page(instance_id: int, number: int) -> CardPage:
    """Page `number` of the instance's cards, oldest first."""
    number = max(1, number)
    cards, total = engine().entities(CARD, instance_id=instance_id, limit=CARDS_PER_PAGE,
                                     offset=(number - 1) * CARDS_PER_PAGE)
    return CardPage(cards, total, number,
                    engine().entity_states(CARD, instance_id=instance_id))


def step_html(view: InstanceView) -> Markup:
    """The step's own view; its title alone when the process ships no template for it."""
    definition = engine().definition(view.process)
    try:
        return render_step(definition, view)
    except NotFound:
        step = next((s for s in definition.steps if s.name == view.state), None)
        return Markup("<h2>{}</h2>").format(escape(step.title if step and step.title
                                                   else view.state))


def selection_after_back(view: InstanceView) -> list[Any]:
    """The items an instance sent back to its search step still holds, when few enough."""
    kept = view.data.get("selection")
    if isinstance(kept, list) and len(kept) <= KEEP_ON_BACK:
        return list(kept)
    return []


def step_page(view: InstanceView, account: Account, *, search: Any = None,
              selection: list[Any] | None = None, problems: tuple[str, ...] = (),
              card_number: int = 1, status: int = 200, **extra: Any) -> tuple[str, int]:
    """The instance's page as `account` sees it (`search`: a selector's page of results)."""
    owner = account.username == view.started_by and not view.ended
    triggers = frozenset(view.triggers) & OPERATOR_TRIGGERS if owner else frozenset()
    selector = selector_for(view.state) if "select" in triggers else None
    if selection is None:
        selection = selection_after_back(view) if selector else []
    cards = None
    if not _BEFORE_CARDS & set(view.triggers):
        cards = card_page(view.id, card_number)
    page = render_template(
        "idmflow/operator/step.html", instance=view,
        definition=engine().definition(view.process), step_html=step_html(view),
        triggers=triggers, search=search, selection=selection,
        selector=selector, kept=selector.kept(selection, search) if selector else "[]",
        problems=problems, cards=cards, user_states=USER_STATES, card_states=CARD_STATES,
        **extra)
    return page, status
