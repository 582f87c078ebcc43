"""`idmflow serve`: the demo set-up it prints before serving, its refusals, and the mail
it delivers in the background while serving."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

import idmflow.engine as idm
from idmflow.console.cli import main
from idmflow.engine import Notification

from .conftest import ACTIVE, approval_on, batch

_MAIN = "from idmflow.console.cli import main; main()"


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`idmflow ARGS` in a child process; yields it and its stdout up to the URL line."""
    env = dict(os.environ)
    for name in ("PYTHONUNBUFFERED", "IDMFLOW_SECRET_KEY"):
        env.pop(name, None)
    child = subprocess.Popen([sys.executable, "-c", _MAIN, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:  # no flush from us: `serve` must flush each line itself
            lines.append(line.rstrip("\n"))
            if line.startswith("idmflow console: "):
                break
        else:
            errors = child.stderr.read() if child.stderr else ""
            raise AssertionError(f"serve ended early: {lines} {errors}")
        yield child, lines
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def test_serve_demo_on_an_empty_database_prints_accounts_then_url_and_serves(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with serving("--database-url", url, "serve", "--demo", "--users", "40",
                 "--port", "0") as (_, lines):
        accounts = [line for line in lines if " / " in line]
        assert [a.split(" / ")[0] for a in accounts] == ["operator", "approver", "admin"]
        assert all(len(a.split(" / ")[1]) >= 12 for a in accounts)
        assert any("created" in line for line in lines)  # the schema, as `idmflow init`
        address = lines[-1].split()[2]
        assert address.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(address + "login") as response:
            assert response.status == 200 and b"Log in" in response.read()
    assert (tmp_path / "fresh.db.secret-key").exists()
    with serving("--database-url", url, "serve", "--demo", "--users", "40",
                 "--port", "0") as (_, again):
        assert "account operator exists (password unchanged)" in again
        assert not [line for line in again if " / " in line]


def test_users_without_demo_is_a_usage_error(db_url: str) -> None:
    result = CliRunner().invoke(main, ["--database-url", db_url, "serve", "--users", "5"])
    assert result.exit_code == 2 and "--users seeds demo users and needs --demo" in result.output


def test_a_busy_port_is_refused_with_a_hint(db_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["--database-url", db_url, "serve", "--port",
                                           str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output


def test_serve_without_demo_on_an_empty_database_says_to_run_init(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--database-url", f"sqlite:///{tmp_path / 'x.db'}",
                                       "serve", "--port", "0"])
    assert result.exit_code == 1 and "idmflow init" in result.output


class Collected:
    """A notifier that keeps what it is given (or fails, when told to)."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Notification] = []
        self.fail = fail

    def send(self, notification: Notification) -> None:
        if self.fail:
            raise ConnectionRefusedError("no SMTP server here")
        self.sent.append(notification)

    def __str__(self) -> str:
        return "collected"


def test_the_embedded_worker_delivers_the_outbox_in_the_background(web_engine: idm.Engine
                                                                    ) -> None:
    approval_on(web_engine)
    batch(web_engine, ACTIVE[:2])  # mails the approvers: "Approval needed: ..."
    web_engine.notifier = collected = Collected()
    worker = web_engine.worker(poll=0.05)
    worker.start()
    deadline = time.monotonic() + 10
    while not collected.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    assert [n.subject.split(":")[0] for n in collected.sent] == ["Approval needed"]
    assert collected.sent[0].to == ("approver@example.org",)
    assert web_engine.outbox(status="pending")[1] == 0 and worker.counts == {"succeeded": 1}
    assert web_engine.outbox(status="sent")[0][0].delivered_via == "collected"


def test_failed_deliveries_are_reported_and_the_mail_stays(web_engine: idm.Engine) -> None:
    approval_on(web_engine)
    batch(web_engine, ACTIVE[:2])
    web_engine.notifier = Collected(fail=True)
    result = web_engine.deliver_mail()
    assert result.retried == 1 and "no SMTP server here" in result.errors[0]
    [mail], total = web_engine.outbox(status="pending")
    assert total == 1 and mail.attempts == 1 and "no SMTP server here" in (mail.last_error or "")


def test_serve_stops_on_sigterm_and_on_ctrl_c_even_when_started_ignoring_it(
        console_url: str) -> None:
    """A container's stop (SIGTERM) and Ctrl+C end serving alike: the server closes and the
    embedded worker drains. A shell that starts serve in the background may pass SIGINT on
    ignored; serve sets its own handlers."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        child = subprocess.Popen(
            [sys.executable, "-c", _MAIN, "--database-url", console_url, "serve", "--port",
             "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("idmflow console: "):
                break
        child.send_signal(signum)
        out, err = child.communicate(timeout=30)
        assert child.returncode == 0, err
        assert "stopped" in out
