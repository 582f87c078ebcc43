"""`idmflow users search`: the user directory, as the operator's search sees it."""

from __future__ import annotations

import click

from idmflow.engine import USER_STATES, UserQuery

from .state import State
from .output import emit_json, table


@click.group("users")
def users() -> None:
    """The user directory."""


@users.command("search")
@click.option("--query", "-q",
              help="Words, each the start of a word of the username or display name (any case).")
@click.option("--state", type=click.Choice(USER_STATES))
@click.option("--org-unit", help="Org unit (any case).")
@click.option("--after", help="Start after this username (the next page).")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def search(state_: State, query: str | None, state: str | None,
           org_unit: str | None, after: str | None, limit: int, as_json: bool) -> None:
    """Search users, ordered by username."""
    directory = state_.engine.directory
    q = UserQuery(text=query, org_unit=org_unit, state=state, after=after, limit=limit)  # type: ignore[arg-type]
    found = directory.search(q)
    if as_json:
        total = directory.count(q)  # exact, as scripts read it
        emit_json({"users": [{"username": u.username, "display_name": u.display_name,
                              "email": u.email, "org_unit": u.org_unit, "state": u.state}
                             for u in found], "total": total})
        return
    table(("USERNAME", "NAME", "ORG UNIT", "STATE"),
          [(u.username, u.display_name, u.org_unit, u.state) for u in found])
    total = directory.count(q, at_most=1001)
    click.echo(f"{len(found)} of {'more than 1,000' if total > 1000 else total} matching user(s)")
