"""`idmflow accounts ...`: console accounts (who logs in and acts) and their roles."""

from __future__ import annotations

import secrets
import sys

import click
from sqlalchemy.exc import IntegrityError

from idmflow.engine import Conflict, InputError
from idmflow.storage.accounts import create_account
from idmflow.storage.database import write_transaction

from .output import emit_json
from .state import State

ROLES = ("operator", "approver", "admin", "self-service")


@click.group("accounts")
def accounts() -> None:
    """Console accounts."""


@accounts.command("create")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="Repeat for several roles. A self-service account acts for the directory "
                   "user of the same name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead "
                                                     "of generating one.")
@click.pass_obj
def create(state: State, username: str, email: str, roles: tuple[str, ...],
           password_stdin: bool) -> None:
    """Create an account; prints a generated password once (`USERNAME / PASSWORD`)."""
    if "@" not in email:
        raise InputError(f"--email {email!r} is not an email address")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)
    if not password:
        raise InputError("the password on stdin is empty")
    engine = state.engine
    try:
        with write_transaction(engine.db) as conn:
            create_account(conn, username, email=email, password=password, roles=roles,
                           now=engine.clock.now())
    except IntegrityError:
        raise Conflict(f"account {username!r} exists already") from None
    click.echo(f"{username} / {password}" if not password_stdin else f"created {username}")


@accounts.command("show")
@click.argument("username")
@click.pass_obj
def show(state: State, username: str) -> None:
    """An account's email address and roles (as JSON)."""
    account = state.engine.account(username)
    emit_json({"username": account.username, "email": account.email,
               "roles": sorted(account.roles)})
