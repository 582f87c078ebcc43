"""`idmflow audit`: the whole history of a card, a process instance or an account."""

from __future__ import annotations

import click

from idmflow.engine import InputError

from .output import emit_json, table
from .state import State


@click.command("audit")
@click.option("--card", type=int, help="A card's id.")
@click.option("--instance", type=int, help="A process instance's id (a batch).")
@click.option("--user", help="An account: everything it did.")
@click.option("--accounts", "security", is_flag=True,
              help="Security events: logins, failures, locks, logouts, account changes, "
                   "script saves and restores, with the client address.")
@click.option("--limit", type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def audit(state: State, card: int | None, instance: int | None, user: str | None,
          security: bool, limit: int | None, as_json: bool) -> None:
    """Print the audit trail in the order it happened."""
    if security and card is None and instance is None:
        _security(state, user, limit, as_json)
        return
    if sum(x is not None for x in (card, instance, user)) != 1:
        raise InputError("name exactly one of --card ID, --instance ID, --user NAME or "
                         "--accounts")
    events = state.engine.history(subject_kind="card" if card is not None else None,
                                  subject_id=card, instance_id=instance, actor=user, limit=limit)
    if as_json:
        emit_json({"events": [e.to_json() for e in events], "total": len(events)})
        return
    table(("ID", "AT", "ACTOR", "SUBJECT", "TRIGGER", "FROM", "TO", "REASON"),
          [(e.id, f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, f"{e.subject_kind} {e.subject_id}",
            e.trigger, e.source or "-", e.dest or "-", e.reason or "") for e in events])


def _security(state: State, actor: str | None, limit: int | None, as_json: bool) -> None:
    events = [e for kind in ("account", "option_script")
              for e in state.engine.history(subject_kind=kind, actor=actor)]
    events.sort(key=lambda e: e.id)
    events = events[:limit] if limit is not None else events
    if as_json:
        emit_json({"events": [e.to_json() for e in events], "total": len(events)})
        return
    table(("ID", "AT", "ACTOR", "ACCOUNT", "TRIGGER", "CLIENT"),
          [(e.id, f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, (e.data or {}).get("account", ""),
            e.trigger, (e.data or {}).get("client") or "") for e in events])
