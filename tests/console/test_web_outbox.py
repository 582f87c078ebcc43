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


def test_retry_send_now_and_requeue_failed(as_admin: Client, web_engine: idm.Engine) -> None:
    from sqlalchemy import text

    _queue(web_engine, "Approval needed: Batch 2")
    _queue(web_engine, "Approval needed: Batch 3")
    first, second = sorted(web_engine.outbox()[0], key=lambda m: m.id)
    with write_transaction(web_engine.db) as conn:  # the first was given up on
        conn.execute(text("UPDATE outbox SET status = 'failed', attempts = 8, "
                          "last_error = 'refused' WHERE id = :id"), {"id": first.id})
        conn.execute(text("UPDATE jobs SET state = 'dead', attempts = 8 "
                          "WHERE key = :key"), {"key": f"mail:{first.message_id}"})
    page = text_of(as_admin.get(f"/admin/outbox/{first.id}"))
    assert "Retry" in page and "refused" in page
    assert "Send now" in text_of(as_admin.get(f"/admin/outbox/{second.id}"))
    done = as_admin.post("/admin/outbox/retry", data={"failed": "1"})
    assert done.status_code == 302
    assert "Requeued 1 mail(s)" in text_of(as_admin.get("/admin/outbox"))
    job = web_engine.jobs.find(kind="mail", states=["queued"])[0]
    assert {j.key for j in job} == {f"mail:{first.message_id}", f"mail:{second.message_id}"}
    assert web_engine.outbox(status="failed")[1] == 0
    assert as_admin.post("/admin/outbox/retry", data={"mail": "x"}).status_code == 400
    nothing = as_admin.post("/admin/outbox/retry", data={})
    assert nothing.status_code == 302
    assert "Nothing was requeued" in text_of(as_admin.get("/admin/outbox"))


def test_the_jobs_page_shows_dead_jobs_first_and_retries_them(as_admin: Client,
                                                               web_engine: idm.Engine) -> None:
    from sqlalchemy import text

    _queue(web_engine, "Approval needed: Batch 4")
    _queue(web_engine, "Approval needed: Batch 5")
    jobs = sorted(web_engine.jobs.find()[0], key=lambda j: j.id)
    with write_transaction(web_engine.db) as conn:
        conn.execute(text("UPDATE jobs SET state = 'dead', last_error = 'SMTP refused' "
                          "WHERE id = :id"), {"id": jobs[0].id})
    listing = as_admin.get("/admin/jobs").get_data(as_text=True)
    assert listing.index(f">{jobs[0].id}</a>") < listing.index(f">{jobs[1].id}</a>")
    assert "SMTP refused" in listing and "Jobs" in listing
    one = text_of(as_admin.get(f"/admin/jobs/{jobs[0].id}"))
    assert "Retry" in one and '"mail":' in one
    assert as_admin.post(f"/admin/jobs/{jobs[0].id}/retry").status_code == 302
    assert web_engine.jobs.get(jobs[0].id).state == "queued"
    assert as_admin.post(f"/admin/jobs/{jobs[1].id}/cancel").status_code == 302
    assert web_engine.jobs.get(jobs[1].id).state == "cancelled"
    assert "cannot be cancelled" in text_of(as_admin.post(f"/admin/jobs/{jobs[1].id}/cancel",
                                                          follow_redirects=True))
    assert as_admin.get("/admin/jobs?state=bogus").status_code == 404
    assert as_admin.get("/admin/jobs/99999").status_code == 404
