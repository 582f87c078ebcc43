"""`idmflow scripts ...`: option scripts — list, show, history, eval, save, restore."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from idmflow.engine import InputError

from .output import emit_json, table
from .state import State


def read_source(path: Path) -> str:
    """A script file's text, or a clear error."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


@click.group("scripts")
def scripts() -> None:
    """Option scripts: the values and rules administrators set."""


@scripts.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_scripts(state: State, as_json: bool) -> None:
    """Every option script with its active version."""
    store = state.engine.scripts
    items: list[dict[str, Any]] = []
    for name in store.names():
        history = store.history(name)
        last = history[-1] if history else None
        items.append({"name": name, "version": last.version if last else None,
                      "author": last.author if last else None,
                      "changed_at": last.created_at.isoformat() if last else None,
                      "processes": list(store.schema(name).processes)})
    if as_json:
        emit_json({"scripts": items, "total": len(items)})
        return
    table(("NAME", "VERSION", "AUTHOR", "CHANGED", "PROCESSES"),
          [(i["name"], i["version"] or "-", i["author"] or "-", (i["changed_at"] or "-")[:19],
            ", ".join(i["processes"])) for i in items])


@scripts.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, help="An older version (default: active).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(state: State, name: str, version: int | None, as_json: bool) -> None:
    """Print the stored source exactly, so it can be edited and saved.

    Piped or redirected, the bytes are the stored ones; on a terminal, control and bidi
    characters are shown escaped (\x1b, \u202e), so what is seen is what runs.
    """
    found = state.engine.scripts.show(name, version)
    if as_json:
        emit_json(found.to_json())
        return
    source = found.source or ""
    if sys.stdout.isatty():
        from idmflow.option_scripts.visible import visible

        click.echo(visible(source), nl=False)
        return
    # color=True: click would otherwise strip what looks like ANSI codes from a pipe
    click.echo(source, nl=False, color=True)


@scripts.command("history")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def history(state: State, name: str, as_json: bool) -> None:
    """Every saved version: who, when and why."""
    versions = state.engine.scripts.history(name)
    if as_json:
        emit_json({"versions": [v.to_json() for v in versions], "total": len(versions)})
        return
    table(("VERSION", "AT", "AUTHOR", "COMMENT"),
          [(v.version, f"{v.created_at:%Y-%m-%d %H:%M:%S}", v.author, v.comment)
           for v in versions])


@scripts.command("eval")
@click.argument("name", required=False)
@click.option("--file", "path", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def evaluate(state: State, name: str | None, path: Path, as_json: bool) -> None:
    """Evaluate FILE in the sandbox without saving (checked against NAME when given)."""
    evaluation = state.engine.scripts.evaluate(read_source(path), name=name)
    doc = {"values": evaluation.values, "rules": sorted(evaluation.rules)}
    if as_json:
        emit_json(doc)
        return
    table(("NAME", "VALUE"), [(k, repr(v)) for k, v in sorted(evaluation.values.items())])
    click.echo(f"rules: {', '.join(doc['rules']) or 'none'}")


@scripts.command("save")
@click.argument("name")
@click.option("--file", "path", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--as", "actor", required=True, help="An admin account.")
@click.option("--comment", default="", help="Why it changed.")
@click.pass_obj
def save(state: State, name: str, path: Path, actor: str, comment: str) -> None:
    """Validate FILE and store it as the next, active version of NAME."""
    saved = state.engine.scripts.save(name, read_source(path), author=actor, comment=comment)
    click.echo(f"saved {name} version {saved.version}")


@scripts.command("restore")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--as", "actor", required=True, help="An admin account.")
@click.pass_obj
def restore(state: State, name: str, version: int, actor: str) -> None:
    """Make VERSION of NAME active again (stored as a new version)."""
    saved = state.engine.scripts.restore(name, version, author=actor)
    click.echo(f"restored {name} version {version} as version {saved.version}")
