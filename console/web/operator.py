"""The `operator` blueprint: BATCH ORDERS, and each step of a batch order.

Every action is a POST carrying the version of the page it came from, so a double click or
a reload acts once: a second submit finds the instance moved on and is shown where it stands
now. Next runs as a job, in a worker (see `runs.py`); a small batch still shows its result
at once, because the request waits a moment for it before showing the progress page. A
"select all N matching" runs in the background too: it checks every matching user.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, url_for)
from werkzeug.wrappers import Response

from idmflow.engine import (Account, Conflict, InputError, InstanceView, NotAllowed,
                            ProcessDefinition)

from .access import account_or_403, require_role
from .extension import console, engine
from .runs import problems_of
from .selectors import selector_for
from .step_page import step_page

operator = Blueprint("operator", __name__, url_prefix="/operator", template_folder="templates")
operator.before_request(require_role("operator"))

CATEGORY = "Batch orders"
#: how long Next waits for the batch before showing the progress page instead
QUICK_SECONDS = 2.0
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CHANGED = "This batch order changed meanwhile (another tab or a second click); here is " \
           "where it stands now."


def batch_processes(account: Account) -> list[ProcessDefinition]:
    """The batch processes `account` may start."""
    return [d for d in engine().processes() if d.category == CATEGORY
            and (not d.start_roles or account.roles & set(d.start_roles))]


def _owned(instance_id: int) -> tuple[InstanceView, Account]:
    """The instance and the account, which must be the one that started it."""
    account = account_or_403()
    view = engine().instance(instance_id)
    if view.started_by != account.username:
        abort(403, description=f"Only {view.started_by}, who started batch order "
                               f"{instance_id}, may act on it.")
    return view, account


def _to(instance_id: int) -> Response:
    return redirect(url_for("operator.instance", instance_id=instance_id))


def _stale(view: InstanceView, trigger: str) -> bool:
    """Whether the submitted page is out of date: another submit got there first."""
    return request.form.get("version", type=int) != view.version or trigger not in view.triggers


@operator.get("/batch-orders")
def batch_orders() -> str:
    return render_template("idmflow/operator/batch_orders.html",
                           processes=batch_processes(account_or_403()),
                           start_key=secrets.token_urlsafe(16))


@operator.post("/batch-orders/<name>/start")
def start(name: str) -> Response:
    """Start a batch order; the form's one-time key makes a double click start it once."""
    account = account_or_403()
    if name not in {d.name for d in batch_processes(account)}:
        abort(404, description=f"There is no batch order {name!r} you may start.")
    key = request.form.get("key", "")
    view = engine().start(name, actor=account.username,
                          idempotency_key=f"console:{account.username}:{key}"
                          if _KEY.match(key) else None)
    return _to(view.id)


@operator.get("/instances/<int:instance_id>")
def instance(instance_id: int) -> tuple[str, int] | str:
    """The instance's current step; the progress page while its Next runs."""
    account = account_or_403()
    view = engine().instance(instance_id)
    run = console().runs.get(instance_id)
    if run is not None and not run.finished:
        return render_template("idmflow/operator/progress.html", instance=view, run=run,
                               definition=engine().definition(view.process))
    return step_page(view, account, problems=console().runs.take_problems(instance_id,
                                                                          view.version),
                     card_number=request.args.get("page", 1, type=int) or 1,
                     notice=run.note if run is not None else None)


@operator.post("/instances/<int:instance_id>/search")
def search(instance_id: int) -> tuple[str, int] | Response:
    """A page of the step's search, keeping what is ticked."""
    view, account = _owned(instance_id)
    selector = selector_for(view.state)
    if "select" not in view.triggers or selector is None:
        return _to(instance_id)
    return step_page(view, account, search=selector.search(request.form),
                     selection=selector.ticked(request.form))


@operator.post("/instances/<int:instance_id>/select")
def select(instance_id: int) -> tuple[str, int] | Response:
    """The step's selection: what is ticked, or everything the search matches."""
    view, account = _owned(instance_id)
    selector = selector_for(view.state)
    if _stale(view, "select") or selector is None:
        flash(_CHANGED)
        return _to(instance_id)
    selection = selector.ticked(request.form)
    wanted = selector.select_input(request.form, selection)
    if request.form.get("skip_ineligible"):
        wanted["skip_ineligible"] = True
    if request.form.get("all_matching"):
        # Every match of a search may be 100,000 users to check: in the background.
        return _in_background(view, account, "select", wanted)
    try:
        engine().fire(instance_id, "select", actor=account.username, input=wanted,
                      expected_version=view.version)
    except Conflict:
        flash(_CHANGED)
    except InputError as exc:
        return step_page(view, account, search=selector.search(request.form, again=True),
                         selection=selection, problems=problems_of(exc),
                         skip_ineligible=bool(request.form.get("skip_ineligible")), status=400)
    return _to(instance_id)


@operator.post("/instances/<int:instance_id>/next")
def next_step(instance_id: int) -> Response:
    """Next: create the batch in the background; the page shows progress, then the result."""
    view, account = _owned(instance_id)
    if _stale(view, "next"):
        return _to(instance_id)  # the first submit made the batch: show it, not an error
    return _in_background(view, account, "next")


def _in_background(view: InstanceView, account: Account, trigger: str,
                   input: dict[str, Any] | None = None) -> Response:
    """Queue `trigger` for a worker; wait a moment, so a quick one shows its result at once."""
    runs = console().runs
    run = runs.start(view.id, trigger, actor=account.username, expected_version=view.version,
                     input=input)
    deadline = time.monotonic() + current_app.config.get("IDMFLOW_QUICK_SECONDS", QUICK_SECONDS)
    while not run.finished and time.monotonic() < deadline:
        time.sleep(0.05)
        run = runs.get(view.id) or run
    return _to(view.id)


@operator.post("/instances/<int:instance_id>/<any(back, cancel):trigger>")
def fire(instance_id: int, trigger: str) -> Response:
    """Back or Cancel (Cancel ends the order before anything is created)."""
    view, account = _owned(instance_id)
    if _stale(view, trigger):
        flash(_CHANGED)
        return _to(instance_id)
    try:
        engine().fire(instance_id, trigger, actor=account.username,
                      expected_version=view.version)
    except (Conflict, NotAllowed):
        flash(_CHANGED)
    return _to(instance_id)


@operator.get("/instances/<int:instance_id>/progress.json")
def progress(instance_id: int) -> Response:
    """How far the background step is; `finished` when none runs here (any more)."""
    run = console().runs.get(instance_id)
    if run is None:
        return jsonify({"instance": instance_id, "finished": True, "done": 0, "total": 0})
    return jsonify(run.to_json())
