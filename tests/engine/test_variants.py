"""Checked variants: validation walks the graph under each combination of the switching
options, and checks what a TaskSpec names. No database needed."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

import idmflow.engine as idm
from idmflow.engine import (DefinitionError, OptionSpec, ProcessDefinition, Step, TaskSpec,
                            Transition)
from idmflow.engine.variants import MAX_SWITCHES, combinations, coverage, switches


def _decide(ctx: idm.TaskContext) -> int:
    return 0


def _process(**changes: object) -> ProcessDefinition:
    base = dict(
        name="Review", title="Review",
        options=(OptionSpec("Review", bool, default=False, doc="Add a review step."),
                 OptionSpec("FastTrack", bool, default=False, doc="Skip the review."),
                 OptionSpec("ReviewerRole", str, default="approver", doc="Who reviews."),
                 OptionSpec("SelfReview", bool, default=False, doc="Review one's own.")),
        tasks=(TaskSpec(kind="review", decide=_decide, role_option="ReviewerRole",
                        self_decision_option="SelfReview"),),
        steps=(Step("draft", view="draft.html"),
               Step("review", view="review.html", enabled_by="Review"),
               Step("done", final=True)),
        transitions=(Transition("submit", "draft", "review", when="Review"),
                     Transition("submit", "draft", "done", unless="Review"),
                     Transition("complete", "review", "done", automatic=True)),
    )
    base.update(changes)
    return ProcessDefinition(**base)  # type: ignore[arg-type]


def _problems(d: ProcessDefinition) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        idm.validate_process(d)
    assert caught.value.process == d.name
    return list(caught.value.problems)


def test_a_good_definition_passes_under_every_combination() -> None:
    assert idm.problems_of(_process()) == []
    assert switches(_process()) == ("Review",)
    assert list(combinations(_process())) == [{"Review": False}, {"Review": True}]


def test_a_dead_end_in_one_variant_is_refused_naming_the_combination() -> None:
    # With Review on and FastTrack on, "review" is there but its only way out is dropped.
    d = _process(transitions=(
        Transition("submit", "draft", "review", when="Review"),
        Transition("submit", "draft", "done", unless="Review"),
        Transition("complete", "review", "done", automatic=True, unless="FastTrack")))
    problems = _problems(d)
    assert problems == [
        "with Review=True, FastTrack=True: step 'review' is a dead end: it is not final and "
        "no way leads from it to a final step; add a transition out of it or mark it "
        "final=True"], problems
    # the old check (every option on and off at once) saw nothing wrong here
    assert idm.compile_process(d, {"Review": True, "FastTrack": False}).fire(
        "review", "complete") == "done"


def test_a_cycle_without_exit_is_a_dead_end() -> None:
    d = _process(steps=(*_process().steps, Step("limbo", view="limbo.html")),
                 transitions=(*_process().transitions,
                              Transition("park", "draft", "limbo", when="Review"),
                              Transition("again", "limbo", "limbo")))
    problems = _problems(d)
    assert problems == ["with Review=False: step 'limbo' cannot be reached from 'draft'; add "
                        "a transition into it or remove it",
                        "with Review=True: step 'limbo' is a dead end: it is not final and no "
                        "way leads from it to a final step; add a transition out of it or mark "
                        "it final=True"], problems


def test_a_step_on_whose_way_in_is_off_is_unreachable_in_that_variant() -> None:
    d = _process(transitions=(
        Transition("submit", "draft", "review", when="FastTrack"),
        Transition("submit", "draft", "done", unless="FastTrack"),
        Transition("complete", "review", "done", automatic=True)))
    problems = _problems(d)
    assert [p.split(":")[0] for p in problems] == [
        "with Review=False, FastTrack=True", "with Review=True, FastTrack=False"], problems
    assert "step 'draft' is a dead end" in problems[0]
    assert "step 'review' cannot be reached from 'draft'" in problems[1]


def test_a_problem_in_every_variant_is_named_once_without_a_combination() -> None:
    d = _process(steps=(*_process().steps, Step("lost", view="lost.html")))
    assert _problems(d) == ["step 'lost' cannot be reached from 'draft'; add a transition "
                            "into it or remove it"]


def test_a_switched_off_start_is_refused() -> None:
    d = _process(initial="review")
    problems = _problems(d)
    assert problems[0].startswith("with Review=False: the initial step 'review' is switched "
                                  "off, so no instance can start"), problems


@pytest.mark.parametrize("task, expected", [
    (TaskSpec(kind="review", decide=_decide, role_option="ReviewersRole"),
     "task 'review': role_option='ReviewersRole' names an undeclared option; add "
     "OptionSpec('ReviewersRole', str, ...) to options or fix the name"),
    (TaskSpec(kind="review", decide=_decide, role="approver", self_decision_option="Own"),
     "task 'review': self_decision_option='Own' names an undeclared option"),
    (TaskSpec(kind="review", decide=_decide, role="approver", self_decision_option="ReviewerRole"),
     "task 'review': self_decision_option option 'ReviewerRole' must be a bool, not a str"),
    (TaskSpec(kind="review", decide=_decide),
     "task 'review' names no role"),
    (TaskSpec(kind="review", decide=_decide, role="approver", complete="finish"),
     "task 'review' closes by firing 'finish', but no transition has that trigger; add "
     "Transition('finish', <the waiting step>, <the next step>, automatic=True)"),
])
def test_what_a_task_names_is_checked(task: TaskSpec, expected: str) -> None:
    problems = _problems(_process(tasks=(task,)))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_completion_people_may_fire_is_refused() -> None:
    d = _process(transitions=(*_process().transitions[:2],
                              Transition("complete", "review", "done", roles=("operator",))))
    assert _problems(d) == ["task 'review' closes by firing 'complete', which people may fire "
                            "too, skipping the decision; mark that transition automatic=True"]


def _many(k: int) -> ProcessDefinition:
    """k independent optional review steps in a row: 2**k variants, all of them fine."""
    names = [f"Opt{i}" for i in range(k)]
    steps = [Step("s0", view="s.html")]
    transitions = []
    for i, name in enumerate(names):
        steps.append(Step(f"r{i}", view="r.html", enabled_by=name))
        transitions += [Transition("go", f"s{i}", f"r{i}", when=name),
                        Transition("go", f"s{i}", f"s{i + 1}", unless=name),
                        Transition("go", f"r{i}", f"s{i + 1}")]
        steps.append(Step(f"s{i + 1}", view="s.html", final=i == k - 1))
    return ProcessDefinition(name="Many", title="Many", steps=tuple(steps),
                             transitions=tuple(transitions),
                             options=tuple(OptionSpec(n, bool, default=False, doc="")
                                           for n in names))


def test_every_combination_up_to_the_bound_then_a_documented_subset() -> None:
    assert coverage(_many(MAX_SWITCHES)) == (1024, 1024)
    started = time.perf_counter()
    assert idm.problems_of(_many(MAX_SWITCHES)) == []
    print(f"1,024 variants checked in {time.perf_counter() - started:.3f} s")
    many = _many(MAX_SWITCHES + 2)
    assert coverage(many) == (26, 4096)
    subset = list(combinations(many))
    assert len(subset) == 26 and len({tuple(c.values()) for c in subset}) == 26
    assert {"Opt0": True, **{f"Opt{i}": False for i in range(1, 12)}} in subset
    assert {"Opt0": False, **{f"Opt{i}": True for i in range(1, 12)}} in subset


def test_a_partial_check_says_so_when_it_finds_something() -> None:
    many = _many(MAX_SWITCHES + 2)
    # the last review step leads nowhere when on: a dead end every "Opt11 on" variant shows
    broken = replace(many, transitions=tuple(t for t in many.transitions
                                             if (t.source, t.dest) != (("r11",), "s12")))
    problems = idm.problems_of(broken)
    every_on = ", ".join(f"Opt{i}=True" for i in range(12))
    # all on, Opt11 alone on, and each of the 11 others alone off
    assert problems[0].startswith(f"with {every_on} (and 12 other combination(s)): step 'r11' "
                                  "is a dead end"), problems
    assert problems[-1] == ("(checked 26 of the 4,096 combinations of its 12 switching "
                            "options: all off, all on, and each alone on and alone off)")
