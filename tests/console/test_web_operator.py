"""The operator's batch order in the web console, step by step (Flask test client).

Runs on SQLite and PostgreSQL. Each test drives the pages as a browser would: the forms'
fields, the CSRF token, the version each page carries.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

import idmflow.engine as idm
from idmflow.console.web import create_app
from idmflow.console.web.extension import console

from .conftest import ACTIVE, XSS_NAME, Client, text_of, working

NAME = "CardsBoProcRequestMulitple"
_HIDDEN = re.compile(r'name="selected" value="([^"]*)"')


class Order:
    """One batch order driven through the operator's pages."""

    def __init__(self, client: Client, engine: idm.Engine) -> None:
        self.client = client
        self.engine = engine
        response = client.post(f"/operator/batch-orders/{NAME}/start",
                               data={"key": "test-key-" + str(id(self))})
        assert response.status_code == 302
        self.id = int(response.location.rsplit("/", 1)[1])
        self.url = f"/operator/instances/{self.id}"

    @property
    def view(self) -> idm.InstanceView:
        return self.engine.instance(self.id)

    def post(self, action: str, **data: Any) -> TestResponse:
        return self.client.post(f"{self.url}/{action}",
                                data={"version": self.view.version, **data})

    def page(self) -> str:
        return text_of(self.client.get(self.url))

    def select(self, users: list[str]) -> TestResponse:
        return self.post("select", selected=json.dumps(users))

    def cards(self) -> dict[str, int]:
        return self.engine.entity_states("card", instance_id=self.id)


def kept(page: str) -> list[str]:
    """The names the page carries in its hidden `selected` field."""
    found = _HIDDEN.search(page)
    assert found
    names: list[str] = json.loads(html.unescape(found.group(1)))
    return names


def ticked_boxes(page: str) -> list[str]:
    """The users whose check box the page shows ticked."""
    return re.findall(r'name="user" value="([^"]+)"[^>]* checked>', page)


@pytest.fixture
def order(as_operator: Client, web_engine: idm.Engine) -> Order:
    return Order(as_operator, web_engine)


def test_batch_orders_offers_request_multiple_cards(as_operator: Client) -> None:
    page = text_of(as_operator.get("/operator/batch-orders"))
    assert 'aria-current="page">BATCH ORDERS</a>' in page
    assert '<button type="submit" class="primary">Request multiple cards</button>' in page


def test_one_start_form_sent_twice_starts_one_order(as_operator: Client) -> None:
    url = f"/operator/batch-orders/{NAME}/start"
    first = as_operator.post(url, data={"key": "same-key-123"}).location
    second = as_operator.post(url, data={"key": "same-key-123"}).location
    assert first == second


def test_the_whole_order_search_tick_page_select_next(order: Order) -> None:
    assert "Click <strong>Search</strong> to list users" in order.page()
    page1 = text_of(order.post("search", q=""))
    assert "301 user(s) found; users 1–50 shown (page 1)." in page1
    assert f'aria-label="Select {ACTIVE[0]}"' in page1
    boxes = re.findall(r'aria-label="Select ([^"]+)"', page1)
    assert boxes[0] == "all" and len(boxes) == 1 + len([u for u in ACTIVE if u <= boxes[-1]])
    last = re.findall(r'name="after" value="([^"]+)"', page1)[0]
    page2 = text_of(order.post("search", q="", user=ACTIVE[:3], shown=boxes[1:], after=last,
                               number="1", selected="[]"))
    assert "users 51–100 shown (page 2)" in page2 and "3 ticked." in page2
    assert kept(page2) == ACTIVE[:3]
    on_page2 = re.findall(r'aria-label="Select ([a-z]+\d+)"', page2)[:2]
    response = order.post("select", q="", selected=json.dumps(kept(page2)), user=on_page2)
    assert response.status_code == 302
    confirm = order.page()
    assert "5 card(s) of type <strong>employee</strong>" in confirm
    assert all(name in confirm for name in ACTIVE[:3] + on_page2)
    assert ">Next</button>" in confirm and ">Cancel</button>" in confirm
    assert order.post("next").status_code == 302
    result = order.page()
    assert "Cards requested" in result and result.count('class="state state-approved"') == 6
    assert order.cards() == {"approved": 5}
    assert order.view.data.get("approval_needed") is False


def test_the_result_links_to_the_card_and_batch_histories(order: Order) -> None:
    order.select(ACTIVE[:2])
    order.post("next")
    card = re.findall(r'href="(/audit/cards/\d+)"', order.page())[0]
    history = text_of(order.client.get(card))
    assert "<td>request</td>" in history and "<td>registered</td>" in history
    assert "<td>approved</td>" in history and "<td>operator</td>" in history
    batch = text_of(order.client.get(f"/audit/instances/{order.id}"))
    for trigger in ("start", "select", "next"):
        assert f"<td>{trigger}</td>" in batch


