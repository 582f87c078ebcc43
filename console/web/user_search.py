"""The user search of a selection step: filters, one keyset page, and the ticked users.

The ticked users travel with the step's form: the names ticked on other pages as one hidden
JSON field, the names on the page shown as its check boxes. So the selection survives
paging without a server-side store, and any console process can serve the next page.
"Select all N matching" sends the filter instead of names, so a selection of 100,000 users
never goes through the browser as a list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from idmflow.engine import USER_STATES, DirectoryUser, UserDirectory, UserQuery, UserState

from .extension import engine

PAGE_SIZE = 50
#: counts on people's pages stop here ("more than 1,000"): an exact count of "a" at a
#: million users reads every match, a capped one a thousand
COUNT_CAP = 1000


def counted(n: int) -> str:
    """A capped count as people read it: "1,000" or "more than 1,000"."""
    return f"more than {COUNT_CAP:,}" if n > COUNT_CAP else f"{n:,}"


@dataclass(frozen=True, slots=True)
class Filters:
    """What the operator searches for: a name prefix, an org unit, a state."""

    text: str = ""
    org_unit: str = ""
    state: UserState | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Filters:
        state = form.get("state") or None
        return cls(text=form.get("q", "").strip()[:200],
                   org_unit=form.get("org_unit", "").strip()[:200],
                   state=state if state in USER_STATES else None)

    def query(self, *, after: str | None = None, limit: int | None = PAGE_SIZE,
              state: UserState | None = None) -> UserQuery:
        return UserQuery(text=self.text or None, org_unit=self.org_unit or None,
                         state=state or self.state, after=after, limit=limit)

    @property
    def selects_all(self) -> bool:
        """Whether "select all matching" can take this search: it needs a name or org unit
        (the select step takes a filter, not "everybody"), and matches active users."""
        return bool(self.text or self.org_unit) and self.state in (None, "active")

    def select_input(self) -> dict[str, Any]:
        """The `select` trigger's input for every matching active user."""
        return {"query": self.text or None, "org_unit": self.org_unit or None}


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results and where it sits in the whole."""

    filters: Filters
    users: list[DirectoryUser]
    #: how many users match, counted up to COUNT_CAP + 1 (see `counted`)
    total: int
    #: how many active users "Select all N matching" would take (capped likewise);
    #: None when it cannot
    all_matching: int | None
    number: int
    #: the `after` this page was read with, and that of the next page (None: the last)
    after: str | None
    next_after: str | None

    @property
    def total_text(self) -> str:
        return counted(self.total)

    @property
    def all_matching_text(self) -> str:
        return counted(self.all_matching or 0)

    @property
    def first_row(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1


def search(directory: UserDirectory, filters: Filters, *, after: str | None = None,
           number: int = 1) -> SearchPage:
    """Page `number` of the search, starting after the username `after`."""
    found = directory.search(filters.query(after=after, limit=PAGE_SIZE + 1))
    users, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    cap = COUNT_CAP + 1
    all_matching = None
    if after is None and not more:  # the page holds every match: nothing to count
        total = len(users)
        if filters.selects_all:
            all_matching = sum(u.state == "active" for u in users)
    elif filters.selects_all:
        # the active count first: past the cap (the rule for a broad search) it is the
        # total's too, and the page costs one count, not two
        all_matching = directory.count(filters.query(limit=None, state="active"), at_most=cap)
        total = (all_matching if all_matching >= cap or filters.state == "active"
                 else directory.count(filters.query(limit=None), at_most=cap))
    else:
        total = directory.count(filters.query(limit=None), at_most=cap)
    return SearchPage(filters, users, total, all_matching, number, after,
                      users[-1].username if more and users else None)


def parse_names(raw: str | None) -> list[str]:
    """The hidden field of names ticked on other pages (a JSON list); junk counts as none."""
    try:
        value = json.loads(raw or "[]")
    except (ValueError, RecursionError):  # RecursionError: junk nested ten thousand deep
        return []
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str) and v]


def ticked(form: MultiDict[str, str]) -> list[str]:
    """Every ticked user: those of other pages, then this page's boxes, each once.

    The page's "Select all" box counts as ticking each active user shown (`shown`), so
    the page works without JavaScript too.
    """
    names = parse_names(form.get("selected")) + form.getlist("user")
    if form.get("page_all"):
        names += form.getlist("shown")
    return list(dict.fromkeys(names))


def kept_elsewhere(selection: list[str], page: SearchPage | None) -> str:
    """The hidden field for `selection`: the names not shown as boxes on `page`."""
    shown = {u.username for u in page.users if u.state == "active"} if page else set()
    return json.dumps([n for n in selection if n not in shown])


class UserSelector:
    """The `select_users` step: search the directory, tick active users."""

    template = "idmflow/operator/_user_search.html"

    def search(self, form: MultiDict[str, str], *, again: bool = False) -> SearchPage:
        number = form.get("number", 1, type=int) or 1
        after = form.get("page_after" if again else "after") or None
        if not again:
            number = number + 1 if after else 1
        return search(engine().directory, Filters.from_form(form), after=after, number=number)

    def ticked(self, form: MultiDict[str, str]) -> list[str]:
        return ticked(form)

    def kept(self, selection: list[str], page: SearchPage | None) -> str:
        return kept_elsewhere(selection, page)

    def select_input(self, form: MultiDict[str, str], selection: list[str]) -> dict[str, Any]:
        filters = Filters.from_form(form)
        if form.get("all_matching") and filters.selects_all:
            return filters.select_input()
        return {"users": selection}


USERS = UserSelector()
