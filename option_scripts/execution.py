"""Running a script inside the worker: its values and rules, or problems with lines.

This is the part of the worker that knows what a script means: it compiles (through
`policy`, cached by source), executes with the guarded built-ins, sorts the top-level names
into plain values and rules, calls a rule over many items, and turns whatever a script
raises into a message that names the line and leaks nothing of the host. Answers are plain
dicts ready for JSON: the process boundary (`worker`) only moves them.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Sequence
from typing import Any, TypeGuard

from .guards import SAFE_BUILTINS, CpuLimitExceeded
from .plain import is_plain, not_plain, read_only, scrub
from .policy import UNOFFERED, Compiled, compile_script
from .spelling import meant

#: (line, message) as it travels back to the host
WireProblem = tuple[int | None, str]
#: why the worker should start afresh after this request (a limit hit); see `worker`
REASONS_TO_RETIRE: list[str] = []


@functools.lru_cache(maxsize=32)
def _compiled(source: str, filename: str) -> Compiled:
    return compile_script(source, filename)


def _prefixed(line: int | None, text: str) -> WireProblem:
    return (line, f"line {line}: {text}" if line is not None else text)


def _run(source: str, filename: str, limits: dict[str, Any]
         ) -> tuple[dict[str, Any], dict[str, int], list[WireProblem]]:
    """Execute the script: (its globals, top-level lines, problems)."""
    compiled = _compiled(source, filename)
    if compiled.code is None:
        return {}, {}, [_prefixed(line, text) for line, text in compiled.problems]
    namespace: dict[str, Any] = {"__builtins__": SAFE_BUILTINS}
    try:
        exec(compiled.code, namespace)
    except BaseException as exc:  # whatever the script raised, and the limits
        problem = explain(exc, namespace, limits)
        namespace.clear()  # free what the script built before answering
        return {}, dict(compiled.lines), [problem]
    return namespace, dict(compiled.lines), []


def _is_rule(value: Any, namespace: dict[str, Any]) -> TypeGuard[types.FunctionType]:
    return isinstance(value, types.FunctionType) and value.__globals__ is namespace


def evaluate(source: str, filename: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Run a script once: {"values", "rules", "lines", "problems"} for the host."""
    namespace, lines, problems = _run(source, filename, limits)
    values: dict[str, Any] = {}
    rules: dict[str, list[Any]] = {}
    for name, value in namespace.items():
        if name.startswith("_"):
            continue
        line = lines.get(name)
        if _is_rule(value, namespace):
            code = value.__code__
            params = list(code.co_varnames[:code.co_argcount])
            required = len(params) - len(value.__defaults__ or ())
            rules[name] = [params, required, line or code.co_firstlineno]
            continue
        reason = not_plain(value)
        if reason:
            problems.append(_prefixed(line, f"'{name}' is {reason}; a top-level name must "
                                            "hold plain data (None, bool, int, float, str, "
                                            "or lists and str-keyed dicts of them) or be a "
                                            "function"))
        else:
            values[name] = value
    kept = {name: line for name, line in lines.items() if name in values or name in rules}
    problems.sort(key=lambda p: p[0] or 0)
    return {"values": values, "rules": rules, "lines": kept, "problems": problems}


def call_rule(source: str, filename: str, rule: str, items: Sequence[Any],
              limits: dict[str, Any]) -> dict[str, Any]:
    """Run a script once, then its rule once per item: {"results", "problems"}, and
    "failed_item" (the index of the item it failed for) when it failed for one."""
    namespace, lines, problems = _run(source, filename, limits)
    if problems:
        return {"results": [], "problems": problems}
    function = namespace.get(rule)
    if not _is_rule(function, namespace):
        rules = sorted(name for name, value in namespace.items() if _is_rule(value, namespace))
        guess = meant(rule, rules)
        hint = f"; did you mean '{guess}'?" if guess else (
            f"; it defines {', '.join(rules)}" if rules else "; it defines no function")
        return {"results": [], "problems": [_prefixed(
            lines.get(rule), f"'{rule}' is not a rule (a function) of this script{hint}")]}
    results: list[Any] = []
    append = results.append
    for index, item in enumerate(items):
        try:
            if type(item) is list:
                result = function(*[read_only(arg) for arg in item])
            else:
                result = function(read_only(item))
        except BaseException as exc:
            problem = explain(exc, namespace, limits, f"rule '{rule}' failed for item {index}: ")
            return {"results": [], "problems": [problem], "failed_item": index}
        if type(result) is not bool and not is_plain(result):
            line = lines.get(rule, function.__code__.co_firstlineno)
            return {"results": [], "problems": [_prefixed(
                line, f"rule '{rule}' returned {not_plain(result)} for item {index}; a rule "
                      "must return plain data")], "failed_item": index}
        append(result)
    return {"results": results, "problems": []}


def explain(exc: BaseException, namespace: dict[str, Any], limits: dict[str, Any],
            context: str = "") -> WireProblem:
    """What the script did wrong, at the innermost line of the script that was running.

    A limit hit is also noted in `REASONS_TO_RETIRE`: the worker retires after answering.
    """
    line = _script_line(exc, namespace)
    exc.__traceback__ = None  # drop the frames (and the script's data) they hold
    if isinstance(exc, CpuLimitExceeded):
        text = f"the script ran longer than the {limits['cpu_seconds']:g} s CPU limit; " \
               "look for an endless loop or a very large computation"
        REASONS_TO_RETIRE.append("cpu")
    elif isinstance(exc, MemoryError):
        text = f"the script needs more than {limits['memory_bytes'] // 2**20} MB of memory"
        REASONS_TO_RETIRE.append("memory")
    elif isinstance(exc, RecursionError):
        text = "functions call each other too deeply (RecursionError); look for a " \
               "function that calls itself without end"
    elif isinstance(exc, NameError) and isinstance(name := getattr(exc, "name", None), str):
        text = _unknown_name(name, namespace)
    else:
        text = f"{type(exc).__name__}: {_message(exc)}"
    return _prefixed(line, context + text)


def _message(exc: BaseException) -> str:
    """The exception's message, unless printing it would print something not plain."""
    reason = not_plain(list(exc.args))
    return f"(raised with {reason}, which is not plain data)" if reason else scrub(str(exc))


def _unknown_name(name: str, namespace: dict[str, Any]) -> str:
    if name in UNOFFERED:
        return f"'{name}' is not available in option scripts"
    known = [n for n in namespace if not n.startswith("_")] + \
        [n for n in SAFE_BUILTINS if not n.startswith("_")]
    guess = meant(name, known)
    return f"'{name}' is not defined" + (f"; did you mean '{guess}'?" if guess else "")


def _script_line(exc: BaseException, namespace: dict[str, Any]) -> int | None:
    """The line of the innermost frame that belongs to the script."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals is namespace:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
