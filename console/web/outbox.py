"""The admin's Outbox page: every mail, pending, sent or failed, readable in the browser.

A demo without an SMTP server still shows what was sent (and to whom); a failed delivery
shows its last error. The text part is shown as text, the HTML part as its escaped source:
mail bodies are never rendered as markup in the console.
"""

from __future__ import annotations

from flask import abort, render_template, request

from .admin import admin
from .extension import engine

STATUSES = ("pending", "sent", "failed")
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
