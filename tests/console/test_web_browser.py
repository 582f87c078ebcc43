"""The operator's and the admin's journeys in Chromium, against the console served by waitress.

Marker `browser`. Without Chromium at /usr/bin/chromium or without playwright these tests
skip saying which is missing, except when `CI` is set: there that is a failure. Screenshots of
the main pages go to `test-output/screenshots/` under the pytest root folder.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask

import idmflow.engine as idm
from idmflow.console.web import create_app

from .conftest import ACTIVE, PASSWORDS, XSS_NAME, working

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

# SQLite only: the same flows run on PostgreSQL in the test-client tests, and driving the
# browser twice would double the longest part of the suite.
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
NAME = "CardsBoProcRequestMulitple"


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    problem = _missing()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; CI must run the browser tests")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def engine_(console_url: str) -> Iterator[idm.Engine]:
    engine = idm.open(console_url)
    engine.scripts.install_defaults()  # as `idmflow serve --demo` does
    with working(engine):  # and its embedded worker
        yield engine
    engine.close()


@pytest.fixture
def console_app(engine_: idm.Engine) -> Flask:
    return create_app(engine_, secret_key="browser-tests-key")


@pytest.fixture
def base(console_app: Flask) -> Iterator[str]:
    """The console served by waitress on a free port of 127.0.0.1, in a thread."""
    import waitress  # type: ignore[import-untyped]

    server = waitress.create_server(console_app, host="127.0.0.1", port=0, threads=4,
                                    asyncore_loop_timeout=0.1)  # so it stops quickly
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:  # closing the socket under its select() loop is how it stops
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    stopping.set()
    server.close()
    thread.join(2)


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    folder = request.config.rootpath / "test-output" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser: Browser, base: str) -> Iterator[Page]:
    """A fresh browser tab; a script error, a blocked or missing resource fails the test.

    It closes before the server stops (hence `base`), so no connection keeps that waiting.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    # Pages themselves may answer 400 or 403 on purpose (a refused form, a wrong role);
    # what a page loads (scripts, styles) must not fail, and no script may throw.
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error"
           and not m.text.startswith("Failed to load resource") else None)
    tab.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400
           and r.request.resource_type != "document" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))

    def refuse(dialog: Dialog) -> None:  # an alert() would be a script that got through
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    tab.on("dialog", refuse)
    yield tab
    context.close()
    assert problems == []


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"Logged in as {username}").is_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").wait_for()


def start_order(page: Page) -> None:
    page.get_by_role("link", name="BATCH ORDERS").click()
    page.get_by_role("button", name="Request multiple cards").click()
    page.get_by_role("button", name="Search").wait_for()


def order(page: Page, users: list[str], shots: Path | None = None) -> None:
    """BATCH ORDERS, Request multiple cards, Search, tick `users`, Request multiple cards."""
    start_order(page)
    page.get_by_role("button", name="Search").click()
    if shots:
        page.screenshot(path=shots / "03-search.png", full_page=True)
    for name in users[:-1]:
        page.get_by_label(f"Select {name}", exact=True).check()
    last = page.get_by_label(f"Select {users[-1]}", exact=True)
    last.focus()
    page.keyboard.press("Space")  # check boxes work from the keyboard
    assert last.is_checked()
    page.get_by_role("button", name="Request multiple cards").click()
    page.get_by_text(f"{len(users)} card(s) of type").wait_for()


def states_shown(page: Page) -> list[str]:
    return page.locator("table.cards tbody td:nth-child(4)").all_inner_texts()


def test_operator_orders_cards_for_ten_users(page: Page, base: str, engine_: idm.Engine,
                                             screenshots: Path) -> None:
    page.goto(base + "/")
    page.screenshot(path=screenshots / "01-login.png")
    log_in(page, base, "operator")
    page.screenshot(path=screenshots / "02-batch-orders.png")
    ten = ACTIVE[:10]
    order(page, ten, screenshots)
    page.screenshot(path=screenshots / "04-confirm.png", full_page=True)
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Cards requested").wait_for()
    page.screenshot(path=screenshots / "05-result.png", full_page=True)
    assert states_shown(page) == ["approved"] * 10
    assert page.locator("table.cards tbody td:nth-child(2)").all_inner_texts() == ten
    page.get_by_role("link", name=re.compile(r"^History of card")).first.click()
    page.get_by_role("heading", name=re.compile(r"^History of card")).wait_for()
    assert page.get_by_role("cell", name="approved", exact=True).is_visible()


