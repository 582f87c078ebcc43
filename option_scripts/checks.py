"""Values against a process's option schema: types, typos and rule signatures.

The sandbox says what a script defines; only the process knows what it reads. The process
passes its schema in as plain data (`OptionSchema`, `RuleSchema`), so this module knows no
process and imports nothing of the engine. It runs in the host: checking needs no sandbox,
because an `Evaluation` holds plain data only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .results import Evaluation, Problem, RuleInfo, problem
from .spelling import meant

_KINDS = {bool: "a bool (True or False)", int: "an int", float: "a float", str: "a str",
          list: "a list", dict: "a dict", type(None): "None"}


@dataclass(frozen=True, slots=True)
class OptionSchema:
    """An option a process reads: its name in the script, type, default and meaning."""

    name: str
    #: one of bool, int, float, str, list, dict
    type: type
    default: Any
    doc: str = ""


@dataclass(frozen=True, slots=True)
class RuleSchema:
    """A rule a process calls: its name and the parameters it passes, positionally."""

    name: str
    params: tuple[str, ...]
    doc: str = ""


def check(evaluation: Evaluation, options: Sequence[OptionSchema],
          rules: Sequence[RuleSchema] = ()) -> tuple[Problem, ...]:
    """Values against the schema; every problem names its line.

    A known option must have its type (a bool is not an int; an int is accepted where a
    float is declared). Another top-level name is the script's own helper, allowed unless it
    looks like a typo of an option or rule (see `spelling.meant`), which is refused naming
    the one meant. A rule with a declared `RuleSchema` must accept exactly its parameters,
    positionally. The evaluation's own problems are not repeated here.
    """
    declared_options = {option.name: option for option in options}
    declared_rules = {rule.name: rule for rule in rules}
    known = [*declared_options, *declared_rules]
    look_alikes = _LookAlikes(known)

    def typo(name: str, line: int | None) -> list[Problem]:
        if (twin := look_alikes.of(name)) is not None:
            what = "option" if twin in declared_options else "rule"
            return [problem(line, f"'{_escaped(name)}' looks like the {what} '{twin}' but is "
                                  f"spelt with look-alike characters ({_foreign(name)}); "
                                  f"type the {what}'s name in plain letters")]
        guess = meant(name, known)
        if guess is None:
            return []
        what = "an option" if guess in declared_options else "a rule"
        return [problem(line, f"'{name}' is not {what}; did you mean '{guess}'?")]

    found: list[Problem] = []
    for name, value in evaluation.values.items():
        line = evaluation.lines.get(name)
        if name in declared_options:
            found.extend(_option_type(declared_options[name], value, line))
        elif name in declared_rules:
            params = ", ".join(declared_rules[name].params)
            found.append(problem(line, f"'{name}' is a rule: define it as a function, "
                                       f"def {name}({params}): ..., not {_kind(value)}"))
        else:
            found.extend(typo(name, line))
    for name, info in evaluation.rules.items():
        if name in declared_rules:
            found.extend(_signature(declared_rules[name], info))
        elif name in declared_options:
            option = declared_options[name]
            found.append(problem(info.line, f"option '{name}' must be "
                                            f"{_KINDS.get(option.type, option.type.__name__)}, "
                                            "not a function"))
        else:
            found.extend(typo(name, info.line))
    return tuple(sorted(found, key=lambda p: p.line or 0))


def _option_type(option: OptionSchema, value: Any, line: int | None) -> list[Problem]:
    expected = option.type
    fits = (type(value) is expected
            or (expected is float and type(value) is int)
            or (expected in (list, dict) and isinstance(value, expected)))
    if fits:
        return []
    wanted = _KINDS.get(expected, expected.__name__)
    return [problem(line, f"option '{option.name}' must be {wanted}, like its default "
                          f"{_shown(option.default)}, not {_kind(value)} {_shown(value)}")]


def _signature(rule: RuleSchema, info: RuleInfo) -> list[Problem]:
    if info.accepts(len(rule.params)):
        return []
    wanted = len(rule.params)
    return [problem(info.line, f"rule '{rule.name}' must take {wanted} parameter"
                               f"{'' if wanted == 1 else 's'} ({', '.join(rule.params)}); "
                               f"it takes ({', '.join(info.params + ('*args',) * info.varargs)})")]


class _LookAlikes:
    """Known names by their Unicode confusable skeleton (TR39, through `disarm`).

    Only a name with non-ASCII letters is looked up: an ASCII look-alike ("Approva1") is
    within the typo distance anyway, and non-ASCII helpers such as `Größe` stay allowed
    unless their skeleton is an option's.
    """

    def __init__(self, known: Sequence[str]) -> None:
        self.known = known
        self._skeletons: dict[str, str] | None = None

    def of(self, name: str) -> str | None:
        if name.isascii():
            return None
        from disarm import skeleton_key  # the host's checks only; loads on first use

        if self._skeletons is None:
            self._skeletons = {}
            for known in self.known:
                self._skeletons.setdefault(skeleton_key(known), known)
        twin = self._skeletons.get(skeleton_key(name))
        return twin if twin is not None and twin != name else None


def _escaped(name: str) -> str:
    """`name` with each non-ASCII character written as \\uXXXX, so it reads unambiguously."""
    return name.encode("ascii", "backslashreplace").decode("ascii")


def _foreign(name: str) -> str:
    """The characters of `name` that are not plain ASCII, named."""
    import unicodedata

    chars = dict.fromkeys(c for c in name if not c.isascii())
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in chars)


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), f"a {type(value).__name__}")


def _shown(value: Any) -> str:
    text = repr(value)
    return f"({text if len(text) <= 60 else text[:57] + '...'})"
