"""Checks a definition before it is used: one small function per rule.

Each rule returns its problems as sentences that name the step or trigger and say how to
fix it; `validate_process` collects them all so a developer sees every problem at once.
The graph rules (a start, every step reachable, no dead end) run under each combination of
the options that switch steps or transitions (`variants`), and a problem that shows only
under some options names the first combination it shows in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from .definitions import INVARIANT_COLUMNS, Lifecycle, ProcessDefinition
from .errors import DefinitionError
from .variants import Variant, combinations, coverage, describe, present, switches

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


def _variant_problems(d: ProcessDefinition, variant: Variant) -> list[str]:
    """Within one variant: is the start there, is every step reachable, can each one end?"""
    names = [s.name for s in variant.steps]
    if d.initial_step not in names:
        return [f"the initial step {d.initial_step!r} is switched off, so no instance can "
                "start; keep it on in every combination or start elsewhere"]
    out: dict[str, set[str]] = {}
    into: dict[str, set[str]] = {}
    for t in variant.transitions:
        for source in t.source:
            out.setdefault(source, set()).add(t.dest)
            into.setdefault(t.dest, set()).add(source)
    reached = _closure({d.initial_step}, out)
    ending = _closure({s.name for s in variant.steps if s.final}, into)
    dead = [name for name in names if name in reached and name not in ending]
    if dead:
        # Name where the way ends (a step with no way out, or a loop without exit), not
        # every step before it: the steps before only lead there, and so do the unreached.
        return [f"step {name!r} is a dead end: it is not final and no way leads from it to "
                "a final step; add a transition out of it or mark it final=True"
                for name in dead if all(name in _closure({later}, out)
                                        for later in _closure({name}, out))]
    return [f"step {name!r} cannot be reached from {d.initial_step!r}; add a transition "
            "into it or remove it" for name in names if name not in reached]


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    frontier = list(start)
    while frontier:
        for nxt in edges.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def _variants(d: ProcessDefinition) -> list[str]:
    """The graph rules under each combination of the switching options, each problem once,
    named with the first combination it shows in (unless it shows in every one)."""
    if _unknown_states(d) or _initial_exists(d) or _finals_exist(d):
        return []  # the graph itself is broken: those rules already say how
    seen: dict[str, list[str]] = {}
    checked = 0
    for combination in combinations(d):
        checked += 1
        for problem in _variant_problems(d, present(d, combination)):
            seen.setdefault(problem, []).append(describe(combination))
    problems = []
    for problem, where in seen.items():
        if len(where) == checked:
            problems.append(problem)
            continue
        others = f" (and {len(where) - 1} other combination(s))" if len(where) > 1 else ""
        problems.append(f"with {where[0]}{others}: {problem}")
    checked, total = coverage(d)
    if problems and checked < total:
        problems.append(f"(checked {checked:,} of the {total:,} combinations of its "
                        f"{len(switches(d))} switching options: all off, all on, and each "
                        "alone on and alone off)")
    return problems


def _tasks(d: ProcessDefinition) -> list[str]:
    """Each task names declared options of the right type, a role, and a way to close."""
    declared = {o.name: o for o in d.options}
    triggers = {t.trigger: t for t in d.transitions}
    problems = [f"task {kind!r} is declared {n} times; give each task its own kind"
                for kind, n in sorted(Counter(t.kind for t in d.tasks).items()) if n > 1]
    for task in d.tasks:
        for field, name, kind in (("role_option", task.role_option, str),
                                  ("self_decision_option", task.self_decision_option, bool)):
            if name is None:
                continue
            if name not in declared:
                problems.append(f"task {task.kind!r}: {field}={name!r} names an undeclared "
                                f"option; add OptionSpec({name!r}, {kind.__name__}, ...) to "
                                "options or fix the name")
            elif declared[name].type is not kind:
                problems.append(f"task {task.kind!r}: {field} option {name!r} must be a "
                                f"{kind.__name__}, not a {declared[name].type.__name__}")
        if not task.role and not task.role_option:
            problems.append(f"task {task.kind!r} names no role; give role=\"approver\" or "
                            "role_option= naming a str option")
        complete = triggers.get(task.complete)
        if complete is None:
            problems.append(f"task {task.kind!r} closes by firing {task.complete!r}, but no "
                            f"transition has that trigger; add Transition({task.complete!r}, "
                            "<the waiting step>, <the next step>, automatic=True)")
        elif not complete.automatic:
            problems.append(f"task {task.kind!r} closes by firing {task.complete!r}, which "
                            "people may fire too, skipping the decision; mark that "
                            "transition automatic=True")
    return problems


def _finals_exist(d: ProcessDefinition) -> list[str]:
    if d.steps and not any(s.final for s in d.steps):
        return ["it has no final step, so no instance can ever end; mark one step final=True"]
    return []


def _versions(d: ProcessDefinition) -> list[str]:
    if not isinstance(d.version, str) or not d.version:
        return [f"version {d.version!r} must be a non-empty str, e.g. version=\"2\""]
    if isinstance(d.compatible_versions, str) or not all(
            isinstance(v, str) for v in d.compatible_versions):
        return [f"compatible_versions must be a tuple of str such as (\"1\",), not "
                f"{d.compatible_versions!r}"]
    if d.version in d.compatible_versions:
        return [f"compatible_versions lists version {d.version!r}, the definition's own; "
                "list only older versions it still runs"]
    return []


RULES: tuple[Rule, ...] = (
    _duplicate_steps, _initial_exists, _unknown_states, _final_without_exits,
    _views_for_people, _options_declared, _finals_exist, _variants, _tasks, _versions,
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
