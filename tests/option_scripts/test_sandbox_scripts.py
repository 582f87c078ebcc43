"""What administrators may write works, and their mistakes come back with the line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

import idmflow.option_scripts as option_scripts
from idmflow.option_scripts import Evaluation, Problem, RuleInfo, RuleResults, Sandbox

CARDS = """\
# Add an approval step to batch orders.
CardsBatchRequestApproval = False
CardsApproverRole = "approver"
CardsBatchMaxUsers = 100_000
ApprovalFreeTypes = ["visitor"]
def CardNeedsApproval(card):
    return card["type"] not in ApprovalFreeTypes
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


def test_public_api_is_pinned() -> None:
    assert sorted(option_scripts.__all__) == [
        "Evaluation", "Limits", "OptionSchema", "Problem", "RuleInfo", "RuleResults",
        "RuleSchema", "Sandbox", "check", "default_sandbox"]


def test_import_starts_nothing_and_stays_in_its_layer() -> None:
    """Importing the package loads no other idmflow layer, no RestrictedPython, no worker."""
    code = ("import json, os, sys, threading, idmflow.option_scripts\n"
            "try:\n    os.waitpid(-1, os.WNOHANG)\n    child = True\n"
            "except ChildProcessError:\n    child = False\n"
            "print(json.dumps([sorted(m for m in sys.modules if m.startswith('idmflow.')),\n"
            "                  'RestrictedPython' in sys.modules, threading.active_count(), "
            "child]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    modules, restricted, threads, child = json.loads(out)
    assert all(m.startswith("idmflow.option_scripts") for m in modules)
    assert not restricted  # only the worker needs RestrictedPython
    assert (threads, child) == (1, False)


def test_the_default_cards_script(sandbox: Sandbox) -> None:
    evaluation = sandbox.evaluate(CARDS, name="CardsScriptOptions")
    assert evaluation == Evaluation(
        values={"CardsBatchRequestApproval": False, "CardsApproverRole": "approver",
                "CardsBatchMaxUsers": 100000, "ApprovalFreeTypes": ["visitor"]},
        rules={"CardNeedsApproval": RuleInfo("CardNeedsApproval", ("card",), 1, 6)},
        lines={"CardsBatchRequestApproval": 2, "CardsApproverRole": 3, "CardsBatchMaxUsers": 4,
               "ApprovalFreeTypes": 5, "CardNeedsApproval": 6},
        problems=())
    assert evaluation.ok
    results = sandbox.call_rule(CARDS, "CardNeedsApproval",
                                [{"type": "employee"}, {"type": "visitor"}])
    assert results == RuleResults([True, False], ())
    assert results.ok


ALLOWED = [
    ("total = 1\ntotal += 2\nnames = ['a']\nnames += ['b']", {"total": 3, "names": ["a", "b"]}),
    ("counts = {'a': 1}\ncounts['a'] += 1\ncounts['b'] = 5", {"counts": {"a": 2, "b": 5}}),
    ("n = 5\nif n > 3:\n    size = 'big'\nelif n > 1:\n    size = 'mid'\nelse:\n    size = 'small'",
     {"n": 5, "size": "big"}),
    ("total = 0\nfor i in range(5):\n    total += i\nwhile total > 3:\n    total -= 3",
     {"total": 1, "i": 4}),
    ("try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n    x = str(e)",
     {"x": "division by zero"}),
    ("try:\n    x = {}['k']\nexcept (KeyError, ValueError):\n    x = 'missing'", {"x": "missing"}),
    ("squares = [i * i for i in range(4) if i]\nby_name = {n: len(n) for n in ['ab', 'c']}\n"
     "unique = sorted({c for c in 'abca'})\nhas = any(i > 2 for i in squares)",
     {"squares": [1, 4, 9], "by_name": {"ab": 2, "c": 1}, "unique": ["a", "b", "c"],
      "has": True}),
    ("price = 3.14159\nlabel = f'{price:>8.2f}|{\"x\"!r}|{42:05d}|{[1, 2]}'",
     {"price": 3.14159, "label": "    3.14|'x'|00042|[1, 2]"}),
    ("msg = 'n=%d s=%s' % (3, 'x')\npct = '%(a).1f%%' % {'a': 12.345}",
     {"msg": "n=3 s=x", "pct": "12.3%"}),
    ("def greet(name, greeting='hi'):\n    return f'{greeting} {name}'\nx = greet('jo')",
     {"x": "hi jo"}),
    ("double = lambda v: v * 2\nx = double(21)", {"x": 42}),
    ("a, (b, c) = 1, (2, 3)\nfirst, *rest = [1, 2, 3]\npairs = [k + str(v) for k, v in "
     "{'a': 1}.items()]", {"a": 1, "b": 2, "c": 3, "first": 1, "rest": [2, 3], "pairs": ["a1"]}),
    ("s = ' Hello, World '.strip().lower().replace('world', 'there')\nparts = s.split(', ')\n"
     "joined = '-'.join(parts)\nok = s.startswith('hello')",
     {"s": "hello, there", "parts": ["hello", "there"], "joined": "hello-there", "ok": True}),
    ("x = [3, 1, 2]\nx.sort()\nx.append(4)\nd = {'a': 1}\nd.update({'b': 2})\n"
     "v = d.get('c', 0)\nkeys = sorted(d.keys())",
     {"x": [1, 2, 3, 4], "d": {"a": 1, "b": 2}, "v": 0, "keys": ["a", "b"]}),
    ("checks = [isinstance('a', str), isinstance(1, (str, int)), isinstance(True, int)]",
     {"checks": [True, True, True]}),
    ("nums = [abs(-2), round(2.567, 1), min(3, 1), max([1, 5]), sum([1, 2]), int('7'),\n"
     "        float('1.5'), bool(0), len('abc'), all([]), list(zip([1], [2]))[0][1],\n"
     "        list(enumerate('a'))[0][0], tuple([1])[0], dict(a=1)['a'], len(set([1, 1]))]",
     {"nums": [2, 2.6, 1, 5, 3, 7, 1.5, False, 3, True, 2, 0, 1, 1, 1]}),
    ("point = (1, 2)\nnothing = None\nnested = {'a': [{'b': (1, None)}]}",
     {"point": [1, 2], "nothing": None, "nested": {"a": [{"b": [1, None]}]}}),
    ("if (n := 3) > 2:\n    big = True", {"n": 3, "big": True}),
    ("type = 'visitor'\nid = 7\nlabel = f'{type}-{id}'",
     {"type": "visitor", "id": 7, "label": "visitor-7"}),
    ("def open(door):\n    return door + 1\nx = open(1)", {"x": 2}),
    ("größe = 'L'\nmark = '\\N{BULLET}'\nsame = 1 is 1", {"größe": "L", "mark": "\u2022",
                                                           "same": True}),
]


@pytest.mark.parametrize("source, values", ALLOWED, ids=[s.split("\n")[0] for s, _ in ALLOWED])
def test_what_scripts_may_write(sandbox: Sandbox, source: str, values: dict[str, object]
                                ) -> None:
    evaluation = sandbox.evaluate(source)
    assert evaluation.problems == ()
    assert evaluation.values == values


def test_lines_name_the_last_assignment_and_helpers_count(sandbox: Sandbox) -> None:
    evaluation = sandbox.evaluate("A = 1\nif A:\n    B = 2\nA = 3\n"
                                  "def helper(x, y=1, *, z=2):\n    return x\n"
                                  "rule = lambda a, b: a\n")
    assert evaluation.lines == {"A": 4, "B": 3, "helper": 5, "rule": 7}
    assert evaluation.rules["helper"] == RuleInfo("helper", ("x", "y"), 1, 5)
    assert evaluation.rules["rule"] == RuleInfo("rule", ("a", "b"), 2, 7)


MISTAKES = [
    ("x = 1\ny = (2,\nz = 3", 2, "line 2: '(' was never closed (syntax error)"),
    ("x = 1\n\nif x\n    y = 2", 3, "line 3: expected ':' (syntax error)"),
    ("a = 1\nb = a / 0", 2, "line 2: ZeroDivisionError: division by zero"),
    ("d = {}\n\nx = d['missing']", 3, "line 3: KeyError: 'missing'"),
    ("def f(card):\n    return card['type']\n\nx = f({})", 2, "line 2: KeyError: 'type'"),
    ("x = 1\ny = undefined_name", 2, "line 2: 'undefined_name' is not defined"),
    ("Colour = 'red'\nx = Color", 2, "line 2: 'Color' is not defined; did you mean 'Colour'?"),
    ("x = lenn([1])", 1, "line 1: 'lenn' is not defined; did you mean 'len'?"),
    ("x = reversed([1])", 1, "line 1: 'reversed' is not available in option scripts"),
    ("raise ValueError('the role must be set')", 1,
     "line 1: ValueError: the role must be set"),
    ("x = int('seven')", 1, "line 1: ValueError: invalid literal for int() with base 10: 'seven'"),
    ("ok = True\nassert not ok, 'ok must be false'", 2, "line 2: AssertionError: ok must be false"),
    ("x = 'a'.nonsense()", 1,
     "line 1: AttributeError: 'nonsense' is not available on a str object in option scripts"),
    ("x = {1, 2}", 1, "line 1: 'x' is a set (use a list, e.g. sorted(x)); a top-level name "
                      "must hold plain data (None, bool, int, float, str, or lists and str-keyed "
                      "dicts of them) or be a function"),
    ("x = {1: 'a'}", 1, "line 1: 'x' is a dict with a key that is not a string (1); a top-level "
                        "name must hold plain data (None, bool, int, float, str, or lists and "
                        "str-keyed dicts of them) or be a function"),
]


@pytest.mark.parametrize("source, line, message", MISTAKES, ids=[m for _, _, m in MISTAKES])
def test_mistakes_name_their_line(sandbox: Sandbox, source: str, line: int, message: str
                                  ) -> None:
    evaluation = sandbox.evaluate(source)
    assert not evaluation.ok
    assert evaluation.problems == (Problem(line, message),)


def test_a_refused_value_leaves_the_plain_ones(sandbox: Sandbox) -> None:
    evaluation = sandbox.evaluate("a = 1\nb = {2}\nc = 'x'")
    assert evaluation.values == {"a": 1, "c": "x"}
    assert [p.line for p in evaluation.problems] == [2]


def test_every_compile_problem_is_reported(sandbox: Sandbox) -> None:
    evaluation = sandbox.evaluate("import os\nx = 1\nclass A:\n    pass\ny = open('f')")
    assert [p.line for p in evaluation.problems] == [1, 3, 5]


def test_rule_arguments_are_spread_from_lists_and_tuples(sandbox: Sandbox) -> None:
    source = "def Approver(card, user, extra='-'):\n    return f\"{card['type']}/{user}{extra}\""
    results = sandbox.call_rule(source, "Approver", [({"type": "a"}, "jo"), [{"type": "b"}, "al",
                                                                            "!"]])
    assert results.results == ["a/jo-", "b/al!"]
    one = sandbox.call_rule("def Count(items):\n    return len(items)", "Count", [[[1, 2, 3]]])
    assert one.results == [3]


def test_a_rule_receives_read_only_copies(sandbox: Sandbox) -> None:
    items = [{"type": "employee", "groups": ["a"]}]
    writes = ["card['type'] = 'x'", "card.update({})", "card['groups'].append('b')",
              "card.pop('type')", "del card['type']"]
    for write in writes:
        results = sandbox.call_rule(f"def Rule(card):\n    {write}\n    return 1", "Rule", items)
        assert results.results == []
        (problem,) = results.problems
        assert problem.line == 2 and "rule 'Rule' failed for item 0" in problem.message, write
    copied = sandbox.call_rule("def Rule(card):\n    c = dict(card)\n    c['type'] = 'x'\n"
                               "    g = list(card['groups'])\n    g.append('b')\n"
                               "    return [c['type'], g, card.get('type')]", "Rule", items)
    assert copied.results == [["x", ["a", "b"], "employee"]]
    assert items == [{"type": "employee", "groups": ["a"]}]


RULE_FAILURES = [
    ("def Rule(card):\n    return card['type']", "Rule", [{"type": 1}, {}],
     Problem(2, "line 2: rule 'Rule' failed for item 1: KeyError: 'type'")),
    ("def Rule(card):\n    return len", "Rule", [{}],
     Problem(1, "line 1: rule 'Rule' returned a built-in function or method for item 0; a rule "
                "must return plain data")),
    ("def Rule(card):\n    return {1}", "Rule", [{}],
     Problem(1, "line 1: rule 'Rule' returned a set (use a list, e.g. sorted(x)) for item 0; a "
                "rule must return plain data")),
    ("def CardNeedsApproval(card):\n    return True", "CardNeedApproval", [{}],
     Problem(None, "'CardNeedApproval' is not a rule (a function) of this script; did you mean "
                   "'CardNeedsApproval'?")),
    ("Approval = True", "Approval", [{}],
     Problem(1, "line 1: 'Approval' is not a rule (a function) of this script; it defines no "
                "function")),
    ("def Rule(a, b):\n    return a", "Rule", [{}],
     Problem(None, "rule 'Rule' failed for item 0: TypeError: Rule() missing 1 required "
                   "positional argument: 'b'")),
    ("x = 1 +", "Rule", [{}], Problem(1, "line 1: invalid syntax (syntax error)")),
]


@pytest.mark.parametrize("source, rule, items, expected", RULE_FAILURES,
                         ids=[p.message[:40] for *_, p in RULE_FAILURES])
def test_a_failing_rule_says_why(sandbox: Sandbox, source: str, rule: str,
                                 items: list[object], expected: Problem) -> None:
    results = sandbox.call_rule(source, rule, items)
    # the item it failed for is named in the message and, as its index, in `failed_item`
    found = re.search(r"for item (\d+)", expected.message)
    assert results == RuleResults([], (expected,), int(found.group(1)) if found else None)
    assert not results.ok


def test_no_items_is_no_results(sandbox: Sandbox) -> None:
    assert sandbox.call_rule(CARDS, "CardNeedsApproval", []) == RuleResults([], ())


def test_host_objects_are_never_sent(sandbox: Sandbox) -> None:
    with pytest.raises(TypeError, match="plain data; one is a function"):
        sandbox.call_rule(CARDS, "CardNeedsApproval", [{"type": lambda: 0}])
    with pytest.raises(TypeError, match="a set"):
        sandbox.call_rule(CARDS, "CardNeedsApproval", [{"type": {1}}])


def test_one_round_trip_for_100000_items(sandbox: Sandbox) -> None:
    items = [{"type": "visitor" if i % 4 == 0 else "employee", "username": f"user{i}"}
             for i in range(100_000)]
    results = sandbox.call_rule(CARDS, "CardNeedsApproval", items)
    assert results.ok
    assert len(results.results) == 100_000
    assert results.results[:4] == [False, True, True, True]


def test_default_sandbox_is_shared() -> None:
    box = option_scripts.default_sandbox()
    assert box is option_scripts.default_sandbox()
    assert box.evaluate("x = 1").values == {"x": 1}
