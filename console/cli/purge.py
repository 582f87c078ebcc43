"""`idmflow purge`: forget what is past its retention now (a worker does it daily)."""

from __future__ import annotations

import click

from .output import emit_json
from .state import State


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def purge(state: State, dry_run: bool, as_json: bool) -> None:
    """Delete ended instances, old audit events, sent mail and finished jobs past their
    retention, in small chunks; instances on hold stay."""
    counts = state.engine.purge(dry_run=dry_run)
    if as_json:
        emit_json({"dry_run": dry_run, **counts})
        return
    verb = "would go" if dry_run else "purged"
    click.echo(f"{verb}: " + ", ".join(f"{n} {what.replace('_', ' ')}"
                                       for what, n in counts.items()))
