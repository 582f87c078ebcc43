"""`idmflow cards ...`: the batch card order in one command, and the card list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from idmflow.engine import InputError, InstanceView
from idmflow.processes.cards.issue_multiple.definition import NAME as ISSUE_MULTIPLE
from idmflow.processes.cards.lifecycle import CARD
from idmflow.processes.cards.request_multiple.definition import NAME as REQUEST_MULTIPLE
from idmflow.processes.cards.request_single.definition import NAME as REQUEST_ONE

from .output import emit_json, note, progress_bar, table
from .state import State
from .tasks import abort, parse_ids


def _selection(users: str | None, users_file: Path | None, query: str | None,
               org_unit: str | None) -> dict[str, Any]:
    given = [x for x in (users, users_file, query or org_unit) if x]
    if len(given) != 1:
        raise InputError("choose the users one way: --users a,b,c, or --users-file FILE, or "
                         "--query Q and/or --org-unit O")
    if users is not None:
        return {"users": users.split(",")}
    if users_file is not None:
        try:
            lines = users_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read --users-file {users_file}: {exc}") from None
        return {"users": [line.strip() for line in lines if line.strip()
                          and not line.lstrip().startswith("#")]}
    return {"query": query, "org_unit": org_unit}


IDEMPOTENCY_KEY = click.option(
    "--idempotency-key",
    help="A retry with the same key returns the first run and writes nothing; the same key "
         "with another request is refused.")


@click.group("cards")
def cards() -> None:
    """Cards and the card processes."""


@cards.command("request-batch")
@click.option("--as", "actor", required=True, help="The operator's console account.")
@click.option("--users", help="Comma-separated usernames.")
@click.option("--users-file", type=click.Path(path_type=Path, dir_okay=False),
              help="A file with one username per line.")
@click.option("--query", "-q", help="Every active user whose name starts with this.")
@click.option("--org-unit", help="Every active user of this org unit.")
@click.option("--card-type", help="Card type (default: option CardsDefaultCardType).")
@click.option("--skip-ineligible", is_flag=True,
              help="Leave out unknown, inactive and already-carded users instead of refusing.")
@IDEMPOTENCY_KEY
@click.option("--background", is_flag=True,
              help="Check the selection now, then leave Next to a worker (`idmflow worker` "
                   "or `idmflow serve`) and exit; `idmflow jobs show JOB` follows it.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def request_batch(state: State, actor: str, users: str | None, users_file: Path | None,
                  query: str | None, org_unit: str | None, card_type: str | None,
                  skip_ineligible: bool, idempotency_key: str | None, background: bool,
                  as_json: bool) -> None:
    """Run "Request multiple cards" end to end: select, confirm, Next.

    All or nothing: a refused selection writes nothing at all.
    """
    selection = _selection(users, users_file, query, org_unit)
    selection.update(card_type=card_type, skip_ineligible=skip_ineligible)
    engine = state.engine
    if background:
        view = engine.run(REQUEST_MULTIPLE, actor=actor, steps=[("select", selection)],
                          idempotency_key=idempotency_key)
        job = engine.fire_in_background(view.id, "next", actor=actor,
                                        expected_version=view.version)
        if as_json:
            emit_json({"instance": view.id, "process": view.process, "state": view.state,
                       "job": job})
            return
        click.echo(f"batch {view.id}: the selection is checked; Next is job {job}, for a "
                   f"worker to run (`idmflow jobs show {job}` follows it)")
        return
    with progress_bar("Requesting cards") as progress:
        view = engine.run(REQUEST_MULTIPLE, actor=actor, progress=progress,
                          steps=[("select", selection), ("next", {})],
                          idempotency_key=idempotency_key)
    _summary(state, view, as_json, what="batch")


def _summary(state: State, view: InstanceView, as_json: bool, *, what: str) -> None:
    states = state.engine.entity_states(CARD.name, instance_id=view.id)
    summary = {"instance": view.id, "process": view.process, "state": view.state,
               "cards": view.data.get("cards", 0), "card_type": view.data.get("card_type"),
               "card_states": states, "approval_needed": view.data.get("approval_needed", False),
               "duplicates": view.data.get("duplicates", 0),
               "skipped": view.data.get("skipped", {})}
    if as_json:
        emit_json(summary)
        return
    click.echo(f"{what} {view.id}: {summary['cards']} {summary['card_type']} card(s) requested "
               f"({', '.join(f'{n} {s}' for s, n in sorted(states.items()))})")
    if summary["approval_needed"]:
        click.echo("approval is needed: the cards wait for an approver's decision")
    if summary["duplicates"]:
        note(f"{summary['duplicates']} name(s) were given twice and counted once")
    for reason, names in summary["skipped"].items():
        note(f"skipped {len(names)} ({reason.replace('_', ' ')}): {', '.join(names[:20])}"
             + (" ..." if len(names) > 20 else ""))


@cards.command("request")
@click.option("--as", "actor", required=True, help="An operator, or a self-service account.")
@click.option("--user", help="Whose card (default for self-service: your own).")
@click.option("--card-type", help="Card type (default: option CardsDefaultCardType).")
@IDEMPOTENCY_KEY
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def request_one(state: State, actor: str, user: str | None, card_type: str | None,
                idempotency_key: str | None, as_json: bool) -> None:
    """Run "Request card" for one user end to end."""
    engine = state.engine
    view = engine.run(REQUEST_ONE, actor=actor, idempotency_key=idempotency_key, steps=[
        ("select", {"user": user, "card_type": card_type}), ("next", {})])
    _summary(state, view, as_json, what="request")


@cards.command("issue-batch")
@click.option("--as", "actor", required=True, help="The operator's console account.")
@click.option("--cards", "ids", help="Comma-separated card ids.")
@click.option("--state", type=click.Choice(["approved", "failed"]),
              help="Every card in this state (failed: produce them again).")
@click.option("--batch", type=int, help="With --state: only cards of this batch.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def issue_batch(state_: State, actor: str, ids: str | None, state: str | None,
                batch: int | None, as_json: bool) -> None:
    """Run "Issue multiple cards" end to end: produce the chosen cards."""
    if (ids is None) == (state is None):
        raise InputError("choose the cards one way: --cards 1,2,3, or --state approved "
                         "[--batch N]")
    selection: dict[str, Any] = ({"cards": parse_ids(ids)} if ids is not None
                                 else {"state": state, "batch": batch})
    engine = state_.engine
    with progress_bar("Issuing cards") as progress:
        view = engine.run(ISSUE_MULTIPLE, actor=actor, progress=progress,
                          steps=[("select", selection), ("next", {})])
    doc = {"instance": view.id, "process": view.process, "state": view.state,
           "cards": view.data.get("cards", 0), "issued": view.data.get("issued", 0),
           "activated": view.data.get("activated", 0), "failed": view.data.get("failed", 0),
           "failed_cards": view.data.get("failed_cards", [])}
    if as_json:
        emit_json(doc)
        return
    click.echo(f"batch {view.id}: {doc['issued']} of {doc['cards']} card(s) issued"
               + (f" and {doc['activated']} activated" if doc["activated"] else "")
               + (f"; {doc['failed']} failed (produce them again with --state failed)"
                  if doc["failed"] else ""))


@cards.command("list")
@click.option("--state", help="Only cards in this state.")
@click.option("--batch", type=int, help="Only cards of this batch (process instance).")
@click.option("--user", help="Only this user's cards.")
@click.option("--limit", type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_cards(state_: State, state: str | None, batch: int | None, user: str | None,
               limit: int | None, as_json: bool) -> None:
    """Cards in creation order."""
    if state is not None and state not in CARD.states:
        raise InputError(f"unknown card state {state!r}; card states: {', '.join(CARD.states)}")
    found, total = state_.engine.entities(CARD.name, state=state, instance_id=batch,
                                          subject=user, limit=limit)
    if as_json:
        emit_json({"cards": [{**c.to_json(), "user": c.subject} for c in found], "total": total})
        return
    table(("ID", "USER", "TYPE", "STATE", "BATCH", "CREATED"),
          [(c.id, c.subject, c.type, c.state, c.instance_id, f"{c.created_at:%Y-%m-%d %H:%M}")
           for c in found])
    click.echo(f"{len(found)} of {total} card(s)")


cards.add_command(abort)
