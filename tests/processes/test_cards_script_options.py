"""CardsScriptOptions drives the batch order: versions, validation, restore, rules."""

from __future__ import annotations

import pytest

import idmflow.engine as idm
from idmflow.engine import NotAllowed, NotFound, OptionScriptError
from idmflow.processes.cards.options import DEFAULT_SCRIPT, SCRIPT
from idmflow.processes.cards.request_multiple.definition import NAME
from idmflow.storage.demo import demo_user

ACTIVE = [demo_user(i)["username"] for i in range(1, 301) if demo_user(i)["state"] == "active"]
DEFAULT = DEFAULT_SCRIPT.read_text()
APPROVAL_ON = DEFAULT.replace("CardsBatchRequestApproval = False",
                              "CardsBatchRequestApproval = True")


@pytest.fixture
def scripted(engine: idm.Engine) -> idm.Engine:
    engine.scripts.install_defaults()
    return engine


def _order(engine: idm.Engine, users: list[str], **extra: object) -> idm.InstanceView:
    return engine.run(NAME, actor="operator",
                      steps=[("select", {"users": users, **extra}), ("next", {})])


def test_default_script_is_installed_once_and_shown_exactly(scripted: idm.Engine) -> None:
    assert scripted.scripts.install_defaults() == []
    shown = scripted.scripts.show(SCRIPT)
    assert shown.version == 1 and shown.source == DEFAULT and shown.author == "idmflow"
    assert shown.values["CardsBatchRequestApproval"] is False
    assert shown.values["CardsBatchMaxUsers"] == 100_000
    assert "CardNeedsApproval" in shown.rules


def test_approval_on_adds_the_step_and_restore_removes_it(scripted: idm.Engine) -> None:
    assert "approval" not in scripted.diagram(NAME)
    saved = scripted.scripts.save(SCRIPT, APPROVAL_ON, author="admin", comment="approval on")
    assert saved.version == 2
    assert "confirm --> approval: next" in scripted.diagram(NAME)
    view = _order(scripted, ACTIVE[:4])
    assert view.state == "approval" and view.options_version == f"{SCRIPT}@2"
    assert scripted.entity_states("card", instance_id=view.id) == {"requested": 4}
    scripted.scripts.restore(SCRIPT, 1, author="admin")
    assert "approval" not in scripted.diagram(NAME)
    later = _order(scripted, ACTIVE[4:6])
    assert later.state == "done" and later.options_version == f"{SCRIPT}@3"
    # the running instance keeps the options it started with
    assert scripted.instance(view.id).triggers == ("complete",)
    history = scripted.scripts.history(SCRIPT)
    assert [(v.version, v.author, v.comment) for v in history] == [
        (1, "idmflow", "default shipped with idmflow"), (2, "admin", "approval on"),
        (3, "admin", "restored version 1")]
    trail = scripted.history(actor="admin")
    assert [(e.subject_kind, e.trigger, e.dest) for e in trail] == [
        ("script", "save", f"{SCRIPT}@2"), ("script", "restore", f"{SCRIPT}@3")]


def test_rule_decides_per_card_in_one_batch(scripted: idm.Engine) -> None:
    script = APPROVAL_ON.replace("CardsApprovalFreeTypes = []",
                                 'CardsApprovalFreeTypes = ["visitor"]')
    scripted.scripts.save(SCRIPT, script, author="admin")
    visitors = _order(scripted, ACTIVE[:3], card_type="visitor")
    assert scripted.entity_states("card", instance_id=visitors.id) == {"approved": 3}
    employees = _order(scripted, ACTIVE[3:6])
    assert scripted.entity_states("card", instance_id=employees.id) == {"requested": 3}
    by_unit = APPROVAL_ON.replace(
        "    return card[\"type\"] not in CardsApprovalFreeTypes",
        "    return card[\"org_unit\"] in [\"HR\", \"Legal\"]")
    scripted.scripts.save(SCRIPT, by_unit, author="admin")
    mixed = _order(scripted, ACTIVE[6:60])
    cards, _ = scripted.entities("card", instance_id=mixed.id)
    units = {u["username"]: u["org_unit"] for u in map(demo_user, range(1, 301))}
    for card in cards:
        assert card.state == ("requested" if units[card.subject] in ("HR", "Legal")
                              else "approved")


