"""The second review's findings on wall 1: leaks, strict values, and false refusals.

Each leak below got a host object's printed form (a repr with an address, a guard's name)
into a value or a message before; each refusal is a valid admin script that was refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idmflow.option_scripts import (Evaluation, OptionSchema, Problem, RuleInfo, RuleSchema,
                                    Sandbox, check)
from idmflow.option_scripts.plain import scrub

from .test_sandbox_attacks import LEAKS

#: the sandbox's own names, which a script must never see
GUARDS = ("safe_str", "safe_isinstance", "guarded_", "plain_for_format", "augment_item",
          "_apply_", "_getattr_")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


def _texts(evaluation: Evaluation) -> list[str]:
    """Every string a script handed back: its values (nested) and its problems."""
    found: list[str] = [p.message for p in evaluation.problems]

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found.append("".join(chr(v) for v in value if isinstance(v, int) and v < 0x110000))
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
    walk(evaluation.values)
    return found


CAUGHT = "try:\n    [].index({obj})\nexcept ValueError as e:\n    x = {use}\n"
LEAKING = [
    CAUGHT.format(obj="len", use="'%s' % e"),
    CAUGHT.format(obj="len", use="'%r' % (e,)"),
    CAUGHT.format(obj="len", use="'%(e)s' % {'e': e}"),
    CAUGHT.format(obj="str", use="'%s' % e"),
    CAUGHT.format(obj="isinstance", use="'%s' % e"),
    CAUGHT.format(obj="len", use="list(b'%a' % e)"),
    CAUGHT.format(obj="len", use="list(b'%s' % (str(e).encode(),))"),
    CAUGHT.format(obj="(lambda: 0)", use="str(e)"),
    "def outer():\n    return lambda: 0\n" + CAUGHT.format(obj="outer()", use="str(e)"),
    "def outer():\n    def inner():\n        return 1\n    return inner\n"
    + CAUGHT.format(obj="outer()", use="f'{e}'"),
    CAUGHT.format(obj="(i for i in [])", use="f'{e}'"),
    CAUGHT.format(obj="[i for i in []].copy", use="str(e)"),
    CAUGHT.format(obj="{}.get", use="'%s' % e"),
    CAUGHT.format(obj="reversed([1])", use="str(e)"),
    "x = str(1, 2, 3)",
    "x = isinstance(1)",
    "x = str(x=1)",
    "f = lambda: 0\nx = f(*1)",
    "x = sorted([1], key=str)",
]


@pytest.mark.parametrize("source", LEAKING)
def test_no_repr_address_or_guard_name_reaches_a_value_or_message(sandbox: Sandbox,
                                                                 source: str) -> None:
    evaluation = sandbox.evaluate(source)
    texts = _texts(evaluation)
    assert texts, evaluation
    for text in texts:
        assert not any(leak in text for leak in LEAKS + GUARDS), text


def test_the_guards_speak_as_the_built_ins_they_stand_for(sandbox: Sandbox) -> None:
    assert sandbox.evaluate("x = str(1, 2)").problems == (Problem(
        1, "line 1: TypeError: str() takes from 0 to 1 positional arguments but 2 were given"),)
    assert sandbox.evaluate("x = isinstance(1)").problems == (Problem(
        1, "line 1: TypeError: isinstance() missing 1 required positional argument: "
           "'class_or_tuple'"),)


@pytest.mark.parametrize("text, scrubbed", [
    ("<function outer.<locals>.<lambda> at 0x7f01> is not in list", "<hidden> is not in list"),
    ("<generator object <genexpr> at 0x7f01> x", "<hidden> x"),
    ("<bound method f of <x.Y object at 0x1>>", "<hidden>"),
    ("safe_str() takes 1", "str() takes 1"),
    ("a <b> c", "a <b> c"),
])
def test_scrub_handles_nested_reprs(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed


NOT_STRICT = [
    ("x = float('nan')", "'x' is a float that is NaN or infinite, which JSON cannot hold"),
    ("x = [1, -float('inf')]", "'x' is a float that is NaN or infinite"),
    ("x = {'a': 1e308 * 10}", "'x' is a float that is NaN or infinite"),
    ("x = 'a\\x00b'", "'x' is a str holding a NUL character (\\x00), which cannot be stored"),
    ("x = {'a\\x00': 1}", "'x' is a dict key holding a NUL character"),
    ("x = ['\\ud800']", "'x' is a str holding a lone surrogate"),
    ("x = chr(0xDFFF)", "'x' is a str holding a lone surrogate"),
]


@pytest.mark.parametrize("source, fragment", NOT_STRICT, ids=[s for s, _ in NOT_STRICT])
def test_values_are_strict_json_and_storable(sandbox: Sandbox, source: str,
                                             fragment: str) -> None:
    (problem,) = sandbox.evaluate(source).problems
    assert problem.line == 1 and fragment in problem.message


def test_a_rule_result_must_be_strict_too(sandbox: Sandbox) -> None:
    results = sandbox.call_rule("def Rule(x):\n    return float(x)", "Rule", ["1", "nan"])
    assert results.problems == (Problem(1, "line 1: rule 'Rule' returned a float that is NaN "
                                           "or infinite, which JSON cannot hold for item 1; a "
                                           "rule must return plain data"),)


def test_a_lone_surrogate_in_the_source_is_a_problem_not_a_crash(sandbox: Sandbox) -> None:
    assert sandbox.evaluate("x = 1\ny = '\ud800'").problems == (Problem(
        2, "line 2: the script holds a lone surrogate (U+D800), which is not text; "
           "remove it"),)


@pytest.mark.parametrize("item", [float("nan"), float("inf"), "\udc80"])
def test_items_that_are_not_strict_json_are_the_callers_bug(sandbox: Sandbox,
                                                            item: object) -> None:
    with pytest.raises(TypeError, match="plain data"):
        sandbox.call_rule("def Rule(x):\n    return 1", "Rule", [item])


VALID = [
    ("\ufeffCardsBatchRequestApproval = True\n", {"CardsBatchRequestApproval": True}),
    ("names = sorted(['b', 'A', 'c'], key=str.lower)\nup = [str.upper(n) for n in names]\n"
     "n = str.count('banana', 'a')\n",
     {"names": ["A", "b", "c"], "up": ["A", "B", "C"], "n": 3}),
    ("d = {'a': 1}\nx = dict(**d, function=2)\ny = dict(**d, args=3, kwargs=4)\n",
     {"d": {"a": 1}, "x": {"a": 1, "function": 2}, "y": {"a": 1, "args": 3, "kwargs": 4}}),
    ("r = list(reversed([1, 2, 3]))\nq = divmod(17, 5)\nc = chr(65)\no = ord('a')\n",
     {"r": [3, 2, 1], "q": [3, 2], "c": "A", "o": 97}),
    ("k = list(dict.keys({'a': 1}))\nu = set.union({1}, {2}) == {1, 2}\n"
     "i = tuple.index((1, 2), 2)\ng = dict.get({'a': 1}, 'a')\n",
     {"k": ["a"], "u": True, "i": 1, "g": 1}),
]


@pytest.mark.parametrize("source, values", VALID, ids=range(len(VALID)))
def test_valid_scripts_once_refused_give_their_values(sandbox: Sandbox, source: str,
                                                      values: dict[str, object]) -> None:
    evaluation = sandbox.evaluate(source)
    assert evaluation.problems == ()
    assert evaluation.values == values


def test_a_rule_with_star_args_is_a_rule_the_process_may_call(sandbox: Sandbox) -> None:
    source = "def CardNeedsApproval(*args):\n    return args[0]['type'] != 'visitor'\n"
    evaluation = sandbox.evaluate(source)
    assert evaluation.rules == {"CardNeedsApproval": RuleInfo("CardNeedsApproval", (), 0, 1,
                                                              varargs=True)}
    rules = [RuleSchema("CardNeedsApproval", ("card",))]
    assert check(evaluation, [OptionSchema("X", bool, False)], rules) == ()
    results = sandbox.call_rule(source, "CardNeedsApproval", [{"type": "visitor"}, {"type": "x"}])
    assert results.results == [False, True]


def test_methods_that_change_things_are_not_offered_as_functions(sandbox: Sandbox) -> None:
    source = "def Rule(card):\n    dict.update(card, {'x': 1})\n    return card"
    (problem,) = sandbox.call_rule(source, "Rule", [{"type": "a"}]).problems
    assert "'update' is not available on a class" in problem.message
    (problem,) = sandbox.evaluate("x = []\nlist.append(x, 1)").problems
    assert "'append' is not available on a class" in problem.message