def test_ticks_survive_paging(page: Page, base: str, engine_: idm.Engine) -> None:
    log_in(page, base, "operator")
    start_order(page)
    page.get_by_role("button", name="Search").click()
    page.get_by_label(f"Select {ACTIVE[0]}", exact=True).check()
    page.get_by_role("button", name="Next page").click()
    page.get_by_text("1 ticked.").wait_for()
    page.get_by_label("Select all", exact=True).check()
    on_page = page.locator("input[data-user]").count()
    page.get_by_role("button", name="First page").click()
    assert page.get_by_label(f"Select {ACTIVE[0]}", exact=True).is_checked()
    page.get_by_role("button", name="Request multiple cards").click()
    page.get_by_text(f"{1 + on_page} card(s) of type").wait_for()


def test_admin_turns_approval_on_and_the_next_order_waits(page: Page, base: str,
                                                          engine_: idm.Engine,
                                                          screenshots: Path) -> None:
    log_in(page, base, "admin")
    page.get_by_role("link", name="Option scripts").click()
    page.get_by_role("link", name="CardsScriptOptions", exact=True).click()
    source = page.get_by_label("Source of CardsScriptOptions")
    source.fill(source.input_value().replace("CardsBatchRequestApproval = False",
                                             "CardsBatchRequestApproval = True"))
    page.get_by_role("button", name="Preview").click()
    page.locator("body[data-diagrams='drawn']").wait_for()
    batch = page.locator("section[data-process='CardsBoProcRequestMulitple']")
    now, edited = batch.locator("pre.mermaid > svg").all()
    assert "approval" not in (now.text_content() or "")
    assert "approval" in (edited.text_content() or "")
    page.screenshot(path=screenshots / "07-script-preview.png", full_page=True)
    page.get_by_label("Comment").fill("batch orders need approval")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved CardsScriptOptions version 2; it is active now.").wait_for()
    log_out(page)

    log_in(page, base, "operator")
    order(page, ACTIVE[20:23])
    page.get_by_role("button", name="Next").click()
    page.get_by_role("heading", name="Approval needed").wait_for()
    page.screenshot(path=screenshots / "06-approval-needed.png", full_page=True)
    assert states_shown(page) == ["requested"] * 3


def test_a_script_error_is_shown_at_its_line(page: Page, base: str, engine_: idm.Engine,
                                             screenshots: Path) -> None:
    log_in(page, base, "admin")
    page.goto(base + "/admin/scripts/CardsScriptOptions")
    source = page.get_by_label("Source of CardsScriptOptions")
    text = source.input_value()
    line = text.splitlines().index("CardsBatchRequestApproval = False") + 1
    source.fill(text.replace("CardsBatchRequestApproval = False", "CardsBatchRequestAproval = 1"))
    page.get_by_role("button", name="Validate").click()
    page.get_by_role("alert").get_by_text(f"line {line}:").first.wait_for()
    assert page.locator("#gutter span.error").all_inner_texts() == [str(line)]
    page.screenshot(path=screenshots / "08-script-error.png", full_page=True)
    assert engine_.scripts.show("CardsScriptOptions").version == 1


def test_processes_page_draws_the_diagram_locally(page: Page, base: str, engine_: idm.Engine,
                                                  screenshots: Path) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    log_in(page, base, "admin")
    page.get_by_role("link", name="Processes").click()
    page.locator("body[data-diagrams='drawn']").wait_for()
    svg = page.locator("pre.mermaid > svg")
    assert svg.count() == len(engine_.processes())
    ours = page.locator("section[data-process='CardsBoProcRequestMulitple'] pre.mermaid > svg")
    assert "select_users" in (ours.text_content() or "")
    page.screenshot(path=screenshots / "09-processes.png", full_page=True)
    assert all(url.startswith(base) or url.startswith("data:") for url in requests)


@pytest.mark.parametrize("step", ["select_users", "confirm"])
def test_cancel_creates_nothing(page: Page, base: str, engine_: idm.Engine, step: str) -> None:
    log_in(page, base, "operator")
    if step == "select_users":
        start_order(page)
    else:
        order(page, ACTIVE[:3])
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("heading", name="Cancelled").wait_for()
    assert engine_.entities("card")[1] == 0


