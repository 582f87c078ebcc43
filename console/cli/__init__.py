"""The `idmflow` command line: everything the console does, for scripts and automation.

The CLI trusts whoever can run it against the database, as `psql` does with trust
authentication: `--as ACCOUNT` acts as that console account.

Subcommands are imported when they run (`lazy.py`), so `idmflow --help` starts in about the
time Python and click take.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from idmflow.engine.errors import IdmflowError

from .lazy import Lazy, LazyGroup
from .state import State

COMMANDS = {
    "accounts": Lazy("idmflow.console.cli.accounts:accounts", "Console accounts."),
    "audit": Lazy("idmflow.console.cli.audit:audit",
                  "Print the audit trail in the order it happened."),
    "cards": Lazy("idmflow.console.cli.cards:cards", "Cards and the card processes."),
    "demo": Lazy("idmflow.console.cli.database:demo",
                 "Seed demo directory users and the accounts operator, approver and admin."),
    "init": Lazy("idmflow.console.cli.database:init", "Create or upgrade the database schema "
                 "and install the default option scripts."),
    "jobs": Lazy("idmflow.console.cli.jobs:jobs", "Background jobs: list, show, retry, cancel."),
    "mail": Lazy("idmflow.console.cli.mail:mail", "The mail outbox."),
    "process": Lazy("idmflow.console.cli.processes:process",
                    "Start, fire and show process instances."),
    "processes": Lazy("idmflow.console.cli.processes:processes",
                      "The registered process definitions."),
    "schedules": Lazy("idmflow.console.cli.schedules:schedules",
                      "Periodic jobs: when each ran last and runs next."),
    "scripts": Lazy("idmflow.console.cli.scripts:scripts",
                    "Option scripts: the values and rules administrators set."),
    "serve": Lazy("idmflow.console.cli.serve:serve", "Serve the web console until Ctrl+C."),
    "tasks": Lazy("idmflow.console.cli.tasks:tasks",
                  "Human tasks: approvals waiting for a decision."),
    "users": Lazy("idmflow.console.cli.directory:users", "The user directory."),
    "worker": Lazy("idmflow.console.cli.jobs:worker",
                   "Run background jobs (mail, long steps, schedules) until stopped."),
}


class _Group(LazyGroup):
    """Prints an `IdmflowError` as one line on stderr and exits 1 (traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IdmflowError as exc:
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:
            from idmflow.storage.database import problem  # only when something failed

            reason = problem(exc)
            if reason is None:
                raise
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            click.echo(f"error: the database {reason}; check IDMFLOW_DATABASE_URL and that the "
                       "server runs, then try again", err=True)
            sys.exit(1)


@click.group(cls=_Group, lazy=COMMANDS)
@click.option("--database-url", metavar="URL",
              help="Database URL (default: IDMFLOW_DATABASE_URL, else sqlite:///idmflow.db).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="idmflow")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, debug: bool) -> None:
    """idmflow: run identity-management processes such as batch card orders."""
    ctx.obj = State(database_url)
