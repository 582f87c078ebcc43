"""Loading processes from entry points so that no plugin can break or take over another.

Each entry point is imported and validated on its own: one that fails is named with its
package and version, and the rest still load. Then what no single plugin can see is
settled, the same way whatever order the entry points come in:

- **One process name, several entry points**: every one of them is refused, each named with
  its package and version. Letting the first (or the last) win would let installing a
  package silently replace a process other systems call by name.
- **One option of a shared script declared differently** (another type or default): the
  script has one schema, so the declarations must agree. The processes that ship the
  script's default (`default_script`) settle what the option is; a process declaring it
  otherwise is refused, and the shipping processes and every other script keep working.
  When no shipping process declares the option, or they disagree among themselves, nobody
  can tell which is meant: every process declaring it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Any

from .definitions import OptionSpec, ProcessDefinition
from .validation import problems_of


@dataclass(frozen=True, slots=True)
class Candidate:
    """A definition an entry point gave, and where it came from."""

    entry_point: str
    target: str
    origin: str  # "package version"
    definition: ProcessDefinition

    @property
    def where(self) -> str:
        return f"{self.origin} (entry point {self.entry_point} = {self.target})"


@dataclass(frozen=True, slots=True)
class Loaded:
    """What loading found: the processes to register, and why each other one was refused
    (by entry-point name, or by process name when a conflict between plugins refused it)."""

    accepted: tuple[Candidate, ...]
    refused: dict[str, str]


def origin_of(ep: EntryPoint) -> str:
    """The package and version that registered an entry point."""
    return f"{ep.dist.name} {ep.dist.version}" if ep.dist else "an unknown package"


def load(entry_points: Iterable[EntryPoint]) -> Loaded:
    """Import every entry point, then refuse the broken ones and the conflicting ones."""
    candidates: list[Candidate] = []
    refused: dict[str, str] = {}
    for ep in entry_points:
        origin = origin_of(ep)
        try:
            loaded = ep.load()
        except Exception as exc:  # a plugin's import error must not stop the others
            refused[ep.name] = (f"cannot import {ep.value} ({origin}): "
                                f"{type(exc).__name__}: {exc}")
            continue
        if not isinstance(loaded, ProcessDefinition):
            refused[ep.name] = (f"{ep.value} ({origin}) is {_a(type(loaded).__name__)}, not "
                                "a ProcessDefinition")
            continue
        candidates.append(Candidate(ep.name, ep.value, origin, loaded))
    unique, duplicates = _unique_names(candidates)
    refused.update(duplicates)
    valid = []
    for c in unique:
        problems = problems_of(c.definition)
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            refused[c.entry_point] = (f"process {c.definition.name!r} is invalid ({c.origin}):"
                                      f"\n{lines}")
        else:
            valid.append(c)
    clashes = option_clashes([(c.definition, c.origin) for c in valid])
    refused.update({name: "; ".join(reasons) for name, reasons in clashes.items()})
    accepted = sorted((c for c in valid if c.definition.name not in clashes),
                      key=lambda c: c.definition.name)
    return Loaded(tuple(accepted), refused)


def _unique_names(candidates: Sequence[Candidate]) -> tuple[list[Candidate], dict[str, str]]:
    by_name: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_name.setdefault(c.definition.name, []).append(c)
    refused = {}
    for name, group in by_name.items():
        if len(group) > 1:
            where = " and ".join(c.where for c in sorted(group, key=lambda c: c.where))
            refused[name] = (f"{len(group)} entry points register the process name {name!r}: "
                             f"{where}; all of them are refused, since a symbolic name must "
                             "name one process. Uninstall one of the packages or rename its "
                             "process")
    return [c for c in candidates if c.definition.name not in refused], refused


def option_clashes(processes: Sequence[tuple[ProcessDefinition, str]]) -> dict[str, list[str]]:
    """Processes refused because they declare an option of a shared script differently:
    process name -> why (see the module's docstring for who is refused)."""
    refused: dict[str, list[str]] = {}
    scripts: dict[str, list[tuple[ProcessDefinition, str]]] = {}
    for d, origin in processes:
        if d.option_script:
            scripts.setdefault(d.option_script, []).append((d, origin))
    for script, users in sorted(scripts.items()):
        declared: dict[str, list[tuple[ProcessDefinition, str, OptionSpec]]] = {}
        for d, origin in users:
            for o in d.options:
                declared.setdefault(o.name, []).append((d, origin, o))
        for option, found in declared.items():
            if len({_shape(o) for _, _, o in found}) < 2:
                continue
            shipping = {_shape(o) for d, _, o in found if d.default_script is not None}
            meant = shipping.pop() if len(shipping) == 1 else None
            for d, origin, o in found:
                if meant is not None and _shape(o) == meant:
                    continue
                refused.setdefault(d.name, []).append(
                    _clash(script, d, origin, o, found, meant))
    return refused


def _shape(o: OptionSpec) -> tuple[type, str]:
    return o.type, repr(o.default)


def _clash(script: str, d: ProcessDefinition, origin: str, o: OptionSpec,
           found: Sequence[tuple[ProcessDefinition, str, OptionSpec]],
           meant: tuple[type, str] | None) -> str:
    mine = _shape(o)
    others: dict[tuple[type, str], list[str]] = {}
    for other, other_origin, spec in found:
        if _shape(spec) != mine and (meant is None or _shape(spec) == meant):
            others.setdefault(_shape(spec), []).append(f"{other.name} ({other_origin})")
    said = "; ".join(f"{', '.join(sorted(names))} declare{'s' if len(names) == 1 else ''} it "
                     f"{_said(shape)}" for shape, names in others.items())
    head = (f"process {d.name!r} ({origin}) declares option {o.name!r} of script {script!r} "
            f"{_said(mine)}, but {said}")
    if meant is not None:
        return (f"{head}, and they ship the script's default; declare it the same way, or "
                "read a script of its own")
    return (f"{head}, and no process shipping the script's default settles which is meant, so "
            "every process declaring it is refused; declare it one way in all of them")


def _said(shape: tuple[type, Any]) -> str:
    kind, default = shape
    return f"as {_a(kind.__name__)} with default {default}"


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
