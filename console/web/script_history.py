"""An option script's history: every version, the diff between two, and Restore.

Restore never rewrites history: the old source is saved again as the newest version, with
its own author, time and comment, so the log shows who brought it back.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idmflow.option_scripts.visible import source_lines, visible

from .access import account_or_403, confirm_password, needs_password
from .auth import audit
from .admin import admin
from .extension import engine
from .notices import flash


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a unified diff and how to show it (added, removed, hunk or context)."""

    text: str
    kind: str


def diff_lines(old: str, new: str, old_label: str, new_label: str) -> list[DiffLine]:
    """The unified diff of two sources, line by line, with a kind for each line.

    Lines are split where Python's parser splits them, not at every character
    `str.splitlines()` takes for a break (\x0c, \x1c, \u2028, ...): otherwise a line
    that goes on past such a character would look unchanged while what runs changed.
    Hidden and bidi characters are shown escaped.
    """
    lines = difflib.unified_diff(source_lines(old), source_lines(new), old_label, new_label,
                                 lineterm="")
    kinds = {"+": "added", "-": "removed", "@": "hunk"}
    return [DiffLine(visible(line), "file" if line.startswith(("---", "+++")) else
                     kinds.get(line[:1], "context")) for line in lines]


@admin.get("/scripts/<name>/history")
def script_history(name: str) -> str:
    """Every version of `name`, newest first."""
    versions = list(reversed(engine().scripts.history(name)))
    return render_template("idmflow/admin/script_history.html", name=name, versions=versions)


@admin.get("/scripts/<name>/diff")
def script_diff(name: str) -> str:
    """The changes from version `from` to version `to` (default: `to`'s predecessor)."""
    history = engine().scripts.history(name)
    if not history:
        abort(404, description=f"Option script {name} has no saved version yet.")
    numbers = [v.version for v in history]
    new = request.args.get("to", numbers[-1], type=int)
    earlier = [n for n in numbers if n < new]
    old = request.args.get("from", earlier[-1] if earlier else new, type=int)
    if old not in numbers or new not in numbers:
        abort(404, description=f"Option script {name} has versions "
                               f"{', '.join(map(str, numbers))}.")
    store = engine().scripts
    old_source = store.show(name, old).source or ""
    new_source = store.show(name, new).source or ""
    return render_template("idmflow/admin/script_diff.html", name=name, old=old, new=new,
                           numbers=numbers,
                           lines=diff_lines(old_source, new_source, f"{name} version {old}",
                                            f"{name} version {new}"))


@admin.post("/scripts/<name>/restore/<int:version>")
def script_restore(name: str, version: int) -> Response | tuple[str, int]:
    """Make `version` active again, as a new version (after the password, when it is old)."""
    account = account_or_403()
    if needs_password() and not confirm_password(account, request.form.get("password", "")):
        wrong = "password" in request.form
        return render_template("idmflow/confirm_password.html", wrong=wrong,
                               what=f"Restore version {version} of {name}",
                               action=url_for("admin.script_restore", name=name,
                                              version=version)), 400 if wrong else 200
    saved = engine().scripts.restore(name, version, author=account.username)
    audit("script_restore", account.username, script=name, version=saved.version,
          restored=version)
    flash(f"Restored version {version} of {name} as version {saved.version}; it is active now.")
    return redirect(url_for("admin.script_history", name=name))