def test_double_click_on_next_creates_one_batch(page: Page, base: str,
                                                engine_: idm.Engine) -> None:
    log_in(page, base, "operator")
    order(page, ACTIVE[:5])
    other_tab = page.context.new_page()  # the same confirm page, open in a second tab
    other_tab.goto(page.url)
    page.get_by_role("button", name="Next").dblclick()
    page.get_by_role("heading", name="Cards requested").wait_for()
    # The second tab's Next is stale: it shows the batch the first one made, no error.
    other_tab.get_by_role("button", name="Next").click()
    other_tab.get_by_role("heading", name="Cards requested").wait_for()
    assert other_tab.get_by_role("alert").count() == 0
    cards, total = engine_.entities("card")
    assert total == 5 and len({c.instance_id for c in cards}) == 1


def test_a_long_batch_shows_its_progress_then_the_result(
        page: Page, base: str, console_app: Flask, engine_: idm.Engine, screenshots: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    console_app.config["IDMFLOW_QUICK_SECONDS"] = 0
    release = threading.Event()
    real_fire = engine_.fire

    def slow_fire(instance_id: int, trigger: str, **kwargs: Any) -> idm.InstanceView:
        kwargs["progress"](2, 5)
        release.wait(20)
        return real_fire(instance_id, trigger, **kwargs)

    log_in(page, base, "operator")
    order(page, ACTIVE[30:35])
    monkeypatch.setattr(engine_, "fire", slow_fire)
    page.get_by_role("button", name="Next").click()
    page.get_by_text("2 of 5 done").wait_for()
    assert page.locator("progress").get_attribute("max") == "5"
    page.screenshot(path=screenshots / "12-progress.png")
    release.set()
    page.get_by_role("heading", name="Cards requested").wait_for()  # the page moved on itself
    assert states_shown(page) == ["approved"] * 5


def test_a_wrong_role_gets_403(page: Page, base: str, engine_: idm.Engine,
                               screenshots: Path) -> None:
    log_in(page, base, "approver")
    response = page.goto(base + "/operator/batch-orders")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name=re.compile("Forbidden")).is_visible()
    assert page.get_by_role("button", name="Log out").is_visible()
    page.screenshot(path=screenshots / "10-forbidden.png")


def test_a_display_name_with_a_script_tag_shows_as_text(page: Page, base: str,
                                                        engine_: idm.Engine,
                                                        screenshots: Path) -> None:
    log_in(page, base, "operator")
    start_order(page)
    page.get_by_label("Name", exact=True).fill("xss")
    page.get_by_role("button", name="Search").click()
    cell = page.get_by_role("cell", name=XSS_NAME, exact=True)
    assert cell.inner_text() == XSS_NAME
    page.screenshot(path=screenshots / "11-xss-as-text.png")


def test_approver_rejects_one_card_with_a_reason_and_approves_the_rest(
        page: Page, base: str, engine_: idm.Engine, screenshots: Path) -> None:
    source = engine_.scripts.show("CardsScriptOptions").source or ""
    engine_.scripts.save("CardsScriptOptions", source.replace(
        "CardsBatchRequestApproval = False", "CardsBatchRequestApproval = True"), author="admin")
    view = engine_.run(NAME, actor="operator", steps=[("select", {"users": ACTIVE[40:43]}),
                                                      ("next", {})])
    cards, _ = engine_.entities("card", instance_id=view.id)
    log_in(page, base, "approver")
    page.screenshot(path=screenshots / "13-open-requests.png")
    page.get_by_role("link", name=re.compile(f"^Batch {view.id}: 3 ")).click()
    page.get_by_role("heading", name="Card approval").wait_for()
    page.screenshot(path=screenshots / "14-approval-form.png", full_page=True)
    page.get_by_label(f"Select card {cards[0].id} ({cards[0].subject})").check()
    page.get_by_role("button", name="Reject").click()
    page.get_by_role("alert").get_by_text("a rejection needs a reason").wait_for()
    assert page.get_by_label(f"Select card {cards[0].id} ({cards[0].subject})").is_checked()
    page.get_by_label("Reason").fill("left the company")
    page.get_by_role("button", name="Reject").click()
    page.get_by_text("Rejected: 1 card(s)").wait_for()
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("the request is closed").wait_for()
    assert engine_.entity_states("card", instance_id=view.id) == {"rejected": 1, "approved": 2}
