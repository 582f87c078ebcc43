"""Need to know: operators see their own batches (supervisors, or every operator when
configured, see all), approvers the requests of their roles, audit pages follow both, and
403 pages do not list the account's roles."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import update

import idmflow.engine as idm
from idmflow.console import accounts as changes
from idmflow.console.web import create_app
from idmflow.storage.models import tasks

from .conftest import ACTIVE, Client, approval_on, batch, text_of


@pytest.fixture
def task(web_engine: idm.Engine) -> idm.TaskView:
    approval_on(web_engine)
    return batch(web_engine, ACTIVE[:3], actor="operator")


def pages(task: idm.TaskView, engine: idm.Engine) -> list[str]:
    cards, _ = engine.entities("card", instance_id=task.instance_id)
    return [f"/operator/instances/{task.instance_id}",
            f"/operator/instances/{task.instance_id}/progress.json",
            f"/audit/instances/{task.instance_id}", f"/audit/cards/{cards[0].id}"]


def logged_in(app: Flask, username: str) -> Client:
    client = Client(app.test_client())
    client.login(username)
    return client


def test_operators_see_their_own_batches_only(app: Flask, task: idm.TaskView,
                                             web_engine: idm.Engine) -> None:
    owner, other = logged_in(app, "operator"), logged_in(app, "operator2")
    for url in pages(task, web_engine):
        assert owner.get(url).status_code == 200, url
        refused = other.get(url)
        assert refused.status_code == 403, url
    page = text_of(other.get(pages(task, web_engine)[0]))
    assert "started by another operator" in page and "your account has" not in page


def test_a_supervisor_or_the_setting_sees_every_batch(app: Flask, task: idm.TaskView,
                                                      web_engine: idm.Engine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMFLOW_OPERATORS_SEE_ALL", "yes")
    everyone = create_app(web_engine, testing=True)
    other = logged_in(everyone, "operator2")
    assert all(other.get(url).status_code == 200 for url in pages(task, web_engine))
    monkeypatch.delenv("IDMFLOW_OPERATORS_SEE_ALL")
    changes.change_roles(web_engine, "operator2", ["operator", "supervisor"], actor="admin")
    supervisor = logged_in(create_app(web_engine, testing=True), "operator2")
    assert all(supervisor.get(url).status_code == 200 for url in pages(task, web_engine))


def test_approvers_see_the_requests_of_their_roles(app: Flask, task: idm.TaskView,
                                                   web_engine: idm.Engine) -> None:
    approver = logged_in(app, "approver")
    assert approver.get(f"/approvals/{task.id}").status_code == 200
    assert approver.get(f"/audit/instances/{task.instance_id}").status_code == 200
    with web_engine.db.begin() as conn:
        conn.execute(update(tasks).where(tasks.c.id == task.id).values(role="finance"))
    assert approver.get(f"/approvals/{task.id}").status_code == 403
    assert f"/approvals/{task.id}" not in text_of(approver.get("/approvals/?status=all"))
    for url in pages(task, web_engine)[2:]:
        assert approver.get(url).status_code == 403, url
    admin = logged_in(app, "admin")
    assert all(admin.get(url).status_code == 200 for url in pages(task, web_engine)[2:])


def test_403_pages_do_not_list_roles(app: Flask) -> None:
    page = text_of(logged_in(app, "operator").get("/admin/scripts"))
    assert "This page is for the role admin." in page
    assert "your account has" not in page and "operator</span>" in page  # the header only
