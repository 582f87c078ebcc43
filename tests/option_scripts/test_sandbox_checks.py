"""Values against a process's option schema: types, typos and rule signatures, with lines.

`check` needs no worker: an `Evaluation` is plain data, so these tests build one by hand.
"""

from __future__ import annotations

from typing import Any

import pytest

from idmflow.option_scripts import (Evaluation, OptionSchema, Problem, RuleInfo, RuleSchema,
                                    check)
from idmflow.option_scripts.spelling import distance, meant

OPTIONS = (
    OptionSchema("CardsBatchRequestApproval", bool, False, "Add an approval step."),
    OptionSchema("CardsBatchMaxUsers", int, 100_000),
    OptionSchema("CardsApprovalShare", float, 0.5),
    OptionSchema("CardsApproverRole", str, "approver"),
    OptionSchema("ApprovalFreeTypes", list, ["visitor"]),
    OptionSchema("CardsTypeNames", dict, {}),
)
RULES = (RuleSchema("CardNeedsApproval", ("card",), "Whether a card needs approval."),
         RuleSchema("CardApprover", ("card", "requester")))


def evaluation(values: dict[str, Any] | None = None, rules: tuple[RuleInfo, ...] = ()
               ) -> Evaluation:
    """An evaluation whose values sit on lines 10, 11, ... and rules on their own lines."""
    values = values or {}
    lines = {name: 10 + i for i, name in enumerate(values)}
    lines.update({rule.name: rule.line for rule in rules})
    return Evaluation(values, {rule.name: rule for rule in rules}, lines, ())


def test_a_script_that_fits_has_no_problems() -> None:
    fine = evaluation({"CardsBatchRequestApproval": True, "CardsBatchMaxUsers": 5,
                       "CardsApprovalShare": 1, "CardsApproverRole": "boss",
                       "ApprovalFreeTypes": [], "CardsTypeNames": {"a": "b"},
                       "MyOwnHelper": [1, 2], "limit": 3},
                      (RuleInfo("CardNeedsApproval", ("card",), 1, 20),
                       RuleInfo("CardApprover", ("card", "requester", "extra"), 2, 22),
                       RuleInfo("helper", ("x",), 1, 24)))
    assert check(fine, OPTIONS, RULES) == ()
    assert check(evaluation(), OPTIONS, RULES) == ()  # a missing option takes its default


WRONG_TYPES = [
    ("CardsBatchRequestApproval", 1, "option 'CardsBatchRequestApproval' must be a bool (True or "
                                     "False), like its default (False), not an int (1)"),
    ("CardsBatchRequestApproval", "yes", "option 'CardsBatchRequestApproval' must be a bool "
                                         "(True or False), like its default (False), not a str "
                                         "('yes')"),
    ("CardsBatchMaxUsers", True, "option 'CardsBatchMaxUsers' must be an int, like its default "
                                 "(100000), not a bool (True or False) (True)"),
    ("CardsBatchMaxUsers", "100", "option 'CardsBatchMaxUsers' must be an int, like its default "
                                  "(100000), not a str ('100')"),
    ("CardsBatchMaxUsers", 1.5, "option 'CardsBatchMaxUsers' must be an int, like its default "
                                "(100000), not a float (1.5)"),
    ("CardsApprovalShare", False, "option 'CardsApprovalShare' must be a float, like its "
                                  "default (0.5), not a bool (True or False) (False)"),
    ("CardsApproverRole", None, "option 'CardsApproverRole' must be a str, like its default "
                                "('approver'), not None (None)"),
    ("ApprovalFreeTypes", "visitor", "option 'ApprovalFreeTypes' must be a list, like its "
                                     "default (['visitor']), not a str ('visitor')"),
    ("CardsTypeNames", [], "option 'CardsTypeNames' must be a dict, like its default ({}), "
                           "not a list ([])"),
]


@pytest.mark.parametrize("name, value, message", WRONG_TYPES,
                         ids=[f"{n}={v!r}" for n, v, _ in WRONG_TYPES])
def test_an_option_must_have_its_type(name: str, value: Any, message: str) -> None:
    assert check(evaluation({"x": 1, name: value}), OPTIONS) == (
        Problem(11, f"line 11: {message}"),)


