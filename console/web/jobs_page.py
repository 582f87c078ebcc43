"""The admin's Jobs page: background work, dead jobs first, with Retry and Cancel.

A dead job is one that failed every attempt (or refused at once); its last error says why.
Retrying it queues one more attempt now; cancelling stops a job that has not started.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idmflow.storage.jobs import STATES

from .admin import admin
from .extension import engine

PAGE = 100


@admin.get("/jobs")
def jobs() -> str:
    """Dead jobs first, then the newest; optionally of one state or kind."""
    state = request.args.get("state") or None
    if state not in (None, *STATES):
        abort(404)
    kind = request.args.get("kind") or None
    found, total = engine().jobs.find(states=[state] if state else None, kind=kind, limit=PAGE)
    return render_template("idmflow/admin/jobs.html", jobs=found, total=total, state=state,
                           kind=kind, states=STATES, kinds=sorted(engine().jobs.kinds))


@admin.get("/jobs/<int:job_id>")
def job(job_id: int) -> str:
    """One job: payload, attempts, last error, result."""
    return render_template("idmflow/admin/job.html", job=engine().jobs.get(job_id))


@admin.post("/jobs/<int:job_id>/<any(retry, cancel):action>")
def job_action(job_id: int, action: str) -> Response:
    """Retry (dead, cancelled or waiting jobs: one more attempt now) or Cancel (not started)."""
    jobs = engine().jobs
    done = jobs.retry([job_id]) if action == "retry" else jobs.cancel([job_id])
    state = jobs.get(job_id).state
    if done:
        flash(f"Job {job_id} is {state} now.")
    else:
        flash(f"Job {job_id} is {state}: it cannot be "
              f"{'retried' if action == 'retry' else 'cancelled'} now.")
    return redirect(url_for("admin.job", job_id=job_id))
