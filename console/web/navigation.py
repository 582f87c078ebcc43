"""The menu: which entries each role sees, and where each role lands after logging in.

Kept apart from the blueprints so the layout can show one menu whatever page it wraps, and
so a blueprint added later (approvals) is one more line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request

from .access import current_account


@dataclass(frozen=True, slots=True)
class Entry:
    """One menu entry: its words (the use case's), its page, and the roles that see it."""

    label: str
    endpoint: str
    roles: tuple[str, ...]
    #: the pages that belong to the entry (endpoint prefixes), to mark it as current
    section: str


MENU = (
    Entry("BATCH ORDERS", "operator.batch_orders", ("operator",), "operator."),
    Entry("Approvals", "approvals.open_requests", ("approver",), "approvals."),
    Entry("Option scripts", "admin.scripts", ("admin",), "admin.script"),
    Entry("Processes", "admin.processes", ("admin",), "admin.processes"),
    Entry("Outbox", "admin.outbox", ("admin",), "admin.outbox"),
    Entry("Jobs", "admin.jobs", ("admin",), "admin.job"),
)


def entries_for(roles: frozenset[str]) -> list[Entry]:
    """The menu of an account with `roles`, leaving out pages this app does not mount."""
    mounted = set(current_app.view_functions)
    return [e for e in MENU if roles & set(e.roles) and e.endpoint in mounted]


def landing(roles: frozenset[str]) -> str | None:
    """The endpoint an account starts on: its first menu entry."""
    entries = entries_for(roles)
    return entries[0].endpoint if entries else None


def _layout_context() -> dict[str, Any]:
    account = current_account()
    menu = entries_for(account.roles) if account else []
    here = request.endpoint or ""
    return {"account": account, "menu": menu,
            "current_entry": next((e for e in menu if here.startswith(e.section)), None)}


def install(app: Flask) -> None:
    """Make `account` and `menu` available to every template."""
    app.context_processor(_layout_context)
