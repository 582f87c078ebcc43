"""The `admin` blueprint: the registered processes with their diagrams, and option scripts.

This module holds the blueprint, its role guard and the processes page; the script pages
add their routes to it from `script_editor.py` and `script_history.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template

from idmflow.engine import ProcessDefinition, ScriptVersion

from .access import require_role
from .diagrams import for_mermaid
from .extension import engine

admin = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
admin.before_request(require_role("admin"))


@dataclass(frozen=True, slots=True)
class ProcessCard:
    """A process as the processes page shows it."""

    definition: ProcessDefinition
    origin: str
    options_version: str
    options: dict[str, Any]
    diagram: str


def _process_card(definition: ProcessDefinition) -> ProcessCard:
    snapshot = engine().options.snapshot(definition)
    return ProcessCard(definition, engine().registry.origin(definition.name), snapshot.version,
                       dict(snapshot.values),
                       for_mermaid(engine().diagram(definition.name, snapshot.values)))


@admin.get("/processes")
def processes() -> str:
    """Every registered process, drawn under the current options; broken plugins named."""
    return render_template("idmflow/admin/processes.html",
                           processes=[_process_card(d) for d in engine().processes()],
                           broken=sorted(engine().registry.broken.items()))


@admin.get("/scripts")
def scripts() -> str:
    """Every option script with its active version and the processes that read it."""
    store = engine().scripts
    rows: list[tuple[str, ScriptVersion | None, tuple[str, ...]]] = []
    for name in store.names():
        history = store.history(name)
        rows.append((name, history[-1] if history else None, store.schema(name).processes))
    return render_template("idmflow/admin/scripts.html", rows=rows)
