"""The admin's Outbox page: every mail readable in the browser, markup shown as text."""

from __future__ import annotations

import idmflow.engine as idm
from idmflow.engine import mail
from idmflow.engine.ports import Notification
from idmflow.storage.database import write_transaction

from .conftest import Client, text_of


def _queue(engine: idm.Engine, subject: str, html: str | None = None) -> None:
    with write_transaction(engine.db) as conn:
        mail.enqueue(conn, Notification(to=("approver@example.org",), subject=subject,
                                        text=f"Body of {subject}", html=html),
                     engine.clock.now())


def test_outbox_lists_every_mail_and_shows_one(as_admin: Client, web_engine: idm.Engine
                                               ) -> None:
    _queue(web_engine, "Approval needed: Batch 1", html="<p>Hi <script>alert(1)</script></p>")
    _queue(web_engine, "Card request approved: Batch 1")
    page = as_admin.get("/admin/outbox")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Approval needed: Batch 1" in body and "Card request approved: Batch 1" in body
    assert "approver@example.org" in body and "pending" in body
    first = min(web_engine.outbox()[0], key=lambda m: m.id)
    one = as_admin.get(f"/admin/outbox/{first.id}").get_data(as_text=True)
    assert "Body of Approval needed: Batch 1" in one
    assert "<script>alert(1)</script>" not in one and "&lt;script&gt;" in one
    assert "Outbox" in text_of(as_admin.get("/admin/outbox?status=sent"))
    assert as_admin.get("/admin/outbox?status=bogus").status_code == 404
    assert as_admin.get("/admin/outbox/999999").status_code == 404


def test_outbox_is_for_admins_only(as_operator: Client) -> None:
    assert as_operator.get("/admin/outbox").status_code == 403
