"""Bounded replies: what a script hands back is limited, each limit named; floors hold.

The host works outside the worker's limits for every byte it receives, so sizes are refused
in the worker, with the line. Whatever the configuration, a script within the floors (256 KB
of source, 1 MB of values, 5,000 items in a list, 1,000 names, 20 levels) stays accepted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idmflow.option_scripts import Limits, Problem, Sandbox
from idmflow.option_scripts.sizes import FLOORS, Sizes


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(Limits(sizes=Sizes(depth=30))) as box:
        yield box


@pytest.fixture(scope="module")
def at_floors() -> Iterator[Sandbox]:
    with Sandbox(Limits(sizes=Sizes(**FLOORS))) as box:
        yield box


AT_THE_FLOORS = (
    "Items = list(range(5000))\n"
    "Deep = " + "[" * 19 + "]" * 19 + "\n"
    "Text = 'x' * (1 << 20) if False else 'x' * 900_000\n"
    "Table = {str(i): i for i in range(5000)}\n"
    + "".join(f"Name{i} = {i}\n" for i in range(996))
)


def test_a_script_within_every_floor_is_accepted_at_the_floors(at_floors: Sandbox) -> None:
    assert len(AT_THE_FLOORS.encode()) < FLOORS["source_bytes"]
    evaluation = at_floors.evaluate(AT_THE_FLOORS)
    assert evaluation.problems == ()
    assert len(evaluation.values) == 1000


@pytest.mark.parametrize("field", sorted(FLOORS))
def test_no_limit_goes_below_its_floor(field: str) -> None:
    with pytest.raises(ValueError, match=f"Sizes.{field} must be an int of at least"):
        Sizes(**{field: FLOORS[field] - 1})
    assert getattr(Sizes(**{field: FLOORS[field] * 2}), field) == FLOORS[field] * 2


TOO_LARGE = [
    ("x = 1\nBig = list(range(10_001))", 2,
     "line 2: 'Big' is too large: it holds a list of 10,001 items (the limit is 10,000)"),
    ("Big = {'a': [{str(i): 1 for i in range(10_001)}]}", 1,
     "line 1: 'Big' is too large: it holds a dict of 10,001 items (the limit is 10,000)"),
    ("Big = ['x' * (1 << 20) + 'y']", 1,
     "line 1: 'Big' is too large: it holds a str of 1,048,577 characters (the limit is "
     "1,048,576)"),
    ("Big = [1]\nfor i in range(50):\n    Big = [Big]", 3,
     "line 3: 'Big' is too large: it holds lists or dicts nested more than 30 levels deep"),
]


@pytest.mark.parametrize("source, line, message", TOO_LARGE, ids=[m for *_, m in TOO_LARGE])
def test_a_value_past_a_size_limit_names_it(sandbox: Sandbox, source: str, line: int,
                                            message: str) -> None:
    evaluation = sandbox.evaluate(source)
    assert evaluation.problems == (Problem(line, message),)


def test_too_many_top_level_names(sandbox: Sandbox) -> None:
    source = "".join(f"N{i} = {i}\n" for i in range(2_001))
    evaluation = sandbox.evaluate(source)
    assert evaluation.values == {}
    assert evaluation.problems == (Problem(2001, "line 2001: the script defines 2,001 top-level "
                                                 "names; the limit is 2,000 (the first past it "
                                                 "is 'N2000'); keep data in lists and dicts"),)


def test_the_source_size_is_limited_before_it_is_sent(sandbox: Sandbox) -> None:
    source = "x = 1\n" + "# padding\n" * 30_000
    assert sandbox.evaluate(source).problems == (Problem(
        None, "the script is 293 KB; the limit is 256 KB of source; keep large data out of "
              "option scripts"),)


def test_problems_are_listed_to_fifty_then_counted(sandbox: Sandbox) -> None:
    source = "import os\n" * 3_000
    problems = sandbox.evaluate(source).problems
    assert len(problems) == 51
    assert problems[0] == Problem(1, "line 1: 'import' is not allowed: option scripts use only "
                                     "the built-ins they are given")
    assert problems[-1] == Problem(None, "and 2,950 more problems")


def test_a_rule_result_past_a_size_limit(sandbox: Sandbox) -> None:
    results = sandbox.call_rule("def Rule(n):\n    return list(range(n))", "Rule", [3, 20_000])
    assert results.problems == (Problem(1, "line 1: rule 'Rule' returned a result too large (a "
                                           "list of 20,000 items (the limit is 10,000)) for "
                                           "item 1; a rule must return plain data"),)
