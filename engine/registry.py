"""Finding processes: the entry-point group `idmflow.processes`.

Our own processes are registered exactly as an outside package registers its own. Each
entry point is loaded and validated on its own: a broken one (import error, invalid
definition) or conflicting ones (one name twice, one option of a shared script declared two
ways; see `plugins`) are reported by name in `broken`, and the rest still load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points

from . import plugins
from .definitions import Lifecycle, ProcessDefinition
from .errors import DefinitionError, NotFound
from .validation import validate_lifecycle, validate_process

GROUP = "idmflow.processes"


@dataclass(frozen=True, slots=True)
class Registered:
    """A loaded process and where it came from."""

    definition: ProcessDefinition
    origin: str  # "package version", or "local" for one passed in directly


class Registry:
    """The processes this engine runs, by symbolic name, plus those that failed to load."""

    def __init__(self, processes: Iterable[Registered] = ()) -> None:
        self._processes: dict[str, Registered] = {}
        #: entry-point name (process name, for a conflict between plugins) -> why it did
        #: not load
        self.broken: dict[str, str] = {}
        for item in processes:
            self.add(item.definition, origin=item.origin)

    @classmethod
    def from_entry_points(cls, group: str = GROUP) -> Registry:
        """Load every process registered under `group` (`plugins` says what is refused)."""
        loaded = plugins.load(sorted(entry_points(group=group), key=lambda e: (e.name, e.value)))
        registry = cls()
        registry.broken.update(loaded.refused)
        for c in loaded.accepted:
            try:
                registry.add(c.definition, origin=c.origin)
            except DefinitionError as exc:
                registry.broken[c.entry_point] = f"{exc} ({c.origin})"
        return registry

    def add(self, definition: ProcessDefinition, *, origin: str = "local") -> None:
        """Validate and register one process; `DefinitionError` if invalid, a duplicate, or
        declaring an option of a shared script otherwise than a registered process."""
        validate_process(definition)
        for lifecycle in definition.lifecycles:
            validate_lifecycle(lifecycle)
            known = next((lc for other in self.all() for lc in other.lifecycles
                          if lc.name == lifecycle.name), lifecycle)
            if known != lifecycle:
                raise DefinitionError(definition.name, [
                    f"lifecycle {lifecycle.name!r} differs from the one another process "
                    "declares under that name; share one Lifecycle object"])
        if definition.name in self._processes:
            first = self._processes[definition.name].origin
            raise DefinitionError(definition.name, [
                f"the name is already registered by {first}; symbolic names must be unique"])
        clashes = plugins.option_clashes(
            [(r.definition, r.origin) for r in self._processes.values()]
            + [(definition, origin)])
        if clashes:
            raise DefinitionError(definition.name, [r for rs in clashes.values() for r in rs])
        self._processes[definition.name] = Registered(definition, origin)

    def get(self, name: str) -> ProcessDefinition:
        """The process called `name`, or `NotFound` listing the known ones."""
        try:
            return self._processes[name].definition
        except KeyError:
            known = ", ".join(sorted(self._processes)) or "none"
            hint = f" (it failed to load: {self.broken[name]})" if name in self.broken else ""
            raise NotFound(f"no process {name!r}{hint}; known processes: {known}") from None

    def origin(self, name: str) -> str:
        return self._processes[name].origin

    def all(self) -> list[ProcessDefinition]:
        """Every loaded process, by name."""
        return [r.definition for _, r in sorted(self._processes.items())]

    def lifecycles(self) -> list[Lifecycle]:
        """Every lifecycle a loaded process names, once each, by name."""
        found: dict[str, Lifecycle] = {}
        for definition in self.all():
            for lifecycle in definition.lifecycles:
                found.setdefault(lifecycle.name, lifecycle)
        return [found[name] for name in sorted(found)]
