"""The approver's pages: open requests with search, and the Card approval form
(Approve, Reject with a reason, Postpone, per-card decisions, never one's own request).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

import idmflow.engine as idm

from .conftest import ACTIVE, Client, add_account, add_user, approval_on, batch, text_of

@pytest.fixture
def task(web_engine: idm.Engine) -> idm.TaskView:
    approval_on(web_engine)
    return batch(web_engine, ACTIVE[:4])


@pytest.fixture
def as_approver(client: Client) -> Client:
    client.login("approver")
    return client


def decide(client: Client, task: idm.TaskView, engine: idm.Engine, decision: str,
           **data: object) -> str:
    version = engine.task(task.id).version
    response = client.post(f"/approvals/{task.id}", data={"decision": decision,
                                                           "version": version, **data})
    if response.status_code == 302:
        return text_of(client.get(response.location))
    return text_of(response)


def test_open_requests_list_and_search(as_approver: Client, task: idm.TaskView,
                                       web_engine: idm.Engine) -> None:
    page = text_of(as_approver.get("/approvals/"))
    assert 'aria-current="page">Approvals</a>' in page
    assert f'href="/approvals/{task.id}">{task.title}</a>' in page
    assert "1 request(s)." in page
    assert "0 request(s)" in text_of(as_approver.get("/approvals/?q=nothing-like-this"))
    assert "1 request(s)" in text_of(as_approver.get("/approvals/?q=OPERATOR"))


def test_the_form_shows_request_cards_and_requester(as_approver: Client, task: idm.TaskView,
                                                    web_engine: idm.Engine) -> None:
    page = text_of(as_approver.get(f"/approvals/{task.id}"))
    assert "<h1>Card approval</h1>" in page and task.title in page
    assert "<dt>Requester</dt><dd>operator</dd>" in page
    user = web_engine.directory.get_many([ACTIVE[0]])[ACTIVE[0]]
    assert f"<td>{ACTIVE[0]}</td>" in page and f"<td>{user.org_unit}</td>" in page
    assert "<td>employee</td>" in page
    assert page.count('aria-label="Select card ') == 4
    assert '<label for="reason">Reason</label>' in page and "required to reject" in page
    for button in ("Approve", "Reject", "Postpone"):
        assert f">{button}</button>" in page


def test_approve_every_card_closes_the_request(as_approver: Client, task: idm.TaskView,
                                               web_engine: idm.Engine) -> None:
    page = decide(as_approver, task, web_engine, "approve")
    assert "Approved: every undecided card of request" in page and "the request is closed" in page
    assert web_engine.entity_states("card", instance_id=task.instance_id) == {"approved": 4}
    assert web_engine.task(task.id).status == "done"
    closed = text_of(as_approver.get(f"/approvals/{task.id}"))
    assert "was already decided by approver (approve)" in closed
    assert ">Approve</button>" not in closed


def test_reject_needs_a_reason_and_applies_to_the_ticked_cards(as_approver: Client,
                                                               task: idm.TaskView,
                                                               web_engine: idm.Engine) -> None:
    cards, _ = web_engine.entities("card", instance_id=task.instance_id)
    page = decide(as_approver, task, web_engine, "reject", card=[cards[0].id])
    assert "a rejection needs a reason" in page and 'role="alert"' in page
    assert re.search(rf'value="{cards[0].id}"[^>]* checked', page)  # the tick is kept
    assert web_engine.entity_states("card", instance_id=task.instance_id) == {"requested": 4}
    page = decide(as_approver, task, web_engine, "reject", card=[cards[0].id, cards[1].id],
                  reason="no budget for <b>these</b>")
    assert "Rejected: 2 card(s)" in page and "still open" in page
    assert "no budget for &lt;b&gt;these&lt;/b&gt;" in page
    assert web_engine.entity_states("card", instance_id=task.instance_id) == {
        "rejected": 2, "requested": 2}
    decide(as_approver, task, web_engine, "approve")
    assert web_engine.entity_states("card", instance_id=task.instance_id) == {
        "rejected": 2, "approved": 2}


def test_postpone_keeps_the_request_in_the_list(as_approver: Client, task: idm.TaskView,
                                                web_engine: idm.Engine) -> None:
    page = decide(as_approver, task, web_engine, "postpone")
    assert "Postponed request" in page
    assert web_engine.task(task.id).status == "postponed"
    listing = text_of(as_approver.get("/approvals/"))
    assert task.title in listing and "state-postponed" in listing


def test_a_double_submit_decides_once(as_approver: Client, task: idm.TaskView,
                                      web_engine: idm.Engine) -> None:
    version = web_engine.task(task.id).version
    for _ in range(2):
        as_approver.post(f"/approvals/{task.id}", data={"decision": "approve",
                                                        "version": version})
    page = text_of(as_approver.get(f"/approvals/{task.id}"))
    assert "changed meanwhile" in page
    events = web_engine.history(subject_kind="task", subject_id=task.id)
    assert [e.trigger for e in events if e.trigger == "approve"] == ["approve"]


def test_nobody_decides_their_own_request(client: Client, console_url: str,
                                          web_engine: idm.Engine) -> None:
    add_account(console_url, "both", "both-pw-1", ("operator", "approver"))
    approval_on(web_engine)
    own = batch(web_engine, ACTIVE[10:12], actor="both")
    client.login("both", "both-pw-1")
    assert "(your own request)" in text_of(client.get("/approvals/"))
    page = text_of(client.get(f"/approvals/{own.id}"))
    assert "it is their own request; another approver must decide it" in page
    assert ">Approve</button>" not in page and 'aria-label="Select card' not in page
    page = decide(client, own, web_engine, "approve")
    assert "their own request" in page
    assert web_engine.entity_states("card", instance_id=own.instance_id) == {"requested": 2}


def test_an_approver_sees_why_they_cannot_decide_a_batch_with_their_card(
        as_approver: Client, console_url: str, web_engine: idm.Engine) -> None:
    add_user(console_url, "approver", "Anna Approver")
    approval_on(web_engine)
    task = batch(web_engine, [ACTIVE[0], "approver", ACTIVE[1]])
    held = next(c.id for c in web_engine.entities("card", instance_id=task.instance_id)[0]
                if c.subject == "approver")
    said = (f"&#39;approver&#39; may not decide task {task.id}: it holds card {held} of the "
            "directory user &#39;approver&#39;, the same person; another approver must decide "
            "it, or an admin sets CardsAllowHolderApproval = True")
    page = text_of(as_approver.get(f"/approvals/{task.id}"))
    assert f'<p class="notice" role="note">{said}</p>' in page
    assert ">Approve</button>" not in page and 'aria-label="Select card' not in page
    page = decide(as_approver, task, web_engine, "approve")  # a hand-made POST
    assert 'role="alert"' in page and said in page
    assert web_engine.entity_states("card", instance_id=task.instance_id) == {"requested": 3}
    assert web_engine.task(task.id).status == "open"


def test_the_approvals_pages_are_for_approvers(app: Flask, task: idm.TaskView) -> None:
    for username in ("operator", "admin"):
        client = Client(app.test_client())
        client.login(username)
        assert client.get("/approvals/").status_code == 403
        assert client.get(f"/approvals/{task.id}").status_code == 403
        assert client.post(f"/approvals/{task.id}", data={"decision": "approve"}
                           ).status_code == 403
