"""The card search of a `select_cards` step ("Issue multiple cards"): approved cards to tick.

Cards are searched by state (approved, or failed to produce them again), batch and user.
Ticked card ids travel with the form as the users of `user_search` do; "Select all N
matching" sends the state and batch instead, which the step's `select` takes as they are.
The engine lists cards by a limit only, so a page here is the tail of the first N*size
matches: cheap for the first pages an operator reads, linear for very deep ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from idmflow.engine import EntityRecord

from .extension import engine

PAGE_SIZE = 50
CARD = "card"
#: the states a card can be issued from
STATES = ("approved", "failed")


@dataclass(frozen=True, slots=True)
class CardFilters:
    """What the operator searches for: a state, a batch (instance id), a user."""

    state: str = STATES[0]
    batch: int | None = None
    user: str = ""

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> CardFilters:
        state = form.get("card_state", STATES[0])
        batch = form.get("batch", "").strip()
        return cls(state=state if state in STATES else STATES[0],
                   batch=int(batch) if batch.isdigit() else None,
                   user=form.get("user_name", "").strip()[:100])

    @property
    def selects_all(self) -> bool:
        """The step takes a state and batch, not a user: "all matching" needs no user filter."""
        return not self.user


@dataclass(frozen=True, slots=True)
class CardPage:
    """One page of matching cards."""

    filters: CardFilters
    cards: list[EntityRecord]
    total: int
    number: int

    @property
    def first_row(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1

    @property
    def has_next(self) -> bool:
        return self.number * PAGE_SIZE < self.total


def search(filters: CardFilters, number: int) -> CardPage:
    cards, total = engine().entities(CARD, state=filters.state, instance_id=filters.batch,
                                     subject=filters.user or None, limit=PAGE_SIZE,
                                     offset=(number - 1) * PAGE_SIZE)
    return CardPage(filters, cards, total, number)


#: the largest id a BIGINT holds; a larger number names no card
MAX_ID = 2**63 - 1


def parse_ids(raw: str | None) -> list[int]:
    """The hidden field of card ids ticked on other pages; junk counts as none."""
    try:
        value = json.loads(raw or "[]")
    except (ValueError, RecursionError):  # RecursionError: junk nested ten thousand deep
        return []
    return [v for v in value if isinstance(v, int) and 0 < v <= MAX_ID] \
        if isinstance(value, list) else []


class CardSelector:
    """The `select_cards` step: search cards in an issuable state, tick them."""

    template = "idmflow/operator/_card_search.html"

    def search(self, form: MultiDict[str, str], *, again: bool = False) -> CardPage:
        number = form.get("number" if again else "page", 1, type=int) or 1
        return search(CardFilters.from_form(form), max(1, number))

    def ticked(self, form: MultiDict[str, str]) -> list[int]:
        ids = parse_ids(form.get("selected")) + form.getlist("card", type=int)
        if form.get("page_all"):
            ids += form.getlist("shown", type=int)
        return list(dict.fromkeys(ids))

    def kept(self, selection: list[int], page: CardPage | None) -> str:
        shown = {c.id for c in page.cards} if page else set()
        return json.dumps([i for i in selection if i not in shown])

    def select_input(self, form: MultiDict[str, str], selection: list[int]) -> dict[str, Any]:
        filters = CardFilters.from_form(form)
        if form.get("all_matching") and filters.selects_all:
            return {"state": filters.state, "batch": filters.batch}
        return {"cards": selection}


CARDS = CardSelector()
