"""Transport and input: Secure cookies, proxies believed only from their addresses, the
request size limit, no-store and framing headers, bad input answered 400 (never 500),
one-line mail headers, and a decision that names no valid card refused."""

from __future__ import annotations

import html
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

import idmflow.engine as idm
from idmflow.console.cli import main
from idmflow.console.web import create_app

from .conftest import ACTIVE, Client, approval_on, batch, text_of, token_of


def test_cookies_are_secure_over_https_and_when_configured(
        web_engine: idm.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(web_engine, testing=True)
    plain = Client(app.test_client())
    plain.login("operator")
    assert not plain.http.get_cookie("idmflow_session").secure  # type: ignore[union-attr]
    https = Client(app.test_client())
    page = https.http.get("/login", base_url="https://localhost")
    response = https.http.post("/login", base_url="https://localhost", data={
        "username": "operator", "password": "operator-pw-1", "csrf_token": token_of(page)})
    assert "Secure" in response.headers["Set-Cookie"]
    monkeypatch.setenv("IDMFLOW_SECURE_COOKIES", "1")
    configured = Client(create_app(web_engine, testing=True).test_client())
    configured.login("operator")
    assert configured.http.get_cookie("idmflow_session").secure  # type: ignore[union-attr]


def test_forwarded_headers_count_only_from_configured_proxies(
        web_engine: idm.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMFLOW_PROXIES", "10.0.0.5")
    monkeypatch.setenv("IDMFLOW_IDENTITY_HEADER", "X-Remote-User")
    app = create_app(web_engine, testing=True)
    forwarded = {"X-Forwarded-For": "203.0.113.50", "X-Forwarded-Proto": "https",
                 "X-Remote-User": "admin"}
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert stranger.get("/admin/outbox", headers=forwarded).status_code == 302  # not believed
    proxy = app.test_client()
    proxy.environ_base["REMOTE_ADDR"] = "10.0.0.5"
    assert proxy.get("/admin/outbox", headers=forwarded).status_code == 200

    client = Client(app.test_client())
    client.http.environ_base["REMOTE_ADDR"] = "10.0.0.5"
    headers = {"X-Forwarded-For": "203.0.113.50", "X-Forwarded-Proto": "https"}
    page = client.http.get("/login", headers=headers)
    response = client.http.post("/login", headers=headers, data={
        "username": "operator", "password": "operator-pw-1", "csrf_token": token_of(page)})
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]
    login = [e for e in web_engine.history(subject_kind="account") if e.trigger == "login"]
    assert login[-1].data is not None and login[-1].data["client"] == "203.0.113.50"


def test_a_bad_proxy_setting_is_one_clear_error(web_engine: idm.Engine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMFLOW_PROXIES", "10.0.0.5,proxy.example")
    with pytest.raises(idm.IdmflowError, match="'proxy.example' is not an IP address"):
        create_app(web_engine, testing=True)
    monkeypatch.delenv("IDMFLOW_PROXIES")
    monkeypatch.setenv("IDMFLOW_IDENTITY_HEADER", "X-Remote-User")
    with pytest.raises(idm.IdmflowError, match="set that too"):
        create_app(web_engine, testing=True)


def test_request_bodies_are_limited(client: Client, web_engine: idm.Engine,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    big = {"username": "x" * (100 * 1024), "password": "y"}
    assert client.http.post("/login", data=big).status_code == 413  # anonymous: 64 KiB
    monkeypatch.setenv("IDMFLOW_MAX_REQUEST_BYTES", "100000")
    limited = Client(create_app(web_engine, testing=True).test_client())
    limited.login("operator")
    response = limited.post("/operator/batch-orders/CardsBoProcRequestMulitple/start",
                            data={"key": "k" * 200_000})
    assert response.status_code == 413 and "Traceback" not in text_of(response)


def test_authenticated_pages_are_not_cached_and_not_framed(as_operator: Client) -> None:
    response = as_operator.get("/operator/batch-orders")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def task(web_engine: idm.Engine) -> idm.TaskView:
    approval_on(web_engine)
    return batch(web_engine, ACTIVE[:3])


def test_bad_input_is_400_not_500(client: Client, task: idm.TaskView) -> None:
    client.login("approver")
    huge = "9" * 30
    assert client.get(f"/approvals/{huge}").status_code == 404
    assert client.get(f"/approvals/?page={huge}").status_code == 400
    assert client.get("/approvals/?q=ab%00cd").status_code == 400
    nul = client.post(f"/approvals/{task.id}", data={"decision": "reject",
                                                      "reason": "a\x00b", "version": "1"})
    assert nul.status_code == 400 and "NUL character" in text_of(nul)
    for data in ({"version": huge}, {"card": huge, "version": "1"}):
        response = client.post(f"/approvals/{task.id}", data={"decision": "approve", **data})
        assert response.status_code == 400, data
    client.post("/logout")
    client.login("operator")
    start = client.post("/operator/batch-orders/CardsBoProcRequestMulitple/start")
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(start.location.replace("http://localhost", "") + "/search",
                           data={"selected": deep})
    assert response.status_code in (200, 302)


def test_a_decision_naming_no_valid_card_is_refused(client: Client, task: idm.TaskView,
                                                    web_engine: idm.Engine) -> None:
    client.login("approver")
    response = client.post(f"/approvals/{task.id}", data={
        "decision": "approve", "card": "abc", "version": web_engine.task(task.id).version})
    assert response.status_code == 400
    assert "'abc' is not a card number" in html.unescape(text_of(response))
    assert web_engine.entity_states("card", instance_id=task.instance_id) == {"requested": 3}


def test_a_reason_with_a_line_break_still_makes_a_deliverable_mail(
        client: Client, task: idm.TaskView, web_engine: idm.Engine, smtp_server) -> None:  # type: ignore[no-untyped-def]
    client.login("approver")
    response = client.post(f"/approvals/{task.id}", data={
        "decision": "reject", "reason": "no budget\r\nBcc: victim@example.org\nthis year",
        "version": web_engine.task(task.id).version})
    assert response.status_code == 302
    sent = CliRunner().invoke(main, ["--database-url",
                                     web_engine.db.url.render_as_string(False), "mail", "send"])
    assert sent.exit_code == 0, sent.output
    rejected = [m for m in smtp_server.messages if "rejected" in str(m["Subject"])]
    assert rejected and "\n" not in str(rejected[0]["Subject"])
    assert "no budget Bcc: victim@example.org this year" in str(rejected[0]["Subject"])
    assert rejected[0]["Bcc"] is None


def test_serve_warns_when_listening_beyond_loopback_without_tls(console_url: str) -> None:
    def stderr_of(host: str) -> str:
        child = subprocess.Popen(
            [sys.executable, "-c", "from idmflow.console.cli import main; main()",
             "--database-url", console_url, "serve", "--host", host, "--port", "0",
             "--no-worker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("idmflow console: "):
                break
        child.send_signal(signal.SIGINT)
        return child.communicate(timeout=30)[1]

    assert "warning: serving plain HTTP on 0.0.0.0" in stderr_of("0.0.0.0")
    assert "warning" not in stderr_of("127.0.0.1")