TYPOS = [
    ("CardsBatchRequestAproval", "'CardsBatchRequestAproval' is not an option; did you mean "
                                 "'CardsBatchRequestApproval'?"),
    ("cardsbatchrequestapproval", "'cardsbatchrequestapproval' is not an option; did you mean "
                                  "'CardsBatchRequestApproval'?"),
    ("CARDSBATCHMAXUSERS", "'CARDSBATCHMAXUSERS' is not an option; did you mean "
                           "'CardsBatchMaxUsers'?"),
    ("CardsBatchMaxUser", "'CardsBatchMaxUser' is not an option; did you mean "
                          "'CardsBatchMaxUsers'?"),
    ("CardsApprovrRol", "'CardsApprovrRol' is not an option; did you mean 'CardsApproverRole'?"),
    ("CardNeedApproval", "'CardNeedApproval' is not a rule; did you mean 'CardNeedsApproval'?"),
]


@pytest.mark.parametrize("name, message", TYPOS, ids=[n for n, _ in TYPOS])
def test_a_helper_that_looks_like_a_typo_is_refused(name: str, message: str) -> None:
    assert check(evaluation({"x": 1, name: True}), OPTIONS, RULES) == (
        Problem(11, f"line 11: {message}"),)


def test_a_rule_that_looks_like_a_typo_is_refused() -> None:
    typo = evaluation(rules=(RuleInfo("CardNeedsAproval", ("card",), 1, 30),))
    assert check(typo, OPTIONS, RULES) == (
        Problem(30, "line 30: 'CardNeedsAproval' is not a rule; did you mean "
                    "'CardNeedsApproval'?"),)


SIGNATURES = [
    (RuleInfo("CardNeedsApproval", (), 0, 7),
     "rule 'CardNeedsApproval' must take 1 parameter (card); it takes ()"),
    (RuleInfo("CardNeedsApproval", ("card", "user"), 2, 7),
     "rule 'CardNeedsApproval' must take 1 parameter (card); it takes (card, user)"),
    (RuleInfo("CardApprover", ("card",), 1, 7),
     "rule 'CardApprover' must take 2 parameters (card, requester); it takes (card)"),
]


@pytest.mark.parametrize("info, message", SIGNATURES, ids=[m for _, m in SIGNATURES])
def test_a_rule_must_take_the_declared_parameters(info: RuleInfo, message: str) -> None:
    assert check(evaluation(rules=(info,)), OPTIONS, RULES) == (Problem(7, f"line 7: {message}"),)


def test_an_option_and_a_rule_cannot_swap_kinds() -> None:
    swapped = evaluation({"CardNeedsApproval": True},
                         (RuleInfo("CardsBatchRequestApproval", ("x",), 1, 11),))
    assert check(swapped, OPTIONS, RULES) == (
        Problem(10, "line 10: 'CardNeedsApproval' is a rule: define it as a function, def "
                    "CardNeedsApproval(card): ..., not a bool (True or False)"),
        Problem(11, "line 11: option 'CardsBatchRequestApproval' must be a bool (True or "
                    "False), not a function"))


def test_every_problem_is_found_and_sorted_by_line() -> None:
    many = Evaluation({"CardsBatchMaxUsers": "x", "CardsBatchRequestAproval": True},
                      {"CardNeedsApproval": RuleInfo("CardNeedsApproval", (), 0, 2)},
                      {"CardsBatchMaxUsers": 9, "CardsBatchRequestAproval": 4,
                       "CardNeedsApproval": 2}, ())
    assert [p.line for p in check(many, OPTIONS, RULES)] == [2, 4, 9]


@pytest.mark.parametrize("a, b, edits", [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3),
                                         ("flaw", "lawn", 2), ("same", "same", 0)])
def test_distance(a: str, b: str, edits: int) -> None:
    assert distance(a, b) == edits == distance(b, a)


@pytest.mark.parametrize("name, known, guess", [
    ("ab", ["cd"], None),  # short names are not typos of each other
    ("Limit", ["limit", "Limits"], "limit"),
    ("CardsBatchMaxUsers", ["CardsBatchMaxUsers"], None),  # itself is no typo
    ("Totally", ["CardsBatchMaxUsers"], None),
])
def test_meant(name: str, known: list[str], guess: str | None) -> None:
    assert meant(name, known) == guess
