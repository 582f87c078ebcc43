"""The `idmflow` command line: everything the console does, for scripts and automation.

The CLI trusts whoever can run it against the database, as `psql` does with trust
authentication: `--as ACCOUNT` acts as that console account.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from idmflow.engine import IdmflowError

from .state import State


class _Group(click.Group):
    """Prints an `IdmflowError` as one line on stderr and exits 1 (traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IdmflowError as exc:
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--database-url", envvar="IDMFLOW_DATABASE_URL", metavar="URL",
              help="Database URL (default: IDMFLOW_DATABASE_URL, else sqlite:///idmflow.db).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="idmflow")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, debug: bool) -> None:
    """idmflow: run identity-management processes such as batch card orders."""
    ctx.obj = State(database_url)


from . import (accounts, audit, cards, database, directory, mail, processes,  # noqa: E402
               scripts, serve, tasks)

for module in (accounts, audit, cards, database, directory, mail, processes, scripts, serve,
               tasks):
    for command in module.COMMANDS:
        main.add_command(command)
