"""`idmflow accounts ...`: console accounts (who logs in and acts) and their roles.

Changes go through `idmflow.console.accounts`, as the admin's Accounts page does: names and
passwords are checked against the policy, a password, role, disable or delete change ends
the account's console sessions, and each change is an audit event (actor `cli`, or the
`--as` account).
"""

from __future__ import annotations

import secrets
import sys

import click

from idmflow.engine import InputError

from .output import emit_json, table
from .state import State

ROLES = ("operator", "approver", "admin", "self-service", "supervisor")
_BY = click.option("--as", "actor", default="cli", show_default=True,
                   help="Who makes the change, for the audit log.")


@click.group("accounts")
def accounts() -> None:
    """Console accounts."""


def _password(username: str, from_stdin: bool) -> str:
    """The password on stdin, or a generated one (which meets the policy)."""
    if not from_stdin:
        return secrets.token_urlsafe(12)
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise InputError("the password on stdin is empty")
    return password


@accounts.command("create")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="Repeat for several roles. A self-service account acts for the directory "
                   "user of the same name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead "
                                                     "of generating one.")
@_BY
@click.pass_obj
def create(state: State, username: str, email: str, roles: tuple[str, ...],
           password_stdin: bool, actor: str) -> None:
    """Create an account; prints a generated password once (`USERNAME / PASSWORD`)."""
    from idmflow.console import accounts as changes

    if "@" not in email:
        raise InputError(f"--email {email!r} is not an email address")
    password = _password(username, password_stdin)
    changes.create(state.engine, username, email=email, password=password, roles=roles,
                   actor=actor, client="cli")
    click.echo(f"{username} / {password}" if not password_stdin else f"created {username}")


@accounts.command("show")
@click.argument("username")
@click.pass_obj
def show(state: State, username: str) -> None:
    """An account's email address and roles (as JSON)."""
    account = state.engine.account(username)
    emit_json({"username": account.username, "email": account.email,
               "roles": sorted(account.roles)})


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.pass_obj
def list_(state: State, as_json: bool) -> None:
    """Every account: roles, and whether it is disabled or locked out of logins."""
    from idmflow.console import accounts as changes

    rows = changes.overview(state.engine)
    if as_json:
        emit_json({"accounts": [{"username": r.account.username, "email": r.account.email,
                                 "roles": list(r.account.roles),
                                 "state": r.state} for r in rows], "total": len(rows)})
        return
    table(("USERNAME", "EMAIL", "STATE", "ROLES"),
          [(r.account.username, r.account.email, r.state, ",".join(r.account.roles))
           for r in rows])


@accounts.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin "
                                                     "instead of generating one.")
@_BY
@click.pass_obj
def passwd(state: State, username: str, password_stdin: bool, actor: str) -> None:
    """Set a new password (generated and printed once, or from stdin); sessions end."""
    from idmflow.console import accounts as changes

    password = _password(username, password_stdin)
    changes.change_password(state.engine, username, password, actor=actor, client="cli")
    click.echo(f"{username} / {password}" if not password_stdin
               else f"changed the password of {username}")


@accounts.command("roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES),
              help="The account's roles from now on; repeat for several (none: no role).")
@_BY
@click.pass_obj
def roles(state: State, username: str, roles: tuple[str, ...], actor: str) -> None:
    """Replace an account's roles; its sessions end."""
    from idmflow.console import accounts as changes

    now = changes.change_roles(state.engine, username, roles, actor=actor, client="cli")
    click.echo(f"{username}: roles {', '.join(now) or 'none'}")


def _simple(name: str, done: str, doc: str) -> None:
    @accounts.command(name, help=doc)
    @click.argument("username")
    @_BY
    @click.pass_obj
    def command(state: State, username: str, actor: str) -> None:
        from idmflow.console import accounts as changes

        getattr(changes, name)(state.engine, username, actor=actor, client="cli")
        click.echo(f"{username}: {done}")


_simple("disable", "disabled", "Disable an account: no login, no acting; its sessions end.")
_simple("enable", "enabled", "Enable a disabled account again.")
_simple("delete", "deleted", "Delete an account and its sessions (the audit log keeps it).")
_simple("unlock", "unlocked", "Forget an account's failed logins, which ends a lock.")
