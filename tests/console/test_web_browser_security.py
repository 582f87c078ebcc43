"""The person's side of login protection and sessions, in Chromium: the locked-out
message, 25 wrong passwords throttled, the idle timeout, "Log out everywhere else", and a
copied cookie that logout revokes (marker `browser`, SQLite)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

import idmflow.engine as idm
from idmflow.storage.sessions import LoginFailures

from ..conftest import FixedClock
from .conftest import PASSWORDS
from .test_web_browser import base, browser, console_app, log_in, page  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def engine_(console_url: str, clock: FixedClock) -> Iterator[idm.Engine]:
    """The served engine, on a clock the test moves."""
    engine = idm.open(console_url, clock=clock)
    engine.scripts.install_defaults()
    yield engine
    engine.close()


def test_a_locked_account_is_told_how_long_to_wait(page: Page, base: str,  # noqa: F811
                                                   engine_: idm.Engine,
                                                   clock: FixedClock) -> None:
    failures = LoginFailures(engine_.db)
    for _ in range(10):
        failures.record("operator", "192.0.2.1", clock.time)
    page.goto(base + "/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORDS["operator"])
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert")
    assert alert.inner_text() == "Too many attempts; try again in 15 minutes."
    assert page.get_by_label("Username").input_value() == "operator"
    clock.time += dt.timedelta(minutes=15)
    page.get_by_label("Password").fill(PASSWORDS["operator"])
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Logged in as operator").is_visible()


def test_an_idle_session_ends_and_the_login_leads_back(page: Page, base: str,  # noqa: F811
                                                       clock: FixedClock) -> None:
    log_in(page, base, "operator")
    page.get_by_role("link", name="My sessions").click()
    clock.time += dt.timedelta(minutes=31)
    page.get_by_role("link", name="BATCH ORDERS").click()
    page.get_by_label("Username").wait_for()
    assert "next=/operator/batch-orders" in page.url
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORDS["operator"])
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("heading", name="BATCH ORDERS").is_visible()


def test_log_out_everywhere_else(page: Page, base: str, browser: Browser) -> None:  # noqa: F811
    other = browser.new_context()
    elsewhere = other.new_page()
    try:
        log_in(elsewhere, base, "approver")
        log_in(page, base, "approver")
        page.get_by_role("link", name="My sessions").click()
        assert page.get_by_role("row").count() == 3  # the header and two sessions
        page.get_by_role("button", name="Log out everywhere else").click()
        assert page.get_by_role("status").inner_text() == \
            "Logged out everywhere else (1 other session)."
        assert page.get_by_role("row").count() == 2
        elsewhere.reload()
        assert elsewhere.get_by_label("Username").is_visible()
        page.get_by_role("link", name="Approvals").click()
        assert page.get_by_text("Logged in as approver").is_visible()
    finally:
        other.close()


def test_25_wrong_passwords_in_the_browser_are_throttled(page: Page, base: str,  # noqa: F811
                                                         engine_: idm.Engine) -> None:
    page.goto(base + "/")
    answers = []
    for _ in range(25):
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        answers.append(page.get_by_role("alert").inner_text())
    assert answers[:4] == ["Wrong username or password."] * 4
    assert answers[-1].startswith("Too many attempts; try again in")
    checked = [e for e in engine_.history(subject_kind="account") if e.trigger == "login_failed"]
    assert len(checked) < 10  # the rest were refused without checking a password


def test_logout_revokes_a_copied_session_cookie(page: Page, base: str,  # noqa: F811
                                                browser: Browser) -> None:
    log_in(page, base, "operator")
    copy = browser.new_context()
    try:
        copy.add_cookies(page.context.cookies())
        stolen = copy.new_page()
        stolen.goto(base + "/operator/batch-orders")
        assert stolen.get_by_text("Logged in as operator").is_visible()
        page.get_by_role("button", name="Log out").click()
        page.get_by_text("You are logged out.").wait_for()
        stolen.reload()
        assert stolen.get_by_label("Username").is_visible()
    finally:
        copy.close()
