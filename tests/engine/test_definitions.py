"""Definitions, validation and compilation: no database needed."""

from __future__ import annotations

import pytest

import idmflow.engine as idm
from idmflow.engine import (DefinitionError, OptionSpec, ProcessDefinition, Registry, Step,
                            Transition, compile_process)
from idmflow.processes.cards.lifecycle import CARD
from idmflow.processes.cards.request_multiple import PROCESS


def _process(**changes: object) -> ProcessDefinition:
    base = dict(
        name="Demo", title="Demo",
        options=(OptionSpec("Review", bool, default=False, doc="Add a review step."),),
        steps=(Step("draft", view="draft.html"), Step("review", view="review.html",
                                                      enabled_by="Review"),
               Step("done", final=True)),
        transitions=(Transition("submit", "draft", "review", when="Review"),
                     Transition("submit", "draft", "done", unless="Review"),
                     Transition("accept", "review", "done")),
    )
    base.update(changes)
    return ProcessDefinition(**base)  # type: ignore[arg-type]


def test_public_api_is_pinned() -> None:
    assert sorted(idm.__all__) == sorted([
        "Account", "Accounts", "AuditRecord", "Clock", "CompiledLifecycle",
        "CompiledProcess", "Conflict", "DatabaseUnavailable", "DeclaredDefaults",
        "DefinitionError", "Delivery", "DeliveryUncertain", "DirectoryUser", "Engine",
        "EntityRecord",
        "FixedOptions", "Handler", "IdmflowError", "InputError", "InstanceView",
        "Invariant", "InvariantViolation", "Lifecycle", "MailRecord", "NotAllowed", "NotFound", "Notification", "Notifier",
        "OptionScriptError", "OptionScripts", "OptionSpec", "OptionsProvider",
        "OptionsSnapshot", "ProcessDefinition", "Producer", "ProductionOrder",
        "ProductionResult", "Registry", "RuleFailed", "RuleSpec", "ScriptSchema",
        "ScriptVersion",
        # issue 11: the unit-testable contexts
        "Decider", "Effects", "Entities", "OpenedTask", "Recorder",
        "Step", "StepContext", "TaskContext", "TaskSpec", "TaskView", "Transition",
        "USER_STATES", "UnknownDefinitionVersion", "UserDirectory", "UserQuery", "UserState",
        "compile_lifecycle",
        "compile_process", "open", "problems_of", "render_mail", "render_step",
        "upgrade_schema", "validate_lifecycle", "validate_process"])


def test_valid_definition_has_no_problems() -> None:
    assert idm.problems_of(_process()) == []
    assert idm.problems_of(PROCESS) == []


@pytest.mark.parametrize("changes, expected", [
    ({"transitions": (Transition("go", "draft", "nowhere"),)}, "unknown step 'nowhere'"),
    ({"steps": (Step("draft", view="d.html"), Step("done", final=True),
                Step("lost", view="l.html")),
      "transitions": (Transition("go", "draft", "done"),)}, "step 'lost' cannot be reached"),
    ({"steps": (Step("draft"), Step("done", final=True)),
      "transitions": (Transition("go", "draft", "done"),)}, "step 'draft' has no view"),
    ({"steps": (Step("draft", view="d.html"), Step("done", final=True)),
      "transitions": (Transition("go", "draft", "done", when="Missing"),)},
     "option 'Missing', which is not declared"),
    ({"transitions": (Transition("submit", "draft", "done"), Transition("undo", "done", "draft"))},
     "final step 'done' has an outgoing transition 'undo'"),
    ({"steps": (Step("draft", view="d.html"), Step("draft", view="d.html"),
                Step("done", final=True)),
      "transitions": (Transition("go", "draft", "done"),)}, "step 'draft' is declared 2 times"),
    ({"options": (OptionSpec("Review", bool, default="no", doc=""),)},
     "default 'no' is not a bool"),
])
def test_each_problem_is_named(changes: dict[str, object], expected: str) -> None:
    with pytest.raises(DefinitionError) as err:
        idm.validate_process(_process(**changes))
    assert err.value.process == "Demo"
    assert any(expected in p for p in err.value.problems), err.value.problems
    assert "'Demo'" in str(err.value)


