"""A use case in an outside package: installed, found by entry point, run from the CLI.

The example package is the one `docs/adding-a-use-case.md` walks through
(`docs/example_plugin`); a second throw-away package brings broken plugins, which are named
while the rest still load. Both are uninstalled afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs" / "example_plugin"
BROKEN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "idmflow-broken-plugins"
version = "0.0.1"

[project.entry-points."idmflow.processes"]
BrokenImport = "idmflow_broken_plugins.missing:PROCESS"
Invalid = "idmflow_broken_plugins:INVALID"
Duplicate = "idmflow_broken_plugins:DUPLICATE"
ClashingOption = "idmflow_broken_plugins:CLASHING"

[tool.setuptools]
packages = ["idmflow_broken_plugins"]
"""
BROKEN_CODE = """\
from idmflow.engine import OptionSpec, ProcessDefinition, Step, Transition

INVALID = ProcessDefinition(name="InvalidOne", title="x", steps=(Step("a", view="a.html"),),
                            transitions=(Transition("go", "a", "nowhere"),))
# idmflow registers this name too: both are refused, whichever loads first
DUPLICATE = ProcessDefinition(name="CardsBoProcIssueMultiple", title="x",
                              steps=(Step("a", view="a.html"), Step("b", final=True)),
                              transitions=(Transition("go", "a", "b"),))
# shares idmflow's script but declares one of its options as a str: refused, not the cards
CLASHING = ProcessDefinition(
    name="ClashingOption", title="x", option_script="CardsScriptOptions",
    options=(OptionSpec("CardsBatchRequestApproval", str, default="no", doc="x"),),
    steps=(Step("a", view="a.html"), Step("b", final=True)),
    transitions=(Transition("go", "a", "b"),))
"""


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q",
                             *args], capture_output=True, text=True)
    assert result.returncode == 0, f"pip {' '.join(args)} failed:\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("plugins")
    example = root / "example"
    shutil.copytree(DOCS, example)
    broken = root / "broken"
    (broken / "idmflow_broken_plugins").mkdir(parents=True)
    (broken / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (broken / "idmflow_broken_plugins" / "__init__.py").write_text(BROKEN_CODE)
    try:
        _pip("install", "--no-deps", str(example), str(broken))
        yield example
    finally:
        _pip("uninstall", "-y", "idmflow-example-unlock", "idmflow-broken-plugins")


def _idmflow(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "idmflow"
    return subprocess.run([str(script), "--database-url", url, *args], capture_output=True,
                          text=True, timeout=120)


def test_outside_package_runs_end_to_end_through_the_cli(installed: Path,
                                                         tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plugin.db'}"
    init = _idmflow(url, "init")
    assert init.returncode == 0, init.stderr
    assert "AccountsScriptOptions: default installed" in init.stdout
    assert "CardsScriptOptions: default installed" in init.stdout
    assert _idmflow(url, "demo", "--users", "300").returncode == 0
    listed = _idmflow(url, "processes", "list", "--json")
    doc = json.loads(listed.stdout)
    origins = {p["name"]: p["origin"] for p in doc["processes"]}
    assert origins["AccountsProcUnlock"] == "idmflow-example-unlock 1.0.0"
    assert origins["CardsBoProcRequestMulitple"].startswith("idmflow ")
    for name in ("BrokenImport", "Invalid", "CardsBoProcIssueMultiple", "ClashingOption"):
        assert f"process {name!r} did not load" in listed.stderr
    assert "unknown step 'nowhere'" in listed.stderr
    assert "CardsBoProcIssueMultiple" not in origins and "ClashingOption" not in origins
    ours = origins["CardsBoProcRequestMulitple"]  # "idmflow VERSION"
    assert (f"2 entry points register the process name 'CardsBoProcIssueMultiple': {ours} "
            "(entry point CardsBoProcIssueMultiple = idmflow.processes.cards.issue_multiple:"
            "PROCESS) and idmflow-broken-plugins 0.0.1 (entry point Duplicate = "
            "idmflow_broken_plugins:DUPLICATE); all of them are refused") in listed.stderr
    assert ("process 'ClashingOption' (idmflow-broken-plugins 0.0.1) declares option "
            "'CardsBatchRequestApproval' of script 'CardsScriptOptions' as a str with default "
            f"'no', but CardsBoProcRequestMulitple ({ours}), CardsProcRequest ({ours}) declare "
            "it as a bool with default False, and they ship the script's default") in listed.stderr
    refused = _idmflow(url, "process", "start", "CardsBoProcIssueMultiple", "--as", "operator")
    assert refused.returncode == 1 and "idmflow-broken-plugins 0.0.1" in refused.stderr
    # the other processes and scripts keep working, init and scripts list included
    scripts = json.loads(_idmflow(url, "scripts", "list", "--json").stdout)
    assert {s["name"]: s["processes"] for s in scripts["scripts"]} == {
        "AccountsScriptOptions": ["AccountsProcUnlock"],
        "CardsScriptOptions": ["CardsBoProcRequestMulitple", "CardsProcRequest"]}
    assert _idmflow(url, "init").returncode == 0
    batch = _idmflow(url, "cards", "request-batch", "--as", "operator", "--org-unit", "HR",
                     "--skip-ineligible", "--json")
    assert batch.returncode == 0, batch.stderr
    locked = json.loads(_idmflow(url, "users", "search", "--state", "locked", "--limit", "1",
                                 "--json").stdout)["users"][0]["username"]
    started = json.loads(_idmflow(url, "process", "start", "AccountsProcUnlock", "--as",
                                  "operator", "--json").stdout)
    fired = _idmflow(url, "process", "fire", str(started["id"]), "select", "--as", "operator",
                     "--input", json.dumps({"user": locked, "reason": "forgot PIN"}), "--json")
    assert json.loads(fired.stdout)["state"] == "approval", fired.stderr
    tasks = json.loads(_idmflow(url, "tasks", "list", "--as", "approver", "--json").stdout)
    assert tasks["tasks"][0]["title"] == f"Unlock {locked}"
    decided = _idmflow(url, "tasks", "decide", str(tasks["tasks"][0]["id"]), "--as", "approver",
                       "--approve")
    assert decided.returncode == 0, decided.stderr
    shown = json.loads(_idmflow(url, "process", "show", str(started["id"]), "--json").stdout)
    assert shown["state"] == "done"
    off = tmp_path / "off.py"
    off.write_text(_idmflow(url, "scripts", "show", "AccountsScriptOptions").stdout
                   .replace("UnlockApproval = True", "UnlockApproval = False"))
    diagram = _idmflow(url, "processes", "show", "AccountsProcUnlock", "--diagram",
                       "--options-file", str(off)).stdout
    assert "choose_user --> done: select" in diagram and "approval" not in diagram


def test_the_plugins_own_tests_pass_on_idmflows_fixtures(installed: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(installed / "tests")], capture_output=True, text=True,
                            cwd=installed, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
