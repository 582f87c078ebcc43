"""`idmflow init` and `idmflow demo`: the schema and the demo data."""

from __future__ import annotations

import click

from idmflow.engine import InputError, upgrade_schema
from idmflow.storage.clock import SystemClock
from idmflow.engine.wiring import connect_database, resolve_url
from idmflow.storage.database import safe_url
from idmflow.storage.demo import seed_accounts, seed_users

from .state import State
from .output import progress_bar


def _upgrade(url: str | None) -> None:
    url = resolve_url(url)
    db = connect_database(url)
    try:
        before, after = upgrade_schema(db)
    finally:
        db.dispose()
    if before == after:
        click.echo(f"schema of {safe_url(url)} is up to date ({after})")
    else:
        click.echo(f"schema of {safe_url(url)} {'created' if before is None else 'upgraded'} "
                   f"({before or 'empty'} -> {after})")


@click.command("init")
@click.pass_obj
def init(state: State) -> None:
    """Create or upgrade the database schema and install the default option scripts."""
    _upgrade(state.url)
    _install_scripts(state)


def _install_scripts(state: State) -> None:
    for saved in state.engine.scripts.install_defaults():
        click.echo(f"option script {saved.name}: default installed as version {saved.version}")


@click.command("demo")
@click.option("--users", "n", type=int, default=1000, show_default=True,
              help="How many directory users to seed (deterministic; safe to run twice).")
@click.pass_obj
def demo(state: State, n: int) -> None:
    """Seed demo directory users and the accounts operator, approver and admin."""
    if n < 0:
        raise InputError(f"--users must be 0 or more, not {n}")
    _upgrade(state.url)
    _install_scripts(state)
    db = state.engine.db
    with progress_bar("Seeding users") as progress:
        added = seed_users(db, n, progress=lambda done: progress(done, n))
    click.echo(f"directory: {added} user(s) added, {n - added} already there")
    for account in seed_accounts(db, SystemClock().now()):
        if account.password is None:
            click.echo(f"account {account.username} exists (password unchanged)")
        else:
            click.echo(f"{account.username} / {account.password}")
