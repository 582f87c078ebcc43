"""`idmflow scripts ...` and the diagram preview, as an administrator uses them."""

from __future__ import annotations

import json
from pathlib import Path

from idmflow.processes.cards.options import DEFAULT_SCRIPT


def test_admin_turns_the_approval_step_on_and_back_off(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init").exit_code == 0
    shown = cli("scripts", "show", "CardsScriptOptions").stdout
    assert shown == DEFAULT_SCRIPT.read_text()
    edited = tmp_path / "on.py"
    edited.write_text(shown.replace("CardsBatchRequestApproval = False",
                                    "CardsBatchRequestApproval = True"))
    preview = cli("processes", "show", "CardsBoProcRequestMulitple", "--diagram",
                  "--options-file", str(edited)).stdout
    assert "confirm --> approval: next" in preview
    active = cli("processes", "show", "CardsBoProcRequestMulitple", "--diagram").stdout
    assert "approval" not in active
    evaluated = json.loads(cli("scripts", "eval", "CardsScriptOptions", "--file", str(edited),
                               "--json").stdout)
    assert evaluated["values"]["CardsBatchRequestApproval"] is True
    assert evaluated["rules"] == ["CardNeedsApproval"]
    saved = cli("scripts", "save", "CardsScriptOptions", "--file", str(edited), "--as", "admin",
                "--comment", "approval on")
    assert saved.exit_code == 0 and "version 2" in saved.stdout
    assert "confirm --> approval" in cli("processes", "show", "CardsBoProcRequestMulitple",
                                         "--diagram").stdout
    restored = cli("scripts", "restore", "CardsScriptOptions", "1", "--as", "admin")
    assert restored.exit_code == 0 and "as version 3" in restored.stdout
    history = json.loads(cli("scripts", "history", "CardsScriptOptions", "--json").stdout)
    assert [v["version"] for v in history["versions"]] == [1, 2, 3]


def test_eval_without_name_and_refusals(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init")
    plain = tmp_path / "plain.py"
    plain.write_text("Answer = 42\nNames = ['a', 'b']\ndef Double(x):\n    return 2 * x\n")
    doc = json.loads(cli("scripts", "eval", "--file", str(plain), "--json").stdout)
    assert doc == {"values": {"Answer": 42, "Names": ["a", "b"]}, "rules": ["Double"]}
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\nimport os\n")
    result = cli("scripts", "eval", "--file", str(bad), "--json")
    assert result.exit_code == 1 and result.stdout == "" and "line 2" in result.stderr
    result = cli("scripts", "save", "CardsScriptOptions", "--file", str(plain), "--as",
                 "operator")
    assert result.exit_code == 1 and "role 'admin'" in result.stderr
    result = cli("scripts", "save", "CardsScriptOptions", "--file", str(tmp_path / "none.py"),
                 "--as", "admin")
    assert result.exit_code in (1, 2)


def test_json_is_one_compact_strict_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Indentation grew a deeply nested reply a hundredfold; NaN is not JSON."""
    cli("init")
    nested = tmp_path / "nested.py"
    nested.write_text("Deep = [[[[[['x\u202e']]]]]]\nWide = {'a': [1, 2.5, None, True]}\n")
    out = cli("scripts", "eval", "--file", str(nested), "--json").stdout
    assert out == ('{"values":{"Deep":[[[[[["x\\u202e"]]]]]],"Wide":{"a":[1,2.5,null,true]}},'
                   '"rules":[]}\n')
    nan = tmp_path / "nan.py"
    nan.write_text("Bad = float('inf')\n")
    result = cli("scripts", "eval", "--file", str(nan), "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert "NaN or infinite" in result.stderr


def test_show_is_byte_exact_when_piped_and_errors_come_escaped(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init")
    tricky = DEFAULT_SCRIPT.read_text() + "# \x1b]52;c;ZWNobyBoaQ==\x07 \u202e\n"
    path = tmp_path / "tricky.py"
    path.write_text(tricky)
    assert cli("scripts", "save", "CardsScriptOptions", "--file", str(path), "--as",
               "admin").exit_code == 0
    assert cli("scripts", "show", "CardsScriptOptions").stdout == tricky
    path.write_text("raise ValueError('\x1b[2J\u202e')\n")
    result = cli("scripts", "eval", "--file", str(path))
    assert result.exit_code == 1
    assert result.stderr == "error: option script '<file>' is refused:\n  line 1: ValueError: " \
                            "\\x1b[2J\\u202e\n"
