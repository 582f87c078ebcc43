"""The admin's Outbox page: every mail, pending, sent or failed, readable in the browser;
"Send now", "Retry" and "Requeue failed" put mails back before their workers' jobs.

A demo without an SMTP server still shows what was sent (and to whom); a failed delivery
shows its last error. The text part is shown as text, the HTML part as its escaped source:
mail bodies are never rendered as markup in the console.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .admin import admin
from .extension import engine

STATUSES = ("pending", "sending", "sent", "failed")
PAGE = 100


@admin.get("/outbox")
def outbox() -> str:
    """The newest mails first, optionally of one status."""
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        abort(404)
    mails, total = engine().outbox(status=status, limit=PAGE)
    return render_template("idmflow/admin/outbox.html", mails=mails, total=total,
                           status=status, statuses=STATUSES)


@admin.get("/outbox/<int:mail_id>")
def outbox_mail(mail_id: int) -> str:
    """One mail: recipients, subject, status, attempts, last error, text and HTML parts."""
    mails, _ = engine().outbox(mail_id=mail_id)
    if not mails:
        abort(404)
    return render_template("idmflow/admin/outbox_mail.html", mail=mails[0])


@admin.post("/outbox/retry")
def outbox_retry() -> Response:
    """Send now / Retry (the ticked or one mail) or Requeue failed (every failed mail)."""
    every_failed = request.form.get("failed") == "1"
    try:
        ids = [int(v) for v in request.form.getlist("mail")]
    except ValueError:
        abort(400, description="A mail id is a number.")
    if not ids and not every_failed:
        flash("Nothing was requeued: choose a mail, or Requeue failed.")
        return redirect(url_for("admin.outbox"))
    done = engine().retry_mail(ids, failed=every_failed)
    flash(f"Requeued {len(done)} mail(s): a worker sends them now." if done
          else "Nothing was requeued: sent mails and mails being sent stay as they are.")
    if len(ids) == 1 and not every_failed:
        return redirect(url_for("admin.outbox_mail", mail_id=ids[0]))
    return redirect(url_for("admin.outbox"))