def test_select_all_matching_sends_the_filter_not_names(order: Order,
                                                        web_engine: idm.Engine) -> None:
    matching = web_engine.directory.count(idm.UserQuery(org_unit="HR", state="active"))
    page = text_of(order.post("search", org_unit="HR"))
    assert f"Select all {matching} matching</label>" in page
    assert order.post("select", org_unit="HR", all_matching="1",
                      user=ACTIVE[:1]).status_code == 302
    assert f"{matching} card(s) of type" in order.page()
    assert len(order.view.data["selection"]) == matching


def test_select_all_matching_needs_a_name_or_org_unit(order: Order) -> None:
    assert "matching</label>" not in text_of(order.post("search", q=""))
    assert "matching</label>" not in text_of(order.post("search", q="a", state="locked"))


def test_search_filters_by_prefix_org_unit_and_state(order: Order, web_engine: idm.Engine
                                                     ) -> None:
    page = text_of(order.post("search", q="ANNA", state="active"))
    expected = web_engine.directory.count(idm.UserQuery(text="anna", state="active"))
    assert f"{expected} user(s) found" in page and expected > 0
    names = re.findall(r'aria-label="Select ([a-z]+\d+)"', page)
    assert names and all(n.startswith("a") for n in names)
    page = text_of(order.post("search", org_unit="Legal", state="locked"))
    assert "locked" in page and "aria-label=\"Select a" not in page  # nothing to tick


def test_a_display_name_with_markup_is_shown_as_text(order: Order) -> None:
    page = text_of(order.post("search", q="xss"))
    assert html.escape(XSS_NAME) in page or "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS_NAME not in page


@pytest.mark.parametrize("step", ["select_users", "confirm"])
def test_cancel_at_each_step_creates_nothing(order: Order, step: str) -> None:
    if step == "confirm":
        order.select(ACTIVE[:3])
    assert order.post("cancel").status_code == 302
    assert order.view.state == "cancelled"
    page = order.page()
    assert "Cancelled" in page and "Cards of this batch" not in page
    assert order.cards() == {}


def test_next_sent_twice_creates_one_batch(order: Order) -> None:
    order.select(ACTIVE[:4])
    version = order.view.version
    first = order.client.post(f"{order.url}/next", data={"version": version})
    second = order.client.post(f"{order.url}/next", data={"version": version})
    assert first.status_code == second.status_code == 302
    assert second.location == order.url
    assert order.cards() == {"approved": 4}
    page = order.page()
    assert "Cards requested" in page and "Refused" not in page


def test_a_stale_select_shows_where_the_order_stands(order: Order) -> None:
    stale = order.view.version
    order.select(ACTIVE[:2])
    response = order.client.post(f"{order.url}/select",
                                 data={"version": stale, "selected": json.dumps(ACTIVE[2:4])})
    assert response.status_code == 302
    page = order.page()
    assert "changed meanwhile" in page and "2 card(s) of type" in page


def test_a_refused_selection_shows_every_problem_and_keeps_the_ticks(order: Order,
                                                                     web_engine: idm.Engine
                                                                     ) -> None:
    inactive = web_engine.directory.search(idm.UserQuery(state="inactive", limit=1))[0].username
    response = order.select([ACTIVE[0], inactive])
    page = text_of(response)
    assert response.status_code == 400 and "Refused" in page
    assert f"users who are not active: {inactive} (inactive)" in page
    assert kept(page) + ticked_boxes(page) == [inactive, ACTIVE[0]]  # the search is shown again
    assert "Leave out the users who cannot get a card" in page
    assert order.view.state == "select_users" and "Traceback" not in page
    order.post("select", selected=json.dumps([ACTIVE[0], inactive]), skip_ineligible="1")
    assert order.view.data["selection"] == [ACTIVE[0]]
    confirm = order.page()
    assert "Left out, as asked:" in confirm
    assert f"1 user(s) who are not active: {inactive}" in confirm


def test_an_empty_selection_is_refused_on_the_page(order: Order) -> None:
    page = text_of(order.select([]))
    assert "the selection is empty: choose at least one active user" in page


def test_back_returns_to_the_search_with_the_selection(order: Order) -> None:
    order.select(ACTIVE[:2])
    assert order.post("back").status_code == 302
    page = order.page()
    assert order.view.state == "select_users" and kept(page) == ACTIVE[:2]
    assert "2 user(s) are ticked." in page


def test_another_operator_sees_the_order_read_only(order: Order, app: Flask) -> None:
    other = Client(app.test_client())
    other.login("operator2")
    page = text_of(other.get(order.url))
    assert "<legend>Search users</legend>" not in page and ">Cancel</button>" not in page
    response = other.post(f"{order.url}/cancel", data={"version": order.view.version})
    assert response.status_code == 403 and "Only operator" in text_of(response)
    assert order.view.state == "select_users"


