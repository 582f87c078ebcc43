"""The option script editor: edit, Validate, Preview the diagram, Save with a comment.

Nothing is stored until Save, and Save validates again: a refused script leaves the active
version as it was and comes back to the editor with each problem at its line. Preview draws
every process that reads the script under the edited source beside the active one, so an
admin sees what a change does before it counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idmflow.engine import OptionScriptError, ScriptVersion
from idmflow.option_scripts.visible import hidden_characters, visible

from .access import account_or_403, confirm_password, needs_password
from .auth import audit
from .admin import admin
from .diagrams import for_mermaid
from .extension import engine
from .notices import flash
from .script_quota import QuotaExceeded, sandbox_action

_LINE = re.compile(r"^line (\d+):")
#: line numbers drawn beside the source: a refused, absurdly long script (past the source
#: limit) must not become a page many times its size
_GUTTER_LINES = 20_000
#: hidden characters listed above the editor
_HIDDEN_SHOWN = 20
_ACTIONS = ("validate", "preview", "save")
REAUTH = ("Enter your password to save (it was last entered more than a few minutes ago; "
          "with single sign-on, log in again first); nothing was saved.")


@dataclass(frozen=True, slots=True)
class Preview:
    """One process under the active script and under the edited one."""

    name: str
    title: str
    now: str
    edited: str

    @property
    def changed(self) -> bool:
        return self.now != self.edited


def error_lines(exc: OptionScriptError) -> list[int]:
    """The lines the problems name, for the editor to mark."""
    lines = {int(m.group(1)) for p in exc.problems if (m := _LINE.match(p))}
    if exc.line is not None:
        lines.add(exc.line)
    return sorted(lines)


def _active(name: str) -> ScriptVersion | None:
    history = engine().scripts.history(name)
    return engine().scripts.show(name) if history else None


def _editor(name: str, source: str, status: int = 200, **context: Any) -> tuple[str, int]:
    schema = engine().scripts.schema(name)
    # problems quote the script: its control and bidi characters are shown escaped
    context["problems"] = [visible(str(p)) for p in context.get("problems", ())]
    context.setdefault("lines", [])
    return render_template("idmflow/admin/script_edit.html", name=name, source=source,
                           active=_active(name), schema=schema,
                           hidden=hidden_characters(source)[:_HIDDEN_SHOWN],
                           gutter=min(source.count("\n") + 1, _GUTTER_LINES),
                           comment=request.form.get("comment", ""), **context), status


def _previews(name: str, source: str) -> list[Preview]:
    found = []
    for process in engine().scripts.schema(name).processes:
        definition = engine().definition(process)
        options = engine().scripts.preview(definition, source)
        found.append(Preview(process, definition.title,
                             for_mermaid(engine().diagram(process)),
                             for_mermaid(engine().diagram(process, options))))
    return sorted(found, key=lambda p: not p.changed)  # what the edit changes comes first


@admin.get("/scripts/<name>")
def script_edit(name: str) -> tuple[str, int]:
    """The editor on the active version (on the shipped default before one is saved)."""
    active = _active(name)
    if active is not None and active.source is not None:
        source = active.source
    else:
        default = engine().scripts.schema(name).default_script
        source = default.read_text(encoding="utf-8") if default else ""
    return _editor(name, source)


@admin.post("/scripts/<name>")
def script_action(name: str) -> tuple[str, int] | Response:
    """Validate, Preview or Save the edited source."""
    account = account_or_403()
    source = request.form.get("source", "").replace("\r\n", "\n")
    action = request.form.get("action")
    if action not in _ACTIONS:
        return _editor(name, source, 400, problems=("Choose Validate, Preview or Save.",))
    try:
        if action == "save" and needs_password() and not confirm_password(
                account, request.form.get("password", "")):
            return _editor(name, source, 400, problems=(REAUTH,))
        with sandbox_action(account.username):
            if action == "save":
                saved = engine().scripts.save(name, source, author=account.username,
                                              comment=request.form.get("comment", "").strip())
                audit("script_save", account.username, script=name, version=saved.version)
                flash(f"Saved {name} version {saved.version}; it is active now.")
                return redirect(url_for("admin.script_edit", name=name))
            if action == "preview":
                return _editor(name, source, previews=_previews(name, source))
            evaluation = engine().scripts.evaluate(source, name=name)
    except QuotaExceeded as exc:
        return _editor(name, source, 429, problems=(str(exc),))
    except OptionScriptError as exc:
        return _editor(name, source, 400, problems=exc.problems, lines=error_lines(exc))
    return _editor(name, source, valid=True, values=sorted(evaluation.values.items()),
                   rules=sorted(evaluation.rules))
