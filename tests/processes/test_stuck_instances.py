"""An instance stuck on a script version whose rule fails at run time: the admin fixes the
script and moves the instance to it (`migrate_options`, `idmflow process migrate`)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import Result

import idmflow.engine as idm
from idmflow.engine import NotAllowed, OptionScriptError, RuleFailed
from idmflow.processes.cards.options import DEFAULT_SCRIPT, SCRIPT
from idmflow.processes.cards.request_multiple.definition import NAME
from idmflow.storage.demo import demo_user

ACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] == "active"]
GOOD_RULE = '    return card["type"] not in CardsApprovalFreeTypes'
APPROVAL_ON = DEFAULT_SCRIPT.read_text().replace("CardsBatchRequestApproval = False",
                                                 "CardsBatchRequestApproval = True")
#: saves (the sandbox runs the script), fails when the rule runs: cards have no "department"
FAILING = APPROVAL_ON.replace(GOOD_RULE, '    return card["department"] == "HR"')
STILL_FAILING = APPROVAL_ON.replace(GOOD_RULE, '    return card["org_unit"] / 2')


@pytest.fixture
def stuck(engine: idm.Engine) -> tuple[idm.Engine, int]:
    """An instance in `confirm` whose Next fails in the rule of script version 2."""
    engine.scripts.install_defaults()
    engine.scripts.save(SCRIPT, FAILING, author="admin", comment="by department")
    view = engine.run(NAME, actor="operator", steps=[("select", {"users": ACTIVE[:3]})])
    with pytest.raises(RuleFailed) as caught:
        engine.fire(view.id, "next", actor="operator")
    assert caught.value.rule == "CardNeedsApproval"
    unit = next(u["org_unit"] for u in map(demo_user, range(1, 301))
                if u["username"] == ACTIVE[0])
    assert caught.value.item == {"user": ACTIVE[0], "type": "employee", "org_unit": unit}
    assert "KeyError" in str(caught.value)
    return engine, view.id


def test_a_stuck_instance_moves_to_the_fixed_script_and_proceeds(
        stuck: tuple[idm.Engine, int]) -> None:
    engine, instance_id = stuck
    before = engine.instance(instance_id)
    assert (before.state, before.options_version) == ("confirm", f"{SCRIPT}@2")
    with pytest.raises(NotAllowed, match=f"already runs with {SCRIPT}@2, the current options: "
                                         "there is nothing to migrate"):
        engine.migrate_options(instance_id, actor="admin")
    # the fix saved, the instance still fails: it keeps the version it started with
    engine.scripts.save(SCRIPT, APPROVAL_ON, author="admin", comment="fixed")
    with pytest.raises(RuleFailed):
        engine.fire(instance_id, "next", actor="operator")
    with pytest.raises(NotAllowed, match="'operator' may not move instance .* only accounts "
                                         "with the role 'admin' may"):
        engine.migrate_options(instance_id, actor="operator")
    moved = engine.migrate_options(instance_id, actor="admin")
    assert (moved.state, moved.options_version) == ("confirm", f"{SCRIPT}@3")
    assert moved.version == before.version + 1
    events = [(e.actor, e.trigger, e.source, e.dest)
              for e in engine.history(instance_id=instance_id)]
    assert events[-3:] == [("operator", "rule_failed", "confirm", "confirm"),
                           ("operator", "rule_failed", "confirm", "confirm"),
                           ("admin", "migrate_options", f"{SCRIPT}@2", f"{SCRIPT}@3")]
    done = engine.fire(instance_id, "next", actor="operator")
    assert done.state == "approval"
    assert engine.entity_states("card", instance_id=instance_id) == {"requested": 3}


def test_a_fix_that_still_fails_for_the_instance_is_refused(
        stuck: tuple[idm.Engine, int]) -> None:
    engine, instance_id = stuck
    engine.scripts.save(SCRIPT, STILL_FAILING, author="admin", comment="still wrong")
    with pytest.raises(OptionScriptError) as caught:
        engine.migrate_options(instance_id, actor="admin")
    message = str(caught.value)
    assert message.startswith(f"instance {instance_id} stays on {SCRIPT}@2: rule "
                              f"'CardNeedsApproval' still fails under {SCRIPT}@3 for the item "
                              f'it failed for ({{"org_unit": '), message
    assert f'"user": "{ACTIVE[0]}"}}): line ' in message
    assert "TypeError" in message and message.endswith("Fix the script, save it, and migrate "
                                                       "again")
    assert engine.instance(instance_id).options_version == f"{SCRIPT}@2"
    assert "migrate_options" not in [e.trigger for e in engine.history(instance_id=instance_id)]


def test_an_ended_instance_is_not_moved(engine: idm.Engine) -> None:
    engine.scripts.install_defaults()
    view = engine.run(NAME, actor="operator", steps=[("select", {"users": ACTIVE[:1]}),
                                                     ("next", {})])
    assert view.state == "done"
    engine.scripts.save(SCRIPT, APPROVAL_ON, author="admin")
    with pytest.raises(NotAllowed, match=f"instance {view.id} of '{NAME}' has ended \\(done"):
        engine.migrate_options(view.id, actor="admin")
    with pytest.raises(idm.NotFound, match="no process instance 999"):
        engine.migrate_options(999, actor="admin")


def test_the_cli_migrates_a_stuck_instance(stuck: tuple[idm.Engine, int],
                                           cli: Callable[..., Result], tmp_path) -> None:
    _, instance_id = stuck
    usage = cli("process", "migrate", str(instance_id), "--as", "admin")
    assert usage.exit_code == 2 and "--to-current-options" in usage.output
    refused = cli("process", "migrate", str(instance_id), "--to-current-options", "--as", "admin")
    assert refused.exit_code == 1
    assert refused.output.startswith("error: instance") and "nothing to migrate" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    fixed = tmp_path / "fixed.py"
    fixed.write_text(APPROVAL_ON)
    assert cli("scripts", "save", SCRIPT, "--file", str(fixed), "--as", "admin").exit_code == 0
    moved = cli("process", "migrate", str(instance_id), "--to-current-options", "--as", "admin")
    assert moved.exit_code == 0, moved.output
    assert moved.output == (f"instance {instance_id}: options {SCRIPT}@2 -> {SCRIPT}@3 (by "
                            "admin); next triggers: back, next, cancel\n")
    fired = cli("process", "fire", str(instance_id), "next", "--as", "operator", "--json")
    assert json.loads(fired.output)["state"] == "approval"
    trail = cli("audit", "--instance", str(instance_id), "--json")
    assert trail.exit_code == 0
    again = cli("process", "migrate", str(instance_id), "--to-current-options", "--as", "admin")
    assert again.exit_code == 1 and "nothing to migrate" in again.output
