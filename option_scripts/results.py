"""What the sandbox hands back: plain, frozen records that cross the process boundary.

These types hold nothing but data (no host object, no exception), so the engine can store,
compare and show them, and turn problems into its own `OptionScriptError` where it calls
the sandbox. They are a module of their own because both the public API (`sandbox`) and
the schema checks (`checks`) build them, while the worker never imports them: it speaks
JSON, and `sandbox` rebuilds these records from what it receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a script, said so that an administrator can fix it.

    `message` already starts with "line N: " when `line` is known, so it can be shown as is.
    """

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A top-level function of a script: a rule the process may call."""

    name: str
    #: the positional parameter names, in order
    params: tuple[str, ...]
    #: how many of `params` have no default
    required: int
    line: int

    def accepts(self, count: int) -> bool:
        """Whether the rule can be called with `count` positional arguments."""
        return self.required <= count <= len(self.params)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of running a script once: its values, its rules, or what is wrong."""

    #: top-level plain-data names (not starting with "_") and their values
    values: dict[str, Any]
    rules: dict[str, RuleInfo]
    #: top-level name -> line of its last assignment or def
    lines: dict[str, int]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when the script ran and every top-level value is plain data."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class RuleResults:
    """The outcome of calling one rule over many items in one round trip."""

    #: one plain-data result per item, in order; empty when the rule failed
    results: list[Any]
    problems: tuple[Problem, ...]
    #: the index of the item the rule failed for (None: it succeeded, or failed before any)
    failed_item: int | None = None

    @property
    def ok(self) -> bool:
        """True when the rule returned a plain result for every item."""
        return not self.problems


def problem(line: int | None, text: str) -> Problem:
    """A `Problem` whose message starts with "line N: " when the line is known."""
    return Problem(line, f"line {line}: {text}" if line is not None else text)