def test_the_cards_of_a_large_batch_come_a_page_at_a_time(order: Order) -> None:
    order.select(ACTIVE[:150])
    order.post("next")
    first = order.page()
    assert "Page 1 of 2." in first and first.count("/audit/cards/") == 100
    second = text_of(order.client.get(order.url + "?page=2"))
    assert "Page 2 of 2." in second and second.count("/audit/cards/") == 50
    assert ACTIVE[149] in second and ACTIVE[149] not in first


def test_next_runs_in_the_background_and_reports_progress(order: Order, app: Flask,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    app.config["IDMFLOW_QUICK_SECONDS"] = 0
    engine = console_engine(app)
    release = threading.Event()
    real_fire = engine.fire

    def slow_fire(instance_id: int, trigger: str, **kwargs: Any) -> idm.InstanceView:
        progress: Callable[[int, int], None] = kwargs["progress"]
        progress(1, 3)
        release.wait(10)
        return real_fire(instance_id, trigger, **kwargs)

    order.select(ACTIVE[:3])
    monkeypatch.setattr(engine, "fire", slow_fire)
    order.post("next")
    page = order.page()
    assert "working on the batch" in page and "1 of 3 done" in page
    state = order.client.get(f"{order.url}/progress.json").get_json()
    assert state == {"instance": order.id, "trigger": "next", "done": 1, "total": 3,
                     "finished": False}
    release.set()
    deadline = time.monotonic() + 10
    while not (run := console_of(app).runs.get(order.id)) or not run.finished:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert order.client.get(f"{order.url}/progress.json").get_json()["finished"] is True
    assert "Cards requested" in order.page()


def test_a_batch_refused_at_next_shows_why(order: Order, web_engine: idm.Engine) -> None:
    order.select(ACTIVE[:2])
    web_engine.run(NAME, actor="operator", steps=[("select", {"users": ACTIVE[1:2]}),
                                                  ("next", {})])
    order.post("next")
    page = order.page()
    assert "already have an open (requested or approved) employee card" in page
    assert order.view.state == "confirm" and ">Next</button>" in page


def test_with_the_approval_step_the_operator_is_told_and_cards_wait(console_url: str) -> None:
    engine = idm.open(console_url, options=idm.FixedOptions({"CardsBatchRequestApproval": True}))
    try:
        client = Client(create_app(engine, testing=True).test_client())
        client.login("operator")
        order = Order(client, engine)
        order.select(ACTIVE[:3])
        with working(engine):
            order.post("next")
        page = order.page()
        assert "Approval needed" in page and page.count("state state-requested") == 4
        assert order.cards() == {"requested": 3}
    finally:
        engine.close()


def console_engine(app: Flask) -> idm.Engine:
    with app.app_context():
        return console().engine


def console_of(app: Flask) -> Any:
    with app.app_context():
        return console()


def test_issue_multiple_cards_searches_and_ticks_cards(as_operator: Client,
                                                       web_engine: idm.Engine) -> None:
    batch = web_engine.run(NAME, actor="operator", steps=[("select", {"users": ACTIVE[:3]}),
                                                          ("next", {})])
    response = as_operator.post("/operator/batch-orders/CardsBoProcIssueMultiple/start")
    url = response.location
    instance_id = int(url.rsplit("/", 1)[1])
    version = web_engine.instance(instance_id).version
    page = text_of(as_operator.post(f"{url}/search", data={
        "version": version, "card_state": "approved", "batch": str(batch.id)}))
    assert "3 card(s) found" in page and '<label for="batch">Batch order</label>' in page
    ids = [int(i) for i in re.findall(r'name="card" value="(\d+)"', page)]
    assert len(ids) == 3 and f'aria-label="Select card {ids[0]} ({ACTIVE[0]})"' in page
    as_operator.post(f"{url}/select", data={"version": version, "card": ids[:2],
                                            "batch": str(batch.id)})
    confirm = text_of(as_operator.get(url))
    assert "2 card(s) will be produced." in confirm
    as_operator.post(f"{url}/next", data={"version": web_engine.instance(instance_id).version})
    assert "2 card(s) issued" in text_of(as_operator.get(url))
    assert web_engine.entity_states("card", instance_id=batch.id) == {"issued": 2, "approved": 1}


def test_a_refused_select_all_matching_shows_why_on_the_step(order: Order,
                                                             web_engine: idm.Engine) -> None:
    holder = web_engine.directory.search(idm.UserQuery(org_unit="HR", state="active",
                                                       limit=1))[0].username
    web_engine.run(NAME, actor="operator", steps=[("select", {"users": [holder]}),
                                                  ("next", {})])
    response = order.post("select", org_unit="HR", all_matching="1")
    assert response.status_code == 302  # checked in the background
    page = order.page()
    assert "Refused" in page and f"open (requested or approved) employee card: {holder}" in page
    assert order.view.state == "select_users"
    order.post("select", org_unit="HR", all_matching="1", skip_ineligible="1")
    assert holder not in order.view.data["selection"] and order.view.state == "confirm"