@pytest.mark.parametrize("change, message", [
    (("CardsBatchMaxUsers = 100000", 'CardsBatchMaxUsers = "many"'),
     "'CardsBatchMaxUsers' must be an int"),
    (("CardsBatchRequestApproval = False", "CardsBatchRequestAproval = True"),
     "did you mean 'CardsBatchRequestApproval'"),
    (("CardsBatchRequestApproval = False", "CardsBatchRequestApproval = (1"), "line"),
    (("CardsBatchRequestApproval = False", "import os"), "import"),
    (("def CardNeedsApproval(card):", "def CardNeedsApproval(card, extra):"), "CardNeedsApproval"),
])
def test_invalid_script_is_refused_with_a_line_and_nothing_changes(
        scripted: idm.Engine, change: tuple[str, str], message: str) -> None:
    source = DEFAULT.replace(*change)
    assert source != DEFAULT
    with pytest.raises(OptionScriptError) as err:
        scripted.scripts.save(SCRIPT, source, author="admin")
    assert message in str(err.value) and err.value.line is not None
    assert [v.version for v in scripted.scripts.history(SCRIPT)] == [1]
    assert _order(scripted, ACTIVE[:1]).state == "done"


def test_only_admins_save_and_unknown_names_are_named(scripted: idm.Engine) -> None:
    with pytest.raises(NotAllowed, match="only accounts with the role 'admin'"):
        scripted.scripts.save(SCRIPT, APPROVAL_ON, author="operator")
    with pytest.raises(NotFound, match="no option script 'Nope'; known scripts: "
                                       "CardsScriptOptions"):
        scripted.scripts.save("Nope", APPROVAL_ON, author="admin")
    with pytest.raises(NotFound, match="has no version 9"):
        scripted.scripts.show(SCRIPT, 9)
    assert [v.version for v in scripted.scripts.history(SCRIPT)] == [1]


def test_option_missing_from_the_stored_script_takes_its_default(scripted: idm.Engine) -> None:
    lines = [line for line in DEFAULT.splitlines() if not line.startswith("CardsBatchMaxUsers")]
    scripted.scripts.save(SCRIPT, "\n".join(lines), author="admin")
    view = scripted.start(NAME, actor="operator")
    assert view.options["CardsBatchMaxUsers"] == 100_000


@pytest.mark.parametrize("source, comment, fragment", [
    (DEFAULT, "why\x00", "holds a NUL character"),
    (DEFAULT + "Extra = float('nan')\n", "", "NaN or infinite"),
    (DEFAULT + "Extra = 'a\\x00'\n", "", "NUL character"),
    (DEFAULT + "Extra = '\ud800'\n", "", "lone surrogate"),
])
def test_what_the_database_cannot_hold_is_refused_before_it(scripted: idm.Engine, source: str,
                                                             comment: str, fragment: str) -> None:
    """JSONB refuses NaN and NUL, text refuses NUL: each is an OptionScriptError, not a
    DataError, and the active version stays."""
    with pytest.raises(OptionScriptError, match=fragment):
        scripted.scripts.save(SCRIPT, source, author="admin", comment=comment)
    assert [v.version for v in scripted.scripts.history(SCRIPT)] == [1]


def test_many_problems_are_listed_to_fifty_then_counted(scripted: idm.Engine) -> None:
    """The schema checks of 200 typo helpers: the message stays readable and bounded."""
    source = DEFAULT + "".join(f"CardsBatchMaxUser{chr(97 + i % 26)}{chr(97 + i // 26)} = 1\n"
                               for i in range(200))
    with pytest.raises(OptionScriptError) as refused:
        scripted.scripts.evaluate(source, name=SCRIPT)
    problems = refused.value.problems
    assert len(problems) == 51 and problems[-1] == "and 150 more problems"
    assert all("did you mean 'CardsBatchMaxUsers'?" in p for p in problems[:50])
