"""`idmflow tasks ...`, `idmflow cards abort`, `idmflow mail ...` and `idmflow audit`."""

from __future__ import annotations

import json
from pathlib import Path

from idmflow.processes.cards.options import DEFAULT_SCRIPT
from idmflow.storage.demo import demo_user

from .conftest import add_user

ACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] == "active"]


def _approval_batch(cli, tmp_path: Path, users: list[str]) -> dict:  # type: ignore[no-untyped-def]
    cli("init")
    script = tmp_path / "on.py"
    script.write_text(DEFAULT_SCRIPT.read_text().replace("CardsBatchRequestApproval = False",
                                                         "CardsBatchRequestApproval = True"))
    assert cli("scripts", "save", "CardsScriptOptions", "--file", str(script), "--as",
               "admin").exit_code == 0
    summary = json.loads(cli("cards", "request-batch", "--as", "operator", "--users",
                             ",".join(users), "--json").stdout)
    assert summary["approval_needed"] is True
    return summary


def test_approver_decides_from_the_command_line(cli, tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    summary = _approval_batch(cli, tmp_path, ACTIVE[:10])
    listed = json.loads(cli("tasks", "list", "--as", "approver", "--json").stdout)
    assert listed["total"] == 1
    task = listed["tasks"][0]
    shown = json.loads(cli("tasks", "show", str(task["id"]), "--json").stdout)
    assert len(shown["cards"]) == 10 and shown["requested_by"] == "operator"
    assert all(c["org_unit"] and c["type"] == "employee" for c in shown["cards"])
    ids = [c["id"] for c in shown["cards"]]
    result = cli("tasks", "decide", str(task["id"]), "--as", "approver", "--reject")
    assert result.exit_code == 1 and "needs a reason" in result.stderr
    result = cli("tasks", "decide", str(task["id"]), "--as", "approver", "--reject", "--reason",
                 "left the company", "--cards", f"{ids[0]},{ids[1]}")
    assert result.exit_code == 0, result.output
    result = cli("cards", "abort", str(ids[2]), "--as", "operator")
    assert result.exit_code == 0 and "aborted 1 card(s)" in result.stdout
    result = cli("cards", "abort", str(ids[0]), "--as", "operator")
    assert result.exit_code == 1 and f"card {ids[0]} is already rejected" in result.stderr
    result = cli("tasks", "decide", str(task["id"]), "--as", "approver", "--approve")
    assert result.exit_code == 0 and "task is done" in result.stdout
    result = cli("tasks", "decide", str(task["id"]), "--as", "approver", "--approve")
    assert result.exit_code == 1 and "already decided by approver" in result.stderr
    assert "3 sent" in cli("mail", "send").stdout
    assert len(smtp_server.messages) == 3
    mails = json.loads(cli("mail", "list", "--json").stdout)
    assert mails["total"] == 3 and {m["status"] for m in mails["mails"]} == {"sent"}
    trail = json.loads(cli("audit", "--instance", str(summary["instance"]), "--json").stdout)
    triggers = [(e["subject_kind"], e["trigger"]) for e in trail["events"]]
    assert ("task", "reject") in triggers and ("card", "abort") in triggers
    assert triggers[-1] == ("instance", "complete")
    mine = json.loads(cli("audit", "--user", "approver", "--json").stdout)
    assert {e["actor"] for e in mine["events"]} == {"approver"}


def test_mail_send_with_the_server_down_exits_1_and_keeps_the_mail(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    monkeypatch) -> None:
    _approval_batch(cli, tmp_path, ACTIVE[:2])
    monkeypatch.setenv("IDMFLOW_SMTP_URL", "smtp://127.0.0.1:9")
    result = cli("mail", "send")
    assert result.exit_code == 1
    assert "stay in the outbox" in result.stderr and "smtp://127.0.0.1:9" in result.stderr
    pending = json.loads(cli("mail", "list", "--status", "pending", "--json").stdout)
    assert pending["total"] == 1


def test_decide_needs_one_decision_and_known_ids(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _approval_batch(cli, tmp_path, ACTIVE[:2])
    assert cli("tasks", "decide", "1", "--as", "approver").exit_code == 2
    result = cli("tasks", "decide", "1", "--as", "approver", "--approve", "--cards", "x,y")
    assert result.exit_code == 1 and "--cards takes card ids" in result.stderr
    result = cli("tasks", "show", "999")
    assert result.exit_code == 1 and "no task 999" in result.stderr
    result = cli("audit")
    assert result.exit_code == 1 and "exactly one of" in result.stderr


def test_an_approver_cannot_approve_a_batch_holding_their_own_card(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                   demo_url: str) -> None:
    add_user(demo_url, "approver", "Anna Approver")
    summary = _approval_batch(cli, tmp_path, [ACTIVE[0], "approver"])
    (task,) = json.loads(cli("tasks", "list", "--as", "approver", "--json").stdout)["tasks"]
    cards = {c["user"]: c["id"] for c in json.loads(
        cli("tasks", "show", str(task["id"]), "--json").stdout)["cards"]}
    for extra in ((), ("--cards", str(cards[ACTIVE[0]]))):
        result = cli("tasks", "decide", str(task["id"]), "--as", "approver", "--approve", *extra)
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.strip() == (
            f"error: 'approver' may not decide task {task['id']}: it holds card {cards['approver']} of "
            "the directory user 'approver', the same person; another approver must decide it, "
            "or an admin sets CardsAllowHolderApproval = True")
    shown = json.loads(cli("tasks", "show", str(task["id"]), "--as", "approver", "--json").stdout)
    assert shown["status"] == "open" and {c["state"] for c in shown["cards"]} == {"requested"}
    assert shown["may_decide"] is False and shown["refusal"].startswith(
        f"'approver' may not decide task {task['id']}: it holds card {cards['approver']}")
    assert "operator may not decide it: 'operator' may not decide task" in cli(
        "tasks", "show", str(task["id"]), "--as", "operator").stdout  # not an approver
    assert "may_decide" not in json.loads(cli("tasks", "show", str(task["id"]), "--json").stdout)
    trail = json.loads(cli("audit", "--instance", str(summary["instance"]), "--json").stdout)
    assert not [e for e in trail["events"] if e["actor"] == "approver"]
