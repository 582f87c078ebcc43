"""The console mounted in a host app with its own login, session keys, CSRF set-up and a
JSON API: the host is not weakened and the console stays protected (Flask test client).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify, session
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]
from sqlalchemy import event, func, select
from werkzeug.exceptions import BadRequest

import idmflow.engine as idm
from idmflow.console.web import install
from idmflow.storage.models import process_instances

from .conftest import Client, text_of, token_of


def host_app(engine: idm.Engine, *, csrf: str | None, identity: bool = False) -> Flask:
    """A host product: its own login (`session["account"]`, `session["host_user"]`),
    a JSON API with its own 400s, optionally Flask-WTF's CSRF (everywhere or selective)."""
    host = Flask("host")
    host.config.update(SECRET_KEY="host-key", TESTING=True)
    if csrf == "selective":
        host.config["WTF_CSRF_CHECK_DEFAULT"] = False
    if csrf:
        CSRFProtect(host)

    @host.get("/host/login-as/<name>")
    def host_login(name: str) -> str:
        session["account"] = name  # the very key the console once used
        session["host_user"] = name
        session["cart"] = ["keep me"]
        return "ok"

    @host.get("/host/whoami")
    def whoami() -> Any:
        return jsonify(dict(session))

    @host.post("/api/things")
    def api() -> Any:
        raise BadRequest("the host's own refusal")

    @host.errorhandler(BadRequest)
    def json_400(exc: BadRequest) -> Any:
        return jsonify({"error": exc.description}), 400

    install(host, engine, url_prefix="/idm",
            identity=(lambda: session.get("host_user")) if identity else None)
    return host


@pytest.fixture(params=[None, "everywhere", "selective"])
def host(request: pytest.FixtureRequest, web_engine: idm.Engine) -> Flask:
    return host_app(web_engine, csrf=request.param)


def test_the_hosts_own_session_keys_never_log_in_to_the_console(host: Flask) -> None:
    client = Client(host.test_client())
    client.get("/host/login-as/admin")
    response = client.get("/idm/admin/outbox")
    assert response.status_code == 302 and "/idm/login" in response.location
    assert client.get("/idm/operator/batch-orders").status_code == 302


def test_console_login_and_logout_leave_the_hosts_session_alone(host: Flask) -> None:
    client = Client(host.test_client())
    client.get("/host/login-as/alice")
    page = client.get("/idm/login")
    login = client.http.post("/idm/login", data={"username": "operator",
                                                 "password": "operator-pw-1",
                                                 "csrf_token": token_of(page)})
    cookies = login.headers.getlist("Set-Cookie")
    assert any(c.startswith("idmflow_session=") and "Path=/idm" in c for c in cookies)
    assert not any(c.startswith("session=") for c in cookies)  # the host's cookie: untouched
    batch = client.get("/idm/operator/batch-orders")
    assert batch.status_code == 200
    client.http.post("/idm/logout", data={"csrf_token": token_of(batch)})
    assert client.get("/idm/operator/batch-orders").status_code == 302
    assert client.get("/host/whoami").get_json() == {
        "account": "alice", "host_user": "alice", "cart": ["keep me"]}


def test_console_forms_need_the_consoles_token_whatever_the_hosts_csrf(host: Flask,
                                                                      web_engine: idm.Engine
                                                                      ) -> None:
    client = Client(host.test_client())
    page = client.get("/idm/login")
    assert client.http.post("/idm/login", data={"username": "operator",
                                                "password": "operator-pw-1"}
                            ).status_code == 400
    client.http.post("/idm/login", data={"username": "operator", "password": "operator-pw-1",
                                         "csrf_token": token_of(page)})
    start = "/idm/operator/batch-orders/CardsBoProcRequestMulitple/start"
    for data in ({}, {"csrf_token": "forged"}):
        refused = client.http.post(start, data=data)
        assert refused.status_code == 400 and "security token" in text_of(refused)
    assert started(web_engine) == 0
    token = token_of(client.get("/idm/operator/batch-orders"))
    assert client.http.post(start, data={"csrf_token": token}).status_code == 302
    assert started(web_engine) == 1


def started(engine: idm.Engine) -> int:
    with engine.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(process_instances))
                   .scalar_one())


def test_host_routes_keep_their_errors_headers_and_cost_no_database_read(
        host: Flask, web_engine: idm.Engine) -> None:
    client = Client(host.test_client())
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(web_engine.db, "before_cursor_execute", count)
    try:
        client.get("/host/login-as/alice")
        refused = client.http.post("/api/things", json={"a": 1})
        whoami = client.get("/host/whoami")
    finally:
        event.remove(web_engine.db, "before_cursor_execute", count)
    assert statements == []
    if host.config.get("WTF_CSRF_CHECK_DEFAULT", True) and "csrf" in host.extensions:
        assert refused.status_code == 400  # the host's CSRF refused it, in the host's way
    else:
        assert refused.get_json() == {"error": "the host's own refusal"}
    assert "idmflow console" not in text_of(refused)
    for response in (refused, whoami):
        assert "Content-Security-Policy" not in response.headers
        assert "Cache-Control" not in response.headers
        assert "idmflow_session" not in response.headers.get("Set-Cookie", "")


def test_a_host_hands_over_its_logged_in_account(web_engine: idm.Engine) -> None:
    host = host_app(web_engine, csrf="everywhere", identity=True)
    client = Client(host.test_client())
    assert client.get("/idm/operator/batch-orders").status_code == 302
    client.get("/host/login-as/operator")
    page = client.get("/idm/operator/batch-orders")
    assert page.status_code == 200 and '<strong class="username">operator</strong>' in \
        text_of(page)
    assert client.get("/idm/admin/outbox").status_code == 403  # roles are the account's
    client.get("/host/login-as/nobody-we-know")
    assert client.get("/idm/operator/batch-orders").status_code == 302
