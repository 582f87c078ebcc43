"""Checks a definition before it is used: one small function per rule.

Each rule returns its problems as sentences that name the step or trigger and say how to
fix it; `validate_process` collects them all so a developer sees every problem at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import re

from .definitions import INVARIANT_COLUMNS, Lifecycle, ProcessDefinition
from .errors import DefinitionError

Rule = Callable[[ProcessDefinition], list[str]]


def _duplicate_steps(d: ProcessDefinition) -> list[str]:
    counts = Counter(s.name for s in d.steps)
    return [f"step {name!r} is declared {n} times; give each step its own name"
            for name, n in sorted(counts.items()) if n > 1]


def _initial_exists(d: ProcessDefinition) -> list[str]:
    if not d.steps:
        return ["it has no steps; declare at least a start step and a final step"]
    names = {s.name for s in d.steps}
    if d.initial is not None and d.initial not in names:
        return [f"initial step {d.initial!r} is not a declared step"]
    return []


def _unknown_states(d: ProcessDefinition) -> list[str]:
    names = {s.name for s in d.steps}
    problems = []
    for t in d.transitions:
        for state in (*t.source, t.dest):
            if state not in names:
                problems.append(
                    f"transition {t.trigger!r} ({', '.join(t.source)} -> {t.dest}) names unknown "
                    f"step {state!r}; declare it in steps or fix the name")
    return problems


def _final_without_exits(d: ProcessDefinition) -> list[str]:
    finals = {s.name for s in d.steps if s.final}
    return [f"final step {src!r} has an outgoing transition {t.trigger!r}; remove it or make "
            f"the step not final"
            for t in d.transitions for src in t.source if src in finals]


def _views_for_people(d: ProcessDefinition) -> list[str]:
    problems = []
    for s in d.steps:
        if not s.final and not s.view:
            problems.append(f"step {s.name!r} has no view; add view=\"{s.name}.html\"")
        elif s.view and d.templates is not None and not (d.templates / s.view).is_file():
            problems.append(f"step {s.name!r}: view {s.view!r} is not in {d.templates}")
    return problems


def _options_declared(d: ProcessDefinition) -> list[str]:
    declared = {o.name: o for o in d.options}
    used = [(f"step {s.name!r}", s.enabled_by) for s in d.steps if s.enabled_by]
    used += [(f"transition {t.trigger!r}", name) for t in d.transitions
             for name in (t.when, t.unless) if name]
    problems = []
    for where, name in used:
        if name not in declared:
            problems.append(f"{where} uses option {name!r}, which is not declared; add "
                            f"OptionSpec({name!r}, bool, default=False, doc=...) to options")
        elif declared[name].type is not bool:
            problems.append(f"{where} is switched by option {name!r}, which must be a bool")
    for o in d.options:
        if not isinstance(o.default, o.type) or (o.type is int and isinstance(o.default, bool)):
            problems.append(f"option {o.name!r}: default {o.default!r} is not a {o.type.__name__}")
    return problems


def _reachable(d: ProcessDefinition) -> list[str]:
    names = {s.name for s in d.steps}
    if not names:
        return []
    seen = {d.initial_step}
    frontier = [d.initial_step]
    while frontier:
        state = frontier.pop()
        for t in d.transitions:
            if state in t.source and t.dest not in seen:
                seen.add(t.dest)
                frontier.append(t.dest)
    return [f"step {s.name!r} cannot be reached from {d.initial_step!r}; add a transition into "
            f"it or remove it" for s in d.steps if s.name not in seen]


def _finals_exist(d: ProcessDefinition) -> list[str]:
    if d.steps and not any(s.final for s in d.steps):
        return ["it has no final step, so no instance can ever end; mark one step final=True"]
    return []


RULES: tuple[Rule, ...] = (
    _duplicate_steps, _initial_exists, _unknown_states, _final_without_exits,
    _views_for_people, _options_declared, _reachable, _finals_exist,
)


def problems_of(d: ProcessDefinition, rules: Iterable[Rule] = RULES) -> list[str]:
    """Every problem of the definition, in rule order."""
    return [p for rule in rules for p in rule(d)]


def validate_process(d: ProcessDefinition) -> None:
    """Raise `DefinitionError` naming every problem of `d`, or return quietly."""
    problems = problems_of(d)
    if problems:
        raise DefinitionError(d.name, problems)


def validate_lifecycle(lc: Lifecycle) -> None:
    """Raise `DefinitionError` when a lifecycle names unknown states or leaves a final one."""
    states = set(lc.states)
    problems = []
    if lc.initial not in states:
        problems.append(f"initial state {lc.initial!r} is not a declared state")
    for t in lc.transitions:
        for state in (*t.source, t.dest):
            if state not in states:
                problems.append(f"transition {t.trigger!r} names unknown state {state!r}")
        problems += [f"final state {s!r} has an outgoing transition {t.trigger!r}"
                     for s in t.source if s in lc.final]
    problems += _invariant_problems(lc)
    if problems:
        raise DefinitionError(lc.name, problems)


#: invariant names become part of an index name, which PostgreSQL cuts at 63 bytes
_INVARIANT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,19}$")


def _invariant_problems(lc: Lifecycle) -> list[str]:
    problems = []
    if lc.invariants and not _KIND_NAME.match(lc.name):
        problems.append(f"a lifecycle with invariants needs a name of at most 20 lower-case "
                        f"letters, digits or '_', not {lc.name!r}")
    names = Counter(inv.name for inv in lc.invariants)
    problems += [f"invariant {name!r} is declared {n} times" for name, n in names.items() if n > 1]
    for inv in lc.invariants:
        if not _INVARIANT_NAME.match(inv.name):
            problems.append(f"invariant {inv.name!r}: use at most 30 lower-case letters, digits "
                            "or '_', starting with a letter")
        if not inv.unique or any(c not in INVARIANT_COLUMNS for c in inv.unique):
            problems.append(f"invariant {inv.name!r}: unique must name entity columns among "
                            f"{', '.join(INVARIANT_COLUMNS)}, not {inv.unique!r}")
        unknown = [s for s in inv.states if s not in lc.states]
        if not inv.states or unknown:
            problems.append(f"invariant {inv.name!r}: states must be declared states of "
                            f"{lc.name!r} (unknown: {', '.join(unknown) or 'none given'})")
    return problems
