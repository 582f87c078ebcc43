"""What a selection step lets the operator search and tick, found by the step's name.

A batch order starts with a step whose `select` trigger takes a selection: users for
"Request multiple cards" (`select_users`), cards for "Issue multiple cards"
(`select_cards`). Each kind of selection is one `Selector`: its search form, its result
page, the ticked items and the `select` input they make. A process whose selection step
the console does not know still shows its own view, with Cancel; the CLI does the rest.
"""

from __future__ import annotations

from typing import Any, Protocol

from werkzeug.datastructures import MultiDict

from .card_search import CARDS
from .user_search import USERS


class Selector(Protocol):
    """One kind of selection step."""

    #: the template (under the console's templates) with the search form and results
    template: str

    def search(self, form: MultiDict[str, str], *, again: bool = False) -> Any:
        """The page of results the form asks for; `again`: the page the form came from."""
        ...

    def ticked(self, form: MultiDict[str, str]) -> list[Any]:
        """Every item ticked, on this page and (kept in a hidden field) on others."""
        ...

    def kept(self, selection: list[Any], page: Any) -> str:
        """The hidden field that carries the ticked items not shown on `page`."""
        ...

    def select_input(self, form: MultiDict[str, str], selection: list[Any]) -> dict[str, Any]:
        """The `select` trigger's input: the ticked items, or the search itself."""
        ...


def selector_for(step: str) -> Selector | None:
    """The selector of a step, by its name; None for a step the console does not know."""
    return _KNOWN.get(step)


_KNOWN: dict[str, Selector] = {"select_users": USERS, "select_cards": CARDS}
