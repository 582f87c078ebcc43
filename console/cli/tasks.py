"""`idmflow tasks ...` (approvals) and `idmflow cards abort`: deciding human tasks."""

from __future__ import annotations

import click

from idmflow.engine import InputError, TaskView
from idmflow.processes.cards.lifecycle import CARD

from .output import emit_json, table
from .state import State


def parse_ids(text: str | None, what: str = "--cards") -> list[int] | None:
    """`1,2,3` as ids, or a clear error."""
    if text is None:
        return None
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"{what} takes card ids separated by commas, e.g. 12,13,20; got "
                         f"{text!r}") from None
    return list(dict.fromkeys(ids))


def _task_json(state: State, task: TaskView) -> dict[str, object]:
    engine = state.engine
    cards, _ = engine.entities(CARD.name, instance_id=task.instance_id)
    units = {u.username: u.org_unit for u in
             engine.directory.get_many([c.subject for c in cards]).values()}
    return {**task.to_json(),
            "cards": [{"id": c.id, "user": c.subject, "type": c.type, "state": c.state,
                       "org_unit": units.get(c.subject)} for c in cards]}


@click.group("tasks")
def tasks() -> None:
    """Human tasks: approvals waiting for a decision."""


@tasks.command("list")
@click.option("--as", "actor", required=True, help="List what this account may decide.")
@click.option("--all", "everything", is_flag=True, help="Closed tasks too.")
@click.option("--query", "-q", help="Text in the title or the requester's name.")
@click.option("--limit", type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_tasks(state: State, actor: str, everything: bool, query: str | None,
               limit: int | None, as_json: bool) -> None:
    """Open (and postponed) tasks for the account's roles, oldest first."""
    found, total = state.engine.tasks(actor=actor, statuses=None if everything else
                                      ("open", "postponed"), text=query, limit=limit)
    if as_json:
        emit_json({"tasks": [t.to_json() for t in found], "total": total})
        return
    table(("ID", "STATUS", "ROLE", "REQUESTED BY", "CREATED", "TITLE"),
          [(t.id, t.status, t.role, t.requested_by, f"{t.created_at:%Y-%m-%d %H:%M}", t.title)
           for t in found])
    click.echo(f"{len(found)} of {total} task(s)")


@tasks.command("show")
@click.argument("task_id", type=int)
@click.option("--as", "actor", help="Also say whether this account may decide it, and why not.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(state: State, task_id: int, actor: str | None, as_json: bool) -> None:
    """A task with its request, requester and cards."""
    doc = _task_json(state, state.engine.task(task_id))
    if actor is not None:
        refusal = state.engine.may_decide(task_id, actor=actor)
        doc["may_decide"] = refusal is None
        doc["refusal"] = refusal
    if as_json:
        emit_json(doc)
        return
    click.echo(f"task {doc['id']}: {doc['title']}")
    click.echo(f"status {doc['status']}, for role {doc['role']}, requested by "
               f"{doc['requested_by']} at {str(doc['created_at'])[:19]}")
    if doc["decided_by"]:
        click.echo(f"last decision: {doc['decision']} by {doc['decided_by']}"
                   + (f" ({doc['reason']})" if doc["reason"] else ""))
    if actor is not None:
        click.echo(f"{actor} may decide it" if doc["refusal"] is None
                   else f"{actor} may not decide it: {doc['refusal']}")
    cards = doc["cards"]
    assert isinstance(cards, list)
    table(("CARD", "USER", "TYPE", "ORG UNIT", "STATE"),
          [(c["id"], c["user"], c["type"], c["org_unit"] or "-", c["state"]) for c in cards])


@tasks.command("decide")
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True, help="The approver's account.")
@click.option("--approve", "decision", flag_value="approve", help="Approve the cards.")
@click.option("--reject", "decision", flag_value="reject", help="Reject them (needs --reason).")
@click.option("--postpone", "decision", flag_value="postpone", help="Decide later.")
@click.option("--reason", help="Why (required with --reject).")
@click.option("--cards", help="Only these card ids (default: every undecided card).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def decide(state: State, task_id: int, actor: str, decision: str | None, reason: str | None,
           cards: str | None, as_json: bool) -> None:
    """Approve, reject or postpone a task (or some of its cards)."""
    if decision is None:
        raise click.UsageError("choose one of --approve, --reject --reason TEXT, --postpone")
    task = state.engine.decide(task_id, actor=actor, decision=decision, items=parse_ids(cards),
                               reason=reason)
    if as_json:
        emit_json(_task_json(state, task))
        return
    states = state.engine.entity_states(CARD.name, instance_id=task.instance_id)
    click.echo(f"task {task.id}: {decision} recorded; task is {task.status} "
               f"({', '.join(f'{n} {s}' for s, n in sorted(states.items()))})")


@click.command("abort")
@click.argument("ids")
@click.option("--as", "actor", required=True, help="The account that requested the cards.")
@click.pass_obj
def abort(state: State, ids: str, actor: str) -> None:
    """Withdraw undecided cards of your own request (requested -> aborted)."""
    card_ids = parse_ids(ids, "IDS") or []
    if not card_ids:
        raise InputError("name the cards to abort, e.g. `idmflow cards abort 12,13 --as operator`")
    engine = state.engine
    found = {c.id: c for c in engine.entities(CARD.name, ids=card_ids)[0]}
    missing = [i for i in card_ids if i not in found]
    if missing:
        raise InputError(f"no card with id {', '.join(map(str, missing))}")
    batches = {found[i].instance_id for i in card_ids}
    if len(batches) != 1 or None in batches:
        raise InputError("the cards belong to different requests; abort them one request at "
                         "a time")
    owning, _ = engine.tasks(instance_id=batches.pop(), statuses=None)
    if not owning:
        raise InputError(f"card(s) {ids} wait for no approval task: only requested cards of a "
                         "request with an approval step can be aborted")
    task = engine.decide(owning[0].id, actor=actor, decision="abort", items=card_ids)
    states = engine.entity_states(CARD.name, instance_id=task.instance_id)
    click.echo(f"aborted {len(card_ids)} card(s); request now: "
               f"{', '.join(f'{n} {s}' for s, n in sorted(states.items()))}")
