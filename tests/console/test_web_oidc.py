"""Single sign-on: the console logs people in with an OpenID provider that the tests start
over real HTTP on 127.0.0.1 (oidc-provider-mock, built on Authlib's server side); the
roles come from a claim; a local account is never taken over (test client and Chromium)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock as mock
import pytest
from flask import Flask

import idmflow.engine as idm
from idmflow.console.web import create_app

from .conftest import Client, text_of
from .test_web_browser import ARGS, CHROMIUM, _missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def provider() -> Iterator[str]:
    """The OpenID provider on a free port of 127.0.0.1; its issuer URL."""
    with mock.run_server_in_thread(require_nonce=True) as server:
        yield f"http://127.0.0.1:{server.server_port}"


def person(provider: str, sub: str, **claims: object) -> None:
    """Tell the provider who `sub` is (the claims its ID token will carry)."""
    response = httpx.put(f"{provider}/users/{sub}", json=claims)
    assert response.status_code == 204


@pytest.fixture
def sso_app(web_engine: idm.Engine, provider: str, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("IDMFLOW_OIDC_ISSUER", provider)
    monkeypatch.setenv("IDMFLOW_OIDC_CLIENT_ID", "idmflow-console")
    monkeypatch.setenv("IDMFLOW_OIDC_CLIENT_SECRET", "a-client-secret")
    return create_app(web_engine, testing=True)


def sign_on(client: Client, sub: str) -> str:
    """Click "Log in with single sign-on", authorize `sub` at the provider, come back."""
    page = client.get("/login")
    assert "Log in with single sign-on" in text_of(page)
    to_provider = client.get("/login/sso?next=/approvals/")
    assert to_provider.status_code == 302
    authorized = httpx.post(to_provider.location, data={"sub": sub})
    assert authorized.status_code == 302, authorized.text
    back = urlsplit(authorized.headers["location"])
    assert "code" in parse_qs(back.query)
    response = client.get(f"{back.path}?{back.query}")
    return response.location if response.status_code == 302 else text_of(response)


def test_a_single_sign_on_login_takes_roles_from_the_claim(sso_app: Flask, provider: str,
                                                           web_engine: idm.Engine) -> None:
    person(provider, "u-1", preferred_username="carla", email="carla@example.org",
           roles=["approver", "root"])
    client = Client(sso_app.test_client())
    assert sign_on(client, "u-1") == "/approvals/"
    page = client.get("/approvals/")
    assert page.status_code == 200 and '<strong class="username">carla</strong>' in text_of(page)
    assert web_engine.account("carla").roles == frozenset({"approver"})  # "root" is unknown
    login = [e for e in web_engine.history(subject_kind="account") if e.trigger == "login"]
    assert login[-1].data and login[-1].data["via"] == "oidc"
    # the provider takes the role away: the next login has it no more
    person(provider, "u-1", preferred_username="carla", email="carla@example.org", roles=[])
    again = Client(sso_app.test_client())
    sign_on(again, "u-1")
    assert again.get("/approvals/").status_code == 403
    assert client.get("/approvals/").status_code == 302  # the role change ended the old one


def test_a_token_never_takes_over_a_local_account(sso_app: Flask, provider: str) -> None:
    person(provider, "u-2", preferred_username="admin", roles=["admin"])
    client = Client(sso_app.test_client())
    answer = sign_on(client, "u-2")
    assert "local or disabled account" in answer
    assert client.get("/admin/scripts").status_code == 302


def test_a_forged_or_replayed_answer_is_refused(sso_app: Flask, provider: str) -> None:
    person(provider, "u-3", preferred_username="dora", roles=["operator"])
    client = Client(sso_app.test_client())
    to_provider = client.get("/login/sso")
    authorized = httpx.post(to_provider.location, data={"sub": "u-3"})
    back = urlsplit(authorized.headers["location"])
    stranger = Client(sso_app.test_client())  # no waiting cookie: another browser
    assert stranger.get(f"{back.path}?{back.query}").status_code == 400
    wrong_state = back.query.replace("state=", "state=x")
    assert client.get(f"{back.path}?{wrong_state}").status_code == 400
    assert client.get("/operator/batch-orders").status_code == 302


def test_a_bad_sso_setting_is_one_clear_error(web_engine: idm.Engine,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMFLOW_OIDC_ISSUER", "http://idp.example")
    with pytest.raises(idm.IdmflowError, match="use the provider's https:// issuer URL"):
        create_app(web_engine, testing=True)


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_single_sign_on_in_the_browser(sso_app: Flask, provider: str) -> None:
    problem = _missing()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; CI must run the browser tests")
        pytest.skip(problem)
    import threading

    import waitress  # type: ignore[import-untyped]
    from playwright.sync_api import sync_playwright

    person(provider, "u-9", preferred_username="erik", email="erik@example.org",
           roles=["operator"])
    server = waitress.create_server(sso_app, host="127.0.0.1", port=0, threads=4,
                                    asyncore_loop_timeout=0.1)
    thread = threading.Thread(target=lambda: _run(server), daemon=True)
    thread.start()
    console = f"http://127.0.0.1:{server.effective_port}"
    try:
        with sync_playwright() as playwright:
            browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            # the provider's form asks a CDN for its stylesheet; there is no network here
            page.route("https://cdn.jsdelivr.net/**",
                       lambda route: route.fulfill(body="", content_type="text/css"))
            page.goto(console + "/")
            page.get_by_role("link", name="Log in with single sign-on").click()
            page.get_by_placeholder("sub").fill("u-9")
            page.get_by_role("button", name="Authorize").click()
            page.get_by_text("Logged in as erik").wait_for()
            assert page.get_by_role("link", name="BATCH ORDERS").is_visible()
            browser.close()
    finally:
        server.close()
        thread.join(2)


def _run(server: object) -> None:
    try:
        server.run()  # type: ignore[attr-defined]
    except OSError:  # closing the socket under its loop is how it stops
        pass


def test_confirming_with_single_sign_on_asks_the_provider_again(sso_app: Flask) -> None:
    client = Client(sso_app.test_client())
    plain = parse_qs(urlsplit(client.get("/login/sso").location).query)
    again = parse_qs(urlsplit(client.get("/login/sso?reauth=1&next=/admin/scripts").location)
                     .query)
    assert "prompt" not in plain
    assert again["prompt"] == ["login"] and again["max_age"] == ["0"]
    assert again["code_challenge_method"] == ["S256"] and len(again["nonce"][0]) >= 32
