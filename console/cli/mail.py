"""`idmflow mail ...`: deliver the outbox once, or look into it."""

from __future__ import annotations

import click

from idmflow.engine import IdmflowError

from .output import emit_json, table
from .state import State


@click.group("mail")
def mail() -> None:
    """The mail outbox."""


@mail.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@click.pass_obj
def send(state: State, limit: int) -> None:
    """Deliver the mail that is due over SMTP (IDMFLOW_SMTP_URL) and exit."""
    result = state.engine.deliver_mail(limit=limit)
    click.echo(f"{result.sent} sent, {result.retried} to retry later, {result.failed} given up")
    if result.errors:
        for error in result.errors[:10]:
            click.echo(f"  {error}", err=True)
        raise IdmflowError(
            f"could not deliver {len(result.errors)} mail(s) via "
            f"{state.engine.notifier}; they stay in the outbox and are retried later "
            "(check IDMFLOW_SMTP_URL and that the server runs)")


@mail.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]))
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_mail(state: State, status: str | None, limit: int, as_json: bool) -> None:
    """Mails of the outbox, newest first."""
    found, total = state.engine.outbox(status=status, limit=limit)
    if as_json:
        emit_json({"mails": [m.to_json() for m in found], "total": total})
        return
    table(("ID", "STATUS", "TRIES", "TO", "SUBJECT"),
          [(m.id, m.status, m.attempts, ", ".join(m.recipients), m.subject) for m in found])
