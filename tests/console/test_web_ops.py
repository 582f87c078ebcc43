"""`/healthz`, `/readyz` and `/metrics`: no login; ready only with a worker; metrics behind
a token."""

from __future__ import annotations

import pytest
from flask import Flask

import idmflow.engine as idm

from .conftest import ACTIVE, Client, approval_on, batch


def test_healthz_and_readyz_need_no_login(app: Flask, web_engine: idm.Engine) -> None:
    http = app.test_client()
    assert http.get("/healthz").get_json() == {"alive": True}
    ready = http.get("/readyz")  # the fixture's console runs a worker, as serve does
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"] == {"database": "ok", "schema": "ok", "worker": "ok"}


def test_readyz_without_a_worker_says_so(console_url: str) -> None:
    from idmflow.console.web import create_app

    engine = idm.open(console_url)
    try:
        answer = create_app(engine, testing=True).test_client().get("/readyz")
        assert answer.status_code == 503
        body = answer.get_json()
        assert body["ready"] is False and "no worker is running" in body["reason"]
    finally:
        engine.close()


def test_metrics_are_off_unless_a_token_is_set(app: Flask, web_engine: idm.Engine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    http = app.test_client()
    assert http.get("/metrics").status_code == 404
    monkeypatch.setenv("IDMFLOW_METRICS_TOKEN", "s3cret-token")
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    approval_on(web_engine)
    task = batch(web_engine, ACTIVE[:2])
    web_engine.decide(task.id, actor="approver", decision="approve")
    Client(http).login("operator")
    answer = http.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    text = answer.get_data(as_text=True)
    assert 'idmflow_jobs{kind="mail",state="queued"}' in text
    assert 'idmflow_instances{process="CardsBoProcRequestMulitple",status="ended"} 1.0' in text
    assert 'idmflow_decisions{decision="approve",process="CardsBoProcRequestMulitple"} 1.0' in text
    assert 'idmflow_mails{status="pending"}' in text
    assert "idmflow_queue_latency_seconds" in text
    assert 'idmflow_http_request_seconds_count{method="POST",route="/login",status="302"} 1.0' in text


def test_the_database_away_is_a_503() -> None:
    broken = idm.open("sqlite:////nonexistent-folder/idmflow.db", check_schema=False)
    try:
        from idmflow.console.web import create_app

        answer = create_app(broken, testing=True).test_client().get("/readyz")
        assert answer.status_code == 503
        assert "database" in answer.get_json()["reason"]
    finally:
        broken.close()


def test_a_busy_database_is_a_503_page_for_people(app: Flask, console_url: str) -> None:
    from idmflow.storage.database import Limits

    from ..storage.test_limits import busy

    app.config.update(TESTING=False, IDMFLOW_REQUEST_LIMITS=Limits(0.2, 0.2))
    client = Client(app.test_client())
    client.login("operator")
    with busy(console_url):
        answer = client.post("/operator/batch-orders/CardsBoProcRequestMulitple/start",
                             data={"key": "busy-test-key-1"})
    assert answer.status_code == 503
    page = answer.get_data(as_text=True)
    assert "The database cannot be reached; try again in a moment." in page
    assert "sqlite" not in page and "postgresql" not in page  # no URL for visitors
    assert client.post("/operator/batch-orders/CardsBoProcRequestMulitple/start",
                       data={"key": "busy-test-key-2"}).status_code == 302  # it recovers
