"""Which steps and transitions a definition has under given option values, and which
combinations of its switching options validation checks.

A module of its own because the compiler and validation must agree exactly on what an
option switches off: the compiler builds one variant's machine, validation walks every
variant's graph (without building a machine) to find dead ends and unreachable steps.

A *switch* is a bool option that some `Step.enabled_by`, `Transition.when` or
`Transition.unless` names. With k switches a definition has 2**k variants. Up to
`MAX_SWITCHES` (10, so 1,024 variants) every one is checked; past that, a documented subset
of 2k + 2: every switch off, every switch on, each switch alone on, each switch alone off.
`coverage()` says how many were checked of how many, and `idmflow processes show` prints it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .definitions import ProcessDefinition, Step, Transition

#: past this many switching options, validation checks a subset of the combinations
MAX_SWITCHES = 10


@dataclass(frozen=True, slots=True)
class Variant:
    """The steps and transitions present under one snapshot of option values."""

    steps: tuple[Step, ...]
    transitions: tuple[Transition, ...]


def present(definition: ProcessDefinition, options: Mapping[str, Any]) -> Variant:
    """The steps the options leave on, and the transitions between them that they keep."""
    steps = tuple(s for s in definition.steps
                  if s.enabled_by is None or bool(options.get(s.enabled_by)))
    names = {s.name for s in steps}
    transitions = tuple(
        t for t in definition.transitions
        if t.dest in names and all(s in names for s in t.source)
        and (t.when is None or bool(options.get(t.when)))
        and (t.unless is None or not options.get(t.unless)))
    return Variant(steps, transitions)


def switches(definition: ProcessDefinition) -> tuple[str, ...]:
    """The options that switch steps or transitions on or off, in order of first use."""
    used = [s.enabled_by for s in definition.steps]
    used += [name for t in definition.transitions for name in (t.when, t.unless)]
    return tuple(dict.fromkeys(name for name in used if name))


def combinations(definition: ProcessDefinition) -> Iterator[dict[str, bool]]:
    """The switch settings validation checks: all of them, or the subset for many switches."""
    names = switches(definition)
    if len(names) <= MAX_SWITCHES:
        for values in itertools.product((False, True), repeat=len(names)):
            yield dict(zip(names, values))
        return
    for value in (False, True):
        yield dict.fromkeys(names, value)
    for name, value in itertools.product(names, (True, False)):
        yield {**dict.fromkeys(names, not value), name: value}


def coverage(definition: ProcessDefinition) -> tuple[int, int]:
    """(combinations validation checks, combinations there are)."""
    k = len(switches(definition))
    return (2 ** k if k <= MAX_SWITCHES else 2 * k + 2), 2 ** k


def describe(combination: Mapping[str, bool]) -> str:
    """A combination as an admin would write it in the option script: `A=True, B=False`."""
    return ", ".join(f"{name}={value}" for name, value in combination.items())
