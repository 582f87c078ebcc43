"""Reading the worker's answers: the host trusts their shape only after checking it.

The worker runs code written by someone else; if that code ever escaped RestrictedPython
it would control what the worker says. So an answer is JSON (no objects, see `wire`), and
this module checks every field of it before building the records the engine sees: names
are identifiers, lines are numbers, messages are short strings with no host reprs, values
and results are plain data, and there is one result per item. Anything else is a
`ProtocolError`, and the sandbox stops that worker.
"""

from __future__ import annotations

from typing import Any

from .plain import not_plain, scrub
from .results import Evaluation, Problem, RuleInfo, RuleResults
from .wire import ProtocolError


def evaluation_from(answer: dict[str, Any]) -> Evaluation:
    """The `Evaluation` in a worker's answer to "evaluate"."""
    values = _mapping(answer.get("values"), "values")
    for value in values.values():
        _plain(value, "a value")
    rules = {}
    for name, info in _mapping(answer.get("rules"), "rules").items():
        if not (isinstance(info, list) and len(info) == 3 and isinstance(info[0], list)
                and all(isinstance(p, str) and p.isidentifier() for p in info[0])):
            raise ProtocolError(f"rule {name!r} is malformed")
        params, required, line = tuple(info[0]), _number(info[1]), _number(info[2])
        if not 0 <= required <= len(params):
            raise ProtocolError(f"rule {name!r} has {required} required parameters")
        rules[name] = RuleInfo(name, params, required, line)
    lines = {name: _number(line) for name, line in _mapping(answer.get("lines"), "lines").items()}
    return Evaluation(values, rules, lines, _problems(answer))


def rule_results_from(answer: dict[str, Any], count: int) -> RuleResults:
    """The `RuleResults` in a worker's answer to "call_rule" over `count` items."""
    results = answer.get("results")
    problems = _problems(answer)
    if not isinstance(results, list) or len(results) != (0 if problems else count):
        raise ProtocolError("the number of results does not match the items")
    for result in results:
        _plain(result, "a result")
    failed = answer.get("failed_item")
    if failed is not None and not (problems and _number(failed) < count):
        raise ProtocolError("the failed item is not one of the items")
    return RuleResults(results, problems, failed)


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} is not a mapping")
    for name in value:
        if not name.isidentifier() or name.startswith("_"):
            raise ProtocolError(f"{what} holds a name that no script can define")
    return value


def _number(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ProtocolError("a line or count is not a number")
    return value


def _plain(value: Any, what: str) -> None:
    reason = not_plain(value)
    if reason:
        raise ProtocolError(f"{what} is {reason}")


def _problems(answer: dict[str, Any]) -> tuple[Problem, ...]:
    problems = answer.get("problems")
    if not isinstance(problems, list):
        raise ProtocolError("problems is not a list")
    out = []
    for item in problems:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], str)):
            raise ProtocolError("a problem is malformed")
        line = None if item[0] is None else _number(item[0])
        out.append(Problem(line, scrub(item[1])))
    return tuple(out)
