"""`idmflow processes ...` (definitions) and `idmflow process ...` (running instances)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from idmflow.engine import InputError, InstanceView
from idmflow.engine.variants import coverage

from .output import emit_json, progress_bar, table
from .scripts import read_source
from .state import State


def parse_input(text: str | None) -> dict[str, Any]:
    """`--input` as a JSON object, or a clear error."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--input is not valid JSON ({exc.msg} at column {exc.colno}); "
                         "pass an object such as '{\"users\": [\"jdoe\"]}'") from None
    if not isinstance(value, dict):
        raise InputError("--input must be a JSON object such as '{\"users\": [\"jdoe\"]}'")
    return value


@click.group("processes")
def processes() -> None:
    """The registered process definitions."""


@processes.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_processes(state: State, as_json: bool) -> None:
    """Every registered process with its origin; broken plugins are named on stderr."""
    engine = state.engine
    items = [{"name": d.name, "title": d.title, "category": d.category,
              "start_roles": list(d.start_roles), "origin": engine.registry.origin(d.name)}
             for d in engine.processes()]
    for name, why in sorted(engine.registry.broken.items()):
        click.echo(f"warning: process {name!r} did not load: {why}", err=True)
    if as_json:
        emit_json({"processes": items, "total": len(items)})
        return
    table(("NAME", "TITLE", "STARTED BY", "ORIGIN"),
          [(i["name"], i["title"], ", ".join(i["start_roles"]), i["origin"]) for i in items])


@processes.command("show")
@click.argument("name")
@click.option("--diagram", is_flag=True, help="Print the graph as a mermaid diagram.")
@click.option("--options-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Show it under this not-yet-saved option script instead of the active one.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show_process(state: State, name: str, diagram: bool, options_file: Path | None,
                 as_json: bool) -> None:
    """A process's steps, triggers and options under the active (or a file's) options."""
    engine = state.engine
    options = None
    if options_file is not None:
        options = engine.scripts.preview(engine.definition(name), read_source(options_file))
    compiled = engine.compiled(name, options)
    d = compiled.definition
    if diagram and not as_json:
        click.echo(compiled.diagram(d.title))
        return
    doc: dict[str, Any] = {
        "name": d.name, "title": d.title, "origin": engine.registry.origin(d.name),
        "start_roles": list(d.start_roles), "option_script": d.option_script,
        "steps": [{"name": s.name, "title": s.title, "final": s.final, "view": s.view}
                  for s in compiled.steps.values()],
        "transitions": [{"trigger": t.trigger, "source": list(t.source), "dest": t.dest}
                        for t in compiled.graph.transitions],
        "options": [{"name": o.name, "type": o.type.__name__, "default": o.default,
                     "value": compiled.options.get(o.name), "doc": o.doc} for o in d.options],
        "variants": dict(zip(("checked", "total"), coverage(d))),
    }
    if as_json:
        if diagram:
            doc["diagram"] = compiled.diagram(d.title)
        emit_json(doc)
        return
    click.echo(f"{d.name}: {d.title} (started by {', '.join(d.start_roles) or 'anyone'})")
    click.echo("steps: " + ", ".join(s["name"] + (" (final)" if s["final"] else "")
                                     for s in doc["steps"]))
    table(("TRIGGER", "FROM", "TO"),
          [(t["trigger"], ", ".join(t["source"]), t["dest"]) for t in doc["transitions"]])
    table(("OPTION", "VALUE", "DEFAULT", "MEANING"),
          [(o["name"], o["value"], o["default"], o["doc"]) for o in doc["options"]])
    checked, total = coverage(d)
    click.echo(f"option combinations checked when it loaded: {checked:,} of {total:,}"
               + ("" if checked == total else " (all off, all on, each alone on and alone off)"))


@click.group("process")
def process() -> None:
    """Start, fire and show process instances."""


def print_instance(view: InstanceView, as_json: bool) -> None:
    if as_json:
        emit_json(view.to_json())
        return
    click.echo(f"instance {view.id}: {view.process}, state {view.state} (version {view.version})"
               f"{', ended' if view.ended else ''}")
    click.echo(f"started by {view.started_by} at {view.created_at:%Y-%m-%d %H:%M:%S}; options "
               f"{view.options_version}")
    click.echo(f"next triggers: {', '.join(view.triggers) or 'none'}")


@process.command("start")
@click.argument("name")
@click.option("--as", "actor", required=True, help="The console account that acts.")
@click.option("--input", "input_", metavar="JSON", help="A JSON object for the start.")
@click.option("--idempotency-key", help="Starting twice with one key returns the first run.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def start(state: State, name: str, actor: str, input_: str | None, idempotency_key: str | None,
          as_json: bool) -> None:
    """Start process NAME."""
    view = state.engine.start(name, actor=actor, input=parse_input(input_),
                              idempotency_key=idempotency_key)
    print_instance(view, as_json)


@process.command("fire")
@click.argument("instance", type=int)
@click.argument("trigger")
@click.option("--as", "actor", required=True, help="The console account that acts.")
@click.option("--input", "input_", metavar="JSON", help="A JSON object for the step.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def fire(state: State, instance: int, trigger: str, actor: str, input_: str | None,
         as_json: bool) -> None:
    """Fire TRIGGER on process INSTANCE."""
    with progress_bar(trigger) as progress:
        view = state.engine.fire(instance, trigger, actor=actor, input=parse_input(input_),
                                 progress=progress)
    print_instance(view, as_json)


@process.command("show")
@click.argument("instance", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show_instance(state: State, instance: int, as_json: bool) -> None:
    """Show process INSTANCE."""
    print_instance(state.engine.instance(instance), as_json)


@process.command("migrate")
@click.argument("instance", type=int)
@click.option("--to-current-options", "to_current", is_flag=True,
              help="Move it to the option-script version new instances start with.")
@click.option("--as", "actor", required=True, help="An admin account.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def migrate(state: State, instance: int, to_current: bool, actor: str, as_json: bool) -> None:
    """Move process INSTANCE to the current options, e.g. once a failing rule is fixed."""
    if not to_current:
        raise click.UsageError("say where to move it: --to-current-options")
    before = state.engine.instance(instance).options_version
    view = state.engine.migrate_options(instance, actor=actor)
    if as_json:
        emit_json(view.to_json())
        return
    click.echo(f"instance {view.id}: options {before} -> {view.options_version} "
               f"(by {actor}); next triggers: {', '.join(view.triggers) or 'none'}")
