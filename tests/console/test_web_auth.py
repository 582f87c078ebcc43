"""Login, logout, roles, CSRF and error pages of the web console (Flask test client)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

import idmflow.engine as idm
from idmflow.console.web import create_app, install

from .conftest import Client, text_of, token_of


def test_start_page_logged_out_leads_to_the_login_form(client: Client) -> None:
    response = client.get("/", follow_redirects=True)
    page = text_of(response)
    assert response.status_code == 200 and response.request.path == "/login"
    assert '<label for="username">Username</label>' in page
    assert '<label for="password">Password</label>' in page
    assert ">Log in</button>" in page and 'name="csrf_token"' in page


LANDINGS = {"operator": "/operator/batch-orders", "admin": "/admin/scripts",
            "approver": "/approvals/"}


def test_login_lands_on_the_roles_first_page_showing_user_role_and_log_out(app: Flask) -> None:
    for username, landing in LANDINGS.items():
        client = Client(app.test_client())
        assert client.login(username).status_code == 302
        page = client.get("/", follow_redirects=True)
        assert page.request.path == landing
        body = text_of(page)
        assert f'<strong class="username">{username}</strong>' in body
        assert f'<span class="roles">{username}</span>' in body  # demo roles match the names
        assert ">Log out</button>" in body


def test_wrong_password_and_unknown_account_get_the_same_refusal(client: Client) -> None:
    wrong = client.login("operator", "not-the-password")
    unknown = client.login("mallory", "whatever")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong username or password." in text_of(response)
    assert client.get("/operator/batch-orders").status_code == 302  # still logged out


def test_session_cookie_is_httponly_and_samesite_lax(client: Client) -> None:
    client.login("operator")
    cookie = client.http.get_cookie("idmflow_session")
    assert cookie is not None
    assert cookie.http_only and cookie.same_site == "Lax"


def test_log_out_is_a_protected_post_and_ends_the_session(as_operator: Client) -> None:
    assert as_operator.get("/logout").status_code == 405
    assert as_operator.http.post("/logout").status_code == 400  # no CSRF token
    assert as_operator.get("/operator/batch-orders").status_code == 200
    response = as_operator.post("/logout", follow_redirects=True)
    assert "You are logged out." in text_of(response)
    assert as_operator.get("/operator/batch-orders").status_code == 302


def test_a_page_asked_for_while_logged_out_opens_after_login(client: Client) -> None:
    response = client.get("/admin/scripts")
    assert response.status_code == 302 and "next=/admin/scripts" in response.location
    client.get("/login?next=/admin/scripts")
    response = client.post("/login", data={"username": "admin", "password": "admin-pw-1",
                                           "next": "/admin/scripts"})
    assert response.location == "/admin/scripts"


def test_login_never_redirects_off_site(client: Client) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil"):
        client.token = token_of(client.get("/login"))  # each login starts a new session
        response = client.post("/login", data={"username": "admin", "password": "admin-pw-1",
                                               "next": target})
        assert response.status_code == 302 and response.location == "/", target


FORBIDDEN = (
    ("operator", "/admin/scripts"), ("operator", "/admin/processes"),
    ("operator", "/admin/scripts/CardsScriptOptions"), ("operator", "/approvals/"),
    ("admin", "/operator/batch-orders"), ("approver", "/operator/batch-orders"),
    ("approver", "/admin/scripts"),
)


def test_each_page_is_for_its_role_only(app: Flask) -> None:
    for username, url in FORBIDDEN:
        client = Client(app.test_client())
        client.login(username)
        response = client.get(url)
        assert response.status_code == 403, (username, url)
        page = text_of(response)
        assert "Forbidden" in page and "This page is for the role" in page
        assert "Traceback" not in page and ">Log out</button>" in page


def test_a_post_for_another_role_is_refused_too(client: Client, web_engine: idm.Engine) -> None:
    client.login("admin")
    response = client.post("/operator/batch-orders/CardsBoProcRequestMulitple/start")
    assert response.status_code == 403
    client.post("/logout")
    client.login("operator")
    response = client.post("/admin/scripts/CardsScriptOptions",
                           data={"action": "save", "source": "CardsBatchRequestApproval = True"})
    assert response.status_code == 403
    assert web_engine.scripts.history("CardsScriptOptions") == []


def test_forms_without_a_valid_csrf_token_are_refused(as_operator: Client,
                                                      web_engine: idm.Engine) -> None:
    url = "/operator/batch-orders/CardsBoProcRequestMulitple/start"
    for data in ({}, {"csrf_token": "forged"}):
        response = as_operator.http.post(url, data=data)
        assert response.status_code == 400
        page = text_of(response)
        assert "security token is missing or has expired" in page and "Traceback" not in page
    assert as_operator.post(url).status_code == 302  # with the token it works


def test_login_form_needs_its_csrf_token(client: Client) -> None:
    response = client.http.post("/login", data={"username": "operator",
                                                "password": "operator-pw-1"})
    assert response.status_code == 400


def test_pages_send_security_headers_and_load_nothing_from_elsewhere(as_operator: Client) -> None:
    response = as_operator.get("/operator/batch-orders")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    page = text_of(response)
    assert "http://" not in page and "https://" not in page


def test_unknown_page_and_server_error_show_plain_pages(web_engine: idm.Engine) -> None:
    app = create_app(web_engine, secret_key="k" * 32)  # not testing: errors do not propagate

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    http = app.test_client()
    missing = http.get("/no/such/page")
    assert missing.status_code == 404 and "Not Found" in text_of(missing)
    broken = http.get("/boom")
    page = text_of(broken)
    assert broken.status_code == 500
    assert "Something went wrong on the server" in page
    assert "secret internals" not in page and "Traceback" not in page


def test_create_app_keeps_its_secret_key_in_a_file(console_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDMFLOW_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # where a PostgreSQL console keeps it
    engine = idm.open(console_url)
    try:
        first: Flask = create_app(engine)
        again: Flask = create_app(engine)
    finally:
        engine.close()
    assert first.secret_key == again.secret_key and len(str(first.secret_key)) > 40
    if console_url.startswith("sqlite"):
        path = Path(console_url.removeprefix("sqlite:///") + ".secret-key")
    else:
        path = tmp_path / "idmflow.secret-key"
    assert path.read_text(encoding="ascii").strip() == first.secret_key
    assert path.stat().st_mode & 0o777 == 0o600


def test_secret_key_from_the_environment_wins(console_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMFLOW_SECRET_KEY", "from-the-environment")
    engine = idm.open(console_url)
    try:
        assert create_app(engine).secret_key == "from-the-environment"
    finally:
        engine.close()


def test_a_host_mounts_the_console_under_its_own_prefix(web_engine: idm.Engine) -> None:
    host = Flask("host")
    host.config.update(SECRET_KEY="host-key", TESTING=True)

    @host.get("/")
    def home() -> str:
        return "the host's own page"

    install(host, web_engine, url_prefix="/idm")
    client = Client(host.test_client())
    assert client.get("/").get_data(as_text=True) == "the host's own page"
    assert "Content-Security-Policy" not in client.get("/").headers
    page = client.get("/idm/login")
    assert page.status_code == 200 and "/idm/console-static/console.css" in text_of(page)
    assert client.get("/idm/console-static/console.css").status_code == 200
    client.http.post("/idm/login", data={"username": "operator", "password": "operator-pw-1",
                                         "csrf_token": token_of(page)})
    assert client.get("/idm/operator/batch-orders").status_code == 200
