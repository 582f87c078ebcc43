"""The `idmflow` command line, as people and scripts use it, on both databases."""

from __future__ import annotations

import json

import pytest

from click.testing import CliRunner

from idmflow.console.cli import main
from idmflow.storage.demo import demo_user

ACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] == "active"]
INACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] != "active"]


def test_demo_is_safe_to_run_twice_and_says_accounts_exist(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--users", "300")
    assert result.exit_code == 0, result.output
    assert "0 user(s) added, 300 already there" in result.output
    assert "account operator exists" in result.output


def test_users_search_json_lists_users_and_total(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("users", "search", "--state", "active", "--limit", "5", "--json")
    doc = json.loads(result.stdout)
    assert len(doc["users"]) == 5 and doc["total"] == len(ACTIVE)
    names = [u["username"] for u in doc["users"]]
    assert names == sorted(names) and {u["state"] for u in doc["users"]} == {"active"}
    nxt = json.loads(cli("users", "search", "--state", "active", "--limit", "5", "--after",
                         names[-1], "--json").stdout)
    assert nxt["users"][0]["username"] > names[-1]


def test_users_search_is_a_case_insensitive_prefix(cli) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(cli("users", "search", "-q", "ANNA F", "--limit", "0", "--json").stdout)
    assert doc["users"] == [] and doc["total"] > 0
    doc = json.loads(cli("users", "search", "-q", "ANNA F", "--limit", "1000", "--json").stdout)
    assert all(u["display_name"].lower().startswith("anna f") for u in doc["users"])


def test_request_batch_end_to_end_and_cards_list(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("cards", "request-batch", "--as", "operator", "--users",
                 ",".join(ACTIVE[:30]), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cards"] == 30 and summary["card_states"] == {"approved": 30}
    listed = json.loads(cli("cards", "list", "--batch", str(summary["instance"]), "--json").stdout)
    assert listed["total"] == 30 and [c["user"] for c in listed["cards"]] == ACTIVE[:30]
    limited = json.loads(cli("cards", "list", "--limit", "2", "--json").stdout)
    assert len(limited["cards"]) == 2 and limited["total"] == 30
    card = listed["cards"][0]["id"]
    trail = json.loads(cli("audit", "--card", str(card), "--json").stdout)
    assert [(e["trigger"], e["source"], e["dest"]) for e in trail["events"]] == [
        ("request", "registered", "approved")]
    shown = json.loads(cli("process", "show", str(summary["instance"]), "--json").stdout)
    assert shown["state"] == "done" and shown["ended_at"]


def test_request_batch_from_a_file_and_duplicates(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "users.txt"
    path.write_text(f"{ACTIVE[0]}\n\n{ACTIVE[1]}\n{ACTIVE[0]}\n")
    result = cli("cards", "request-batch", "--as", "operator", "--users-file", str(path))
    assert result.exit_code == 0, result.output
    assert "2 employee card(s) requested (2 approved)" in result.stdout
    assert "1 name(s) were given twice" in result.stderr


def test_refusals_exit_1_with_one_message_and_write_nothing(cli, counts) -> None:  # type: ignore[no-untyped-def]
    before = counts()
    cases = [
        (["--users", f"{ACTIVE[0]},nobody,{INACTIVE[0]}"], "nobody"),
        (["--users", ","], "the selection is empty"),
        (["--users", ACTIVE[0], "--query", "a"], "choose the users one way"),
        (["--users-file", "/no/such/file"], "cannot read --users-file"),
    ]
    for args, message in cases:
        result = cli("cards", "request-batch", "--as", "operator", *args)
        assert result.exit_code == 1, result.output
        assert message in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == ""
    result = cli("cards", "request-batch", "--as", "admin", "--users", ACTIVE[0])
    assert result.exit_code == 1 and "needs the role operator" in result.stderr
    assert counts() == before


def test_skip_ineligible_reports_the_left_out(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("cards", "request-batch", "--as", "operator", "--skip-ineligible", "--users",
                 f"{ACTIVE[0]},nobody,{INACTIVE[0]}", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cards"] == 1
    assert summary["skipped"] == {"unknown": ["nobody"], "not_active": [INACTIVE[0]]}


def test_generic_process_commands(cli) -> None:  # type: ignore[no-untyped-def]
    listed = json.loads(cli("processes", "list", "--json").stdout)
    names = [p["name"] for p in listed["processes"]]
    assert {"CardsBoProcRequestMulitple", "CardsBoProcIssueMultiple", "CardsProcRequest"} <= set(
        names) and listed["total"] == len(names)
    diagram = cli("processes", "show", "CardsBoProcRequestMulitple", "--diagram").stdout
    assert "stateDiagram-v2" in diagram and "confirm --> done: next" in diagram
    started = json.loads(cli("process", "start", "CardsBoProcRequestMulitple", "--as",
                             "operator", "--json").stdout)
    fired = cli("process", "fire", str(started["id"]), "select", "--as", "operator", "--input",
                json.dumps({"users": ACTIVE[:2]}), "--json")
    assert json.loads(fired.stdout)["state"] == "confirm"
    bad = cli("process", "fire", str(started["id"]), "select", "--as", "operator", "--input",
              "{nope")
    assert bad.exit_code == 1 and "--input is not valid JSON" in bad.stderr
    wrong = cli("process", "fire", str(started["id"]), "select", "--as", "operator")
    assert wrong.exit_code == 1 and "not allowed in state 'confirm'" in wrong.stderr
    unknown = cli("processes", "show", "Nope")
    assert unknown.exit_code == 1 and "no process 'Nope'" in unknown.stderr


def test_unreachable_database_names_the_url_without_password() -> None:
    url = "postgresql+psycopg://idm:s3cret@127.0.0.1:1/idm"
    result = CliRunner().invoke(main, ["--database-url", url, "cards", "list"])
    assert result.exit_code == 1
    assert "cannot reach the database postgresql+psycopg://idm:***@127.0.0.1:1/idm" in result.stderr
    assert "s3cret" not in result.stderr


def test_database_without_schema_says_run_init(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["--database-url", f"sqlite:///{tmp_path}/x.db", "cards",
                                       "list"])
    assert result.exit_code == 1 and "run `idmflow init`" in result.stderr


def test_usage_errors_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("cards", "list", "--limit", "-1").exit_code == 2
    assert cli("cards", "request-batch").exit_code == 2


@pytest.mark.parametrize("url, message", [
    ("notaurl", "'notaurl' is not a database URL"),
    ("mysql://x@localhost/db", "It runs on SQLite and on PostgreSQL"),
    ("sqlite:////no/such/folder/x.db", "cannot reach the database sqlite:////no/such/folder"),
])
@pytest.mark.parametrize("command", [("init",), ("cards", "list")])
def test_bad_database_urls_are_one_clear_line(url: str, message: str,
                                              command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, ["--database-url", url, *command])
    assert result.exit_code == 1 and message in result.stderr
    assert "Traceback" not in result.output