def test_every_problem_is_reported_at_once() -> None:
    d = _process(steps=(Step("draft"), Step("done", final=True)),
                 transitions=(Transition("go", "draft", "nowhere"),))
    assert len(idm.problems_of(d)) >= 2


def test_option_off_removes_step_and_its_transitions() -> None:
    off = compile_process(_process(), {"Review": False})
    on = compile_process(_process(), {"Review": True})
    assert "review" not in off.states and "review" in on.states
    assert off.fire("draft", "submit") == "done"
    assert on.fire("draft", "submit") == "review"
    assert "review" not in off.diagram() and "review" in on.diagram()


def test_compiled_graph_is_cached_per_options_snapshot() -> None:
    d = _process()
    assert compile_process(d, {"Review": True}) is compile_process(d, {"Review": True})
    assert compile_process(d, {"Review": True}) is not compile_process(d, {"Review": False})


def test_trigger_errors_say_what_is_allowed() -> None:
    compiled = compile_process(_process(), {"Review": False})
    with pytest.raises(idm.NotAllowed, match="not allowed in state 'done'.*none, it is final"):
        compiled.transition("done", "submit")
    with pytest.raises(idm.NotAllowed, match="no trigger 'fly'; known triggers: submit"):
        compiled.transition("draft", "fly")


def test_batch_order_graph_follows_the_approval_option() -> None:
    off = compile_process(PROCESS, PROCESS.defaults())
    on = compile_process(PROCESS, {**PROCESS.defaults(), "CardsBatchRequestApproval": True})
    assert off.fire("confirm", "next") == "done"
    assert on.fire("confirm", "next") == "approval"
    assert "approval" in on.diagram() and "approval" not in off.diagram()


def test_card_lifecycle_has_eleven_states_and_final_ones_are_final() -> None:
    compiled = idm.compile_lifecycle(CARD)
    assert len(CARD.states) == 11
    for state in ("aborted", "rejected", "locked", "expired"):
        assert compiled.is_final(state) and compiled.triggers(state) == []
    assert set(compiled.sources("request", "approved")) == {"registered"}
    assert set(compiled.sources("expire", "expired")) == {"issued", "active", "inactive"}
    assert compiled.sources("approve", "issued") == ()
    idm.validate_lifecycle(CARD)


def test_registry_reports_duplicates_and_unknown_names() -> None:
    registry = Registry()
    registry.add(_process())
    with pytest.raises(DefinitionError, match="already registered"):
        registry.add(_process())
    with pytest.raises(idm.NotFound, match="no process 'Nope'; known processes: Demo"):
        registry.get("Nope")


def test_registry_loads_our_processes_from_entry_points() -> None:
    registry = Registry.from_entry_points()
    assert registry.get("CardsBoProcRequestMulitple") is PROCESS
    assert registry.origin("CardsBoProcRequestMulitple").startswith("idmflow ")


def test_invariant_declarations_are_checked() -> None:
    from dataclasses import replace

    bad = replace(CARD, invariants=(
        idm.Invariant("one_open", unique=("subject", "holder"), states=("requested",)),
        idm.Invariant("One Open", unique=("subject",), states=("nowhere",)),
        idm.Invariant("one_open", unique=(), states=()),
    ))
    with pytest.raises(DefinitionError) as caught:
        idm.validate_lifecycle(bad)
    problems = "\n".join(caught.value.problems)
    assert "invariant 'one_open' is declared 2 times" in problems
    assert "unique must name entity columns among subject, type, not ('subject', 'holder')" \
        in problems
    assert "invariant 'One Open': use at most 30 lower-case letters" in problems
    assert "states must be declared states of 'card' (unknown: nowhere)" in problems
    assert "(unknown: none given)" in problems


def test_registry_collects_each_lifecycle_once_and_refuses_two_of_one_name() -> None:
    from dataclasses import replace

    registry = Registry.from_entry_points()
    assert [lc.name for lc in registry.lifecycles()] == ["card"]
    other_card = replace(CARD, states=(*CARD.states, "lost"))
    with pytest.raises(DefinitionError, match="lifecycle 'card' differs"):
        registry.add(_process(name="Other", lifecycles=(other_card,)))
