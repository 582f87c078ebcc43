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


@mail.command("retry")
@click.argument("mail_ids", type=int, nargs=-1)
@click.option("--failed", "all_failed", is_flag=True, help="Every mail given up on.")
@click.pass_obj
def retry(state: State, mail_ids: tuple[int, ...], all_failed: bool) -> None:
    """Send mails again now: these ids (failed, or waiting for a retry), or --failed."""
    if bool(mail_ids) == all_failed:
        raise click.UsageError("give mail ids or --failed, not both or neither")
    done = state.engine.retry_mail(list(mail_ids), failed=all_failed)
    click.echo(f"requeued: {', '.join(map(str, done)) if done else 'none'} (a worker sends "
               "them: `idmflow serve` runs one, or `idmflow worker`, or `idmflow mail send`)")
    skipped = sorted(set(mail_ids) - set(done))
    if skipped:
        raise IdmflowError(f"mails {', '.join(map(str, skipped))} were not requeued: they do "
                           "not exist, were sent, or are being sent (`idmflow mail list`)")


@mail.command("list")
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed"]))
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
